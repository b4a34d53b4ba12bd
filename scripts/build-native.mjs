#!/usr/bin/env node
// Builds the native TF.js kernels in native/ (see native/README.md): with OpenBLAS when
// native/find-blas.cjs finds it, else with the addon's own GEMM. Never fails the install: when
// the compile fails (no g++ or make), it prints one line and exits 0, and the app falls back to
// the wasm/cpu backends.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');

const { findOpenblas } = createRequire(import.meta.url)(join(nativeDir, 'find-blas.cjs'));
if (process.env.FASHION_NATIVE_SKIP === '1') {
  console.log('native backend skipped: FASHION_NATIVE_SKIP=1');
  process.exit(0);
}
const openblas = findOpenblas();

function findNodeGyp() {
  const require = createRequire(import.meta.url);
  const candidates = [
    process.env.npm_config_node_gyp,
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    /* not installed locally */
  }
  return candidates.find((p) => p && existsSync(p));
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) {
  console.log('native backend skipped: node-gyp not found');
  process.exit(0);
}
const args = [nodeGyp, 'rebuild', '--release', `--jobs=2`];
// Build against the local Node headers (no network): npm sets npm_config_nodedir; outside npm,
// use the distro's headers when present.
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/common.gypi')) args.push('--nodedir=/usr');
const quiet = process.env.FASHION_NATIVE_VERBOSE !== '1';
const res = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
  encoding: 'utf8',
});
const built = join(nativeDir, 'build', 'Release', 'fashion_native.node');
if (res.status !== 0 || !existsSync(built)) {
  const tail = quiet ? `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n') : '';
  console.log(`native backend skipped: build failed (node-gyp exit ${res.status ?? res.signal})`);
  if (tail) console.log(tail);
  process.exit(0);
}
console.log(`native backend built: ${built} (GEMM: ${openblas ? 'OpenBLAS, and the builtin one' : process.env.FASHION_NATIVE_BLAS === 'builtin' ? 'builtin, FASHION_NATIVE_BLAS=builtin' : 'builtin, OpenBLAS not found'})`);
