import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors';
import { parseCifarBatch, readTar } from './cifar';
import { parseIdx } from './idx';
import { writeFileAtomic } from '../util/atomic';

export const DATASETS = ['fashion-mnist', 'cifar10'] as const;
export type DatasetName = (typeof DATASETS)[number];

export const CLASS_NAMES: Record<DatasetName, string[]> = {
  'fashion-mnist': ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  cifar10: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
};

export const IMAGE_SHAPE: Record<DatasetName, [number, number, number]> = {
  'fashion-mnist': [28, 28, 1],
  cifar10: [32, 32, 3],
};

/** One split of a data set: raw pixels (0–255, NHWC) and labels. */
export interface Split {
  count: number;
  /** [count, height, width, channels], uint8 0–255 */
  images: Uint8Array;
  labels: Uint8Array;
  shape: [number, number, number];
}

export interface Dataset {
  name: DatasetName;
  /** Where the files were found, e.g. "repo copy (data/fashion-mnist)". */
  source: string;
  classNames: string[];
  /** The class kept by --class, or null for all. */
  classIndex: number | null;
  train: Split;
  test: Split;
}

export interface DatasetOptions {
  dataset: DatasetName;
  /** --data-dir: checked first. */
  dataDir?: string;
  /** --class: a name (case-insensitive) or an index 0–9. */
  classFilter?: string | number;
  /** Whether to try the official download when no local copy exists (default true). */
  allowDownload?: boolean;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const REPO_FASHION_DIR = path.join(REPO_ROOT, 'data', 'fashion-mnist');
export const DEBIAN_FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const CACHE_DIR = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'fashion-gan');

const FASHION_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** The official mirror and the SHA-256 of each gzip file (identical to the copy shipped in data/). */
const FASHION_MIRROR = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
const FASHION_SHA256: Record<string, string> = {
  'train-images-idx3-ubyte.gz': 'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7',
  'train-labels-idx1-ubyte.gz': '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056',
  't10k-images-idx3-ubyte.gz': 'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa',
  't10k-labels-idx1-ubyte.gz': '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05',
};
const CIFAR_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
const CIFAR_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';

/** Finds `base` or `base.gz` in `dir`. */
function findFile(dir: string, base: string): string | null {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

function readFile(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function fashionDirComplete(dir: string): boolean {
  return Object.values(FASHION_FILES).every((f) => findFile(dir, f) !== null);
}

function loadFashionSplit(dir: string, images: string, labels: string): Split {
  const imgFile = findFile(dir, images)!;
  const lblFile = findFile(dir, labels)!;
  const img = parseIdx(readFile(imgFile), imgFile, 3);
  const lbl = parseIdx(readFile(lblFile), lblFile, 1);
  const [n, h, w] = img.dims as [number, number, number];
  if (h !== 28 || w !== 28) throw new UserError(`${imgFile}: images are ${h}×${w}, Fashion-MNIST images are 28×28`);
  if (lbl.dims[0] !== n) throw new UserError(`${lblFile}: ${lbl.dims[0]} labels but ${imgFile} has ${n} images`);
  const bad = lbl.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new UserError(`${lblFile}: label ${lbl.data[bad]} at index ${bad} (labels are 0–9)`);
  return { count: n, images: img.data, labels: lbl.data, shape: [28, 28, 1] };
}

const CIFAR_TRAIN = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const CIFAR_TEST = 'test_batch.bin';

function cifarDir(dir: string): string | null {
  for (const d of [dir, path.join(dir, 'cifar-10-batches-bin')]) {
    if ([...CIFAR_TRAIN, CIFAR_TEST].every((f) => fs.existsSync(path.join(d, f)))) return d;
  }
  return null;
}

function cifarTar(dir: string): string | null {
  const p = path.join(dir, 'cifar-10-binary.tar.gz');
  return fs.existsSync(p) ? p : null;
}

function concatSplits(parts: { images: Uint8Array; labels: Uint8Array }[]): Split {
  const count = parts.reduce((s, p) => s + p.labels.length, 0);
  const images = new Uint8Array(count * 3072);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * 3072);
    labels.set(p.labels, at);
    at += p.labels.length;
  }
  return { count, images, labels, shape: [32, 32, 3] };
}

function loadCifarFromDir(dir: string): { train: Split; test: Split } {
  const read = (f: string) => parseCifarBatch(readFile(path.join(dir, f)), path.join(dir, f));
  return { train: concatSplits(CIFAR_TRAIN.map(read)), test: concatSplits([read(CIFAR_TEST)]) };
}

function loadCifarFromTar(file: string): { train: Split; test: Split } {
  const entries = readTar(readFile(file), file, (n) => /(^|\/)(data_batch_[1-5]|test_batch)\.bin$/.test(n));
  const get = (base: string) => {
    for (const [name, data] of entries) if (name.endsWith(`/${base}`) || name === base) return parseCifarBatch(data, `${file}:${JSON.stringify(name).slice(1, -1)}`);
    throw new UserError(`${file}: archive has no ${base}`);
  };
  return { train: concatSplits(CIFAR_TRAIN.map(get)), test: concatSplits([get(CIFAR_TEST)]) };
}

async function download(url: string, dest: string, verify: (b: Uint8Array) => boolean): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new UserError(`download of ${url} failed (${(err as Error).message}); pass --data-dir with a local copy`);
  }
  if (!res.ok) throw new UserError(`download of ${url} failed: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!verify(bytes)) throw new UserError(`download of ${url}: checksum mismatch; nothing was saved`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  writeFileAtomic(dest, bytes);
}

const digest = (algo: string, b: Uint8Array) => crypto.createHash(algo).update(b).digest('hex');

/** Resolves the class filter to an index, or null for all classes. */
export function resolveClass(dataset: DatasetName, cls: string | number | undefined): number | null {
  if (cls === undefined || cls === '' || cls === 'all') return null;
  const names = CLASS_NAMES[dataset];
  const asText = String(cls).trim();
  if (/^\d+$/.test(asText)) {
    const i = Number(asText);
    if (i >= 0 && i < names.length) return i;
  }
  const lower = asText.toLowerCase();
  const i = names.findIndex((n) => n.toLowerCase() === lower || n.toLowerCase().split('/').includes(lower) || n.toLowerCase().replace(/[^a-z]/g, '') === lower.replace(/[^a-z]/g, ''));
  if (i >= 0) return i;
  throw new UserError(`--class ${asText}: unknown class for ${dataset} (allowed: 0–9 or ${names.map((n) => `"${n}"`).join(', ')})`);
}

function filterSplit(split: Split, cls: number | null): Split {
  if (cls === null) return split;
  const keep: number[] = [];
  split.labels.forEach((l, i) => l === cls && keep.push(i));
  const px = split.shape[0] * split.shape[1] * split.shape[2];
  const images = new Uint8Array(keep.length * px);
  keep.forEach((src, dst) => images.set(split.images.subarray(src * px, (src + 1) * px), dst * px));
  return { count: keep.length, images, labels: Uint8Array.from(keep.map((i) => split.labels[i]!)), shape: split.shape };
}

/**
 * Loads a data set from the first source that has it: --data-dir, $FASHION_GAN_DATA, the copy
 * shipped in the repo (Fashion-MNIST only), Debian's dataset-fashion-mnist, the download cache,
 * and finally the official download (verified by checksum).
 */
export async function loadDataset(opts: DatasetOptions): Promise<Dataset> {
  const { dataset } = opts;
  if (!DATASETS.includes(dataset)) throw new UserError(`--dataset ${dataset}: unknown data set (allowed: ${DATASETS.join(', ')})`);
  const classIndex = resolveClass(dataset, opts.classFilter);
  const candidates: { dir: string; label: string; explicit: boolean }[] = [];
  if (opts.dataDir) candidates.push({ dir: opts.dataDir, label: `--data-dir ${opts.dataDir}`, explicit: true });
  if (process.env.FASHION_GAN_DATA) candidates.push({ dir: process.env.FASHION_GAN_DATA, label: `$FASHION_GAN_DATA (${process.env.FASHION_GAN_DATA})`, explicit: true });

  let loaded: { train: Split; test: Split; source: string } | null = null;
  if (dataset === 'fashion-mnist') {
    const sub = (c: { dir: string; label: string; explicit: boolean }) => [c, { ...c, dir: path.join(c.dir, 'fashion-mnist') }];
    const all = [
      ...candidates.flatMap(sub),
      { dir: REPO_FASHION_DIR, label: 'repo copy (data/fashion-mnist)', explicit: false },
      { dir: DEBIAN_FASHION_DIR, label: `Debian's dataset-fashion-mnist (${DEBIAN_FASHION_DIR})`, explicit: false },
      { dir: path.join(CACHE_DIR, 'fashion-mnist'), label: `download cache (${path.join(CACHE_DIR, 'fashion-mnist')})`, explicit: false },
    ];
    for (const c of candidates) {
      if (!fs.existsSync(c.dir)) throw new UserError(`${c.label}: no such directory`);
      if (!all.some((a) => a.explicit && a.dir.startsWith(c.dir) && fashionDirComplete(a.dir))) {
        throw new UserError(`${c.label}: Fashion-MNIST not found (need ${Object.values(FASHION_FILES).join(', ')}, plain or .gz)`);
      }
    }
    let hit = all.find((c) => fashionDirComplete(c.dir));
    if (!hit && opts.allowDownload !== false) {
      const dir = path.join(CACHE_DIR, 'fashion-mnist');
      for (const [name, sha] of Object.entries(FASHION_SHA256)) {
        await download(FASHION_MIRROR + name, path.join(dir, name), (b) => digest('sha256', b) === sha);
      }
      hit = { dir, label: `downloaded into ${dir}`, explicit: false };
    }
    if (!hit) throw new UserError('Fashion-MNIST not found; install it with `apt-get install dataset-fashion-mnist` or pass --data-dir');
    loaded = {
      train: loadFashionSplit(hit.dir, FASHION_FILES.trainImages, FASHION_FILES.trainLabels),
      test: loadFashionSplit(hit.dir, FASHION_FILES.testImages, FASHION_FILES.testLabels),
      source: hit.label,
    };
  } else {
    const all = [...candidates, { dir: CACHE_DIR, label: `download cache (${CACHE_DIR})`, explicit: false }];
    for (const c of all) {
      if (c.explicit && !fs.existsSync(c.dir)) throw new UserError(`${c.label}: no such directory`);
      const d = fs.existsSync(c.dir) ? cifarDir(c.dir) : null;
      if (d) {
        loaded = { ...loadCifarFromDir(d), source: c.label };
        break;
      }
      const t = fs.existsSync(c.dir) ? cifarTar(c.dir) : null;
      if (t) {
        loaded = { ...loadCifarFromTar(t), source: `${c.label}, cifar-10-binary.tar.gz` };
        break;
      }
      if (c.explicit) {
        throw new UserError(`${c.label}: CIFAR-10 not found (need ${[...CIFAR_TRAIN, CIFAR_TEST].join(', ')} or cifar-10-binary.tar.gz)`);
      }
    }
    if (!loaded && opts.allowDownload !== false) {
      const dest = path.join(CACHE_DIR, 'cifar-10-binary.tar.gz');
      await download(CIFAR_URL, dest, (b) => digest('md5', b) === CIFAR_MD5);
      loaded = { ...loadCifarFromTar(dest), source: `downloaded into ${CACHE_DIR}` };
    }
    if (!loaded) throw new UserError('CIFAR-10 not found; pass --data-dir with the binary version');
  }
  return {
    name: dataset,
    source: loaded.source,
    classNames: CLASS_NAMES[dataset],
    classIndex,
    train: filterSplit(loaded.train, classIndex),
    test: filterSplit(loaded.test, classIndex),
  };
}

/** What `fashion-gan data --json` prints for one split. */
export function summariseSplit(split: Split) {
  const classCounts = new Array<number>(10).fill(0);
  for (const l of split.labels) classCounts[l]!++;
  let sum = 0;
  for (let i = 0; i < split.images.length; i++) sum += split.images[i]!;
  return {
    count: split.count,
    shape: [split.count, ...split.shape],
    classCounts,
    mean: split.images.length ? sum / split.images.length : 0,
  };
}

/**
 * Scales the images at `indices` to [-1, 1] with (x − 127.5) / 127.5, as the seed did.
 * @returns a new Float32Array of shape [indices.length, h, w, c]
 */
export function batchPixels(split: Split, indices: ArrayLike<number>): Float32Array {
  const px = split.shape[0] * split.shape[1] * split.shape[2];
  const out = new Float32Array(indices.length * px);
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * px;
    const dst = b * px;
    for (let p = 0; p < px; p++) out[dst + p] = (split.images[src + p]! - 127.5) / 127.5;
  }
  return out;
}
