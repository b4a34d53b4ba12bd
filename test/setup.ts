/**
 * Every test file: let the event loop turn between tests. Synchronous tests that compute for
 * seconds each (native kernels at real sizes) otherwise run back to back on microtasks alone,
 * and vitest's worker cannot answer its own RPC (the run then fails with "Timeout calling
 * onTaskUpdate" although every test passed).
 */
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
