import { describe, expect, it } from 'vitest';
import { DEFAULT_TARGET, resolveTarget, targetSteps } from './target';

const fresh = { seconds: 0, step: 0, stepsPerEpoch: 100 };

describe('the target a train invocation trains to', () => {
  it('a new run takes its flags, or 50 epochs and says it defaulted', () => {
    expect(resolveTarget({ steps: 500, minutes: 3 }, undefined, false, fresh)).toEqual({ target: { steps: 500, minutes: 3 }, defaulted: false });
    expect(resolveTarget({}, undefined, false, fresh)).toEqual({ target: DEFAULT_TARGET, defaulted: true });
  });

  it('a resume without flags goes on to the saved target', () => {
    expect(resolveTarget({}, { steps: 36000, minutes: 75 }, true, { seconds: 4500, step: 32249, stepsPerEpoch: 937 }).target).toEqual({ steps: 36000, minutes: 75 });
  });

  it('--minutes on a run short of its step target: more time toward the same target (so its decay still ends there)', () => {
    const { target } = resolveTarget({ minutes: 15 }, { steps: 36000, minutes: 75 }, true, { seconds: 4500, step: 32249, stepsPerEpoch: 937 });
    expect(target).toEqual({ steps: 36000, minutes: 90 });
    expect(targetSteps(target, 937)).toBe(36000);
    // an epoch target the same way
    expect(resolveTarget({ minutes: 10 }, { epochs: 50 }, true, { seconds: 600, step: 1200, stepsPerEpoch: 100 }).target).toEqual({ epochs: 50, minutes: 20 });
  });

  it('--minutes on a run whose step target is reached: the time alone is the new target', () => {
    expect(resolveTarget({ minutes: 60 }, { steps: 36000, minutes: 75 }, true, { seconds: 3127, step: 36000, stepsPerEpoch: 937 }).target).toEqual({ minutes: 112.1167 });
  });

  it('--steps or --epochs with a resume set a new total and drop the saved time budget', () => {
    expect(resolveTarget({ steps: 72000 }, { steps: 36000, minutes: 75 }, true, { seconds: 4500, step: 36000, stepsPerEpoch: 937 }).target).toEqual({ steps: 72000 });
    expect(resolveTarget({ epochs: 80, minutes: 5 }, { steps: 36000, minutes: 75 }, true, { seconds: 600, step: 100, stepsPerEpoch: 937 }).target).toEqual({ epochs: 80, minutes: 15 });
  });
});
