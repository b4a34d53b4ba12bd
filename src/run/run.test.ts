import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/fixtures';
import { NO_CONFIG, parseAppConfig } from './config';
import { objectRows, parseJsonl } from './jsonl';
import { liveLockOwner } from './lock';
import { parseSampleName, runPaths, sampleFileName } from './paths';
import { listSamples } from './samples';

const tmp = tempDir('fashion-gan-run-');
afterAll(() => tmp.cleanup());

describe('the run-folder contract', () => {
  it('names sample grids so they sort by epoch, then step', () => {
    expect(sampleFileName(3, 60)).toBe('e0003-s00000060.png');
    expect(parseSampleName('e0003-s00000060.png')).toEqual({ epoch: 3, step: 60 });
    expect(parseSampleName('evil.png')).toBeNull();
    expect(parseSampleName('.e0001-s00000001.png.tmp-12')).toBeNull();
  });

  it('lists the contract sample grids in training order, and a missing folder as empty', () => {
    const p = runPaths(path.join(tmp.dir, 'a'));
    expect(listSamples(p.samples)).toEqual([]);
    fs.mkdirSync(p.samples, { recursive: true });
    for (const f of [sampleFileName(2, 40), sampleFileName(1, 20), 'notes.png', sampleFileName(10, 200), `.${sampleFileName(11, 220)}.tmp-5`]) fs.writeFileSync(path.join(p.samples, f), '');
    expect(listSamples(p.samples).map((s) => [s.epoch, s.step])).toEqual([
      [1, 20],
      [2, 40],
      [10, 200],
    ]);
  });

  it('reads config.json leniently for the app, saying why when it cannot', () => {
    expect(parseAppConfig(null)).toMatchObject({ config: null, error: NO_CONFIG });
    expect(parseAppConfig('{').error).toMatch(/^config\.json is not valid JSON/);
    expect(parseAppConfig('{"dataset": "mnist", "latentDim": 2, "imageShape": [28, 28, 1]}').error).toMatch(/^config\.json: dataset:/);
    const ok = parseAppConfig('{"dataset": "cifar10", "latentDim": 128, "imageShape": [32, 32, 3], "futureField": 1}');
    expect(ok.error).toBeNull();
    expect(ok.config).toMatchObject({ dataset: 'cifar10', latentDim: 128, futureField: 1 });
  });

  it('skips torn jsonl lines and keeps only objects where asked', () => {
    expect(parseJsonl('{"step":1}\n\n[2]\n{"step":3}\n{"ste')).toEqual([{ step: 1 }, [2], { step: 3 }]);
    expect(objectRows(parseJsonl('{"step":1}\n[2]\n3\nnull\n'))).toEqual([{ step: 1 }]);
  });

  it('knows a live lock from a stale one', () => {
    expect(liveLockOwner(`${process.pid}\n`)).toBe(process.pid);
    expect(liveLockOwner('0\n')).toBeNull();
    expect(liveLockOwner('garbage')).toBeNull();
    expect(liveLockOwner('2147483646\n')).toBeNull();
  });
});
