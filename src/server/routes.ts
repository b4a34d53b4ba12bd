/**
 * The app's router: the page and its assets (src/app, TF.js from node_modules, the CLI's RNG
 * transpiled on the fly), the public files of run folders and shipped models, and the API.
 */
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPublicRunFile, isReportPath } from '../run/paths';
import { handleApi, handleNearest, type ApiContext } from './api';
import { HttpError, MIME, send, sendOpenFile } from './http';
import { findFolder } from './runs';
import { openInside, splitRequestPath } from './safepath';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const APP_DIR = path.resolve(HERE, '..', 'app');
const RNG_SOURCE = path.resolve(HERE, '..', 'util', 'rng.ts');

export interface RouteContext extends ApiContext {
  /** Only loopback Host headers are answered (the server is bound to loopback). */
  loopbackOnly: boolean;
  /** node_modules/@tensorflow/tfjs/dist/tf.min.js */
  tfBundle: string;
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

/** Sends `segments` under `root`, opened and proven inside it first. */
function serveInside(req: http.IncomingMessage, res: http.ServerResponse, root: string, segments: string[], head: boolean): void {
  sendOpenFile(req, res, openInside(root, segments), segments[segments.length - 1]!, head);
}

/** A file of the page itself: src/app, minus its tests. */
function isAppFile(rel: string[]): boolean {
  const name = rel[rel.length - 1];
  return !!name && /\.(js|css|html|svg|png|ico)$/i.test(name) && !/\.test\./.test(name);
}

/**
 * Public files of run folders (`/runs/NAME/…`) and shipped models (`/models/NAME/…`): the
 * contract's public outputs, and Markdown reports anywhere under the runs folder.
 */
function serveRunFile(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse, seg: string[], head: boolean): void {
  const isRuns = seg[0] === 'runs';
  const root = isRuns ? ctx.runsRoot : ctx.modelsDir;
  const rel = seg.slice(1);
  const report = isRuns && isReportPath(rel);
  if (!report) {
    if (rel.length < 2 || !isPublicRunFile(rel.slice(1))) throw new HttpError(404, 'not found');
    findFolder(root, rel[0]!); // a run folder the listing shows (not a dotfile, not a link out)
  }
  serveInside(req, res, root, rel, head);
}

/** Answers one request (throws HttpError for the refusals). */
export async function route(ctx: RouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const head = method === 'HEAD';
  const rawUrl = req.url ?? '/';
  if (ctx.loopbackOnly) {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host)) throw new HttpError(421, 'unexpected Host header');
  }
  const q = rawUrl.indexOf('?');
  const seg = splitRequestPath(q < 0 ? rawUrl : rawUrl.slice(0, q));
  const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));

  if (seg[0] === 'api' && seg[1] === 'nearest' && seg.length === 2) return handleNearest(ctx, req, res);
  if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'method not allowed', { Allow: 'GET, HEAD' });

  if (seg.length === 0) return serveInside(req, res, APP_DIR, ['index.html'], head);
  if (seg[0] === 'app') {
    if (!isAppFile(seg.slice(1))) throw new HttpError(404, 'not found');
    return serveInside(req, res, APP_DIR, seg.slice(1), head);
  }
  if (seg[0] === 'favicon.ico' && seg.length === 1) return serveInside(req, res, APP_DIR, ['favicon.svg'], head);
  if (seg[0] === 'vendor' && seg[1] === 'tf.min.js' && seg.length === 2) return serveInside(req, res, path.dirname(ctx.tfBundle), [path.basename(ctx.tfBundle)], head);
  if (seg[0] === 'lib' && seg[1] === 'rng.js' && seg.length === 2) return send(res, 200, await rngJs(), MIME['.js']!, head);
  if (seg[0] === 'api') return handleApi(ctx, res, seg, query, head);
  if (seg[0] === 'runs' || seg[0] === 'models') return serveRunFile(ctx, req, res, seg, head);
  throw new HttpError(404, 'not found');
}
