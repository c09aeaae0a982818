/**
 * Detection metrics with anomaly (1) as the positive class: confusion counts, accuracy, precision,
 * recall, F1 from flags; ROC-AUC and PR-AUC (average precision) from continuous scores. Undefined
 * ratios (no predicted positives, no positives) are 0, as scikit-learn's `zero_division=0`.
 */

/** Metrics of one model on labelled rows. */
export interface DetectionMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** Area under the ROC curve of the continuous score (NaN when only one class is present). */
  rocAuc: number;
  /** Average precision of the continuous score (NaN when there are no positives). */
  prAuc: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Confusion counts of flags against labels. */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

function checkLengths(a: ArrayLike<unknown>, b: ArrayLike<unknown>, what: string): void {
  if (a.length !== b.length) throw new RangeError(`${what}: labels have ${a.length} values, predictions ${b.length}.`);
}

/** Confusion counts. */
export function confusion(labels: ArrayLike<number>, flags: ArrayLike<number>): Confusion {
  checkLengths(labels, flags, 'confusion');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i] ? 1 : 0;
    const p = flags[i] ? 1 : 0;
    if (y && p) tp++;
    else if (!y && p) fp++;
    else if (y && !p) fn++;
    else tn++;
  }
  return { tp, fp, fn, tn };
}

/** Accuracy, precision, recall and F1 from confusion counts. */
export function rates(c: Confusion): { accuracy: number; precision: number; recall: number; f1: number } {
  const n = c.tp + c.fp + c.fn + c.tn;
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
  const f1 = 2 * c.tp + c.fp + c.fn > 0 ? (2 * c.tp) / (2 * c.tp + c.fp + c.fn) : 0;
  return { accuracy: n > 0 ? (c.tp + c.tn) / n : 0, precision, recall, f1 };
}

/** Indices sorted by score, descending (stable). */
function orderDesc(scores: ArrayLike<number>): Int32Array {
  const idx = new Int32Array(scores.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => scores[b] - scores[a] || a - b);
}

/**
 * ROC-AUC: the probability that a random anomaly scores above a random normal row, ties counting
 * half (Mann-Whitney U with average ranks). NaN when one class is absent.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  checkLengths(labels, scores, 'rocAuc');
  const n = labels.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  idx.sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let nPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[idx[k]]) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** A point of a ROC or PR curve at one threshold. */
export interface CurvePoint {
  threshold: number;
  x: number;
  y: number;
}

/** ROC curve points (x = false-positive rate, y = true-positive rate), one per distinct score. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): CurvePoint[] {
  checkLengths(labels, scores, 'rocCurve');
  const idx = orderDesc(scores);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) nPos++;
  const nNeg = labels.length - nPos;
  const pts: CurvePoint[] = [{ threshold: Infinity, x: 0, y: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < idx.length; k++) {
    if (labels[idx[k]]) tp++;
    else fp++;
    const s = scores[idx[k]];
    if (k + 1 < idx.length && scores[idx[k + 1]] === s) continue;
    pts.push({ threshold: s, x: nNeg ? fp / nNeg : 0, y: nPos ? tp / nPos : 0 });
  }
  return pts;
}

/** Precision-recall curve points (x = recall, y = precision), one per distinct score. */
export function prCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): CurvePoint[] {
  checkLengths(labels, scores, 'prCurve');
  const idx = orderDesc(scores);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) nPos++;
  const pts: CurvePoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < idx.length; k++) {
    if (labels[idx[k]]) tp++;
    else fp++;
    const s = scores[idx[k]];
    if (k + 1 < idx.length && scores[idx[k + 1]] === s) continue;
    pts.push({ threshold: s, x: nPos ? tp / nPos : 0, y: tp / (tp + fp) });
  }
  return pts;
}

/**
 * Average precision, scikit-learn's `average_precision_score`: the sum over distinct thresholds of
 * (recall step) x precision. NaN when there are no positives.
 */
export function averagePrecision(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const pts = prCurve(labels, scores);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) nPos++;
  if (nPos === 0) return NaN;
  let ap = 0;
  let prevRecall = 0;
  for (const p of pts) {
    ap += (p.x - prevRecall) * p.y;
    prevRecall = p.x;
  }
  return ap;
}

/** Every metric of one model: flags for the counts, scores for the curves. */
export function detectionMetrics(
  labels: ArrayLike<number>,
  flags: ArrayLike<number>,
  scores: ArrayLike<number>,
): DetectionMetrics {
  const c = confusion(labels, flags);
  return {
    ...rates(c),
    rocAuc: rocAuc(labels, scores),
    prAuc: averagePrecision(labels, scores),
    ...c,
  };
}
