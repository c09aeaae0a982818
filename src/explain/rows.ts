/** Internal: rows of traffic or a matrix, standardised the way the model scores them. */
import { takeRows, type DenseMatrix } from '../core/matrix';
import type { TrafficData } from '../data/csv';
import type { AnomalyEnsemble } from '../ensemble/ensemble';

/** Traffic read from a file, or a matrix with optional feature names. */
export type ExplainInput = TrafficData | { features?: readonly string[]; X: DenseMatrix; timestamps?: readonly string[]; labels?: ArrayLike<number> };

function isTraffic(data: ExplainInput): data is TrafficData {
  return Array.isArray((data as TrafficData).records) && Array.isArray((data as TrafficData).header) && Array.isArray(data.features);
}

/**
 * The given rows in the model's columns: raw values (`X`) and standardised (`Xs`). Traffic read
 * with another encoder is re-encoded with the model's first (as {@link AnomalyEnsemble.detect} does).
 */
export function modelRows(ens: AnomalyEnsemble, data: ExplainInput, rows: readonly number[]): { X: DenseMatrix; Xs: DenseMatrix } {
  const names = ens.featureNames;
  const same = data.features !== undefined && data.features.length === names.length && data.features.every((f, j) => f === names[j]);
  if (!isTraffic(data) || same) {
    const X = takeRows(data.X, rows);
    return { X, Xs: ens.scale(X, data.features ?? names) };
  }
  // other columns (another encoder): scale everything through the model, then undo the scaling
  const Xs = takeRows(ens.scale(data), rows);
  const { mean, scale } = ens.scaler;
  const X = new Float64Array(Xs.data.length);
  const d = Xs.cols;
  for (let k = 0; k < X.length; k++) X[k] = Xs.data[k] * scale[k % d] + mean[k % d];
  return { X: { rows: Xs.rows, cols: d, data: X }, Xs };
}
