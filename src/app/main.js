// Boot: models, TF.js backend, tabs (hash routing), then each view wires itself up.
import { initDesign } from './design.js';
import { initExplore } from './explore.js';
import { initTf } from './gen.js';
import { initNever } from './never.js';
import { initRuns } from './runs.js';
import { emit, on, state, useModel } from './state.js';
import { el, getJson, toast } from './ui.js';

const $ = (id) => document.getElementById(id);
const VIEWS = ['design', 'explore', 'never', 'runs'];

function show(name) {
  if (!VIEWS.includes(name)) name = 'design';
  for (const v of VIEWS) {
    $(`view-${v}`).hidden = v !== name;
    const tab = $(`tab-${v}`);
    tab.classList.toggle('active', v === name);
    tab.setAttribute('aria-selected', String(v === name));
  }
  document.body.dataset.view = name;
  const want = name === 'runs' && location.hash.startsWith('#runs') ? location.hash : `#${name}`;
  if (location.hash !== want) history.replaceState(null, '', want);
  emit('view', name);
}

function fillModels() {
  const sel = $('model-select');
  if (!state.models.length) {
    sel.replaceChildren(el('option', { value: '' }, 'no generator yet'));
    sel.disabled = true;
    return;
  }
  sel.replaceChildren(...state.models.map((m) => el('option', { value: m.id }, m.label)));
  sel.value = state.model?.id ?? '';
}

async function boot() {
  for (const b of document.querySelectorAll('.tab')) b.addEventListener('click', () => show(b.dataset.tab));
  on('goto', show);
  initDesign();
  initExplore();
  initNever();
  const [info, models] = await Promise.all([getJson('/api/info'), getJson('/api/models'), initTf().then((b) => (state.backend = b))]);
  $('backend').textContent = `TF.js · ${state.backend}`;
  state.models = models;
  initRuns(info);
  $('model-select').addEventListener('change', async (ev) => {
    try {
      await useModel(ev.target.value);
      toast(`Designing with ${state.model.label}`);
    } catch (err) {
      toast(`Could not load ${ev.target.value}: ${err.message}`);
      fillModels();
    }
  });
  const initialView = location.hash.replace(/^#/, '').split('/')[0];
  if (!models.length) {
    fillModels();
    const empty = $('design-empty');
    empty.hidden = false;
    empty.replaceChildren(
      el('h2', {}, 'No generator yet'),
      el('p', {}, 'Train one and it appears here as soon as its generator is exported:'),
      el('code.cmd', {}, 'fashion-gan train --preset fmnist-lms --minutes 4'),
      el('p.muted', {}, `The app looks in ${info.modelsDir}/fashion/ and in the run folders of ${info.runsDir}/.`),
    );
    show(VIEWS.includes(initialView) ? initialView : 'runs');
    document.body.dataset.ready = '1';
    return;
  }
  let saved = null;
  try {
    saved = localStorage.getItem('fashion-gan:model');
  } catch {
    // ignore
  }
  const params = new URLSearchParams(location.search);
  const wanted = params.get('model') ?? saved;
  try {
    await useModel(models.some((m) => m.id === wanted) ? wanted : (models.find((m) => m.default) ?? models[0]).id);
  } catch (err) {
    toast(`Could not load the generator: ${err.message}`);
  }
  fillModels();
  show(VIEWS.includes(initialView) ? initialView : 'design');
  document.body.dataset.ready = '1';
}

boot().catch((err) => {
  console.error(err);
  document.body.dataset.ready = 'error';
  toast(`Start-up failed: ${err.message}`);
});
