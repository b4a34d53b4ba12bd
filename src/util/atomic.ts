import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';

/**
 * Writes a file so that readers only ever see the old content or the whole new content:
 * write to a temp file beside it, fsync, rename over the target, fsync the folder.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}`);
  removeStaleTemps(dir, path.basename(file));
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    syncDir(dir);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw ioError(err, file);
  }
}

/**
 * Writes all of `data` at the fd's position. write(2) may write less than asked without an
 * error (a nearly full disk writes what fits); the next call then reports ENOSPC. A single
 * fs.writeSync would silently leave a short file, which writeFileAtomic would rename over a
 * good one.
 */
export function writeAll(fd: number, data: Uint8Array, position?: number): void {
  let done = 0;
  while (done < data.length) {
    const n = fs.writeSync(fd, data, done, data.length - done, position === undefined ? null : position + done);
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += n;
  }
}

/**
 * Removes `.NAME.tmp-PID` files left beside `name` by writers that were killed mid-write (their
 * pid is gone); without this every crash during a checkpoint leaves a checkpoint-sized file behind.
 */
function removeStaleTemps(dir: string, name: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return; // the write itself will report the problem
  }
  const prefix = `.${name}.tmp-`;
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // its writer is alive
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EPERM') continue;
    }
    try {
      fs.rmSync(path.join(dir, e), { force: true });
    } catch {
      // best effort; the write below reports real trouble
    }
  }
}

/** fsyncs a directory so a rename inside it survives a crash (best effort where unsupported). */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Turns a Node file-system error into a one-line UserError naming the file. */
export function ioError(err: unknown, file: string): Error {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOSPC':
      return new UserError(`${file}: no space left on the device; the previous version is kept`);
    case 'EACCES':
    case 'EPERM':
      return new UserError(`${file}: permission denied`);
    case 'EROFS':
      return new UserError(`${file}: the file system is read-only`);
    case 'ENOENT':
      return new UserError(`${file}: no such file or directory`);
    case 'ENOTDIR':
      return new UserError(`${file}: a part of the path is not a directory`);
    case 'EISDIR':
      return new UserError(`${file}: is a folder, not a file`);
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

/** A message squeezed onto one line (control characters shown as spaces), at most 300 characters. */
export function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  return flat.length > 300 ? `${flat.slice(0, 297)}…` : flat;
}
