import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { FileModelIO } from '../backends/fileio';
import { stockTopology } from '../models/dropout';
import { renderHistoryPng, type HistoryRow, type MetricRow } from '../output/chart';
import { encodeGif } from '../output/gif';
import { labelledGridPng, type GridLabels } from '../output/caption';
import { decodePng, padImage, tileGrid, toPixels, type Image8 } from '../output/image';
import { writeFileAtomic } from '../util/atomic';
import { PREDICT_BATCH, readTidy } from '../util/tensors';
import { readJsonl } from '../run/jsonl';
import type { RunPaths } from '../run/paths';
import { listSamples } from '../run/samples';

/** Pixel scale for grids: small images are blown up so a 4×4 grid is comfortable to look at. */
export function gridScale(height: number): number {
  return height <= 32 ? 3 : 1;
}

/**
 * Samples the generator in inference mode (batch norm uses its moving statistics, as the
 * seed's `training=False`) and returns pixels NHWC 0–255.
 */
export function samplePixels(generator: tf.LayersModel, latents: Float32Array, latentDim: number, extraInputs: tf.Tensor[] = []): Uint8Array {
  const values = readTidy(() => {
    const z = tf.tensor2d(latents, [latents.length / latentDim, latentDim]);
    return generator.predict(extraInputs.length ? [z, ...extraInputs] : z, { batchSize: PREDICT_BATCH }) as tf.Tensor;
  }) as Float32Array;
  return toPixels(values);
}

/**
 * Writes a sample grid PNG to `file` (atomically): the images `cols` wide, with `labels` (the
 * step, a conditional grid's class names) drawn above them.
 */
export function writeSampleGrid(file: string, pixels: Uint8Array, imageShape: [number, number, number], cols = 4, labels: GridLabels = {}): void {
  const [h, w, c] = imageShape;
  const count = pixels.length / (h * w * c);
  const scale = gridScale(h);
  const grid = tileGrid(pixels, count, h, w, c as 1 | 3, cols, scale);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, labelledGridPng(grid, labels, { cellWidth: w * scale, pad: 2 }));
}

/**
 * progress.gif from the saved grids in order, at most `maxFrames` (evenly spaced, always ending
 * on the last). `decoded` keeps frames decoded by earlier calls (a training run passes one map
 * for its whole life, so each grid is decoded once, not at every checkpoint).
 */
export function writeProgressGif(paths: RunPaths, maxFrames = 120, decoded = new Map<string, Image8>()): number {
  const files = listSamples(paths.samples).map((s) => path.join(paths.samples, s.file));
  if (files.length === 0) return 0;
  const pick = files.length <= maxFrames ? files : Array.from({ length: maxFrames }, (_, i) => files[Math.round((i * (files.length - 1)) / (maxFrames - 1))]!);
  const frames: Image8[] = [];
  for (const f of pick) {
    try {
      if (!decoded.has(f)) decoded.set(f, decodePng(fs.readFileSync(f)));
      frames.push(decoded.get(f)!);
    } catch {
      // a grid torn by a crash is skipped, not fatal
    }
  }
  const picked = new Set(pick);
  for (const f of decoded.keys()) if (!picked.has(f)) decoded.delete(f);
  if (frames.length === 0) return 0;
  // Grids of one run can differ in size (a resume by a version that labels or lays them out
  // differently): every frame is centred on the largest.
  const width = Math.max(...frames.map((f) => f.width));
  const height = Math.max(...frames.map((f) => f.height));
  writeFileAtomic(paths.gif, encodeGif(frames.map((f) => padImage(f, width, height))));
  return frames.length;
}

/**
 * history.png from history.jsonl (and metrics.jsonl when the run was evaluated as it trained);
 * a training run passes the rows it holds in memory instead of having the file read again.
 */
export async function writeHistoryPng(paths: RunPaths, title: string, rows?: HistoryRow[]): Promise<void> {
  const history = rows ?? readJsonl<HistoryRow>(paths.history);
  if (history.length === 0) return;
  const metrics = readJsonl<MetricRow>(paths.metrics);
  writeFileAtomic(paths.historyPng, await renderHistoryPng(history, metrics, title));
}

/** What model.json's userDefinedMetadata.fashionGan records of the training behind an exported generator. */
export interface GeneratorProvenance {
  step: number;
  epoch: number;
  imagesSeen: number;
}

/**
 * Exports the generator as a stock TF.js Layers model (generator/model.json + weights.bin; no
 * training-only layers), recording in model.json the step it was saved at, so an evaluation can
 * say what it measured.
 */
export async function exportGenerator(generator: tf.LayersModel, dir: string, provenance?: GeneratorProvenance): Promise<void> {
  if (provenance) generator.setUserDefinedMetadata({ fashionGan: { ...provenance } });
  const file = new FileModelIO(dir);
  await generator.save({ save: (artifacts) => file.save({ ...artifacts, modelTopology: stockTopology(artifacts.modelTopology) as object }) });
}

/** The provenance recorded in a loaded generator, if any (generators exported before it was recorded have none). */
export function generatorProvenance(model: tf.LayersModel): GeneratorProvenance | undefined {
  const meta = model.getUserDefinedMetadata() as { fashionGan?: Partial<GeneratorProvenance> } | undefined;
  const p = meta?.fashionGan;
  if (!p || ![p.step, p.epoch, p.imagesSeen].every((v) => Number.isInteger(v) && v! >= 0)) return undefined;
  return { step: p.step!, epoch: p.epoch!, imagesSeen: p.imagesSeen! };
}
