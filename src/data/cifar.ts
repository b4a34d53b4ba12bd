import { UserError } from '../errors';
import { maybeGunzip } from './idx';

export const CIFAR_RECORD_BYTES = 1 + 32 * 32 * 3;

/**
 * Parses CIFAR-10 binary records (1 label byte, then 1,024 red, 1,024 green, 1,024 blue bytes,
 * each plane row-major) into NHWC pixels and labels.
 */
export function parseCifarBatch(raw: Uint8Array, file: string): { images: Uint8Array; labels: Uint8Array } {
  if (raw.length === 0) throw new UserError(`${file}: empty file (expected CIFAR-10 records of ${CIFAR_RECORD_BYTES} bytes)`);
  if (raw.length % CIFAR_RECORD_BYTES !== 0) {
    throw new UserError(`${file}: truncated file: ${raw.length} bytes is not a whole number of ${CIFAR_RECORD_BYTES}-byte CIFAR-10 records`);
  }
  const n = raw.length / CIFAR_RECORD_BYTES;
  const images = new Uint8Array(n * 3072);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * CIFAR_RECORD_BYTES;
    const label = raw[base]!;
    if (label > 9) throw new UserError(`${file}: record ${r} has label ${label} (CIFAR-10 labels are 0–9)`);
    labels[r] = label;
    const out = r * 3072;
    for (let p = 0; p < 1024; p++) {
      images[out + p * 3] = raw[base + 1 + p]!;
      images[out + p * 3 + 1] = raw[base + 1 + 1024 + p]!;
      images[out + p * 3 + 2] = raw[base + 1 + 2048 + p]!;
    }
  }
  return { images, labels };
}

/**
 * Reads the regular files of a (gzipped) ustar archive, keeping those `want` accepts.
 * Sizes come from headers, so each is checked against the bytes actually present.
 */
export function readTar(raw: Uint8Array, file: string, want: (name: string) => boolean): Map<string, Uint8Array> {
  const bytes = maybeGunzip(raw, file);
  const out = new Map<string, Uint8Array>();
  let off = 0;
  while (off + 512 <= bytes.length) {
    const header = bytes.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) => {
      const s = Buffer.from(header.subarray(start, start + len)).toString('latin1');
      const nul = s.indexOf('\0');
      return nul >= 0 ? s.slice(0, nul) : s;
    };
    const sizeText = field(124, 12).trim();
    if (!/^[0-7]*$/.test(sizeText)) throw new UserError(`${file}: not a tar archive (bad header at byte ${off})`);
    const size = sizeText === '' ? 0 : parseInt(sizeText, 8);
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    const type = String.fromCharCode(header[156]!);
    const start = off + 512;
    if (start + size > bytes.length) throw new UserError(`${file}: truncated tar archive (entry ${JSON.stringify(name).slice(0, 120)} declares ${size} bytes)`);
    if ((type === '0' || type === '\0') && want(name)) out.set(name, bytes.subarray(start, start + size));
    off = start + Math.ceil(size / 512) * 512;
  }
  return out;
}
