/**
 * HTTP helpers of the app's server: errors with a status, the security headers every answer
 * carries, JSON and file answers, and a bounded request body reader.
 */
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';

/** A request the server refuses, with the HTTP status to answer (and headers such as Retry-After). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The client went away (an aborted upload, a closed socket): nothing to answer, nothing to report. */
export class ClientGone extends Error {
  constructor() {
    super('client went away');
    this.name = 'ClientGone';
  }
}

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.bin': 'application/octet-stream',
};

/** The page may talk to this server only: every asset is local, nothing loads from a CDN. */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every answer, files and JSON alike. */
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': CSP,
  'Cache-Control': 'no-cache',
};

/** Answers with `body`; a response already under way is cut off instead (the client sees it end early). */
export function send(res: http.ServerResponse, status: number, body: string | Buffer, type: string, head = false, extra: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(buf.length), ...extra });
  res.end(head ? undefined : buf);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown, head = false, extra: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), MIME['.json']!, head, extra);
}

/**
 * Sends an open file (the caller proved it is the right one; see `openInside`) with an ETag,
 * answering 304 when the page has it. Takes over `fd` and closes it. Exactly `stat.size`
 * bytes are sent; a file that shrinks meanwhile ends the connection instead of leaving the
 * client waiting for bytes that never come.
 */
export function sendOpenFile(req: http.IncomingMessage, res: http.ServerResponse, opened: { fd: number; stat: fs.Stats }, name: string, head: boolean): void {
  const { fd, stat } = opened;
  const etag = `W/"${stat.size.toString(16)}-${Math.round(stat.mtimeMs).toString(16)}"`;
  const type = MIME[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
  if (head || req.headers['if-none-match'] === etag || stat.size === 0) {
    fs.close(fd, () => undefined);
    const notModified = req.headers['if-none-match'] === etag;
    res.writeHead(notModified ? 304 : 200, { ...SECURITY_HEADERS, ETag: etag, ...(notModified ? {} : { 'Content-Type': type, 'Content-Length': String(stat.size) }) });
    res.end();
    return;
  }
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(stat.size), ETag: etag });
  const stream = fs.createReadStream('', { fd, start: 0, end: stat.size - 1, autoClose: true });
  let sent = 0;
  stream.on('data', (chunk) => (sent += chunk.length));
  stream.on('error', () => res.destroy());
  stream.on('end', () => (sent === stat.size ? res.end() : res.destroy()));
  res.on('close', () => stream.destroy());
  stream.pipe(res, { end: false });
}

/** The size a request declares for its body: a number, null without Content-Length, NaN when malformed. */
export function declaredLength(req: http.IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  if (raw === undefined) return null;
  return /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
}

/**
 * Reads a request body up to `limit` bytes: 413 beyond it (declared or streamed), 408 when it
 * takes longer than `timeoutMs` (a slow client must not hold its place in line), ClientGone
 * when the client leaves mid-body. Sends "100 Continue" only once the declared size is known
 * to fit, so a client that asked first never uploads what would be refused.
 */
export function readBody(req: http.IncomingMessage, res: http.ServerResponse, limit: number, timeoutMs = 20_000): Promise<Buffer> {
  const tooLarge = () => new HttpError(413, `request body too large (limit ${limit} bytes)`, { Connection: 'close' });
  return new Promise((resolve, reject) => {
    const declared = declaredLength(req);
    if (declared !== null && !(declared <= limit)) {
      reject(Number.isNaN(declared) ? new HttpError(400, 'malformed Content-Length', { Connection: 'close' }) : tooLarge());
      return;
    }
    if (/^100-continue$/i.test(String(req.headers.expect ?? ''))) res.writeContinue();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => finish(new HttpError(408, `request body not received within ${timeoutMs / 1000} s`, { Connection: 'close' })), timeoutMs);
    const finish = (err: Error | null, body?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      if (err) reject(err);
      else resolve(body!);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        finish(tooLarge());
        req.resume(); // drain what is still coming, so the 413 can be read
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => finish(null, Buffer.concat(chunks)));
    req.on('error', () => finish(new ClientGone()));
    req.on('close', () => finish(new ClientGone()));
  });
}
