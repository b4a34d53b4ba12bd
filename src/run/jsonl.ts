import * as fs from 'node:fs';
import { UserError } from '../errors';
import { ioError, writeAll } from '../util/atomic';

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

/** The JSON values of the lines of a jsonl text, skipping blank and torn lines (a crash's). */
export function parseJsonl<T = unknown>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch {
      // a torn line from a crash; the next resume cuts it off
    }
  }
  return rows;
}

/** Only the rows that are JSON objects (what the app shows of a file it does not trust). */
export function objectRows(rows: unknown[]): Record<string, unknown>[] {
  return rows.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object' && !Array.isArray(r));
}

/** Reads history.jsonl (or metrics.jsonl), skipping a torn last line. */
export function readJsonl<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  return parseJsonl<T>(fs.readFileSync(file, 'utf8'));
}
