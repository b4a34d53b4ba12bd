import type { Command } from 'commander';
import type { BackendName } from '../../backends/index';
import { UserError } from '../../errors';
import { int, nonEmpty, num } from '../options';
import { backendOption, plural, printJson, say, showPath, useBackend, withExamples } from '../shared';

/** `fashion-gan generate`: new designs from a run's generator, as a PNG grid or strip. */
export function register(program: Command): void {
  const cmd = program
    .command('generate')
    .description('draw new designs from a trained generator into a PNG grid (or an interpolation strip)')
    .option('--run <dir>', 'run folder (default: the shipped model in models/fashion)', nonEmpty)
    .option('--count <n>', 'how many images', int(1, 4096), 16)
    .option('--seed <n>', 'design i uses seed n+i, the same rule as the app', int(0, 0xffffffff), 0)
    .option('--out <file>', 'PNG file to write', 'generated.png')
    .option('--interpolate', 'a strip of --count images walking from design --seed to design --seed+1')
    .option('--class <name|index>', 'for a conditional model: the one category to design (default: every class in turn, one per column)')
    .option('--truncation <t>', 'redraw latent coordinates outside ±t (BigGAN\'s truncation trick): more typical designs, less variety; e.g. 0.7', num(0, 10, { exclusiveMin: true }))
    .option('--json', 'print {"files", "count", "seeds", "classes", "model"} as one JSON object')
    .addOption(backendOption())
    .action(async (o: { run?: string; count: number; seed: number; out: string; interpolate?: boolean; class?: string; truncation?: number; json?: boolean; backend: BackendName }) => {
      if (!o.out.toLowerCase().endsWith('.png')) throw new UserError(`--out ${o.out}: must be a .png file`);
      await useBackend(o.backend, true);
      const { generateToFile } = await import('../../generate');
      const r = await generateToFile({ run: o.run, count: o.count, seed: o.seed, out: o.out, interpolate: !!o.interpolate, class: o.class, truncation: o.truncation });
      const seeds = r.seeds.length > 1 ? `seeds ${r.seeds[0]}…${r.seeds.at(-1)}` : `seed ${r.seeds[0]}`;
      if (o.json) printJson({ files: [showPath(r.file)], count: r.count, seeds: r.seeds, classes: r.classes, model: showPath(r.runDir), interpolate: !!o.interpolate });
      say(`wrote ${plural(r.count, o.interpolate ? 'interpolated design' : 'design')} to ${showPath(r.file)} (model: ${showPath(r.runDir)}, ${seeds})`);
    });
  withExamples(
    cmd,
    [
      ['fashion-gan generate', '16 designs from the shipped model into generated.png'],
      ['fashion-gan generate --run runs/NAME --count 64 --seed 7 --out new.png', 'a run\'s generator; design i is seed 7+i'],
      ['fashion-gan generate --class sneaker --count 9', 'one category (conditional models)'],
      ['fashion-gan generate --interpolate --seed 5 --count 9 --out morph.png', 'a strip from design 5 to design 6'],
      ['fashion-gan generate --class shirt --truncation 0.7', 'more typical shirts, less variety'],
    ],
    [
      'A conditional model draws design i as class i mod 10 (as the app does), one class per column.',
      'Its --interpolate strip switches from design --seed\'s class (the first) to design --seed+1\'s',
      'halfway, as the app\'s morph does; --class C keeps one class throughout.',
    ].join('\n'),
  );
}
