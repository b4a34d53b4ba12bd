/**
 * The README's promise for the real shipped model: `fashion-gan generate --seed S --count 16`
 * writes the grid the app's Design view draws for seed S — the class-conditional DCGAN in
 * models/fashion, run by the page in headless Chromium and by the CLI as a real process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/fixtures';
import { decodePng } from '../output/image';
import { gridScale } from '../training/artifacts';
import { startServer, type RunningServer } from './index';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BIN = fileURLToPath(new URL('../../bin/fashion-gan.js', import.meta.url));
const MODEL = fileURLToPath(new URL('../../models/fashion', import.meta.url));
const skip = !fs.existsSync(CHROMIUM) || !fs.existsSync(path.join(MODEL, 'generator', 'model.json'));
const SEED = 4242;
const COUNT = 16;
const H = 28;
const W = 28;
const CLASSES = 10;
const STRIP = 9; // the app's morph strip (src/app/explore.js)

let tmp: { dir: string; cleanup: () => void };
let server: RunningServer;
let browser: Browser;
let page: Page;
let backend = '';

beforeAll(async () => {
  if (skip) return;
  tmp = tempDir('fashion-gan-app-generate-');
  const runsDir = path.join(tmp.dir, 'runs');
  fs.mkdirSync(runsDir);
  server = await startServer({ port: 0, host: '127.0.0.1', runsDir }); // models/: the shipped generator
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(120_000);
  await page.goto(`${server.url}?model=model:fashion#design`);
  await page.waitForSelector('body[data-ready="1"]');
  backend = (await page.textContent('#backend')) ?? '';
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  tmp?.cleanup();
});

/** The 28×28 designs drawn on the page's canvases under `selector` (red channel; the model draws grey). */
async function canvasDesigns(selector: string): Promise<number[][]> {
  return page.$$eval(
    selector,
    (canvases, [h, w]) =>
      canvases.map((c) => {
        const canvas = c as HTMLCanvasElement;
        const scale = canvas.width / w;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        const out: number[] = [];
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.push(data[((y * scale + Math.floor(scale / 2)) * canvas.width + x * scale + Math.floor(scale / 2)) * 4]!);
        return out;
      }),
    [H, W] as const,
  );
}

/** The page's grid: each card's design. */
const pageGrid = () => canvasDesigns('#grid .design-card canvas');

/** `fashion-gan generate` as a user runs it; returns each tile of the PNG grid it writes. */
function cliGrid(extra: string[]): number[][] {
  const out = path.join(tmp.dir, `generate-${extra.join('-') || 'default'}.png`);
  const r = spawnSync(process.execPath, [BIN, 'generate', '--seed', String(SEED), '--count', String(COUNT), '--out', out, ...extra], { encoding: 'utf8', timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  return tiles(decodePng(fs.readFileSync(out)), COUNT, Math.min(COUNT, CLASSES));
}

/**
 * The tiles of a grid `generate` wrote: `count` designs in `cols` columns (a conditional grid has
 * one class per column), with the caption band (class names) above the tiles.
 */
function tiles(img: { width: number; height: number; data: Uint8Array }, count: number, cols: number): number[][] {
  const scale = gridScale(H);
  const pad = 2; // tileGrid's default
  const rows = Math.ceil(count / cols);
  const band = img.height - (pad + rows * (H * scale + pad));
  return Array.from({ length: count }, (_, i) => {
    const ox = pad + (i % cols) * (W * scale + pad);
    const oy = band + pad + Math.floor(i / cols) * (H * scale + pad);
    const tile: number[] = [];
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) tile.push(img.data[((oy + y * scale) * img.width + ox + x * scale) * 4]!);
    return tile;
  });
}

/** Largest difference of any pixel, and how many differ at all. */
function compare(a: number[][], b: number[][]) {
  let max = 0;
  let differing = 0;
  a.forEach((tile, i) =>
    tile.forEach((v, p) => {
      const d = Math.abs(v - b[i]![p]!);
      if (d > 0) differing++;
      max = Math.max(max, d);
    }),
  );
  return { max, differing };
}

describe.skipIf(skip)('generate and the app, on the shipped model', () => {
  it(`draws the same grid for seed ${SEED} in the page as \`generate --seed ${SEED} --count ${COUNT}\``, async () => {
    await page.fill('#seed-input', String(SEED));
    await page.dispatchEvent('#seed-input', 'change');
    await page.waitForFunction((s) => document.querySelector('#grid .design-card .seed')?.textContent === `seed ${s}` && (document.querySelector('#grid') as HTMLElement).dataset.status === 'ready', SEED);
    expect(await page.textContent('#cli-line')).toContain(`--seed ${SEED} --count ${COUNT}`);
    const shown = await pageGrid();
    expect(shown).toHaveLength(COUNT);
    // Real designs, not a blank or a constant grid.
    for (const tile of shown) expect(new Set(tile).size).toBeGreaterThan(20);
    const results: string[] = [];
    for (const extra of [['--backend', 'cpu'], []]) { // cpu, and what a user gets by default (auto)
      const written = cliGrid(extra);
      const diff = compare(shown, written);
      results.push(`${extra.join(' ') || '--backend auto'}: ${diff.differing} of ${COUNT * H * W} pixels differ, by at most ${diff.max}`);
      // To the pixel: the page's backend (webgl or cpu) and the CLI's round to the same bytes.
      expect(diff.differing, results.join('; ')).toBe(0);
    }
    process.stderr.write(`page (${backend}) vs generate: ${results.join('; ')}\n`);
  });

  it(`morphs design ${SEED} into design ${SEED + 1} as \`generate --interpolate --seed ${SEED} --count ${STRIP}\` does`, async () => {
    // Explore's defaults: A = the grid's first design (seed S), B = the next (seed S + 1).
    await page.click('#tab-explore');
    await page.waitForFunction((s) => (document.querySelector('#morph-a') as HTMLSelectElement)?.selectedOptions[0]?.textContent?.includes(`seed ${s}`) && document.querySelectorAll('#morph-strip canvas').length > 0, SEED);
    const picked = await page.$eval('#morph-a', (s) => (s as HTMLSelectElement).selectedOptions[0]?.textContent ?? '');
    const other = await page.$eval('#morph-b', (s) => (s as HTMLSelectElement).selectedOptions[0]?.textContent ?? '');
    expect(picked).toContain(`seed ${SEED}`);
    expect(other).toContain(`seed ${SEED + 1}`);
    const strip = await canvasDesigns('#morph-strip canvas');
    expect(strip).toHaveLength(STRIP);
    const out = path.join(tmp.dir, 'morph.png');
    const r = spawnSync(process.execPath, [BIN, 'generate', '--interpolate', '--seed', String(SEED), '--count', String(STRIP), '--out', out, '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const written = tiles(decodePng(fs.readFileSync(out)), STRIP, STRIP);
    const diff = compare(strip, written);
    process.stderr.write(`page morph vs generate --interpolate: ${diff.differing} of ${STRIP * H * W} pixels differ, by at most ${diff.max}\n`);
    expect(diff.differing).toBe(0);
    // The class switches halfway, in the page and in the CLI's record of what it drew.
    expect(JSON.parse(r.stdout).classes).toEqual(['T-shirt/top', 'T-shirt/top', 'T-shirt/top', 'T-shirt/top', 'Trouser', 'Trouser', 'Trouser', 'Trouser', 'Trouser']);
  });
});
