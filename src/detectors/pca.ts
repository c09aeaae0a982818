/**
 * PCA outlier detection (Shyu, Chen, Sarinnapakorn and Chang 2003): the principal components of
 * the training rows describe normal variation; a row is anomalous when it lies far from the
 * subspace of the major components, or far out along any component relative to its variance. The
 * eigen decomposition is ml-matrix's (`EVD` of the covariance matrix).
 */
import { EVD, Matrix } from 'ml-matrix';
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError, optionError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';

/** How {@link Pca} scores a row from its principal-component coordinates y_j (variances λ_j). */
export type PcaScore = 'reconstruction' | 'mahalanobis';

/** Options of {@link Pca}. */
export interface PcaOptions extends BaseDetectorOptions {
  /**
   * `"mahalanobis"`: every component weighed by its variance, Σ_j y_j² / λ_j (the Mahalanobis
   * distance; a direction with almost no training variance counts a lot). `"reconstruction"`: the
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

/** Fitted state of {@link Pca}. */
export interface PcaState {
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

const DEFAULTS = { contamination: 0.1, score: 'mahalanobis', varianceRetained: 0.9 } satisfies Required<Omit<PcaOptions, 'seed'>>;

/**
 * PCA-based anomaly detector.
 *
 * @remarks
 * Principal components of the centred training rows (eigenvectors of their covariance matrix,
 * ml-matrix `EVD`, largest variance first), y_j = (x - m) · v_j with variance λ_j (Shyu, Chen,
 * Sarinnapakorn and Chang, "A Novel Anomaly Detection Scheme Based on Principal Component
 * Classifier", ICDM 2003; PyOD's `PCA` also weighs every component by its variance). With
 * `score: "mahalanobis"` (the default) the score is Σ_j y_j² / λ_j over all components, variances
 * floored at 1e-9 of the largest (and at 1e-12). With `"reconstruction"` it is the squared
 * reconstruction error from the major components, ||x - m||² - Σ_{j < q} y_j², q the smallest
 * number of components explaining `varianceRetained` of the variance.
 *
 * Score direction: higher means more anomalous (>= 0).
 *
 * Cost: fit O(n · d² + d³) (covariance and its eigen decomposition: about 2 s at 400 columns, 100 s
 * at 1,500 on one core); scoring O(rows · d · q), q = d for `"mahalanobis"`. The model keeps q x d
 * numbers. Deterministic (no seed used).
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

  /** Number of major components (those retained as normal variation), after fit. */
  get nMajorComponents(): number {
    return this.state.nMajor;
  }

  minTrainRows(): number {
    return 2;
  }

  protected async fitCore(X: DenseMatrix): Promise<FitResult<PcaState>> {
    const { rows: n, cols: d, data } = X;
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
    for (let j = 0; j < d; j++) mean[j] /= n;
    // covariance (upper triangle, mirrored), one pass over the centred rows
    const cov = new Float64Array(d * d);
    const row = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) row[j] = data[i * d + j] - mean[j];
      for (let a = 0; a < d; a++) {
        const ra = row[a];
        if (ra === 0) continue;
        const base = a * d;
        for (let b = a; b < d; b++) cov[base + b] += ra * row[b];
      }
    }
    const C = new Matrix(d, d);
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        const v = cov[a * d + b] / Math.max(1, n - 1);
        C.set(a, b, v);
        C.set(b, a, v);
      }
    }
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
    const mahalanobis = this.options.score === 'mahalanobis';
    // reconstruction keeps the major components (the error is the rest); mahalanobis keeps all
    const q = mahalanobis ? d : nMajor;
    const components = new Float64Array(q * d);
    const variances = new Float64Array(q);
    // a direction without training variance still gets a finite weight (a constant column: 1e12)
    const floor = Math.max((lambda[0] ?? 0) * 1e-9, 1e-12);
    for (let c = 0; c < q; c++) {
      const j = order[c];
      for (let f = 0; f < d; f++) components[c * d + f] = V.get(f, j);
      variances[c] = Math.max(lambda[c], floor);
    }
    const state: PcaState = { mean, components, q, variances, nMajor };
    return { state, trainScores: this.scoreCore(state, X) };
  }

  protected scoreCore(state: PcaState, X: DenseMatrix): Float64Array {
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
    return {
      params: { q: state.q, nMajor: state.nMajor },
      arrays: { mean: state.mean.slice(), components: state.components.slice(), variances: state.variances.slice() },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): PcaState {
    const { q, nMajor } = snapshot.params;
    const d = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    const { mean, components, variances } = snapshot.arrays;
    if (
      typeof q !== 'number' ||
      !Number.isInteger(q) ||
      q < 1 ||
      typeof nMajor !== 'number' ||
      !Number.isInteger(nMajor) ||
      nMajor < 1 ||
      typeof d !== 'number' ||
      !Number.isInteger(d) ||
      q > d ||
      nMajor > d ||
      !(mean instanceof Float64Array && mean.length === d) ||
      !(components instanceof Float64Array && components.length === q * d) ||
      !(variances instanceof Float64Array && variances.length === q)
    ) {
      throw new ModelFormatError('Pca snapshot is missing or has inconsistent components.');
    }
    return { mean: mean.slice(), components: components.slice(), q, variances: variances.slice(), nMajor };
  }
}
