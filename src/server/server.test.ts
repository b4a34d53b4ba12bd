import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTinyFashion } from '../../test/fixtures';
import { request, socketExchange } from '../../test/serve-process';
import { UserError } from '../errors';
import { makeFixtureRuns } from '../../test/fixture-runs';
import { MAX_BODY_BYTES, startServer, type RunningServer } from './index';
import { splitRequestPath } from './safepath';

/** A raw HTTP request: the path goes on the wire exactly as given (no URL normalisation). */
async function raw(port: number, method: string, rawPath: string, body?: string | Buffer, headers: Record<string, string> = {}) {
  const a = await request(port, method, rawPath, { body, headers, timeoutMs: 120_000 });
  if (a.status === 0) throw new Error(`${method} ${rawPath}: no answer (${a.failure})`);
  return { status: a.status, headers: a.headers, body: a.body.toString('utf8') };
}

/** Bytes straight onto a socket, for requests no HTTP client would send. */
const socketSend = async (port: number, payload: string) => (await socketExchange(port, payload, { timeoutMs: 60_000 })).text;

let tmp: { dir: string; cleanup: () => void };
let runsDir: string;
let dataDir: string;
let outside: string;
let server: RunningServer;
let port: number;

beforeAll(async () => {
  tmp = tempDir('fashion-gan-serve-');
  dataDir = path.join(tmp.dir, 'data');
  writeTinyFashion(dataDir, 200, 40);
  runsDir = path.join(tmp.dir, 'runs');
  fs.mkdirSync(runsDir);
  await makeFixtureRuns(runsDir, { dataDir, stepsPerEpoch: 20, epochs: 3 });
  // Things that must stay private or out of reach.
  outside = path.join(tmp.dir, 'outside');
  fs.mkdirSync(path.join(outside, 'generator'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret.json'), '{"secret":true}');
  fs.copyFileSync(path.join(runsDir, 'fmnist-tiny', 'config.json'), path.join(outside, 'config.json'));
  fs.symlinkSync(path.join(outside, 'secret.json'), path.join(runsDir, 'fmnist-tiny', 'evil.json'));
  fs.symlinkSync(path.join(outside, 'secret.json'), path.join(runsDir, 'fmnist-tiny', 'samples', 'evil.png'));
  fs.symlinkSync(outside, path.join(runsDir, 'linked-out'));
  fs.symlinkSync(path.join(runsDir, 'fmnist-tiny', 'compare.md'), path.join(runsDir, 'fmnist-tiny', 'inside-link.md'));
  fs.mkdirSync(path.join(runsDir, 'fmnist-tiny', 'checkpoint'));
  fs.writeFileSync(path.join(runsDir, 'fmnist-tiny', 'checkpoint', 'latest.fgck'), 'private');
  fs.writeFileSync(path.join(runsDir, 'overview.md'), '# all runs\n');
  // Files a run folder may hold that are not the contract's public outputs.
  fs.writeFileSync(path.join(runsDir, 'fmnist-tiny', 'secret.txt'), 'private');
  fs.writeFileSync(path.join(runsDir, 'fmnist-tiny', 'notes.json'), '{"private": true}');
  fs.writeFileSync(path.join(runsDir, 'fmnist-tiny', 'samples', 'planted.png'), 'private');
  fs.writeFileSync(path.join(runsDir, 'fmnist-tiny', 'generator', 'extra.bin'), 'private');
  // A FIFO where a public file belongs: opening it must not wait for a writer.
  execFileSync('mkfifo', [path.join(runsDir, 'fmnist-cond', 'history.png')]);
  server = await startServer({ port: 0, host: '127.0.0.1', runsDir, modelsDir: path.join(tmp.dir, 'no-models'), dataDir, bodyTimeoutMs: 1500 });
  port = server.port;
});

afterAll(async () => {
  await server?.close();
  tmp?.cleanup();
});

describe('splitRequestPath', () => {
  it('decodes segments and refuses climbing out', () => {
    expect(splitRequestPath('/')).toEqual([]);
    expect(splitRequestPath('/runs/a%20b/config.json')).toEqual(['runs', 'a b', 'config.json']);
    for (const bad of ['/runs/../x', '/runs/%2e%2e/x', '/runs/%2E%2E/x', '/runs/..%2fx', '/runs/a%5cb', '//etc/passwd', '/runs/%00', '/runs/%zz', 'runs/x', '/runs/./x', '/runs/C:/x']) {
      expect(() => splitRequestPath(bad), bad).toThrow();
    }
  });
});

describe('serve: files and API', () => {
  it('serves the page, TF.js and the RNG module locally', async () => {
    const page = await raw(port, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('/vendor/tf.min.js');
    expect(page.body).not.toMatch(/https?:\/\//); // nothing from a CDN
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const tfjs = await raw(port, 'HEAD', '/vendor/tf.min.js');
    expect(tfjs.status).toBe(200);
    expect(Number(tfjs.headers['content-length'])).toBeGreaterThan(100_000);
    expect(tfjs.body).toBe('');
    const rng = await raw(port, 'GET', '/lib/rng.js');
    expect(rng.status).toBe(200);
    expect(rng.body).toContain('export');
    expect(rng.body).toContain('class Rng');
    for (const f of ['main.js', 'app.css', 'gen.js', 'runs.js', 'charts.js']) expect((await raw(port, 'GET', `/app/${f}`)).status, f).toBe(200);
  });

  it('lists models and runs following the run-folder contract', async () => {
    const models = JSON.parse((await raw(port, 'GET', '/api/models')).body);
    expect(models.map((m: { id: string }) => m.id).sort()).toEqual(['run:fmnist-cond', 'run:fmnist-tiny']);
    expect(models.filter((m: { default: boolean }) => m.default)).toHaveLength(1);
    const cond = models.find((m: { id: string }) => m.id === 'run:fmnist-cond');
    expect(cond.config).toMatchObject({ conditional: true, latentDim: 16, imageShape: [28, 28, 1], numClasses: 10 });
    expect(cond.cliRun).toContain('fmnist-cond');
    const runs = JSON.parse((await raw(port, 'GET', '/api/runs')).body);
    expect(runs.map((r: { name: string }) => r.name)).toEqual(['fmnist-cond', 'fmnist-tiny']); // not linked-out
    expect(runs.find((r: { name: string }) => r.name === 'fmnist-cond').status).toBe('training');
    expect(runs.find((r: { name: string }) => r.name === 'fmnist-tiny').status).toBe('idle');
    const detail = JSON.parse((await raw(port, 'GET', '/api/runs/fmnist-tiny')).body);
    expect(detail.samples.map((s: { file: string }) => s.file)).toContain('e0003-s00000060.png');
    expect(detail.samples[0]).toMatchObject({ epoch: 1, step: 20 });
    expect(detail.samples.map((s: { file: string }) => s.file)).not.toContain('planted.png'); // only the contract's names
    expect(detail.samples.map((s: { file: string }) => s.file)).not.toContain('evil.png');
    expect(detail.metrics).toHaveLength(3);
    expect(detail.files.progressGif).toBeTypeOf('number');
    // The page takes every file's URL from the API (it spells no run-folder name itself).
    for (const url of [detail.urls.progressGif, detail.samples[0].url, detail.lastSampleUrl, cond.modelUrl]) expect((await raw(port, 'GET', url)).status, url).toBe(200);
    expect(detail.reports.map((r: { path: string }) => r.path)).toContain('fmnist-tiny/compare.md');
    const reports = JSON.parse((await raw(port, 'GET', '/api/reports')).body).map((r: { path: string }) => r.path);
    expect(reports).toContain('overview.md');
    expect(reports).not.toContain('linked-out/anything.md');
  });

  it('serves public run files and keeps the rest private', async () => {
    for (const p of ['/runs/fmnist-tiny/config.json', '/runs/fmnist-tiny/history.jsonl', '/runs/fmnist-tiny/metrics.jsonl', '/runs/fmnist-tiny/progress.gif', '/runs/fmnist-tiny/samples/e0001-s00000020.png', '/runs/fmnist-tiny/generator/model.json', '/runs/fmnist-tiny/generator/weights.bin', '/runs/fmnist-tiny/compare.md', '/runs/overview.md', '/runs/fmnist-tiny/inside-link.md']) {
      const r = await raw(port, 'GET', p);
      expect(r.status, p).toBe(200);
    }
    const gif = await raw(port, 'GET', '/runs/fmnist-tiny/progress.gif');
    expect(gif.headers['content-type']).toBe('image/gif');
    // Static files carry the same security headers as the API.
    for (const r of [gif, await raw(port, 'GET', '/app/main.js'), await raw(port, 'GET', '/')]) {
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['content-security-policy']).toContain("default-src 'self'");
    }
    const again = await raw(port, 'GET', '/runs/fmnist-tiny/progress.gif', undefined, { 'If-None-Match': String(gif.headers.etag) });
    expect(again.status).toBe(304);
    for (const p of ['/runs/fmnist-tiny/secret.txt', '/runs/fmnist-tiny/notes.json', '/runs/fmnist-tiny/samples/planted.png', '/runs/fmnist-tiny/generator/extra.bin', '/runs/fmnist-cond/history.png', '/runs/fmnist-tiny/checkpoint/latest.fgck', '/runs/fmnist-cond/.lock', '/runs/fmnist-tiny', '/runs/', '/runs/nope/config.json', '/nope', '/api/nope', '/app/', '/app/server.test.ts', '/models/fashion/config.json']) {
      const r = await raw(port, 'GET', p);
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toContain('private');
    }
  });

  it('refuses traversal: .., encoded dots and slashes, absolute paths, symlinks out', async () => {
    const attempts = [
      '/runs/../package.json',
      '/runs/fmnist-tiny/../../package.json',
      '/runs/%2e%2e/package.json',
      '/runs/%2E%2E/%2e%2e/package.json',
      '/runs/fmnist-tiny/..%2f..%2fpackage.json',
      '/runs/fmnist-tiny%2f..%2f..%2fpackage.json',
      '/runs/..%5c..%5cpackage.json',
      '//etc/passwd',
      '/runs//etc/passwd',
      '/runs/%2fetc%2fpasswd',
      '/app/../server/index.ts',
      '/app/%2e%2e/server/index.ts',
      '/runs/fmnist-tiny/evil.json',
      '/runs/fmnist-tiny/samples/evil.png',
      '/runs/linked-out/config.json',
      '/runs/linked-out/secret.json',
      '/runs/fmnist-tiny/config.json%00.png',
      '/runs/%zz',
    ];
    for (const p of attempts) {
      const r = await raw(port, 'GET', p);
      expect(r.status, p).toBeGreaterThanOrEqual(400);
      expect(r.status, p).toBeLessThan(500);
      expect(r.body, p).not.toContain('"secret"');
      expect(r.body, p).not.toContain('"devDependencies"');
      expect(r.body, p).not.toContain('startServer');
    }
    const abs = await socketSend(port, `GET ${path.join(outside, 'secret.json')} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(abs).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect(abs).not.toContain('"secret"');
    const absUrl = await socketSend(port, 'GET http://127.0.0.1/etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    expect(absUrl).toMatch(/^HTTP\/1\.1 4\d\d/);
  });

  it('allows only GET/HEAD for files and POST for the look-up; checks the Host header', async () => {
    expect((await raw(port, 'POST', '/runs/fmnist-tiny/config.json', '{}', { 'Content-Type': 'application/json' })).status).toBe(405);
    expect((await raw(port, 'DELETE', '/runs/fmnist-tiny/config.json')).status).toBe(405);
    expect((await raw(port, 'PUT', '/')).status).toBe(405);
    expect((await raw(port, 'GET', '/api/nearest')).status).toBe(405);
    expect((await raw(port, 'GET', '/', undefined, { Host: 'evil.example:80' })).status).toBe(421);
    for (const offset of ['-5', '1e3', '0x10', '', '+1', '%201', '1.0', '99999999999999999999']) expect((await raw(port, 'GET', `/api/runs/fmnist-tiny/history?offset=${offset}`)).status, offset).toBe(400);
    for (const offset of ['0', '10', '007']) expect((await raw(port, 'GET', `/api/runs/fmnist-tiny/history?offset=${offset}`)).status, offset).toBe(200);
  });

  it('streams history incrementally and starts over when the file is cut back', async () => {
    const file = path.join(runsDir, 'fmnist-tiny', 'history.jsonl');
    const first = JSON.parse((await raw(port, 'GET', '/api/runs/fmnist-tiny/history?offset=0')).body);
    expect(first.rows).toHaveLength(60);
    expect(first.offset).toBe(fs.statSync(file).size);
    fs.appendFileSync(file, `${JSON.stringify({ step: 61, epoch: 4, gen_loss: 1, disc_loss: 1, real_accuracy: 0.5, fake_accuracy: 0.5, seconds: 9 })}\n{"step": 62, "epo`);
    const next = JSON.parse((await raw(port, 'GET', `/api/runs/fmnist-tiny/history?offset=${first.offset}`)).body);
    expect(next.rows.map((r: { step: number }) => r.step)).toEqual([61]); // the torn line waits
    const cut = fs.readFileSync(file, 'utf8').split('\n').slice(0, 10).join('\n') + '\n';
    fs.writeFileSync(file, cut);
    const reset = JSON.parse((await raw(port, 'GET', `/api/runs/fmnist-tiny/history?offset=${next.offset}`)).body);
    expect(reset.reset).toBe(true);
    expect(reset.rows).toHaveLength(10);
  });
});

describe('serve: nearest training images', () => {
  const post = (body: unknown, type = 'application/json') => raw(port, 'POST', '/api/nearest', typeof body === 'string' ? body : JSON.stringify(body), { 'Content-Type': type });

  it('finds a training image itself at distance 0', async () => {
    // The tiny data set's first training image, scaled to [-1, 1].
    const { loadDataset, batchPixels } = await import('../data/dataset');
    const ds = await loadDataset({ dataset: 'fashion-mnist', dataDir, allowDownload: false });
    const pixels = Array.from(batchPixels(ds.train, [5]));
    const r = await post({ model: 'run:fmnist-tiny', pixels, k: 3, seed: 12 });
    expect(r.status).toBe(200);
    const j = JSON.parse(r.body);
    expect(j.neighbours).toHaveLength(3);
    expect(j.neighbours[0].index).toBe(5);
    expect(j.neighbours[0].distance).toBeCloseTo(0, 3);
    expect(j.neighbours[1].distance).toBeGreaterThan(0);
    expect(j.neighbours[0].className).toBe('Sandal');
    expect(Buffer.from(j.neighbours[0].pixels, 'base64')).toHaveLength(784);
    expect(j.poolSize).toBe(200);
    expect(j.seed).toBe(12);
    expect(j.reference.medianTestDistance).toBeGreaterThan(0);
  });

  it('rejects bad bodies with 4xx and keeps serving', async () => {
    const cases: [unknown, number, string?][] = [
      ['not json at all', 400],
      ['{"model": "run:fmnist-tiny", "pixels": [', 400],
      [[1, 2, 3], 400],
      [{ model: 'run:fmnist-tiny' }, 400],
      [{ model: 'run:fmnist-tiny', pixels: [0, 0, 0] }, 400],
      [{ model: 'run:fmnist-tiny', pixels: new Array(784).fill(5) }, 400],
      [{ model: 'run:fmnist-tiny', pixels: new Array(784).fill('a') }, 400],
      [{ model: 'run:fmnist-tiny', pixels: new Array(784).fill(0), k: 1000 }, 400],
      [{ model: 'run:fmnist-tiny', pixels: new Array(784).fill(0), extra: 1 }, 400],
      [{ model: 'run:../../etc', pixels: new Array(784).fill(0) }, 404],
      [{ model: 'run:linked-out', pixels: new Array(784).fill(0) }, 404],
      [{ model: 'nonsense', pixels: new Array(784).fill(0) }, 400],
      [{ model: 'run:fmnist-tiny', pixels: new Array(784).fill(0) }, 415, 'text/plain'],
      ['{"__proto__": {"polluted": true}, "model": "run:fmnist-tiny"}', 400],
      ['null', 400],
      ['', 400],
    ];
    for (const [body, status, type] of cases) {
      const r = await post(body, type);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(JSON.parse(r.body).error).toBeTypeOf('string');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Oversized: declared and streamed (chunked, no Content-Length).
    const big = 'x'.repeat(MAX_BODY_BYTES + 10);
    expect((await post(big)).status).toBe(413);
    const chunked = await new Promise<number>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/api/nearest', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(-1));
      for (let i = 0; i < 40; i++) req.write('y'.repeat(16 * 1024));
      req.end();
    });
    expect([413, -1]).toContain(chunked);
    // A body that never finishes arriving: 408, and the place in line is free again.
    const slow = await socketSend(port, `POST /api/nearest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"model": `);
    expect(slow).toMatch(/^HTTP\/1\.1 408 /);
    // Malformed HTTP.
    expect(await socketSend(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    // Still serving.
    expect((await raw(port, 'GET', '/api/runs')).status).toBe(200);
    const ok = await post({ model: 'run:fmnist-cond', pixels: new Array(784).fill(-1), k: 2 });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).neighbours).toHaveLength(2);
  });
});

describe('startServer errors', () => {
  it('says so when the runs folder is missing or the port is taken', async () => {
    await expect(startServer({ port: 0, host: '127.0.0.1', runsDir: path.join(tmp.dir, 'missing') })).rejects.toThrow(UserError);
    await expect(startServer({ port, host: '127.0.0.1', runsDir })).rejects.toThrow(/already in use/);
    await expect(startServer({ port, host: '127.0.0.1', runsDir })).rejects.toThrow(UserError);
  });

  it('shows an empty runs folder without errors', async () => {
    const empty = path.join(tmp.dir, 'empty-runs');
    fs.mkdirSync(empty);
    const s = await startServer({ port: 0, host: '127.0.0.1', runsDir: empty, modelsDir: path.join(tmp.dir, 'no-models') });
    try {
      expect(JSON.parse((await raw(s.port, 'GET', '/api/runs')).body)).toEqual([]);
      expect(JSON.parse((await raw(s.port, 'GET', '/api/models')).body)).toEqual([]);
    } finally {
      await s.close();
    }
  });
});
