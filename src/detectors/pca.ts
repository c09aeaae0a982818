/**
 * PCA outlier detection (Shyu, Chen, Sarinnapakorn and Chang 2003): the principal components of
 * the training rows describe normal variation; a row is anomalous when it lies far from the
 * subspace of the major components, or far out along any component relative to its variance. The
 * reconstruction score uses ml-matrix's eigen decomposition (`EVD` of the covariance matrix); the
 * Mahalanobis score (the default) the equivalent Cholesky factor (src/compute/mahalanobis.ts), which
 * stays fast at thousands of columns.
 */
import { EVD, Matrix } from 'ml-matrix';
import { covariance, cholesky, forwardScores, largestEigenvalue } from '../compute/mahalanobis';
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { DataValidationError, ModelFormatError, optionError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';

/** How {@link Pca} scores a row from its principal-component coordinates y_j (variances λ_j). */
export type PcaScore = 'reconstruction' | 'mahalanobis';

/** Options of {@link Pca}. */
export interface PcaOptions extends BaseDetectorOptions {
  /**
   * `"mahalanobis"`: every component weighed by its variance, Σ_j y_j² / (λ_j + δ) (the
   * Mahalanobis distance with a ridge δ of 1e-9 of the largest variance; a direction with almost
   * no training variance counts a lot). `"reconstruction"`: the
   * squared distance of the centred row to the subspace of the major components (those that
   * explain `varianceRetained` of the variance), Σ_{minor j} y_j², the reconstruction error; it
   * misses an anomaly that lies along a major component, and anomalies among the training rows
   * pull the major components toward themselves. On the tuning half of the quality benchmark
   * (bench/quality.mjs) the Mahalanobis score ranks anomalies better at every `varianceRetained`
   * tried (0.5 to 0.99).
   * @defaultValue "mahalanobis"
   */
  score?: PcaScore;
  /**
   * Share of the training variance the major components explain, in (0, 1]: the smallest number
   * of leading components reaching it (with `score: "reconstruction"`).
   * @defaultValue 0.9
   */
  varianceRetained?: number;
}

/**
 * Fitted state of {@link Pca}: the eigen form (`score: "reconstruction"`, and Mahalanobis models
 * saved by earlier versions, which scored from all the components) or the Cholesky form (Mahalanobis).
 */
export type PcaState = PcaEigenState | PcaCholeskyState;

/** Principal components and their variances. */
export interface PcaEigenState {
  form: 'eigen';
  /** Column means of the training rows. */
  mean: Float64Array;
  /** Components kept, `q x d` row-major, largest variance first: the major ones (reconstruction) or all (mahalanobis). */
  components: Float64Array;
  /** Number of rows of `components`. */
  q: number;
  /** Variance along each kept component (floored), for `mahalanobis`. */
  variances: Float64Array;
  /** Number of major components: the fewest leading ones explaining `varianceRetained` of the variance. */
  nMajor: number;
}

/** The Cholesky factor of the covariance plus a ridge: the score is `‖L⁻¹ (x − m)‖²`. */
export interface PcaCholeskyState {
  form: 'cholesky';
  /** Column means of the training rows. */
  mean: Float64Array;
  /** `L`, lower triangular, packed by rows (row `i`'s `i + 1` values at `i(i + 1)/2`), `L Lᵀ = C + ridge·I`. */
  factor: Float64Array;
  /** The ridge added to the covariance's diagonal. */
  ridge: number;
}

const DEFAULTS = { contamination: 0.1, score: 'mahalanobis', varianceRetained: 0.9 } satisfies Required<Omit<PcaOptions, 'seed'>>;

/**
 * PCA-based anomaly detector.
 *
 * @remarks
 * Principal components of the centred training rows (eigenvectors of their covariance matrix,
 * ml-matrix `EVD`, largest variance first), y_j = (x - m) · v_j with variance λ_j (Shyu, Chen,
 * Sarinnapakorn and Chang, "A Novel Anomaly Detection Scheme Based on Principal Component
 * Classifier", ICDM 2003; PyOD's `PCA` also weighs every component by its variance). With
 * `score: "mahalanobis"` (the default) the score is Σ_j y_j² / (λ_j + δ) over all components, the
 * ridge δ being 1e-9 of the largest variance (estimated by 30 steps of power iteration from a fixed
 * start; at least 1e-12): a direction without training
 * variance counts 1/δ. That sum is (x - m)ᵀ (C + δI)⁻¹ (x - m), computed without the eigen
 * decomposition as ‖y‖², L y = x - m, with the Cholesky factor L Lᵀ = C + δI (a larger δ, ten
 * times at a time, where rounding leaves C + δI not positive definite). With `"reconstruction"` it is the
 * squared reconstruction error from the major components, ||x - m||² - Σ_{j < q} y_j², q the
 * smallest number of components explaining `varianceRetained` of the variance.
 *
 * Score direction: higher means more anomalous (>= 0).
 *
 * Cost: `"mahalanobis"`: fit O(n · d² + d³/6) (the covariance and the Cholesky factor), scoring
 * O(rows · d²/2) (forward substitution), nearly all dot products in WebAssembly SIMD tiles (about
 * 1.5 s to fit 1,376 rows of 1,555 columns); the model keeps d(d + 1)/2 numbers. `"reconstruction"`: ml-matrix's eigen
 * decomposition, O(d³) with a large constant (about 15 s at 1,555 columns), scoring O(rows · d · q);
 * the model keeps q x d numbers. Deterministic (no seed used).
 *
 * @example
 * ```ts
 * const pca = await new Pca().fit(scaledTrain);
 * const scores = pca.anomalyScore(scaledTest); // squared Mahalanobis distance to the training mean
 * ```
 */
export class Pca extends BaseDetector<PcaOptions, PcaState> {
  readonly name = 'pca' as const;

  /**
   * @param options - see {@link PcaOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: PcaOptions = {}) {
    super(options, DEFAULTS);
    const o = this.options;
    if (o.score !== 'reconstruction' && o.score !== 'mahalanobis') throw optionError('Pca', 'score', '"mahalanobis" or "reconstruction"', o.score);
    if (typeof o.varianceRetained !== 'number' || !(o.varianceRetained > 0 && o.varianceRetained <= 1)) {
      throw optionError('Pca', 'varianceRetained', 'a number in (0, 1]', o.varianceRetained);
    }
  }

  /**
   * Rebuild a fitted detector from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved detector's.
   * @throws ModelFormatError when the snapshot is not a Pca's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<Pca> {
    if (snapshot.className !== 'Pca') throw new ModelFormatError(`expected a Pca snapshot, got '${snapshot.className}'.`);
    return new Pca(snapshot.options as PcaOptions).restore(snapshot);
  }

  /**
   * Number of major components (those retained as normal variation), after fit, with
   * `score: "reconstruction"`; undefined for the Mahalanobis score, which weighs every direction
   * and is computed without the components.
   */
  get nMajorComponents(): number | undefined {
    const state = this.state;
    return state.form === 'eigen' ? state.nMajor : undefined;
  }

  minTrainRows(): number {
    return 2;
  }

  protected async fitCore(X: DenseMatrix): Promise<FitResult<PcaState>> {
    const state = this.options.score === 'mahalanobis' ? this.fitCholesky(X) : this.fitEigen(X);
    return { state, trainScores: this.scoreCore(state, X) };
  }

  /** The Mahalanobis form: the Cholesky factor of the covariance plus the ridge. */
  private fitCholesky(X: DenseMatrix): PcaCholeskyState {
    const { rows: n, cols: d, data } = X;
    const { mean, cov } = covariance(data, n, d);
    const top = largestEigenvalue(cov, d);
    if (!Number.isFinite(top)) throw new DataValidationError(`Pca: the covariance of the training rows overflows (values beyond about 1e154); scale the columns first.`);
    let ridge = Math.max(top * 1e-9, 1e-12);
    for (let attempt = 0; attempt < 8; attempt++, ridge *= 10) {
      const factor = cholesky(cov, d, ridge);
      if (factor) return { form: 'cholesky', mean, factor, ridge };
    }
    throw new DataValidationError(`Pca: the covariance of the training rows is not positive definite even with a ridge of ${ridge / 10} (non-finite or overflowing values?).`);
  }

  /** The eigen form (reconstruction): ml-matrix's eigen decomposition of the covariance. */
  private fitEigen(X: DenseMatrix): PcaEigenState {
    const { rows: n, cols: d, data } = X;
    const { mean, cov } = covariance(data, n, d);
    const C = new Matrix(d, d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) C.set(a, b, cov[a * d + b]);
    const evd = new EVD(C, { assumeSymmetric: true });
    const values = evd.realEigenvalues;
    const V = evd.eigenvectorMatrix;
    const order = values.map((_, j) => j).sort((a, b) => values[b] - values[a] || a - b);
    const lambda = order.map((j) => Math.max(values[j], 0));
    const total = lambda.reduce((s, v) => s + v, 0);
    let nMajor = d;
    if (total > 0) {
      let acc = 0;
      for (let j = 0; j < d; j++) {
        acc += lambda[j];
        if (acc >= this.options.varianceRetained * total * (1 - 1e-12)) {
          nMajor = j + 1;
          break;
        }
      }
    }
    // reconstruction keeps the major components (the error is the rest)
    const q = nMajor;
    const components = new Float64Array(q * d);
    const variances = new Float64Array(q);
    const floor = Math.max((lambda[0] ?? 0) * 1e-9, 1e-12);
    for (let c = 0; c < q; c++) {
      const j = order[c];
      for (let f = 0; f < d; f++) components[c * d + f] = V.get(f, j);
      variances[c] = Math.max(lambda[c], floor);
    }
    return { form: 'eigen', mean, components, q, variances, nMajor };
  }

  protected scoreCore(state: PcaState, X: DenseMatrix): Float64Array {
    if (state.form === 'cholesky') return forwardScores(state.factor, state.mean, X.data, X.rows, X.cols);
    const { mean, components, q, variances } = state;
    const { rows: m, cols: d, data } = X;
    const mahalanobis = this.options.score === 'mahalanobis';
    const out = new Float64Array(m);
    const xc = new Float64Array(d);
    for (let i = 0; i < m; i++) {
      let norm = 0;
      for (let f = 0; f < d; f++) {
        const v = data[i * d + f] - mean[f];
        xc[f] = v;
        norm += v * v;
      }
      let s = 0;
      for (let c = 0; c < q; c++) {
        let y = 0;
        const base = c * d;
        for (let f = 0; f < d; f++) y += xc[f] * components[base + f];
        s += mahalanobis ? (y * y) / variances[c] : y * y;
      }
      // reconstruction: what the major components do not explain (rounding can make it a hair negative)
      out[i] = mahalanobis ? s : Math.max(norm - s, 0);
    }
    return out;
  }

  protected exportCore(state: PcaState): Omit<DetectorSnapshot, 'className' | 'options'> {
    if (state.form === 'cholesky') {
      return { params: { form: 'cholesky', ridge: state.ridge }, arrays: { mean: state.mean.slice(), factor: state.factor.slice() }, files: {} };
    }
    return {
      params: { q: state.q, nMajor: state.nMajor },
      arrays: { mean: state.mean.slice(), components: state.components.slice(), variances: state.variances.slice() },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): PcaState {
    const d = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) throw new ModelFormatError('Pca snapshot is missing its number of columns.');
    if (snapshot.params.form === 'cholesky') {
      const { ridge } = snapshot.params;
      const { mean, factor } = snapshot.arrays;
      if (this.options.score !== 'mahalanobis') throw new ModelFormatError(`Pca snapshot has a Cholesky factor (the Mahalanobis score) but options with score '${this.options.score}'.`);
      if (
        typeof ridge !== 'number' ||
        !(ridge > 0 && ridge < Infinity) ||
        !(mean instanceof Float64Array && mean.length === d && mean.every(Number.isFinite)) ||
        !(factor instanceof Float64Array && factor.length === (d * (d + 1)) / 2) ||
        !factor.every(Number.isFinite) ||
        // row i's diagonal value is the last of its i + 1, at i(i + 3)/2
        !Array.from({ length: d }, (_, i) => factor[(i * (i + 3)) / 2]).every((v) => v > 0)
      ) {
        throw new ModelFormatError('Pca snapshot has an inconsistent Cholesky factor.');
      }
      return { form: 'cholesky', mean: mean.slice(), factor: factor.slice(), ridge };
    }
    const { q, nMajor } = snapshot.params;
    const { mean, components, variances } = snapshot.arrays;
    if (
      typeof q !== 'number' ||
      !Number.isInteger(q) ||
      q < 1 ||
      typeof nMajor !== 'number' ||
      !Number.isInteger(nMajor) ||
      nMajor < 1 ||
      q > d ||
      nMajor > d ||
      !(mean instanceof Float64Array && mean.length === d) ||
      !(components instanceof Float64Array && components.length === q * d) ||
      !(variances instanceof Float64Array && variances.length === q)
    ) {
      throw new ModelFormatError('Pca snapshot is missing or has inconsistent components.');
    }
    return { form: 'eigen', mean: mean.slice(), components: components.slice(), q, variances: variances.slice(), nMajor };
  }
}
