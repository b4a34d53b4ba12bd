import { UserError } from '../errors';
import type { RunTarget } from '../run/config';

/** What a new run trains for when none of --steps, --epochs or --minutes is given. */
export const DEFAULT_TARGET: RunTarget = { epochs: 50 };

/**
 * The target of this invocation. A new run takes the flags (or the default, `defaulted`). A
 * resumed run continues to the target its config.json saved; flags given with --resume set a
 * new one: --steps and --epochs in total, --minutes as that many more minutes of training.
 * --minutes alone on a run short of its saved step or epoch target keeps that target (more time
 * to reach it, and a learning-rate decay that ends there); past it, the time is the target.
 * @param at training seconds and steps the run already has (0 for a new run)
 */
export function resolveTarget(flags: RunTarget, saved: RunTarget | undefined, resuming: boolean, at: { seconds: number; step: number; stepsPerEpoch: number }): { target: RunTarget; defaulted: boolean } {
  const given = flags.steps !== undefined || flags.epochs !== undefined || flags.minutes !== undefined;
  if (!given) {
    if (!resuming) return { target: { ...DEFAULT_TARGET }, defaulted: true };
    if (!saved) throw new UserError('this run was made before its target was saved: say how long to train with --steps, --epochs or --minutes');
    return { target: saved, defaulted: false };
  }
  const target: RunTarget = {};
  if (flags.steps !== undefined) target.steps = flags.steps;
  if (flags.epochs !== undefined) target.epochs = flags.epochs;
  if (flags.minutes !== undefined) {
    target.minutes = Number((at.seconds / 60 + flags.minutes).toFixed(4));
    const onlyTime = flags.steps === undefined && flags.epochs === undefined;
    if (resuming && onlyTime && saved && at.step < targetSteps(saved, at.stepsPerEpoch)) {
      if (saved.steps !== undefined) target.steps = saved.steps;
      if (saved.epochs !== undefined) target.epochs = saved.epochs;
    }
  }
  return { target, defaulted: false };
}

/** The step count a target stops at (Infinity when only time bounds it). */
export function targetSteps(target: RunTarget, stepsPerEpoch: number): number {
  const bySteps = target.steps ?? Infinity;
  const byEpochs = target.epochs !== undefined ? target.epochs * stepsPerEpoch : Infinity;
  return Math.min(bySteps, byEpochs);
}

/** "2,000 steps", "50 epochs", "60 minutes", or several joined with "or". */
export function describeTarget(target: RunTarget): string {
  const parts: string[] = [];
  if (target.steps !== undefined) parts.push(`${target.steps.toLocaleString('en-US')} steps`);
  if (target.epochs !== undefined) parts.push(`${target.epochs} epoch${target.epochs === 1 ? '' : 's'}`);
  if (target.minutes !== undefined) parts.push(`${Number(target.minutes.toFixed(2))} minutes of training`);
  return parts.join(' or ');
}

/** The flags that set `target` again (for the "continue:" hint). */
export function targetFlags(target: RunTarget): string {
  const parts: string[] = [];
  if (target.steps !== undefined) parts.push(`--steps ${target.steps}`);
  if (target.epochs !== undefined) parts.push(`--epochs ${target.epochs}`);
  return parts.join(' ');
}

/**
 * The learning rates' multiplier for update number `step` (from 1): 1 until `lrDecayFrom`, then
 * falling linearly to 0 at the target's last step (`targetSteps`), so the last updates are tiny.
 */
export function lrScaleAt(step: number, lrDecayFrom: number | undefined, targetSteps: number): number {
  if (lrDecayFrom === undefined || step <= lrDecayFrom || !Number.isFinite(targetSteps)) return 1;
  return Math.max(0, (targetSteps - step + 1) / (targetSteps - lrDecayFrom));
}
