import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { oneLine, writeFileAtomic } from '../util/atomic';

/**
 * `file://` save and load for TF.js Layers models without tfjs-node: a folder holding
 * `model.json` and `weights.bin`, the same format tfjs-node writes and stock
 * `tf.loadLayersModel` (or the browser, over HTTP) reads.
 */
export class FileModelIO implements tf.io.IOHandler {
  /** @param dir the folder that holds (or will hold) model.json and weights.bin */
  constructor(private readonly dir: string) {}

  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('FileModelIO saves JSON topologies only');
    }
    fs.mkdirSync(this.dir, { recursive: true });
    const weights = artifacts.weightData
      ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
      : new Uint8Array(0);
    const modelJson = {
      modelTopology: artifacts.modelTopology,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    };
    // Weights first: a crash between the two writes leaves an old model.json that still
    // describes an old-sized weights.bin, which loadModelArtifacts detects.
    writeFileAtomic(path.join(this.dir, 'weights.bin'), weights);
    writeFileAtomic(path.join(this.dir, 'model.json'), JSON.stringify(modelJson));
    return {
      modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({
        modelTopology: artifacts.modelTopology,
        weightSpecs: artifacts.weightSpecs,
        weightData: weights.buffer as ArrayBuffer,
      }),
    };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    return loadModelArtifacts(this.dir);
  }
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1 };

/** Reads and validates `dir/model.json` + its weight files; every problem is a one-line UserError. */
export function loadModelArtifacts(dir: string): tf.io.ModelArtifacts {
  const jsonPath = path.join(dir, 'model.json');
  if (!fs.existsSync(jsonPath)) throw new UserError(`${jsonPath}: no such file (expected a TF.js model folder)`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  } catch (err) {
    throw new UserError(`${jsonPath}: not valid JSON (${oneLine((err as Error).message)})`);
  }
  if (typeof json !== 'object' || json === null) throw new UserError(`${jsonPath}: expected a JSON object`);
  const m = json as Record<string, unknown>;
  if (typeof m.modelTopology !== 'object' || m.modelTopology === null) {
    throw new UserError(`${jsonPath}: missing "modelTopology"`);
  }
  if (!Array.isArray(m.weightsManifest)) throw new UserError(`${jsonPath}: missing "weightsManifest" array`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const files: { file: string; size: number }[] = [];
  const seen = new Set<string>();
  for (const group of m.weightsManifest as unknown[]) {
    const g = group as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(g?.paths) || !Array.isArray(g?.weights)) {
      throw new UserError(`${jsonPath}: each weightsManifest entry needs "paths" and "weights" arrays`);
    }
    for (const w of g.weights as unknown[]) {
      const spec = w as tf.io.WeightsManifestEntry;
      if (typeof spec?.name !== 'string' || !Array.isArray(spec.shape) || typeof spec.dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, spec.dtype)) {
        throw new UserError(`${jsonPath}: bad weight entry ${JSON.stringify(w).slice(0, 80)}`);
      }
      if (!spec.shape.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 31)) {
        throw new UserError(`${jsonPath}: weight ${JSON.stringify(spec.name).slice(0, 80)} has a bad shape ${JSON.stringify(spec.shape).slice(0, 80)}`);
      }
      specs.push(spec);
    }
    for (const p of g.paths as unknown[]) {
      if (typeof p !== 'string' || p === '' || /[/\\\u0000-\u001f]/.test(p) || p.startsWith('.')) {
        throw new UserError(`${jsonPath}: weight path ${JSON.stringify(p)?.slice(0, 80)} must be a plain file name`);
      }
      const file = path.join(dir, p);
      // Listing one file twice would read (and allocate) it twice.
      if (seen.has(file)) throw new UserError(`${jsonPath}: weight file ${JSON.stringify(p)} is listed twice`);
      let stat: fs.Stats;
      try {
        stat = fs.statSync(file);
      } catch {
        throw new UserError(`${file}: no such file (named in ${jsonPath})`);
      }
      if (!stat.isFile()) throw new UserError(`${file}: not a file (named in ${jsonPath})`);
      files.push({ file, size: stat.size });
      seen.add(file);
    }
  }
  const expected = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[s.dtype]!, 0);
  // Sizes are compared before anything is read, so nothing larger than the files is allocated.
  const total = files.reduce((sum, f) => sum + f.size, 0);
  if (total !== expected) {
    throw new UserError(`${dir}: weight files hold ${total} bytes but model.json describes ${expected}`);
  }
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const { file, size } of files) {
    let b: Buffer;
    try {
      b = fs.readFileSync(file);
    } catch (err) {
      throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (b.byteLength !== size) throw new UserError(`${file}: changed while it was being read`);
    weightData.set(b, offset);
    offset += b.byteLength;
  }
  return {
    modelTopology: m.modelTopology as object,
    format: m.format as string | undefined,
    generatedBy: m.generatedBy as string | undefined,
    convertedBy: (m.convertedBy as string | null) ?? undefined,
    weightSpecs: specs,
    weightData: weightData.buffer,
    userDefinedMetadata: m.userDefinedMetadata as Record<string, {}> | undefined,
  };
}

function fileUrlToDir(url: string | string[]): string | null {
  const u = Array.isArray(url) ? url[0] : url;
  if (typeof u !== 'string' || !u.startsWith('file://')) return null;
  const p = u.slice('file://'.length);
  return p.endsWith('model.json') ? path.dirname(p) : p;
}

let registered = false;

/** Makes `model.save('file://DIR')` and `tf.loadLayersModel('file://DIR/model.json')` work. */
export function registerFileRouters(): void {
  if (registered) return;
  registered = true;
  const router = (url: string | string[]) => {
    const dir = fileUrlToDir(url);
    // TF.js's router type omits null, but null is how a router declines a URL.
    return (dir === null ? null : new FileModelIO(dir)) as tf.io.IOHandler;
  };
  tf.io.registerSaveRouter(router);
  tf.io.registerLoadRouter(router);
}
