/**
 * Standardisation fitted on training rows: `(x - mean) / scale`, scale = population standard
 * deviation (scikit-learn's `StandardScaler`). A constant column gets scale 1, so it maps to 0
 * instead of NaN. Any finite data fits to finite statistics (values near the float64 limit or
 * tiny ones included), and the same data in other units gives the same standardised values.
 */
import { NotFittedError, FeatureMismatchError } from '../core/errors';
import { toDense, type DenseMatrix, type MatrixLike } from '../core/matrix';
import { assertFinite, assertMinRows } from '../core/validation';

/** JSON form of a fitted scaler. */
export interface StandardScalerState {
  mean: number[];
  scale: number[];
}

export class StandardScaler {
  private fitted?: { mean: Float64Array; scale: Float64Array };

  /**
   * Learn column means and standard deviations.
   * @throws DataValidationError on non-finite values or no rows
   */
  fit(X: MatrixLike): this {
    const m = toDense(X);
    assertMinRows(m, 1, 'StandardScaler');
    assertFinite(m);
    const { rows, cols, data } = m;
    const mean = new Float64Array(cols);
    const big = new Float64Array(cols); // largest magnitude per column
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const x = data[i * cols + j];
        mean[j] += x;
        const a = Math.abs(x);
        if (a > big[j]) big[j] = a;
      }
    }
    for (let j = 0; j < cols; j++) mean[j] /= rows;
    const varr = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const d = data[i * cols + j] - mean[j];
        varr[j] += d * d;
      }
    }
    const scale = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      let sd = Math.sqrt(varr[j] / rows);
      // values so large that the sums overflow, or so small that the squares underflow: compute
      // that column on the values divided by its largest magnitude (the same statistics, without
      // an infinite or vanishing intermediate)
      if (!Number.isFinite(mean[j]) || !Number.isFinite(sd) || big[j] > 1e150 || (big[j] > 0 && big[j] < 1e-150)) {
        [mean[j], sd] = scaledMoments(data, rows, cols, j, big[j]);
      }
      // a column whose spread is at the level of the rounding noise of its values is constant
      // (relative to its magnitude, as scikit-learn's _is_constant_feature, so that the same data
      // in other units, x 1e-20 or x 1e20, scales the same)
      scale[j] = sd > 10 * Number.EPSILON * big[j] ? sd : 1;
    }
    this.fitted = { mean, scale };
    return this;
  }

  /** Column means. */
  get mean(): Float64Array {
    return this.require().mean;
  }

  /** Column scales (1 for constant columns). */
  get scale(): Float64Array {
    return this.require().scale;
  }

  /** Standardised copy of `X` (the input is not modified). */
  transform(X: MatrixLike): DenseMatrix {
    const { mean, scale } = this.require();
    const m = toDense(X);
    if (m.cols !== mean.length) throw new FeatureMismatchError('StandardScaler', mean.length, m.cols);
    const out = new Float64Array(m.data.length);
    const c = m.cols;
    let overflow = false;
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < c; j++) {
        // + 0 turns a -0 (a value of -0 in a column of mean 0) into 0, and changes nothing else:
        // a constant column maps to exactly 0
        const z = (m.data[i * c + j] - mean[j]) / scale[j] + 0;
        out[i * c + j] = z;
        if (z - z !== 0) overflow = true;
      }
    }
    // x - mean can overflow for finite values near the float64 limit (1.8e308 - (-1e308)):
    // those cells are computed as x / scale - mean / scale, which stays finite unless the
    // standardised value itself is beyond the float64 range (then it is +-Infinity, never NaN)
    if (overflow) {
      for (let k = 0; k < out.length; k++) {
        const z = out[k];
        if (z - z === 0) continue;
        const x = m.data[k];
        const j = k % c;
        if (x - x === 0) out[k] = x / scale[j] - mean[j] / scale[j];
      }
    }
    return { rows: m.rows, cols: c, data: out };
  }

  /** `fit(X)` then `transform(X)`. */
  fitTransform(X: MatrixLike): DenseMatrix {
    return this.fit(X).transform(X);
  }

  /** Undo {@link transform}. */
  inverseTransform(X: MatrixLike): DenseMatrix {
    const { mean, scale } = this.require();
    const m = toDense(X);
    if (m.cols !== mean.length) throw new FeatureMismatchError('StandardScaler', mean.length, m.cols);
    const out = new Float64Array(m.data.length);
    const c = m.cols;
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < c; j++) out[i * c + j] = m.data[i * c + j] * scale[j] + mean[j];
    return { rows: m.rows, cols: c, data: out };
  }

  /** JSON-safe state. */
  toJSON(): StandardScalerState {
    const { mean, scale } = this.require();
    return { mean: Array.from(mean), scale: Array.from(scale) };
  }

  /**
   * Rebuild from {@link toJSON}.
   * @throws TypeError unless `mean` and `scale` are arrays of equal length of finite numbers, every
   *   scale positive
   */
  static fromJSON(s: StandardScalerState): StandardScaler {
    const sc = new StandardScaler();
    if (!Array.isArray(s?.mean) || !Array.isArray(s?.scale) || s.mean.length !== s.scale.length) {
      throw new TypeError('StandardScaler state must have mean and scale arrays of equal length.');
    }
    const bad = s.mean.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
    if (bad >= 0) throw new TypeError(`StandardScaler state: mean[${bad}] is ${JSON.stringify(s.mean[bad])}, not a finite number.`);
    const badScale = s.scale.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || !(v > 0));
    if (badScale >= 0) throw new TypeError(`StandardScaler state: scale[${badScale}] is ${JSON.stringify(s.scale[badScale])}, not a finite number > 0.`);
    sc.fitted = { mean: Float64Array.from(s.mean), scale: Float64Array.from(s.scale) };
    return sc;
  }

  private require() {
    if (!this.fitted) throw new NotFittedError('StandardScaler');
    return this.fitted;
  }
}

/**
 * Mean and population standard deviation of column `j`, computed on the values divided by the
 * column's largest magnitude so that no sum overflows (the standard deviation is at most that
 * magnitude, so it is finite too).
 */
function scaledMoments(data: Float64Array, rows: number, cols: number, j: number, big: number): [number, number] {
  if (big === 0) return [0, 0];
  let mean = 0;
  for (let i = 0; i < rows; i++) mean += data[i * cols + j] / big;
  mean /= rows;
  let v = 0;
  for (let i = 0; i < rows; i++) {
    const d = data[i * cols + j] / big - mean;
    v += d * d;
  }
  return [mean * big, Math.sqrt(v / rows) * big];
}
