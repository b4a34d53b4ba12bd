import type { Command } from 'commander';
import { buildDiscriminator, buildGenerator, countParams, summaryTable } from '../../models/builder';
import { PRESETS, getPreset } from '../../models/presets';
import { DEFAULT_PRESET, print, printJson, useBackend, withExamples } from '../shared';

/** `fashion-gan summary`: a preset's generator and discriminator as Keras-style layer tables. */
export function register(program: Command): void {
  const cmd = program
    .command('summary')
    .description('print a preset\'s generator and discriminator, layer by layer (Keras style)')
    .option('--preset <name>', `one of: ${[...PRESETS.keys()].join(', ')}`, DEFAULT_PRESET)
    .option('--json', 'print {"preset", "generator": {"params"}, "discriminator": {"params"}}')
    .action(async (o: { preset: string; json?: boolean }) => {
      const preset = getPreset(o.preset);
      await useBackend('cpu', true);
      const g = buildGenerator(preset.model, 1);
      const d = buildDiscriminator(preset.model, 2);
      try {
        if (o.json) return printJson({ preset: preset.name, generator: { params: countParams(g) }, discriminator: { params: countParams(d) } });
        print(`${preset.name}: ${preset.description}\n`);
        print(summaryTable(g));
        print('');
        print(summaryTable(d));
      } finally {
        g.dispose();
        d.dispose();
      }
    });
  withExamples(cmd, [
    ['fashion-gan summary', `the default preset (${DEFAULT_PRESET}), as train uses`],
    ['fashion-gan summary --preset fmnist-lms', 'the seed\'s Fashion-MNIST model'],
    ['fashion-gan summary --preset cifar-lms --json', 'parameter counts only'],
  ]);
}
