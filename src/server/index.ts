import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { UserError } from '../errors';
import { NeighbourIndex } from './nearest';
import { findFolder, listModels, listReports, listRuns, readConfig, readHistorySince, runDetail } from './runs';
import { isPublicRunFile } from '../run/paths';
import { HttpError, resolveInside, splitRequestPath } from './safepath';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');
const APP_DIR = path.resolve(HERE, '..', 'app');
const RNG_SOURCE = path.resolve(HERE, '..', 'util', 'rng.ts');
const DEFAULT_MODELS_DIR = path.join(REPO_ROOT, 'models');
const require = createRequire(import.meta.url);

/** Largest JSON body /api/nearest accepts (a 32×32×3 design as JSON floats is ~70 KB). */
export const MAX_BODY_BYTES = 256 * 1024;

export interface ServerOptions {
  port: number;
  host: string;
  runsDir: string;
  /** Folder of shipped models (default: the repo's models/); `fashion/` in it is the default generator. */
  modelsDir?: string;
  /** Where to look for the training data first (same as --data-dir elsewhere). */
  dataDir?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.bin': 'application/octet-stream',
};

/** The page may talk to this server only: every asset is local, nothing loads from a CDN. */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const NearestBody = z
  .object({
    /** "run:NAME" or "model:NAME", as listed by /api/models. */
    model: z.string().min(1).max(200),
    /** The design's pixels, HWC, in [-1, 1] (the generator's tanh output). */
    pixels: z.array(z.number().min(-1.0001).max(1.0001)).min(1).max(256 * 256 * 3),
    k: z.number().int().min(1).max(16).default(8),
    /** Informational: the design's seed, echoed back. */
    seed: z.number().int().min(0).max(0xffffffff).nullable().optional(),
  })
  .strict();

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function send(res: http.ServerResponse, status: number, body: string | Buffer, type: string, head = false, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(buf.length),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': CSP,
    'Cache-Control': 'no-cache',
    ...extra,
  });
  res.end(head ? undefined : buf);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, head = false) {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', head);
}

/** Sends a file (already proven safe) with an ETag, answering 304 when the page has it. */
function sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, head: boolean) {
  const st = fs.statSync(file);
  if (!st.isFile()) throw new HttpError(404, 'not found');
  const etag = `W/"${st.size.toString(16)}-${Math.round(st.mtimeMs).toString(16)}"`;
  const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ETag: etag, 'Cache-Control': 'no-cache' });
    res.end();
    return;
  }
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': String(st.size),
    ETag: etag,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CSP,
  });
  if (head) {
    res.end();
    return;
  }
  const stream = fs.createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/** Reads a request body up to `limit` bytes; 413 beyond it. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `request body too large (limit ${limit} bytes)`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        reject(new HttpError(413, `request body too large (limit ${limit} bytes)`));
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve(Buffer.concat(chunks));
      }
    });
    req.on('error', (err) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
  });
}

/** tsx has esbuild: the page gets the project's own RNG, so its latents match the CLI's bit for bit. */
let rngModule: Promise<string> | null = null;
function rngJs(): Promise<string> {
  rngModule ??= (async () => {
    const { transform } = await import('esbuild');
    const out = await transform(fs.readFileSync(RNG_SOURCE, 'utf8'), { loader: 'ts', format: 'esm', target: 'es2020', sourcefile: 'rng.ts' });
    return `// Transpiled on the fly from src/util/rng.ts (the CLI's RNG).\n${out.code}`;
  })();
  rngModule.catch(() => (rngModule = null));
  return rngModule;
}

/**
 * Starts the app's HTTP server. Serves the page (src/app), TF.js from node_modules, the public
 * files of run folders, a small JSON API, and nearest-training-image look-ups.
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const runsDir = path.resolve(opts.runsDir);
  if (!fs.existsSync(runsDir)) throw new UserError(`--runs ${opts.runsDir}: no such folder (train a model first with \`fashion-gan train\`, or pass --runs DIR)`);
  if (!fs.statSync(runsDir).isDirectory()) throw new UserError(`--runs ${opts.runsDir}: not a folder`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new UserError(`--port ${opts.port}: must be 0–65535`);
  const modelsDir = path.resolve(opts.modelsDir ?? DEFAULT_MODELS_DIR);
  const defaultModelDir = path.join(DEFAULT_MODELS_DIR, 'fashion');
  const cliPath = (p: string) => {
    const rel = path.relative(process.cwd(), p) || '.';
    return (rel.startsWith('..') ? p : rel).split(path.sep).join('/');
  };
  const runsCliPath = cliPath(runsDir);
  const modelsCliPath = cliPath(modelsDir);
  const tfBundle = require.resolve('@tensorflow/tfjs/dist/tf.min.js');
  const neighbours = new NeighbourIndex({ dataDir: opts.dataDir });
  const loopbackOnly = isLoopback(opts.host);

  const models = () => listModels({ modelsRoot: fs.existsSync(modelsDir) ? modelsDir : undefined, modelsCliPath, defaultModelDir, runsRoot: runsDir, runsCliPath });

  /** Config of a model id from /api/models ("run:NAME" or "model:NAME"). */
  const modelConfig = (id: string) => {
    const m = /^(run|model):(.+)$/.exec(id);
    if (!m) throw new HttpError(400, 'model must be "run:NAME" or "model:NAME"');
    const root = m[1] === 'run' ? runsDir : modelsDir;
    const folder = findFolder(root, m[2]!);
    const { config, error } = readConfig(folder.dir);
    if (!config) throw new HttpError(422, `${id}: ${error}`);
    return config;
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    const rawUrl = req.url ?? '/';
    if (loopbackOnly) {
      const host = (req.headers.host ?? '').toLowerCase();
      if (!/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host)) throw new HttpError(421, 'unexpected Host header');
    }
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const seg = splitRequestPath(rawPath);

    if (seg[0] === 'api' && seg[1] === 'nearest' && seg.length === 2) {
      if (method !== 'POST') {
        res.setHeader('Allow', 'POST');
        throw new HttpError(405, 'use POST with a JSON body');
      }
      const type = String(req.headers['content-type'] ?? '');
      if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'send Content-Type: application/json');
      if (neighbours.busy) throw new HttpError(503, 'busy computing other look-ups; try again shortly');
      const body = await readBody(req, MAX_BODY_BYTES);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        throw new HttpError(400, 'body is not valid JSON');
      }
      const parsed = NearestBody.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new HttpError(400, `bad request: ${issue.path.join('.') || '(body)'}: ${issue.message}`);
      }
      const config = modelConfig(parsed.data.model);
      const [h, w, c] = config.imageShape;
      if (parsed.data.pixels.length !== h * w * c) throw new HttpError(400, `pixels: expected ${h * w * c} values (${h}×${w}×${c}), got ${parsed.data.pixels.length}`);
      let result;
      try {
        result = await neighbours.query({ dataset: config.dataset, classFilter: config.classFilter ?? null, imageShape: config.imageShape, pixels: Float32Array.from(parsed.data.pixels), k: parsed.data.k });
      } catch (err) {
        if (err instanceof UserError) throw new HttpError(503, `training data unavailable: ${err.message}`);
        throw new HttpError(422, (err as Error).message);
      }
      sendJson(res, 200, { model: parsed.data.model, seed: parsed.data.seed ?? null, ...result });
      return;
    }

    if (method !== 'GET' && method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, 'method not allowed');
    }

    // The page.
    if (seg.length === 0) return sendFile(req, res, path.join(APP_DIR, 'index.html'), head);
    if (seg[0] === 'app') {
      const rel = seg.slice(1);
      if (rel.length === 0 || !/\.(js|css|html|svg|png|ico)$/i.test(rel[rel.length - 1]!) || /\.test\./.test(rel[rel.length - 1]!)) throw new HttpError(404, 'not found');
      return sendFile(req, res, resolveInside(APP_DIR, rel), head);
    }
    if (seg[0] === 'favicon.ico') return sendFile(req, res, path.join(APP_DIR, 'favicon.svg'), head);
    if (seg[0] === 'vendor' && seg[1] === 'tf.min.js' && seg.length === 2) return sendFile(req, res, tfBundle, head);
    if (seg[0] === 'lib' && seg[1] === 'rng.js' && seg.length === 2) return send(res, 200, await rngJs(), MIME['.js']!, head);

    // The API.
    if (seg[0] === 'api') {
      if (seg[1] === 'info' && seg.length === 2) return sendJson(res, 200, { runsDir: runsCliPath, modelsDir: modelsCliPath, version: 1 }, head);
      if (seg[1] === 'models' && seg.length === 2) return sendJson(res, 200, models(), head);
      if (seg[1] === 'reports' && seg.length === 2) return sendJson(res, 200, listReports(runsDir), head);
      if (seg[1] === 'runs' && seg.length === 2) return sendJson(res, 200, listRuns(runsDir), head);
      if (seg[1] === 'runs' && seg.length === 3) return sendJson(res, 200, runDetail(findFolder(runsDir, seg[2]!), runsDir), head);
      if (seg[1] === 'runs' && seg.length === 4 && seg[3] === 'history') {
        const offset = Number(query.get('offset') ?? '0');
        if (!Number.isSafeInteger(offset) || offset < 0) throw new HttpError(400, 'offset must be a non-negative integer');
        return sendJson(res, 200, readHistorySince(findFolder(runsDir, seg[2]!), offset), head);
      }
      throw new HttpError(404, 'no such API endpoint');
    }

    // Public files of run folders and shipped models.
    if (seg[0] === 'runs' || seg[0] === 'models') {
      const root = seg[0] === 'runs' ? runsDir : modelsDir;
      const rel = seg.slice(1);
      if (rel.length === 0) throw new HttpError(404, 'not found');
      const topLevelReport = rel.length === 1 && seg[0] === 'runs' && /^[\w.+=@,-]+\.md$/i.test(rel[0]!);
      if (!topLevelReport) {
        if (rel.length < 2 || !isPublicRunFile(rel.slice(1))) throw new HttpError(404, 'not found');
        findFolder(root, rel[0]!); // the run folder itself must be inside the root (symlinks included)
      }
      return sendFile(req, res, resolveInside(root, rel), head);
    }
    throw new HttpError(404, 'not found');
  }

  const server = http.createServer((req, res) => {
    req.on('error', () => res.destroy());
    res.on('error', () => undefined);
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : 'internal error';
      if (status === 500) process.stderr.write(`fashion-gan serve: ${req.method} ${String(req.url).slice(0, 200)}: ${(err as Error)?.stack ?? String(err)}\n`);
      try {
        if (status === 413) res.setHeader('Connection', 'close');
        sendJson(res, status, { error: message }, req.method === 'HEAD');
      } catch {
        res.destroy();
      }
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.maxHeadersCount = 100;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') reject(new UserError(`port ${opts.port} on ${opts.host} is already in use; pick another with --port`));
      else if (err.code === 'EACCES') reject(new UserError(`port ${opts.port} on ${opts.host}: permission denied; pick a port above 1023 with --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') reject(new UserError(`--host ${opts.host}: not an address of this machine`));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port, opts.host);
  });
  server.on('error', (err) => process.stderr.write(`fashion-gan serve: ${err.message}\n`));

  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
