#!/usr/bin/env node
// Before `npm test`: make sure the system packages the tests use are present — Chromium for the
// app's browser tests, OpenBLAS for the native backend, DejaVu fonts for chart text. Installs
// them with apt-get when running as root (a fresh machine, CI); otherwise says what is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const needs = [
  { pkg: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  { pkg: 'libopenblas-dev', present: () => ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/cblas.h', '/usr/include/openblas/cblas.h'].some(existsSync) },
  { pkg: 'fonts-dejavu-core', present: () => existsSync('/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf') },
];
const missing = needs.filter((n) => !n.present()).map((n) => n.pkg);
if (missing.length === 0) process.exit(0);

const isRoot = process.getuid?.() === 0;
const hasApt = spawnSync('which', ['apt-get']).status === 0;
if (!isRoot || !hasApt) {
  console.error(`test setup: missing system packages: ${missing.join(', ')} (install them with: sudo apt-get install ${missing.join(' ')})`);
  process.exit(0);
}
console.error(`test setup: installing ${missing.join(', ')} with apt-get…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-q'], { stdio: ['ignore', 'ignore', 'inherit'], env });
execFileSync('apt-get', ['install', '-y', '-q', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
if (missing.includes('libopenblas-dev') && existsSync(new URL('./build-native.mjs', import.meta.url))) {
  execFileSync(process.execPath, [new URL('./build-native.mjs', import.meta.url).pathname], { stdio: 'inherit' });
}
