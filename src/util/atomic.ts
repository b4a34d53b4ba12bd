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
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
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
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}
