/**
 * k-nearest-neighbour distance (Ramaswamy, Rastogi and Shim 2000; Angiulli and Pizzuti 2002): a row
 * far from its k nearest training rows is anomalous. Neighbours come from the exact
 * {@link knnReduce} (a kd-tree on low-dimensional data, a brute force otherwise), reduced to one
 * distance per row where they are found.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError, optionError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { knnReduce, type NeighbourReducer } from '../compute/knn';

/** How {@link KNearestNeighbors} turns a row's k neighbour distances into its score. */
export type KnnScore = 'largest' | 'mean';

/** Options of {@link KNearestNeighbors}. */
export interface KNearestNeighborsOptions extends BaseDetectorOptions {
  /**
   * Number of neighbours k, an integer >= 1. `fit` needs at least `nNeighbors + 1` rows.
   * @defaultValue 5
   */
  nNeighbors?: number;
  /**
   * `"largest"`: the distance to the k-th nearest training row (PyOD's default); `"mean"`: the mean
   * distance to the k nearest.
   * @defaultValue "largest"
   */
  method?: KnnScore;
}

/** Fitted state of {@link KNearestNeighbors}. */
export interface KNearestNeighborsState {
  /** Neighbours used: min(nNeighbors, training rows - 1). */
  k: number;
  /** The training rows (a copy), `nTrain x nFeatures` row-major. */
  train: DenseMatrix;
}

const DEFAULTS = { contamination: 0.1, nNeighbors: 5, method: 'largest' } satisfies Required<Omit<KNearestNeighborsOptions, 'seed'>>;

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
 * Score direction: the distance itself, higher means more anomalous.
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
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) throw optionError('KNearestNeighbors', 'nNeighbors', 'an integer >= 1', k);
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

  minTrainRows(): number {
    return this.options.nNeighbors + 1;
  }

  protected async fitCore(X: DenseMatrix): Promise<FitResult<KNearestNeighborsState>> {
    const k = Math.min(this.options.nNeighbors, X.rows - 1);
    // Copy: the caller may reuse its buffer after fit.
    const train: DenseMatrix = { rows: X.rows, cols: X.cols, data: X.data.slice() };
    const trainScores = knnReduce(train, train, k, this.reducer(), { excludeSelf: true });
    return { state: { k, train }, trainScores };
  }

  protected scoreCore(state: KNearestNeighborsState, X: DenseMatrix): Float64Array {
    return knnReduce(state.train, X, state.k, this.reducer());
  }

  private reducer(): NeighbourReducer {
    return { fn: this.options.method === 'mean' ? meanDistance : largestDistance, a: NONE, b: NONE };
  }

  protected exportCore(state: KNearestNeighborsState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return { params: { k: state.k, nTrain: state.train.rows }, arrays: { train: state.train.data.slice() }, files: {} };
  }

  protected importCore(snapshot: DetectorSnapshot): KNearestNeighborsState {
    const { k, nTrain } = snapshot.params;
    const d = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    const { train } = snapshot.arrays;
    if (
      typeof k !== 'number' ||
      !Number.isInteger(k) ||
      k < 1 ||
      typeof nTrain !== 'number' ||
      !Number.isInteger(nTrain) ||
      nTrain <= k ||
      typeof d !== 'number' ||
      !Number.isInteger(d) ||
      d < 1 ||
      !(train instanceof Float64Array) ||
      train.length !== nTrain * d
    ) {
      throw new ModelFormatError('KNearestNeighbors snapshot is missing or has inconsistent train or k.');
    }
    return { k, train: { rows: nTrain, cols: d, data: train.slice() } };
  }
}

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
