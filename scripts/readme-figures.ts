// Writes the README's figures from a conditional run (default: the shipped models/fashion):
//   docs/figures/per-class.png   for each class, a row of 8 real training images | 8 generated designs
// Usage: npx tsx scripts/readme-figures.ts [--run DIR] [--seed S] [--out FILE.png]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../src/backends/index';
import { batchPixels, loadDataset } from '../src/data/dataset';
import { generateBatch, latentsForSeeds, loadGenerator } from '../src/generate';
import { labelledGridPng } from '../src/output/caption';
import { tileGrid, toPixels } from '../src/output/image';
import { Rng } from '../src/util/rng';
import { arg } from './arg';

await initBackend('auto');
const gen = await loadGenerator(arg('--run'));
const seed = Number(arg('--seed') ?? 0);
const data = await loadDataset({ dataset: gen.config.dataset });
const [h, w, c] = gen.imageShape;
const perRow = 8;
const rows = gen.numClasses;
const cells = new Uint8Array(rows * (2 * perRow + 1) * h * w * c).fill(255);
const rng = new Rng(seed);
for (let k = 0; k < rows; k++) {
  const ofClass: number[] = [];
  data.train.labels.forEach((l, i) => l === k && ofClass.push(i));
  const real = toPixels(batchPixels(data.train, Array.from({ length: perRow }, () => ofClass[rng.nextInt(ofClass.length)]!)));
  const fake = generateBatch(gen, latentsForSeeds(seed + k * perRow, perRow, gen.latentDim), gen.conditional ? Int32Array.from({ length: perRow }, () => k) : undefined);
  const fakePx = toPixels(fake.dataSync());
  fake.dispose();
  const rowStart = k * (2 * perRow + 1);
  cells.set(real, rowStart * h * w * c);
  cells.set(fakePx, (rowStart + perRow + 1) * h * w * c);
}
const grid = tileGrid(cells, rows * (2 * perRow + 1), h, w, c as 1 | 3, 2 * perRow + 1, 2, 2);
const out = arg('--out') ?? path.join('docs', 'figures', 'per-class.png');
fs.mkdirSync(path.dirname(out), { recursive: true });
const scale = 2;
fs.writeFileSync(out, labelledGridPng(grid, { title: `${perRow} real training images  |  ${perRow} designs that never existed (${path.basename(gen.runDir)}, seeds ${seed}…${seed + rows * perRow - 1})`, rows: gen.classNames }, { cellWidth: w * scale, cellHeight: h * scale, pad: 2 }));
console.log(`wrote ${out}: ${rows} classes (${gen.classNames.join(', ')}), real | generated`);
gen.model.dispose();
