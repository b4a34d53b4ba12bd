// Runs: a dashboard of run folders, updating live while a run trains (polls history.jsonl growth).
import { lineChart } from './charts.js';
import { emit, on, state, useModel } from './state.js';
import { el, fmt, getJson, timeAgo, toast } from './ui.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;

const COLORS = { gen: '#6c5ce7', disc: '#e17055', real: '#00a884', fake: '#d63384', metric: ['#2d7ff9', '#f59f00', '#12b886', '#ae3ec9', '#fa5252'] };
const METRIC_NAMES = { fd: 'Fréchet distance ↓', kid: 'KID ↓', classifierScore: 'classifier score ↑', is: 'inception score ↑' };

let runs = [];
let current = null; // { name, detail, rows, offset }
let timer = 0;
let ticks = 0;
let reports = [];


function statusBadge(status) {
  return status === 'training' ? el('span.badge.live', { title: 'history.jsonl is growing' }, el('i.pulse'), 'training') : el('span.badge.idle', {}, 'finished');
}

function drawList() {
  const box = $('run-list');
  if (!runs.length) {
    box.replaceChildren(el('div.empty.small', {}, 'No run folders yet. Start one with ', el('code', {}, 'fashion-gan train'), '.'));
    return;
  }
  box.replaceChildren(
    ...runs.map((r) =>
      el(
        `button.run-item${current?.name === r.name ? '.active' : ''}`,
        { onclick: () => select(r.name), 'data-run': r.name, 'data-testid': 'run-item' },
        r.lastSampleUrl ? el('img.run-thumb', { src: r.lastSampleUrl, alt: '' }) : el('div.run-thumb.none'),
        el(
          'div.run-text',
          {},
          el('div.run-name', {}, el('b', {}, r.name), r.status === 'training' ? statusBadge(r.status) : null),
          el('div.run-sub', {}, [r.config?.preset, r.config?.dataset].filter(Boolean).join(' · ') || r.error || ''),
          el('div.run-sub', {}, r.lastStep !== null ? `epoch ${r.lastEpoch ?? '?'} · step ${r.lastStep.toLocaleString()} · ${timeAgo(r.updatedAt)}` : 'no history yet'),
        ),
      ),
    ),
  );
}

async function loadList() {
  try {
    runs = await getJson('/api/runs');
  } catch (err) {
    $('run-list').replaceChildren(el('div.empty.small', {}, `Could not list runs: ${err.message}`));
    return;
  }
  drawList();
}

function chip(label, value) {
  return value === null || value === undefined || value === '' ? null : el('span.kv', {}, el('span', {}, label), el('b', {}, String(value)));
}

function detailSkeleton(d) {
  const s = d.summary;
  const canUse = d.hasGenerator && state.models.some((m) => m.id === `run:${d.name}`);
  const sampleCount = d.samples.length;
  const node = el(
    'div.detail',
    {},
    el(
      'div.card.run-head',
      {},
      el('div.run-title', {}, el('h2', {}, d.name), statusBadge(d.status)),
      el(
        'div.kvs',
        { id: 'run-kvs' },
        chip('preset', s?.preset),
        chip('data', s ? `${s.dataset}${s.classFilter !== null && s.classFilter !== undefined ? ` (${s.classNames[s.classFilter] ?? s.classFilter})` : ''}` : null),
        chip('images', s ? s.imageShape.join('×') : null),
        chip('latent', s?.latentDim),
        chip('conditional', s ? (s.conditional ? 'yes' : 'no') : null),
        chip('batch', s?.batchSize),
        chip('backend', s?.backend),
        chip('seed', s?.seed),
      ),
      el(
        'div.row-actions',
        {},
        canUse ? el('button.btn.primary', { onclick: async () => {
          await useModel(`run:${d.name}`);
          $('model-select').value = `run:${d.name}`;
          emit('goto', 'design');
        } }, 'Design with this generator') : null,
        d.configError ? el('span.warn-text', {}, d.configError) : null,
      ),
    ),
    el('div.charts', {},
      el('div.card', {}, el('h3', {}, 'Losses'), el('div.chart-host', { id: 'chart-loss', 'data-testid': 'chart-loss' })),
      el('div.card', {}, el('h3', {}, 'Discriminator accuracy'), el('div.chart-host', { id: 'chart-acc', 'data-testid': 'chart-acc' })),
    ),
    el('div.card', { id: 'metrics-card' }, el('h3', {}, 'Metrics'), el('div.metric-charts', { id: 'chart-metrics' })),
    el(
      'div.media',
      {},
      el('div.card', {}, el('h3', {}, 'Progress'), d.files.progressGif ? el('img.pixel-img', { id: 'run-gif', src: `${d.urls.progressGif}?v=${d.files.progressGif}`, alt: 'progress GIF' }) : el('div.empty.small', {}, 'No progress.gif yet.')),
      el(
        'div.card',
        {},
        el('h3', {}, 'Samples by epoch ', el('span.muted', { id: 'sample-label' })),
        sampleCount ? el('img.pixel-img', { id: 'sample-img', alt: 'sample grid' }) : el('div.empty.small', {}, 'No sample grids yet.'),
        sampleCount ? el('input', { type: 'range', id: 'sample-slider', min: 0, max: sampleCount - 1, value: sampleCount - 1, 'aria-label': 'epoch' }) : null,
      ),
    ),
    d.files.historyPng ? el('details.card', {}, el('summary', {}, 'history.png (rendered by the trainer)'), el('img.full', { src: `${d.urls.historyPng}?v=${d.files.historyPng}`, alt: 'history chart' })) : null,
    el('details.card', { open: false }, el('summary', {}, 'config.json'), el('pre.code', {}, d.configRaw ? JSON.stringify(d.configRaw, null, 2) : d.configError ?? 'no config.json')),
    el('div.card', { id: 'reports-card' }, el('h3', {}, 'Reports'), el('div', { id: 'reports' })),
  );
  return node;
}

function drawSamples() {
  const d = current?.detail;
  const slider = $('sample-slider');
  if (!d || !slider || !d.samples.length) return;
  slider.max = String(d.samples.length - 1);
  const s = d.samples[Math.min(Number(slider.value), d.samples.length - 1)];
  $('sample-img').src = s.url;
  $('sample-label').textContent = s.epoch !== null ? `epoch ${s.epoch} · step ${s.step.toLocaleString()}` : s.file;
}

function drawCharts() {
  if (!current) return;
  const rows = current.rows;
  const pts = (k) => rows.filter((r) => typeof r[k] === 'number').map((r) => [r.step, r[k]]);
  lineChart($('chart-loss'), { xLabel: 'step', smooth: true, series: [{ name: 'generator', color: COLORS.gen, points: pts('gen_loss') }, { name: 'discriminator', color: COLORS.disc, points: pts('disc_loss') }] });
  lineChart($('chart-acc'), {
    xLabel: 'step',
    yMin: 0,
    yMax: 1,
    smooth: true,
    refLines: [{ y: 0.5, label: 'D guessing' }],
    series: [{ name: 'real accuracy', color: COLORS.real, points: pts('real_accuracy') }, { name: 'fake accuracy', color: COLORS.fake, points: pts('fake_accuracy') }],
  });
  const metrics = current.detail.metrics;
  const keys = [...new Set(metrics.flatMap((m) => Object.keys(m)))].filter((k) => !['step', 'epoch', 'seconds', 'time', 'imagesSeen'].includes(k) && metrics.some((m) => typeof m[k] === 'number'));
  const host = $('chart-metrics');
  $('metrics-card').hidden = keys.length === 0;
  host.replaceChildren(...keys.map((k) => el('div.metric', {}, el('h4', {}, METRIC_NAMES[k] ?? k), el('div.chart-host', { 'data-metric': k }))));
  keys.forEach((k, i) => {
    lineChart(host.querySelector(`[data-metric="${k}"]`), { height: 170, xLabel: 'step', series: [{ name: k, color: COLORS.metric[i % COLORS.metric.length], points: metrics.filter((m) => typeof m[k] === 'number').map((m) => [m.step ?? m.epoch, m[k]]) }] });
  });
}

async function drawReports() {
  const box = $('reports');
  if (!box || !current) return;
  try {
    reports = await getJson('/api/reports');
  } catch {
    reports = [];
  }
  const mine = (r) => r.path.startsWith(`${current.name}/`);
  const list = [...reports.filter(mine), ...reports.filter((r) => !mine(r))];
  $('reports-card').hidden = list.length === 0;
  box.replaceChildren(
    ...list.map((r) => {
      const pre = el('pre.code.report', {}, 'loading…');
      const det = el('details.report-item', { open: mine(r) }, el('summary', {}, r.path, el('span.muted', {}, ` · ${timeAgo(r.modified)}`)), pre);
      const load = () => fetch(`/runs/${r.path.split('/').map(encodeURIComponent).join('/')}`).then((res) => res.text()).then((t) => (pre.textContent = t));
      if (mine(r)) load();
      else det.addEventListener('toggle', load, { once: true });
      return det;
    }),
  );
}

// Reads are queued: two overlapping reads (opening a run while the timer polls) would both start
// from the same offset and add the same rows twice.
let pollQueue = Promise.resolve(false);

function pollHistory() {
  pollQueue = pollQueue.catch(() => false).then(readNewRows);
  return pollQueue;
}

async function readNewRows() {
  if (!current) return false;
  const name = current.name;
  let grew = false;
  for (let i = 0; i < 20; i++) {
    const h = await getJson(`/api/runs/${encodeURIComponent(name)}/history?offset=${current.offset}`);
    if (current?.name !== name) return false;
    if (h.reset) current.rows = [];
    if (h.rows.length) {
      current.rows.push(...h.rows);
      grew = true;
    }
    current.offset = h.offset;
    if (!h.more) break;
  }
  $('run-detail').dataset.rows = String(current.rows.length);
  return grew;
}

async function select(name) {
  const detail = await getJson(`/api/runs/${encodeURIComponent(name)}`);
  current = { name, detail, rows: [], offset: 0 };
  location.hash = `runs/${encodeURIComponent(name)}`;
  drawList();
  const host = $('run-detail');
  host.dataset.status = 'busy';
  host.replaceChildren(detailSkeleton(detail));
  $('sample-slider')?.addEventListener('input', drawSamples);
  drawSamples();
  await pollHistory();
  drawCharts();
  drawReports();
  host.dataset.status = 'ready';
}

async function refresh() {
  if (!current) return;
  const name = current.name;
  const grew = await pollHistory();
  if (++ticks % 2 === 0 || grew) {
    const detail = await getJson(`/api/runs/${encodeURIComponent(name)}`);
    if (current?.name !== name) return;
    const old = current.detail;
    current.detail = detail;
    const slider = $('sample-slider');
    const atEnd = slider && Number(slider.value) >= old.samples.length - 1;
    if (detail.samples.length !== old.samples.length || detail.status !== old.status) {
      if (!slider && detail.samples.length) {
        // First sample grid of a fresh run: rebuild the panel.
        return select(name);
      }
      if (slider && atEnd) slider.value = String(detail.samples.length - 1);
      drawSamples();
      const badge = document.querySelector('.run-title .badge');
      badge?.replaceWith(statusBadge(detail.status));
    }
    const gif = $('run-gif');
    if (gif && detail.files.progressGif && detail.files.progressGif !== old.files.progressGif) gif.src = `${detail.urls.progressGif}?v=${detail.files.progressGif}`;
    if (grew || JSON.stringify(detail.metrics) !== JSON.stringify(old.metrics)) drawCharts();
  }
  if (ticks % 3 === 0) loadList();
}

function startPolling() {
  clearInterval(timer);
  timer = setInterval(() => {
    if (document.hidden || $('view-runs').hidden) return;
    refresh().catch((err) => console.warn('poll failed', err));
  }, POLL_MS);
}

export async function openRun(name) {
  await loadList();
  const pick = name && runs.some((r) => r.name === name) ? name : current?.name ?? runs.find((r) => r.status === 'training')?.name ?? runs[0]?.name;
  if (pick && pick !== current?.name) await select(pick);
}

export function initRuns(info) {
  $('runs-dir').textContent = `Folders in ${info.runsDir}/ · live while training`;
  startPolling();
  on('view', (name) => {
    if (name === 'runs') openRun(decodeURIComponent(location.hash.replace(/^#runs\/?/, '')) || undefined).catch((err) => toast(err.message));
  });
  window.addEventListener('resize', () => {
    if (current && !$('view-runs').hidden) drawCharts();
  });
}
