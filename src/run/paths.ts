/**
 * The run folder's file names: the contract that train writes and generate, evaluate, compare
 * and the app read. No other module spells these names.
 *
 * ```
 * runs/NAME/
 *   config.json  history.jsonl  metrics.jsonl  history.png  progress.gif  evaluation.json
 *   samples/eEEEE-sSSSSSSSS.png  generator/model.json + weights.bin  checkpoint/latest.fgck  .lock
 * ```
 */
import * as path from 'node:path';

/** File and folder names inside a run folder. */
export const RUN_FILES = {
  config: 'config.json',
  history: 'history.jsonl',
  metrics: 'metrics.jsonl',
  historyPng: 'history.png',
  gif: 'progress.gif',
  evaluation: 'evaluation.json',
  samples: 'samples',
  generator: 'generator',
  /** Inside `generator/`: a stock TF.js Layers model. */
  generatorModel: 'model.json',
  generatorWeights: 'weights.bin',
  checkpointDir: 'checkpoint',
  /** Inside `checkpoint/`. */
  checkpoint: 'latest.fgck',
  lock: '.lock',
} as const;

/** The files of a run folder, as absolute (or `dir`-relative) paths. */
export function runPaths(dir: string) {
  return {
    dir,
    config: path.join(dir, RUN_FILES.config),
    history: path.join(dir, RUN_FILES.history),
    metrics: path.join(dir, RUN_FILES.metrics),
    samples: path.join(dir, RUN_FILES.samples),
    historyPng: path.join(dir, RUN_FILES.historyPng),
    gif: path.join(dir, RUN_FILES.gif),
    evaluation: path.join(dir, RUN_FILES.evaluation),
    checkpointDir: path.join(dir, RUN_FILES.checkpointDir),
    checkpoint: path.join(dir, RUN_FILES.checkpointDir, RUN_FILES.checkpoint),
    generator: path.join(dir, RUN_FILES.generator),
    generatorModel: path.join(dir, RUN_FILES.generator, RUN_FILES.generatorModel),
    lock: path.join(dir, RUN_FILES.lock),
  };
}
export type RunPaths = ReturnType<typeof runPaths>;

/** A sample grid's name: `eEEEE-sSSSSSSSS.png` (sorts by epoch, then step). */
export function sampleFileName(epoch: number, step: number): string {
  return `e${String(epoch).padStart(4, '0')}-s${String(step).padStart(8, '0')}.png`;
}

const SAMPLE_NAME = /^e(\d+)-s(\d+)\.png$/;

/** Epoch and step of a sample grid's file name, or null for a name outside the contract. */
export function parseSampleName(file: string): { epoch: number; step: number } | null {
  const m = SAMPLE_NAME.exec(file);
  return m ? { epoch: Number(m[1]), step: Number(m[2]) } : null;
}

/** The run-folder files the app may show: the public outputs (no checkpoint, no lock, nothing else). */
const PUBLIC_FILES = new Set<string>([RUN_FILES.config, RUN_FILES.history, RUN_FILES.metrics, RUN_FILES.historyPng, RUN_FILES.gif, RUN_FILES.evaluation]);

/**
 * Whether the app may serve this file of a run folder (or a shipped model folder), given as
 * path segments relative to the folder: the contract's public outputs, the sample grids and
 * the exported generator. Checkpoints, locks and anything else stay private.
 */
export function isPublicRunFile(rel: string[]): boolean {
  if (rel.length === 1) return PUBLIC_FILES.has(rel[0]!);
  if (rel.length === 2 && rel[0] === RUN_FILES.samples) return parseSampleName(rel[1]!) !== null;
  if (rel.length === 2 && rel[0] === RUN_FILES.generator) return rel[1] === RUN_FILES.generatorModel || rel[1] === RUN_FILES.generatorWeights;
  return false;
}

/** Folders of a run that never hold reports (and are not searched for them). */
const NOT_REPORTS = new Set<string>([RUN_FILES.checkpointDir, RUN_FILES.samples, RUN_FILES.generator]);
const REPORT_SEGMENT = /^[\w.+=@,-]+$/;

/** How deep below the runs folder reports are looked for (`overview.md`, `NAME/compare.md`, `A/B/report.md`). */
export const REPORT_DEPTH = 3;

/**
 * Whether a path below the runs folder (segments) may be a Markdown report, e.g. what
 * `compare --out runs/X` writes: `.md`, at most REPORT_DEPTH deep, plain names, not inside a
 * run's samples, generator or checkpoint.
 */
export function isReportPath(rel: string[]): boolean {
  return isReportFolder(rel.slice(0, -1)) && rel.length >= 1 && /\.md$/i.test(rel[rel.length - 1]!) && REPORT_SEGMENT.test(rel[rel.length - 1]!) && !rel[rel.length - 1]!.startsWith('.');
}

/** Whether reports are looked for in this folder below the runs folder (segments; [] is the runs folder). */
export function isReportFolder(rel: string[]): boolean {
  return rel.length < REPORT_DEPTH && rel.every((s) => REPORT_SEGMENT.test(s) && !s.startsWith('.') && !NOT_REPORTS.has(s));
}
