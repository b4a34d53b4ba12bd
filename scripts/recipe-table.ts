// Prints the recipe comparison table of docs/results/recipes from run folders: speed, FD at
// 15/30/45/60 minutes of training (metrics.jsonl, 1,000 samples; linear between the evaluations
// around each time), and the final evaluation
// (evaluation.json, written by `fashion-gan evaluate --run DIR --samples 2000`).
// Usage: npx tsx scripts/recipe-table.ts runs/recipes/base runs/recipes/ttur …
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRunConfig } from '../src/run/config';
import { readJsonl } from '../src/run/jsonl';
import { runPaths } from '../src/run/paths';

const f = (v: unknown, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—');
console.log('| run | recipe (flags beyond `--preset fashion`) | img/s | steps | epochs | FD 15 min | FD 30 min | FD 45 min | FD 60 min | final FD (2,000) | KID | recognisability | class fidelity | precision / recall | memorisation |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const dir of process.argv.slice(2)) {
  const p = runPaths(dir);
  const config = readRunConfig(p.config);
  const history = readJsonl<{ step: number; seconds: number }>(p.history);
  const metrics = readJsonl<{ step: number; seconds: number; fd: number }>(p.metrics);
  const last = history.at(-1);
  // FD at a training time: linear between the evaluations around it (they fall every N steps).
  const at = (min: number) => {
    const t = min * 60;
    const after = metrics.findIndex((m) => m.seconds >= t * 0.995);
    if (after < 0) return undefined;
    if (after === 0 || metrics[after]!.seconds <= t * 1.005) return metrics[after]!.fd;
    const a = metrics[after - 1]!;
    const b = metrics[after]!;
    return a.fd + ((b.fd - a.fd) * (t - a.seconds)) / (b.seconds - a.seconds);
  };
  const e = fs.existsSync(p.evaluation) ? (JSON.parse(fs.readFileSync(p.evaluation, 'utf8')) as Record<string, unknown>) : {};
  const flags = config.command.replace(/^.*?train /, '').replace(/--(preset fashion|minutes \d+|seed \d+|eval-every \d+|sample-every \d+|checkpoint-every \d+|out \S+)\s*/g, '').trim() || '(the preset)';
  const imagesPerSec = last ? (last.step * config.batchSize) / last.seconds : NaN;
  console.log(
    `| ${path.basename(dir)} | \`${flags}\` | ${f(imagesPerSec, 0)} | ${last?.step ?? 0} | ${f((last?.step ?? 0) / config.stepsPerEpoch, 1)} | ${f(at(15))} | ${f(at(30))} | ${f(at(45))} | ${f(at(60))} | ${f(e.fd)}${e.step !== undefined && e.step !== last?.step ? ` (step ${e.step})` : ''} | ${f(e.kid, 4)} | ${f(e.recognisability, 3)} | ${f(e.classFidelity, 3)} | ${f(e.precision)} / ${f(e.recall)} | ${f(e.memorisationRate, 3)} |`,
  );
}
