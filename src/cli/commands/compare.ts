import * as path from 'node:path';
import type { Command } from 'commander';
import { nonEmpty } from '../options';
import { print, printJson, say, showPath, withExamples } from '../shared';

/** `fashion-gan compare`: a side-by-side Markdown report of runs. */
export function register(program: Command): void {
  const cmd = program
    .command('compare')
    .description('write a side-by-side report of runs (Markdown with PNGs): grids, history, stability, FD at equal images and equal time')
    .argument('<runs...>', 'two or more run folders')
    .option('--out <dir>', 'report folder (default: runs/compare-A-vs-B)', nonEmpty)
    .option('--json', 'print the comparison (per run: steps, images, minutes, stability, FDs) as one JSON object')
    .action(async (dirs: string[], o: { out?: string; json?: boolean }) => {
      const { compareRuns } = await import('../../report/compare');
      const out = o.out ?? path.join('runs', `compare-${dirs.map((d) => path.basename(path.resolve(d))).join('-vs-')}`.slice(0, 120));
      const r = await compareRuns(dirs, out);
      if (o.json) {
        printJson({ report: showPath(r.file), ...(r.curves ? { curves: showPath(r.curves) } : {}), equalImages: r.equalImages ?? null, equalMinutes: r.equalMinutes ?? null, note: r.note, runs: r.compared.map((c) => ({ ...c, dir: showPath(c.dir) })) });
      } else {
        print(r.markdown.split('\n').filter((l) => l.startsWith('|') && !l.includes('![')).slice(0, 2 + r.runs.length).join('\n'));
        say(r.note);
      }
      say(`report: ${showPath(r.file)}`);
    });
  withExamples(
    cmd,
    [
      ['fashion-gan compare runs/A runs/B', 'report into runs/compare-A-vs-B/compare.md'],
      ['fashion-gan compare runs/A runs/B runs/C --out docs/results/abc', 'three runs, elsewhere'],
      ['fashion-gan compare runs/A runs/B --json', 'the numbers as JSON'],
    ],
    'FD comes from metrics.jsonl (train --eval-every N) or evaluation.json (evaluate --run DIR).',
  );
}
