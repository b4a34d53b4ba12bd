import { describe, expect, it } from 'vitest';
import { fdCurvesSpec } from '../report/compare';
import { historySpec, movingAverage, renderSvg, type HistoryRow } from './chart';

const rows = (n: number): HistoryRow[] =>
  Array.from({ length: n }, (_, i) => ({ step: i + 1, gen_loss: i % 2 ? 2 : 0, disc_loss: 1, real_accuracy: 0.75, fake_accuracy: i % 2 ? 1 : 0 }));

/** The text of an SVG's <text> elements. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe('history.png', () => {
  it('the moving average is centred and shorter at the ends', () => {
    expect(movingAverage([1, 2, 3, 4, 5], 3)).toEqual([1.5, 2, 3, 4, 4.5]);
    expect(movingAverage([0, 2, 0, 2], 1)).toEqual([0, 2, 0, 2]);
  });

  it('draws per-batch values faint under their moving average once there are more than 40', () => {
    const spec = historySpec(rows(300)) as unknown as { vconcat: { title: string; layer: { mark: { opacity?: number }; data: { values: { series: string; value: number }[] } }[] }[] };
    const losses = spec.vconcat[0]!;
    expect(losses.title).toBe('losses (faint: per batch; bold: moving average over 10 steps)');
    expect(losses.layer.map((l) => l.mark.opacity)).toEqual([0.25, undefined]);
    const smoothed = losses.layer[1]!.data.values.filter((v) => v.series === 'gen_loss').map((v) => v.value);
    // Raw G loss alternates 0, 2; its 10-point average sits at 1 away from the ends.
    expect(smoothed.slice(10, -10).every((v) => Math.abs(v - 1) <= 0.1)).toBe(true);
    expect(spec.vconcat[1]!.layer[0]!.mark.opacity).toBe(0.25);
  });

  it('draws a short history as plain lines', () => {
    const spec = historySpec(rows(40)) as unknown as { vconcat: { title: string; layer: { mark: { opacity?: number } }[] }[] };
    expect(spec.vconcat[0]!.title).toBe('losses');
    expect(spec.vconcat[0]!.layer).toHaveLength(1);
    expect(spec.vconcat[0]!.layer[0]!.mark.opacity).toBeUndefined();
  });
});

describe("compare's fd-curves.png", () => {
  it('labels its axes with plain numbers, also for one measurement per run', async () => {
    for (const curves of [
      [{ run: 'a', imagesSeen: 320, minutes: 0.07455, fd: 200.5 }, { run: 'b', imagesSeen: 320, minutes: 0.07455, fd: 250 }],
      [{ run: 'a', imagesSeen: 0, minutes: 0, fd: 300 }, { run: 'a', imagesSeen: 64_000, minutes: 12.5, fd: 20 }, { run: 'b', imagesSeen: 32_000, minutes: 6, fd: 40 }],
    ]) {
      const labels = texts(await renderSvg(fdCurvesSpec(curves))).filter((t) => /^-?\d/.test(t));
      expect(labels.length).toBeGreaterThan(12);
      // e.g. 0, 50, 20,000, 0.05 — never 320.000000, 0.074550, 1e+2 or 0k
      for (const t of labels) expect(t, labels.join(' ')).toMatch(/^\d{1,3}(,\d{3})*(\.\d{1,2})?$/);
    }
  });
});
