/**
 * Safe access to files under a folder the server shows, for a client that may be hostile and
 * may be changing the folder while we read it.
 *
 * Every read opens first and checks what was opened: the kernel's own path of the open file
 * (`/proc/self/fd/N`) must lie inside the folder's real path. The check and the read are
 * about the same file, so swapping a folder for a symlink between them cannot leak a file
 * from outside. Files are opened non-blocking (a planted FIFO cannot stall the server), and a
 * file that vanishes is a 404.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HttpError } from './http';

/**
 * Splits a raw request path (as sent, before any normalisation) into decoded segments.
 * Refuses anything that could climb out of a folder: `.`/`..` segments (plain or
 * percent-encoded), encoded slashes or backslashes, NUL bytes, empty segments (`//`, which is
 * how absolute paths sneak in) and malformed escapes. Dotfiles are 404 (they are never public).
 */
export function splitRequestPath(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw new HttpError(400, 'request path must start with /');
  if (rawPath.length > 2048) throw new HttpError(414, 'request path too long');
  const parts = rawPath.slice(1).split('/');
  // A trailing slash ("/runs/") leaves one empty segment at the end: allowed, means "index".
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  const out: string[] = [];
  for (const raw of parts) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new HttpError(400, 'malformed percent-encoding in path');
    }
    if (seg === '' && parts.length === 1) break; // the root "/"
    if (seg === '' || seg === '.' || seg === '..') throw new HttpError(400, 'path segments may not be empty, "." or ".."');
    if (/[/\\\0]/.test(seg) || /^[a-zA-Z]:/.test(seg)) throw new HttpError(400, 'path segments may not hold slashes, backslashes, drive letters or NUL');
    if (seg.startsWith('.')) throw new HttpError(404, 'not found');
    out.push(seg);
  }
  return out;
}

/** True when `p` (a real path) is `root` (a real path) or inside it. */
export function isInside(realRoot: string, p: string): boolean {
  return p === realRoot || p.startsWith(realRoot + path.sep);
}

/** Linux names every open file in /proc/self/fd; elsewhere the check falls back to realpath + inode. */
const PROC_FD = (() => {
  try {
    return fs.statSync('/proc/self/fd').isDirectory();
  } catch {
    return false;
  }
})();

const { O_RDONLY, O_NONBLOCK, O_DIRECTORY } = fs.constants;
const O_NOCTTY = fs.constants.O_NOCTTY ?? 0;

export interface OpenFile {
  fd: number;
  stat: fs.Stats;
  /** Where the open file really is (inside the root). */
  real: string;
}

function openFailure(err: unknown): HttpError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') return new HttpError(403, 'forbidden');
  if (code === 'EMFILE' || code === 'ENFILE') return new HttpError(503, 'too many open files; try again shortly', { 'Retry-After': '1' });
  // ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG, …: as far as the client is concerned, not there.
  return new HttpError(404, 'not found');
}

/** Where the open file `fd` really is (null if it was deleted meanwhile), judged by the kernel. */
function openedPath(fd: number, candidate: string, stat: fs.Stats): string | null {
  if (stat.nlink === 0) return null;
  if (PROC_FD) return fs.readlinkSync(`/proc/self/fd/${fd}`);
  const real = fs.realpathSync(candidate);
  const again = fs.lstatSync(real);
  return again.dev === stat.dev && again.ino === stat.ino ? real : '';
}

/**
 * Opens `segments` under `root` (following symlinks) and proves the opened file lies inside
 * the real `root`; 404 when absent or not of the `kind` asked, 403 when it leads outside.
 * The caller owns the returned fd.
 */
export function openInside(root: string, segments: string[], kind: 'file' | 'dir' | 'any' = 'file'): OpenFile {
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    throw new HttpError(404, 'not found');
  }
  const candidate = path.join(realRoot, ...segments);
  // Segments are checked by splitRequestPath (or are the contract's names), but be strict anyway.
  if (!isInside(realRoot, candidate)) throw new HttpError(400, 'path escapes its folder');
  let fd: number;
  try {
    fd = fs.openSync(candidate, O_RDONLY | O_NONBLOCK | O_NOCTTY | (kind === 'dir' ? O_DIRECTORY : 0));
  } catch (err) {
    throw openFailure(err);
  }
  try {
    const stat = fs.fstatSync(fd);
    const where = openedPath(fd, candidate, stat);
    if (where === null) throw new HttpError(404, 'not found');
    if (!isInside(realRoot, where)) throw new HttpError(403, 'forbidden: path leads outside its folder');
    if ((kind === 'file' && !stat.isFile()) || (kind === 'dir' && !stat.isDirectory())) throw new HttpError(404, 'not found');
    return { fd, stat, real: where };
  } catch (err) {
    fs.closeSync(fd);
    throw err instanceof HttpError ? err : openFailure(err);
  }
}

/** Runs `fn` on the file opened by `openInside`, closing it afterwards; null when it cannot be opened. */
export function withFileInside<T>(root: string, segments: string[], kind: 'file' | 'dir' | 'any', fn: (f: OpenFile) => T): T | null {
  let f: OpenFile;
  try {
    f = openInside(root, segments, kind);
  } catch (err) {
    if (err instanceof HttpError) return null;
    throw err;
  }
  try {
    return fn(f);
  } finally {
    fs.closeSync(f.fd);
  }
}

/** Reads `length` bytes from `position` of an open file (fewer if it is shorter now). */
export function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/** A whole small file under `root` as text; null when absent, outside, not a file or over `maxBytes`. */
export function readTextInside(root: string, segments: string[], maxBytes: number): string | null {
  return withFileInside(root, segments, 'file', ({ fd, stat }) => (stat.size > maxBytes ? null : readAt(fd, stat.size, 0).toString('utf8')));
}

/** Stats of a file or folder under `root`, or null (absent, outside). */
export function statInside(root: string, segments: string[]): fs.Stats | null {
  return withFileInside(root, segments, 'any', (f) => f.stat);
}

/** The entry names of a folder under `root`, read through the opened folder itself; throws when absent or outside. */
export function readdirInside(root: string, segments: string[]): string[] {
  const names = withFileInside(root, segments, 'dir', ({ fd }) => fs.readdirSync(PROC_FD ? `/proc/self/fd/${fd}` : path.join(fs.realpathSync(root), ...segments)));
  if (names === null) throw new HttpError(404, 'not found');
  return names;
}
