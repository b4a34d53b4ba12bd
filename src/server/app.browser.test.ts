/**
 * The app in real headless Chromium against a fixture runs folder: Design (generate, reroll,
 * categories, pins), Explore (morph slider, nudge), Never existed, Runs (charts, live updates).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { initBackend } from '../backends/index';
import { FileModelIO } from '../backends/fileio';
import { toPixels } from '../output/image';
import { Rng } from '../util/rng';
import { makeFixtureRuns } from '../../test/fixture-runs';
import { startServer, type RunningServer } from './index';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let tmp: { dir: string; cleanup: () => void };
let runsDir: string;
let server: RunningServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const foreignRequests: string[] = [];

/** Pixel statistics of a canvas in the page: mean and standard deviation of the red channel. */
async function canvasStats(selector: string): Promise<{ mean: number; std: number; sig: string }> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let s = 0;
    let s2 = 0;
    let n = 0;
    let sig = '';
    for (let i = 0; i < data.length; i += 4) {
      s += data[i]!;
      s2 += data[i]! * data[i]!;
      n++;
      if (i % 400 === 0) sig += data[i]!.toString(16);
    }
    const mean = s / n;
    return { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)), sig };
  });
}

const skip = !fs.existsSync(CHROMIUM);
const WAIT_MS = 120_000;
const poll = { timeout: WAIT_MS, interval: 100 };

beforeAll(async () => {
  if (skip) return;
  tmp = tempDir('fashion-gan-app-');
  const dataDir = path.join(tmp.dir, 'data');
  writeTinyFashion(dataDir, 200, 40);
  runsDir = path.join(tmp.dir, 'runs');
  fs.mkdirSync(runsDir);
  await makeFixtureRuns(runsDir, { dataDir, stepsPerEpoch: 20, epochs: 3 });
  server = await startServer({ port: 0, host: '127.0.0.1', runsDir, modelsDir: path.join(tmp.dir, 'no-models'), dataDir });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // A loaded 2-core machine can be slow: every wait below polls until this deadline instead of sleeping.
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  page.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  // Start on the unconditional run.
  await page.goto(`${server.url}?model=run:fmnist-tiny#design`);
  await page.waitForSelector('body[data-ready="1"]');
  await page.waitForSelector('#grid[data-status="ready"]');
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  tmp?.cleanup();
});

describe.skipIf(skip)('app in Chromium', () => {
  it('designs a grid in the page and rerolls it', async () => {
    expect(await page.locator('#grid .design-card').count()).toBe(16);
    const first = await canvasStats('#grid .design-card canvas');
    expect(first.std).toBeGreaterThan(5); // not blank
    expect(await page.locator('#grid .design-card .seed').first().textContent()).toBe('seed 0');
    const before = await page.$eval('#grid', (g) => (g as HTMLElement).dataset.renders);
    await page.click('#reroll');
    await page.waitForFunction((b) => (document.querySelector('#grid') as HTMLElement).dataset.renders !== b && (document.querySelector('#grid') as HTMLElement).dataset.status === 'ready', before);
    const after = await canvasStats('#grid .design-card canvas');
    expect(after.std).toBeGreaterThan(5);
    expect(after.sig).not.toBe(first.sig);
    const seed = Number(await page.inputValue('#seed-input'));
    expect(await page.locator('#grid .design-card .seed').first().textContent()).toBe(`seed ${seed}`);
    expect(await page.textContent('#cli-line')).toContain(`--seed ${seed} --count 16`);
  });

  it('draws latents bit-identical to the CLI and the same images', async () => {
    // The page's RNG module is the CLI's src/util/rng.ts.
    // (A string, so vitest's transform leaves the page's dynamic import alone.)
    const pageLatent = await page.evaluate("import('/lib/rng.js').then((m) => Array.from(new m.Rng(4242).normal(16)))");
    expect(pageLatent).toEqual(Array.from(new Rng(4242).normal(16)));
    // Seed 3's design in the page vs the same generator in Node.
    await page.fill('#seed-input', '3');
    await page.dispatchEvent('#seed-input', 'change');
    await page.waitForFunction(() => document.querySelector('#grid .design-card .seed')?.textContent === 'seed 3' && (document.querySelector('#grid') as HTMLElement).dataset.status === 'ready');
    const shown = await page.$eval('#grid .design-card canvas', (c) => {
      const canvas = c as HTMLCanvasElement;
      const scale = canvas.width / 28;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const out: number[] = [];
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out.push(data[((y * scale + 1) * canvas.width + x * scale + 1) * 4]!);
      return out;
    });
    await initBackend('cpu');
    const model = await tf.loadLayersModel(new FileModelIO(path.join(runsDir, 'fmnist-tiny', 'generator')));
    const y = model.predict(tf.tensor2d(new Rng(3).normal(16), [1, 16])) as tf.Tensor;
    const expected = toPixels(y.dataSync());
    tf.dispose([y]);
    model.dispose();
    const maxDiff = Math.max(...shown.map((v, i) => Math.abs(v - expected[i]!)));
    expect(maxDiff).toBeLessThanOrEqual(2);
  });

  it('downloads a design as a PNG at a readable size', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#grid .design-card').first().locator('button[title="Download PNG"]').click()]);
    expect(download.suggestedFilename()).toMatch(/^design-seed\d+\.png$/);
    const file = path.join(tmp.dir, 'download.png');
    await download.saveAs(file);
    const { decodePng } = await import('../output/image');
    const img = decodePng(fs.readFileSync(file));
    expect(img.width).toBe(448);
    expect(img.height).toBe(448);
  });

  it('pins favourites', async () => {
    await page.locator('#grid .design-card').nth(1).locator('[data-testid="pin"]').click();
    await page.locator('#grid .design-card').nth(2).locator('[data-testid="pin"]').click();
    await expect.poll(() => page.locator('#pinned .pin-item').count(), poll).toBe(2);
    expect(await page.textContent('#pin-count')).toBe('2');
  });

  it('morphs between two designs with the slider and nudges one', async () => {
    await page.click('#tab-explore');
    await page.waitForFunction(() => (document.querySelector('#morph-canvas') as HTMLCanvasElement).width > 0);
    const keys = await page.$$eval('#morph-a option', (o) => o.map((x) => (x as HTMLOptionElement).value));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    await page.selectOption('#morph-a', keys[0]!);
    await page.selectOption('#morph-b', keys[1]!);
    await page.locator('#morph-slider').fill('0');
    await page.waitForFunction(() => (document.querySelector('#morph-canvas') as HTMLElement).dataset.t === '0.00');
    const at0 = await canvasStats('#morph-canvas');
    await page.locator('#morph-slider').fill('100');
    await page.waitForFunction(() => (document.querySelector('#morph-canvas') as HTMLElement).dataset.t === '1.00');
    const at1 = await canvasStats('#morph-canvas');
    await page.locator('#morph-slider').fill('50');
    await page.waitForFunction(() => (document.querySelector('#morph-canvas') as HTMLElement).dataset.t === '0.50');
    const mid = await canvasStats('#morph-canvas');
    expect(at0.std).toBeGreaterThan(5);
    expect(at1.sig).not.toBe(at0.sig);
    expect(mid.sig).not.toBe(at0.sig);
    expect(await page.locator('#morph-strip canvas').count()).toBe(9);

    const n0 = await canvasStats('#nudge-canvas');
    await page.fill('#nudge-size', '1');
    await page.click('#nudge-step');
    await page.waitForFunction(() => (document.querySelector('#nudge-canvas') as HTMLElement).dataset.step === '1');
    const n1 = await canvasStats('#nudge-canvas');
    expect(n1.sig).not.toBe(n0.sig);
    expect(await page.textContent('#nudge-info')).toMatch(/\+ 1 nudge/);
  });

  it('shows the nearest training images of a design', async () => {
    await page.click('#tab-design');
    await page.locator('#grid .design-card').first().locator('button[title^="Never existed"]').click();
    await page.waitForSelector('#never-results[data-status="ready"]');
    expect(await page.locator('#never-results [data-testid="nn-item"]').count()).toBe(8);
    expect(await page.textContent('#never-verdict')).toMatch(/Nearest of 200 training images: #\d+ .* at distance \d/);
    expect((await canvasStats('#never-results canvas')).std).toBeGreaterThan(5);
  });

  it('switches to a conditional model and designs one category', async () => {
    await page.click('#tab-design');
    await page.selectOption('#model-select', 'run:fmnist-cond');
    await page.waitForSelector('#class-field:not([hidden])');
    await page.selectOption('#class-select', '7');
    await page.waitForFunction(() => Array.from(document.querySelectorAll('#grid .design-card .chip')).every((c) => c.textContent === 'Sneaker') && (document.querySelector('#grid') as HTMLElement).dataset.status === 'ready');
    expect(await page.textContent('#cli-line')).toMatch(/--run .*fmnist-cond .*--class 7/);
  });

  it('opens a run, draws its charts and follows the history live', async () => {
    await page.click('#tab-runs');
    await page.waitForSelector('#run-list [data-testid="run-item"]');
    await page.click('[data-run="fmnist-tiny"]');
    await page.waitForFunction(() => document.querySelector('.run-title h2')?.textContent === 'fmnist-tiny' && (document.querySelector('#run-detail') as HTMLElement).dataset.status === 'ready');
    expect(await page.locator('#chart-loss svg path.line').count()).toBe(2);
    expect(await page.locator('#chart-acc svg path.line').count()).toBe(2);
    expect(await page.locator('#chart-metrics svg path.line').count()).toBe(3); // fd, kid, classifier score: not imagesSeen
    expect(await page.getAttribute('#run-gif', 'src')).toMatch(/progress\.gif/);
    // The run is 'ready' once its data is in; the sample image may still be loading.
    await expect.poll(() => page.locator('#sample-img').evaluate((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0), poll).toBe(true);
    expect(await page.textContent('#reports')).toContain('compare.md');
    const rows = Number(await page.getAttribute('#run-detail', 'data-rows'));
    expect(rows).toBe(60);
    const d0 = await page.getAttribute('#chart-loss svg path.line', 'd');
    // Training goes on: the page picks up new rows without a reload.
    const more = Array.from({ length: 30 }, (_, i) => JSON.stringify({ step: 61 + i, epoch: 4, gen_loss: 3, disc_loss: 0.2, real_accuracy: 0.9, fake_accuracy: 0.1, seconds: 10 + i })).join('\n');
    fs.appendFileSync(path.join(runsDir, 'fmnist-tiny', 'history.jsonl'), `${more}\n`);
    await page.waitForFunction(() => (document.querySelector('#run-detail') as HTMLElement).dataset.rows === '90');
    await expect.poll(() => page.getAttribute('#chart-loss svg path.line', 'd'), poll).not.toBe(d0);
  });

  it('made no requests off the machine and raised no page errors', () => {
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
