/**
 * What the app shows of run folders (and shipped model folders), read through the run-folder
 * contract (src/run) and the safe reads of ./safepath: nothing outside a folder's root is
 * ever opened, whatever a client does to the folder meanwhile.
 */
import * as path from 'node:path';
import { NO_CONFIG, parseAppConfig, type AppConfig } from '../run/config';
import { objectRows, parseJsonl } from '../run/jsonl';
import { liveLockOwner } from '../run/lock';
import { isReportFolder, isReportPath, RUN_FILES } from '../run/paths';
import { listSamples as listSampleFiles, type SampleInfo } from '../run/samples';
import { HttpError } from './http';
import { readAt, readdirInside, readTextInside, statInside, withFileInside } from './safepath';

const RUN_NAME = /^[\w][\w.+=@,-]{0,127}$/;

/** A folder (run or shipped model) the server knows about. */
export interface Folder {
  /** Folder name, used in URLs. */
  name: string;
  /** The runs (or models) folder it lies in: every read is proven to stay inside it. */
  root: string;
  /** Real path of the folder when it was listed. */
  dir: string;
}

/** Path segments of a contract file (e.g. "generator/model.json") of `f`, from its root. */
const at = (f: Folder, ...rel: string[]) => [f.name, ...rel];

/** The folder `name` of `root` if it is one the app shows: a plain name, a folder inside `root` (not `root` itself). */
function folderOf(root: string, realRoot: string | null, name: string): Folder | null {
  if (!RUN_NAME.test(name)) return null;
  const dir = withFileInside(root, [name], 'dir', (d) => d.real);
  return dir !== null && dir !== realRoot ? { name, root, dir } : null;
}

const realRootOf = (root: string) => withFileInside(root, [], 'dir', (d) => d.real);

/** Sub-folders of `root` (one level), real paths proven inside `root`, sorted by name. */
export function listFolders(root: string): Folder[] {
  let names: string[];
  try {
    names = readdirInside(root, []);
  } catch {
    return [];
  }
  const realRoot = realRootOf(root);
  return names
    .map((name) => folderOf(root, realRoot, name))
    .filter((f): f is Folder => f !== null)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The named folder under `root`, or a 404. */
export function findFolder(root: string, name: string): Folder {
  const hit = folderOf(root, realRootOf(root), name);
  if (!hit) throw new HttpError(404, `no run named ${JSON.stringify(name.slice(0, 80))}`);
  return hit;
}

export function readConfig(f: Folder): ReturnType<typeof parseAppConfig> {
  return parseAppConfig(readTextInside(f.root, at(f, RUN_FILES.config), 1 << 20));
}

/** "training" while a live trainer holds the run lock (or history grew in the last minute). */
function runStatus(f: Folder, historyMtime: number | null): 'training' | 'idle' {
  const lock = readTextInside(f.root, at(f, RUN_FILES.lock), 64);
  if (lock !== null && liveLockOwner(lock) !== null) return 'training';
  if (historyMtime !== null && Date.now() - historyMtime < 60_000) return 'training';
  return 'idle';
}

/** The last complete JSON line of history.jsonl (reads only its tail). */
function lastHistoryRow(f: Folder): Record<string, unknown> | null {
  return withFileInside(f.root, at(f, RUN_FILES.history), 'file', ({ fd, stat }) => {
    const len = Math.min(stat.size, 16384);
    const rows = objectRows(parseJsonl(readAt(fd, len, stat.size - len).toString('utf8')));
    return rows[rows.length - 1] ?? null;
  });
}

/** URL of a public file of run `f` (segments relative to the run folder). */
const runUrl = (f: Folder, ...rel: string[]) => ['', 'runs', f.name, ...rel].map(encodeURIComponent).join('/');

function listSamples(f: Folder): (SampleInfo & { url: string })[] {
  return listSampleFiles(RUN_FILES.samples, (rel) => readdirInside(f.root, at(f, rel))).map((s) => ({ ...s, url: runUrl(f, RUN_FILES.samples, s.file) }));
}

function hasGenerator(f: Folder): boolean {
  return !!statInside(f.root, at(f, RUN_FILES.generator, RUN_FILES.generatorModel))?.isFile();
}

function fileStat(f: Folder, name: string) {
  const st = statInside(f.root, at(f, name));
  return st?.isFile() ? st : null;
}

/** One line of the run list. */
export function runSummary(f: Folder) {
  const { config, error } = readConfig(f);
  const hist = fileStat(f, RUN_FILES.history);
  const last = hist ? lastHistoryRow(f) : null;
  const samples = listSamples(f);
  return {
    name: f.name,
    config: config ? pickSummary(config) : null,
    error,
    hasGenerator: hasGenerator(f),
    status: runStatus(f, hist ? hist.mtimeMs : null),
    historyBytes: hist?.size ?? 0,
    updatedAt: hist ? new Date(hist.mtimeMs).toISOString() : null,
    lastStep: typeof last?.step === 'number' ? last.step : null,
    lastEpoch: typeof last?.epoch === 'number' ? last.epoch : null,
    sampleCount: samples.length,
    lastSample: samples.length ? samples[samples.length - 1]!.file : null,
    lastSampleUrl: samples.length ? samples[samples.length - 1]!.url : null,
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
export function runDetail(f: Folder) {
  const { raw, config, error } = readConfig(f);
  const hist = fileStat(f, RUN_FILES.history);
  const metrics = objectRows(parseJsonl(readTextInside(f.root, at(f, RUN_FILES.metrics), 8 << 20) ?? ''));
  const stamp = (name: string) => {
    const st = fileStat(f, name);
    return st ? Math.round(st.mtimeMs) : null;
  };
  return {
    ...runSummary(f),
    configRaw: raw,
    configError: error,
    summary: config ? pickSummary(config) : null,
    samples: listSamples(f),
    metrics,
    files: {
      progressGif: stamp(RUN_FILES.gif),
      historyPng: stamp(RUN_FILES.historyPng),
      history: hist ? hist.size : null,
    },
    urls: { progressGif: runUrl(f, RUN_FILES.gif), historyPng: runUrl(f, RUN_FILES.historyPng) },
    reports: listReports(f.root).filter((r) => r.path.startsWith(`${f.name}/`)),
  };
}

export interface Report {
  /** Below the runs folder, with `/`. */
  path: string;
  bytes: number;
  modified: string;
}

/** The `.md` reports under the runs folder (compare reports and such), at most REPORT_DEPTH levels deep. */
export function listReports(runsRoot: string): Report[] {
  const out: Report[] = [];
  const walk = (rel: string[]) => {
    let names: string[];
    try {
      names = readdirInside(runsRoot, rel);
    } catch {
      return;
    }
    for (const name of names.sort((a, b) => a.localeCompare(b))) {
      if (out.length >= 200) return;
      const sub = [...rel, name];
      const st = isReportFolder(sub) || isReportPath(sub) ? statInside(runsRoot, sub) : null;
      if (st?.isDirectory() && isReportFolder(sub)) walk(sub);
      else if (st?.isFile() && isReportPath(sub)) out.push({ path: sub.join('/'), bytes: st.size, modified: st.mtime.toISOString() });
    }
  };
  walk([]);
  return out;
}

/**
 * New history rows since byte `offset`: only whole lines (a line still being written waits for
 * the next poll). If the file shrank (a resume cut it back) the answer says `reset` and starts over.
 */
export function readHistorySince(f: Folder, offset: number, maxBytes = 4 << 20) {
  const empty = { offset: 0, size: 0, reset: offset > 0, rows: [] as unknown[], more: false };
  const answer = withFileInside(f.root, at(f, RUN_FILES.history), 'file', ({ fd, stat }) => {
    let from = offset;
    let reset = false;
    if (from > stat.size) {
      from = 0;
      reset = true;
    }
    const len = Math.min(stat.size - from, maxBytes);
    if (len <= 0) return { offset: from, size: stat.size, reset, rows: [] as unknown[], more: false };
    const buf = readAt(fd, len, from);
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl < 0) return { offset: from, size: stat.size, reset, rows: [] as unknown[], more: false };
    const next = from + lastNl + 1;
    return { offset: next, size: stat.size, reset, rows: parseJsonl(buf.subarray(0, lastNl).toString('utf8')), more: next < stat.size && len === maxBytes };
  });
  return answer ?? empty;
}

/** A generator the Design view can load. */
export interface ModelEntry {
  id: string;
  label: string;
  /** URL prefix of the folder (its public files are `${base}/…`). */
  base: string;
  /** URL of the generator's model.json (tf.loadLayersModel). */
  modelUrl: string;
  /** Argument for the CLI's generate (`--run …`), empty for the shipped default. */
  cliRun: string;
  config: ReturnType<typeof pickSummary>;
  default: boolean;
}

export interface ModelRoots {
  modelsRoot?: string;
  modelsCliPath: string;
  defaultModelDir: string;
  runsRoot: string;
  runsCliPath: string;
}

/** The generators the Design view offers: shipped models first, then runs with an exported generator. */
export function listModels(opts: ModelRoots): ModelEntry[] {
  const { modelsRoot, modelsCliPath, runsRoot, runsCliPath } = opts;
  const defaultReal = withFileInside(path.dirname(opts.defaultModelDir), [path.basename(opts.defaultModelDir)], 'dir', (d) => d.real);
  const out: ModelEntry[] = [];
  const add = (kind: 'model' | 'run', f: Folder, label: string, cliRun: string) => {
    if (!hasGenerator(f)) return;
    const { config } = readConfig(f);
    if (!config) return;
    const base = `/${kind === 'model' ? 'models' : 'runs'}/${encodeURIComponent(f.name)}`;
    out.push({ id: `${kind}:${f.name}`, label, base, modelUrl: `${base}/${RUN_FILES.generator}/${RUN_FILES.generatorModel}`, cliRun, config: pickSummary(config), default: false });
  };
  if (modelsRoot) for (const f of listFolders(modelsRoot)) add('model', f, `${f.name} (shipped)`, f.dir === defaultReal ? '' : `--run ${path.posix.join(modelsCliPath, f.name)}`);
  for (const f of listFolders(runsRoot)) add('run', f, f.name, `--run ${path.posix.join(runsCliPath, f.name)}`);
  const def = out.find((m) => m.id === 'model:fashion') ?? out.find((m) => m.id.startsWith('run:')) ?? out[0];
  if (def) def.default = true;
  return out;
}
