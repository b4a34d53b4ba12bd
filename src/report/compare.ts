import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { UserError } from '../errors';
import { renderSvg, svgToPng, type HistoryRow } from '../output/chart';
import { imagesSeenAt, readRunConfig, type RunConfig } from '../run/config';
import { readJsonl } from '../run/jsonl';
import { runPaths } from '../run/paths';
import { listSamples } from '../run/samples';
import { writeFileAtomic } from '../util/atomic';

interface HistoryLine extends HistoryRow {
  epoch: number;
  seconds: number;
}

export interface MetricsLine {
  step: number;
  seconds?: number;
  fd?: number;
  kid?: number;
  [k: string]: number | undefined;
}

/** Numbers that describe how steadily a run trained (from history.jsonl alone). */
export interface Stability {
  /** Standard deviation of G's loss over the second half of the run. */
  genLossStd: number;
  /** Share of steps in the second half where D calls (nearly) every fake fake or real: ≥ 0.95 or ≤ 0.05. */
  fakeAccuracyExtremeShare: number;
  /** Mean |fake accuracy − 0.5| over the second half (0 = D cannot tell, the rubric's goal). */
  fakeAccuracyGap: number;
}

export interface RunSummary {
  name: string;
  dir: string;
  config: RunConfig;
  steps: number;
  imagesSeen: number;
  seconds: number;
  stability: Stability;
  metrics: (MetricsLine & { imagesSeen: number })[];
  finalFd?: number;
  bestFd?: number;
  /** why evaluation.json was not used, when it was not */
  evaluationNote?: string;
}

export function stability(history: HistoryLine[]): Stability {
  const half = history.slice(Math.floor(history.length / 2));
  if (half.length === 0) return { genLossStd: NaN, fakeAccuracyExtremeShare: NaN, fakeAccuracyGap: NaN };
  const mean = half.reduce((s, h) => s + h.gen_loss, 0) / half.length;
  const std = Math.sqrt(half.reduce((s, h) => s + (h.gen_loss - mean) ** 2, 0) / half.length);
  return {
    genLossStd: std,
    fakeAccuracyExtremeShare: half.filter((h) => h.fake_accuracy >= 0.95 || h.fake_accuracy <= 0.05).length / half.length,
    fakeAccuracyGap: half.reduce((s, h) => s + Math.abs(h.fake_accuracy - 0.5), 0) / half.length,
  };
}

export function summariseRun(dir: string): RunSummary {
  const p = runPaths(dir);
  if (!fs.existsSync(dir)) throw new UserError(`${dir}: no such run folder`);
  const config = readRunConfig(p.config);
  const history = readJsonl<HistoryLine>(p.history);
  const last = history[history.length - 1];
  const metrics = readJsonl<MetricsLine>(p.metrics)
    .filter((m) => Number.isFinite(m.step))
    .map((m) => ({ ...m, imagesSeen: imagesSeenAt(config, m.step) }));
  const fds = metrics.map((m) => m.fd).filter((v): v is number => Number.isFinite(v));
  // `evaluate --run` writes evaluation.json: the better-sampled FD of the generator it measured.
  // It counts as the run's final FD only when it measured the generator the run holds now.
  const generatorStep = exportedStep(p.generator) ?? last?.step;
  let evaluationNote: string | undefined;
  const evaluationFile = p.evaluation;
  if (fs.existsSync(evaluationFile)) {
    try {
      const e = JSON.parse(fs.readFileSync(evaluationFile, 'utf8')) as { fd?: number; kid?: number; step?: number };
      if (Number.isFinite(e.fd)) {
        if (!Number.isInteger(e.step)) {
          evaluationNote = 'evaluation.json does not say which step it measured (written by an older version): left out; rerun `fashion-gan evaluate --run`';
        } else if (e.step !== generatorStep) {
          evaluationNote = `evaluation.json measured step ${e.step!.toLocaleString('en-US')}; the run is now at step ${(generatorStep ?? 0).toLocaleString('en-US')}: left out; rerun \`fashion-gan evaluate --run\``;
        } else {
          fds.push(e.fd!);
          const at = history.find((h) => h.step === e.step);
          if (!metrics.some((m) => m.step === e.step)) metrics.push({ step: e.step!, seconds: at?.seconds, fd: e.fd, kid: e.kid, imagesSeen: imagesSeenAt(config, e.step!) });
        }
      }
    } catch {
      // an unreadable evaluation is left out, not fatal
    }
  }
  return {
    name: path.basename(path.resolve(dir)),
    dir,
    config,
    steps: last?.step ?? 0,
    imagesSeen: last ? imagesSeenAt(config, last.step) : 0,
    seconds: last?.seconds ?? 0,
    stability: stability(history),
    metrics,
    finalFd: fds[fds.length - 1],
    bestFd: fds.length ? Math.min(...fds) : undefined,
    evaluationNote,
  };
}

/** The step an exported generator records in its model.json (see training/artifacts.ts), if any. */
function exportedStep(generatorDir: string): number | undefined {
  try {
    const json = JSON.parse(fs.readFileSync(path.join(generatorDir, 'model.json'), 'utf8')) as { userDefinedMetadata?: { fashionGan?: { step?: unknown } } };
    const step = json.userDefinedMetadata?.fashionGan?.step;
    return Number.isInteger(step) ? (step as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The metric row at or just below `limit` of `key` (images seen or seconds), if any. Time gets
 * 1 % of slack: runs given the same --minutes stop a step apart.
 */
export function atOrBefore(rows: (MetricsLine & { imagesSeen: number })[], key: 'imagesSeen' | 'seconds', limit: number) {
  const slack = key === 'seconds' ? 1.01 : 1.0001;
  let best: (MetricsLine & { imagesSeen: number }) | undefined;
  for (const r of rows) {
    const v = r[key];
    if (v !== undefined && v <= limit * slack && (!best || v > (best[key] ?? -1))) best = r;
  }
  return best;
}

/** One run's row of the comparison (what `compare --json` prints). */
export interface ComparedRun {
  name: string;
  dir: string;
  preset: string;
  steps: number;
  imagesSeen: number;
  minutes: number;
  stability: Stability;
  finalFd?: number;
  bestFd?: number;
  fdAtEqualImages?: number;
  fdAtEqualTime?: number;
}

export interface ComparisonResult {
  markdown: string;
  /** compare.md */
  file: string;
  runs: RunSummary[];
  compared: ComparedRun[];
  /** the images seen and minutes every run reached (when every run has an FD) */
  equalImages?: number;
  equalMinutes?: number;
  /** fd-curves.png, when any run has an FD */
  curves?: string;
  /** what the FD columns mean here, or why they are empty */
  note: string;
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

/**
 * Writes a side-by-side report of runs into `outDir`: compare.md with each run's latest grid and
 * history figure, a table of size, time, stability and FD (final, and at the images seen and the
 * wall time that every run reached), and FD curves against images seen and wall time.
 */
export async function compareRuns(dirs: string[], outDir: string): Promise<ComparisonResult> {
  if (dirs.length < 2) throw new UserError('compare needs at least two run folders');
  const runs = dirs.map(summariseRun);
  const names = new Set<string>();
  for (const r of runs) {
    while (names.has(r.name)) r.name += '′';
    names.add(r.name);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const measured = runs.filter((r) => r.metrics.some((m) => Number.isFinite(m.fd)));
  const commonImages = Math.min(...runs.map((r) => Math.max(0, ...r.metrics.map((m) => m.imagesSeen))));
  const commonSeconds = Math.min(...runs.map((r) => Math.max(0, ...r.metrics.map((m) => m.seconds ?? 0))));
  const lines: string[] = [
    `# Comparison: ${runs.map((r) => r.name).join(' vs ')}`,
    '',
    `Written by \`fashion-gan compare ${dirs.join(' ')}\`. FD is the Fréchet distance to the test set in the project classifier's feature space (lower is better), from each run's metrics.jsonl (\`train --eval-every\`).`,
    '',
    '| run | preset | steps | images seen | train time | G-loss std (2nd half) | fake acc. extreme share | mean fake-acc gap from 0.5 | final FD | best FD | FD at equal images | FD at equal time |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const rows: ComparedRun[] = [];
  for (const r of runs) {
    const atImages = measured.length === runs.length ? atOrBefore(r.metrics, 'imagesSeen', commonImages) : undefined;
    const atTime = measured.length === runs.length ? atOrBefore(r.metrics, 'seconds', commonSeconds) : undefined;
    rows.push({
      name: r.name,
      dir: r.dir,
      preset: r.config.preset,
      steps: r.steps,
      imagesSeen: r.imagesSeen,
      minutes: r.seconds / 60,
      stability: r.stability,
      ...(r.finalFd !== undefined ? { finalFd: r.finalFd } : {}),
      ...(r.bestFd !== undefined ? { bestFd: r.bestFd } : {}),
      ...(atImages?.fd !== undefined ? { fdAtEqualImages: atImages.fd } : {}),
      ...(atTime?.fd !== undefined ? { fdAtEqualTime: atTime.fd } : {}),
    });
    lines.push(
      `| ${r.name} | ${r.config.preset} | ${r.steps} | ${r.imagesSeen.toLocaleString('en-US')} | ${(r.seconds / 60).toFixed(1)} min | ${fmt(r.stability.genLossStd, 3)} | ${fmt(r.stability.fakeAccuracyExtremeShare, 3)} | ${fmt(r.stability.fakeAccuracyGap, 3)} | ${fmt(r.finalFd)} | ${fmt(r.bestFd)} | ${fmt(atImages?.fd)} | ${fmt(atTime?.fd)} |`,
    );
  }
  const note = fdNote(runs, measured, commonImages, commonSeconds);
  lines.push('', note, '');
  for (const r of runs) if (r.evaluationNote) lines.push(`- ${r.name}: ${r.evaluationNote}.`);
  if (runs.some((r) => r.evaluationNote)) lines.push('');

  const curves = runs.flatMap((r) => r.metrics.filter((m) => Number.isFinite(m.fd)).map((m) => ({ run: r.name, imagesSeen: m.imagesSeen, minutes: (m.seconds ?? NaN) / 60, fd: m.fd })));
  if (curves.length) {
    const spec = fdCurvesSpec(curves);
    writeFileAtomic(path.join(outDir, 'fd-curves.png'), svgToPng(await renderSvg(spec)));
    lines.push('![FD curves](fd-curves.png)', '');
  }

  lines.push('| ' + runs.map((r) => r.name).join(' | ') + ' |', '|' + runs.map(() => '---').join('|') + '|');
  const gridCells: string[] = [];
  const historyCells: string[] = [];
  for (const r of runs) {
    const { samples: samplesDir, historyPng: hist } = runPaths(r.dir);
    const samples = listSamples(samplesDir);
    const grid = samples[samples.length - 1];
    if (grid) {
      fs.copyFileSync(path.join(samplesDir, grid.file), path.join(outDir, `${r.name}-grid.png`));
      gridCells.push(`![${r.name} samples](${r.name}-grid.png)`);
    } else gridCells.push('(no samples)');
    if (fs.existsSync(hist)) {
      fs.copyFileSync(hist, path.join(outDir, `${r.name}-history.png`));
      historyCells.push(`![${r.name} history](${r.name}-history.png)`);
    } else historyCells.push('(no history)');
  }
  lines.push(`| ${gridCells.join(' | ')} |`, `| ${historyCells.join(' | ')} |`, '');
  const markdown = lines.join('\n');
  const file = path.join(outDir, 'compare.md');
  writeFileAtomic(file, markdown);
  return {
    markdown,
    file,
    runs,
    compared: rows,
    ...(measured.length === runs.length ? { equalImages: commonImages, equalMinutes: commonSeconds / 60 } : {}),
    ...(curves.length ? { curves: path.join(outDir, 'fd-curves.png') } : {}),
    note,
  };
}

/** The sentence under the table: what "equal images" and "equal time" were, or why there are none. */
function fdNote(runs: RunSummary[], measured: RunSummary[], commonImages: number, commonSeconds: number): string {
  const how = 'metrics.jsonl from `train --eval-every N`, or evaluation.json of the current generator from `evaluate --run DIR`';
  if (measured.length === 0) return `No FD to compare: no run has one (${how}).`;
  if (measured.length < runs.length) {
    const missing = runs.filter((r) => !measured.includes(r)).map((r) => r.name);
    return `FD at equal images and equal time needs an FD in every run; ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} none (${how}).`;
  }
  return `Equal images: ${commonImages.toLocaleString('en-US')} images seen; equal time: ${(commonSeconds / 60).toFixed(1)} minutes of training (the most every run reached).`;
}

/**
 * FD against images seen and against training minutes, one line per run. Axes start at 0 and
 * carry plain numbers (20,000 images, 1.5 minutes), also when a run has a single measurement.
 */
export function fdCurvesSpec(curves: { run: string; imagesSeen: number; minutes: number; fd?: number }[]): TopLevelSpec {
  const panel = (field: 'imagesSeen' | 'minutes', title: string, axisTitle: string, format: string) => ({
    width: 360,
    height: 220,
    title,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field, type: 'quantitative', title: axisTitle, scale: { zero: true, nice: true }, axis: { format, tickMinStep: field === 'imagesSeen' ? 1 : undefined } },
      y: { field: 'fd', type: 'quantitative', title: 'FD', scale: { zero: true, nice: true }, axis: { format: ',~f' } },
      color: { field: 'run', type: 'nominal' },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    data: { values: curves },
    hconcat: [panel('imagesSeen', 'FD vs images seen', 'images seen', ',d'), panel('minutes', 'FD vs training time', 'minutes', ',~f')],
    config: { font: 'DejaVu Sans' },
  } as unknown as TopLevelSpec;
}
