/**
 * The server's side of nearest-image look-ups: a worker thread does the searching, so the page
 * and every other route stay responsive while look-ups run. Work is bounded: `workers`
 * searches at a time and `maxQueued` waiting; a request beyond that is refused at once (503),
 * before its body is read.
 */
import { Worker } from 'node:worker_threads';
import { ClientGone, HttpError } from './http';
import type { NearestAnswer, NearestQuery, WorkerReply } from './nearest';

export interface NearestLimits {
  /** Searches at a time (worker threads). Default 1: the machine is usually training too. */
  workers?: number;
  /** Look-ups that may wait for a worker (including those still sending their body). Default 8. */
  maxQueued?: number;
}

/** A place in line for one look-up request, taken before its body is read. */
export interface Admission {
  /** Runs the search (waiting for a worker); rejects with ClientGone if `signal` fires while it waits. */
  run(query: NearestQuery, signal: AbortSignal): Promise<NearestAnswer>;
  /** Gives the place back (idempotent). */
  release(): void;
}

interface Job {
  query: NearestQuery;
  resolve: (a: NearestAnswer) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  job: Job | null;
  /** Message id of the job it runs, and when it started. */
  id: number;
  started: number;
}

export class NearestPool {
  private admitted = 0;
  private waiting: Job[] = [];
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  /** Recent search time, for Retry-After. */
  private avgMs = 200;
  readonly workers: number;
  readonly maxQueued: number;

  constructor(
    private readonly dataDir: string | undefined,
    limits: NearestLimits = {},
  ) {
    this.workers = Math.max(1, limits.workers ?? 1);
    this.maxQueued = Math.max(0, limits.maxQueued ?? 8);
  }

  /** Seconds a refused client should wait before trying again. */
  retryAfter(): number {
    return Math.min(60, Math.max(1, Math.ceil((this.admitted * this.avgMs) / this.workers / 1000)));
  }

  /** A place in line, or null when `workers + maxQueued` look-ups are already admitted. */
  admit(): Admission | null {
    if (this.closed || this.admitted >= this.workers + this.maxQueued) return null;
    this.admitted++;
    let released = false;
    return {
      run: (query, signal) => this.enqueue(query, signal),
      release: () => {
        if (released) return;
        released = true;
        this.admitted--;
      },
    };
  }

  private enqueue(query: NearestQuery, signal: AbortSignal): Promise<NearestAnswer> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ClientGone());
      const job: Job = { query, resolve, reject };
      signal.addEventListener('abort', () => {
        const i = this.waiting.indexOf(job);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          reject(new ClientGone());
        }
      });
      this.waiting.push(job);
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0 && !this.closed) {
      let slot = this.slots.find((s) => s.job === null);
      if (!slot && this.slots.length < this.workers) slot = this.spawn();
      if (!slot) return;
      const job = this.waiting.shift()!;
      const s = slot;
      s.job = job;
      s.id = this.nextId++;
      s.started = performance.now();
      const id = s.id;
      s.ready.then(
        () => s.id === id && s.worker.postMessage({ id, query: job.query }),
        (err: Error) => this.fail(s, err),
      );
    }
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./nearest-worker-boot.mjs', import.meta.url), { workerData: { dataDir: this.dataDir } });
    worker.unref();
    const slot: Slot = { worker, ready: Promise.resolve(), job: null, id: 0, started: 0 };
    slot.ready = new Promise<void>((resolve, reject) => {
      worker.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`look-up worker: ${String(m)}`))));
      worker.once('error', reject);
    });
    slot.ready.catch(() => undefined);
    worker.on('message', (m: WorkerReply | 'ready') => {
      if (m === 'ready' || m.id !== slot.id || !slot.job) return;
      const job = slot.job;
      slot.job = null;
      this.avgMs = 0.8 * this.avgMs + 0.2 * (performance.now() - slot.started);
      if (m.ok) job.resolve(m.answer);
      else if (m.kind === 'data') job.reject(new HttpError(503, `training data unavailable: ${m.message}`));
      else if (m.kind === 'query') job.reject(new HttpError(422, m.message));
      else job.reject(new Error(m.message));
      this.dispatch();
    });
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => this.fail(slot, new Error(`look-up worker exited (code ${code})`)));
    this.slots.push(slot);
    return slot;
  }

  /** A worker died: its job fails, the slot goes, the next job gets a fresh worker. */
  private fail(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    slot.worker.removeAllListeners();
    void slot.worker.terminate();
    const job = slot.job;
    slot.job = null;
    job?.reject(this.closed ? new ClientGone() : err);
    if (!this.closed) this.dispatch();
  }

  /** Stops the workers; waiting look-ups end as if their clients had gone. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.reject(new ClientGone());
    const slots = this.slots.splice(0);
    for (const s of slots) {
      s.job?.reject(new ClientGone());
      s.worker.removeAllListeners();
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
