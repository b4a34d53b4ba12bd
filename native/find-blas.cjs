#!/usr/bin/env node
// Finds OpenBLAS (its cblas.h and library) for binding.gyp and scripts/build-native.mjs:
//   node find-blas.cjs include     include directories, one per line (none without OpenBLAS)
//   node find-blas.cjs libraries   linker flags
//   node find-blas.cjs defines     FASHION_HAVE_OPENBLAS=1 when found
//   node find-blas.cjs describe    one line for people
// pkg-config first, then the usual places (Debian multiarch, /usr/local, Homebrew).
// FASHION_NATIVE_BLAS=builtin at build time leaves OpenBLAS out.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** OpenBLAS's cblas.h declares openblas_set_num_threads (the reference CBLAS header does not). */
function isOpenblasHeader(dir) {
  const h = join(dir, 'cblas.h');
  try {
    return existsSync(h) && readFileSync(h, 'utf8').includes('openblas_set_num_threads');
  } catch {
    return false;
  }
}

/** Libraries outside /usr/lib and /lib need a run path; system ones are found by the loader. */
const nonSystem = (dir) => !/^\/(usr\/)?lib(64|32)?(\/|$)/.test(dir);

function find() {
  if (process.env.FASHION_NATIVE_BLAS === 'builtin') return null;
  const pc = run('pkg-config', ['--cflags-only-I', 'openblas']);
  const pcLibs = run('pkg-config', ['--libs', 'openblas']);
  if (pc !== null && pcLibs) {
    const dirs = pc.split(/\s+/).filter(Boolean).map((f) => f.replace(/^-I/, ''));
    if ([...dirs, '/usr/include', '/usr/local/include'].some(isOpenblasHeader)) {
      const libDirs = pcLibs.split(/\s+/).filter((f) => f.startsWith('-L')).map((f) => f.slice(2));
      return { include: dirs, libraries: [...pcLibs.split(/\s+/).filter(Boolean), ...libDirs.filter(nonSystem).map((d) => `-Wl,-rpath,${d}`)], how: 'pkg-config' };
    }
  }
  const multiarch = run('gcc', ['-print-multiarch']) || run('cc', ['-print-multiarch']);
  const prefixes = ['/usr', '/usr/local', '/opt/homebrew/opt/openblas', '/usr/local/opt/openblas', '/opt/openblas'];
  const includeDirs = prefixes.flatMap((p) => [
    ...(multiarch ? [`${p}/include/${multiarch}`, `${p}/include/${multiarch}/openblas-pthread`] : []),
    `${p}/include/openblas`,
    `${p}/include`,
  ]);
  const include = includeDirs.find(isOpenblasHeader);
  if (!include) return null;
  const libDirs = prefixes.flatMap((p) => [...(multiarch ? [`${p}/lib/${multiarch}`] : []), `${p}/lib64`, `${p}/lib`]);
  const libDir = libDirs.find((d) => ['libopenblas.so', 'libopenblas.dylib', 'libopenblas.a'].some((f) => existsSync(join(d, f))));
  if (!libDir) return null;
  return { include: [include], libraries: [`-L${libDir}`, '-lopenblas', ...(nonSystem(libDir) ? [`-Wl,-rpath,${libDir}`] : [])], how: include };
}

module.exports = { findOpenblas: find };

if (require.main === module) {
  const found = find();
  const what = process.argv[2];
  if (what === 'include') console.log(found ? found.include.join('\n') : '');
  else if (what === 'libraries') console.log(found ? found.libraries.join('\n') : '');
  else if (what === 'defines') console.log(found ? 'FASHION_HAVE_OPENBLAS=1' : '');
  else console.log(found ? `OpenBLAS (${found.how})` : 'no OpenBLAS');
}
