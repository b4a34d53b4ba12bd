import type { Command } from 'commander';
import { PRESETS } from '../../models/presets';
import { DEFAULT_PRESET, print, printJson, withExamples } from '../shared';

/** `fashion-gan presets`: the model presets. */
export function register(program: Command): void {
  const cmd = program
    .command('presets')
    .description('list the model presets (the seed\'s four notebooks and better recipes)')
    .option('--json', 'print the presets (model, optimisers, recipe) as one JSON array')
    .action((o: { json?: boolean }) => {
      const list = [...PRESETS.values()];
      if (o.json) return printJson(list);
      for (const p of list) print(`${p.name.padEnd(18)} ${p.dataset.padEnd(14)} ${p.description}`);
    });
  withExamples(
    cmd,
    [
      ['fashion-gan presets', 'one line each: name, data set, what it is'],
      ['fashion-gan presets --json', 'every preset in full'],
      ['fashion-gan summary --preset fmnist-lms', 'one preset layer by layer'],
    ],
    `train and summary use --preset ${DEFAULT_PRESET} when none is given.`,
  );
}
