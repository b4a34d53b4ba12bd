import * as fs from 'node:fs';
import * as path from 'node:path';
import { NO_CONFIG, parseAppConfig, type AppConfig } from '../run/config';
import { objectRows, parseJsonl } from '../run/jsonl';
import { liveLockOwner } from '../run/lock';
import { RUN_FILES } from '../run/paths';
import { listSamples as listSampleFiles, type SampleInfo } from '../run/samples';
import { HttpError, isInside } from './safepath';

export type { AppConfig } from '../run/config';

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

export function readConfig(dir: string): ReturnType<typeof parseAppConfig> {
  return parseAppConfig(readInside(dir, RUN_FILES.config, 1 << 20));
}

/** "training" while a live trainer holds the run lock (or history grew in the last minute). */
function runStatus(dir: string, historyMtime: number | null): 'training' | 'idle' {
  const lock = readInside(dir, RUN_FILES.lock, 64);
  if (lock !== null && liveLockOwner(lock) !== null) return 'training';
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
    const rows = objectRows(parseJsonl(buf.toString('utf8')));
    return rows[rows.length - 1] ?? null;
  } finally {
    fs.closeSync(fd);
  }
}

function listSamples(dir: string): SampleInfo[] {
  if (!statInside(dir, RUN_FILES.samples)?.isDirectory()) return [];
  return listSampleFiles(path.join(dir, RUN_FILES.samples));
}

function hasGenerator(dir: string): boolean {
  return !!statInside(dir, path.join(RUN_FILES.generator, RUN_FILES.generatorModel))?.isFile();
}

/** One line of the run list. */
export function runSummary(f: Folder) {
  const { config, error } = readConfig(f.dir);
  const hist = statInside(f.dir, RUN_FILES.history);
  const last = lastJsonLine(f.dir, RUN_FILES.history);
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

/** The run list: folders with a config.json or a history (a folder without either is not a run). */
export function listRuns(runsRoot: string) {
  return listFolders(runsRoot)
    .map(runSummary)
    .filter((r) => r.config || r.historyBytes > 0 || r.error !== NO_CONFIG);
}

/** Everything the Runs view shows for one run (history itself comes incrementally). */
export function runDetail(f: Folder, runsRoot: string) {
  const { raw, config, error } = readConfig(f.dir);
  const hist = statInside(f.dir, RUN_FILES.history);
  const metrics = objectRows(parseJsonl(readInside(f.dir, RUN_FILES.metrics, 8 << 20) ?? ''));
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
      progressGif: stamp(RUN_FILES.gif),
      historyPng: stamp(RUN_FILES.historyPng),
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
      if (e.name.startsWith('.') || !/^[\w.+=@,-]+$/.test(e.name) || e.name === RUN_FILES.checkpointDir || e.name === RUN_FILES.samples || e.name === RUN_FILES.generator) continue;
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
  const st = statInside(f.dir, RUN_FILES.history);
  if (!st?.isFile()) return { offset: 0, size: 0, reset: offset > 0, rows: [] as unknown[], more: false };
  let reset = false;
  if (offset > st.size) {
    offset = 0;
    reset = true;
  }
  const len = Math.min(st.size - offset, maxBytes);
  if (len <= 0) return { offset, size: st.size, reset, rows: [], more: false };
  const buf = Buffer.alloc(len);
  const fd = fs.openSync(fs.realpathSync(path.join(f.dir, RUN_FILES.history)), 'r');
  try {
    fs.readSync(fd, buf, 0, len, offset);
  } finally {
    fs.closeSync(fd);
  }
  const lastNl = buf.lastIndexOf(0x0a);
  if (lastNl < 0) return { offset, size: st.size, reset, rows: [], more: false };
  const rows = parseJsonl(buf.subarray(0, lastNl).toString('utf8'));
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
