/**
 * Helpers for testing `fashion-gan serve` as a real process on loopback: start it, read its
 * memory, send requests exactly as given (or deliberately broken ones) with a deadline each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'bin', 'fashion-gan.js');

export interface ServeProcess {
  url: string;
  port: number;
  pid: number;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** The server's resident memory in MB (/proc/PID/status). */
  rssMb(): number;
  stop(): Promise<void>;
}

/** Starts `fashion-gan serve --port 0 …args` and waits (up to `timeoutMs`) for the URL it prints. */
export async function startServeProcess(args: string[], timeoutMs = 120_000): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in ${timeoutMs} ms: ${err}`)), timeoutMs);
    const check = () => {
      const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve(m[0]);
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code}): ${err}`));
    });
  });
  const pid = child.pid!;
  return {
    url,
    port: Number(new URL(url).port),
    pid,
    stderr: () => err,
    rssMb: () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface Answer {
  /** 0 when no answer came: the socket closed or the deadline passed first. */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Why there is no answer: 'timeout', or the socket error's code. */
  failure?: string;
  ms: number;
}

/** One request with a deadline; never rejects (a missing answer is status 0 with `failure`). */
export function request(port: number, method: string, rawPath: string, opts: { body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number; agent?: http.Agent } = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...a, ms: performance.now() - t0 });
    };
    const headers = { ...(opts.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers };
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (e: NodeJS.ErrnoException) => done({ status: 0, headers: res.headers, body: Buffer.concat(chunks), failure: e.code ?? e.message }));
      res.on('aborted', () => done({ status: 0, headers: res.headers, body: Buffer.concat(chunks), failure: 'aborted mid-body' }));
    });
    const timer = setTimeout(() => {
      done({ status: 0, headers: {}, body: Buffer.alloc(0), failure: 'timeout' });
      req.destroy();
    }, opts.timeoutMs ?? 30_000);
    req.on('error', (e: NodeJS.ErrnoException) => done({ status: 0, headers: {}, body: Buffer.alloc(0), failure: e.code ?? e.message }));
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Runs `count` tasks with at most `concurrency` at a time; results in task order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/**
 * Writes `payload` on a fresh socket, optionally more after the first bytes of the answer
 * (`then`), and returns all the server sent until it closed or `timeoutMs` passed.
 */
export function socketExchange(port: number, payload: string | Buffer, opts: { then?: (sofar: string) => string | Buffer | null; timeoutMs?: number } = {}): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(payload));
    let text = '';
    let sentMore = false;
    s.on('data', (d) => {
      text += d.toString('latin1');
      if (opts.then && !sentMore) {
        const more = opts.then(text);
        if (more !== null) {
          sentMore = true;
          s.write(more);
        }
      }
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ text, closedByServer: false });
    }, opts.timeoutMs ?? 10_000);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
    s.on('error', () => undefined);
  });
}
