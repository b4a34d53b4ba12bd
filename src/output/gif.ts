import * as gifencModule from 'gifenc';

// gifenc is CommonJS to Node (functions on the default export) and ESM to bundlers (named exports).
const gifenc = ('quantize' in gifencModule ? gifencModule : (gifencModule as { default: unknown }).default) as typeof gifencModule;
const { GIFEncoder, applyPalette, quantize } = gifenc;
import type { Image8 } from './image';

/**
 * Encodes frames (all the same size) as a looping GIF. Grey frames use an exact 256-grey
 * palette; colour frames share one palette quantised from a sample of all frames.
 */
export function encodeGif(frames: Image8[], delayMs = 200, lastFrameHoldMs = 1500): Uint8Array {
  if (frames.length === 0) throw new Error('encodeGif: no frames');
  const { width, height } = frames[0]!;
  const rgba = frames.map((f) => toRgba(f));
  const grey = rgba.every(isGrey);
  let palette: number[][];
  if (grey) {
    palette = Array.from({ length: 256 }, (_, i) => [i, i, i]);
  } else {
    // Quantise from a strided sample of every frame so the palette fits the whole run.
    const stride = Math.max(1, Math.floor(rgba.length / 16));
    const sample = rgba.filter((_, i) => i % stride === 0 || i === rgba.length - 1);
    const all = new Uint8Array(sample.reduce((s, f) => s + f.length, 0));
    let at = 0;
    for (const f of sample) {
      all.set(f, at);
      at += f.length;
    }
    palette = quantize(all, 256);
  }
  const gif = GIFEncoder();
  rgba.forEach((f, i) => {
    if (frames[i]!.width !== width || frames[i]!.height !== height) throw new Error('encodeGif: frames differ in size');
    const index = grey ? greyIndex(f) : applyPalette(f, palette);
    gif.writeFrame(index, width, height, { palette: i === 0 ? palette : undefined, delay: i === rgba.length - 1 ? lastFrameHoldMs : delayMs, repeat: 0 });
  });
  gif.finish();
  return gif.bytes();
}

function toRgba(img: Image8): Uint8Array {
  if (img.channels === 4) return img.data;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) out[p * 4 + k] = img.data[p * img.channels + (img.channels === 1 ? 0 : k)]!;
    out[p * 4 + 3] = 255;
  }
  return out;
}

function isGrey(rgba: Uint8Array): boolean {
  for (let p = 0; p < rgba.length; p += 4) if (rgba[p] !== rgba[p + 1] || rgba[p] !== rgba[p + 2]) return false;
  return true;
}

function greyIndex(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length / 4);
  for (let p = 0; p < out.length; p++) out[p] = rgba[p * 4]!;
  return out;
}
