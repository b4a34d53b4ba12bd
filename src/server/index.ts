/**
 * `fashion-gan serve`: the app's HTTP server. Serves the page (src/app), TF.js from
 * node_modules, the public files of run folders, a small JSON API, and nearest-training-image
 * look-ups (in a worker thread). Every request gets a status line; nothing prints a stack trace.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors';
import { oneLine } from '../util/atomic';
import { ClientGone, HttpError, sendJson } from './http';
import { NearestPool, type NearestLimits } from './nearest-pool';
import { route, type RouteContext } from './routes';

export { MAX_BODY_BYTES } from './api';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_MODELS_DIR = path.join(REPO_ROOT, 'models');
const require = createRequire(import.meta.url);

export interface ServerOptions {
  port: number;
  host: string;
  runsDir: string;
  /** Folder of shipped models (default: the repo's models/); `fashion/` in it is the default generator. */
  modelsDir?: string;
  /** Where to look for the training data first (same as --data-dir elsewhere). */
  dataDir?: string;
  /** Bounds on nearest-image look-ups (searches at a time, waiting). */
  nearest?: NearestLimits;
  /** How long a look-up's body may take to arrive (default 20 s): a slow client must not hold its place. */
  bodyTimeoutMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** How the command line would name `p` (relative to the working directory when inside it). */
function cliPath(p: string): string {
  const rel = path.relative(process.cwd(), p) || '.';
  return (rel.startsWith('..') ? p : rel).split(path.sep).join('/');
}

/** The answer to a request that failed: its status, or a quiet end when the client is gone. */
function answerError(req: http.IncomingMessage, res: http.ServerResponse, err: unknown): void {
  if (err instanceof ClientGone || res.destroyed) {
    res.destroy();
    return;
  }
  const known = err instanceof HttpError;
  if (!known) process.stderr.write(`fashion-gan serve: ${req.method} ${oneLine(String(req.url).slice(0, 200))}: ${oneLine((err as Error)?.message ?? String(err))}\n`);
  sendJson(res, known ? err.status : 500, { error: known ? err.message : 'internal error' }, req.method === 'HEAD', known ? err.headers : {});
}

/** Starts the app's HTTP server; resolves once it listens. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const runsDir = path.resolve(opts.runsDir);
  if (!fs.existsSync(runsDir)) throw new UserError(`--runs ${opts.runsDir}: no such folder (train a model first with \`fashion-gan train\`, or pass --runs DIR)`);
  if (!fs.statSync(runsDir).isDirectory()) throw new UserError(`--runs ${opts.runsDir}: not a folder`);
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new UserError(`--port ${opts.port}: must be 0–65535`);
  const modelsDir = path.resolve(opts.modelsDir ?? DEFAULT_MODELS_DIR);
  const nearest = new NearestPool(opts.dataDir, opts.nearest);
  const ctx: RouteContext = {
    runsRoot: runsDir,
    runsCliPath: cliPath(runsDir),
    modelsDir,
    modelsRoot: fs.existsSync(modelsDir) ? modelsDir : undefined,
    modelsCliPath: cliPath(modelsDir),
    defaultModelDir: path.join(DEFAULT_MODELS_DIR, 'fashion'),
    nearest,
    bodyTimeoutMs: opts.bodyTimeoutMs ?? 20_000,
    loopbackOnly: isLoopback(opts.host),
    tfBundle: require.resolve('@tensorflow/tfjs/dist/tf.min.js'),
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.on('error', () => res.destroy());
    res.on('error', () => undefined);
    route(ctx, req, res).catch((err: unknown) => {
      try {
        answerError(req, res, err);
      } catch {
        res.destroy();
      }
    });
  };
  const server = http.createServer(onRequest);
  // "Expect: 100-continue" reaches the router too: only a look-up that fits sends "100 Continue".
  server.on('checkContinue', onRequest);
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
      void nearest.close();
      if (err.code === 'EADDRINUSE') reject(new UserError(`port ${opts.port} on ${opts.host} is already in use; pick another with --port`));
      else if (err.code === 'EACCES') reject(new UserError(`port ${opts.port} on ${opts.host}: permission denied; pick a port above 1023 with --port`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') reject(new UserError(`--host ${opts.host}: not an address of this machine`));
      else reject(new UserError(`--host ${opts.host} --port ${opts.port}: cannot listen (${err.code ?? err.message})`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(opts.port, opts.host);
  });
  server.on('error', (err) => process.stderr.write(`fashion-gan serve: ${oneLine(err.message)}\n`));

  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shownHost = opts.host.includes(':') ? `[${opts.host}]` : opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: async () => {
      await Promise.all([
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        nearest.close(),
      ]);
    },
  };
}
