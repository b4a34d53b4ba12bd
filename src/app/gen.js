// Generation in the page: TF.js (served from node_modules as /vendor/tf.min.js, a global `tf`),
// the CLI's own RNG (src/util/rng.ts transpiled by the server), latents, interpolation, drawing.
import { Rng } from '/lib/rng.js';

const tf = /** @type {any} */ (window).tf;

/** Latent of design `seed`: `new Rng(seed).normal(latentDim)`, exactly as `fashion-gan generate --seed`. */
export function latentForSeed(seed, latentDim) {
  return new Rng(seed >>> 0).normal(latentDim);
}

/** Spherical interpolation at t in [0, 1] (the CLI's slerpLatents for one point). */
export function slerp(a, b, t) {
  const dim = a.length;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < dim; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const cos = dot / (Math.sqrt(na) * Math.sqrt(nb));
  const omega = Math.acos(Math.min(1, Math.max(-1, cos)));
  const [wa, wb] = omega < 1e-6 ? [1 - t, t] : [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)];
  const out = new Float32Array(dim);
  for (let d = 0; d < dim; d++) out[d] = wa * a[d] + wb * b[d];
  return out;
}

/** One random step from `z`: (z + size·ε) / √(1 + size²) keeps the latent on the shell N(0, I) lives on. */
export function nudge(z, size, stepSeed) {
  const eps = new Rng(stepSeed >>> 0).normal(z.length);
  const k = 1 / Math.sqrt(1 + size * size);
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) out[i] = (z[i] + size * eps[i]) * k;
  return out;
}

export function randomSeed(max = 1_000_000) {
  const a = new Uint32Array(1);
  crypto.getRandomValues(a);
  return a[0] % max;
}

export async function initTf() {
  await tf.ready();
  return tf.getBackend();
}

/** Loads a generator from its model.json URL (`modelUrl` of /api/models). */
export async function loadGenerator(modelUrl) {
  return tf.loadLayersModel(modelUrl);
}

/**
 * Runs the generator in inference mode on a batch of designs.
 * @returns one Float32Array (HWC, values in [-1, 1]) per design
 */
export async function generate(model, config, designs) {
  if (designs.length === 0) return [];
  const n = designs.length;
  const dim = config.latentDim;
  const flat = new Float32Array(n * dim);
  designs.forEach((d, i) => flat.set(d.latent, i * dim));
  const out = tf.tidy(() => {
    const z = tf.tensor2d(flat, [n, dim]);
    if (config.conditional) {
      const labels = tf.tensor2d(Float32Array.from(designs, (d) => d.label ?? 0), [n, 1]);
      return model.predict([z, labels]);
    }
    return model.predict(z);
  });
  const values = await out.data();
  out.dispose();
  const [h, w, c] = config.imageShape;
  const size = h * w * c;
  return designs.map((_, i) => values.slice(i * size, (i + 1) * size));
}

/** Pixels of generator output: round((y + 1)·127.5) clipped to 0–255, as RGBA ImageData. */
export function toImageData(values, [h, w, c]) {
  const img = new ImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = values[p * c + (c === 1 ? 0 : k)];
      img.data[p * 4 + k] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
    }
    img.data[p * 4 + 3] = 255;
  }
  return img;
}

/** Same for uint8 pixels (training images from the server). */
export function bytesToImageData(bytes, [h, w, c]) {
  const img = new ImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) img.data[p * 4 + k] = bytes[p * c + (c === 1 ? 0 : k)];
    img.data[p * 4 + 3] = 255;
  }
  return img;
}

/** Draws an image into `canvas` blown up `scale`× with nearest-neighbour sampling (crisp pixels). */
export function paint(canvas, imageData, scale) {
  if (!imageData) return; // not drawn yet: the next render paints it
  const { width, height } = imageData;
  const small = document.createElement('canvas');
  small.width = width;
  small.height = height;
  small.getContext('2d').putImageData(imageData, 0, 0);
  canvas.width = width * scale;
  canvas.height = height * scale;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, width * scale, height * scale);
}

/** Downloads a PNG of the image at a readable size (at least ~448 px, nearest-neighbour). */
export function downloadPng(imageData, filename) {
  const scale = Math.max(1, Math.ceil(448 / imageData.width));
  const canvas = document.createElement('canvas');
  paint(canvas, imageData, scale);
  canvas.toBlob((blob) => {
    if (!blob) return;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 5000);
  }, 'image/png');
}
