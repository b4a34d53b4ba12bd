// Never existed: the nearest training images of a design, computed by the server.
import { bytesToImageData, paint } from './gen.js';
import { choices, className, cliFor, on, render, setSubject, state } from './state.js';
import { el, fmt, getJson } from './ui.js';

const $ = (id) => document.getElementById(id);
let token = 0;
let shownKey = null;
const visible = () => !$('view-never').hidden;

function decode(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function verdict(distance, reference) {
  const ref = reference?.medianTestDistance;
  if (!Number.isFinite(ref) || ref <= 0) return { tone: 'info', label: 'note', text: 'No yardstick: the held-out test images were not available.' };
  const r = distance / ref;
  if (r < 0.5) return { tone: 'warn', label: 'near copy', text: `Close to a training image: ${fmt(r, 2)}× the typical distance of an unseen real item. It may be a near copy.` };
  if (r < 0.85) return { tone: 'ok', label: 'new', text: `Related to training images but its own design: ${fmt(r, 2)}× the distance a real unseen item sits from the training set.` };
  if (r < 1.5) return { tone: 'good', label: 'never existed', text: `Never existed: as far from every training image as a real, unseen item (${fmt(r, 2)}× the typical distance).` };
  return { tone: 'info', label: 'unusual', text: `Farther from every training image than real items usually are (${fmt(r, 2)}× the typical distance): new — but check it still looks like clothing; an undertrained generator's noise is far from everything too.` };
}

function meter(distance, reference) {
  const ref = reference?.medianTestDistance;
  const max = Math.max(distance, Number.isFinite(ref) ? ref : 0) * 1.25 || 1;
  const pct = (v) => `${Math.min(100, (v / max) * 100).toFixed(1)}%`;
  return el(
    'div.meter',
    {},
    el('div.meter-track', {}, Number.isFinite(ref) ? el('div.meter-ref', { style: `left:${pct(ref)}`, title: `median for ${reference.testImages} held-out test images` }, el('span', {}, `unseen real items ≈ ${fmt(ref, 3)}`)) : null, el('div.meter-dot', { style: `left:${pct(distance)}` }, el('span', {}, `this design ${fmt(distance, 3)}`))),
    el('div.meter-scale', {}, el('span', {}, '0 = copy'), el('span', {}, 'further from the training set →')),
  );
}

async function check() {
  const d = state.subject;
  const results = $('never-results');
  const v = $('never-verdict');
  if (!d || !state.model) return;
  const my = ++token;
  shownKey = d.key;
  await render([d]);
  paint($('never-canvas'), d.image, 10);
  const cls = className(d.label);
  $('never-meta').replaceChildren(
    ...[
      el('div.title', {}, d.title, cls ? el('span.chip', {}, cls) : null),
      d.detail ? el('div.muted', {}, d.detail) : null,
      d.seed !== null && d.origin === 'seed' ? el('code.cmd.wrap', {}, cliFor(d.seed, 1, d.label)) : el('div.muted', {}, 'Not a plain seed: copy its latent from Explore to reproduce it.'),
    ].filter(Boolean),
  );
  results.dataset.status = 'busy';
  results.replaceChildren(...Array.from({ length: 8 }, () => el('div.nn-item.skeleton', {}, el('div.ph'))));
  v.replaceChildren(el('span.muted', {}, 'Searching the training set…'));
  try {
    const res = await getJson('/api/nearest', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: state.model.id, pixels: Array.from(d.values, (x) => Math.max(-1, Math.min(1, Number(x.toFixed(5))))), k: 8, seed: d.seed }),
    });
    if (my !== token) return;
    const nearest = res.neighbours[0];
    const ver = verdict(nearest.distance, res.reference);
    v.replaceChildren(
      el(`div.badge.${ver.tone}`, {}, ver.label),
      el('p', {}, `Nearest of ${res.poolSize.toLocaleString()} training images: #${nearest.index} (${nearest.className}) at distance ${fmt(nearest.distance, 4)} — RMS ${fmt(res.rms, 3)} per pixel. ${ver.text}`),
      meter(nearest.distance, res.reference),
    );
    $('never-source').textContent = `Euclidean distance in pixel space (pixels scaled to [−1, 1]) against ${res.poolSize.toLocaleString()} ${res.dataset} training images from ${res.source}; ${res.ms} ms on the server.`;
    results.replaceChildren(
      ...res.neighbours.map((n, i) => {
        const c = el('canvas.px');
        paint(c, bytesToImageData(decode(n.pixels), res.imageShape), 4);
        return el('figure.nn-item', { 'data-testid': 'nn-item' }, c, el('figcaption', {}, el('b', {}, `${i + 1}. ${n.className}`), el('div.nn-sub', {}, el('span', { title: 'index in the training set' }, `#${n.index}`), el('span', { title: 'Euclidean distance, pixels in [−1, 1]' }, `d ${n.distance.toFixed(2)}`))));
      }),
    );
    results.dataset.status = 'ready';
  } catch (err) {
    if (my !== token) return;
    results.replaceChildren();
    results.dataset.status = 'error';
    v.replaceChildren(el('div.badge.warn', {}, 'unavailable'), el('p', {}, `Could not search the training set: ${err.message}`));
  }
}

function fillPick() {
  const list = choices();
  const sel = $('never-pick');
  sel.replaceChildren(...list.map((c) => el('option', { value: c.d.key }, c.label)));
  if (state.subject && list.some((c) => c.d.key === state.subject.key)) sel.value = state.subject.key;
  else if (state.subject) sel.prepend(el('option', { value: state.subject.key, selected: true }, state.subject.title));
}

export function initNever() {
  $('never-pick').addEventListener('change', () => {
    const d = choices().find((c) => c.d.key === $('never-pick').value)?.d;
    if (d) setSubject(d);
  });
  on('subject', () => {
    fillPick();
    if (visible()) check();
  });
  on('view', (name) => {
    if (name === 'never' && state.subject && state.subject.key !== shownKey) check();
  });
  on('grid', () => {
    if (!state.subject && state.grid[0]) setSubject(state.grid[0]);
    else fillPick();
  });
  on('pins', fillPick);
}
