import type { Command } from 'commander';
import { UserError } from '../../errors';
import { getPreset } from '../../models/presets';
import { int } from '../options';
import { print, printJson, say, withExamples } from '../shared';

/** `--backend a,b`: the backends to measure (at least one, each one bench knows). */
function backendList<T extends string>(value: string, allowed: readonly T[]): T[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UserError(`--backend ${value}: name at least one backend (allowed: ${allowed.join(', ')})`);
  for (const n of names) if (!(allowed as readonly string[]).includes(n)) throw new UserError(`--backend ${n}: unknown backend (allowed: ${allowed.join(', ')})`);
  return names as T[];
}

/** `fashion-gan bench`: train-step and generation speed per backend, beside PyTorch. */
export function register(program: Command): void {
  const cmd = program
    .command('bench')
    .description('time the full train step and the generation of 64 images on each backend (and PyTorch, when installed)')
    .option('--preset <name>', 'model preset', 'fmnist-lms')
    .option('--batch-size <n>', 'images per step', int(1, 65536), 256)
    .option('--steps <n>', 'timed steps per backend (after 2 warm-up steps); medians are reported', int(1, 1000), 5)
    .option('--rounds <n>', 'repeat PyTorch and every backend this many times, alternating, and report medians (ratios are taken within each round, so load that comes and goes hits both sides)', int(1, 100), 1)
    .option('--backend <list>', 'comma-separated backends to measure: native, native-builtin, native-openblas (native with that GEMM), wasm, cpu, tensorflow', 'native,wasm')
    .option('--no-torch', 'skip the PyTorch reference (bench/torch_step.py)')
    .option('--json', 'one JSON object per backend measured (medians over rounds)')
    .option('--profile', 'also time every kernel of the train step and print the slowest (with GFLOP/s for convolutions and matrix products); profiling adds a little time per kernel call')
    .action(async (o: { preset: string; batchSize: number; steps: number; rounds: number; backend: string; torch: boolean; json?: boolean; profile?: boolean }) => {
      const preset = getPreset(o.preset);
      const { BENCH_BACKENDS, benchRounds } = await import('../../bench/bench');
      const backends = backendList(o.backend, BENCH_BACKENDS);
      const { formatProfile } = await import('../../bench/profile');
      const line = (r: { backend: string; trainImagesPerSec: number; generate64Ms: number }, ratio?: number, prefix = '') =>
        `${prefix}${preset.name} batch ${o.batchSize} on ${r.backend.padEnd(7)} train ${r.trainImagesPerSec.toFixed(1).padStart(7)} img/s  generate 64 ${r.generate64Ms.toFixed(1).padStart(7)} ms${ratio !== undefined ? `  = ${ratio.toFixed(2)}× PyTorch` : ''}`;
      const prefix = (round: number) => (o.rounds > 1 ? `round ${round}: ` : '');
      const torchLine = (t: { torch: string; threads: number; trainImagesPerSec: number; generate64Ms: number }) =>
        `${preset.name} batch ${o.batchSize} on pytorch ${t.torch} (${t.threads} threads) train ${t.trainImagesPerSec.toFixed(1)} img/s  generate 64 ${t.generate64Ms.toFixed(1)} ms`;
      const r = await benchRounds({ preset, backends, batchSize: o.batchSize, steps: o.steps, rounds: o.rounds, torch: o.torch, profile: !!o.profile }, (e) => {
        if (e.type === 'backend-skipped') say(`${e.backend}: skipped (${e.reason})`);
        if (o.json) return;
        if (e.type === 'torch-skipped') say(`pytorch: skipped (${e.reason})`);
        if (e.type === 'backend') {
          print(line(e.result, e.ratio, prefix(e.round)));
          if (e.result.profile) print(formatProfile(e.result.profile, (1000 * e.result.batchSize) / e.result.trainImagesPerSec, e.result.batchSize));
        }
        if (e.type === 'torch') print(`${prefix(e.round)}${torchLine(e.result)}`);
      });
      for (const { ratios, roundsRun, ...summary } of r.backends) {
        if (o.json) printJson(summary);
        else if (o.rounds > 1) {
          const range = ratios.length ? ` (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})` : '';
          print(`median of ${roundsRun} rounds: ${line(summary, summary.ratioToPyTorch)}${range}`);
        }
      }
      if (r.torch) {
        const { torch, roundsRun, ...summary } = r.torch;
        if (o.json) printJson(summary);
        else if (o.rounds > 1) print(`median of ${roundsRun} rounds: ${torchLine(r.torch)}`);
      }
    });
  withExamples(
    cmd,
    [
      ['fashion-gan bench', 'fmnist-lms, batch 256, on native and wasm, beside PyTorch'],
      ['fashion-gan bench --preset fashion --batch-size 64 --backend native --no-torch', 'the default preset on one backend'],
      ['fashion-gan bench --rounds 3 --json', 'medians of 3 alternating rounds, as JSON'],
      ['fashion-gan bench --backend native --profile', 'where the time goes, kernel by kernel'],
    ],
    [
      'Speed is measured here, never in tests: the machine is shared and noisy. Quote medians and ratios from one run; on a busy machine use --rounds.',
      'Threads: FASHION_NATIVE_THREADS (native; default all cores) and FASHION_WASM_THREADS (wasm; default all cores, at most 4; 1 = no worker threads).',
    ].join('\n'),
  );
}
