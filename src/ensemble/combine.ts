/**
 * The ensemble's arithmetic as pure functions over per-detector score and flag columns (PyOD's
 * `combination.py`): score normalisation with training statistics, score fusion, vote counting,
 * confidence and severity.
 */

/** Severity of an anomaly, from the share of detectors that voted for it. */
export type Severity = 'none' | 'low' | 'medium' | 'high';

/** Statistics of a detector's training scores, used to put scores on one scale. */
export interface ScoreStats {
  median: number;
  /** Inter-quartile range (Q3 - Q1), floored at a tiny positive value. */
  iqr: number;
  mean: number;
  std: number;
  /** The training-score threshold of the detector, so 0 on the normalised scale can mean "at threshold". */
  threshold: number;
}

/**
 * How detector scores are put on one scale before fusion (all with training-score statistics):
 * `robust` = (s - median) / IQR; `zscore` = (s - mean) / std; `robust-log` = the robust value up to
 * the detector's own threshold and logarithmic above it (see {@link normalizeScores}).
 */
export type Normalization = 'robust' | 'zscore' | 'robust-log';

/** Training-score statistics of one detector. */
export function scoreStats(train: ArrayLike<number>, threshold: number): ScoreStats {
  const s = Float64Array.from(train as ArrayLike<number>).sort();
  const n = s.length;
  const q = (p: number) => {
    const pos = (n - 1) * p;
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, n - 1);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  };
  let mean = 0;
  for (let i = 0; i < n; i++) mean += s[i];
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (s[i] - mean) ** 2;
  const std = Math.sqrt(v / n);
  const tiny = 1e-12 * Math.max(1, Math.abs(mean));
  return { median: q(0.5), iqr: Math.max(q(0.75) - q(0.25), tiny), mean, std: Math.max(std, tiny), threshold };
}

/**
 * Put scores on a common scale, with the statistics of the detector's training scores (never of
 * the batch being scored):
 * - `robust`: z = (s - median) / IQR.
 * - `zscore`: (s - mean) / std.
 * - `robust-log`: z as for `robust` up to z_t, the detector's threshold on that scale (at least 1);
 *   above it z_t * (1 + ln(z / z_t)), which is continuous with slope 1 at z_t and grows
 *   logarithmically. Order is kept, but a detector with a heavy-tailed score (an autoencoder's
 *   reconstruction error thousands of IQRs out) cannot outvote the others by size alone.
 */
export function normalizeScores(scores: ArrayLike<number>, stats: ScoreStats, method: Normalization): Float64Array {
  const out = new Float64Array(scores.length);
  const [c, s] = method === 'zscore' ? [stats.mean, stats.std] : [stats.median, stats.iqr];
  for (let i = 0; i < out.length; i++) out[i] = (scores[i] - c) / s;
  if (method === 'robust-log') {
    const zt = Math.max((stats.threshold - stats.median) / stats.iqr, 1);
    for (let i = 0; i < out.length; i++) {
      if (!(out[i] > zt)) continue;
      // (s - c) / IQR can overflow where the score is finite (a tiny IQR): the same value in log space
      out[i] = out[i] === Infinity && scores[i] - c < Infinity ? zt * (1 + Math.log(scores[i] - c) - Math.log(s) - Math.log(zt)) : zt * (1 + Math.log(out[i] / zt));
    }
  }
  return out;
}

/** Weighted mean of normalised score columns (equal weights by default). */
export function fuseScores(columns: readonly ArrayLike<number>[], weights?: readonly number[]): Float64Array {
  if (columns.length === 0) throw new RangeError('fuseScores: no score columns.');
  const n = columns[0].length;
  const w = weights ?? columns.map(() => 1);
  if (w.length !== columns.length) throw new RangeError(`fuseScores: ${w.length} weights for ${columns.length} columns.`);
  const wsum = w.reduce((a, b) => a + b, 0);
  if (!(wsum > 0)) throw new RangeError('fuseScores: weights must sum to a positive number.');
  const out = new Float64Array(n);
  for (let k = 0; k < columns.length; k++) {
    const col = columns[k];
    if (col.length !== n) throw new RangeError(`fuseScores: column ${k} has ${col.length} rows, expected ${n}.`);
    const wk = w[k] / wsum;
    if (wk === 0) continue;
    for (let i = 0; i < n; i++) out[i] += wk * col[i];
  }
  return out;
}

/**
 * How the normalised detector scores become the ensemble score:
 * - `top`: per row, the mean of the {@link topCount} highest normalised scores (a third of the
 *   detectors, rounded up: 2 of 6, 3 of 7). No detector can be silenced: one that alone finds a
 *   row extreme lifts the row by at least its score / {@link topCount}, however much it disagrees
 *   with the others; and rows are not ranked by the detectors that find them unremarkable.
 * - `mean`: the weighted mean ({@link fuseScores}) with the ensemble's `weights`.
 */
export type Fusion = 'top' | 'mean';

/** Share of the detectors whose highest normalised scores `fusion: "top"` averages per row. */
export const TOP_SHARE = 1 / 3;

/** How many of k detectors' scores `fusion: "top"` averages per row: ceil(k x {@link TOP_SHARE}), at least 1. */
export function topCount(k: number): number {
  return Math.max(1, Math.ceil(k * TOP_SHARE - 1e-9));
}

/**
 * Per row, the mean of the `count` highest values of the score columns (the `top` fusion; with
 * `count` = the number of columns, the plain mean). NaN sorts as the lowest value.
 * @throws RangeError for no columns, columns of different lengths or a count outside [1, columns]
 */
export function topMeanScores(columns: readonly ArrayLike<number>[], count: number = topCount(columns.length)): Float64Array {
  const k = columns.length;
  if (k === 0) throw new RangeError('topMeanScores: no score columns.');
  if (!Number.isInteger(count) || count < 1 || count > k) throw new RangeError(`topMeanScores: count must be an integer in [1, ${k}], got ${count}.`);
  const n = columns[0].length;
  for (let j = 0; j < k; j++) if (columns[j].length !== n) throw new RangeError(`topMeanScores: column ${j} has ${columns[j].length} rows, expected ${n}.`);
  const out = new Float64Array(n);
  const top = new Float64Array(count);
  for (let i = 0; i < n; i++) {
    // the `count` largest, kept sorted descending by insertion (k is small)
    let m = 0;
    for (let j = 0; j < k; j++) {
      let v = columns[j][i];
      if (Number.isNaN(v)) v = -Infinity;
      if (m < count) {
        let p = m++;
        while (p > 0 && top[p - 1] < v) {
          top[p] = top[p - 1];
          p--;
        }
        top[p] = v;
      } else if (v > top[count - 1]) {
        let p = count - 1;
        while (p > 0 && top[p - 1] < v) {
          top[p] = top[p - 1];
          p--;
        }
        top[p] = v;
      }
    }
    let s = 0;
    for (let t = 0; t < count; t++) s += top[t];
    out[i] = s / count;
  }
  return out;
}

/** Number of detectors flagging each row. */
export function countVotes(flags: readonly ArrayLike<number>[]): Uint8Array {
  const n = flags.length ? flags[0].length : 0;
  const out = new Uint8Array(n);
  for (const f of flags) {
    if (f.length !== n) throw new RangeError(`countVotes: flag columns differ in length (${f.length} vs ${n}).`);
    for (let i = 0; i < n; i++) if (f[i]) out[i]++;
  }
  return out;
}

/** Majority decision: 1 where at least `minVotes` detectors flag the row. */
export function majorityVote(votes: ArrayLike<number>, minVotes: number): Uint8Array {
  const out = new Uint8Array(votes.length);
  for (let i = 0; i < votes.length; i++) out[i] = votes[i] >= minVotes ? 1 : 0;
  return out;
}

/**
 * Share of detectors agreeing with the decision: votes/n for anomalies, (n - votes)/n for normal
 * rows. With a majority-vote decision this lies in [0.5, 1].
 */
export function confidence(votes: ArrayLike<number>, isAnomaly: ArrayLike<number>, nDetectors: number): Float64Array {
  const out = new Float64Array(votes.length);
  for (let i = 0; i < votes.length; i++) out[i] = (isAnomaly[i] ? votes[i] : nDetectors - votes[i]) / nDetectors;
  return out;
}

/**
 * Severity of each row: `none` for normal rows; for anomalies, from the share of detectors that
 * voted: at most half `low`, more than half but not all `medium`, all `high` (with the default four
 * detectors: 2 votes low, 3 medium, 4 high; with six: up to 3 low, 4-5 medium, 6 high; an anomaly
 * decided on the fused score with fewer votes is `low`).
 */
export function severity(votes: ArrayLike<number>, isAnomaly: ArrayLike<number>, nDetectors: number): Severity[] {
  const out: Severity[] = new Array(votes.length);
  for (let i = 0; i < votes.length; i++) {
    if (!isAnomaly[i]) out[i] = 'none';
    else if (votes[i] >= nDetectors) out[i] = 'high';
    else if (votes[i] * 2 > nDetectors) out[i] = 'medium';
    else out[i] = 'low';
  }
  return out;
}

/** Ranks 0..n-1 of `x` with ties given their average rank. */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => x[a] - x[b]);
  const r = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && x[idx[j + 1]] === x[idx[i]]) j++;
    const avg = (i + j) / 2;
    for (let k = i; k <= j; k++) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation (0 when either input is constant). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`spearman: lengths differ (${a.length} vs ${b.length}).`);
  const ra = ranks(a);
  const rb = ranks(b);
  const n = ra.length;
  const m = (n - 1) / 2;
  let s = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = ra[i] - m;
    const db = rb[i] - m;
    s += da * db;
    va += da * da;
    vb += db * db;
  }
  return va > 0 && vb > 0 ? s / Math.sqrt(va * vb) : 0;
}

/**
 * The exponent applied to each detector's mean agreement in {@link agreementWeights}. A high power
 * makes the weighting a soft "leave out the dissenter"; with {@link AGREEMENT_FLOOR} it can only
 * halve a detector's say. Chosen with the floor on the tuning half of the quality benchmark
 * (bench/quality.mjs, results/QUALITY.md): with the floor, powers 4 to 16 give mean ROC-AUCs within
 * 0.004 of each other there; 12 is kept from before. Used with `fusion: "mean"` and `weights:
 * "agreement"` (the default before issue 12's equal weights; fusion `top` takes no weights).
 */
export const AGREEMENT_POWER = 12;

/**
 * The share of the weight {@link agreementWeights} spreads equally over the detectors: each keeps at
 * least `AGREEMENT_FLOOR / k` of the say (half its equal share), however much it disagrees with the
 * others. Agreement alone gave the strongest detector of two flow datasets weights of 0.005 and
 * 0.00001: a detector that is right where the others are wrong is the one it silences. On the
 * tuning half of the quality benchmark (the six detectors of the default before, results/QUALITY_COMBINATIONS.md)
 * the floor cost 0.006 of mean ROC-AUC (0.7680 -> 0.7624 on the 14 datasets of that run) and lifted NSL-KDD's F1 from 0.83 to 0.92.
 */
export const AGREEMENT_FLOOR = 0.5;

/**
 * Fusion weights learned without labels: each detector's mean Spearman correlation with the other
 * detectors on the training scores (negative values count as 0), raised to `power`, normalised to
 * sum to 1, then mixed with equal weights: w = (1 - floor) * agreement + floor / k. A detector that
 * ranks the training rows unlike the consensus of the others gets less say, but never less than
 * `floor / k`. With a single detector the weight is 1.
 * @param power - exponent of the agreement @defaultValue {@link AGREEMENT_POWER}
 * @param floor - share of the weight spread equally, in [0, 1] (0: agreement alone, as before issue 12) @defaultValue {@link AGREEMENT_FLOOR}
 */
export function agreementWeights(trainScores: readonly ArrayLike<number>[], power = AGREEMENT_POWER, floor = AGREEMENT_FLOOR): number[] {
  if (!(floor >= 0 && floor <= 1)) throw new RangeError(`agreementWeights: floor must be in [0, 1], got ${floor}.`);
  const k = trainScores.length;
  if (k === 1) return [1];
  const rho: number[][] = trainScores.map(() => new Array(k).fill(0));
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) rho[a][b] = rho[b][a] = spearman(trainScores[a], trainScores[b]);
  }
  const raw = rho.map((r, a) => Math.max(0, r.reduce((s, v, b) => s + (b === a ? 0 : v), 0) / (k - 1)) ** power);
  const sum = raw.reduce((x, y) => x + y, 0);
  const agree = sum > 0 ? raw.map((w) => w / sum) : raw.map(() => 1 / k);
  return agree.map((w) => (1 - floor) * w + floor / k);
}
