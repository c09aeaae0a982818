/**
 * {@link AnomalyEnsemble}: a StandardScaler and several detectors (by default Isolation Forest,
 * kNN distance, HBOS and PCA; the `seed` preset: Isolation Forest, One-Class SVM, Local Outlier
 * Factor and the autoencoder; ECOD and COPOD on request) fitted on the same rows, combined per row into votes, a decision, confidence, severity
 * and a continuous ensemble score.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataValidationError, FeatureMismatchError, ModelFormatError, NotFittedError, optionError } from '../core/errors';
import type { BaseDetector, DetectorName, DetectorSnapshot } from '../core/detector';
import { toDense, type DenseMatrix, type MatrixLike } from '../core/matrix';
import {
  arrayToBytes,
  bytesToArray,
  checkPartEntry,
  type lockModelFolder,
  readManifest,
  readPart,
  writeModelFolder,
  type DType,
  type PartEntry,
} from '../core/persistence';
import { recordSeed } from '../core/provenance';
import { checkSeed, drawSeed, Random } from '../core/random';
import { calibrateThreshold, checkContamination, type Contamination } from '../core/threshold';
import { assertFinite } from '../core/validation';
import { encodeTraffic, type TrafficData } from '../data/csv';
import { TrafficEncoder, type TrafficEncoderState } from '../data/encoder';
import { checkDatasetSchema, type DatasetSchema } from '../data/schema';
import { Autoencoder, type AutoencoderEpochInfo, type AutoencoderOptions } from '../detectors/autoencoder';
import { fusedWorkerFile, type FusedWorkerRun } from '../detectors/autoencoder-fused';
import { IsolationForest, type IsolationForestOptions } from '../detectors/isolation-forest';
import { LocalOutlierFactor, type LocalOutlierFactorOptions } from '../detectors/local-outlier-factor';
import { OneClassSvm, type OneClassSvmOptions } from '../detectors/one-class-svm';
import { KNearestNeighbors, type KNearestNeighborsOptions } from '../detectors/knn';
import { Ecod } from '../detectors/ecod';
import { Copod } from '../detectors/copod';
import { Hbos, type HbosOptions } from '../detectors/hbos';
import { Pca, type PcaOptions } from '../detectors/pca';
import { holdRunningThreads, reserveThreads, startWorkers, threadCount } from '../compute/parallel';
import { StandardScaler, type StandardScalerState } from '../preprocess/standard-scaler';
import {
  AGREEMENT_FLOOR,
  AGREEMENT_POWER,
  agreementWeights,
  confidence as confidenceOf,
  countVotes,
  fuseScores,
  majorityVote,
  normalizeScores,
  scoreStats,
  severity as severityOf,
  topCount,
  topMeanScores,
  type Fusion,
  type Normalization,
  type ScoreStats,
  type Severity,
} from './combine';

/** All detector names, in the ensemble's fixed order. */
export const DETECTOR_NAMES: readonly DetectorName[] = [
  'isolationForest',
  'oneClassSvm',
  'localOutlierFactor',
  'autoencoder',
  'knn',
  'ecod',
  'copod',
  'hbos',
  'pca',
];

/** The seed application's four detectors (the `seed` preset's, and every ensemble's before issue 12). */
export const SEED_DETECTORS: readonly DetectorName[] = ['isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder'];

/**
 * The default ensemble's detectors: the four with the highest mean ROC-AUC on the tuning half of the
 * quality benchmark (bench/quality.mjs, bench/combinations.mjs; results/QUALITY.md), each alone:
 * k-Nearest Neighbours distance 0.777, Isolation Forest 0.771, PCA 0.771, HBOS 0.763 (then COPOD
 * 0.757, ECOD 0.736, LOF 0.715, autoencoder 0.675, One-Class SVM 0.659; 15 datasets). Fused with
 * equal weights, the four score 0.795 on the tuning half and 0.759 on the held-out half, against
 * 0.762 and 0.753 for the seed's four plus COPOD and HBOS with agreement weights (the default before)
 * on the same fitted detectors. With this normalisation, adding a weaker detector to the mean pulled
 * it down more often than it helped, whichever weighting was tried (results/QUALITY_COMBINATIONS.md).
 * Every detector stays available with `detectors`, and the `seed` preset keeps the seed's four.
 */
export const DEFAULT_DETECTORS: readonly DetectorName[] = ['isolationForest', 'knn', 'hbos', 'pca'];

/**
 * The default neighbours of kNN distance (a default member) and of LOF (when it is used): k = 20, 50,
 * 100 and 200 (each capped at the training rows - 1), from one search at k = 200; kNN's score is
 * the mean over the k of each k-th distance divided by its training median, LOF's the mean of the
 * LOFs. One k fits one scale: k = 20 misses the seed data's clusters of 50-75 anomalies (LOF ROC-AUC
 * 0.385), k = 200 misses a sparse attack class that k = 20 finds (issue 12).
 */
export const DEFAULT_LOF_NEIGHBORS: readonly number[] = [20, 50, 100, 200];

/** Human-readable detector names for tables and charts. */
export const DETECTOR_LABELS: Readonly<Record<DetectorName, string>> = {
  isolationForest: 'Isolation Forest',
  oneClassSvm: 'One-Class SVM',
  localOutlierFactor: 'Local Outlier Factor',
  autoencoder: 'Autoencoder',
  knn: 'k-Nearest Neighbours',
  ecod: 'ECOD',
  copod: 'COPOD',
  hbos: 'HBOS',
  pca: 'PCA',
};

/** How the ensemble turns per-detector results into its decision. */
export type Decision = 'vote' | 'score';

/** Named configurations. */
export type Preset = 'default' | 'seed';

/**
 * Progress events during {@link AnomalyEnsemble.fit}, always in the sequential order: for each
 * detector `detector-start`, (the autoencoder's `epoch` events,) `detector-end`. When the
 * autoencoder's fused engine trains in a worker thread concurrently with the other detectors
 * (running from `dist/` with more than one thread; `NAL_THREADS=1` turns it off), its epochs are
 * held back until its `detector-start`, and its `detector-end` seconds are the wall-clock time of
 * its whole training, which overlapped the other detectors' fits (so the seconds of the four
 * detectors can add up to more than the fit's).
 */
export type FitProgress =
  | { stage: 'detector-start'; detector: DetectorName; index: number; total: number }
  | { stage: 'detector-end'; detector: DetectorName; index: number; total: number; seconds: number }
  | { stage: 'epoch'; detector: 'autoencoder'; epoch: number; epochs: number; loss: number; valLoss?: number; seconds: number };

/** Options of {@link AnomalyEnsemble}. */
export interface EnsembleOptions {
  /**
   * Start from a named configuration; explicit options override it. `seed` reproduces the seed
   * application exactly (2-of-4 vote, LOF k = 20, contamination 0.15).
   * @defaultValue "default"
   */
  preset?: Preset;
  /** Expected anomaly share in (0, 0.5], or `"auto"`; passed to every detector. @defaultValue 0.15 */
  contamination?: Contamination;
  /** Seed of every random choice; detectors get sub-seeds drawn from it. Drawn and recorded when omitted. */
  seed?: number;
  /**
   * Which detectors to use (any of {@link DETECTOR_NAMES}).
   * @defaultValue {@link DEFAULT_DETECTORS}: Isolation Forest, k-Nearest Neighbours, HBOS and PCA (the `seed` preset: the seed's four)
   */
  detectors?: readonly DetectorName[];
  /**
   * `"vote"`: anomaly when at least `minVotes` detectors flag the row. `"score"`: anomaly when the
   * fused ensemble score is above its threshold calibrated on training rows (more accurate on every
   * dataset measured; see the README).
   * @defaultValue "score" (the `seed` preset: "vote")
   */
  decision?: Decision;
  /** Votes needed for an anomaly with `decision: "vote"`. @defaultValue half the detectors, rounded up (2 of the default 4; the `seed` preset: 2 of 4) */
  minVotes?: number;
  /**
   * Score normalisation before fusion (training-score statistics; see {@link normalizeScores}).
   * `"robust-log"` keeps a detector with a heavy-tailed score from outvoting the others by size.
   * @defaultValue "robust-log" (the `seed` preset: "robust")
   */
  normalization?: Normalization;
  /**
   * How the normalised scores are fused (see {@link Fusion}): `"mean"`, the mean weighted by
   * `weights`; or `"top"`, per row the mean of the highest third of them (2 of the default 4), so
   * no detector can be silenced even by weights. On the tuning half of the quality benchmark `top`
   * (of the default four) scores below the equal-weight mean (results/QUALITY_COMBINATIONS.md).
   * @defaultValue "mean" (also whenever `weights` is given)
   */
  fusion?: Fusion;
  /**
   * Fusion weights of the detectors' normalised scores with `fusion: "mean"`: `"agreement"` learns
   * them without labels from how well each detector's training-score ranking agrees with the
   * others' (see {@link agreementWeights}); `"equal"`; or fixed numbers per detector. `fusion:
   * "top"` takes no weights (only `"equal"`, which it reports). With the default four detectors,
   * equal weights score 0.7953 / 0.7586 on the tuning / held-out halves of the quality benchmark,
   * agreement weights with the floor 0.7901 / 0.7588: better on the tuning half, the same held out,
   * and no detector can be silenced.
   * @defaultValue "equal"
   */
  weights?: 'agreement' | 'equal' | Partial<Record<DetectorName, number>>;
  /**
   * With `weights: "agreement"`, the share of the weight spread equally over the detectors, in
   * [0, 1]: each keeps at least `agreementFloor / k` of the say however much it disagrees with the
   * others (see {@link agreementWeights}). 0 gives agreement alone, the behaviour before issue 12,
   * which follows the consensus more closely (KDD'99 http: ROC-AUC 0.9967 instead of 0.9954 at
   * 20,000 training rows) but can silence the one detector that is right.
   * @defaultValue {@link AGREEMENT_FLOOR} (0.5)
   */
  agreementFloor?: number;
  isolationForest?: Omit<IsolationForestOptions, 'contamination' | 'seed'>;
  oneClassSvm?: Omit<OneClassSvmOptions, 'contamination' | 'seed'>;
  localOutlierFactor?: Omit<LocalOutlierFactorOptions, 'contamination' | 'seed'>;
  autoencoder?: Omit<AutoencoderOptions, 'contamination' | 'seed'>;
  knn?: Omit<KNearestNeighborsOptions, 'contamination' | 'seed'>;
  hbos?: Omit<HbosOptions, 'contamination' | 'seed'>;
  pca?: Omit<PcaOptions, 'contamination' | 'seed'>;
  /** Called as fitting progresses (per detector, and per autoencoder epoch). Not saved. */
  onProgress?: (p: FitProgress) => void;
}

/** Options after presets and defaults. */
export interface ResolvedEnsembleOptions {
  preset: Preset;
  contamination: Contamination;
  seed?: number;
  detectors: DetectorName[];
  decision: Decision;
  minVotes: number;
  normalization: Normalization;
  fusion: Fusion;
  weights: 'agreement' | 'equal' | Record<DetectorName, number>;
  agreementFloor: number;
  isolationForest: Omit<IsolationForestOptions, 'contamination' | 'seed'>;
  oneClassSvm: Omit<OneClassSvmOptions, 'contamination' | 'seed'>;
  localOutlierFactor: Omit<LocalOutlierFactorOptions, 'contamination' | 'seed'>;
  autoencoder: Omit<AutoencoderOptions, 'contamination' | 'seed'>;
  knn: Omit<KNearestNeighborsOptions, 'contamination' | 'seed'>;
  hbos: Omit<HbosOptions, 'contamination' | 'seed'>;
  pca: Omit<PcaOptions, 'contamination' | 'seed'>;
}

/** Preset values (before user overrides). */
export const PRESETS: Readonly<Record<Preset, Partial<EnsembleOptions>>> = {
  default: {
    contamination: 0.15,
    detectors: DEFAULT_DETECTORS,
    decision: 'score',
    normalization: 'robust-log',
    fusion: 'mean',
    weights: 'equal',
    localOutlierFactor: { nNeighbors: DEFAULT_LOF_NEIGHBORS },
    knn: { nNeighbors: DEFAULT_LOF_NEIGHBORS },
  },
  seed: {
    contamination: 0.15,
    detectors: SEED_DETECTORS,
    decision: 'vote',
    minVotes: 2,
    normalization: 'robust',
    fusion: 'mean',
    weights: 'equal',
    localOutlierFactor: { nNeighbors: 20 },
  },
};

/** Per-row results of {@link AnomalyEnsemble.detect}, column-wise. */
export interface DetectionResult {
  /** Detectors in the ensemble, in output order. */
  detectors: DetectorName[];
  /** Each detector's anomaly score (higher = more anomalous). */
  scores: Partial<Record<DetectorName, Float64Array>>;
  /** Each detector's vote (1 = score above its training threshold). */
  votes: Partial<Record<DetectorName, Uint8Array>>;
  /** Number of detectors voting anomaly. */
  voteCount: Uint8Array;
  /** The ensemble decision (1 = anomaly). */
  isAnomaly: Uint8Array;
  /** Share of detectors agreeing with the decision. */
  confidence: Float64Array;
  /** `none` for normal rows, else `low`/`medium`/`high` from the votes. */
  severity: Severity[];
  /** Fused normalised score, for ranking and ROC curves (higher = more anomalous). */
  ensembleScore: Float64Array;
  /** Threshold of `ensembleScore` calibrated on training rows. */
  ensembleThreshold: number;
}

interface FittedEnsemble {
  featureNames: string[];
  /** How the training file was laid out, when fitted on loaded traffic (saved with the model). */
  schema?: DatasetSchema;
  /** The encoder of the training rows' categorical columns (saved with the model). */
  encoder?: TrafficEncoder;
  scaler: StandardScaler;
  detectors: Map<DetectorName, BaseDetector<any, any>>;
  stats: Map<DetectorName, ScoreStats>;
  /** Fusion weight per detector (sums to 1). */
  weights: Map<DetectorName, number>;
  ensembleThreshold: number;
  seed: number;
  nTrainRows: number;
  /** Scaled training rows' fused scores and votes, kept in memory after fit (not saved). */
  training?: DetectionResult;
}

/** Format written to manifest.json. */
export const MODEL_FORMAT = 'network-anomaly-lab/ensemble';
/**
 * Current model folder format version; loading refuses newer ones. 2 (issue 12): detectors beyond
 * the seed's four, LOF with several k, the encoder's log-scaling floors; folders of version 1 load
 * as before (an older library refuses version 2 with a message to upgrade).
 */
export const MODEL_FORMAT_VERSION = 2;

/** Input accepted by fit and detect. */
export type EnsembleInput = TrafficData | MatrixLike;

function isTrafficData(x: unknown): x is TrafficData {
  return typeof x === 'object' && x !== null && Array.isArray((x as TrafficData).features) && 'X' in (x as object);
}

/** Resolve presets, defaults and validation into the full option set. */
export function resolveEnsembleOptions(options: EnsembleOptions = {}): ResolvedEnsembleOptions {
  const presetName = options.preset ?? 'default';
  if (!(presetName in PRESETS)) throw optionError('AnomalyEnsemble', 'preset', `one of ${Object.keys(PRESETS).join(', ')}`, presetName);
  const p = PRESETS[presetName];
  const pick = <K extends keyof EnsembleOptions>(k: K): EnsembleOptions[K] => (options[k] !== undefined ? options[k] : p[k]);
  const detectors = [...(pick('detectors') ?? DEFAULT_DETECTORS)];
  if (detectors.length === 0 || detectors.some((d) => !DETECTOR_NAMES.includes(d)) || new Set(detectors).size !== detectors.length) {
    throw optionError('AnomalyEnsemble', 'detectors', `a non-empty list of distinct names from ${DETECTOR_NAMES.join(', ')}`, detectors);
  }
  detectors.sort((a, b) => DETECTOR_NAMES.indexOf(a) - DETECTOR_NAMES.indexOf(b));
  const contamination = checkContamination(pick('contamination') ?? 0.15, 'AnomalyEnsemble');
  const decision = pick('decision') ?? 'score';
  if (decision !== 'vote' && decision !== 'score') throw optionError('AnomalyEnsemble', 'decision', '"vote" or "score"', decision);
  const minVotes = pick('minVotes') ?? Math.ceil(detectors.length / 2);
  if (!Number.isInteger(minVotes) || minVotes < 1 || minVotes > detectors.length) {
    throw optionError('AnomalyEnsemble', 'minVotes', `an integer in [1, ${detectors.length}]`, minVotes);
  }
  const normalization = pick('normalization') ?? 'robust-log';
  if (normalization !== 'robust' && normalization !== 'zscore' && normalization !== 'robust-log') {
    throw optionError('AnomalyEnsemble', 'normalization', '"robust", "robust-log" or "zscore"', normalization);
  }
  // weights given without a fusion mean the weighted mean (as before the `top` fusion existed: a
  // saved model without `fusion` loads as it was fitted)
  const fusion = options.fusion ?? (options.weights !== undefined ? 'mean' : (p.fusion ?? 'mean'));
  if (fusion !== 'top' && fusion !== 'mean') throw optionError('AnomalyEnsemble', 'fusion', '"top" or "mean"', fusion);
  const wOpt = options.weights ?? (fusion === 'top' ? 'equal' : (p.weights ?? 'equal'));
  if (fusion === 'top' && wOpt !== 'equal') throw optionError('AnomalyEnsemble', 'weights', '"equal" with fusion "top" (weights apply to fusion "mean")', wOpt);
  let weights: ResolvedEnsembleOptions['weights'];
  if (wOpt === 'agreement' || wOpt === 'equal') weights = wOpt;
  else if (typeof wOpt === 'object' && wOpt !== null) {
    weights = {} as Record<DetectorName, number>;
    for (const d of DETECTOR_NAMES) {
      const w = wOpt[d] ?? 1;
      if (typeof w !== 'number' || !(w >= 0) || !Number.isFinite(w)) throw optionError('AnomalyEnsemble', `weights.${d}`, 'a finite number >= 0', w);
      weights[d] = w;
    }
    if (!detectors.some((d) => (weights as Record<DetectorName, number>)[d] > 0)) {
      throw optionError('AnomalyEnsemble', 'weights', 'positive for at least one detector in use', wOpt);
    }
  } else throw optionError('AnomalyEnsemble', 'weights', '"agreement", "equal" or numbers per detector', wOpt);
  if (options.seed !== undefined) checkSeed(options.seed, 'AnomalyEnsemble');
  const agreementFloor = pick('agreementFloor') ?? AGREEMENT_FLOOR;
  if (typeof agreementFloor !== 'number' || !(agreementFloor >= 0 && agreementFloor <= 1)) {
    throw optionError('AnomalyEnsemble', 'agreementFloor', 'a number in [0, 1]', agreementFloor);
  }
  return {
    preset: presetName,
    contamination,
    seed: options.seed,
    detectors,
    decision,
    minVotes,
    normalization,
    fusion,
    weights,
    agreementFloor,
    isolationForest: { ...p.isolationForest, ...options.isolationForest },
    oneClassSvm: { ...p.oneClassSvm, ...options.oneClassSvm },
    localOutlierFactor: { ...p.localOutlierFactor, ...options.localOutlierFactor },
    autoencoder: { ...p.autoencoder, ...options.autoencoder },
    knn: { ...p.knn, ...options.knn },
    hbos: { ...p.hbos, ...options.hbos },
    pca: { ...p.pca, ...options.pca },
  };
}

/**
 * The ensemble (four detectors by default; any of {@link DETECTOR_NAMES} with `detectors`).
 * @example
 * ```ts
 * const data = loadTraffic('data/sample_network_traffic.csv');
 * const ens = await new AnomalyEnsemble({ contamination: 0.15, seed: 42 }).fit(data);
 * const r = ens.detect(data);
 * r.isAnomaly; // 1 per anomalous row
 * await ens.save('models/demo');
 * ```
 */
export class AnomalyEnsemble {
  readonly options: ResolvedEnsembleOptions;
  private readonly onProgress?: (p: FitProgress) => void;
  private fitted?: FittedEnsemble;
  private times: { fit: Partial<Record<DetectorName, number>>; score: Partial<Record<DetectorName, number>> } = { fit: {}, score: {} };

  constructor(options: EnsembleOptions = {}) {
    this.options = resolveEnsembleOptions(options);
    this.onProgress = options.onProgress;
  }

  /**
   * Fit the scaler and every detector on the same rows, then calibrate each detector's threshold
   * and the ensemble-score threshold on the training rows. Running from `dist/` with more than
   * one thread, the autoencoder's fused training runs in a worker thread while the other detectors
   * fit (same results as a fit on this thread; see {@link FitProgress} for the events).
   * @param data - traffic from {@link loadTraffic} / {@link generateTraffic}, or a numeric matrix
   * @param featureNames - names of the matrix columns when `data` is a plain matrix
   */
  async fit(data: EnsembleInput, featureNames?: readonly string[]): Promise<this> {
    // several detectors' jobs follow: the worker threads boot while the data is checked and scaled,
    // so that none of the jobs runs alone because the workers were not up yet (threadsForWork)
    startWorkers();
    const { X, names } = this.unpack(data, featureNames);
    assertFinite(X, 'training data', names);
    const seed = this.options.seed ?? drawSeed();
    recordSeed('AnomalyEnsemble.fit', seed);
    const rng = new Random(seed);
    // the seed application's four detectors draw their seeds first, as they always have; the others
    // are deterministic and take the ensemble's seed, so they leave the generator's stream alone
    const subSeeds = Object.fromEntries(DETECTOR_NAMES.map((d) => [d, seed])) as Record<DetectorName, number>;
    for (const d of SEED_DETECTORS) subSeeds[d] = rng.nextSeed();
    const scaler = new StandardScaler().fit(X);
    const Xs = scaler.transform(X);
    const fittedDetectors = await this.fitDetectors(Xs, subSeeds, X.rows);
    // maps in the ensemble's detector order, whatever order the fits finished in
    const detectors = new Map<DetectorName, BaseDetector<any, any>>();
    const stats = new Map<DetectorName, ScoreStats>();
    for (const name of this.options.detectors) {
      const det = fittedDetectors.get(name)!;
      detectors.set(name, det);
      stats.set(name, scoreStats(det.trainingScores, det.threshold));
    }
    const trainScores = new Map<DetectorName, Float64Array>();
    for (const [name, det] of detectors) trainScores.set(name, det.trainingScores);
    const partial: FittedEnsemble = {
      featureNames: names,
      schema: isTrafficData(data) ? savedSchema(data.schema, data.encoder) : undefined,
      encoder: isTrafficData(data) ? data.encoder : undefined,
      scaler,
      detectors,
      stats,
      weights: this.fitWeights(trainScores, rng),
      ensembleThreshold: NaN,
      seed,
      nTrainRows: X.rows,
    };
    const fusedTrain = this.fuse(partial, trainScores);
    partial.ensembleThreshold = calibrateThreshold(fusedTrain, this.options.contamination);
    partial.training = this.combine(partial, trainScores, fusedTrain);
    this.fitted = partial;
    return this;
  }

  /**
   * Fit every detector on the scaled rows. With more than one thread ({@link threadCount}; the
   * environment variable `NAL_THREADS=1` turns this off) and the compiled worker script present
   * (running from `dist/`), the autoencoder's fused engine trains in a worker thread while the
   * other detectors fit on this one (their parallel kernels use one thread fewer meanwhile, see
   * {@link reserveThreads}); its results are bit-identical to a fit on this thread.
   * Progress events keep the sequential order (the autoencoder's epochs are held back until its
   * `detector-start`, which follows the other detectors'); its `detector-end` seconds are the
   * wall-clock time of its whole training, which overlapped the others.
   */
  private async fitDetectors(Xs: DenseMatrix, subSeeds: Record<DetectorName, number>, nRows: number): Promise<Map<DetectorName, BaseDetector<any, any>>> {
    const names = this.options.detectors;
    const total = names.length;
    const fitted = new Map<DetectorName, BaseDetector<any, any>>();
    const fitSeconds: Partial<Record<DetectorName, number>> = {};
    this.times = { fit: fitSeconds, score: {} };
    // epochs wait here while the autoencoder trains ahead of its turn (undefined: relay at once)
    let held: AutoencoderEpochInfo[] | undefined;
    const relay = (info: AutoencoderEpochInfo): void => {
      if (held) held.push(info);
      else this.emitEpoch(info);
    };
    let ahead: { det: BaseDetector<any, any>; t0: number; done: Promise<unknown>; run?: FusedWorkerRun } | undefined;
    // while the autoencoder trains in its worker, the other detectors' kernels leave it its core
    let release = (): void => {};
    if (names.includes('autoencoder') && names.length > 1 && threadCount() > 1 && fusedWorkerFile() !== undefined) {
      const det = this.makeDetector('autoencoder', subSeeds.autoencoder, nRows, relay) as Autoencoder;
      let onStarted!: () => void;
      const started = new Promise<void>((resolve) => (onStarted = resolve));
      const job = { det, t0: performance.now(), done: Promise.resolve() as Promise<unknown>, run: undefined as FusedWorkerRun | undefined };
      det.workerHooks = {
        started: (run) => {
          job.run = run;
          onStarted();
        },
      };
      held = [];
      job.done = det.fit(Xs);
      job.done.catch(() => {}); // handled when awaited below
      // wait until the training runs in the worker (or, when it cannot, has run here)
      await Promise.race([started, job.done.then(() => {}, () => {})]);
      ahead = job;
      if (job.run) {
        release = reserveThreads(1);
        // the worker runs until its training ends: not another process's load
        const running = holdRunningThreads(1);
        job.done.then(running, running);
      }
    }
    try {
      for (const [index, name] of names.entries()) {
        this.onProgress?.({ stage: 'detector-start', detector: name, index, total });
        if (ahead && name === 'autoencoder') {
          release();
          // this thread only waits from here on: a helper worker takes its core for the rest of the training
          if (threadCount() > 1) ahead.run?.addHelper();
          const pending = held!;
          held = undefined;
          for (const info of pending) this.emitEpoch(info);
          await ahead.done;
          fitted.set(name, ahead.det);
          const seconds = (performance.now() - ahead.t0) / 1000;
          ahead = undefined;
          fitSeconds[name] = seconds;
          this.onProgress?.({ stage: 'detector-end', detector: name, index, total, seconds });
          continue;
        }
        const t0 = performance.now();
        const det = this.makeDetector(name, subSeeds[name], nRows, relay);
        await det.fit(Xs);
        fitted.set(name, det);
        fitSeconds[name] = (performance.now() - t0) / 1000;
        this.onProgress?.({ stage: 'detector-end', detector: name, index, total, seconds: fitSeconds[name]! });
      }
    } finally {
      release();
      // another detector failed (or a progress callback threw): stop the worker
      ahead?.run?.cancel();
    }
    return fitted;
  }

  private emitEpoch(info: AutoencoderEpochInfo): void {
    this.options.autoencoder.onEpochEnd?.(info);
    this.onProgress?.({ stage: 'epoch', detector: 'autoencoder', ...info });
  }

  /** Whether the ensemble is fitted (or loaded). */
  get isFitted(): boolean {
    return this.fitted !== undefined;
  }

  /** Feature names the ensemble was fitted with. */
  get featureNames(): string[] {
    return [...this.require().featureNames];
  }

  /**
   * The dataset description of the training data (when fitted on {@link TrafficData} read with a
   * schema), saved with the model so that new files are read the same way.
   */
  get schema(): DatasetSchema | undefined {
    return this.require().schema;
  }

  /**
   * The encoder of the training rows' categorical columns, saved with the model: traffic passed to
   * {@link detect} as {@link TrafficData} is re-encoded with it (unseen categories become all-zero
   * blocks). Load files with `loadTraffic(path, { schema: ens.schema, encoder: ens.encoder })` to
   * see the unseen-category warnings.
   */
  get encoder(): TrafficEncoder | undefined {
    return this.require().encoder;
  }

  /** The seed used by fit (given or drawn). */
  get seed(): number {
    return this.require().seed;
  }

  /** The fitted scaler. */
  get scaler(): StandardScaler {
    return this.require().scaler;
  }

  /** Threshold of the fused ensemble score. */
  get ensembleThreshold(): number {
    return this.require().ensembleThreshold;
  }

  /** Number of training rows. */
  get nTrainRows(): number {
    return this.require().nTrainRows;
  }

  /** A fitted detector by name. */
  detector(name: DetectorName): BaseDetector<any, any> {
    const d = this.require().detectors.get(name);
    if (!d) throw new RangeError(`This ensemble has no '${name}' detector (it uses ${this.options.detectors.join(', ')}).`);
    return d;
  }

  /** Training-score statistics of a detector (used for normalisation). */
  stats(name: DetectorName): ScoreStats {
    const s = this.require().stats.get(name);
    if (!s) throw new RangeError(`This ensemble has no '${name}' detector.`);
    return s;
  }

  /**
   * Results on the training rows from the last fit (kept in memory only).
   * @throws NotFittedError after a load
   */
  get trainingResult(): DetectionResult {
    const t = this.require().training;
    if (!t) throw new NotFittedError('AnomalyEnsemble.trainingResult (not saved with the model)');
    return t;
  }

  /** Standardise rows with the fitted scaler after checking names and values. */
  scale(data: EnsembleInput, featureNames?: readonly string[]): DenseMatrix {
    const f = this.require();
    const { X, names } = this.unpack(this.encodeLike(data), featureNames ?? f.featureNames);
    this.checkFeatures(X, names);
    assertFinite(X, 'data', names);
    return capScaled(f.scaler.transform(X));
  }

  /**
   * Score rows: every detector's score and vote, the vote count, the decision, confidence,
   * severity and the fused ensemble score. Thresholds come from training; a single row is scored
   * exactly as it would be inside a batch.
   */
  detect(data: EnsembleInput, featureNames?: readonly string[]): DetectionResult {
    return this.detectScaled(this.scale(data, featureNames));
  }

  /**
   * Traffic read with another encoder (or with none) is encoded again from its raw cells with this
   * model's encoder, so that its columns are the model's.
   */
  private encodeLike(data: EnsembleInput): EnsembleInput {
    const f = this.require();
    if (!f.encoder || !isTrafficData(data) || data.encoder === f.encoder || !data.schema) return data;
    const same = data.features.length === f.featureNames.length && data.features.every((n, j) => n === f.featureNames[j]);
    return same ? data : encodeTraffic(data, f.encoder);
  }

  /** Detect on already-standardised rows (used by explainability and streaming). */
  detectScaled(Xs: DenseMatrix): DetectionResult {
    const f = this.require();
    const scores = new Map<DetectorName, Float64Array>();
    const seconds: Partial<Record<DetectorName, number>> = {};
    for (const [name, det] of f.detectors) {
      const t0 = performance.now();
      scores.set(name, det.anomalyScore(Xs));
      seconds[name] = (performance.now() - t0) / 1000;
    }
    this.times.score = seconds;
    return this.combine(f, scores);
  }

  /**
   * Seconds each detector took in the last `fit` (the autoencoder's wall-clock time, which can
   * overlap the others', see {@link FitProgress}) and in the last `detect` (scaling and fusion not
   * included). For benchmarks; not saved.
   */
  get timings(): { fit: Partial<Record<DetectorName, number>>; score: Partial<Record<DetectorName, number>> } {
    return { fit: { ...this.times.fit }, score: { ...this.times.score } };
  }

  /** Per-row results from detector scores; `fused` when the ensemble score is already computed. */
  private combine(f: FittedEnsemble, scores: Map<DetectorName, Float64Array>, fused?: Float64Array): DetectionResult {
    const names = [...f.detectors.keys()];
    const votes = new Map<DetectorName, Uint8Array>();
    for (const name of names) votes.set(name, f.detectors.get(name)!.flag(scores.get(name)!));
    const voteCount = countVotes(names.map((n) => votes.get(n)!));
    const ensembleScore = fused ?? this.fuse(f, scores);
    assertFiniteFused(ensembleScore, scores);
    const isAnomaly =
      this.options.decision === 'vote'
        ? majorityVote(voteCount, this.options.minVotes)
        : Uint8Array.from(ensembleScore, (s) => (s > f.ensembleThreshold ? 1 : 0));
    return {
      detectors: names,
      scores: Object.fromEntries(scores),
      votes: Object.fromEntries(votes),
      voteCount,
      isAnomaly,
      confidence: confidenceOf(voteCount, isAnomaly, names.length),
      severity: severityOf(voteCount, isAnomaly, names.length),
      ensembleScore,
      ensembleThreshold: f.ensembleThreshold,
    };
  }

  private fuse(f: Pick<FittedEnsemble, 'stats' | 'weights'>, scores: Map<DetectorName, Float64Array>): Float64Array {
    const names = [...scores.keys()];
    const cols = names.map((n) => normalizeScores(scores.get(n)!, f.stats.get(n)!, this.options.normalization));
    if (this.options.fusion === 'top') return topMeanScores(cols, topCount(cols.length));
    return fuseScores(
      cols,
      names.map((n) => f.weights.get(n)!),
    );
  }

  /** Fusion weights from the option: learned from training-score agreement, equal, or given. */
  private fitWeights(trainScores: Map<DetectorName, Float64Array>, rng: Random): Map<DetectorName, number> {
    const names = [...trainScores.keys()];
    const w = this.options.weights;
    let raw: number[];
    if (w === 'agreement') {
      // rank correlations on at most 20,000 seeded rows: plenty for a stable estimate
      const n = trainScores.get(names[0])!.length;
      const idx = n > 20000 ? rng.sampleIndices(n, 20000) : undefined;
      const cols = names.map((d) => (idx ? Float64Array.from(idx, (i) => trainScores.get(d)![i]) : trainScores.get(d)!));
      raw = agreementWeights(cols, AGREEMENT_POWER, this.options.agreementFloor);
    } else if (w === 'equal') raw = names.map(() => 1);
    else raw = names.map((d) => w[d]);
    const sum = raw.reduce((a, b) => a + b, 0);
    return new Map(names.map((d, i) => [d, raw[i] / sum]));
  }

  /** Fusion weight of each detector (sums to 1), learned at fit for `weights: "agreement"`. */
  get weights(): Partial<Record<DetectorName, number>> {
    return Object.fromEntries(this.require().weights);
  }

  private makeDetector(name: DetectorName, seed: number, nRows: number, onEpochEnd: (info: AutoencoderEpochInfo) => void): BaseDetector<any, any> {
    const c = this.options.contamination;
    switch (name) {
      case 'isolationForest':
        return new IsolationForest({ ...this.options.isolationForest, contamination: c, seed });
      case 'oneClassSvm':
        return new OneClassSvm({ ...this.options.oneClassSvm, contamination: c, seed });
      case 'localOutlierFactor': {
        // k is capped at n - 1 so that small training sets still work with the default k (the
        // detector caps each k of a list itself; its smallest must leave a neighbour)
        const k = this.options.localOutlierFactor.nNeighbors;
        const cap = (x: number) => Math.max(1, Math.min(x, nRows - 1));
        const nNeighbors = k === undefined ? undefined : typeof k === 'number' ? cap(k) : k.map(cap);
        return new LocalOutlierFactor({ ...this.options.localOutlierFactor, nNeighbors, contamination: c, seed });
      }
      case 'autoencoder': {
        return new Autoencoder({ ...this.options.autoencoder, contamination: c, seed, onEpochEnd });
      }
      case 'knn': {
        const k = this.options.knn.nNeighbors;
        const cap = (x: number) => Math.max(1, Math.min(x, nRows - 1));
        const nNeighbors = k === undefined ? undefined : typeof k === 'number' ? cap(k) : k.map(cap);
        return new KNearestNeighbors({ ...this.options.knn, nNeighbors, contamination: c, seed });
      }
      case 'ecod':
        return new Ecod({ contamination: c, seed });
      case 'copod':
        return new Copod({ contamination: c, seed });
      case 'hbos':
        return new Hbos({ ...this.options.hbos, contamination: c, seed });
      case 'pca':
        return new Pca({ ...this.options.pca, contamination: c, seed });
    }
  }

  private unpack(data: EnsembleInput, featureNames?: readonly string[]): { X: DenseMatrix; names: string[] } {
    if (isTrafficData(data)) return { X: data.X, names: [...data.features] };
    const X = toDense(data, 'X');
    const names = featureNames ? [...featureNames] : Array.from({ length: X.cols }, (_, j) => `x${j}`);
    if (names.length !== X.cols) throw new FeatureMismatchError('featureNames', names.length, X.cols);
    return { X, names };
  }

  private checkFeatures(X: DenseMatrix, names: string[]): void {
    const expected = this.require().featureNames;
    if (X.cols !== expected.length) {
      throw new FeatureMismatchError('AnomalyEnsemble', expected.length, X.cols, describeNameDiff(expected, names));
    }
    if (names.some((n, j) => n !== expected[j])) {
      throw new FeatureMismatchError('AnomalyEnsemble', expected.length, X.cols, describeNameDiff(expected, names) || 'the feature columns are in another order');
    }
  }

  private require(): FittedEnsemble {
    if (!this.fitted) throw new NotFittedError('AnomalyEnsemble');
    return this.fitted;
  }

  /**
   * Save to a folder: `manifest.json` (format, version, options, feature names, scaler, thresholds,
   * detector parameters, checksums) plus binary parts, the autoencoder as TF.js `model.json` +
   * `weights.bin`. Atomic: an existing model in the folder stays loadable until the new one is
   * complete, and a save that fails (a full disk) leaves the folder as it was. One process writes a
   * folder at a time (its lock file, see {@link lockModelFolder}).
   * @throws PathError when `dir` holds anything but a model of ours; FolderInUseError while
   *   another process writes it
   */
  async save(dir: string, metadata: Record<string, unknown> = {}): Promise<void> {
    const f = this.require();
    const groups: Record<string, Record<string, Uint8Array>> = {};
    const snaps = new Map<DetectorName, DetectorSnapshot>();
    const dtypes = new Map<DetectorName, Record<string, DType>>();
    for (const [name, det] of f.detectors) {
      const s = det.exportSnapshot();
      snaps.set(name, s);
      const parts: Record<string, Uint8Array> = {};
      const dt: Record<string, DType> = {};
      for (const [k, a] of Object.entries(s.arrays)) {
        const { dtype, bytes } = arrayToBytes(a);
        parts[`${k}.bin`] = bytes;
        dt[k] = dtype;
      }
      for (const [k, bytes] of Object.entries(s.files)) parts[k] = bytes;
      groups[name] = parts;
      dtypes.set(name, dt);
    }
    const { version } = packageInfo();
    writeModelFolder(
      dir,
      groups,
      (entries) => ({
        format: MODEL_FORMAT,
        formatVersion: MODEL_FORMAT_VERSION,
        library: { name: 'network-anomaly-lab', version },
        className: 'AnomalyEnsemble',
        savedAt: new Date().toISOString(),
        options: jsonSafe(this.options),
        featureNames: f.featureNames,
        ...(f.schema ? { dataset: { schema: f.schema, encoder: f.encoder?.toJSON() } } : {}),
        seed: f.seed,
        nTrainRows: f.nTrainRows,
        scaler: f.scaler.toJSON(),
        ensembleThreshold: f.ensembleThreshold,
        stats: Object.fromEntries(f.stats),
        weights: Object.fromEntries(f.weights),
        detectors: [...snaps].map(([name, s]) => ({
          name,
          className: s.className,
          options: jsonSafe(s.options),
          params: s.params,
          arrays: Object.fromEntries(Object.keys(s.arrays).map((k) => [k, { ...entries[name][`${k}.bin`], dtype: dtypes.get(name)![k] }])),
          files: Object.fromEntries(Object.keys(s.files).map((k) => [k, entries[name][k]])),
        })),
        metadata,
      }),
      { format: MODEL_FORMAT },
    );
  }

  /**
   * Load a folder written by {@link save}. Scores are bit-identical to the saved ensemble's. Every
   * number of the manifest is checked before use (thresholds, score statistics, weights, the
   * scaler, sizes of parts before they are read), only regular files inside the folder are read,
   * and the loaded model must score a probe row finitely.
   * @throws ModelFormatError for a missing folder or file, a corrupted, truncated or altered file,
   *   a part that is not a regular file, a newer format version or an unknown detector
   */
  static async load(dir: string): Promise<AnomalyEnsemble> {
    // a save running meanwhile may remove the parts of the manifest read first: read again then
    for (let attempt = 0; ; attempt++) {
      const before = manifestStamp(dir);
      try {
        return await AnomalyEnsemble.loadOnce(dir);
      } catch (e) {
        if (attempt >= 3 || !(e instanceof ModelFormatError) || manifestStamp(dir) === before) throw e;
      }
    }
  }

  private static async loadOnce(dir: string): Promise<AnomalyEnsemble> {
    const m = readManifest(dir) as any;
    const where = path.join(dir, 'manifest.json');
    if (m.format !== MODEL_FORMAT) throw new ModelFormatError(`is not a network-anomaly-lab model (format ${JSON.stringify(m.format)}).`, where);
    if (typeof m.formatVersion !== 'number') throw new ModelFormatError('has no formatVersion.', where);
    if (m.formatVersion > MODEL_FORMAT_VERSION) {
      throw new ModelFormatError(
        `was saved in format version ${m.formatVersion} by network-anomaly-lab ${m.library?.version ?? '(unknown)'}; this version reads up to ${MODEL_FORMAT_VERSION}. Upgrade network-anomaly-lab to load it.`,
        where,
      );
    }
    for (const key of ['featureNames', 'scaler', 'detectors', 'options', 'stats', 'weights']) {
      if (m[key] === undefined) throw new ModelFormatError(`is missing '${key}'.`, where);
    }
    checkManifestNumbers(m, where);
    let ens: AnomalyEnsemble;
    try {
      // a model saved before the agreement floor existed (issue 12) was fitted with agreement alone:
      // a retraining from it keeps that, and its options say so
      const saved = m.options as EnsembleOptions;
      ens = new AnomalyEnsemble(saved.agreementFloor === undefined ? { ...saved, agreementFloor: 0 } : { ...saved });
    } catch (e) {
      throw new ModelFormatError(`has invalid options: ${(e as Error).message}`, where);
    }
    const detectors = new Map<DetectorName, BaseDetector<any, any>>();
    const stats = new Map<DetectorName, ScoreStats>();
    for (const d of m.detectors as any[]) {
      const loader = DETECTOR_LOADERS[d?.className as string];
      if (!loader || !DETECTOR_NAMES.includes(d.name)) {
        throw new ModelFormatError(`names an unknown detector '${d?.className ?? d?.name}' (known: ${Object.keys(DETECTOR_LOADERS).join(', ')}).`, where);
      }
      if (detectors.has(d.name)) throw new ModelFormatError(`lists detector '${d.name}' twice.`, where);
      if (!isPlainObject(d.params) || !isPlainObject(d.options ?? {}) || !isPlainObject(d.arrays ?? {}) || !isPlainObject(d.files ?? {})) {
        throw new ModelFormatError(`detector '${d.name}' has invalid params, options, arrays or files.`, where);
      }
      const arrays: DetectorSnapshot['arrays'] = {};
      for (const [k, e] of Object.entries(d.arrays ?? {}) as [string, PartEntry][]) {
        const entry = checkPartEntry(dir, e);
        const a = bytesToArray(readPart(dir, entry), entry.dtype ?? 'float64', path.join(dir, entry.file));
        if (a instanceof Float64Array || a instanceof Float32Array) {
          const bad = a.findIndex((v) => !Number.isFinite(v));
          if (bad >= 0) throw new ModelFormatError(`holds a non-finite value (${a[bad]}) at index ${bad}: the file was altered.`, path.join(dir, entry.file));
        }
        arrays[k] = a;
      }
      const files: DetectorSnapshot['files'] = {};
      for (const [k, e] of Object.entries(d.files ?? {}) as [string, PartEntry][]) files[k] = readPart(dir, checkPartEntry(dir, e));
      const snapshot: DetectorSnapshot = { className: d.className, options: d.options, params: d.params, arrays, files };
      let det: BaseDetector<any, any>;
      try {
        det = await loader(snapshot);
      } catch (e) {
        // a message that does not name the file yet gets the manifest's path
        if (e instanceof ModelFormatError) throw e.path !== undefined && e.path.startsWith(dir) ? e : new ModelFormatError(`detector '${d.name}': ${e.message}`, where);
        throw new ModelFormatError(`detector '${d.name}' could not be restored: ${(e as Error).message}`, where);
      }
      detectors.set(d.name, det);
      const st = m.stats[d.name];
      if (!st) throw new ModelFormatError(`has no score statistics for '${d.name}'.`, where);
      stats.set(d.name, st);
    }
    if (detectors.size === 0) throw new ModelFormatError('lists no detectors.', where);
    const used = ens.options.detectors;
    if (used.length !== detectors.size || used.some((d) => !detectors.has(d))) {
      throw new ModelFormatError(`lists detectors ${[...detectors.keys()].join(', ')} but its options name ${used.join(', ')}.`, where);
    }
    const names = (m.featureNames as string[]).length;
    for (const [name, det] of detectors) {
      if (det.nFeatures !== names) throw new ModelFormatError(`detector '${name}' has ${det.nFeatures} features, the manifest lists ${names}.`, where);
    }
    let schema: DatasetSchema | undefined;
    let encoder: TrafficEncoder | undefined;
    if (m.dataset !== undefined) {
      try {
        if (m.dataset.encoder !== undefined) encoder = TrafficEncoder.fromJSON(m.dataset.encoder as TrafficEncoderState);
        schema = savedSchema(checkDatasetSchema(m.dataset?.schema), encoder);
      } catch (e) {
        throw new ModelFormatError(`has an invalid dataset description: ${(e as Error).message}`, where);
      }
      if (encoder && encoder.featureNames.join('\n') !== (m.featureNames as string[]).join('\n')) {
        throw new ModelFormatError(`its encoder's ${encoder.featureNames.length} columns differ from the ${names} feature names.`, where);
      }
    }
    let scaler: StandardScaler;
    try {
      scaler = StandardScaler.fromJSON(m.scaler as StandardScalerState);
    } catch (e) {
      throw new ModelFormatError(`has an invalid scaler: ${(e as Error).message}`, where);
    }
    if (scaler.mean.length !== names) throw new ModelFormatError(`its scaler has ${scaler.mean.length} columns, the manifest lists ${names} features.`, where);
    const weights = new Map<DetectorName, number>();
    for (const name of detectors.keys()) weights.set(name, (m.weights as Record<string, number>)[name]);
    ens.fitted = {
      featureNames: m.featureNames,
      schema,
      encoder,
      scaler,
      detectors,
      stats,
      weights,
      ensembleThreshold: m.ensembleThreshold,
      seed: m.seed,
      nTrainRows: m.nTrainRows,
    };
    // a last check that the numbers work together: the training mean must score finitely
    try {
      ens.detectScaled({ rows: 1, cols: names, data: new Float64Array(names) });
    } catch (e) {
      ens.dispose();
      throw new ModelFormatError(`does not score: ${(e as Error).message}`, where);
    }
    return ens;
  }

  /** Free the autoencoder's tensors. */
  dispose(): void {
    for (const d of this.fitted?.detectors.values() ?? []) d.dispose();
  }
}

/** className -> loader. Loading never evaluates code from the files. */
const DETECTOR_LOADERS: Record<string, (s: DetectorSnapshot) => Promise<BaseDetector<any, any>>> = {
  IsolationForest: (s) => IsolationForest.load(s),
  OneClassSvm: (s) => OneClassSvm.load(s),
  LocalOutlierFactor: (s) => LocalOutlierFactor.load(s),
  Autoencoder: (s) => Autoencoder.load(s),
  KNearestNeighbors: (s) => KNearestNeighbors.load(s),
  Ecod: (s) => Ecod.load(s),
  Copod: (s) => Copod.load(s),
  Hbos: (s) => Hbos.load(s),
  Pca: (s) => Pca.load(s),
};

/**
 * The layout saved with a model. Without an encoder the model read its features as they are, so
 * files it scores must be read that way too: `log1p` is made `"none"` (a description without
 * `log1p` now means `"auto"`; models saved before that read it as none).
 */
function savedSchema(schema: DatasetSchema | undefined, encoder: TrafficEncoder | undefined): DatasetSchema | undefined {
  if (!schema || encoder || schema.log1p === 'none') return schema;
  return { ...schema, log1p: 'none' };
}

function describeNameDiff(expected: readonly string[], got: readonly string[]): string {
  const missing = expected.filter((n) => !got.includes(n));
  const extra = got.filter((n) => !expected.includes(n));
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${missing.join(', ')}`);
  if (extra.length) parts.push(`unexpected ${extra.join(', ')}`);
  return parts.join('; ');
}

function jsonSafe(o: unknown): any {
  return JSON.parse(JSON.stringify(o, (_k, v) => (typeof v === 'function' ? undefined : v)));
}

let pkgCache: { version: string } | undefined;
/** Name and version from package.json. */
export function packageInfo(): { version: string } {
  if (!pkgCache) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    pkgCache = { version: (require('../../package.json') as { version: string }).version };
  }
  return pkgCache;
}

/**
 * Largest magnitude of a standardised feature value the detectors are given (a billion training
 * standard deviations). A training row is never beyond it (a z-score of n rows is at most
 * sqrt(n)); a scored value beyond it is as anomalous as anything can be, and is capped there so
 * that every detector computes a finite score (squared distances, kernels, the autoencoder's
 * float32 arithmetic), whatever finite number the file holds (1.7976931348623157e308 included).
 */
export const MAX_SCALED_VALUE = 1e9;

/** Cap standardised values to [-MAX_SCALED_VALUE, MAX_SCALED_VALUE] in place. */
function capScaled(Xs: DenseMatrix): DenseMatrix {
  const d = Xs.data;
  for (let k = 0; k < d.length; k++) {
    const v = d[k];
    if (v > MAX_SCALED_VALUE) d[k] = MAX_SCALED_VALUE;
    else if (v < -MAX_SCALED_VALUE) d[k] = -MAX_SCALED_VALUE;
  }
  return Xs;
}

/**
 * The fused score of every row must be finite (a NaN would silently read as normal): a
 * non-finite one names the row and the detectors' scores that produced it.
 * @throws DataValidationError
 */
function assertFiniteFused(fused: Float64Array, scores: Map<DetectorName, Float64Array>): void {
  for (let i = 0; i < fused.length; i++) {
    const v = fused[i];
    if (v - v === 0) continue;
    const parts = [...scores].map(([name, s]) => `${name} ${s[i]}`).join(', ');
    throw new DataValidationError(`the ensemble score is not a finite number (${v}; detector scores: ${parts}).`, { row: i + 1 });
  }
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Size and modification time of a folder's manifest, to tell whether a save replaced it. */
function manifestStamp(dir: string): string {
  try {
    const st = fs.statSync(path.join(dir, 'manifest.json'));
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'none';
  }
}

/**
 * Check every number of a manifest before it is used: feature names, the seed and row count, the
 * ensemble threshold, each detector's score statistics (an IQR of 0 would make every score
 * infinite) and fusion weights.
 * @throws ModelFormatError naming the manifest and the field
 */
function checkManifestNumbers(m: any, where: string): void {
  const bad = (msg: string) => new ModelFormatError(msg, where);
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const names = m.featureNames;
  if (!Array.isArray(names) || names.length === 0 || names.length > 10_000_000 || names.some((n: unknown) => typeof n !== 'string' || n === '')) {
    throw bad('has invalid featureNames (expected a non-empty list of names).');
  }
  if (new Set(names).size !== names.length) throw bad('lists a feature name twice.');
  if (!Array.isArray(m.detectors)) throw bad("has invalid 'detectors' (expected a list).");
  if (m.detectors.length > DETECTOR_NAMES.length) throw bad(`lists ${m.detectors.length} detectors; there are ${DETECTOR_NAMES.length}.`);
  if (!finite(m.ensembleThreshold)) throw bad(`has an invalid ensembleThreshold ${JSON.stringify(m.ensembleThreshold)} (expected a finite number).`);
  if (!Number.isInteger(m.seed) || m.seed < 0 || m.seed > 0xffffffff) throw bad(`has an invalid seed ${JSON.stringify(m.seed)}.`);
  if (!Number.isInteger(m.nTrainRows) || m.nTrainRows < 1) throw bad(`has an invalid nTrainRows ${JSON.stringify(m.nTrainRows)}.`);
  if (!isPlainObject(m.stats) || !isPlainObject(m.weights) || !isPlainObject(m.options)) throw bad('has invalid stats, weights or options (expected objects).');
  let wsum = 0;
  for (const d of m.detectors as any[]) {
    const name = d?.name as string;
    if (!DETECTOR_NAMES.includes(name as DetectorName)) continue; // reported as an unknown detector
    const st = m.stats[name];
    if (st !== undefined) {
      if (!isPlainObject(st)) throw bad(`has invalid score statistics for '${name}'.`);
      for (const k of ['median', 'iqr', 'mean', 'std', 'threshold']) {
        if (!finite(st[k])) throw bad(`has an invalid stats.${name}.${k} ${JSON.stringify(st[k])} (expected a finite number).`);
      }
      if (!((st.iqr as number) > 0) || !((st.std as number) > 0)) throw bad(`has stats.${name}.iqr ${st.iqr} and std ${st.std}; both must be > 0 (a zero spread makes every score infinite).`);
    }
    const w = m.weights[name];
    if (!finite(w) || w < 0) throw bad(`has an invalid weights.${name} ${JSON.stringify(w)} (expected a finite number >= 0).`);
    wsum += w;
  }
  if (m.detectors.length && !(wsum > 0)) throw bad('has fusion weights that sum to 0.');
}
