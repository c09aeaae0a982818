/**
 * Data-parallel kernels on worker threads, behind a synchronous call: the rows of a job are cut
 * into blocks, the main thread and up to `threads - 1` workers take blocks from a shared atomic
 * counter (so a thread slowed down by another process simply takes fewer), and the call returns
 * when every block is done. Detectors' scoring stays synchronous (`anomalyScore`), and results do
 * not depend on the number of threads: every row is computed by the same code with the same
 * arithmetic, whichever thread runs it.
 *
 * Kernels are source text (`(bufs, params, start, end, arena) => void` expressions built only
 * from integers and the library's own functions, never from user data), compiled once per thread.
 * The buffers live in SharedArrayBuffers, so nothing is copied to the workers; a job may also carry
 * a WebAssembly kernel arena (`wasm.ts`), whose shared memory every worker instantiates the
 * arena's module on once, so a kernel can call SIMD code on the job's data.
 *
 * Threads: `os.availableParallelism()`, at most 8, less the cores other processes keep busy right
 * now (Linux: the runnable tasks of /proc/loadavg, read at most every 250 ms; a worker sharing a
 * core with a busy process makes a job slower than the calling thread alone, measured by
 * bench/busy-machine.mjs); the environment variable `NAL_THREADS` sets the number (1 turns workers
 * off). Where workers or code generation are unavailable, or a job is small, everything runs on
 * the calling thread.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { KernelArena, WasmMemory } from './wasm';

/** Typed arrays a kernel can receive. */
export type SharedArray = Float64Array | Float32Array | Int32Array | Uint8Array;

/** One parallel job. */
export interface BlockJob {
  /** Cache key of the kernel source (the same key must always mean the same source). */
  key: string;
  /** Source of a function expression `(bufs, params, start, end) => void` processing rows [start, end). */
  source: () => string;
  /** Buffers, all backed by SharedArrayBuffers (see {@link sharedCopy}). */
  bufs: Record<string, SharedArray>;
  /** Numbers passed to the kernel. */
  params: Record<string, number>;
  /** Rows to process. */
  rows: number;
  /** Rows per block. */
  blockRows: number;
  /**
   * A WebAssembly kernel arena the kernel works in (see `wasm.ts`): every thread gets the arena's
   * module instantiated on its (shared) memory, as the kernel's fifth argument `{ exports, memory }`.
   */
  arena?: KernelArena;
}

/** What a kernel gets as its fifth argument when its job has an arena. */
export interface ArenaAccess {
  exports: Record<string, (...args: number[]) => void>;
  memory: WasmMemory;
}

const MAX_THREADS = 8;
/** A block not finished after this long is recomputed by the calling thread (a stuck or dead worker). */
const STALL_MS = 30_000;

/** Threads held by other work of the library (see {@link reserveThreads}). */
let reservedThreads = 0;

/** Threads of the library running outside the kernels right now (see {@link holdRunningThreads}). */
let runningThreads = 0;

/** Threads used for parallel kernels (the calling thread included), less those reserved. */
export function threadCount(): number {
  return Math.max(1, configuredThreads() - reservedThreads);
}

/**
 * Count `n` threads of our own as running (the ensemble's autoencoder worker while it trains) until
 * the returned function is called: the load check ({@link busyCores}) then does not take them for
 * other processes' work. Unlike {@link reserveThreads} this does not lower the thread count.
 */
export function holdRunningThreads(n: number): () => void {
  return hold(n, (by) => (runningThreads += by));
}

/** Add `n` with `change` now and `-n` when the returned function is first called (later calls do nothing). */
function hold(n: number, change: (by: number) => void): () => void {
  change(n);
  let held = true;
  return () => {
    if (held) {
      held = false;
      change(-n);
    }
  };
}

/** `NAL_THREADS` as a thread count, when it is set to one. */
function threadsFromEnv(): number | undefined {
  const env = process.env.NAL_THREADS;
  if (env === undefined || env.trim() === '') return undefined;
  const n = Number(env);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, 64) : undefined;
}

/** Whether `NAL_THREADS` sets the thread count. */
function threadsConfigured(): boolean {
  return threadsFromEnv() !== undefined;
}

function configuredThreads(): number {
  const fromEnv = threadsFromEnv();
  if (fromEnv !== undefined) return fromEnv;
  const avail = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_THREADS, avail, avail - busyCores(avail)));
}

/** How often {@link busyCores} reads /proc/loadavg again (ms). */
const LOAD_TTL_MS = 250;
let loadRead: { at: number; busy: number } | undefined;
/** Readings of the load per refresh (see {@link busyCores}). */
const LOAD_SAMPLES = 3;

/**
 * Cores of the `avail` this process may use that other work keeps busy at this moment: the
 * runnable tasks of /proc/loadavg (its fourth field, `running/total`, counted when read, not an
 * average; read at most every 250 ms, the fewest of three readings in a row), less this thread
 * and this process's other runnable threads (read from /proc/self/task at the same time, and at
 * least the library's threads counted by {@link holdRunningThreads}), scaled to `avail` of the machine's cores (a container sees
 * the whole host's tasks), rounded. 0 where /proc/loadavg cannot be read (not Linux).
 */
export function busyCores(avail: number): number {
  const now = Date.now();
  if (!loadRead || now - loadRead.at > LOAD_TTL_MS || now < loadRead.at) {
    // the fewest of a few readings: a task runnable for an instant (a kernel thread, one of ours
    // between two reads) is not a busy core, while a CPU-bound process is runnable at every one
    let busy = Infinity;
    for (let i = 0; i < LOAD_SAMPLES && busy > 0; i++) {
      let text = '';
      try {
        text = fs.readFileSync('/proc/loadavg', 'latin1');
      } catch {
        text = '';
      }
      busy = Math.min(busy, busyFromLoadavg(text, avail, cpuCount(), Math.max(ownRunnableThreads() ?? 0, runningThreads)));
    }
    loadRead = { at: now, busy };
  }
  return Math.round(loadRead.busy);
}

/**
 * This process's runnable threads besides the calling one, read from /proc/self/task when the
 * load is read: our workers, our autoencoder worker, and V8's own compiler and GC threads (a
 * WebAssembly module compiled just before a fit tiers up on background threads, which the load
 * alone would count as another process's work). Undefined where it cannot be read.
 */
function ownRunnableThreads(): number | undefined {
  try {
    let runnable = 0;
    for (const tid of fs.readdirSync('/proc/self/task')) {
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      } catch {
        continue; // the thread ended meanwhile
      }
      // "tid (name) S ...": the state follows the last parenthesis
      if (stat.charAt(stat.lastIndexOf(')') + 2) === 'R') runnable++;
    }
    return Math.max(0, runnable - 1);
  } catch {
    return undefined;
  }
}

let cpus: number | undefined;
/** The machine's cores as the OS lists them (cached: it does not change while we run). */
function cpuCount(): number {
  cpus ??= os.cpus().length;
  return cpus;
}

/**
 * {@link busyCores}' arithmetic on the text of /proc/loadavg (`"0.52 0.58 0.59 3/467 12345"`):
 * the runnable tasks less this thread and `own` running threads of ours, times `avail / cores`;
 * 0 for text it cannot read.
 * @internal
 */
export function busyFromLoadavg(text: string, avail: number, cores: number, own: number): number {
  const running = Number(text.split(' ')[3]?.split('/')[0]);
  if (!Number.isInteger(running) || running < 1) return 0;
  return Math.max(0, running - 1 - own) * (avail / Math.max(avail, cores || avail));
}

/**
 * Hold `n` threads for work running beside the kernels (the ensemble's autoencoder training in its
 * own worker): until the returned function is called, {@link threadCount} is that many lower, so
 * parallel kernels do not take the cores it runs on. Results never depend on the thread count.
 */
export function reserveThreads(n: number): () => void {
  return hold(n, (by) => (reservedThreads += by));
}

/** A copy of `a` in shared memory (or `a` itself when it already is). */
export function sharedCopy<T extends SharedArray>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as { new (buf: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const out = new Ctor(new SharedArrayBuffer(a.length * Ctor.BYTES_PER_ELEMENT));
  out.set(a as any);
  return out;
}

const sharedCopies = new WeakMap<SharedArray, SharedArray>();

/**
 * A shared-memory copy of `a`, cached for as long as `a` lives: a detector's training rows are
 * copied once, not once per call. The caller must not change `a` afterwards (the library never
 * does: fitted state is immutable).
 */
export function sharedCopyCached<T extends SharedArray>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  let c = sharedCopies.get(a) as T | undefined;
  if (!c) {
    c = sharedCopy(a);
    sharedCopies.set(a, c);
  }
  return c;
}

const scratch = new Map<string, SharedArray>();

/**
 * A shared scratch array of at least `length` elements, reused from call to call (so the workers,
 * which hold on to the buffers of past jobs until their own garbage collection, never pin more
 * than one of each). Its contents are overwritten by the next job using the same `name`: copy out
 * what must outlive the call.
 */
export function sharedScratch<T extends SharedArray>(name: string, Ctor: { new (buf: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  const key = `${name}:${Ctor.name}`;
  let a = scratch.get(key) as T | undefined;
  if (!a || a.length < length) {
    a = new Ctor(new SharedArrayBuffer(Math.max(1, length) * Ctor.BYTES_PER_ELEMENT));
    scratch.set(key, a);
  }
  return a.length === length ? a : (a.subarray(0, length) as T);
}

/** A zero-filled shared typed array. */
export function sharedArray<T extends SharedArray>(Ctor: { new (buf: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  return new Ctor(new SharedArrayBuffer(Math.max(1, length) * Ctor.BYTES_PER_ELEMENT));
}

type Kernel = (bufs: Record<string, SharedArray>, params: Record<string, number>, start: number, end: number, arena?: ArenaAccess) => void;

const mainKernels = new Map<string, Kernel>();
let codegen = true;

/** Compile a kernel source on this thread; undefined where code generation is not allowed. */
export function compileKernel(key: string, source: () => string): Kernel | undefined {
  let k = mainKernels.get(key);
  if (k) return k;
  if (!codegen) return undefined;
  try {
    k = new Function(`'use strict';\nreturn (${source()});`)() as Kernel;
  } catch {
    codegen = false;
    return undefined;
  }
  mainKernels.set(key, k);
  return k;
}

// -------------------------------------------------------------------------------------------------
// The worker pool
// -------------------------------------------------------------------------------------------------

/** The worker's whole program: compile kernels on demand, take blocks until none is left. */
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const kernels = new Map();
const arenas = new Map();
parentPort.on('message', (job) => {
  const ctl = job.ctl;
  try {
    let f = kernels.get(job.key);
    if (!f) {
      f = new Function("'use strict';\\nreturn (" + job.source + ");")();
      kernels.set(job.key, f);
    }
    let arena;
    if (job.arena) {
      // the caller's WebAssembly memory, with the kernel module instantiated on it once
      arena = arenas.get(job.arena.id);
      if (!arena) {
        const inst = new WebAssembly.Instance(job.arena.module, { env: { memory: job.arena.memory } });
        arena = { exports: inst.exports, memory: job.arena.memory };
        arenas.set(job.arena.id, arena);
      }
    }
    for (;;) {
      const b = Atomics.add(ctl, 0, 1);
      if (b >= job.nBlocks) break;
      Atomics.store(ctl, 3 + b, 1);
      const start = b * job.blockRows;
      f(job.bufs, job.params, start, Math.min(job.rows, start + job.blockRows), arena);
      Atomics.store(ctl, 3 + b, 2);
      Atomics.add(ctl, 1, 1);
      Atomics.notify(ctl, 1);
    }
  } catch (e) {
    // the blocks this worker took stay unfinished: the calling thread redoes them at once
    kernels.delete(job.key);
    Atomics.add(ctl, 2, 1);
    Atomics.notify(ctl, 1);
  }
});
`;

interface PoolWorker {
  postMessage(msg: unknown): void;
  sources: Set<string>;
}

let pool: PoolWorker[] | undefined;
let poolFailed = false;

function workers(n: number): PoolWorker[] {
  if (poolFailed) return [];
  pool ??= [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    while (pool.length < n) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref(); // idle workers never keep the process alive
      w.on('error', () => {
        // a dead worker is dropped; its unfinished blocks are redone by the calling thread
        pool = pool?.filter((p) => p !== entry);
      });
      const entry: PoolWorker = { postMessage: (m) => w.postMessage(m), sources: new Set() };
      pool.push(entry);
    }
  } catch {
    poolFailed = true;
    return [];
  }
  return pool.slice(0, n);
}

/**
 * Single-thread milliseconds of work below which a job does not start worker threads: in a fresh
 * process a worker takes tens of milliseconds of CPU to start and its first blocks run cold, so a
 * smaller job finishes sooner on the calling thread alone (measured: the One-Class SVM and LOF fits
 * on SpamBase's 2,944 rows x 57 columns and musk's 2,143 x 166).
 */
export const COLD_POOL_MIN_MS = 150;

/**
 * The threads for a job of about `estimatedMs` milliseconds on one thread: `threads` when the
 * workers it would use are running already or the job is large enough to start them, otherwise
 * the calling thread and the workers already started. A number set by `NAL_THREADS` is taken as
 * given.
 */
export function threadsForWork(threads: number, estimatedMs: number): number {
  if (threads <= 1 || estimatedMs >= COLD_POOL_MIN_MS || threadsConfigured()) return threads;
  const started = poolFailed ? 0 : (pool?.length ?? 0);
  return Math.min(threads, started + 1);
}

/**
 * Start the workers a job on `threads` threads will use, without waiting for them: a caller about
 * to do some work of its own before its first parallel job lets them boot meanwhile (a worker takes
 * tens of milliseconds to start, and a job does not wait for one that is not up yet).
 */
export function startWorkers(threads = threadCount()): void {
  if (threads > 1) workers(Math.min(threads, MAX_THREADS) - 1);
}

/**
 * Counters of the blocks run by the calling thread and by workers since the process started (for
 * tests and benchmarks).
 * @internal
 */
export const parallelStats = { jobs: 0, blocks: 0, callerBlocks: 0 };

/**
 * Run a job's blocks on the calling thread and the worker pool; returns when every row is done.
 * @returns false (nothing done) when the kernel cannot be compiled here; the caller then uses its
 *   own single-threaded path
 */
export function runBlocks(job: BlockJob, threads = threadCount()): boolean {
  const kernel = compileKernel(job.key, job.source);
  if (!kernel) return false;
  const nBlocks = Math.ceil(job.rows / job.blockRows);
  if (nBlocks === 0) return true;
  const helpers = threads > 1 && nBlocks > 1 ? workers(Math.min(threads, nBlocks) - 1) : [];
  // ctl: [0] next block, [1] blocks done, [2] worker failures, [3 + b] block b: 0 free, 1 taken, 2 done
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (3 + nBlocks)));
  const arena: ArenaAccess | undefined = job.arena && { exports: job.arena.exports, memory: job.arena.memory };
  if (helpers.length) {
    const source = job.source();
    const wasm = job.arena && { id: job.arena.id, module: job.arena.kernels.module, memory: job.arena.memory };
    for (const w of helpers) {
      // a worker compiles each kernel once; later jobs with the same key skip sending the source
      const known = w.sources.has(job.key);
      w.sources.add(job.key);
      w.postMessage({ key: job.key, source: known ? '' : source, bufs: job.bufs, params: job.params, ctl, nBlocks, blockRows: job.blockRows, rows: job.rows, arena: wasm });
    }
  }
  for (;;) {
    const b = Atomics.add(ctl, 0, 1);
    if (b >= nBlocks) break;
    Atomics.store(ctl, 3 + b, 1);
    const start = b * job.blockRows;
    kernel(job.bufs, job.params, start, Math.min(job.rows, start + job.blockRows), arena);
    Atomics.store(ctl, 3 + b, 2);
    Atomics.add(ctl, 1, 1);
    parallelStats.callerBlocks++;
  }
  parallelStats.jobs++;
  parallelStats.blocks += nBlocks;
  // wait for the workers' blocks; redo any that stall (a dead or stuck worker)
  let done = Atomics.load(ctl, 1);
  let lastProgress = Date.now();
  while (done < nBlocks) {
    Atomics.wait(ctl, 1, done, 100);
    const now = Atomics.load(ctl, 1);
    if (now !== done) {
      done = now;
      lastProgress = Date.now();
      continue;
    }
    const failed = Atomics.load(ctl, 2) > 0;
    if (failed || Date.now() - lastProgress > STALL_MS) {
      if (failed) for (const w of helpers) w.sources.delete(job.key);
      for (let b = 0; b < nBlocks; b++) {
        if (Atomics.load(ctl, 3 + b) === 2) continue;
        const start = b * job.blockRows;
        kernel(job.bufs, job.params, start, Math.min(job.rows, start + job.blockRows), arena);
        Atomics.store(ctl, 3 + b, 2);
      }
      break;
    }
  }
  return true;
}
