import * as fs from 'node:fs';
import { pidAlive } from '../training/runfolder';
import * as path from 'node:path';
import { z } from 'zod';
import { HttpError, isInside } from './safepath';

/**
 * The parts of a run's config.json the app needs. Lenient on purpose (passthrough, most fields
 * optional): a run written by an older or newer trainer still shows up in the dashboard.
 */
export const AppConfig = z
  .object({
    preset: z.string().optional(),
    dataset: z.enum(['fashion-mnist', 'cifar10']),
    classFilter: z.number().int().min(0).max(9).nullable().optional(),
    classNames: z.array(z.string()).optional(),
    latentDim: z.number().int().positive().max(4096),
    imageShape: z.tuple([z.number().int().positive().max(256), z.number().int().positive().max(256), z.union([z.literal(1), z.literal(3)])]),
    conditional: z.boolean().optional(),
    numClasses: z.number().int().positive().max(1000).optional(),
    seed: z.number().optional(),
    batchSize: z.number().optional(),
    backend: z.string().optional(),
  })
  .passthrough();
export type AppConfig = z.infer<typeof AppConfig>;

const RUN_NAME = /^[\w][\w.+=@,-]{0,127}$/;

/** A folder (run or shipped model) the server knows about. */
export interface Folder {
  /** Folder name, used in URLs. */
  name: string;
  /** Real path of the folder (inside its root). */
  dir: string;
}

/** Sub-folders of `root` (one level), real paths proven inside `root`, sorted by name. */
export function listFolders(root: string): Folder[] {
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    return [];
  }
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(realRoot, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: Folder[] = [];
  for (const e of entries) {
    if (!RUN_NAME.test(e.name)) continue;
    try {
      const real = fs.realpathSync(path.join(realRoot, e.name));
      if (!isInside(realRoot, real) || real === realRoot) continue;
      if (!fs.statSync(real).isDirectory()) continue;
      out.push({ name: e.name, dir: real });
    } catch {
      // vanished or unreadable: skip
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The named folder under `root`, or a 404. */
export function findFolder(root: string, name: string): Folder {
  if (!RUN_NAME.test(name)) throw new HttpError(404, `no run named ${JSON.stringify(name.slice(0, 80))}`);
  const hit = listFolders(root).find((f) => f.name === name);
  if (!hit) throw new HttpError(404, `no run named ${JSON.stringify(name)}`);
  return hit;
}

/** Reads a regular file that must be inside `dir` after following symlinks; null when absent or outside. */
function readInside(dir: string, rel: string, maxBytes = 4 << 20): string | null {
  try {
    const real = fs.realpathSync(path.join(dir, rel));
    if (!isInside(dir, real)) return null;
    const st = fs.statSync(real);
    if (!st.isFile() || st.size > maxBytes) return null;
    return fs.readFileSync(real, 'utf8');
  } catch {
    return null;
  }
}

function statInside(dir: string, rel: string): fs.Stats | null {
  try {
    const real = fs.realpathSync(path.join(dir, rel));
    if (!isInside(dir, real)) return null;
    return fs.statSync(real);
  } catch {
    return null;
  }
}

export function readConfig(dir: string): { raw: Record<string, unknown> | null; config: AppConfig | null; error: string | null } {
  const text = readInside(dir, 'config.json', 1 << 20);
  if (text === null) return { raw: null, config: null, error: 'no config.json' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { raw: null, config: null, error: `config.json is not valid JSON (${(err as Error).message})` };
  }
  const parsed = AppConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { raw: raw as Record<string, unknown>, config: null, error: `config.json: ${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  return { raw: raw as Record<string, unknown>, config: parsed.data, error: null };
}

/** "training" while a live trainer holds the run lock (or history grew in the last minute). */
function runStatus(dir: string, historyMtime: number | null): 'training' | 'idle' {
  const lock = readInside(dir, '.lock', 64);
  if (lock !== null) {
    const pid = Number.parseInt(lock.trim(), 10);
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) return 'training';
  }
  if (historyMtime !== null && Date.now() - historyMtime < 60_000) return 'training';
  return 'idle';
}

/** The last complete JSON line of a jsonl file (reads only its tail). */
function lastJsonLine(dir: string, rel: string): Record<string, unknown> | null {
  const st = statInside(dir, rel);
  if (!st || !st.isFile() || st.size === 0) return null;
  const fd = fs.openSync(fs.realpathSync(path.join(dir, rel)), 'r');
  try {
    const len = Math.min(st.size, 16384);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, st.size - len);
    const lines = buf.toString('utf8').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i]!.trim();
      if (!l) continue;
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        // torn line: try the one before
      }
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

const SAMPLE_NAME = /^e(\d+)-s(\d+)\.png$/;

export interface SampleInfo {
  file: string;
  epoch: number | null;
  step: number | null;
}

function listSamples(dir: string): SampleInfo[] {
  const st = statInside(dir, 'samples');
  if (!st?.isDirectory()) return [];
  try {
    return fs
      .readdirSync(path.join(dir, 'samples'))
      .filter((f) => /^[\w.-]+\.png$/i.test(f) && !f.startsWith('.'))
      .sort()
      .map((file) => {
        const m = SAMPLE_NAME.exec(file);
        return { file, epoch: m ? Number(m[1]) : null, step: m ? Number(m[2]) : null };
      });
  } catch {
    return [];
  }
}

function hasGenerator(dir: string): boolean {
  return !!statInside(dir, 'generator/model.json')?.isFile();
}

/** One line of the run list. */
export function runSummary(f: Folder) {
  const { config, error } = readConfig(f.dir);
  const hist = statInside(f.dir, 'history.jsonl');
  const last = lastJsonLine(f.dir, 'history.jsonl');
  const samples = listSamples(f.dir);
  return {
    name: f.name,
    config: config ? pickSummary(config) : null,
    error,
    hasGenerator: hasGenerator(f.dir),
    status: runStatus(f.dir, hist ? hist.mtimeMs : null),
    historyBytes: hist?.size ?? 0,
    updatedAt: hist ? new Date(hist.mtimeMs).toISOString() : null,
    lastStep: typeof last?.step === 'number' ? last.step : null,
    lastEpoch: typeof last?.epoch === 'number' ? last.epoch : null,
    sampleCount: samples.length,
    lastSample: samples.length ? samples[samples.length - 1]!.file : null,
  };
}

function pickSummary(c: AppConfig) {
  return {
    preset: c.preset ?? null,
    dataset: c.dataset,
    classFilter: c.classFilter ?? null,
    classNames: c.classNames ?? [],
    latentDim: c.latentDim,
    imageShape: c.imageShape,
    conditional: !!c.conditional,
    numClasses: c.numClasses ?? (c.classNames?.length || 10),
    batchSize: c.batchSize ?? null,
    backend: c.backend ?? null,
    seed: c.seed ?? null,
  };
}

/** Everything the Runs view shows for one run (history itself comes incrementally). */
export function runDetail(f: Folder, runsRoot: string) {
  const { raw, config, error } = readConfig(f.dir);
  const hist = statInside(f.dir, 'history.jsonl');
  const metricsText = readInside(f.dir, 'metrics.jsonl', 8 << 20);
  const metrics: Record<string, unknown>[] = [];
  for (const line of (metricsText ?? '').split('\n')) {
    if (!line.trim()) continue;
    try {
      const row = JSON.parse(line);
      if (row && typeof row === 'object' && !Array.isArray(row)) metrics.push(row as Record<string, unknown>);
    } catch {
      // torn line
    }
  }
  const stamp = (rel: string) => {
    const st = statInside(f.dir, rel);
    return st?.isFile() ? Math.round(st.mtimeMs) : null;
  };
  return {
    ...runSummary(f),
    configRaw: raw,
    configError: error,
    summary: config ? pickSummary(config) : null,
    samples: listSamples(f.dir),
    metrics,
    files: {
      progressGif: stamp('progress.gif'),
      historyPng: stamp('history.png'),
      history: hist ? hist.size : null,
    },
    reports: listReports(runsRoot).filter((r) => r.path.startsWith(`${f.name}/`)),
  };
}

/** The `.md` reports under the runs folder (compare reports and such), at most 3 levels deep. */
export function listReports(runsRoot: string): { path: string; bytes: number; modified: string }[] {
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(runsRoot);
  } catch {
    return [];
  }
  const out: { path: string; bytes: number; modified: string }[] = [];
  const walk = (dir: string, rel: string[], depth: number) => {
    if (out.length >= 200) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.') || !/^[\w.+=@,-]+$/.test(e.name) || e.name === 'checkpoint' || e.name === 'samples' || e.name === 'generator') continue;
      let real: string;
      let st: fs.Stats;
      try {
        real = fs.realpathSync(path.join(dir, e.name));
        if (!isInside(realRoot, real)) continue;
        st = fs.statSync(real);
      } catch {
        continue;
      }
      if (st.isDirectory() && depth < 3) walk(real, [...rel, e.name], depth + 1);
      else if (st.isFile() && /\.md$/i.test(e.name)) out.push({ path: [...rel, e.name].join('/'), bytes: st.size, modified: st.mtime.toISOString() });
    }
  };
  walk(realRoot, [], 1);
  return out;
}

/**
 * New history rows since byte `offset`: only whole lines (a line still being written waits for
 * the next poll). If the file shrank (a resume cut it back) the answer says `reset` and starts over.
 */
export function readHistorySince(f: Folder, offset: number, maxBytes = 4 << 20) {
  const st = statInside(f.dir, 'history.jsonl');
  if (!st?.isFile()) return { offset: 0, size: 0, reset: offset > 0, rows: [] as unknown[], more: false };
  let reset = false;
  if (offset > st.size) {
    offset = 0;
    reset = true;
  }
  const len = Math.min(st.size - offset, maxBytes);
  if (len <= 0) return { offset, size: st.size, reset, rows: [], more: false };
  const buf = Buffer.alloc(len);
  const fd = fs.openSync(fs.realpathSync(path.join(f.dir, 'history.jsonl')), 'r');
  try {
    fs.readSync(fd, buf, 0, len, offset);
  } finally {
    fs.closeSync(fd);
  }
  const lastNl = buf.lastIndexOf(0x0a);
  if (lastNl < 0) return { offset, size: st.size, reset, rows: [], more: false };
  const rows: unknown[] = [];
  for (const line of buf.subarray(0, lastNl).toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // torn line from a crash
    }
  }
  const next = offset + lastNl + 1;
  return { offset: next, size: st.size, reset, rows, more: next < st.size && len === maxBytes };
}

/** A generator the Design view can load. */
export interface ModelEntry {
  id: string;
  label: string;
  /** URL prefix of the folder: `${base}/generator/model.json` */
  base: string;
  /** Argument for the CLI's generate (`--run …`), empty for the shipped default. */
  cliRun: string;
  config: ReturnType<typeof pickSummary>;
  default: boolean;
}

export function listModels(opts: { modelsRoot?: string; modelsCliPath: string; defaultModelDir: string; runsRoot: string; runsCliPath: string }): ModelEntry[] {
  const { modelsRoot, modelsCliPath, runsRoot, runsCliPath } = opts;
  let defaultReal: string | null = null;
  try {
    defaultReal = fs.realpathSync(opts.defaultModelDir);
  } catch {
    // no shipped model yet
  }
  const out: ModelEntry[] = [];
  if (modelsRoot) {
    for (const f of listFolders(modelsRoot)) {
      if (!hasGenerator(f.dir)) continue;
      const { config } = readConfig(f.dir);
      if (!config) continue;
      out.push({ id: `model:${f.name}`, label: `${f.name} (shipped)`, base: `/models/${encodeURIComponent(f.name)}`, cliRun: f.dir === defaultReal ? '' : `--run ${path.posix.join(modelsCliPath, f.name)}`, config: pickSummary(config), default: false });
    }
  }
  for (const f of listFolders(runsRoot)) {
    if (!hasGenerator(f.dir)) continue;
    const { config } = readConfig(f.dir);
    if (!config) continue;
    out.push({ id: `run:${f.name}`, label: f.name, base: `/runs/${encodeURIComponent(f.name)}`, cliRun: `--run ${path.posix.join(runsCliPath, f.name)}`, config: pickSummary(config), default: false });
  }
  const def = out.find((m) => m.id === 'model:fashion') ?? out.find((m) => m.id.startsWith('run:')) ?? out[0];
  if (def) def.default = true;
  return out;
}
