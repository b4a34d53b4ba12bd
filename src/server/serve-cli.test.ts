import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/fixtures';
import { register } from '../cli/commands/serve';
import { UserError } from '../errors';

const tmp = tempDir('fashion-gan-serve-cli-');
const BIN = fileURLToPath(new URL('../../bin/fashion-gan.js', import.meta.url));
afterAll(() => tmp.cleanup());

function program(): { cmd: Command; out: string[] } {
  const out: string[] = [];
  const cmd = new Command('fashion-gan').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => out.push(s) });
  register(cmd);
  return { cmd, out };
}

describe('fashion-gan serve', () => {
  it('documents its options', async () => {
    const { cmd, out } = program();
    await expect(cmd.parseAsync(['node', 'fashion-gan', 'serve', '--help'])).rejects.toThrow();
    const help = out.join('');
    for (const o of ['--port', '--host', '--runs', '--models', '127.0.0.1', '8080']) expect(help).toContain(o);
  });

  it('rejects a bad port and a missing runs folder', async () => {
    await expect(program().cmd.parseAsync(['node', 'fashion-gan', 'serve', '--port', '70000'])).rejects.toThrow();
    await expect(program().cmd.parseAsync(['node', 'fashion-gan', 'serve', '--port', '0', '--runs', path.join(tmp.dir, 'missing')])).rejects.toThrow(UserError);
  });

  it('serves until SIGINT', async () => {
    const runs = path.join(tmp.dir, 'runs');
    fs.mkdirSync(runs);
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      lines.push(String(s));
      return true;
    });
    try {
      const done = program().cmd.parseAsync(['node', 'fashion-gan', 'serve', '--port', '0', '--runs', runs]);
      await vi.waitFor(() => expect(lines.join('')).toMatch(/http:\/\/127\.0\.0\.1:\d+\//), { timeout: 120_000, interval: 100 });
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(lines.join(''))![0];
      expect((await fetch(`${url}api/runs`)).status).toBe(200);
      process.emit('SIGINT');
      await done;
      await expect(fetch(`${url}api/runs`)).rejects.toThrow();
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps serving and stops cleanly when its output pipe is closed (serve 2>&1 | head -1)', async () => {
    const runs = path.join(tmp.dir, 'runs-pipe');
    fs.mkdirSync(runs);
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--runs', runs], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stderr.on('data', (d) => {
        text += d;
        const m = /http:\/\/127\.0\.0\.1:\d+\//.exec(text);
        if (m) resolve(m[0]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
    });
    child.stderr.destroy(); // the reader is gone, as `head -1` leaves it
    expect((await fetch(`${url}api/runs`)).status).toBe(200);
    child.kill('SIGINT'); // "stopping…" now goes to a closed pipe
    expect(await exited).toBe(0);
  });
});
