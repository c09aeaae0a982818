/**
 * ECOD (Li, Zhao, Hu, Botta, Ionescu and Chen 2022): a row is anomalous when its values lie in the
 * tails of the training data's per-column empirical distributions. No parameters, no randomness,
 * linear in the rows once the columns are sorted.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { skewSigns, sortColumns, tailLogProbabilities, type SortedColumns } from '../compute/ecdf';

/** Options of {@link Ecod}: only the common ones (ECOD has no parameters). */
export type EcodOptions = BaseDetectorOptions;

/** Fitted state of {@link Ecod}. */
export interface EcodState {
  /** The training columns, sorted. */
  columns: SortedColumns;
  /** Sign of each column's training skewness (-1, 0, 1). */
  skew: Int8Array;
}

const DEFAULTS = { contamination: 0.1 } satisfies Required<Omit<EcodOptions, 'seed'>>;

/**
 * ECOD: empirical-CDF-based outlier detection.
 *
 * @remarks
 * Li, Zhao, Hu, Botta, Ionescu and Chen, "ECOD: Unsupervised Outlier Detection Using Empirical
 * Cumulative Distribution Functions", IEEE TKDE 2022, as PyOD computes it: per column, the
 * left-tail and right-tail probabilities of the value under the training column's empirical
 * distribution, u_l = -ln P(X <= x) and u_r = -ln P(X >= x); the column contributes the larger of
 * the two (both added for a column without skew), and the score is the sum over columns. A scored
 * row counts as one more row of the training data (see {@link tailLogProbabilities}); training rows
 * are scored leaving themselves out.
 *
 * Score direction: higher means more anomalous (a sum of negative log probabilities, >= 0).
 * Scores are bounded: a value beyond every training value counts as probability 1 / (n + 1).
 *
 * Cost: fit O(d · n log n) (sorting the columns); scoring O(rows · d · log n). The sorted training
 * columns are kept (the model is as large as its training set). Deterministic (no seed used).
 *
 * @example
 * ```ts
 * const ecod = await new Ecod({ contamination: 0.1 }).fit(scaledTrain);
 * const scores = ecod.anomalyScore(scaledTest); // higher = more anomalous
 * ```
 */
export class Ecod extends BaseDetector<EcodOptions, EcodState> {
  readonly name = 'ecod' as const;

  /**
   * @param options - see {@link EcodOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: EcodOptions = {}) {
    super(options, DEFAULTS);
  }

  /**
   * Rebuild a fitted detector from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved detector's.
   * @throws ModelFormatError when the snapshot is not an Ecod's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<Ecod> {
    if (snapshot.className !== 'Ecod') throw new ModelFormatError(`expected an Ecod snapshot, got '${snapshot.className}'.`);
    return new Ecod(snapshot.options as EcodOptions).restore(snapshot);
  }

  minTrainRows(): number {
    return 2;
  }

  protected async fitCore(X: DenseMatrix): Promise<FitResult<EcodState>> {
    const columns = sortColumns(X);
    const state: EcodState = { columns, skew: skewSigns(columns) };
    return { state, trainScores: ecodScores(state, X, true) };
  }

  protected scoreCore(state: EcodState, X: DenseMatrix): Float64Array {
    return ecodScores(state, X, false);
  }

  protected exportCore(state: EcodState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: { nTrain: state.columns.n },
      arrays: { sorted: state.columns.sorted.slice(), skew: Int32Array.from(state.skew) },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): EcodState {
    return importSortedColumns(snapshot, 'Ecod');
  }
}

/** Rebuild sorted columns and skew signs from a snapshot (shared with {@link Copod}). */
export function importSortedColumns(snapshot: DetectorSnapshot, owner: string): { columns: SortedColumns; skew: Int8Array } {
  const n = snapshot.params.nTrain;
  const d = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
  const { sorted, skew } = snapshot.arrays;
  if (
    typeof n !== 'number' ||
    !Number.isInteger(n) ||
    n < 2 ||
    typeof d !== 'number' ||
    !Number.isInteger(d) ||
    d < 1 ||
    !(sorted instanceof Float64Array) ||
    sorted.length !== n * d ||
    !(skew instanceof Int32Array) ||
    skew.length !== d ||
    skew.some((s) => s < -1 || s > 1)
  ) {
    throw new ModelFormatError(`${owner} snapshot is missing or has inconsistent sorted columns or skew signs.`);
  }
  return { columns: { n, d, sorted: sorted.slice() }, skew: Int8Array.from(skew) };
}

function ecodScores(state: EcodState, X: DenseMatrix, leaveOneOut: boolean): Float64Array {
  const { left, right } = tailLogProbabilities(state.columns, X, leaveOneOut);
  const d = X.cols;
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const l = left[i * d + j];
      const r = right[i * d + j];
      // PyOD: max(u_l, u_r, u_skew), u_skew = u_l (skew < 0), u_r (skew > 0), u_l + u_r (no skew)
      s += state.skew[j] === 0 ? l + r : l > r ? l : r;
    }
    out[i] = s;
  }
  return out;
}
