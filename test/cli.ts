/**
 * Running the real command line (bin/fashion-gan.js) from tests: spawned, in a folder of the
 * test's choosing, never reading data from $FASHION_GAN_DATA.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';

export const BIN = path.resolve(__dirname, '../bin/fashion-gan.js');

/** fmnist-lms narrowed 8×, batch 8, on WebAssembly: a real run that takes seconds. */
export const TINY = ['--preset', 'fmnist-lms', '--filters-scale', '0.125', '--batch-size', '8', '--backend', 'wasm'];
/** The same for the default, class-conditional preset. */
export const TINY_CONDITIONAL = ['--preset', 'fashion', '--filters-scale', '0.125', '--batch-size', '8', '--backend', 'wasm'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FASHION_GAN_DATA: '', ...env }, timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI; `exited` resolves, once its output is all read, with its exit code (or signal) and everything it printed. */
export function startCli(args: string[], cwd: string, timeoutMs?: number): { child: ChildProcessWithoutNullStreams; exited: Promise<CliResult & { signal: NodeJS.Signals | null }>; stderr: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, FASHION_GAN_DATA: '' }, timeout: timeoutMs });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, exited, stderr: () => stderr };
}

/**
 * Runs the CLI to completion without blocking the test's event loop: for runs of tens of seconds
 * (a test blocked in spawnSync past vitest's 60 s RPC timeout fails the whole run).
 */
export async function runCliAsync(args: string[], cwd: string, timeoutMs = 240_000): Promise<CliResult> {
  const { code, stdout, stderr } = await startCli(args, cwd, timeoutMs).exited;
  return { code, stdout, stderr };
}

/** Waits until `ready()` holds (polling), failing after `timeoutMs` or when the child exits first. */
export async function waitFor(ready: () => boolean, child: { exitCode: number | null; kill(signal: NodeJS.Signals): boolean }, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not happen`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
