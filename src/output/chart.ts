import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface HistoryRow {
  step: number;
  gen_loss: number;
  disc_loss: number;
  real_accuracy: number;
  fake_accuracy: number;
}

export interface MetricRow {
  step: number;
  [metric: string]: number;
}

/** Averages consecutive rows into at most `maxPoints` buckets so long runs plot quickly and legibly. */
export function downsample(rows: HistoryRow[], maxPoints = 1500): HistoryRow[] {
  if (rows.length <= maxPoints) return rows;
  const size = Math.ceil(rows.length / maxPoints);
  const out: HistoryRow[] = [];
  for (let i = 0; i < rows.length; i += size) {
    const chunk = rows.slice(i, i + size);
    const mean = (k: keyof HistoryRow) => chunk.reduce((s, r) => s + r[k], 0) / chunk.length;
    out.push({ step: chunk[chunk.length - 1]!.step, gen_loss: mean('gen_loss'), disc_loss: mean('disc_loss'), real_accuracy: mean('real_accuracy'), fake_accuracy: mean('fake_accuracy') });
  }
  return out;
}

/** Centred moving average of `values` over `window` points (shorter at the ends), as the app draws it. */
export function movingAverage(values: number[], window: number): number[] {
  const half = Math.floor(window / 2);
  const out: number[] = [];
  let sum = 0;
  let from = 0;
  let to = -1;
  for (let i = 0; i < values.length; i++) {
    const lo = Math.max(0, i - half);
    const hi = Math.min(values.length - 1, i + half);
    while (to < hi) sum += values[++to]!;
    while (from < lo) sum -= values[from++]!;
    out.push(sum / (to - from + 1));
  }
  return out;
}

/** Points a history needs before its raw per-batch line is drawn faint under a moving average (the app's rule). */
export const SMOOTH_AFTER = 40;

/**
 * The seed's training-history figure as a vega-lite spec: losses over iterations on top,
 * D's real/fake accuracy below (with the 0.5 line the rubric asks fake accuracy to approach),
 * and, when the run was evaluated as it trained, the Fréchet distance at the bottom. Past
 * SMOOTH_AFTER points, per-batch values are drawn faint with a moving average on top (window:
 * a thirtieth of the points, at least 3), as the app's charts do.
 */
export function historySpec(history: HistoryRow[], metrics: MetricRow[] = [], title = 'training history'): TopLevelSpec {
  const rows = downsample(history);
  const smooth = rows.length > SMOOTH_AFTER;
  const window = Math.max(3, Math.round(rows.length / 30));
  const long = (keys: (keyof HistoryRow)[]) => rows.flatMap((r) => keys.map((k) => ({ step: r.step, series: k, value: r[k] })));
  const averaged = (keys: (keyof HistoryRow)[]) =>
    keys.flatMap((k) => {
      const mean = movingAverage(rows.map((r) => r[k]), window);
      return rows.map((r, i) => ({ step: r.step, series: k, value: mean[i]! }));
    });
  /** The lines of a panel: raw values, or raw values faint under their moving average. */
  const lines = (keys: (keyof HistoryRow)[], y: object, colors: string[]) => {
    const encoding = () => ({
      x: { field: 'step', type: 'quantitative', title: 'iteration (batch)' },
      y,
      color: { field: 'series', type: 'nominal', title: null, scale: { range: colors }, legend: { symbolOpacity: 1, symbolStrokeWidth: 2 } },
    });
    if (!smooth) return [{ data: { values: long(keys) }, mark: { type: 'line', strokeWidth: 1.2 }, encoding: encoding() }];
    return [
      { data: { values: long(keys) }, mark: { type: 'line', strokeWidth: 0.8, opacity: 0.25 }, encoding: encoding() },
      { data: { values: averaged(keys) }, mark: { type: 'line', strokeWidth: 1.6 }, encoding: encoding() },
    ];
  };
  const width = 720;
  const stepsPerPoint = Math.ceil(history.length / Math.max(1, rows.length));
  const note = smooth ? ` (faint: per batch; bold: moving average over ${(window * stepsPerPoint).toLocaleString('en-US')} steps)` : '';
  const panels: object[] = [
    {
      title: `losses${note}`,
      width,
      height: 200,
      layer: lines(['gen_loss', 'disc_loss'], { field: 'value', type: 'quantitative', title: 'loss' }, ['#e45756', '#4c78a8']),
    },
    {
      title: 'discriminator accuracy (fake → 0.5 as G improves)',
      width,
      height: 160,
      layer: [
        ...lines(['real_accuracy', 'fake_accuracy'], { field: 'value', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } }, ['#f58518', '#54a24b']),
        { data: { values: [{ y: 0.5 }] }, mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      ],
    },
  ];
  const fd = metrics.filter((m) => Number.isFinite(m.fd));
  if (fd.length > 0) {
    panels.push({
      title: 'Fréchet distance to the test set (lower is better)',
      width,
      height: 140,
      data: { values: fd.map((m) => ({ step: m.step, fd: m.fd })) },
      mark: { type: 'line', point: true, color: '#b279a2' },
      encoding: { x: { field: 'step', type: 'quantitative', title: 'iteration (batch)' }, y: { field: 'fd', type: 'quantitative', title: 'FD' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    background: 'white',
    vconcat: panels,
    resolve: { scale: { color: 'independent' } },
    config: { font: 'DejaVu Sans', view: { stroke: '#ddd' } },
  } as TopLevelSpec;
}

/** Renders a vega-lite spec to SVG text (no browser, no network). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises SVG text to PNG bytes with resvg, using the system's fonts. */
export function svgToPng(svg: string, scale = 1.5): Buffer {
  const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' });
  return resvg.render().asPng();
}

/** history.png: the seed's two panels (and FD when present), as PNG bytes. */
export async function renderHistoryPng(history: HistoryRow[], metrics: MetricRow[] = [], title?: string): Promise<Buffer> {
  return svgToPng(await renderSvg(historySpec(history, metrics, title)));
}
