import type { Command } from 'commander';
import { listRuns, type RunStatus } from '../../report/runs';
import { describeTarget } from '../../training/target';
import { print, printJson, say, showPath, withExamples } from '../shared';

/** The table `runs` prints: one line per run. */
function table(runs: RunStatus[]): string[] {
  const f = (x: number | undefined, d: number) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
  const rows = runs.map((r) => [
    r.name,
    r.preset ?? '?',
    r.step.toLocaleString('en-US'),
    f(r.epochs, r.epochs < 10 ? 2 : 1),
    f(r.genLoss, 3),
    f(r.discLoss, 3),
    r.fd === undefined ? '—' : `${f(r.fd, 2)}@${r.fdStep!.toLocaleString('en-US')}`,
    r.status === 'training' ? `training (pid ${r.pid})` : r.status === 'interrupted' && r.target ? `interrupted (target ${describeTarget(r.target)})` : r.status === 'damaged' ? `damaged: ${r.problem}` : r.status,
  ]);
  const head = ['run', 'preset', 'step', 'epoch', 'G loss', 'D loss', 'FD@step', 'status'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const right = new Set([2, 3, 4, 5, 6]);
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  return [fmt(head), ...rows.map(fmt)];
}

/** `fashion-gan runs`: the run folders, how far each trained, and whether it is training, finished or interrupted. */
export function register(program: Command): void {
  const cmd = program
    .command('runs')
    .description('list run folders: preset, step and epoch, latest losses and FD, and status (training, finished, interrupted)')
    .argument('[dir]', 'folder of run folders (or one run folder)', 'runs')
    .option('--json', 'print the runs as one JSON array')
    .action((dir: string, o: { json?: boolean }) => {
      const runs = listRuns(dir);
      if (o.json) return printJson(runs.map((r) => ({ ...r, dir: showPath(r.dir) })));
      if (runs.length === 0) return say(`${showPath(dir)}: no run folders (train writes runs/NAME)`);
      for (const line of table(runs)) print(line);
    });
  withExamples(
    cmd,
    [
      ['fashion-gan runs', 'every run under runs/'],
      ['fashion-gan runs models', 'the shipped models'],
      ['fashion-gan runs --json', 'as JSON, with checkpoint step, target and training seconds'],
    ],
    [
      'G/D loss: means over the last 100 steps. FD@step: the latest FD (train --eval-every, evaluate --run) and its step.',
      'Status: training (a live trainer holds the run), finished (its target is reached), interrupted',
      '(`train --resume DIR` continues it), stopped (made before runs saved their target).',
    ].join('\n'),
  );
}
