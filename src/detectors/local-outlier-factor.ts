/**
 * Local Outlier Factor (Breunig, Kriegel, Ng and Sander 2000) in scikit-learn's novelty mode:
 * `fit` learns the training rows' k-distances and local reachability densities, and new rows are
 * scored against the training rows. Neighbours come from the exact {@link knnSearch} (a kd-tree on
 * low-dimensional data, a brute force otherwise, with the same result). With several k the score
 * is the mean of the LOFs over them, all from one neighbour search at the largest k.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError, optionError } from '../core/errors';
import { takeRows, type DenseMatrix } from '../core/matrix';
import { Random } from '../core/random';
import { knnLeaveOneOut, neighbourIndexOf, knnReduce, type KnnSearchOptions, knnUsesIndexNeighbours } from '../compute/knn';

/** Options of {@link LocalOutlierFactor}. */
export interface LocalOutlierFactorOptions extends BaseDetectorOptions {
  /**
   * Number of neighbours k, an integer >= 1, or several (a non-empty list of integers >= 1): then
   * the score is the mean of the LOFs with each k, from one neighbour search at the largest (each
   * k capped at the training rows - 1, repeats dropped). One k fits one scale of cluster: an
   * anomaly in a cluster of 50 rows looks normal with k = 20 and a sparse attack class is missed
   * with k = 200; the mean over several does not depend on that guess. `fit` needs at least
   * `nNeighbors + 1` rows (the smallest k + 1 for a list).
   * @defaultValue 20
   */
  nNeighbors?: number | readonly number[];
  /**
   * Most training rows kept as the neighbour index, an integer >= 0 (0: no limit, exact LOF on
   * every row). Fitting costs O(n²) and scoring O(rows · n), so above this size a random
   * subsample of exactly `maxTrainRows` rows, drawn with `seed`, becomes the index. Its rows get
   * leave-one-out training scores and the other training rows are scored against it, so the
   * threshold still covers every row passed to `fit`.
   * @defaultValue 0 (no limit)
   */
  maxTrainRows?: number;
}

/** Fitted state of {@link LocalOutlierFactor}. */
export interface LocalOutlierFactorState {
  /** Neighbours searched (scikit-learn's `n_neighbors_`): the largest of {@link ks}. */
  k: number;
  /** The k values whose LOFs are averaged, ascending, each min(nNeighbors, training rows - 1). */
  ks: number[];
  /** The training rows (a copy), `nTrain x nFeatures` row-major. */
  train: DenseMatrix;
  /** Per k of {@link ks} (blocks of nTrain), distance of each training row to its k-th nearest other training row. */
  kDistance: Float64Array;
  /** Per k of {@link ks} (blocks of nTrain), local reachability density of each training row. */
  lrd: Float64Array;
  /**
   * The training rows' own k nearest other rows (`nTrain x k`), kept from `fit` to start each
   * scored row's neighbour search near its answer (see {@link KnnSearchOptions.indexNeighbours}),
   * when that search uses them (the kd-tree, k >= 64). Not saved: a loaded detector rebuilds them on its first
   * scoring call of at least `nTrain` rows. Scores are the same with or without them.
   */
  neighbours?: Int32Array;
  /** With several k: `[ks.length, ...ks, ...kDistance]`, the reducer's input (built once, not saved). */
  kHeader?: Float64Array;
}

const DEFAULTS = {
  contamination: 0.1,
  nNeighbors: 20 as number | readonly number[],
  maxTrainRows: 0,
} satisfies Required<Omit<LocalOutlierFactorOptions, 'seed'>>;

/** Added to the mean reachability distance so duplicated rows get a finite density (scikit-learn's 1e-10). */
const LRD_EPSILON = 1e-10;

/**
 * Local Outlier Factor anomaly detector (novelty mode: fit on training rows, score new ones).
 *
 * @remarks
 * Breunig, Kriegel, Ng and Sander, "LOF: Identifying Density-Based Local Outliers", SIGMOD 2000,
 * with scikit-learn's formulas (`LocalOutlierFactor(novelty=True)`): reach_dist(a, b) =
 * max(k_distance(b), d(a, b)), lrd(a) = 1 / (mean over a's k neighbours of reach_dist(a, b) + 1e-10),
 * LOF(a) = mean over a's neighbours b of lrd(b) / lrd(a). Distances are Euclidean and neighbours
 * exact.
 *
 * Score direction: `anomalyScore` is the LOF itself (scikit-learn's `-score_samples`): about 1 for
 * a row as dense as its neighbours, higher means more anomalous.
 *
 * Training scores (`trainingScores`, used for the threshold) are leave-one-out, scikit-learn's
 * `-negative_outlier_factor_`: a training row is never its own neighbour. `anomalyScore` on the
 * training rows differs from them: a scored row that equals a training row sees that row at
 * distance 0, as scikit-learn's `score_samples` does.
 *
 * Cost: fit O(n² · d) and O(n · k) memory (the leave-one-out search runs a batch of rows at a
 * time; 100,000 rows at k = 200 hold 80 MB of neighbour lists); scoring O(rows · n · d), on worker threads for large
 * batches; on low-dimensional data a kd-tree cuts both to a fraction (see {@link knnSearch}). The training rows are kept, so the model is
 * as large as its training set, and in memory (not in a saved model) so are their neighbour lists
 * when the kd-tree applies and k >= 64 (n · k 4-byte integers: 8 MB for 10,000 rows at k = 200),
 * which speed up scoring; `maxTrainRows` caps n with a seeded subsample.
 *
 * @example
 * ```ts
 * const lof = await new LocalOutlierFactor({ nNeighbors: 20 }).fit(scaledTrain);
 * const scores = lof.anomalyScore(scaledTest); // LOF, higher = more anomalous
 * const flags = lof.predict(scaledTest); // 1 = anomaly
 * ```
 */
export class LocalOutlierFactor extends BaseDetector<LocalOutlierFactorOptions, LocalOutlierFactorState> {
  readonly name = 'localOutlierFactor' as const;

  /**
   * @param options - see {@link LocalOutlierFactorOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: LocalOutlierFactorOptions = {}) {
    super(options, DEFAULTS);
    const k = this.options.nNeighbors;
    const isK = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 1;
    if (!(isK(k) || (Array.isArray(k) && k.length > 0 && k.every(isK)))) {
      throw optionError('LocalOutlierFactor', 'nNeighbors', 'an integer >= 1 or a non-empty list of them', k);
    }
    const largest = Math.max(...this.kList());
    const cap = this.options.maxTrainRows;
    if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 0 || (cap > 0 && cap <= largest)) {
      throw optionError('LocalOutlierFactor', 'maxTrainRows', `0 (no limit) or an integer > nNeighbors (${largest})`, cap);
    }
  }

  /** The k values asked for, ascending, without repeats. */
  private kList(): number[] {
    const k = this.options.nNeighbors;
    return typeof k === 'number' ? [k] : [...new Set(k)].sort((a, b) => a - b);
  }

  /**
   * Rebuild a fitted detector from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved detector's.
   * @throws ModelFormatError when the snapshot is not a LocalOutlierFactor's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<LocalOutlierFactor> {
    if (snapshot.className !== 'LocalOutlierFactor') {
      throw new ModelFormatError(`expected a LocalOutlierFactor snapshot, got '${snapshot.className}'.`);
    }
    return new LocalOutlierFactor(snapshot.options as LocalOutlierFactorOptions).restore(snapshot);
  }

  /** Neighbours actually searched (scikit-learn's `n_neighbors_`): the largest k used. */
  get nNeighborsUsed(): number {
    return this.state.k;
  }

  /** The k values whose LOFs are averaged (each capped at the training rows - 1). */
  get nNeighborsList(): number[] {
    return [...this.state.ks];
  }

  minTrainRows(): number {
    return this.kList()[0] + 1;
  }

  protected async fitCore(X: DenseMatrix, seed: number): Promise<FitResult<LocalOutlierFactorState>> {
    const cap = this.options.maxTrainRows;
    if (cap > 0 && X.rows > cap) {
      // a seeded subsample is the index: leave-one-out scores for its rows, novelty scores for the rest
      const picked = new Random(seed).sampleIndices(X.rows, cap).sort();
      const fitted = this.fitRows(takeRows(X, picked));
      const inSample = new Uint8Array(X.rows);
      for (const i of picked) inSample[i] = 1;
      const rest: number[] = [];
      for (let i = 0; i < X.rows; i++) if (!inSample[i]) rest.push(i);
      const restScores = this.scoreCore(fitted.state, takeRows(X, rest));
      const trainScores = new Float64Array(X.rows);
      picked.forEach((i, r) => (trainScores[i] = fitted.trainScores[r]));
      rest.forEach((i, r) => (trainScores[i] = restScores[r]));
      return { state: fitted.state, trainScores };
    }
    return this.fitRows(X);
  }

  private fitRows(X: DenseMatrix): FitResult<LocalOutlierFactorState> {
    const n = X.rows;
    const ks = [...new Set(this.kList().map((k) => Math.min(k, n - 1)))];
    const k = ks[ks.length - 1];
    // Copy: the caller may reuse its buffer after fit.
    const train: DenseMatrix = { rows: n, cols: X.cols, data: X.data.slice() };
    // the leave-one-out lists at the largest k, a batch at a time: the rows' neighbours are kept,
    // their distances too while small (else recomputed, to the same bits)
    const indices = new Int32Array(n * k);
    const distances = n * k <= KEEP_DISTANCES_MAX ? new Float64Array(n * k) : undefined;
    knnLeaveOneOut(train, k, (rows, I, D, m) => {
      for (let r = 0; r < m; r++) {
        const q = rows[r];
        indices.set(I.subarray(r * k, r * k + k), q * k);
        distances?.set(D.subarray(r * k, r * k + k), q * k);
      }
    });
    const recompute = (q: number, j: number): number => neighbourDistance(train, indices[q * k + j], q);
    const distance = distances ?? recompute;
    // per k: the first k of each row's list (sorted by distance, ties by row) are its k nearest
    const kDistance = new Float64Array(n * ks.length);
    const lrd = new Float64Array(n * ks.length);
    const trainScores = new Float64Array(n);
    ks.forEach((kk, t) => {
      const kd = kDistance.subarray(t * n, (t + 1) * n);
      for (let i = 0; i < n; i++) kd[i] = distances ? distances[i * k + kk - 1] : recompute(i, kk - 1);
      const own = reachabilityDensity(indices, distance, k, kd, kk);
      lrd.set(own, t * n);
      const lof = outlierFactor(indices, k, own, own, kk);
      for (let i = 0; i < n; i++) trainScores[i] += lof[i];
    });
    if (ks.length > 1) for (let i = 0; i < n; i++) trainScores[i] /= ks.length;
    const state: LocalOutlierFactorState = { k, ks, train, kDistance, lrd };
    if (knnUsesIndexNeighbours(train, train, k)) state.neighbours = indices;
    return { state, trainScores };
  }

  protected scoreCore(state: LocalOutlierFactorState, X: DenseMatrix): Float64Array {
    const { k, ks, train, kDistance, lrd } = state;
    // a loaded detector: its training rows' neighbour lists pay for themselves on a large call
    if (!state.neighbours && X.rows >= train.rows && knnUsesIndexNeighbours(train, X, k)) {
      const neighbours = new Int32Array(train.rows * k);
      knnLeaveOneOut(train, k, (rows, I, _D, m) => {
        for (let r = 0; r < m; r++) neighbours.set(I.subarray(r * k, r * k + k), rows[r] * k);
      });
      state.neighbours = neighbours;
    }
    // each row's LOF from its neighbours where they are found (on the worker threads for large batches)
    const reducer =
      ks.length === 1
        ? { fn: lofOfNeighbours, a: kDistance, b: lrd }
        : { fn: meanLofOfNeighbours, a: (state.kHeader ??= Float64Array.from([ks.length, ...ks, ...kDistance])), b: lrd };
    return knnReduce(train, X, k, reducer, { indexNeighbours: state.neighbours });
  }

  protected exportCore(state: LocalOutlierFactorState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: { k: state.k, ks: [...state.ks], nTrain: state.train.rows },
      arrays: { train: state.train.data.slice(), kDistance: state.kDistance.slice(), lrd: state.lrd.slice() },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): LocalOutlierFactorState {
    const { k, nTrain } = snapshot.params;
    // snapshots written before several k existed have only k
    const ks = snapshot.params.ks ?? [k];
    const nFeatures = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    const { train, kDistance, lrd } = snapshot.arrays;
    const idx = neighbourIndexOf(k, ks, nTrain, nFeatures, train);
    if (
      !idx ||
      !(kDistance instanceof Float64Array) ||
      !(lrd instanceof Float64Array) ||
      kDistance.length !== idx.nTrain * idx.ks.length ||
      lrd.length !== idx.nTrain * idx.ks.length
    ) {
      throw new ModelFormatError('LocalOutlierFactor snapshot is missing or has inconsistent train, kDistance, lrd, k or ks.');
    }
    return {
      k: idx.k,
      ks: [...idx.ks],
      train: { rows: idx.nTrain, cols: idx.nFeatures, data: idx.train.slice() },
      kDistance: kDistance.slice(),
      lrd: lrd.slice(),
    };
  }
}

/**
 * LOF of one scored row from its neighbours at `D/I[base .. base + k)` (in ascending row order,
 * see {@link knnReduce}): its lrd (as {@link reachabilityDensity}), then the mean of the
 * neighbours' lrd over it (as {@link outlierFactor}). Summing in row order (the training scores
 * sum in distance order, as scikit-learn) only changes the last bits, and is the same whatever the
 * search. Self-contained: it also runs, compiled from its source, in the search's worker threads.
 */
function lofOfNeighbours(D: Float64Array, I: Int32Array, base: number, k: number, kDistance: Float64Array, lrd: Float64Array): number {
  let s = 0;
  for (let j = 0; j < k; j++) {
    const dist = D[base + j];
    const kd = kDistance[I[base + j]];
    s += dist > kd ? dist : kd;
  }
  const own = 1 / (s / k + 1e-10); // LRD_EPSILON
  let t = 0;
  for (let j = 0; j < k; j++) t += lrd[I[base + j]] / own;
  return t / k;
}

/**
 * The mean over several k of the LOF of one scored row (see {@link lofOfNeighbours}), its
 * neighbours at `D/I[base .. base + k)` in ascending row order, `k` the largest of them:
 * `a = [nK, k_1 .. k_nK, kDistance blocks]`, `b` = lrd blocks (nK blocks of the training rows).
 * The k_t nearest are those closer than the k_t-th smallest distance, plus, at that distance, the
 * lowest rows (the search's tie order); sums run in row order. Self-contained (it also runs from
 * its source in the search's worker threads).
 *
 * Known limit: the search orders by squared distance and hands over square roots, so two squared
 * distances that differ only in their last bits can share a root; at a k_t's cut such a pair goes
 * to the lower row here, where the search (and a separate model with that single k) takes the
 * nearer. Scores then differ from the mean of single-k models in the last per mille (seen on data
 * on a fine grid); training scores are not affected. Passing squared distances to reducers would
 * remove it.
 */
function meanLofOfNeighbours(D: Float64Array, I: Int32Array, base: number, k: number, a: Float64Array, b: Float64Array): number {
  const nK = a[0];
  const n = b.length / nK;
  const sorted = D.slice(base, base + k).sort();
  let total = 0;
  for (let t = 0; t < nK; t++) {
    const kk = a[1 + t];
    const kd = 1 + nK + t * n;
    const lr = t * n;
    const cut = sorted[kk - 1];
    // rows at exactly the cut distance that belong to the kk nearest: the first ones in row order
    let atCut = kk;
    for (let j = 0; j < kk; j++) if (sorted[j] < cut) atCut--;
    let s = 0;
    let tie = atCut;
    for (let j = 0; j < k; j++) {
      const dist = D[base + j];
      if (dist > cut || (dist === cut && tie-- <= 0)) continue;
      const kdist = a[kd + I[base + j]];
      s += dist > kdist ? dist : kdist;
    }
    const own = 1 / (s / kk + 1e-10); // LRD_EPSILON
    let u = 0;
    tie = atCut;
    for (let j = 0; j < k; j++) {
      const dist = D[base + j];
      if (dist > cut || (dist === cut && tie-- <= 0)) continue;
      u += b[lr + I[base + j]] / own;
    }
    total += u / kk;
  }
  return total / nK;
}

/**
 * lrd per query row: 1 / (mean_j max(kDistance[nb_j], d_j) + 1e-10) over its first `kk` of `k`
 * neighbours (scikit-learn's `_local_reachability_density`); rows of `indices` are `k` wide; the
 * distances as an array (`m x k`) or computed on demand (`distance(q, j)`: query q's j-th neighbour).
 */
function reachabilityDensity(
  indices: Int32Array,
  distances: Float64Array | ((q: number, j: number) => number),
  k: number,
  kDistance: Float64Array,
  kk = k,
): Float64Array {
  const m = indices.length / k;
  const out = new Float64Array(m);
  const D = typeof distances === 'function' ? undefined : distances;
  const f = typeof distances === 'function' ? distances : undefined;
  for (let q = 0, b = 0; q < m; q++, b += k) {
    let s = 0;
    for (let j = 0; j < kk; j++) {
      const dist = D ? D[b + j] : f!(q, j);
      const kd = kDistance[indices[b + j]];
      s += dist > kd ? dist : kd;
    }
    out[q] = 1 / (s / kk + LRD_EPSILON);
  }
  return out;
}

/** Most neighbour distances (rows x k) the fit keeps as an array (32 MB); above, they are recomputed. */
let KEEP_DISTANCES_MAX = 4_000_000;

/**
 * Test hook: the most neighbour distances the fit keeps (0: always recompute them). Returns the
 * previous value. Not part of the public API.
 * @internal
 */
export function setKeepDistancesMax(n: number): number {
  const prev = KEEP_DISTANCES_MAX;
  KEEP_DISTANCES_MAX = n;
  return prev;
}

/**
 * The Euclidean distance from row `q` to row `j` of `X`, summed as the neighbour search sums it
 * (feature by feature, `(x_j − x_q)²`), so it equals the search's distance to the bit.
 */
function neighbourDistance(X: DenseMatrix, j: number, q: number): number {
  const d = X.cols;
  const x = X.data;
  const xb = j * d;
  const qb = q * d;
  let t = x[xb] - x[qb];
  let s = t * t;
  for (let f = 1; f < d; f++) {
    t = x[xb + f] - x[qb + f];
    s += t * t;
  }
  return Math.sqrt(s);
}

/** LOF per query row: mean_j lrd[nb_j] / queryLrd over its first `kk` of `k` neighbours (the mean of ratios, as scikit-learn). */
function outlierFactor(indices: Int32Array, k: number, queryLrd: Float64Array, lrd: Float64Array, kk = k): Float64Array {
  const m = queryLrd.length;
  const out = new Float64Array(m);
  for (let q = 0, b = 0; q < m; q++, b += k) {
    const own = queryLrd[q];
    let s = 0;
    for (let j = 0; j < kk; j++) s += lrd[indices[b + j]] / own;
    out[q] = s / kk;
  }
  return out;
}
