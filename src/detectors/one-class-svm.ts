/**
 * One-Class SVM (Schölkopf et al. 2001) with an RBF kernel. The dual is solved by libsvm's
 * algorithm ported to TypeScript (`one-class-svm-solver.ts`: the same steps and arithmetic, so the
 * same model as libsvm, the C code scikit-learn wraps, with kernel columns computed by SIMD
 * matrix products); the model is plain typed arrays scored in TypeScript. libsvm-js (libsvm
 * compiled to WebAssembly), which `fit` ran before, remains the reference the tests compare with.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { DataValidationError, ModelFormatError, optionError } from '../core/errors';
import { row, takeRows, type DenseMatrix, type MatrixLike } from '../core/matrix';
import { Random } from '../core/random';
import { compileKernel, runBlocks, sharedArray, sharedCopyCached, sharedScratch, threadCount, threadsForWork, type ArenaAccess, type SharedArray } from '../compute/parallel';
import { denseKernels, distanceTileJs, packPanels, PANEL_ROWS, squaredNorms } from '../compute/dense';
import { kernelArena, type KernelArena } from '../compute/wasm';
import { solveOneClass } from './one-class-svm-solver';

/** Options of {@link OneClassSvm}. */
export interface OneClassSvmOptions extends BaseDetectorOptions {
  /**
   * ν of the ν-formulation, in (0, 1): an upper bound on the share of training rows outside the
   * learned region and a lower bound on the share of support vectors. (ν = 1 puts every row on the
   * bound, and libsvm's offset ρ is then infinite; scikit-learn accepts it and fails in `fit`.)
   * @defaultValue the `contamination` when it is a number, 0.1 when it is `"auto"`
   */
  nu?: number;
  /**
   * RBF kernel width γ in `exp(-γ‖x - y‖²)`: a number > 0, or `"auto"` for `1 / nFeatures`
   * (scikit-learn's `gamma='auto'`; scale the features first).
   * @defaultValue "auto"
   */
  gamma?: number | 'auto';
  /**
   * Stopping tolerance of libsvm's solver (its `-e`, scikit-learn's `tol`), > 0.
   * @defaultValue 0.001
   */
  tolerance?: number;
  /**
   * Size of the solver's kernel cache in MB (libsvm's `-m`, scikit-learn's `cache_size`), > 0.
   * Allocated as columns are computed, and freed after `fit`.
   * @defaultValue 200
   */
  cacheSizeMb?: number;
  /**
   * Most rows the SVM is trained on, an integer >= 2. Training costs between O(n²) and O(n³) in
   * the number of rows, so when `fit` gets more rows than this, a random subsample of exactly
   * `maxTrainRows` rows, drawn with `seed`, is trained on. The training scores (and so the
   * threshold) still cover every row passed to `fit`.
   * @defaultValue 20000
   */
  maxTrainRows?: number;
}

/** Fitted state of {@link OneClassSvm}: the model read out of libsvm. */
export interface OneClassSvmState {
  /** Support vectors, row-major, `nSupportVectors x nFeatures`. */
  supportVectors: Float64Array;
  /** Squared norms of the support vectors (derived, not saved). */
  svSquaredNorms: Float64Array;
  /** Dual coefficients α_i (libsvm's `sv_coef`), one per support vector. */
  dualCoef: Float64Array;
  /** Offset ρ: the decision function is Σ α_i K(x, sv_i) − ρ. */
  rho: number;
  /** RBF width actually used. */
  gamma: number;
  nSupportVectors: number;
  nFeatures: number;
  /**
   * `"exact"`: support vectors are training rows and α, ρ the solver's doubles. `"text"`: some of
   * them come from libsvm's serialized model, which rounds support vectors to 8 significant digits
   * and ρ to 6 (only models read from libsvm-js text, which libsvm-js 0.2.1 never needed).
   */
  modelSource: 'exact' | 'text';
}

const DEFAULTS = {
  contamination: 0.1,
  gamma: 'auto' as number | 'auto',
  tolerance: 1e-3,
  cacheSizeMb: 200,
  maxTrainRows: 20000,
};

/**
 * One-Class SVM anomaly detector (RBF kernel, ν-formulation).
 *
 * @remarks
 * Schölkopf, Platt, Shawe-Taylor, Smola and Williamson, "Estimating the support of a
 * high-dimensional distribution", Neural Computation 13(7), 2001. The model is libsvm's (the same
 * support vectors, coefficients and ρ as libsvm-js, to the bit), and its decision values agree
 * with scikit-learn's `OneClassSVM(kernel='rbf')` for the same `nu`, `gamma` and `tol` (to ~1e-13 on
 * 2,000 rows; on larger sets scikit-learn's older libsvm may stop at a slightly different point
 * within `tol`, moving decision values by ~1e-6 of their range).
 *
 * Score direction: `anomalyScore` is the negated decision function, so higher means more anomalous
 * and a score above 0 lies outside the learned region (libsvm's `predict` = −1).
 *
 * Cost: training between O(n²) and O(n³) in the training rows (capped by `maxTrainRows`); NSL-KDD's
 * 20,000 x 122 rows: 14 s (libsvm-js took 4x more CPU time; scikit-learn 15.5 s in the same run).
 * Scoring O(rows · nSupportVectors · nFeatures), and the support vectors number at least ν·n; from
 * 24 features by SIMD distance tiles on worker threads (NSL-KDD's 22,544 rows 2.0 s, scikit-learn
 * 12 s).
 *
 * @example
 * ```ts
 * const svm = await new OneClassSvm({ nu: 0.05, seed: 7 }).fit(scaledTrain);
 * const scores = svm.anomalyScore(scaledTest); // higher = more anomalous
 * const flags = svm.predict(scaledTest); // 1 = anomaly
 * ```
 */
export class OneClassSvm extends BaseDetector<OneClassSvmOptions, OneClassSvmState> {
  readonly name = 'oneClassSvm' as const;

  /**
   * @param options - see {@link OneClassSvmOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: OneClassSvmOptions = {}) {
    super(options, { ...DEFAULTS, nu: defaultNu(options.contamination ?? DEFAULTS.contamination) });
    const o = this.options;
    if (typeof o.nu !== 'number' || !Number.isFinite(o.nu) || o.nu <= 0 || o.nu >= 1) {
      throw optionError('OneClassSvm', 'nu', 'a number in (0, 1)', o.nu);
    }
    if (o.gamma !== 'auto' && (typeof o.gamma !== 'number' || !Number.isFinite(o.gamma) || o.gamma <= 0)) {
      throw optionError('OneClassSvm', 'gamma', 'a number > 0 or "auto"', o.gamma);
    }
    if (typeof o.tolerance !== 'number' || !Number.isFinite(o.tolerance) || o.tolerance <= 0) {
      throw optionError('OneClassSvm', 'tolerance', 'a number > 0', o.tolerance);
    }
    if (typeof o.cacheSizeMb !== 'number' || !Number.isFinite(o.cacheSizeMb) || o.cacheSizeMb <= 0) {
      throw optionError('OneClassSvm', 'cacheSizeMb', 'a number > 0', o.cacheSizeMb);
    }
    if (!Number.isInteger(o.maxTrainRows) || o.maxTrainRows < 2) {
      throw optionError('OneClassSvm', 'maxTrainRows', 'an integer >= 2', o.maxTrainRows);
    }
  }

  /**
   * Rebuild a fitted detector from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved detector's.
   * @throws ModelFormatError when the snapshot is not a OneClassSvm's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<OneClassSvm> {
    if (snapshot.className !== 'OneClassSvm') {
      throw new ModelFormatError(`expected a OneClassSvm snapshot, got '${snapshot.className}'.`);
    }
    return new OneClassSvm(snapshot.options as OneClassSvmOptions).restore(snapshot);
  }

  /** Number of support vectors of the fitted model. */
  get nSupportVectors(): number {
    return this.state.nSupportVectors;
  }

  /** The RBF γ used by `fit` (resolves `"auto"` to `1 / nFeatures`). */
  get fittedGamma(): number {
    return this.state.gamma;
  }

  /** The offset ρ of the decision function (scikit-learn's `offset_`). */
  get rho(): number {
    return this.state.rho;
  }

  /**
   * libsvm's decision function Σ α_i K(x, sv_i) − ρ per row, as scikit-learn's
   * `decision_function`: positive inside the learned region, negative outside. Equals
   * `-anomalyScore(X)`.
   * @throws NotFittedError, FeatureMismatchError, DataValidationError
   */
  decisionFunction(X: MatrixLike): Float64Array {
    const scores = this.anomalyScore(X);
    const out = new Float64Array(scores.length);
    for (let i = 0; i < scores.length; i++) out[i] = -scores[i];
    return out;
  }

  minTrainRows(): number {
    return 2;
  }

  protected async fitCore(X: DenseMatrix, seed: number): Promise<FitResult<OneClassSvmState>> {
    const o = this.options;
    const train = X.rows > o.maxTrainRows ? takeRows(X, sortedSample(X.rows, o.maxTrainRows, seed)) : X;
    const gamma = o.gamma === 'auto' ? 1 / X.cols : o.gamma;
    const threads = fitThreads(train.rows, X.rows, X.cols, o.nu);
    const { alpha, rho } = solveOneClass(train, { nu: o.nu, gamma, eps: o.tolerance, cacheSizeMb: o.cacheSizeMb, shrinking: true, threads });
    // the support vectors: the rows with α > 0, in order (libsvm's model)
    const picked: number[] = [];
    for (let i = 0; i < alpha.length; i++) if (Math.abs(alpha[i]) > 0) picked.push(i);
    if (picked.length === 0) throw new Error('OneClassSvm: the solver returned a model without support vectors.');
    const state = makeState(takeRows(train, picked).data, Float64Array.from(picked, (i) => alpha[i]), rho, gamma, X.cols, 'exact');
    checkFinite(state);
    return { state, trainScores: anomalyScores(state, X, 'auto', threads) };
  }

  protected scoreCore(state: OneClassSvmState, X: DenseMatrix): Float64Array {
    return anomalyScores(state, X);
  }

  protected exportCore(state: OneClassSvmState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: {
        nSupportVectors: state.nSupportVectors,
        rho: state.rho,
        gamma: state.gamma,
        modelSource: state.modelSource,
      },
      arrays: { supportVectors: state.supportVectors.slice(), dualCoef: state.dualCoef.slice() },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): OneClassSvmState {
    const p = snapshot.params;
    const nFeatures = (p.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    const { nSupportVectors, rho, gamma, modelSource } = p;
    const sv = snapshot.arrays.supportVectors;
    const coef = snapshot.arrays.dualCoef;
    if (
      typeof nFeatures !== 'number' ||
      !Number.isInteger(nFeatures) ||
      nFeatures < 1 ||
      typeof nSupportVectors !== 'number' ||
      !Number.isInteger(nSupportVectors) ||
      nSupportVectors < 1 ||
      typeof rho !== 'number' ||
      !Number.isFinite(rho) ||
      typeof gamma !== 'number' ||
      !(gamma > 0) ||
      !(sv instanceof Float64Array) ||
      !(coef instanceof Float64Array) ||
      sv.length !== nSupportVectors * nFeatures ||
      coef.length !== nSupportVectors
    ) {
      throw new ModelFormatError('OneClassSvm snapshot is missing or has inconsistent support vectors, dualCoef, rho or gamma.');
    }
    return makeState(sv.slice(), coef.slice(), rho, gamma, nFeatures, modelSource === 'text' ? 'text' : 'exact');
  }
}

/**
 * Test hook: a fitted detector's scores by one scoring path (`'tile'`: the distance tiles, any
 * width; `'unrolled'`: the kernel generated for the width, up to 64; `'generic'`: the plain loop).
 * Not part of the public API.
 * @internal
 */
export function oneClassScoresWith(det: OneClassSvm, X: DenseMatrix, method: 'tile' | 'unrolled' | 'generic'): Float64Array {
  return anomalyScores((det as unknown as { state: OneClassSvmState }).state, X, method);
}

/** ν defaults to the contamination (ν bounds the share of training rows left outside). */
function defaultNu(contamination: unknown): number {
  return typeof contamination === 'number' ? contamination : 0.1;
}

/** scikit-learn raises here too ("The dual coefficients or intercepts are not finite"). */
function checkFinite(state: OneClassSvmState): void {
  if (!Number.isFinite(state.rho) || !state.dualCoef.every(Number.isFinite) || !state.supportVectors.every(Number.isFinite)) {
    throw new DataValidationError('OneClassSvm: the solver returned a non-finite offset or dual coefficients; scale the features first.');
  }
}

/**
 * The model libsvm-js trains on `train` (the C library compiled to WebAssembly, which `fit` used
 * before the solver of `one-class-svm-solver.ts` replaced it): the reference the tests compare the
 * solver with.
 * @internal
 */
export async function fitWithLibsvm(train: DenseMatrix, options: { nu: number; gamma: number; tolerance: number; cacheSizeMb: number }): Promise<OneClassSvmState> {
  const libsvm = await loadLibsvm();
  const samples: Float64Array[] = new Array(train.rows);
  for (let i = 0; i < train.rows; i++) samples[i] = row(train, i);
  const svm = new libsvm.SVM({
    type: libsvm.SVM.SVM_TYPES.ONE_CLASS,
    kernel: libsvm.SVM.KERNEL_TYPES.RBF,
    nu: options.nu,
    gamma: options.gamma,
    tolerance: options.tolerance,
    cacheSize: options.cacheSizeMb,
    shrinking: true,
    quiet: true,
  });
  try {
    svm.train(samples, new Array<number>(train.rows).fill(1));
    return readModel(svm, libsvm.heap, train, options.gamma);
  } finally {
    svm.free();
  }
}

/** `k` of `n` row indices drawn with `seed`, ascending (keeps the rows in their original order). */
function sortedSample(n: number, k: number, seed: number): Int32Array {
  return new Random(seed).sampleIndices(n, k).sort();
}

function makeState(
  supportVectors: Float64Array,
  dualCoef: Float64Array,
  rho: number,
  gamma: number,
  nFeatures: number,
  modelSource: 'exact' | 'text',
): OneClassSvmState {
  const nSupportVectors = dualCoef.length;
  const svSquaredNorms = new Float64Array(nSupportVectors);
  for (let j = 0; j < nSupportVectors; j++) {
    let s = 0;
    for (let k = j * nFeatures, end = k + nFeatures; k < end; k++) s += supportVectors[k] * supportVectors[k];
    svSquaredNorms[j] = s;
  }
  return { supportVectors, svSquaredNorms, dualCoef, rho, gamma, nSupportVectors, nFeatures, modelSource };
}

const ROW_BLOCK = 8;

/** Multiply-adds (with an exp counted as 16) a millisecond of float64 kernel work on one thread. */
const MADDS_PER_MS = 2.5e6;

/**
 * Threads for a fit on `l` solver rows (of `n` training rows), `d` columns, ν = `nu`, from the
 * work it expects: about ν·l·(2l + n)·(d + 16) multiply-adds (the kernel columns of the solver's
 * start and of its iterations, and the training rows' scores); see {@link threadsForWork}.
 */
function fitThreads(l: number, n: number, d: number, nu: number): number {
  return threadsForWork(threadCount(), (nu * l * (2 * l + n) * (d + 16)) / MADDS_PER_MS);
}

/**
 * ρ − Σ α_j exp(−γ‖x − sv_j‖²) per row, with ‖x − sv‖² = ‖x‖² + ‖sv‖² − 2 x·sv; rows are taken
 * in blocks so each support vector is read once per block.
 */
function anomalyScores(state: OneClassSvmState, X: DenseMatrix, method: 'auto' | 'tile' | 'unrolled' | 'generic' = 'auto', maxThreads = threadCount()): Float64Array {
  const tile = method === 'tile' || (method === 'auto' && X.cols >= TILE_MIN_WIDTH);
  const fast = method === 'generic' ? undefined : tile ? tileScores(state, X, maxThreads) : fastScores(state, X, maxThreads);
  if (fast) return fast;
  const { supportVectors: sv, svSquaredNorms: svn, dualCoef: coef, rho, gamma, nSupportVectors: m } = state;
  const d = X.cols;
  const x = X.data;
  const n = X.rows;
  const out = new Float64Array(n);
  const xn = new Float64Array(ROW_BLOCK);
  const acc = new Float64Array(ROW_BLOCK);
  const negGamma = -gamma;
  for (let i0 = 0; i0 < n; i0 += ROW_BLOCK) {
    const b = Math.min(ROW_BLOCK, n - i0);
    for (let r = 0; r < b; r++) {
      let s = 0;
      for (let k = (i0 + r) * d, end = k + d; k < end; k++) s += x[k] * x[k];
      xn[r] = s;
      acc[r] = 0;
    }
    for (let j = 0; j < m; j++) {
      const sj = j * d;
      const c = coef[j];
      const nj = svn[j];
      for (let r = 0; r < b; r++) {
        const xi = (i0 + r) * d;
        let dot = 0;
        for (let k = 0; k < d; k++) dot += x[xi + k] * sv[sj + k];
        let d2 = xn[r] + nj - 2 * dot;
        if (d2 < 0) d2 = 0;
        acc[r] += c * Math.exp(negGamma * d2);
      }
    }
    // anomaly score = −(Σ α K − ρ): libsvm's decision value negated so higher means more anomalous
    for (let r = 0; r < b; r++) out[i0 + r] = rho - acc[r];
  }
  return out;
}

/** Widths above this use the generic loop. */
const MAX_UNROLLED_WIDTH = 64;
/** Below this many kernel terms (rows x support vectors) scoring stays on one thread. */
const PARALLEL_MIN_WORK = 2_000_000;
/** Rows per block of a parallel scoring job. */
const PARALLEL_BLOCK_ROWS = 256;

/**
 * {@link anomalyScores} by a kernel generated for the width (several rows per pass over the support
 * vectors, each row's features held in locals), on worker threads for large jobs. Every row's
 * arithmetic is that of the generic loop, in the same order, so the scores are identical to the
 * bit. Undefined where code generation is not available.
 */
function fastScores(state: OneClassSvmState, X: DenseMatrix, maxThreads: number): Float64Array | undefined {
  const d = X.cols;
  const n = X.rows;
  if (d > MAX_UNROLLED_WIDTH || n === 0) return undefined;
  const key = `ocsvm-score-${d}`;
  const source = () => scoreKernelSource(d);
  const params = { m: state.nSupportVectors, rho: state.rho, gamma: state.gamma };
  const threads = threadsForWork(maxThreads, (n * state.nSupportVectors * (d + 16)) / MADDS_PER_MS);
  if (threads > 1 && n >= 2 * PARALLEL_BLOCK_ROWS && n * state.nSupportVectors >= PARALLEL_MIN_WORK) {
    const x = sharedScratch('ocsvm-X', Float64Array, n * d);
    x.set(X.data.subarray(0, n * d));
    const out = sharedScratch('ocsvm-out', Float64Array, n);
    const bufs = { x, out, sv: sharedCopyCached(state.supportVectors), svn: sharedCopyCached(state.svSquaredNorms), coef: sharedCopyCached(state.dualCoef) };
    if (runBlocks({ key, source, bufs, params, rows: n, blockRows: PARALLEL_BLOCK_ROWS }, threads)) return out.slice();
  }
  const kernel = compileKernel(key, source);
  if (!kernel) return undefined;
  const out = new Float64Array(n);
  kernel({ x: X.data, out, sv: state.supportVectors, svn: state.svSquaredNorms, coef: state.dualCoef }, params, 0, n);
  return out;
}

/**
 * Narrowest rows scored by the distance tiles ({@link tileScores}); narrower rows by the kernel
 * generated for the width, whose features fit in registers.
 */
const TILE_MIN_WIDTH = 24;
/** Rows per block of a tile scoring job, rows per pass over the support vectors, support vectors per tile. */
const TILE_BLOCK_ROWS = 64;
const TILE_GROUP_ROWS = 16;
const TILE_SVS = 256;
/** Most rows laid out in the arena at once. */
const TILE_BATCH_ROWS = 32768;
/**
 * Fewest multiply-adds (rows x support vectors x (width + 16), the 16 for the exp) for which a
 * tile scoring job uses worker threads: a few milliseconds of work.
 */
const TILE_PARALLEL_MIN_WORK = 20_000_000;

/**
 * {@link anomalyScores} by the dense distance tile (`compute/dense.ts`: WebAssembly SIMD, or its
 * JavaScript twin): 16 rows at a time against tiles of 256 support vectors, the tile giving
 * ‖x‖² + ‖sv‖² − 2 x·sv exactly as the loop above computes it, then α_j·exp(−γ·max(0, ·)) summed
 * per row in support-vector order: the same scores to the bit. On worker threads for large jobs.
 * Undefined where code generation is not available (the caller then takes the generic loop).
 */
function tileScores(state: OneClassSvmState, X: DenseMatrix, maxThreads: number): Float64Array | undefined {
  const n = X.rows;
  const d = X.cols;
  const m = state.nSupportVectors;
  if (n === 0) return new Float64Array(0);
  const threads = n >= 2 * TILE_BLOCK_ROWS && n * m * (d + 16) >= TILE_PARALLEL_MIN_WORK ? threadsForWork(maxThreads, (n * m * (d + 16)) / MADDS_PER_MS) : 1;
  const batch = Math.min(n, TILE_BATCH_ROWS);
  const svPanels = Math.ceil(m / PANEL_ROWS);
  const rows4 = (batch + 3) & ~3;
  const slotLen = TILE_GROUP_ROWS * TILE_SVS;
  // float64 elements: support vector panels and norms, coefficients; the batch's rows and norms; the threads' tiles
  const len = svPanels * PANEL_ROWS * (d + 2) + rows4 * (d + 1) + threads * slotLen;
  const kernels = denseKernels();
  let F: Float64Array;
  let base = 0;
  let arena: KernelArena | undefined;
  if (kernels) {
    arena = kernelArena(kernels);
    arena.reset();
    const at = arena.alloc(8 * len);
    if (at < 0) return undefined;
    base = at / 8;
    F = new Float64Array(arena.memory.buffer as SharedArrayBuffer);
  } else {
    F = sharedScratch('ocsvm-tile', Float64Array, len);
  }
  const panAt = base;
  const svnAt = panAt + svPanels * PANEL_ROWS * d;
  const coefAt = svnAt + svPanels * PANEL_ROWS;
  const xAt = coefAt + svPanels * PANEL_ROWS;
  const xnAt = xAt + rows4 * d;
  const slotAt = xnAt + rows4;
  packPanels(state.supportVectors, 0, m, d, F, panAt);
  F.set(state.svSquaredNorms, svnAt);
  F.fill(0, svnAt + m, coefAt);
  F.set(state.dualCoef, coefAt);
  const out = new Float64Array(n);
  const OUT = sharedScratch('ocsvm-out', Float64Array, batch);
  const key = `ocsvm-tile${arena ? '' : '-js'}`;
  for (let first = 0; first < n; first += batch) {
    const rows = Math.min(batch, n - first);
    const r4 = (rows + 3) & ~3;
    F.set(X.data.subarray(first * d, (first + rows) * d), xAt);
    F.fill(0, xAt + rows * d, xAt + r4 * d);
    squaredNorms(F.subarray(xAt, xAt + r4 * d), r4, d, F.subarray(xnAt, xnAt + r4));
    const bufs: Record<string, SharedArray> = { OUT, SLOT: sharedArray(Int32Array, 1) };
    if (!arena) bufs.F = F;
    const params = { d, m, svPanels, panAt, svnAt, coefAt, xAt, xnAt, slotAt, slotLen, rho: state.rho, negGamma: -state.gamma };
    if (!runBlocks({ key, source: tileScoreSource, bufs, params, rows, blockRows: TILE_BLOCK_ROWS, arena }, threads)) return undefined;
    out.set(OUT.subarray(0, rows), first);
  }
  return out;
}

/**
 * The block kernel of {@link tileScores}: rows [start, end) of the batch, {@link TILE_GROUP_ROWS}
 * at a time against {@link TILE_SVS} support vectors at a time. Self-contained (runs from its
 * source in the worker threads, with the distance tile's JavaScript twin where there is no arena).
 */
function tileScoreFactory(tileJs: typeof distanceTileJs) {
  const G = 16;
  const T = 256;
  let slot = -1;
  let lastBufs: unknown = null;
  const acc = new Float64Array(G);
  return function (b: Record<string, SharedArray>, p: Record<string, number>, start: number, end: number, arena?: ArenaAccess): void {
    const F = arena ? new Float64Array(arena.memory.buffer as SharedArrayBuffer) : (b.F as Float64Array);
    if (b !== lastBufs) {
      slot = Atomics.add(b.SLOT as Int32Array, 0, 1);
      lastBufs = b;
    }
    const d = p.d;
    const m = p.m;
    const tileAt = p.slotAt + slot * p.slotLen;
    const OUT = b.OUT as Float64Array;
    const negGamma = p.negGamma;
    for (let g0 = start; g0 < end; g0 += G) {
      const gq = Math.min(G, end - g0);
      const gq4 = (gq + 3) & ~3;
      acc.fill(0);
      for (let j0 = 0; j0 < m; j0 += T) {
        const tm = Math.min(T, m - j0);
        const panels = (tm + 3) >> 2;
        if (arena) arena.exports.distanceTile(8 * (p.xAt + g0 * d), gq4, d, 8 * (p.panAt + j0 * d), panels, 8 * (p.xnAt + g0), 8 * (p.svnAt + j0), 8 * tileAt, 8 * T);
        else tileJs(F, p.xAt + g0 * d, gq4, d, p.panAt + j0 * d, panels, p.xnAt + g0, p.svnAt + j0, tileAt, T);
        for (let g = 0; g < gq; g++) {
          const row = tileAt + g * T;
          const c = p.coefAt + j0;
          let a = acc[g];
          if (arena) {
            // the kernel values in place by the arena's SIMD exp (Math.exp's bits)
            for (let t = 0; t < tm; t++) if (F[row + t] < 0) F[row + t] = 0;
            arena.exports.expScaled64(8 * row, 8 * row, tm, negGamma);
            for (let t = 0; t < tm; t++) a += F[c + t] * F[row + t];
          } else {
            for (let t = 0; t < tm; t++) {
              let d2 = F[row + t];
              if (d2 < 0) d2 = 0;
              a += F[c + t] * Math.exp(negGamma * d2);
            }
          }
          acc[g] = a;
        }
      }
      // anomaly score = −(Σ α K − ρ)
      for (let g = 0; g < gq; g++) OUT[g0 + g] = p.rho - acc[g];
    }
  };
}

const tileScoreSource = (): string => `(${tileScoreFactory.toString()})(${distanceTileJs.toString()})`;

/**
 * Source of the scoring kernel for width `d`, rows [start, end): per row ‖x‖² summed in feature
 * order, then per support vector j in order: dot = Σ x·sv_j (feature order), d2 = ‖x‖² + ‖sv_j‖² −
 * 2·dot clamped at 0, acc += α_j·exp(−γ·d2); score = ρ − acc. {@link rowsPerPass} rows at a time
 * share each support vector's loads. Built from integers only.
 */
function scoreKernelSource(d: number): string {
  const L: string[] = [];
  // R rows per pass over the support vectors (each support vector's features loaded once for R rows), then 1 row at a time
  const pass = (R: number, step: string) => {
    const rows = Array.from({ length: R }, (_, r) => r);
    const v = (r: number) => String.fromCharCode(97 + r); // a, b, c, ...
    L.push(`  for (; ${step}; i += ${R}) {`);
    for (const r of rows) L.push(`    const o${v(r)} = (i + ${r}) * ${d};`);
    for (const r of rows) L.push(`    const ${Array.from({ length: d }, (_, f) => `${v(r)}${f} = x[o${v(r)} + ${f}]`).join(', ')};`);
    for (const r of rows) L.push(`    let n${v(r)}; ${Array.from({ length: d }, (_, f) => (f === 0 ? `n${v(r)} = ${v(r)}0 * ${v(r)}0;` : `n${v(r)} += ${v(r)}${f} * ${v(r)}${f};`)).join(' ')}`);
    L.push(`    let ${rows.map((r) => `acc${v(r)} = 0`).join(', ')};`);
    L.push(`    for (let j = 0, o = 0; j < m; j++, o += ${d}) {`);
    L.push(`      const nj = svn[j], cj = coef[j];`);
    L.push(`      let ${rows.map((r) => `t${v(r)}`).join(', ')};`);
    for (let f = 0; f < d; f++) {
      L.push(`      { const s = sv[o + ${f}]; ${rows.map((r) => (f === 0 ? `t${v(r)} = ${v(r)}0 * s;` : `t${v(r)} += ${v(r)}${f} * s;`)).join(' ')} }`);
    }
    for (const r of rows) {
      L.push(`      let d${v(r)} = n${v(r)} + nj - 2 * t${v(r)}; if (d${v(r)} < 0) d${v(r)} = 0;`);
      L.push(`      acc${v(r)} += cj * Math.exp(negGamma * d${v(r)});`);
    }
    L.push(`    }`);
    for (const r of rows) L.push(`    out[i + ${r}] = rho - acc${v(r)};`);
    L.push(`  }`);
  };
  L.push('(function (b, p, start, end) {');
  L.push("  'use strict';");
  L.push('  const x = b.x, out = b.out, sv = b.sv, svn = b.svn, coef = b.coef;');
  L.push('  const m = p.m, rho = p.rho, negGamma = -p.gamma;');
  L.push('  let i = start;');
  const R = rowsPerPass(d);
  pass(R, `i + ${R} <= end`);
  pass(1, 'i < end');
  L.push('})');
  return L.join('\n');
}

/**
 * Rows scored together per pass over the support vectors by the generated kernel for width `d`:
 * their features stay in locals, so about 100 of them (more makes V8 spill registers and run
 * several times slower). Measured on the seed traffic (d = 10, 1,509 support vectors): 2 rows
 * 13 ns a kernel term on one thread, 8 rows 9.8 ns.
 */
function rowsPerPass(d: number): number {
  return Math.max(2, Math.min(8, Math.floor(100 / d)));
}

// ---------------------------------------------------------------------------------------------
// libsvm-js: loading and reading the trained model
// ---------------------------------------------------------------------------------------------

/** The parts of libsvm-js's `SVM` instance used here (the package ships no types). */
interface LibsvmInstance {
  /** Pointer to the `struct svm_model` on the emscripten heap, or null. */
  model: number | null;
  train(samples: ArrayLike<number>[], labels: number[]): void;
  predict(samples: ArrayLike<number>[]): number[];
  serializeModel(): string;
  getSVIndices(): number[];
  free(): void;
}

interface LibsvmClass {
  new (options: Record<string, unknown>): LibsvmInstance;
  SVM_TYPES: { ONE_CLASS: string };
  KERNEL_TYPES: { RBF: string };
}

/** The emscripten module behind libsvm-js (its heap views are replaced when memory grows). */
interface EmscriptenHeap {
  HEAP32: Int32Array;
  HEAPF64: Float64Array;
}

/** @internal */
export interface Libsvm {
  SVM: LibsvmClass;
  heap: EmscriptenHeap;
}

let libsvmPromise: Promise<Libsvm> | undefined;

/**
 * libsvm-js's WebAssembly build, loaded once per process.
 * @internal (used by tests to compare with libsvm's own `predict`)
 */
export function loadLibsvm(): Promise<Libsvm> {
  if (!libsvmPromise) {
    libsvmPromise = requireLibsvmQuietly().catch((err: unknown) => {
      libsvmPromise = undefined;
      throw err;
    });
  }
  return libsvmPromise;
}

const LOAD_NOISE = /^(wasm streaming compile failed|falling back to ArrayBuffer instantiation)/;

/**
 * The 2018 emscripten glue first tries `fetch(<file path>)`, which fails in Node and prints
 * "wasm streaming compile failed ... falling back to ArrayBuffer instantiation" before loading
 * the file from disk. Hiding `fetch` for the synchronous `require` sends it straight to the disk
 * path; the glue binds `console.warn` as its error printer during that `require`, so a filter
 * installed meanwhile drops those two lines should they come anyway, and passes everything else on.
 */
function requireLibsvmQuietly(): Promise<Libsvm> {
  const g = globalThis as { fetch?: unknown };
  const hadFetch = Object.prototype.hasOwnProperty.call(g, 'fetch');
  const savedFetch = g.fetch;
  const savedWarn = console.warn;
  let pending: Promise<LibsvmClass>;
  let heap: EmscriptenHeap;
  try {
    try {
      g.fetch = undefined;
    } catch {
      // a read-only fetch: the console filter below still drops the message
    }
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && LOAD_NOISE.test(args[0])) return;
      savedWarn.apply(console, args);
    };
    pending = require('libsvm-js/wasm') as Promise<LibsvmClass>;
    heap = require('libsvm-js/out/wasm/libsvm') as EmscriptenHeap;
  } finally {
    console.warn = savedWarn;
    if (g.fetch !== savedFetch) {
      if (hadFetch) g.fetch = savedFetch;
      else delete g.fetch;
    }
  }
  return pending.then((SVM) => ({ SVM, heap }));
}

/** libsvm's serialized model, parsed: `coef idx:val ...` lines with 1-based, sparse indices. */
export interface ParsedModel {
  gamma: number;
  rho: number;
  dualCoef: Float64Array;
  supportVectors: Float64Array;
}

/**
 * Parse libsvm's model text (one-class, one coefficient column). Feature indices are 1-based and
 * sparse: an index libsvm leaves out is a zero.
 * @internal (exported for tests)
 */
export function parseModelText(text: string, nFeatures: number): ParsedModel {
  const lines = text.split('\n');
  let gamma = NaN;
  let rho = NaN;
  let total = -1;
  let k = 0;
  for (; k < lines.length; k++) {
    const line = lines[k].trim();
    if (line === 'SV') break;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'gamma') gamma = Number(rest[0]);
    else if (key === 'rho') rho = Number(rest[0]);
    else if (key === 'total_sv') total = Number(rest[0]);
  }
  if (!(total >= 0) || k === lines.length) throw new Error('OneClassSvm: unexpected libsvm model text (no SV section).');
  const dualCoef = new Float64Array(total);
  const supportVectors = new Float64Array(total * nFeatures);
  for (let j = 0; j < total; j++) {
    const fields = (lines[k + 1 + j] ?? '').trim().split(/\s+/);
    dualCoef[j] = Number(fields[0]);
    for (let f = 1; f < fields.length; f++) {
      const colon = fields[f].indexOf(':');
      const idx = Number(fields[f].slice(0, colon)) - 1;
      if (colon < 0 || !Number.isInteger(idx) || idx < 0 || idx >= nFeatures) {
        throw new Error(`OneClassSvm: unexpected libsvm support vector entry '${fields[f]}'.`);
      }
      supportVectors[j * nFeatures + idx] = Number(fields[f].slice(colon + 1));
    }
  }
  return { gamma, rho, dualCoef, supportVectors };
}

/**
 * Byte offsets in libsvm 3.2x's `struct svm_model` on wasm32 (`svm_parameter` takes 96 bytes,
 * then `int nr_class; int l; svm_node **SV; double **sv_coef; double *rho; ...`).
 */
const MODEL_NR_CLASS = 96;
const MODEL_L = 100;
const MODEL_SV_COEF = 108;
const MODEL_RHO = 112;

/**
 * Exact α and ρ from libsvm's model struct, or undefined when the struct does not look as
 * expected. The serialized text rounds ρ to 6 significant digits (and α to 16), which would move
 * every decision value by up to ~5e-6·ρ.
 */
function readHeapCoefficients(
  heap: EmscriptenHeap,
  model: number,
  parsed: ParsedModel,
): { dualCoef: Float64Array; rho: number } | undefined {
  const m = parsed.dualCoef.length;
  const i32 = heap.HEAP32;
  const f64 = heap.HEAPF64;
  if (model <= 0 || model % 8 !== 0 || (model + 140) / 4 > i32.length) return undefined;
  if (i32[(model + MODEL_NR_CLASS) >> 2] !== 2 || i32[(model + MODEL_L) >> 2] !== m) return undefined;
  const coefRows = i32[(model + MODEL_SV_COEF) >> 2];
  const rhoPtr = i32[(model + MODEL_RHO) >> 2];
  if (coefRows <= 0 || coefRows % 4 !== 0 || rhoPtr <= 0 || rhoPtr % 8 !== 0) return undefined;
  const coefPtr = i32[coefRows >> 2];
  if (coefPtr <= 0 || coefPtr % 8 !== 0 || (coefPtr >> 3) + m > f64.length || (rhoPtr >> 3) >= f64.length) return undefined;
  const dualCoef = f64.slice(coefPtr >> 3, (coefPtr >> 3) + m);
  const rho = f64[rhoPtr >> 3];
  // the text has α to 16 significant digits and ρ to 6: both must agree
  for (let j = 0; j < m; j++) {
    if (!(Math.abs(dualCoef[j] - parsed.dualCoef[j]) <= 1e-13 * Math.abs(parsed.dualCoef[j]))) return undefined;
  }
  if (!(Math.abs(rho - parsed.rho) <= 1e-5 * Math.max(1, Math.abs(rho)))) return undefined;
  return { dualCoef, rho };
}

/**
 * The trained model as plain arrays. Support vectors are the training rows libsvm reports by index
 * (exact doubles; the text has 8 significant digits), checked against the text.
 */
function readModel(svm: LibsvmInstance, heap: EmscriptenHeap, train: DenseMatrix, gamma: number): OneClassSvmState {
  const d = train.cols;
  const parsed = parseModelText(svm.serializeModel(), d);
  const m = parsed.dualCoef.length;
  if (m === 0) throw new Error('OneClassSvm: libsvm returned a model without support vectors.');
  if (!(Math.abs(parsed.gamma - gamma) <= 1e-5 * gamma)) {
    throw new Error(`OneClassSvm: libsvm trained with gamma ${parsed.gamma}, expected ${gamma}.`);
  }

  let supportVectors = parsed.supportVectors;
  let svExact = false;
  const indices = svm.getSVIndices();
  if (indices.length === m && indices.every((i) => Number.isInteger(i) && i >= 0 && i < train.rows)) {
    const exact = takeRows(train, indices).data;
    let same = true;
    for (let k = 0; k < exact.length && same; k++) {
      same = Math.abs(exact[k] - supportVectors[k]) <= 1e-7 * Math.abs(exact[k]);
    }
    if (same) {
      supportVectors = exact;
      svExact = true;
    }
  }

  const fromHeap = svm.model !== null ? readHeapCoefficients(heap, svm.model, parsed) : undefined;
  const state = fromHeap
    ? makeState(supportVectors, fromHeap.dualCoef, fromHeap.rho, gamma, d, svExact ? 'exact' : 'text')
    : makeState(supportVectors, parsed.dualCoef, parsed.rho, gamma, d, 'text');
  checkFinite(state);
  return state;
}
