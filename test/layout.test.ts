/**
 * The code's layout holds what docs/ARCHITECTURE.md promises: no module imports itself back
 * through others (type-only imports aside), so every folder can be read and tested on its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mjs)$/.test(e.name) && !/\.test\.ts$/.test(e.name) ? [p] : [];
  });
}

/** Runtime imports (static and dynamic) of a file, resolved to files under src/. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\s+(?!type\b)(?:[^'"]*?\sfrom\s+)?['"](\.[^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
  return specs
    .map((s) => {
      const base = path.resolve(path.dirname(file), s);
      return [base, `${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
    })
    .filter((f): f is string => !!f && f.startsWith(SRC));
}

/** The first import cycle found, as a list of files, or null. */
export function findCycle(files: string[]): string[] | null {
  const graph = new Map<string, string[]>();
  const edges = (f: string) => {
    if (!graph.has(f)) graph.set(f, importsOf(f));
    return graph.get(f)!;
  };
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): string[] | null => {
    if (state.get(f) === 'done') return null;
    if (state.get(f) === 'open') return [...stack.slice(stack.indexOf(f)), f];
    state.set(f, 'open');
    stack.push(f);
    for (const g of edges(f)) {
      const c = visit(g);
      if (c) return c;
    }
    stack.pop();
    state.set(f, 'done');
    return null;
  };
  for (const f of files) {
    const c = visit(f);
    if (c) return c;
  }
  return null;
}

describe('the layout', () => {
  it('has no import cycle in src/', () => {
    const cycle = findCycle(sources(SRC));
    expect(cycle?.map((f) => path.relative(SRC, f)) ?? null).toBeNull();
  });

  it('the cycle finder finds a planted cycle', () => {
    const dir = fs.mkdtempSync(path.join(SRC, '.cycle-'));
    try {
      fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = 1;\n");
      fs.writeFileSync(path.join(dir, 'b.ts'), "import { a } from './a';\nexport const b = a;\n");
      fs.writeFileSync(path.join(dir, 'c.ts'), "import type { a } from './a';\nexport type C = typeof a;\n");
      expect(findCycle([path.join(dir, 'c.ts'), path.join(dir, 'a.ts')])?.map((f) => path.basename(f))).toEqual(['a.ts', 'b.ts', 'a.ts']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
