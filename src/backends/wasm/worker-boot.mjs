// Entry of a wasm worker thread (wasm-workers.ts): the TypeScript sources need tsx's loader,
// which Node 20 does not pass on to worker threads.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
