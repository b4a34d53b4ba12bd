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

/**
 * The seed's training-history figure as a vega-lite spec: losses over iterations on top,
 * D's real/fake accuracy below (with the 0.5 line the rubric asks fake accuracy to approach),
 * and, when the run was evaluated as it trained, the Fréchet distance at the bottom.
 */
export function historySpec(history: HistoryRow[], metrics: MetricRow[] = [], title = 'training history'): TopLevelSpec {
  const rows = downsample(history);
  const long = (keys: (keyof HistoryRow)[]) => rows.flatMap((r) => keys.map((k) => ({ step: r.step, series: k, value: r[k] })));
  const width = 720;
  const panels: object[] = [
    {
      title: 'losses',
      width,
      height: 200,
      data: { values: long(['gen_loss', 'disc_loss']) },
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'iteration (batch)' },
        y: { field: 'value', type: 'quantitative', title: 'loss' },
        color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#e45756', '#4c78a8'] } },
      },
    },
    {
      title: "discriminator accuracy (fake → 0.5 as G improves)",
      width,
      height: 160,
      layer: [
        {
          data: { values: long(['real_accuracy', 'fake_accuracy']) },
          mark: { type: 'line', strokeWidth: 1.2 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'iteration (batch)' },
            y: { field: 'value', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } },
            color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#f58518', '#54a24b'] } },
          },
        },
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
