/**
 * The look-up worker thread: holds the training sets and answers one nearest-image query at a
 * time, so the server's event loop never runs a search (see nearest-pool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { UserError } from '../errors';
import { NeighbourIndex, QueryMismatch, type NearestQuery, type WorkerReply } from './nearest';

const index = new NeighbourIndex((workerData as { dataDir?: string }).dataDir);

parentPort!.on('message', async ({ id, query }: { id: number; query: NearestQuery }) => {
  let reply: WorkerReply;
  try {
    reply = { id, ok: true, answer: await index.query(query) };
  } catch (err) {
    const kind = err instanceof UserError ? 'data' : err instanceof QueryMismatch ? 'query' : 'internal';
    reply = { id, ok: false, kind, message: (err as Error)?.message ?? String(err) };
  }
  parentPort!.postMessage(reply);
});
parentPort!.postMessage('ready');
