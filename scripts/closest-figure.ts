// Writes docs/figures/closest-to-training.png: how near does the generator come to copying?
//   row "designs": the designs (of --samples, default 10,000) nearest to any training image, each
//                  beside that training image; row "real test": the same for unseen real test images
// and prints the memorisation count at evaluate's threshold (the nearest 1 % of the first 2,000 test
// images) for the designs and for all 10,000 test images.
// Usage: npx tsx scripts/closest-figure.ts [--run DIR] [--samples N] [--seed S] [--out FILE.png]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../src/backends/index';
import { batchPixels, loadDataset } from '../src/data/dataset';
import { loadGenerator } from '../src/generate';
import { sampleGenerator } from '../src/metrics/evaluate';
import { nearestOnBackend, percentile } from '../src/metrics/novelty';
import { labelledGridPng } from '../src/output/caption';
import { tileGrid, toPixels } from '../src/output/image';
import { arg } from './arg';

await initBackend('auto');
const gen = await loadGenerator(arg('--run'));
const samples = Number(arg('--samples') ?? 10000);
const seed = Number(arg('--seed') ?? 1_000_000); // evaluate's default: the first 2,000 are its samples
const data = await loadDataset({ dataset: gen.config.dataset });
const [h, w, c] = gen.imageShape;
const px = h * w * c;
const range = (s: number, n: number) => Int32Array.from({ length: n }, (_, i) => s + i);
const trainChunk = (s: number, n: number) => batchPixels(data.train, range(s, n));
const designs = sampleGenerator(gen, samples, seed);
const ofDesigns = await nearestOnBackend(designs, samples, px, data.train.count, trainChunk);
const nTest = data.test.count;
const tests = batchPixels(data.test, range(0, nTest));
const ofTests = await nearestOnBackend(tests, nTest, px, data.train.count, trainChunk);

const threshold = percentile(ofTests.distance.subarray(0, Math.min(2000, nTest)), 0.01);
const below = (d: Float32Array) => d.reduce((k, v) => k + (v < threshold ? 1 : 0), 0);
const names = data.classNames;
const closest = (d: Float32Array, count: number) => Array.from(d.keys()).sort((a, b) => d[a]! - d[b]!).slice(0, count);
const perRow = 8;
const rows: { label: string; images: Float32Array; nn: typeof ofDesigns; order: number[] }[] = [
  { label: 'designs', images: designs, nn: ofDesigns, order: closest(ofDesigns.distance, perRow) },
  { label: 'real test', images: tests, nn: ofTests, order: closest(ofTests.distance, perRow) },
];
const cells = new Uint8Array(rows.length * 2 * perRow * px);
rows.forEach((r, k) => {
  r.order.forEach((i, j) => {
    const at = (k * 2 * perRow + 2 * j) * px;
    cells.set(toPixels(r.images.subarray(i * px, (i + 1) * px)), at);
    cells.set(toPixels(batchPixels(data.train, [r.nn.index[i]!])), at + px);
  });
  console.log(`${r.label}: ${r.order.map((i) => `${names[data.train.labels[r.nn.index[i]!]!]} ${r.nn.distance[i]!.toFixed(2)}`).join(', ')}`);
});
const grid = tileGrid(cells, rows.length * 2 * perRow, h, w, c as 1 | 3, 2 * perRow, 2, 2);
const out = arg('--out') ?? path.join('docs', 'figures', 'closest-to-training.png');
fs.mkdirSync(path.dirname(out), { recursive: true });
const title = `nearest the training set: the ${perRow} closest of ${samples.toLocaleString('en-US')} designs (${path.basename(gen.runDir)}) and of ${nTest.toLocaleString('en-US')} real test images, each beside its nearest training image`;
const columns = Array.from({ length: 2 * perRow }, (_, j) => (j % 2 ? 'train' : 'image'));
fs.writeFileSync(out, labelledGridPng(grid, { title, columns, rows: rows.map((r) => r.label) }, { cellWidth: w * 2, cellHeight: h * 2, pad: 2 }));
console.log(`threshold ${threshold.toFixed(2)} (the nearest 1 % of test images 0…1,999): ${below(ofDesigns.distance)} of ${samples} designs below it (${(below(ofDesigns.distance) / samples).toFixed(4)}), ${below(ofTests.distance)} of ${nTest} test images (${(below(ofTests.distance) / nTest).toFixed(4)})`);
console.log(`median nearest-training distance: designs ${percentile(ofDesigns.distance, 0.5).toFixed(2)}, test images ${percentile(ofTests.distance, 0.5).toFixed(2)}`);
console.log(`wrote ${out}`);
gen.model.dispose();
