// Line charts in plain SVG: axes with nice ticks, a legend, reference lines and a hover read-out.

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** Round tick values covering [lo, hi]. */
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.5; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Averages points into at most `max` buckets (per-batch losses are noisy; the trend is what matters). */
export function bucket(points, max) {
  if (points.length <= max) return points;
  const size = points.length / max;
  const out = [];
  for (let b = 0; b < max; b++) {
    const from = Math.floor(b * size);
    const to = Math.max(from + 1, Math.floor((b + 1) * size));
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let i = from; i < to && i < points.length; i++) {
      sy += points[i][1];
      sx = points[i][0];
      n++;
    }
    if (n) out.push([sx, sy / n]);
  }
  return out;
}

/** Centred moving average over `win` points (shorter at the ends). */
export function movingAverage(points, win) {
  const half = Math.floor(win / 2);
  const out = [];
  let sum = 0;
  let from = 0;
  let to = -1;
  for (let i = 0; i < points.length; i++) {
    const lo = Math.max(0, i - half);
    const hi = Math.min(points.length - 1, i + half);
    while (to < hi) sum += points[++to][1];
    while (from < lo) sum -= points[from++][1];
    out.push([points[i][0], sum / (to - from + 1)]);
  }
  return out;
}

const fmtTick = (v) => {
  const a = Math.abs(v);
  if (a >= 10000) return `${Math.round(v / 1000)}k`;
  if (a >= 1000) return `${(v / 1000).toFixed(1)}k`;
  return String(Number(v.toPrecision(3)));
};

/**
 * Draws a chart into `host` (replacing its content).
 * @param {{ series: { name: string, color: string, points: [number, number][] }[], height?: number,
 *           xLabel?: string, yMin?: number, yMax?: number, refLines?: { y: number, label: string }[], maxPoints?: number }} spec
 */
export function lineChart(host, spec) {
  const width = Math.max(280, Math.floor(host.clientWidth || 560));
  const height = spec.height ?? 220;
  const m = { l: 46, r: 14, t: 12, b: 30 };
  const series = spec.series
    .filter((s) => s.points.length)
    .map((s) => ({ ...s, points: bucket(s.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])), spec.maxPoints ?? Math.min(600, width)) }));
  host.replaceChildren();
  const legend = document.createElement('div');
  legend.className = 'legend';
  for (const s of spec.series) {
    const item = document.createElement('span');
    item.innerHTML = `<i style="background:${s.color}"></i>`;
    item.append(s.name);
    legend.append(item);
  }
  host.append(legend);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'chart', role: 'img' });
  host.append(root);
  const all = series.flatMap((s) => s.points);
  if (!all.length) {
    root.append(svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'chart-empty' }, 'no data yet'));
    return;
  }
  let x0 = Math.min(...all.map((p) => p[0]));
  let x1 = Math.max(...all.map((p) => p[0]));
  if (x0 === x1) x1 = x0 + 1;
  let y0 = spec.yMin ?? Math.min(...all.map((p) => p[1]), ...(spec.refLines ?? []).map((r) => r.y));
  let y1 = spec.yMax ?? Math.max(...all.map((p) => p[1]), ...(spec.refLines ?? []).map((r) => r.y));
  const yt = niceTicks(y0, y1, 4);
  if (spec.yMin === undefined) y0 = Math.min(y0, yt[0]);
  if (spec.yMax === undefined) y1 = Math.max(y1, yt[yt.length - 1]);
  if (y0 === y1) y1 = y0 + 1;
  const X = (v) => m.l + ((v - x0) / (x1 - x0)) * (width - m.l - m.r);
  const Y = (v) => height - m.b - ((v - y0) / (y1 - y0)) * (height - m.t - m.b);

  const grid = svg('g', { class: 'grid' });
  for (const t of yt) {
    if (t < y0 - 1e-9 || t > y1 + 1e-9) continue;
    grid.append(svg('line', { x1: m.l, x2: width - m.r, y1: Y(t), y2: Y(t) }));
    grid.append(svg('text', { x: m.l - 6, y: Y(t) + 4, 'text-anchor': 'end' }, fmtTick(t)));
  }
  for (const t of niceTicks(x0, x1, Math.max(2, Math.floor(width / 110)))) {
    if (t < x0 || t > x1) continue;
    grid.append(svg('line', { x1: X(t), x2: X(t), y1: m.t, y2: height - m.b, class: 'v' }));
    grid.append(svg('text', { x: X(t), y: height - m.b + 16, 'text-anchor': 'middle' }, fmtTick(t)));
  }
  if (spec.xLabel) grid.append(svg('text', { x: width - m.r, y: height - 2, 'text-anchor': 'end', class: 'axis-label' }, spec.xLabel));
  root.append(grid);
  for (const r of spec.refLines ?? []) {
    root.append(svg('line', { x1: m.l, x2: width - m.r, y1: Y(r.y), y2: Y(r.y), class: 'ref' }));
    root.append(svg('text', { x: m.l + 6, y: Y(r.y) - 5, 'text-anchor': 'start', class: 'ref-label' }, r.label));
  }
  const pathOf = (points) => points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)} ${Y(p[1]).toFixed(1)}`).join('');
  for (const s of series) {
    if (spec.smooth && s.points.length > 40) {
      // Per-batch values are noisy: the raw series faint, a moving average on top.
      root.append(svg('path', { d: pathOf(s.points), class: 'raw', stroke: s.color }));
      const d = pathOf(movingAverage(s.points, Math.max(3, Math.round(s.points.length / 30))));
      root.append(svg('path', { d, class: 'line', stroke: s.color, 'data-series': s.name }));
      continue;
    }
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)} ${Y(p[1]).toFixed(1)}`).join('');
    root.append(svg('path', { d, class: 'line', stroke: s.color, 'data-series': s.name }));
    if (s.points.length <= 40) for (const p of s.points) root.append(svg('circle', { cx: X(p[0]), cy: Y(p[1]), r: 2.6, fill: s.color }));
  }

  // Hover read-out: the values of every series at the nearest x.
  const cursor = svg('line', { class: 'cursor', y1: m.t, y2: height - m.b, visibility: 'hidden' });
  const tip = document.createElement('div');
  tip.className = 'chart-tip';
  tip.hidden = true;
  host.style.position = 'relative';
  host.append(tip);
  root.append(cursor);
  const overlay = svg('rect', { x: m.l, y: m.t, width: width - m.l - m.r, height: height - m.t - m.b, fill: 'transparent' });
  root.append(overlay);
  overlay.addEventListener('mousemove', (ev) => {
    const box = root.getBoundingClientRect();
    const px = ((ev.clientX - box.left) / box.width) * width;
    const xv = x0 + ((px - m.l) / (width - m.l - m.r)) * (x1 - x0);
    cursor.setAttribute('x1', String(px));
    cursor.setAttribute('x2', String(px));
    cursor.setAttribute('visibility', 'visible');
    const lines = series.map((s) => {
      let best = s.points[0];
      for (const p of s.points) if (Math.abs(p[0] - xv) < Math.abs(best[0] - xv)) best = p;
      return `<span><i style="background:${s.color}"></i>${s.name}: <b>${fmtTick(best[1])}</b></span>`;
    });
    tip.innerHTML = `<div>${spec.xLabel ?? 'x'} ${fmtTick(Math.round(xv))}</div>${lines.join('')}`;
    tip.hidden = false;
    tip.style.left = `${Math.min(px + 12, width - 170)}px`;
    tip.style.top = `${m.t + 4}px`;
  });
  overlay.addEventListener('mouseleave', () => {
    cursor.setAttribute('visibility', 'hidden');
    tip.hidden = true;
  });
}
