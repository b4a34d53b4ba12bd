#!/usr/bin/env node
// After install: link this package's own command into node_modules/.bin, so `npx fashion-gan`
// in the repo runs the local CLI instead of installing the package into npx's cache.
import { chmodSync, existsSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'fashion-gan');
mkdirSync(binDir, { recursive: true });
if (existsSync(link) || (() => { try { return lstatSync(link).isSymbolicLink(); } catch { return false; } })()) rmSync(link, { force: true });
symlinkSync('../../bin/fashion-gan.js', link);
chmodSync(join(root, 'bin', 'fashion-gan.js'), 0o755);
