import { PNG } from 'pngjs';

/** An 8-bit image, row-major, channels interleaved (1 = grey, 3 = RGB, 4 = RGBA). */
export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

/** Maps generator output in [-1, 1] to pixels: round((y + 1) · 127.5), clipped to 0–255. */
export function toPixels(valuesMinus1To1: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(valuesMinus1To1.length);
  for (let i = 0; i < out.length; i++) {
    const v = Math.round((valuesMinus1To1[i]! + 1) * 127.5);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/**
 * Tiles `count` images of [h, w, c] pixels into a grid `cols` wide with `pad` pixels of
 * background between and around them, each pixel repeated `scale` times (nearest neighbour).
 */
export function tileGrid(pixelsNHWC: Uint8Array, count: number, h: number, w: number, c: 1 | 3, cols: number, scale = 1, pad = 2, background = 255): Image8 {
  const rows = Math.ceil(count / cols);
  const width = cols * (w * scale + pad) + pad;
  const height = rows * (h * scale + pad) + pad;
  const data = new Uint8Array(width * height * c).fill(background);
  for (let i = 0; i < count; i++) {
    const ox = pad + (i % cols) * (w * scale + pad);
    const oy = pad + Math.floor(i / cols) * (h * scale + pad);
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const src = ((i * h + Math.floor(y / scale)) * w + Math.floor(x / scale)) * c;
        const dst = ((oy + y) * width + ox + x) * c;
        for (let k = 0; k < c; k++) data[dst + k] = pixelsNHWC[src + k]!;
      }
    }
  }
  return { width, height, channels: c, data };
}

/** `img` centred on a `width` × `height` canvas of `background` (itself when it has that size). */
export function padImage(img: Image8, width: number, height: number, background = 255): Image8 {
  if (img.width === width && img.height === height) return img;
  const c = img.channels;
  const data = new Uint8Array(width * height * c).fill(background);
  if (c === 4) for (let p = 3; p < data.length; p += 4) data[p] = 255;
  const ox = Math.floor((width - img.width) / 2);
  const oy = Math.floor((height - img.height) / 2);
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * c, (y + 1) * img.width * c), ((oy + y) * width + ox) * c);
  return { width, height, channels: c, data };
}

/** Encodes an image as PNG bytes. */
export function encodePng(img: Image8): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    if (img.channels === 1) {
      const v = img.data[p]!;
      png.data[p * 4] = v;
      png.data[p * 4 + 1] = v;
      png.data[p * 4 + 2] = v;
      png.data[p * 4 + 3] = 255;
    } else {
      for (let k = 0; k < 3; k++) png.data[p * 4 + k] = img.data[p * img.channels + k]!;
      png.data[p * 4 + 3] = img.channels === 4 ? img.data[p * 4 + 3]! : 255;
    }
  }
  return PNG.sync.write(png);
}

/** Decodes PNG bytes to RGBA. */
export function decodePng(bytes: Uint8Array): Image8 {
  const png = PNG.sync.read(Buffer.from(bytes));
  return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data) };
}
