/**
 * COPOD (Li, Zhao, Botta, Ionescu and Hu 2020): copula-based outlier detection. Like {@link Ecod}
 * it reads each value's tail probabilities off the training columns' empirical distributions, but
 * weighs them as the empirical copula does: per column the skewness-chosen tail or the mean of both
 * tails, whichever is larger.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { skewSigns, sortColumns, tailLogProbabilities, type SortedColumns } from '../compute/ecdf';
import { importSortedColumns } from './ecod';

/** Options of {@link Copod}: only the common ones (COPOD has no parameters). */
export type CopodOptions = BaseDetectorOptions;

/** Fitted state of {@link Copod}. */
export interface CopodState {
  /** The training columns, sorted. */
  columns: SortedColumns;
  /** Sign of each column's training skewness (-1, 0, 1). */
  skew: Int8Array;
}

const DEFAULTS = { contamination: 0.1 } satisfies Required<Omit<CopodOptions, 'seed'>>;

/**
 * COPOD: copula-based outlier detection.
 *
 * @remarks
 * Li, Zhao, Botta, Ionescu and Hu, "COPOD: Copula-Based Outlier Detection", ICDM 2020, as PyOD
 * computes it: per column u_l = -ln P(X <= x), u_r = -ln P(X >= x) under the training column's
 * empirical distribution, u_s = u_l for a left-skewed column, u_r for a right-skewed one (u_l + u_r
 * without skew); the column contributes max(u_s, (u_l + u_r) / 2) and the score is the sum over
 * columns. Scored rows count as one more training row, training rows are scored leaving themselves
 * out (see {@link tailLogProbabilities}).
 *
 * Score direction: higher means more anomalous (>= 0, bounded: a value beyond every training value
 * counts as probability 1 / (n + 1)).
 *
 * Cost: fit O(d · n log n); scoring O(rows · d · log n); the sorted training columns are kept.
 * Deterministic (no seed used).
 *
 * @example
 * ```ts
 * const copod = await new Copod().fit(scaledTrain);
 * const scores = copod.anomalyScore(scaledTest); // higher = more anomalous
 * ```
 */
export class Copod extends BaseDetector<CopodOptions, CopodState> {
  readonly name = 'copod' as const;

  /**
   * @param options - see {@link CopodOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: CopodOptions = {}) {
    super(options, DEFAULTS);
  }

  /**
   * Rebuild a fitted detector from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved detector's.
   * @throws ModelFormatError when the snapshot is not a Copod's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<Copod> {
    if (snapshot.className !== 'Copod') throw new ModelFormatError(`expected a Copod snapshot, got '${snapshot.className}'.`);
    return new Copod(snapshot.options as CopodOptions).restore(snapshot);
  }

  minTrainRows(): number {
    return 2;
  }

  protected async fitCore(X: DenseMatrix): Promise<FitResult<CopodState>> {
    const columns = sortColumns(X);
    const state: CopodState = { columns, skew: skewSigns(columns) };
    return { state, trainScores: copodScores(state, X, true) };
  }

  protected scoreCore(state: CopodState, X: DenseMatrix): Float64Array {
    return copodScores(state, X, false);
  }

  protected exportCore(state: CopodState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: { nTrain: state.columns.n },
      arrays: { sorted: state.columns.sorted.slice(), skew: Int32Array.from(state.skew) },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): CopodState {
    return importSortedColumns(snapshot, 'Copod');
  }
}

function copodScores(state: CopodState, X: DenseMatrix, leaveOneOut: boolean): Float64Array {
  const { left, right } = tailLogProbabilities(state.columns, X, leaveOneOut);
  const d = X.cols;
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const l = left[i * d + j];
      const r = right[i * d + j];
      const sk = state.skew[j];
      const us = sk < 0 ? l : sk > 0 ? r : l + r;
      const both = (l + r) / 2;
      s += us > both ? us : both;
    }
    out[i] = s;
  }
  return out;
}
