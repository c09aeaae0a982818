/**
 * k-nearest-neighbour distance (Ramaswamy, Rastogi and Shim 2000; Angiulli and Pizzuti 2002): a row
 * far from its k nearest training rows is anomalous. Neighbours come from the exact
 * {@link knnReduce} (a kd-tree on low-dimensional data, a brute force otherwise), reduced to one
 * number per row where they are found. With several k the score is the mean over them of each
 * k's distance relative to its typical (median) training value, from one search at the largest k.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError, optionError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { knnLeaveOneOut, neighbourIndexOf, knnReduce, type NeighbourReducer } from '../compute/knn';

/** How {@link KNearestNeighbors} turns a row's k neighbour distances into its score. */
export type KnnScore = 'largest' | 'mean';

/** Options of {@link KNearestNeighbors}. */
export interface KNearestNeighborsOptions extends BaseDetectorOptions {
  /**
   * Number of neighbours k, an integer >= 1, or several (a non-empty list): then the score is the
   * mean over the k of the distance with that k divided by its median over the training rows, so
   * that each k counts alike (each k capped at the training rows - 1, repeats dropped). `fit` needs
   * at least `nNeighbors + 1` rows (the smallest k + 1 for a list).
   * @defaultValue 5 (PyOD's; the ensemble's default is 20, 50, 100, 200, as its LOF's)
   */
  nNeighbors?: number | readonly number[];
  /**
   * `"largest"`: the distance to the k-th nearest training row (PyOD's default); `"mean"`: the mean
   * distance to the k nearest.
   * @defaultValue "largest"
   */
  method?: KnnScore;
}

/** Fitted state of {@link KNearestNeighbors}. */
export interface KNearestNeighborsState {
  /** Neighbours searched: the largest of {@link ks}. */
  k: number;
  /** The k values used, ascending, each min(nNeighbors, training rows - 1). */
  ks: number[];
  /** With several k: the median training score of each k (the scale each k is divided by). */
  medians: Float64Array;
  /** The training rows (a copy), `nTrain x nFeatures` row-major. */
  train: DenseMatrix;
  /** `[nK, k_1 .. k_nK, median_1 .. median_nK, mean ? 1 : 0]`, the reducer's input with several k (built once, not saved). */
  header?: Float64Array;
}

const DEFAULTS = { contamination: 0.1, nNeighbors: 5 as number | readonly number[], method: 'largest' } satisfies Required<Omit<KNearestNeighborsOptions, 'seed'>>;

/** Unused reducer inputs (the distances are all the reduction needs). */
const NONE = new Float64Array(1);

/**
 * k-nearest-neighbour distance anomaly detector.
 *
 * @remarks
 * Ramaswamy, Rastogi and Shim, "Efficient Algorithms for Mining Outliers from Large Data Sets",
 * SIGMOD 2000 (the k-th neighbour distance), and Angiulli and Pizzuti, PKDD 2002 (the mean over the
 * k nearest); PyOD's `KNN`. Distances are Euclidean and neighbours exact.
 *
 * Score direction: the distance itself (with several k, relative distances), higher means more
 * anomalous.
 *
 * Training scores are leave-one-out (a training row is never its own neighbour), as PyOD's
 * `decision_scores_`.
 *
 * Cost: fit O(n² · d) (the leave-one-out search), scoring O(rows · n · d); a kd-tree cuts both on
 * low-dimensional data. The training rows are kept.
 *
 * @example
 * ```ts
 * const knn = await new KNearestNeighbors({ nNeighbors: 10 }).fit(scaledTrain);
 * const scores = knn.anomalyScore(scaledTest); // distance to the 10th nearest training row
 * ```
 */
export class KNearestNeighbors extends BaseDetector<KNearestNeighborsOptions, KNearestNeighborsState> {
  readonly name = 'knn' as const;

  /**
   * @param options - see {@link KNearestNeighborsOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: KNearestNeighborsOptions = {}) {
    super(options, DEFAULTS);
    const { nNeighbors: k, method } = this.options;
    const isK = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x >= 1;
    if (!(isK(k) || (Array.isArray(k) && k.length > 0 && k.every(isK)))) {
      throw optionError('KNearestNeighbors', 'nNeighbors', 'an integer >= 1 or a non-empty list of them', k);
    }
    if (method !== 'largest' && method !== 'mean') throw optionError('KNearestNeighbors', 'method', '"largest" or "mean"', method);
  }

  /**
   * Rebuild a fitted detector from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved detector's.
   * @throws ModelFormatError when the snapshot is not a KNearestNeighbors's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<KNearestNeighbors> {
    if (snapshot.className !== 'KNearestNeighbors') {
      throw new ModelFormatError(`expected a KNearestNeighbors snapshot, got '${snapshot.className}'.`);
    }
    return new KNearestNeighbors(snapshot.options as KNearestNeighborsOptions).restore(snapshot);
  }

  /** The k values asked for, ascending, without repeats. */
  private kList(): number[] {
    const k = this.options.nNeighbors;
    return typeof k === 'number' ? [k] : [...new Set(k)].sort((a, b) => a - b);
  }

  minTrainRows(): number {
    return this.kList()[0] + 1;
  }

  protected async fitCore(X: DenseMatrix): Promise<FitResult<KNearestNeighborsState>> {
    const ks = [...new Set(this.kList().map((k) => Math.min(k, X.rows - 1)))];
    const k = ks[ks.length - 1];
    // Copy: the caller may reuse its buffer after fit.
    const train: DenseMatrix = { rows: X.rows, cols: X.cols, data: X.data.slice() };
    if (typeof this.options.nNeighbors === 'number') {
      const trainScores = knnReduce(train, train, k, this.reducer(), { excludeSelf: true });
      return { state: { k, ks, medians: new Float64Array(0), train }, trainScores };
    }
    // several k: every k's score from one leave-one-out search (each row's list sorted by distance),
    // a batch of rows at a time, so the n x k lists are never held whole (100,000 rows at k = 200:
    // 240 MB of lists)
    const n = X.rows;
    const mean = this.options.method === 'mean';
    const perK = ks.map(() => new Float64Array(n));
    knnLeaveOneOut(train, k, (rows, _indices, distances, m) => {
      for (let r = 0; r < m; r++) {
        const i = rows[r];
        const base = r * k;
        for (let t = 0; t < ks.length; t++) {
          const kk = ks[t];
          if (!mean) perK[t][i] = distances[base + kk - 1];
          else {
            let s = 0;
            for (let j = 0; j < kk; j++) s += distances[base + j];
            perK[t][i] = s / kk;
          }
        }
      }
    });
    const medians = Float64Array.from(perK, (v) => medianOf(v));
    const trainScores = new Float64Array(n);
    perK.forEach((v, t) => {
      for (let i = 0; i < n; i++) trainScores[i] += v[i] / medians[t];
    });
    for (let i = 0; i < n; i++) trainScores[i] /= ks.length;
    return { state: { k, ks, medians, train }, trainScores };
  }

  protected scoreCore(state: KNearestNeighborsState, X: DenseMatrix): Float64Array {
    if (state.medians.length === 0) return knnReduce(state.train, X, state.k, this.reducer());
    const a = (state.header ??= Float64Array.from([state.ks.length, ...state.ks, ...state.medians, this.options.method === 'mean' ? 1 : 0]));
    return knnReduce(state.train, X, state.k, { fn: relativeDistances, a, b: NONE });
  }

  private reducer(): NeighbourReducer {
    return { fn: this.options.method === 'mean' ? meanDistance : largestDistance, a: NONE, b: NONE };
  }

  protected exportCore(state: KNearestNeighborsState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: { k: state.k, ks: [...state.ks], nTrain: state.train.rows },
      arrays: { train: state.train.data.slice(), medians: state.medians.slice() },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): KNearestNeighborsState {
    const { k, ks, nTrain } = snapshot.params;
    const d = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    const { train, medians } = snapshot.arrays;
    const idx = neighbourIndexOf(k, ks, nTrain, d, train);
    if (!idx || !(medians instanceof Float64Array) || !(medians.length === 0 || medians.length === idx.ks.length)) {
      throw new ModelFormatError('KNearestNeighbors snapshot is missing or has inconsistent train, medians, k or ks.');
    }
    return { k: idx.k, ks: [...idx.ks], medians: medians.slice(), train: { rows: idx.nTrain, cols: idx.nFeatures, data: idx.train.slice() } };
  }
}

/** Median of the values (a copy is sorted); at least {@link MIN_SCALE}, so a scale can divide without overflowing. */
function medianOf(v: Float64Array): number {
  const s = v.slice().sort();
  const n = s.length;
  const m = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  // at least 1e-10 (LOF's LRD_EPSILON): with identical training rows every distance is 0, and a
  // scale of 1e-300 sent an ordinary scored row to 1e304 and the ensemble score to Infinity
  return m > 0 ? m : Math.max(s[n - 1] * 1e-12, MIN_SCALE);
}

/** The smallest per-k scale (a distance): a scored distance up to 1e9 x the column count stays far below overflow. */
const MIN_SCALE = 1e-10;

/** Distance to the k-th neighbour: the largest of the k (self-contained, see {@link knnReduce}). */
function largestDistance(D: Float64Array, _I: Int32Array, base: number, k: number): number {
  let m = 0;
  for (let j = 0; j < k; j++) if (D[base + j] > m) m = D[base + j];
  return m;
}

/** Mean distance to the k neighbours, summed in the list's (index) order (self-contained). */
function meanDistance(D: Float64Array, _I: Int32Array, base: number, k: number): number {
  let s = 0;
  for (let j = 0; j < k; j++) s += D[base + j];
  return s / k;
}

/**
 * With several k: the mean over them of each k's distance (the k-th smallest, or the mean of the k
 * smallest) over its training median; `a = [nK, k_1 .. k_nK, median_1 .. median_nK, mean ? 1 : 0]`.
 * Self-contained (it also runs from its source in the search's worker threads).
 */
function relativeDistances(D: Float64Array, _I: Int32Array, base: number, k: number, a: Float64Array): number {
  const nK = a[0];
  const mean = a[1 + 2 * nK] === 1;
  const sorted = D.slice(base, base + k).sort();
  let total = 0;
  for (let t = 0; t < nK; t++) {
    const kk = a[1 + t];
    let v: number;
    if (!mean) v = sorted[kk - 1];
    else {
      let s = 0;
      for (let j = 0; j < kk; j++) s += sorted[j];
      v = s / kk;
    }
    total += v / a[1 + nK + t];
  }
  return total / nK;
}
