import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { ioError, writeAll } from '../util/atomic';

/** Whether a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid a lock file's text names, if that process is alive (a live trainer holds the run). */
export function liveLockOwner(text: string): number | null {
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 && pidAlive(pid) ? pid : null;
}

/** Removes a lock whose process is gone (a trainer killed after its last write); keeps a live one. */
export function clearStaleLock(lockFile: string): void {
  let text: string;
  try {
    text = fs.readFileSync(lockFile, 'utf8');
  } catch {
    return; // no lock
  }
  if (liveLockOwner(text) === null) fs.rmSync(lockFile, { force: true });
}

/**
 * Takes the run folder's lock (a file holding our pid). A second trainer is refused; a lock
 * left by a dead process is taken over. Returns the release function.
 */
export function acquireLock(lockFile: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockFile, 'wx');
      try {
        writeAll(fd, Buffer.from(`${process.pid}\n`));
      } catch (err) {
        // e.g. ENOSPC: leave no empty lock behind
        fs.closeSync(fd);
        fs.rmSync(lockFile, { force: true });
        throw ioError(err, lockFile);
      }
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(lockFile, 'utf8').trim() === String(process.pid)) fs.rmSync(lockFile);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if (err instanceof UserError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(err, lockFile);
      let text: string;
      try {
        text = fs.readFileSync(lockFile, 'utf8');
      } catch (readErr) {
        if ((readErr as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
        throw ioError(readErr, lockFile);
      }
      const pid = liveLockOwner(text);
      if (pid !== null && pid !== process.pid) {
        throw new UserError(`${path.dirname(lockFile)}: another process (pid ${pid}) is training into this run folder`);
      }
      fs.rmSync(lockFile, { force: true }); // stale: its owner is gone
    }
  }
  throw new UserError(`${lockFile}: could not take the run lock`);
}
