/**
 * The one detector contract (PyOD's `BaseDetector`, in TypeScript). Subclasses implement
 * `fitCore` (learn state, return the training rows' anomaly scores) and `scoreCore`; this class
 * does the rest once: input checks, the threshold calibrated on training scores, `predict`,
 * fitted-state guards and the snapshot used by persistence.
 *
 * Score direction: **higher means more anomalous**, for every detector.
 */
import { DataValidationError, FeatureMismatchError, ModelFormatError, NotFittedError } from './errors';
import { toDense, type DenseMatrix, type MatrixLike } from './matrix';
import { checkSeed, drawSeed } from './random';
import { calibrateThreshold, checkContamination, type Contamination } from './threshold';
import { assertFinite, assertHasColumns, assertMinRows } from './validation';

/** The four detector names, also the JSON keys of per-model outputs. */
export type DetectorName = 'isolationForest' | 'oneClassSvm' | 'localOutlierFactor' | 'autoencoder';

/** Options every detector takes. */
export interface BaseDetectorOptions {
  /**
   * Expected share of anomalies in the training data, in (0, 0.5], or `"auto"` (Tukey's far-out
   * fence on the training scores; see {@link calibrateThreshold}).
   * @defaultValue 0.1
   */
  contamination?: Contamination;
  /**
   * Seed for every random choice of the detector. When omitted one is drawn and recorded in the
   * fitted state, so a saved model is reproducible.
   */
  seed?: number;
}

/** Typed arrays a snapshot can carry as binary files. */
export type SnapshotArray = Float64Array | Float32Array | Int32Array | Uint8Array;

/**
 * Everything needed to rebuild a fitted detector: JSON-safe parameters plus named binary arrays
 * and opaque files (the autoencoder's TF.js `model.json` and `weights.bin`). Never code.
 */
export interface DetectorSnapshot {
  className: string;
  options: Record<string, unknown>;
  /** JSON-safe fitted parameters. */
  params: Record<string, unknown>;
  arrays: Record<string, SnapshotArray>;
  files: Record<string, Uint8Array>;
}

/** State every fitted detector has. */
export interface FittedBase {
  nFeatures: number;
  threshold: number;
  seed: number;
  nTrainRows: number;
}

/** What `fitCore` returns. */
export interface FitResult<S> {
  state: S;
  /** Anomaly scores of the training rows (leave-one-out where the method needs it). */
  trainScores: Float64Array;
}

export abstract class BaseDetector<O extends BaseDetectorOptions, S> {
  /** Stable name, used as the JSON key in outputs and in saved models. */
  abstract readonly name: DetectorName;
  /** Options after defaults and validation. */
  readonly options: Readonly<Required<Omit<O, 'seed'>> & { seed?: number }>;

  private fitted?: { base: FittedBase; state: S };
  private lastTrainScores?: Float64Array;

  protected constructor(options: O, defaults: Required<Omit<O, 'seed'>>) {
    const merged = { ...defaults, ...stripUndefined(options) } as Required<Omit<O, 'seed'>> & { seed?: number };
    checkContamination(merged.contamination, this.constructor.name);
    if (merged.seed !== undefined) checkSeed(merged.seed, this.constructor.name);
    this.options = Object.freeze(merged);
  }

  /** Minimum number of training rows this detector needs with its options. */
  abstract minTrainRows(): number;
  /** Learn from scaled training rows; return state and the training rows' scores. */
  protected abstract fitCore(X: DenseMatrix, seed: number): Promise<FitResult<S>>;
  /** Scores of rows (already checked for width and finiteness). */
  protected abstract scoreCore(state: S, X: DenseMatrix): Float64Array;
  /** JSON params + arrays + files for persistence. */
  protected abstract exportCore(state: S): Omit<DetectorSnapshot, 'className' | 'options'>;
  /** Rebuild state from a snapshot written by {@link exportCore}. */
  protected abstract importCore(snapshot: DetectorSnapshot): S | Promise<S>;

  /**
   * Fit on training rows (rows x features, finite numbers; scale them first). Calibrates
   * `threshold` on the training scores from `contamination`.
   * @returns this detector, fitted
   * @throws DataValidationError for non-finite values or too few rows
   */
  async fit(X: MatrixLike): Promise<this> {
    const m = toDense(X, 'X');
    assertHasColumns(m);
    assertFinite(m, 'X');
    assertMinRows(m, this.minTrainRows(), this.constructor.name);
    const seed = this.options.seed ?? drawSeed();
    const { state, trainScores } = await this.fitCore(m, seed);
    assertFiniteScores(trainScores, this.constructor.name, m, 'training row');
    const threshold = calibrateThreshold(trainScores, this.options.contamination as Contamination);
    this.fitted = { base: { nFeatures: m.cols, threshold, seed, nTrainRows: m.rows }, state };
    this.lastTrainScores = trainScores;
    return this;
  }

  /** Whether `fit` (or a load) has happened. */
  get isFitted(): boolean {
    return this.fitted !== undefined;
  }

  /** Score above which a row is an anomaly, calibrated on the training scores. */
  get threshold(): number {
    return this.requireFitted().base.threshold;
  }

  /** Number of features seen in `fit`. */
  get nFeatures(): number {
    return this.requireFitted().base.nFeatures;
  }

  /** The seed used by `fit` (given or drawn). */
  get seed(): number {
    return this.requireFitted().base.seed;
  }

  /**
   * Anomaly scores of the training rows from the last `fit` (not kept by save/load).
   * @throws NotFittedError before fit, or after a load
   */
  get trainingScores(): Float64Array {
    this.requireFitted();
    if (!this.lastTrainScores) throw new NotFittedError(`${this.constructor.name}.trainingScores (not saved with the model)`);
    return this.lastTrainScores;
  }

  /** Fitted state for subclasses. */
  protected get state(): S {
    return this.requireFitted().state;
  }

  /**
   * Anomaly score per row: higher means more anomalous.
   * @throws NotFittedError, FeatureMismatchError, DataValidationError
   */
  anomalyScore(X: MatrixLike): Float64Array {
    const { state } = this.requireFitted();
    const m = this.checkInput(X);
    const scores = this.scoreCore(state, m);
    assertFiniteScores(scores, this.constructor.name, m, 'row');
    return scores;
  }

  /** 1 where `anomalyScore(X) > threshold`, else 0. */
  predict(X: MatrixLike): Uint8Array {
    return this.flag(this.anomalyScore(X));
  }

  /** 1 where a score is above this detector's threshold. */
  flag(scores: ArrayLike<number>): Uint8Array {
    const t = this.threshold;
    const out = new Uint8Array(scores.length);
    for (let i = 0; i < scores.length; i++) out[i] = scores[i] > t ? 1 : 0;
    return out;
  }

  /** Snapshot of the fitted detector for persistence. */
  exportSnapshot(): DetectorSnapshot {
    const { base, state } = this.requireFitted();
    const core = this.exportCore(state);
    return {
      className: this.constructor.name,
      options: { ...this.options },
      params: { ...core.params, base },
      arrays: core.arrays,
      files: core.files,
    };
  }

  /**
   * Restore fitted state from a snapshot (used by the class's static loader).
   * @throws ModelFormatError when the fitted numbers (features, threshold, seed, rows) are invalid
   */
  protected async restore(snapshot: DetectorSnapshot): Promise<this> {
    const base = checkFittedBase(snapshot.params?.base, this.constructor.name);
    const state = await this.importCore(snapshot);
    this.fitted = { base, state };
    return this;
  }

  /** Release native or GPU memory held by the detector (the autoencoder's tensors). */
  dispose(): void {}

  private requireFitted(): { base: FittedBase; state: S } {
    if (!this.fitted) throw new NotFittedError(this.constructor.name);
    return this.fitted;
  }

  private checkInput(X: MatrixLike): DenseMatrix {
    const m = toDense(X, 'X');
    const n = this.fitted!.base.nFeatures;
    if (m.cols !== n && !(m.rows === 0 && m.cols === 0)) throw new FeatureMismatchError(this.constructor.name, n, m.cols);
    assertFinite(m, 'X');
    return m;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as any)[k] = v;
  return out;
}

/**
 * Every score must be a finite number: a NaN would silently read as "normal" (NaN > threshold is
 * false) and an infinity breaks the ensemble's normalisation. A detector whose arithmetic
 * overflowed on extreme values is reported by row instead.
 * @throws DataValidationError naming the first row with a non-finite score
 */
export function assertFiniteScores(scores: ArrayLike<number>, owner: string, X: DenseMatrix, what: string): void {
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (v - v === 0) continue;
    let big = 0;
    for (let j = 0; j < X.cols; j++) big = Math.max(big, Math.abs(X.data[i * X.cols + j]));
    throw new DataValidationError(
      `${owner} computed a non-finite anomaly score (${v}) for this ${what}: its values (largest magnitude ${big.toPrecision(3)}) are beyond what the detector can compute with; scale the features first (AnomalyEnsemble does, and caps them).`,
      { row: i + 1 },
    );
  }
}

/** The fitted numbers every detector snapshot carries, checked. */
function checkFittedBase(b: unknown, owner: string): FittedBase {
  const o = b as Partial<FittedBase> | undefined;
  const isInt = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (typeof o !== 'object' || o === null) throw new ModelFormatError(`${owner} snapshot has no fitted parameters (params.base).`);
  if (!isInt(o.nFeatures, 1, 10_000_000)) throw new ModelFormatError(`${owner} snapshot: nFeatures ${JSON.stringify(o.nFeatures)} is not an integer in [1, 10000000].`);
  if (typeof o.threshold !== 'number' || !Number.isFinite(o.threshold)) throw new ModelFormatError(`${owner} snapshot: threshold ${JSON.stringify(o.threshold)} is not a finite number.`);
  if (!isInt(o.seed, 0, 0xffffffff)) throw new ModelFormatError(`${owner} snapshot: seed ${JSON.stringify(o.seed)} is not an integer in [0, 4294967295].`);
  if (!isInt(o.nTrainRows, 1)) throw new ModelFormatError(`${owner} snapshot: nTrainRows ${JSON.stringify(o.nTrainRows)} is not a positive integer.`);
  return { nFeatures: o.nFeatures!, threshold: o.threshold, seed: o.seed!, nTrainRows: o.nTrainRows! };
}
