// Design: a grid of new items from the generator, categories, reroll, pins, PNG downloads.
import { downloadPng, paint, randomSeed } from './gen.js';
import { className, cliFor, emit, isPinned, on, render, seedDesign, state, togglePin, unpin, setSubject } from './state.js';
import { copyText, el, iconButton, toast } from './ui.js';

const $ = (id) => document.getElementById(id);
let renderCount = 0;

function classChoice() {
  const v = $('class-select').value;
  return v === 'all' || v === '' ? null : Number(v);
}

/** Label of design i in the grid: the chosen class, or i mod numClasses, as the CLI does. */
function labelFor(i) {
  const cfg = state.model.config;
  if (!cfg.conditional) return null;
  const c = classChoice();
  return c === null ? i % cfg.numClasses : c;
}

function filename(d) {
  const cls = className(d.label);
  const base = d.seed !== null && d.origin === 'seed' ? `design-seed${d.seed}` : `design-${d.origin}-${d.key}`;
  return `${base}${cls ? `-${cls.toLowerCase().replace(/[^a-z0-9]+/g, '-')}` : ''}.png`;
}

export function designCard(d, { compact = false, onSelect } = {}) {
  const canvas = el('canvas.px.design-canvas', { 'data-testid': 'design-canvas', title: d.title });
  if (d.image) paint(canvas, d.image, compact ? 3 : 5);
  const pinned = isPinned(d);
  const pinBtn = iconButton('star', pinned ? 'Unpin' : 'Pin as favourite', () => {
    const now = togglePin(d);
    toast(now ? `Pinned ${d.title}` : `Unpinned ${d.title}`);
  }, { filled: pinned, class: `icon-btn pin${pinned ? ' on' : ''}`, 'data-testid': 'pin' });
  const cls = className(d.label);
  const card = el(
    `div.design-card${compact ? '.compact' : ''}`,
    { dataset: { key: d.key } },
    el('div.canvas-wrap', { onclick: onSelect ?? null }, canvas),
    el('div.meta', {}, el('span.seed', { title: d.detail || d.title }, d.title), cls ? el('span.chip', {}, cls) : null),
    compact
      ? null
      : el(
          'div.actions',
          {},
          pinBtn,
          iconButton('download', 'Download PNG', () => downloadPng(d.image, filename(d))),
          iconButton('search', 'Never existed? Show the nearest training images', () => {
            setSubject(d);
            emit('goto', 'never');
          }),
          iconButton('explore', 'Explore around this design', () => {
            emit('explore', d);
            emit('goto', 'explore');
          }),
          d.seed !== null && d.origin === 'seed'
            ? iconButton('copy', 'Copy the CLI command for this design', () => copyText(cliFor(d.seed, 1, d.label), 'Command copied'))
            : null,
        ),
  );
  return card;
}

async function drawPinned() {
  await render(state.pinned);
  const box = $('pinned');
  box.replaceChildren();
  $('pin-count').textContent = String(state.pinned.length);
  $('pin-hint').hidden = state.pinned.length > 0;
  for (const d of state.pinned) {
    const canvas = el('canvas.px');
    const item = el(
      'div.pin-item',
      { title: `${d.title}${d.detail ? ` — ${d.detail}` : ''}` },
      el('button.pin-thumb', {
        onclick: () => {
          setSubject(d);
          emit('goto', 'never');
        },
        title: 'Check it never existed',
      }, canvas),
      el('div.pin-meta', {}, el('span', {}, d.title), className(d.label) ? el('span.muted', {}, className(d.label)) : null),
      iconButton('close', 'Unpin', () => unpin(d), { class: 'icon-btn tiny' }),
    );
    box.append(item);
    if (d.image) paint(canvas, d.image, 2);
  }
}

function updateCli() {
  const seed = Number($('seed-input').value) >>> 0;
  const count = Number($('count-select').value);
  $('cli-line').textContent = cliFor(seed, count, classChoice());
}

/** What the grid shows (model, seed, count, category); a 'change' that alters none of them keeps the grid. */
let shown = null;

export async function regenerate() {
  if (!state.model) return;
  const grid = $('grid');
  const seed = Math.max(0, Math.min(0xffffffff, Math.floor(Number($('seed-input').value) || 0)));
  $('seed-input').value = String(seed);
  const count = Number($('count-select').value);
  // Leaving the seed field fires 'change' again; redrawing then would swap the cards under the
  // pointer between mousedown and mouseup, and the click (a download, a pin) would be lost.
  const key = { model: state.model, seed, count, label: $('class-select').value };
  if (shown && Object.keys(key).every((k) => shown[k] === key[k])) return;
  shown = key;
  const designs = Array.from({ length: count }, (_, i) => seedDesign((seed + i) >>> 0, labelFor(i)));
  grid.dataset.status = 'busy';
  await render(designs);
  state.grid = designs;
  grid.replaceChildren(...designs.map((d) => designCard(d, {})));
  grid.dataset.status = 'ready';
  grid.dataset.renders = String(++renderCount);
  updateCli();
  emit('grid');
}

function fillClasses() {
  const cfg = state.model?.config;
  const sel = $('class-select');
  $('class-field').hidden = !cfg?.conditional;
  sel.replaceChildren(el('option', { value: 'all' }, 'All categories'), ...(cfg?.conditional ? cfg.classNames.map((n, i) => el('option', { value: String(i) }, n)) : []));
}

export function initDesign() {
  $('reroll').addEventListener('click', () => {
    $('seed-input').value = String(randomSeed());
    regenerate();
  });
  $('next-page').addEventListener('click', () => {
    $('seed-input').value = String((Number($('seed-input').value) + Number($('count-select').value)) >>> 0);
    regenerate();
  });
  $('seed-input').addEventListener('change', regenerate);
  $('count-select').addEventListener('change', regenerate);
  $('class-select').addEventListener('change', regenerate);
  $('copy-cli').addEventListener('click', () => copyText($('cli-line').textContent, 'Command copied'));
  on('model', () => {
    fillClasses();
    drawPinned();
    regenerate();
  });
  on('pins', () => {
    drawPinned();
    // Refresh the stars on the grid.
    for (const card of $('grid').children) {
      const d = state.grid.find((g) => g.key === card.dataset.key);
      const b = card.querySelector('.pin');
      if (!d || !b) continue;
      const p = isPinned(d);
      b.classList.toggle('on', p);
      b.querySelector('svg').classList.toggle('filled', p);
      b.title = p ? 'Unpin' : 'Pin as favourite';
    }
  });
}
