/**
 * Small jobs do not start worker threads (a worker costs more to start in a fresh process than such
 * a job gains from it), large ones do, and once workers run every job may use them. A thread count
 * set by NAL_THREADS is taken as given. This file's process starts with no workers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COLD_POOL_MIN_MS, startWorkers, threadsForWork } from '../../src/compute/parallel';

describe('threads for a job in a fresh process', () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.NAL_THREADS;
    delete process.env.NAL_THREADS;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.NAL_THREADS;
    else process.env.NAL_THREADS = saved;
  });

  it('keeps a small job on the calling thread until workers run, and gives a large one its threads', () => {
    expect(threadsForWork(1, 10 * COLD_POOL_MIN_MS)).toBe(1);
    expect(threadsForWork(4, COLD_POOL_MIN_MS / 2)).toBe(1);
    expect(threadsForWork(4, COLD_POOL_MIN_MS)).toBe(4);
    process.env.NAL_THREADS = '3';
    expect(threadsForWork(3, 1)).toBe(3);
    delete process.env.NAL_THREADS;
    startWorkers(2);
    expect(threadsForWork(2, 1)).toBe(2);
    expect(threadsForWork(4, 1)).toBe(2); // the caller and the one worker started
  });
});
