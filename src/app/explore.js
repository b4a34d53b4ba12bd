// Explore: morph between two designs with a slider; nudge one design with small random steps.
import { downloadPng, nudge, paint, randomSeed, slerp } from './gen.js';
import { choices, className, emit, latentJson, makeDesign, on, render, setSubject, state, togglePin } from './state.js';
import { copyText, el, toast } from './ui.js';

const $ = (id) => document.getElementById(id);
const STRIP = 9;

let morphCurrent = null;
let morphToken = 0;
let nudgeTrail = [];
let nudgeAt = -1;
let pendingBase = null;

function fillSelect(sel, list, wanted) {
  const keep = wanted ?? list.find((c) => c.d.key === sel.value)?.d;
  sel.replaceChildren(...list.map((c) => el('option', { value: c.d.key }, c.label)));
  if (keep && list.some((c) => c.d.key === keep.key)) sel.value = keep.key;
  return list.find((c) => c.d.key === sel.value)?.d ?? null;
}

const byKey = (key) => choices().find((c) => c.d.key === key)?.d ?? null;

function endpoints() {
  return { a: byKey($('morph-a').value), b: byKey($('morph-b').value) };
}

function blendLabel(a, b, t) {
  return t < 0.5 ? a.label : b.label;
}

async function drawMorph() {
  const { a, b } = endpoints();
  if (!a || !b || !state.tfModel) return;
  const token = ++morphToken;
  const t = Number($('morph-slider').value) / 100;
  $('morph-t').textContent = `t = ${t.toFixed(2)}`;
  const d = makeDesign({ latent: slerp(a.latent, b.latent, t), label: blendLabel(a, b, t), title: `${a.title} → ${b.title} @ ${t.toFixed(2)}`, origin: 'morph', detail: `slerp(${a.title}, ${b.title}, t=${t.toFixed(2)})` });
  await render([d, a, b]);
  if (token !== morphToken) return;
  morphCurrent = d;
  paint($('morph-canvas'), d.image, 10);
  $('morph-canvas').dataset.t = t.toFixed(2);
  const cliHint = a.seed !== null && b.seed === a.seed + 1 && a.origin === 'seed' && b.origin === 'seed'
    ? ` · CLI: fashion-gan generate ${state.model.cliRun ? `${state.model.cliRun} ` : ''}--interpolate --seed ${a.seed} --count ${STRIP}`
    : '';
  $('morph-info').textContent = `${d.detail}${className(d.label) ? ` · ${className(d.label)}` : ''}${cliHint}`;
}

async function drawMorphStrip() {
  const { a, b } = endpoints();
  if (!a || !b || !state.tfModel) return;
  await render([a, b]);
  paint($('morph-a-canvas'), a.image, 4);
  paint($('morph-b-canvas'), b.image, 4);
  $('morph-a-cap').textContent = a.title;
  $('morph-b-cap').textContent = b.title;
  const steps = Array.from({ length: STRIP }, (_, k) => {
    const t = k / (STRIP - 1);
    return makeDesign({ latent: slerp(a.latent, b.latent, t), label: blendLabel(a, b, t), title: `t=${t.toFixed(2)}`, origin: 'morph' });
  });
  await render(steps);
  $('morph-strip').replaceChildren(
    ...steps.map((s, k) => {
      const c = el('canvas.px');
      paint(c, s.image, 2);
      return el('button.strip-item', { title: s.title, onclick: () => {
        $('morph-slider').value = String(Math.round((k / (STRIP - 1)) * 100));
        drawMorph();
      } }, c);
    }),
  );
}

function refreshMorph() {
  drawMorphStrip();
  drawMorph();
}

async function drawNudge() {
  const d = nudgeTrail[nudgeAt];
  if (!d) return;
  await render(nudgeTrail);
  paint($('nudge-canvas'), d.image, 10);
  $('nudge-canvas').dataset.step = String(nudgeAt);
  $('nudge-info').textContent = `${d.detail || d.title}${className(d.label) ? ` · ${className(d.label)}` : ''}`;
  $('nudge-trail').replaceChildren(
    ...nudgeTrail.map((s, k) => {
      const c = el('canvas.px');
      paint(c, s.image, 2);
      return el(`button.strip-item${k === nudgeAt ? '.current' : ''}`, { title: s.detail || s.title, onclick: () => {
        nudgeAt = k;
        drawNudge();
      } }, c);
    }),
  );
}

function resetNudge(base) {
  if (!base) return;
  nudgeTrail = [base];
  nudgeAt = 0;
  drawNudge();
}

function stepNudge() {
  const from = nudgeTrail[nudgeAt];
  if (!from) return;
  const size = Number($('nudge-size').value);
  const stepSeed = randomSeed(0x7fffffff);
  const base = nudgeTrail[0];
  const n = nudgeAt + 1;
  const d = makeDesign({
    latent: nudge(from.latent, size, stepSeed),
    label: from.label,
    title: `${base.title} + ${n} nudge${n > 1 ? 's' : ''}`,
    origin: 'nudge',
    detail: `${base.title} + ${n} nudge${n > 1 ? 's' : ''} (last: size ${size.toFixed(2)}, step seed ${stepSeed})`,
  });
  nudgeTrail = [...nudgeTrail.slice(0, nudgeAt + 1), d];
  nudgeAt = nudgeTrail.length - 1;
  drawNudge();
}

function refreshSelects() {
  const list = choices();
  const a = fillSelect($('morph-a'), list);
  // Default B: the next design after A, so a fresh page morphs between two different designs.
  if (!list.some((c) => c.d.key === $('morph-b').value)) {
    const i = list.findIndex((c) => c.d === a);
    fillSelect($('morph-b'), list, list[(i + 1) % list.length]?.d);
  } else fillSelect($('morph-b'), list);
  const base = fillSelect($('nudge-base'), list, pendingBase ?? undefined);
  if (pendingBase || !nudgeTrail.length || !list.some((c) => c.d === nudgeTrail[0])) {
    pendingBase = null;
    resetNudge(base);
  }
}

function actions(get, prefix) {
  $(`${prefix}-pin`).addEventListener('click', () => {
    const d = get();
    if (d) toast(togglePin(d) ? 'Pinned' : 'Unpinned');
  });
  $(`${prefix}-png`).addEventListener('click', () => {
    const d = get();
    if (d?.image) downloadPng(d.image, `design-${prefix}-${Date.now()}.png`);
  });
  $(`${prefix}-check`).addEventListener('click', () => {
    const d = get();
    if (!d) return;
    setSubject(d);
    emit('goto', 'never');
  });
  $(`${prefix}-latent`).addEventListener('click', () => {
    const d = get();
    if (d) copyText(latentJson(d), 'Latent copied');
  });
}

export function initExplore() {
  $('morph-slider').addEventListener('input', drawMorph);
  $('morph-a').addEventListener('change', refreshMorph);
  $('morph-b').addEventListener('change', refreshMorph);
  $('nudge-base').addEventListener('change', () => resetNudge(byKey($('nudge-base').value)));
  $('nudge-step').addEventListener('click', stepNudge);
  $('nudge-back').addEventListener('click', () => {
    if (nudgeAt > 0) {
      nudgeAt--;
      drawNudge();
    }
  });
  $('nudge-reset').addEventListener('click', () => resetNudge(nudgeTrail[0]));
  $('nudge-size').addEventListener('input', () => ($('nudge-size-v').textContent = Number($('nudge-size').value).toFixed(2)));
  actions(() => morphCurrent, 'morph');
  actions(() => nudgeTrail[nudgeAt], 'nudge');
  on('grid', () => {
    refreshSelects();
    refreshMorph();
  });
  on('pins', () => {
    const before = [$('morph-a').value, $('morph-b').value];
    refreshSelects();
    if (before[0] !== $('morph-a').value || before[1] !== $('morph-b').value) refreshMorph();
  });
  on('explore', (d) => {
    pendingBase = d;
    refreshSelects();
    const list = choices();
    fillSelect($('morph-a'), list, d);
    if ($('morph-b').value === $('morph-a').value && list.length > 1) {
      const i = list.findIndex((c) => c.d.key === d.key);
      fillSelect($('morph-b'), list, list[(i + 1) % list.length].d);
    }
    refreshMorph();
  });
}
