/**
 * Screenshots of the app's views for the docs:
 *
 *   npx tsx scripts/screenshots.ts [--runs runs/] [--models models/] [--out docs/screenshots] [--run NAME] [--fixture]
 *
 * Starts `serve` on a runs folder, opens each view in headless Chromium (/usr/bin/chromium, or
 * $CHROMIUM) and writes design.png, explore.png, never-existed.png and runs.png. With --fixture
 * (or when --runs is not given) it builds the small fixture runs of test/fixture-runs.ts in a
 * temp folder first.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startServer } from '../src/server/index';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    models: { type: 'string' },
    out: { type: 'string', default: 'docs/screenshots' },
    run: { type: 'string' },
    fixture: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
  },
});

/** Hides the toast so it does not sit on top of a screenshot. */
const quiet = (page: import('playwright-core').Page) => page.evaluate(() => document.getElementById('toast')!.setAttribute('hidden', ''));

async function main() {
  let runsDir = args.runs;
  let modelsDir = args.models;
  let tmp: string | null = null;
  if (!runsDir || args.fixture) {
    const { makeFixtureRuns } = await import('../test/fixture-runs');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fashion-gan-shots-'));
    runsDir = path.join(tmp, 'runs');
    fs.mkdirSync(runsDir);
    await makeFixtureRuns(runsDir, { dataDir: args['data-dir'], historyPng: true });
    // Point the models folder somewhere empty so the fixture, not a shipped model, is shown.
    modelsDir ??= path.join(tmp, 'models');
    process.stderr.write(`fixture runs in ${runsDir}\n`);
  }
  const server = await startServer({ port: 0, host: '127.0.0.1', runsDir, modelsDir, dataDir: args['data-dir'] });
  const out = path.resolve(args.out!);
  fs.mkdirSync(out, { recursive: true });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 960 }, deviceScaleFactor: 1 });
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
    page.on('console', (m) => m.type() === 'error' && process.stderr.write(`console: ${m.text()}\n`));
    await page.goto(`${server.url}#design`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.waitForSelector('#grid[data-status="ready"]');
    // Pin a few designs so Explore and the pinned panel have something to show.
    for (const i of [1, 4, 6]) await page.locator('#grid .design-card').nth(i).locator('[data-testid="pin"]').click();
    await page.mouse.move(0, 0);
    await page.waitForTimeout(300);
    await quiet(page);
    await page.screenshot({ path: path.join(out, 'design.png'), fullPage: false });

    await page.click('#tab-explore');
    await page.selectOption('#morph-a', { index: 0 });
    await page.selectOption('#morph-b', { index: 1 });
    await page.locator('#morph-slider').fill('40');
    for (let i = 0; i < 4; i++) await page.click('#nudge-step');
    await page.waitForTimeout(400);
    await quiet(page);
    await page.screenshot({ path: path.join(out, 'explore.png') });

    await page.click('#tab-design');
    await page.locator('#grid .design-card').nth(2).locator('button[title^="Never existed"]').click();
    await page.waitForSelector('#never-results[data-status="ready"]', { timeout: 120_000 });
    await page.waitForTimeout(200);
    await quiet(page);
    await page.screenshot({ path: path.join(out, 'never-existed.png') });

    await page.click('#tab-runs');
    if (args.run) await page.click(`[data-run="${args.run}"]`);
    await page.waitForSelector('#run-detail[data-status="ready"]');
    await page.waitForTimeout(600);
    await quiet(page);
    await page.screenshot({ path: path.join(out, 'runs.png'), fullPage: true });
    process.stderr.write(`wrote ${['design', 'explore', 'never-existed', 'runs'].map((n) => path.join(path.relative(process.cwd(), out), `${n}.png`)).join(', ')}\n`);
  } finally {
    await browser.close();
    await server.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
