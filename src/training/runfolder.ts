import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors';
import { ioError, writeAll } from '../util/atomic';

/** The files of a run folder: the contract that generate, evaluate, compare and the app read. */
export function runPaths(dir: string) {
  return {
    dir,
    config: path.join(dir, 'config.json'),
    history: path.join(dir, 'history.jsonl'),
    metrics: path.join(dir, 'metrics.jsonl'),
    samples: path.join(dir, 'samples'),
    historyPng: path.join(dir, 'history.png'),
    gif: path.join(dir, 'progress.gif'),
    checkpointDir: path.join(dir, 'checkpoint'),
    checkpoint: path.join(dir, 'checkpoint', 'latest.fgck'),
    generator: path.join(dir, 'generator'),
    lock: path.join(dir, '.lock'),
  };
}
export type RunPaths = ReturnType<typeof runPaths>;

/** Whether a process with this pid exists (EPERM: it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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
      const pid = Number.parseInt(text.trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new UserError(`${path.dirname(lockFile)}: another process (pid ${pid}) is training into this run folder`);
      }
      fs.rmSync(lockFile, { force: true }); // stale: its owner is gone
    }
  }
  throw new UserError(`${lockFile}: could not take the run lock`);
}

/**
 * history.jsonl, one JSON object per batch. Lines are appended as steps finish; a checkpoint
 * records the file's length, and a resume cuts the file back to it, so the history never holds
 * a torn or duplicated line.
 */
export class HistoryWriter {
  private fd: number;
  bytes: number;

  constructor(
    readonly file: string,
    truncateTo: number,
  ) {
    try {
      this.fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
      const size = fs.fstatSync(this.fd).size;
      if (truncateTo > size) throw new UserError(`${file}: shorter (${size} bytes) than its checkpoint records (${truncateTo}); the run folder is damaged`);
      fs.ftruncateSync(this.fd, truncateTo);
    } catch (err) {
      throw err instanceof UserError ? err : ioError(err, file);
    }
    this.bytes = truncateTo;
  }

  append(row: object): void {
    const line = Buffer.from(`${JSON.stringify(row)}\n`);
    try {
      writeAll(this.fd, line, this.bytes);
    } catch (err) {
      throw ioError(err, this.file);
    }
    this.bytes += line.length;
  }

  /** Makes everything appended so far durable (called before a checkpoint records `bytes`). */
  sync(): void {
    try {
      fs.fsyncSync(this.fd);
    } catch (err) {
      throw ioError(err, this.file);
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Reads history.jsonl (or metrics.jsonl), skipping a torn last line. */
export function readJsonl<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const rows: T[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // a torn line from a crash; the next resume cuts it off
    }
  }
  return rows;
}
