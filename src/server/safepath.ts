import * as fs from 'node:fs';
import * as path from 'node:path';

/** A request the server refuses, with the HTTP status to answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

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

/**
 * Resolves `segments` under `root` and proves the real file (after following every symlink)
 * is still inside the real `root`. Returns the real path of an existing regular file.
 */
export function resolveInside(root: string, segments: string[]): string {
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
  } catch {
    throw new HttpError(404, 'not found');
  }
  const candidate = path.join(realRoot, ...segments);
  // path.join already collapsed nothing dangerous (segments are checked), but be strict anyway.
  if (candidate !== realRoot && !candidate.startsWith(realRoot + path.sep)) throw new HttpError(400, 'path escapes its folder');
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    throw new HttpError(404, 'not found');
  }
  if (real !== realRoot && !real.startsWith(realRoot + path.sep)) throw new HttpError(403, 'forbidden: path leads outside its folder');
  return real;
}

/** True when `p` (a real path) is `root` (a real path) or inside it. */
export function isInside(realRoot: string, p: string): boolean {
  return p === realRoot || p.startsWith(realRoot + path.sep);
}
