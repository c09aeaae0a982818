/** Row subsets of a {@link DetectionResult}, e.g. only the anomalies for a report. */
import type { DetectorName } from '../core/detector';
import type { DetectionResult } from './ensemble';

/**
 * The rows at `indices` (in that order) of a detection result, every column kept: pair it with
 * `subsetRows(data, indices)` to write or show only some rows.
 * @throws RangeError when an index is not a row of `r`
 * @example
 * ```ts
 * const flagged = [...r.isAnomaly.keys()].filter((i) => r.isAnomaly[i]);
 * atomicWriteFile('anomalies.csv', detectionToCsv(selectDetection(r, flagged), subsetRows(data, flagged)));
 * ```
 */
export function selectDetection(r: DetectionResult, indices: ArrayLike<number>): DetectionResult {
  const n = r.isAnomaly.length;
  const idx = Array.from(indices);
  for (const i of idx) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`selectDetection: row ${i} is not in [0, ${n - 1}].`);
  }
  const scores: DetectionResult['scores'] = {};
  const votes: DetectionResult['votes'] = {};
  for (const d of r.detectors as DetectorName[]) {
    scores[d] = Float64Array.from(idx, (i) => r.scores[d]![i]);
    votes[d] = Uint8Array.from(idx, (i) => r.votes[d]![i]);
  }
  return {
    detectors: [...r.detectors],
    scores,
    votes,
    voteCount: Uint8Array.from(idx, (i) => r.voteCount[i]),
    isAnomaly: Uint8Array.from(idx, (i) => r.isAnomaly[i]),
    confidence: Float64Array.from(idx, (i) => r.confidence[i]),
    severity: idx.map((i) => r.severity[i]),
    ensembleScore: Float64Array.from(idx, (i) => r.ensembleScore[i]),
    ensembleThreshold: r.ensembleThreshold,
  };
}
