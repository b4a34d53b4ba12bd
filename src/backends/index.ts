import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { UserError } from '../errors';
import { registerFileRouters } from './fileio';
import { patchSegmentSum, patchWasmKernels } from './wasm/kernels';
import { startWasmWorkers, wasmWorkerStats } from './wasm/workers';

export const BACKENDS = ['auto', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

const require = createRequire(import.meta.url);

function tryTfjsNode(): string | null {
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    return '@tensorflow/tfjs-node is not installed';
  }
  try {
    require('@tensorflow/tfjs-node');
    return null;
  } catch (err) {
    return `@tensorflow/tfjs-node failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
}

async function tryNative(): Promise<string | null> {
  try {
    const mod = await import('./native/index');
    return mod.registerNativeBackend();
  } catch (err) {
    return `native backend unavailable: ${(err as Error).message.split('\n')[0]}`;
  }
}

export interface BackendChoice {
  /** The TF.js backend now active. */
  name: string;
  /** Why faster backends were passed over (empty when the first choice worked). */
  notes: string[];
  /** Threads the wasm backend computes on (this one and its workers). */
  threads?: number;
  /** What computes inside, for the startup line: the native backend's GEMM. */
  detail?: string;
  /**
   * What a run records as its backend: the name, and for native the GEMM and its kernels, which
   * change the bits (thread counts do not, on any backend). A resume compares these.
   */
  identity: string;
}

/**
 * Activates a TF.js backend. `auto` takes tfjs-node if installed, else the project's native
 * (OpenBLAS) backend, else WebAssembly; `cpu` is TF.js's pure-JS reference backend.
 * WebAssembly also starts its worker threads (wasm/workers.ts). Also installs the file:// model IO
 * routers. Safe to call more than once.
 */
export async function initBackend(requested: BackendName = 'auto'): Promise<BackendChoice> {
  if (!BACKENDS.includes(requested)) {
    throw new UserError(`--backend ${requested}: unknown backend (allowed: ${BACKENDS.join(', ')})`);
  }
  registerFileRouters();
  // Production mode: no debug checks, and no 'install tfjs-node' banner on the CPU backends.
  tf.enableProdMode();
  const notes: string[] = [];
  const order: BackendName[] = requested === 'auto' ? ['tensorflow', 'native', 'wasm'] : [requested];
  for (const name of order) {
    if (name === 'tensorflow') {
      const why = tryTfjsNode();
      if (why) {
        notes.push(why);
        continue;
      }
    }
    if (name === 'native') {
      const why = await tryNative();
      if (why) {
        notes.push(why);
        continue;
      }
      patchSegmentSum('native');
    }
    if (name === 'wasm') patchWasmKernels();
    const ok = await tf.setBackend(name);
    await tf.ready();
    if (ok && tf.getBackend() === name) {
      if (name === 'native') {
        const native = await import('./native/index');
        return { name, notes, detail: native.nativeGemmLabel(), identity: `native (${native.nativeGemmIdentity()})` };
      }
      if (name !== 'wasm') return { name, notes, identity: name };
      const why = await startWasmWorkers();
      if (why) notes.push(why);
      return { name, notes, threads: wasmWorkerStats().workers + 1, identity: name };
    }
    notes.push(`backend ${name} failed to initialise`);
  }
  throw new UserError(`--backend ${requested}: not available here (${notes.join('; ')})`);
}
