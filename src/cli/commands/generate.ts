import type { Command } from 'commander';
import type { BackendName } from '../../backends/index';
import { UserError } from '../../errors';
import { int, nonEmpty, num } from '../options';
import { backendOption, plural, printJson, say, showPath, useBackend, withExamples } from '../shared';

const MAX_GRID = 4096;
const MAX_DESIGNS = 50000;

/** `fashion-gan generate`: new designs from a run's generator, as a PNG grid or strip. */
export function register(program: Command): void {
  const cmd = program
    .command('generate')
    .description('draw new designs from a trained generator into a PNG grid (or an interpolation strip)')
    .option('--run <dir>', 'run folder (default: the shipped model in models/fashion)', nonEmpty)
    .option('--count <n>', 'how many images (a PNG grid holds up to 4096)', int(1, MAX_DESIGNS), 16)
    .option('--seed <n>', 'design i uses seed n+i, the same rule as the app', int(0, 0xffffffff), 0)
    .option('--out <file>', 'PNG grid to write, or a .npy file: the designs as a NumPy uint8 array (labels beside it as NAME-labels.npy)', 'generated.png')
    .option('--interpolate', 'a strip of --count images walking from design --seed to design --seed+1')
    .option('--class <name|index>', 'for a conditional model: the one category to design (default: every class in turn, one per column)')
    .option('--truncation <t>', 'redraw latent coordinates outside ±t (BigGAN\'s truncation trick): more typical designs, less variety; e.g. 2 (below 1.5 each class converges on one typical item)', num(0, 10, { exclusiveMin: true }))
    .option('--json', 'print {"files", "count", "seeds", "classes", "model"} as one JSON object')
    .addOption(backendOption())
    .action(async (o: { run?: string; count: number; seed: number; out: string; interpolate?: boolean; class?: string; truncation?: number; json?: boolean; backend: BackendName }) => {
      if (!/\.(png|npy)$/i.test(o.out)) throw new UserError(`--out ${o.out}: must be a .png file (a grid) or a .npy file (the designs as an array)`);
      if (o.count > MAX_GRID && !/\.npy$/i.test(o.out)) throw new UserError(`--count ${o.count}: a PNG grid holds at most ${MAX_GRID} designs (a .npy file up to ${MAX_DESIGNS})`);
      await useBackend(o.backend, true);
      const { generateToFile } = await import('../../generate');
      const r = await generateToFile({ run: o.run, count: o.count, seed: o.seed, out: o.out, interpolate: !!o.interpolate, class: o.class, truncation: o.truncation });
      const seeds = r.seeds.length > 1 ? `seeds ${r.seeds[0]}…${r.seeds.at(-1)}` : `seed ${r.seeds[0]}`;
      const files = [r.file, ...(r.labelsFile ? [r.labelsFile] : [])].map(showPath);
      if (o.json) printJson({ files, count: r.count, seeds: r.seeds, classes: r.classes, model: showPath(r.runDir), interpolate: !!o.interpolate });
      say(`wrote ${plural(r.count, o.interpolate ? 'interpolated design' : 'design')} to ${files.join(' and ')} (model: ${showPath(r.runDir)}, ${seeds})`);
    });
  withExamples(
    cmd,
    [
      ['fashion-gan generate', '16 designs from the shipped model into generated.png'],
      ['fashion-gan generate --run runs/NAME --count 64 --seed 7 --out new.png', 'a run\'s generator; design i is seed 7+i'],
      ['fashion-gan generate --class sneaker --count 9', 'one category (conditional models)'],
      ['fashion-gan generate --interpolate --seed 5 --count 9 --out morph.png', 'a strip from design 5 to design 6'],
      ['fashion-gan generate --class shirt --truncation 2', 'more typical shirts, less variety'],
      ['fashion-gan generate --count 10000 --out designs.npy', 'the designs as arrays for other tools (numpy.load), labels in designs-labels.npy'],
    ],
    [
      'A conditional model draws design i as class i mod 10 (as the app does), one class per column.',
      'Its --interpolate strip switches from design --seed\'s class (the first) to design --seed+1\'s',
      'halfway, as the app\'s morph does; --class C keeps one class throughout.',
    ].join('\n'),
  );
}
