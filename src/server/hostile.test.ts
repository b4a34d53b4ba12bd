/**
 * `fashion-gan serve` as a real process on loopback against a hostile local client: a folder
 * swapped for a symlink while it is read, floods of look-ups, aborted uploads, Expect:
 * 100-continue with an oversized body. Every request gets an answer, nothing outside the
 * runs folder leaks, the page stays responsive, and memory stays flat.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixtureRuns } from '../../test/fixture-runs';
import { tempDir } from '../../test/fixtures';
import { pool, request, socketExchange, startServeProcess, type Answer, type ServeProcess } from '../../test/serve-process';
import { sampleFileName } from '../run/paths';

const SWAPPER = fileURLToPath(new URL('../../test/swapper.mjs', import.meta.url));
const INSIDE = 'INSIDE-OK';
const OUTSIDE = 'OUTSIDE-SECRET';
const SAMPLE = sampleFileName(1, 1);
/** A sample grid only the outside folder has: its name must not show up in listings either. */
const OUTSIDE_ONLY = sampleFileName(9, 9);

let tmp: { dir: string; cleanup: () => void };
let runsDir: string;
let server: ServeProcess;
/** The server's memory once warmed up (data set loaded, a round of every kind of request done). */
let rssBefore = 0;
const report: string[] = [];

/** A design for the look-up: 784 values in [-1, 1]. */
const design = (seed: number) => JSON.stringify({ model: 'run:fmnist-tiny', pixels: Array.from({ length: 784 }, (_, i) => Math.sin(seed * 7.1 + i * 0.37)), k: 8 });
const lookUp = (seed: number) => request(server.port, 'POST', '/api/nearest', { body: design(seed), headers: { 'Content-Type': 'application/json' }, timeoutMs: 120_000 });

beforeAll(async () => {
  tmp = tempDir('fashion-gan-hostile-');
  runsDir = path.join(tmp.dir, 'runs');
  fs.mkdirSync(runsDir);
  // Look-ups search the full Fashion-MNIST training set (the repo's copy): 60,000 images.
  await makeFixtureRuns(runsDir, { stepsPerEpoch: 20, epochs: 2 });
  // Run "c": the one the race flips. Inside and outside hold the same names with different bytes.
  const c = path.join(runsDir, 'c');
  const outside = path.join(tmp.dir, 'outside');
  fs.mkdirSync(path.join(c, 'samples'), { recursive: true });
  fs.mkdirSync(path.join(outside, 'samples'), { recursive: true });
  const config = (marker: string) => JSON.stringify({ dataset: 'fashion-mnist', latentDim: 16, imageShape: [28, 28, 1], marker });
  fs.writeFileSync(path.join(c, 'config.json'), config(INSIDE));
  fs.writeFileSync(path.join(c, 'samples', SAMPLE), `${INSIDE}\n`.repeat(2000));
  fs.writeFileSync(path.join(c, 'progress.gif'), `${INSIDE}\n`.repeat(500));
  fs.writeFileSync(path.join(c, 'history.jsonl'), '{"step":1}\n');
  fs.writeFileSync(path.join(outside, 'config.json'), config(OUTSIDE));
  fs.writeFileSync(path.join(outside, 'samples', SAMPLE), `${OUTSIDE}\n`.repeat(2000));
  fs.writeFileSync(path.join(outside, 'samples', OUTSIDE_ONLY), OUTSIDE);
  server = await startServeProcess(['--runs', runsDir, '--models', path.join(tmp.dir, 'no-models')]);
  // Warm-up: the worker loads the data set, and a round of every kind of request brings the
  // allocator and V8's heaps to their working size.
  expect((await lookUp(0)).status).toBe(200);
  await pool(600, 24, (i) => request(server.port, 'GET', ['/', `/runs/c/samples/${SAMPLE}`, '/api/runs/c', '/runs/c/config.json', '/runs/c/progress.gif', '/vendor/tf.min.js'][i % 6]!));
  await Promise.all(Array.from({ length: 100 }, (_, i) => lookUp(i)));
  rssBefore = await settledRss();
});

/** The server's memory once it has settled: the least of a few readings over two seconds. */
async function settledRss(): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < 9; i++) {
    least = Math.min(least, server.rssMb());
    await new Promise((r) => setTimeout(r, 250));
  }
  return least;
}

afterAll(async () => {
  await server?.stop();
  tmp?.cleanup();
  if (report.length) process.stderr.write(`hostile-client results:\n  ${report.join('\n  ')}\n`);
});

/** Counts of answers by status (0: none). */
function byStatus(answers: Answer[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const a of answers) out[a.status] = (out[a.status] ?? 0) + 1;
  return out;
}

describe('serve against a hostile local client', () => {
  it('never serves a byte from outside while a folder is swapped for a symlink, and answers every request', async () => {
    const swapper = spawn(process.execPath, [SWAPPER, path.join(runsDir, 'c'), path.join(tmp.dir, 'outside'), '240000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let rounds = '';
    swapper.stdout.on('data', (d) => (rounds += d));
    const swapped = new Promise<void>((resolve) => swapper.once('exit', () => resolve()));
    const paths = [`/runs/c/samples/${SAMPLE}`, `/runs/c/samples/${SAMPLE}`, '/runs/c/config.json', '/runs/c/progress.gif', '/api/runs/c', `/runs/c/samples/${OUTSIDE_ONLY}`];
    const total = 3000;
    const answers = await pool(total, 24, (i) => request(server.port, 'GET', paths[i % paths.length]!, { timeoutMs: 60_000 }));
    swapper.kill('SIGTERM');
    await swapped;
    const leaked = answers.filter((a) => a.body.includes(OUTSIDE) || a.body.includes(OUTSIDE_ONLY));
    const unanswered = answers.filter((a) => a.status === 0);
    const statuses = byStatus(answers);
    report.push(`symlink race: ${total} requests during ${rounds.trim()} swap rounds: ${JSON.stringify(statuses)}; ${leaked.length} with outside bytes, ${unanswered.length} without an answer`);
    expect(unanswered.map((a) => a.failure)).toEqual([]);
    expect(leaked).toHaveLength(0);
    expect(Object.keys(statuses).map(Number).every((s) => s === 200 || s === 403 || s === 404)).toBe(true);
    // Whole answers only: a 200 for a file carries exactly the inside file.
    for (const [i, a] of answers.entries()) if (a.status === 200 && i % paths.length < 2) expect(a.body.toString()).toBe(`${INSIDE}\n`.repeat(2000));
    // The race was live: the same URL was both served and refused while the swapper ran.
    const sample = answers.filter((_, i) => i % paths.length < 2);
    expect(sample.some((a) => a.status === 200)).toBe(true);
    expect(sample.some((a) => a.status !== 200)).toBe(true);
    expect(server.stderr()).not.toMatch(/\n\s+at |ENOENT|Error:/);
  });

  it('keeps the page responsive during 30 look-ups and refuses the surplus of 100 with 503', async () => {
    const start = performance.now();
    const thirty = Array.from({ length: 30 }, (_, i) => lookUp(100 + i));
    const pageTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await request(server.port, 'GET', '/');
      expect(page.status).toBe(200);
      pageTimes.push(page.ms);
    }
    const pagesDone = performance.now() - start;
    const thirtyAnswers = await Promise.all(thirty);
    const lastLookUp = Math.max(...thirtyAnswers.map((a) => a.ms));
    const s30 = byStatus(thirtyAnswers);
    const t0 = performance.now();
    const hundred = await Promise.all(Array.from({ length: 100 }, (_, i) => lookUp(200 + i)));
    const s100 = byStatus(hundred);
    const refused = hundred.filter((a) => a.status === 503);
    report.push(`30 look-ups: ${JSON.stringify(s30)}, GET / meanwhile ${pageTimes.map((t) => t.toFixed(0)).join(', ')} ms; 100 look-ups: ${JSON.stringify(s100)} in ${((performance.now() - t0) / 1000).toFixed(1)} s, slowest refusal ${Math.max(...refused.map((a) => a.ms)).toFixed(0)} ms`);
    // The look-ups were still running when the page had answered five times.
    expect(lastLookUp).toBeGreaterThan(pagesDone);
    expect(Math.max(...pageTimes)).toBeLessThan(1000);
    expect((s30[200] ?? 0) + (s30[503] ?? 0)).toBe(30);
    expect(s30[200]).toBeGreaterThanOrEqual(1);
    expect((s100[200] ?? 0) + (s100[503] ?? 0)).toBe(100);
    expect(s100[200]).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThanOrEqual(50);
    for (const a of refused) {
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(a.body.toString()).error).toMatch(/busy/);
    }
    for (const a of hundred.filter((x) => x.status === 200)) expect(JSON.parse(a.body.toString()).neighbours).toHaveLength(8);
  });

  it('shrugs off aborted uploads: no error output, and their places in line are given back', async () => {
    const before = server.stderr();
    const aborted = await Promise.all(
      Array.from({ length: 12 }, () => socketExchange(server.port, `POST /api/nearest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 6000\r\n\r\n{"model": "run:fmnist-tiny", "pix`, { timeoutMs: 500 })),
    );
    // Each client leaves mid-body: no answer was due yet, except a 503 to those beyond the line.
    for (const r of aborted) expect(r.text === '' || r.text.startsWith('HTTP/1.1 503 ')).toBe(true);
    expect(aborted.filter((r) => r.text === '').length).toBeGreaterThanOrEqual(1);
    // 12 aborted uploads are more than the line holds (1 searching + 8 waiting): a look-up still gets in.
    await expect.poll(async () => (await lookUp(7)).status, { timeout: 120_000, interval: 200 }).toBe(200);
    expect((await request(server.port, 'GET', '/')).status).toBe(200);
    expect(server.stderr().slice(before.length)).toBe('');
  });

  it('answers Expect: 100-continue with 413 for an oversized body, and continues one that fits', async () => {
    const big = await socketExchange(server.port, 'POST /api/nearest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\nExpect: 100-continue\r\n\r\n');
    expect(big.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(big.text).not.toContain('100 Continue');
    const body = design(3);
    const ok = await socketExchange(server.port, `POST /api/nearest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`, {
      then: (sofar) => (sofar.startsWith('HTTP/1.1 100 Continue\r\n\r\n') ? body : null),
      timeoutMs: 120_000,
    });
    expect(ok.text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(ok.text).toContain('"neighbours"');
  });

  it('keeps its memory flat across the load', async () => {
    // V8 gives memory back when it likes, so RSS may drop or lag; a leak would stay. Wait for
    // it to come within 16 MB of the warmed-up size (up to 30 s).
    let after = await settledRss();
    for (const deadline = Date.now() + 30_000; after - rssBefore >= 16 && Date.now() < deadline; ) after = await settledRss();
    report.push(`server RSS: ${rssBefore.toFixed(1)} MB after warm-up, ${after.toFixed(1)} MB after the load`);
    expect(after - rssBefore).toBeLessThan(16);
    expect(server.stderr()).not.toMatch(/\n\s+at /);
  });
});
