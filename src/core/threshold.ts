/**
 * Threshold calibration from training scores. Every detector and the ensemble call
 * {@link calibrateThreshold} once, in `fit`, on the scores of the training rows; scoring never
 * recomputes a threshold from the batch being scored.
 */
import { optionError } from './errors';

/** A known anomaly share in (0, 0.5], or `"auto"` to read the threshold off the score distribution. */
export type Contamination = number | 'auto';

/** The multiple of the inter-quartile range above the third quartile used by `"auto"` (Tukey's far-out fence). */
export const AUTO_FENCE_IQR = 3;

/**
 * The most training rows `"auto"` puts above the threshold: 1 %. It caps the fence on clean
 * training data, where nothing is far out: then 1 % of the training rows are flagged, a false
 * positive rate an operator can review, instead of nothing. Chosen on the quality benchmark's
 * normal-only variant (bench/quality.mjs; README "Thresholds and contamination").
 */
export const AUTO_MAX_SHARE = 0.01;

/** Validate a contamination option and return it. */
export function checkContamination(c: unknown, owner: string): Contamination {
  if (c === 'auto') return c;
  if (typeof c !== 'number' || !Number.isFinite(c) || c <= 0 || c > 0.5) {
    throw optionError(owner, 'contamination', 'a number in (0, 0.5] or "auto"', c);
  }
  return c;
}

/**
 * Quantile with linear interpolation between order statistics (numpy's default `percentile`).
 * `sorted` must be ascending. `q` in [0, 1].
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0];
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  const frac = pos - lo;
  // numpy's lerp: a + (b - a) * t, mirrored for t >= 0.5 to stay monotone
  const a = sorted[lo];
  const b = sorted[hi];
  const d = b - a;
  return frac >= 0.5 ? b - d * (1 - frac) : a + d * frac;
}

/** Ascending copy of `scores` as a Float64Array. */
export function sortedCopy(scores: ArrayLike<number>): Float64Array {
  const s = Float64Array.from(scores as ArrayLike<number>);
  s.sort();
  return s;
}

/**
 * The threshold above which a score is an anomaly.
 *
 * - a number c: the (1 - c) quantile of the training scores, so a share c of the training rows
 *   scores above it (PyOD's `threshold_`, scikit-learn's `offset_`).
 * - `"auto"`: Tukey's far-out fence, `Q3 + 3 * (Q3 - Q1)` of the training scores, capped at their
 *   (1 - {@link AUTO_MAX_SHARE}) quantile. It needs no anomaly share. On contaminated training
 *   data the fence separates a tail that lies far from the bulk. On clean training traffic nothing
 *   lies that far (and bounded scores such as Isolation Forest's never get there), so the cap
 *   applies: 1 % of the training rows score above it, and a scored row is anomalous when it is as
 *   unusual as the most unusual 1 % of the normal traffic. (Until issue 12 the cap was the
 *   largest training score, which on clean data flagged almost nothing: F1 0.007 on a flow dataset
 *   with half its scored rows attacks.) When the inter-quartile range is 0 (more than half the
 *   scores tie) the threshold is the cap.
 */
export function calibrateThreshold(trainScores: ArrayLike<number>, contamination: Contamination): number {
  const s = sortedCopy(trainScores);
  if (s.length === 0) throw new RangeError('calibrateThreshold: no training scores.');
  if (contamination === 'auto') {
    const q1 = quantileSorted(s, 0.25);
    const q3 = quantileSorted(s, 0.75);
    const iqr = q3 - q1;
    const cap = quantileSorted(s, 1 - AUTO_MAX_SHARE);
    if (!(iqr > 0)) return cap;
    return Math.min(q3 + AUTO_FENCE_IQR * iqr, cap);
  }
  return quantileSorted(s, 1 - contamination);
}
