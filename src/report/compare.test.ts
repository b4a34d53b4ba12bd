import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { initBackend } from '../backends/index';
import { applyOverrides } from '../models/overrides';
import { getPreset } from '../models/presets';
import { train } from '../training/loop';
import { compareRuns, summariseRun } from './compare';

const tmp = tempDir();
const dataDir = path.join(tmp.dir, 'data');
const runA = path.join(tmp.dir, 'a');
const runB = path.join(tmp.dir, 'b');

beforeAll(async () => {
  const backend = (await initBackend('cpu')).name;
  writeTinyFashion(dataDir, 24, 12);
  const preset = applyOverrides(getPreset('fmnist-lms'), { filtersScale: 0.0625, batchSize: 8 });
  for (const [out, steps] of [[runA, 4], [runB, 6]] as const) {
    await train({ preset, out, steps, seed: 2, dataDir, sampleEvery: 100, checkpointEvery: 1000, backend, command: 'test' });
  }
}, 120_000);
afterAll(tmp.cleanup);

const evaluation = (dir: string, e: object) => fs.writeFileSync(path.join(dir, 'evaluation.json'), JSON.stringify(e));

describe('compare and evaluation.json', () => {
  it('the exported generator records the step it was saved at', () => {
    const json = JSON.parse(fs.readFileSync(path.join(runB, 'generator', 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata.fashionGan).toEqual({ step: 6, epoch: 2, imagesSeen: 48 });
  });

  it('uses an evaluation of the current generator as the final FD', () => {
    evaluation(runA, { fd: 12.5, kid: 0.1, step: 4 });
    const s = summariseRun(runA);
    expect(s.finalFd).toBe(12.5);
    expect(s.evaluationNote).toBeUndefined();
    expect(s.metrics.at(-1)).toMatchObject({ step: 4, fd: 12.5, imagesSeen: 32 });
  });

  it('never shows a stale evaluation as the run\'s current state, and says why', async () => {
    evaluation(runB, { fd: 3.25, step: 3 });
    const stale = summariseRun(runB);
    expect(stale.finalFd).toBeUndefined();
    expect(stale.evaluationNote).toMatch(/measured step 3; the run is now at step 6: left out/);
    evaluation(runB, { fd: 3.25 }); // no step: an older evaluate
    expect(summariseRun(runB).evaluationNote).toMatch(/does not say which step it measured/);
    const r = await compareRuns([runA, runB], path.join(tmp.dir, 'report'));
    expect(r.markdown).toContain('| 12.50 |');
    expect(r.markdown).not.toContain('3.25');
    expect(r.markdown).toMatch(/- b: evaluation\.json does not say which step/);
  });
});
