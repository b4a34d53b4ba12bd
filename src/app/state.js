// Shared state: the model in use, the current grid, pinned favourites, the design being checked.
import { generate, latentForSeed, loadGenerator, toImageData } from './gen.js';

const listeners = new Map();

export const state = {
  /** entries of /api/models */
  models: [],
  /** the entry in use */
  model: null,
  /** its tf.LayersModel */
  tfModel: null,
  /** the Design grid */
  grid: [],
  /** pinned favourites of the model in use */
  pinned: [],
  /** the design the "Never existed" view checks */
  subject: null,
  backend: '',
};

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
}

export function emit(event, payload) {
  for (const fn of listeners.get(event) ?? []) {
    try {
      fn(payload);
    } catch (err) {
      console.error(err);
    }
  }
}

let nextKey = 1;

/**
 * A design: its latent, its class label (conditional models), where it came from, and once
 * rendered its pixel values (HWC, [-1, 1]) and ImageData.
 */
export function makeDesign({ seed = null, latent, label = null, title, origin = 'seed', detail = '' }) {
  return { key: `d${nextKey++}`, seed, latent, label, title, origin, detail, values: null, image: null };
}

export function seedDesign(seed, label) {
  const cfg = state.model.config;
  return makeDesign({ seed, latent: latentForSeed(seed, cfg.latentDim), label, title: `seed ${seed}` });
}

export function className(label) {
  const cfg = state.model?.config;
  if (!cfg?.conditional || label === null || label === undefined) return '';
  return cfg.classNames?.[label] ?? `class ${label}`;
}

/** Renders designs that have no pixels yet (one batch through the generator). */
export async function render(designs) {
  const todo = designs.filter((d) => !d.values);
  if (!todo.length || !state.tfModel) return designs;
  const values = await generate(state.tfModel, state.model.config, todo);
  todo.forEach((d, i) => {
    d.values = values[i];
    d.image = toImageData(values[i], state.model.config.imageShape);
  });
  return designs;
}

/** The CLI command that reproduces a seed design exactly. */
export function cliFor(seed, count, label) {
  const parts = ['fashion-gan generate'];
  if (state.model?.cliRun) parts.push(state.model.cliRun);
  parts.push(`--seed ${seed}`, `--count ${count}`);
  if (label !== null && label !== undefined) parts.push(`--class ${label}`);
  parts.push(`--out ${count === 1 ? `design-${seed}.png` : 'designs.png'}`);
  return parts.join(' ');
}

export function latentJson(d) {
  return JSON.stringify({ model: state.model?.id, seed: d.seed, label: d.label, origin: d.origin, detail: d.detail, latent: Array.from(d.latent, (v) => Number(v.toFixed(6))) });
}

// Pins are kept per model in localStorage (latents as plain arrays).
const pinKey = () => `fashion-gan:pins:${state.model?.id}`;

export function loadPins() {
  let raw = [];
  try {
    raw = JSON.parse(localStorage.getItem(pinKey()) ?? '[]');
  } catch {
    raw = [];
  }
  const dim = state.model?.config.latentDim;
  state.pinned = (Array.isArray(raw) ? raw : [])
    .filter((p) => Array.isArray(p.latent) && p.latent.length === dim)
    .map((p) => makeDesign({ ...p, latent: Float32Array.from(p.latent) }));
}

function savePins() {
  const plain = state.pinned.map((d) => ({ seed: d.seed, label: d.label, title: d.title, origin: d.origin, detail: d.detail, latent: Array.from(d.latent) }));
  try {
    localStorage.setItem(pinKey(), JSON.stringify(plain));
  } catch {
    // storage full or disabled: pins last for this visit only
  }
}

const sameDesign = (a, b) => a.label === b.label && a.latent.length === b.latent.length && a.latent.every((v, i) => v === b.latent[i]);

export function isPinned(d) {
  return state.pinned.some((p) => sameDesign(p, d));
}

export function togglePin(d) {
  const at = state.pinned.findIndex((p) => sameDesign(p, d));
  if (at >= 0) state.pinned.splice(at, 1);
  else {
    const copy = makeDesign({ seed: d.seed, latent: d.latent, label: d.label, title: d.title, origin: d.origin, detail: d.detail });
    copy.values = d.values;
    copy.image = d.image;
    state.pinned.unshift(copy);
  }
  savePins();
  emit('pins');
  return at < 0;
}

export function unpin(d) {
  state.pinned = state.pinned.filter((p) => p !== d);
  savePins();
  emit('pins');
}

/** Designs to choose from in Explore / Never existed: pinned first, then the grid. */
export function choices() {
  return [...state.pinned.map((d) => ({ d, label: `★ ${d.title}${className(d.label) ? ` · ${className(d.label)}` : ''}` })), ...state.grid.map((d) => ({ d, label: `${d.title}${className(d.label) ? ` · ${className(d.label)}` : ''}` }))];
}

export async function useModel(id) {
  const entry = state.models.find((m) => m.id === id) ?? state.models.find((m) => m.default) ?? state.models[0];
  if (!entry) return;
  const model = await loadGenerator(entry.modelUrl);
  state.tfModel?.dispose();
  state.tfModel = model;
  state.model = entry;
  state.subject = null;
  try {
    localStorage.setItem('fashion-gan:model', entry.id);
  } catch {
    // ignore
  }
  loadPins();
  emit('model');
}

export function setSubject(d) {
  state.subject = d;
  emit('subject', d);
}
