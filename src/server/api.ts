/**
 * The app's JSON API: models, runs, reports, a run's history since an offset, and the
 * nearest-training-image look-up.
 */
import type * as http from 'node:http';
import { z } from 'zod';
import { ClientGone, declaredLength, HttpError, readBody, sendJson } from './http';
import type { NearestPool } from './nearest-pool';
import { findFolder, listModels, listReports, listRuns, readConfig, readHistorySince, runDetail, type ModelRoots } from './runs';

/** Largest JSON body /api/nearest accepts (a 32×32×3 design as JSON floats is ~70 KB). */
export const MAX_BODY_BYTES = 256 * 1024;

/** What the API routes need to know about the server. */
export interface ApiContext extends ModelRoots {
  modelsDir: string;
  nearest: NearestPool;
  /** How long a look-up's body may take to arrive. */
  bodyTimeoutMs: number;
}

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

/** A byte offset into history.jsonl: plain decimal digits only (no `1e3`, `0x10`, signs or spaces). */
export function parseOffset(raw: string | null): number {
  if (raw === null) return 0;
  const n = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) throw new HttpError(400, 'offset must be a non-negative integer (decimal digits)');
  return n;
}

/** GET/HEAD /api/…: answers, or throws a 404 for an unknown endpoint. */
export function handleApi(ctx: ApiContext, res: http.ServerResponse, seg: string[], query: URLSearchParams, head: boolean): void {
  const [, what, name, sub] = seg;
  if (what === 'info' && seg.length === 2) return sendJson(res, 200, { runsDir: ctx.runsCliPath, modelsDir: ctx.modelsCliPath, version: 1 }, head);
  if (what === 'models' && seg.length === 2) return sendJson(res, 200, listModels(ctx), head);
  if (what === 'reports' && seg.length === 2) return sendJson(res, 200, listReports(ctx.runsRoot), head);
  if (what === 'runs' && seg.length === 2) return sendJson(res, 200, listRuns(ctx.runsRoot), head);
  if (what === 'runs' && seg.length === 3) return sendJson(res, 200, runDetail(findFolder(ctx.runsRoot, name!)), head);
  if (what === 'runs' && seg.length === 4 && sub === 'history') {
    const offset = parseOffset(query.get('offset'));
    return sendJson(res, 200, readHistorySince(findFolder(ctx.runsRoot, name!), offset), head);
  }
  throw new HttpError(404, 'no such API endpoint');
}

/** The lenient config of a model id from /api/models ("run:NAME" or "model:NAME"). */
function modelConfig(ctx: ApiContext, id: string) {
  const m = /^(run|model):(.+)$/.exec(id);
  if (!m) throw new HttpError(400, 'model must be "run:NAME" or "model:NAME"');
  const folder = findFolder(m[1] === 'run' ? ctx.runsRoot : ctx.modelsDir, m[2]!);
  const { config, error } = readConfig(folder);
  if (!config) throw new HttpError(422, `${id}: ${error}`);
  return config;
}

/**
 * POST /api/nearest. Cheap refusals come first, then a place in the look-up line (503 with
 * Retry-After when full, before any of the body is read or continued), then the body.
 */
export async function handleNearest(ctx: ApiContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw new HttpError(405, 'use POST with a JSON body', { Allow: 'POST' });
  if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) throw new HttpError(415, 'send Content-Type: application/json');
  const declared = declaredLength(req);
  if (declared !== null && declared > MAX_BODY_BYTES) throw new HttpError(413, `request body too large (limit ${MAX_BODY_BYTES} bytes)`, { Connection: 'close' });
  const admission = ctx.nearest.admit();
  if (!admission) throw new HttpError(503, 'busy with other look-ups; try again shortly', { 'Retry-After': String(ctx.nearest.retryAfter()), Connection: 'close' });
  const gone = new AbortController();
  const onClose = () => res.writableFinished || gone.abort();
  res.on('close', onClose);
  try {
    const body = await readBody(req, res, MAX_BODY_BYTES, ctx.bodyTimeoutMs);
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
    const config = modelConfig(ctx, parsed.data.model);
    const [h, w, c] = config.imageShape;
    if (parsed.data.pixels.length !== h * w * c) throw new HttpError(400, `pixels: expected ${h * w * c} values (${h}×${w}×${c}), got ${parsed.data.pixels.length}`);
    if (gone.signal.aborted) throw new ClientGone();
    const answer = await admission.run({ dataset: config.dataset, classFilter: config.classFilter ?? null, imageShape: config.imageShape, pixels: Float32Array.from(parsed.data.pixels), k: parsed.data.k }, gone.signal);
    sendJson(res, 200, { model: parsed.data.model, seed: parsed.data.seed ?? null, ...answer });
  } finally {
    admission.release();
    res.off('close', onClose);
  }
}
