// How long the app takes to show its first designs from the shipped generator, in headless
// Chromium on this machine: page load → model loaded (body[data-ready]) → first grid drawn, and
// tf.loadLayersModel of the generator alone in the loaded page.
// Usage: npx tsx scripts/app-load-time.ts [--runs 5]   (needs /usr/bin/chromium or CHROMIUM=…)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../src/server/index';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 5;

if (!fs.existsSync(CHROMIUM)) {
  console.error(`app-load-time: no Chromium at ${CHROMIUM} (set CHROMIUM=…)`);
  process.exit(2);
}
const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fashion-gan-load-'));
const server = await startServer({ port: 0, host: '127.0.0.1', runsDir });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
const rows: { ready: number; grid: number; model: number }[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } }); // a cold cache each time
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(`${server.url}?model=model:fashion#design`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 120_000 });
    const ready = Date.now() - t0;
    await page.waitForFunction(() => (document.querySelector('#grid') as HTMLElement | null)?.dataset.status === 'ready' && !!document.querySelector('#grid .design-card canvas'), undefined, { timeout: 120_000 });
    const grid = Date.now() - t0;
    // The generator alone: model.json fetched again (a fresh query), parsed, weights read (the
    // HTTP cache may serve those), in the loaded page.
    const model = await page.evaluate(async (url) => {
      const g = globalThis as unknown as { tf: { loadLayersModel(u: string): Promise<{ dispose(): void }> } };
      const t = performance.now();
      const m = await g.tf.loadLayersModel(`${url}?fresh=${Math.random()}`);
      const ms = performance.now() - t;
      m.dispose();
      return ms;
    }, await page.evaluate(async () => ((await (await fetch('/api/models')).json()) as { modelUrl: string }[])[0]!.modelUrl));
    rows.push({ ready, grid, model: Math.round(model) });
    await context.close();
  }
} finally {
  await browser.close();
  await server.close();
  fs.rmSync(runsDir, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const weights = fs.statSync(path.join(import.meta.dirname, '..', 'models', 'fashion', 'generator', 'weights.bin')).size;
console.log(`shipped generator (${(weights / 1e6).toFixed(1)} MB of weights), ${runs} cold page loads in headless Chromium:`);
console.log(`  page load to model ready: median ${median(rows.map((r) => r.ready))} ms (${rows.map((r) => r.ready).join(', ')})`);
console.log(`  page load to first grid:  median ${median(rows.map((r) => r.grid))} ms (${rows.map((r) => r.grid).join(', ')})`);
console.log(`  the generator alone (tf.loadLayersModel in the page): median ${median(rows.map((r) => r.model))} ms (${rows.map((r) => r.model).join(', ')})`);
