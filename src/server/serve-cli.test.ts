import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../test/fixtures';
import { register } from '../cli/commands/serve';
import { UserError } from '../errors';

const tmp = tempDir('fashion-gan-serve-cli-');
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
      await vi.waitFor(() => expect(lines.join('')).toMatch(/http:\/\/127\.0\.0\.1:\d+\//), { timeout: 10_000 });
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(lines.join(''))![0];
      expect((await fetch(`${url}api/runs`)).status).toBe(200);
      process.emit('SIGINT');
      await done;
      await expect(fetch(`${url}api/runs`)).rejects.toThrow();
    } finally {
      spy.mockRestore();
    }
  });
});
