/**
 * HBOS (Goldstein and Dengel 2012): histogram-based outlier score. One histogram per column of the
 * training rows; a row's score adds up how rare each of its values is, as if the columns were
 * independent. The cheapest detector here: linear in rows and columns.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError, optionError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';

/** Options of {@link Hbos}. */
export interface HbosOptions extends BaseDetectorOptions {
  /**
   * Equal-width bins per column over its training range, an integer >= 2.
   * @defaultValue 10
   */
  nBins?: number;
  /**
   * Added to every bin's density before the logarithm, so an empty bin has a finite score; > 0.
   * @defaultValue 0.1
   */
  alpha?: number;
  /**
   * A value outside the training range but within `tol` bin widths of it counts in the outermost
   * bin; further out it scores as the rarest bin of the column. In [0, 1e6].
   * @defaultValue 0.5
   */
  tol?: number;
}

/** Fitted state of {@link Hbos}. */
export interface HbosState {
  nBins: number;
  /** Left edge of each column's first bin. */
  low: Float64Array;
  /** Bin width per column. */
  width: Float64Array;
  /** `d x nBins`: log2(density + alpha) of each bin (density = count / (n · width)). */
  logDensity: Float64Array;
  /** Per column, the lowest of its bins' log densities (the score of a value far outside the range). */
  minLogDensity: Float64Array;
}

const DEFAULTS = { contamination: 0.1, nBins: 10, alpha: 0.1, tol: 0.5 } satisfies Required<Omit<HbosOptions, 'seed'>>;

/**
 * HBOS: histogram-based outlier score.
 *
 * @remarks
 * Goldstein and Dengel, "Histogram-based Outlier Score (HBOS): A fast Unsupervised Anomaly
 * Detection Algorithm", KI 2012, with PyOD's static histograms: `nBins` equal-width bins over each
 * column's training range (numpy's `histogram(density=True)`; a constant column gets the range
 * [v - 0.5, v + 0.5]), score = -Σ_j log2(density_j(x_j) + alpha). Values outside the range: see
 * {@link HbosOptions.tol}.
 *
 * Score direction: higher means more anomalous.
 *
 * Cost: fit and scoring O(rows · d); the model keeps d · nBins numbers. Deterministic.
 *
 * @example
 * ```ts
 * const hbos = await new Hbos({ nBins: 10 }).fit(scaledTrain);
 * const scores = hbos.anomalyScore(scaledTest); // higher = more anomalous
 * ```
 */
export class Hbos extends BaseDetector<HbosOptions, HbosState> {
  readonly name = 'hbos' as const;

  /**
   * @param options - see {@link HbosOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: HbosOptions = {}) {
    super(options, DEFAULTS);
    const o = this.options;
    if (typeof o.nBins !== 'number' || !Number.isInteger(o.nBins) || o.nBins < 2) throw optionError('Hbos', 'nBins', 'an integer >= 2', o.nBins);
    if (typeof o.alpha !== 'number' || !(o.alpha > 0) || !Number.isFinite(o.alpha)) throw optionError('Hbos', 'alpha', 'a finite number > 0', o.alpha);
    if (typeof o.tol !== 'number' || !(o.tol >= 0 && o.tol <= 1e6)) throw optionError('Hbos', 'tol', 'a number in [0, 1e6]', o.tol);
  }

  /**
   * Rebuild a fitted detector from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved detector's.
   * @throws ModelFormatError when the snapshot is not an Hbos's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<Hbos> {
    if (snapshot.className !== 'Hbos') throw new ModelFormatError(`expected an Hbos snapshot, got '${snapshot.className}'.`);
    return new Hbos(snapshot.options as HbosOptions).restore(snapshot);
  }

  minTrainRows(): number {
    return 2;
  }

  protected async fitCore(X: DenseMatrix): Promise<FitResult<HbosState>> {
    const { rows: n, cols: d, data } = X;
    const B = this.options.nBins;
    const low = new Float64Array(d);
    const width = new Float64Array(d);
    const logDensity = new Float64Array(d * B);
    const minLogDensity = new Float64Array(d);
    const counts = new Float64Array(B);
    for (let j = 0; j < d; j++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = data[i * d + j];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (hi === lo) {
        lo -= 0.5;
        hi += 0.5;
      }
      const w = (hi - lo) / B;
      low[j] = lo;
      width[j] = w;
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[binOf(data[i * d + j], lo, w, B)]++;
      let min = Infinity;
      for (let b = 0; b < B; b++) {
        const ld = Math.log2(counts[b] / (n * w) + this.options.alpha);
        logDensity[j * B + b] = ld;
        if (ld < min) min = ld;
      }
      minLogDensity[j] = min;
    }
    const state: HbosState = { nBins: B, low, width, logDensity, minLogDensity };
    return { state, trainScores: this.scoreCore(state, X) };
  }

  protected scoreCore(state: HbosState, X: DenseMatrix): Float64Array {
    const { nBins: B, low, width, logDensity, minLogDensity } = state;
    const { rows: m, cols: d, data } = X;
    const tol = this.options.tol;
    const out = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = data[i * d + j];
        const lo = low[j];
        const w = width[j];
        const hi = lo + w * B;
        let ld: number;
        if (v < lo) ld = lo - v <= w * tol ? logDensity[j * B] : minLogDensity[j];
        else if (v > hi) ld = v - hi <= w * tol ? logDensity[j * B + B - 1] : minLogDensity[j];
        else ld = logDensity[j * B + binOf(v, lo, w, B)];
        s -= ld;
      }
      out[i] = s;
    }
    return out;
  }

  protected exportCore(state: HbosState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: { nBins: state.nBins },
      arrays: {
        low: state.low.slice(),
        width: state.width.slice(),
        logDensity: state.logDensity.slice(),
        minLogDensity: state.minLogDensity.slice(),
      },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): HbosState {
    const B = snapshot.params.nBins;
    const d = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    const { low, width, logDensity, minLogDensity } = snapshot.arrays;
    if (
      typeof B !== 'number' ||
      !Number.isInteger(B) ||
      B < 2 ||
      typeof d !== 'number' ||
      !Number.isInteger(d) ||
      d < 1 ||
      !(low instanceof Float64Array && low.length === d) ||
      !(width instanceof Float64Array && width.length === d) ||
      !(logDensity instanceof Float64Array && logDensity.length === d * B) ||
      !(minLogDensity instanceof Float64Array && minLogDensity.length === d)
    ) {
      throw new ModelFormatError('Hbos snapshot is missing or has inconsistent histograms.');
    }
    return { nBins: B, low: low.slice(), width: width.slice(), logDensity: logDensity.slice(), minLogDensity: minLogDensity.slice() };
  }
}

/** Bin of a value inside [lo, lo + B·w]; the right edge belongs to the last bin (numpy's histogram). */
function binOf(v: number, lo: number, w: number, B: number): number {
  const b = Math.floor((v - lo) / w);
  return b < 0 ? 0 : b >= B ? B - 1 : b;
}
