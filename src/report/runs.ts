/**
 * Where runs stand: how far each has trained, its latest losses and FD, and whether it is
 * training now, finished (reached its target) or interrupted (`train --resume DIR` goes on).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { imagesSeenAt, readRunConfig, type RunConfig, type RunTarget } from '../run/config';
import { parseJsonl, readJsonl } from '../run/jsonl';
import { liveLockOwner } from '../run/lock';
import { runPaths } from '../run/paths';
import { readCheckpointMeta } from '../training/checkpoint';
import { resolveTarget, targetSteps } from '../training/target';
import { extensionFlags } from './training';

/**
 * training: a live trainer holds the run's lock; finished: its checkpoint reached the target;
 * interrupted: it stopped short of it; stopped: made before runs saved their target, so which
 * of the two is unknown; damaged: a file of the run cannot be read (see `problem`).
 */
export type RunState = 'training' | 'finished' | 'interrupted' | 'stopped' | 'damaged';

export interface RunStatus {
  /** the folder's name */
  name: string;
  dir: string;
  preset?: string;
  status: RunState;
  /** the trainer's pid (status training) */
  pid?: number;
  /** the last step in history.jsonl */
  step: number;
  /** epochs trained at that step (fractional) */
  epochs: number;
  /** the step of the checkpoint, where a resume continues (null: none yet) */
  checkpointStep: number | null;
  /** training seconds the checkpoint records */
  trainSeconds: number;
  /** what the run trains to (absent for runs made before it was saved) */
  target?: RunTarget;
  /** means over the last 100 steps of history.jsonl */
  genLoss?: number;
  discLoss?: number;
  /** the latest FD measured (metrics.jsonl, or evaluation.json when newer) and its step */
  fd?: number;
  fdStep?: number;
  /** what is wrong (status damaged) */
  problem?: string;
}

/** Whether a run at `at` (checkpoint step and training seconds) has reached `target`. */
export function targetReached(target: RunTarget, stepsPerEpoch: number, at: { step: number; trainSeconds: number }): boolean {
  return at.step >= targetSteps(target, stepsPerEpoch) || (target.minutes !== undefined && at.trainSeconds >= target.minutes * 60);
}

/** The last `n` whole rows of a JSONL file, reading only its tail. */
function lastRows<T>(file: string, n: number, tailBytes = 64 * 1024): T[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - tailBytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    let text = buf.toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1); // the first line is cut
    return parseJsonl<T>(text).slice(-n);
  } finally {
    fs.closeSync(fd);
  }
}

interface HistoryTail {
  step: number;
  gen_loss: number;
  disc_loss: number;
}

/** The latest FD of a run: the last one in metrics.jsonl, or evaluation.json's when it measured a later step. */
function latestFd(dir: string): { fd: number; step: number } | undefined {
  const p = runPaths(dir);
  let best: { fd: number; step: number } | undefined;
  for (const m of readJsonl<{ step?: number; fd?: number }>(p.metrics)) {
    if (Number.isFinite(m.fd) && Number.isInteger(m.step)) best = { fd: m.fd!, step: m.step! };
  }
  try {
    const e = JSON.parse(fs.readFileSync(p.evaluation, 'utf8')) as { fd?: number; step?: number };
    if (Number.isFinite(e.fd) && Number.isInteger(e.step) && (!best || e.step! >= best.step)) best = { fd: e.fd!, step: e.step! };
  } catch {
    // no evaluation, or an unreadable one: metrics.jsonl's FD stands
  }
  return best;
}

/**
 * Reads a run folder's state (config.json strictly: a damaged one is a UserError naming it).
 * Cheap: the checkpoint's header and history.jsonl's tail only.
 */
export function readRunStatus(dir: string): { config: RunConfig; status: RunStatus } {
  if (!fs.existsSync(dir)) throw new UserError(`${dir}: no such run folder`);
  const p = runPaths(dir);
  const config = readRunConfig(p.config);
  const meta = fs.existsSync(p.checkpoint) ? readCheckpointMeta(p.checkpoint) : null;
  const checkpointStep = meta && Number.isInteger(meta.step) ? (meta.step as number) : null;
  const trainSeconds = meta && Number.isFinite(meta.trainSeconds) ? (meta.trainSeconds as number) : 0;
  const tail = lastRows<HistoryTail>(p.history, 100).filter((r) => Number.isInteger(r.step));
  const step = tail.at(-1)?.step ?? checkpointStep ?? 0;
  const mean = (k: 'gen_loss' | 'disc_loss') => (tail.length ? tail.reduce((s, r) => s + r[k], 0) / tail.length : undefined);
  let pid: number | null = null;
  try {
    pid = liveLockOwner(fs.readFileSync(p.lock, 'utf8'));
  } catch {
    // no lock: nobody trains it
  }
  const at = { step: checkpointStep ?? 0, trainSeconds };
  const status: RunState = pid !== null ? 'training' : !config.target ? 'stopped' : targetReached(config.target, config.stepsPerEpoch, at) ? 'finished' : 'interrupted';
  const fd = latestFd(dir);
  return {
    config,
    status: {
      name: path.basename(path.resolve(dir)),
      dir,
      preset: config.preset,
      status,
      ...(pid !== null ? { pid } : {}),
      step,
      epochs: imagesSeenAt(config, step) / Math.max(1, config.trainCount),
      checkpointStep,
      trainSeconds,
      ...(config.target ? { target: config.target } : {}),
      genLoss: mean('gen_loss'),
      discLoss: mean('disc_loss'),
      ...(fd ? { fd: fd.fd, fdStep: fd.step } : {}),
    },
  };
}

/**
 * The runs in `root` (each sub-folder with a config.json; `root` itself when it is a run), by
 * name. A run whose files cannot be read is listed as damaged, with the reason.
 */
export function listRuns(root: string): RunStatus[] {
  if (!fs.existsSync(root)) throw new UserError(`${root}: no such folder`);
  if (!fs.statSync(root).isDirectory()) throw new UserError(`${root}: not a folder`);
  const dirs = fs.existsSync(runPaths(root).config)
    ? [root]
    : fs
        .readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && fs.existsSync(runPaths(path.join(root, e.name)).config))
        .map((e) => path.join(root, e.name))
        .sort();
  return dirs.map((dir) => {
    try {
      return readRunStatus(dir).status;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      return { name: path.basename(path.resolve(dir)), dir, status: 'damaged', step: 0, epochs: 0, checkpointStep: null, trainSeconds: 0, problem: err.message };
    }
  });
}

/**
 * Where `train --resume DIR` stands before anything loads: the run's config, the step and
 * training seconds its checkpoint holds, the target it will train to (the saved one, or the one
 * `flags` set), whether that is reached already, and if so the flags that would extend it.
 */
export function planResume(dir: string, flags: { steps?: number; epochs?: number; minutes?: number }) {
  if (!fs.existsSync(dir)) throw new UserError(`--resume ${dir}: no such run folder`);
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`--resume ${dir}: not a folder`);
  const { config, status } = readRunStatus(dir);
  const at = { step: status.checkpointStep ?? 0, trainSeconds: status.checkpointStep === null ? 0 : status.trainSeconds };
  const { target } = resolveTarget(flags, config.target, true, { seconds: at.trainSeconds, step: at.step, stepsPerEpoch: config.stepsPerEpoch });
  const reached = targetReached(target, config.stepsPerEpoch, at);
  const byTime = target.minutes !== undefined && at.trainSeconds >= target.minutes * 60;
  return { config, status, at, target, reached, extension: reached ? extensionFlags(target, config.stepsPerEpoch, byTime) : '' };
}
