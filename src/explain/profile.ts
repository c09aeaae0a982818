/**
 * A per-feature summary of the training data (median, IQR, mean, standard deviation and a grid of
 * order statistics), so that explanations can say how unusual a value is compared with training
 * traffic without keeping the training rows. JSON-safe: save it beside a model if you like.
 */
import { FeatureMismatchError } from '../core/errors';
import { toDense, type DenseMatrix, type MatrixLike } from '../core/matrix';
import { quantileSorted } from '../core/threshold';
import { assertFinite } from '../core/validation';

/** Number of order statistics kept per feature (0.1% resolution of percentiles). */
export const PROFILE_QUANTILES = 1001;

/** IQR / 1.349 is the standard deviation of a normal distribution: robust z-scores read like z-scores. */
export const IQR_TO_SD = 1.349;

/** Training-data summary per feature. Every array has one entry per feature. */
export interface FeatureProfile {
  features: string[];
  /** Number of training rows summarised. */
  nRows: number;
  median: number[];
  /** Inter-quartile range (Q3 - Q1). */
  iqr: number[];
  mean: number[];
  /** Population standard deviation. */
  std: number[];
  /**
   * The scale of {@link robustZ}: IQR / 1.349 when the IQR is positive, else the standard deviation,
   * else a tiny positive number (a constant feature: any other value is extremely unusual).
   */
  scale: number[];
  /** {@link PROFILE_QUANTILES} evenly spaced quantiles (0 to 1) of each feature's training values. */
  quantiles: number[][];
}

/**
 * Summarise training rows per feature.
 * @param data - training traffic (`{ features, X }`, e.g. {@link TrafficData}) or a matrix
 * @param featureNames - column names when `data` is a plain matrix @defaultValue x0, x1, ...
 * @returns a JSON-safe {@link FeatureProfile}
 * @throws DataValidationError for non-finite values; RangeError for no rows
 * @example
 * ```ts
 * const profile = featureProfile(train);
 * explainRow(ens, data, 17, { profile });
 * ```
 */
export function featureProfile(data: { features: readonly string[]; X: DenseMatrix } | MatrixLike, featureNames?: readonly string[]): FeatureProfile {
  const isTraffic = typeof data === 'object' && data !== null && 'features' in data && 'X' in data;
  const X = isTraffic ? (data as { X: DenseMatrix }).X : toDense(data as MatrixLike, 'X');
  const names = isTraffic ? [...(data as { features: readonly string[] }).features] : featureNames ? [...featureNames] : Array.from({ length: X.cols }, (_, j) => `x${j}`);
  if (names.length !== X.cols) throw new FeatureMismatchError('featureProfile', names.length, X.cols);
  if (X.rows === 0) throw new RangeError('featureProfile: no rows.');
  assertFinite(X, 'training data', names);
  const p: FeatureProfile = { features: names, nRows: X.rows, median: [], iqr: [], mean: [], std: [], scale: [], quantiles: [] };
  const col = new Float64Array(X.rows);
  for (let j = 0; j < X.cols; j++) {
    for (let i = 0; i < X.rows; i++) col[i] = X.data[i * X.cols + j];
    col.sort();
    let mean = 0;
    for (const v of col) mean += v;
    mean /= col.length;
    let ss = 0;
    for (const v of col) ss += (v - mean) ** 2;
    const std = Math.sqrt(ss / col.length);
    const iqr = quantileSorted(col, 0.75) - quantileSorted(col, 0.25);
    const median = quantileSorted(col, 0.5);
    p.median.push(median);
    p.iqr.push(iqr);
    p.mean.push(mean);
    p.std.push(std);
    p.scale.push(iqr > 0 ? iqr / IQR_TO_SD : std > 0 ? std : 1e-12 * Math.max(1, Math.abs(median)));
    p.quantiles.push(Array.from({ length: PROFILE_QUANTILES }, (_, k) => quantileSorted(col, k / (PROFILE_QUANTILES - 1))));
  }
  return p;
}

/** Robust z-score of `value` for feature `j`: (value - training median) / {@link FeatureProfile.scale}. */
export function robustZ(profile: FeatureProfile, j: number, value: number): number {
  return (value - profile.median[j]) / profile.scale[j];
}

/**
 * Percentile (0-100) of `value` among feature `j`'s training values: the share of training values
 * below it, counting ties half (so a value equal to every training value is at 50).
 */
export function trainingPercentile(profile: FeatureProfile, j: number, value: number): number {
  const q = profile.quantiles[j];
  const n = q.length;
  // q is sorted: count entries < value and <= value by binary search
  const lower = (strict: boolean) => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (strict ? q[mid] < value : q[mid] <= value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const below = lower(true);
  const atOrBelow = lower(false);
  return (100 * (below + (atOrBelow - below) / 2)) / n;
}
