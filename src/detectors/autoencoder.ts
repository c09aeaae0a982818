/**
 * Dense autoencoder anomaly detector on TensorFlow.js: rows that the network reconstructs badly
 * are anomalies. The architecture and training follow the product spec (a Keras model):
 * d → 64 relu → Dropout .2 → 32 relu → Dropout .2 → 16 relu → 8 relu → 16 → 32 → 64 relu → d linear,
 * glorot-uniform kernels, zero biases, Adam(1e-3, .9, .999, 1e-7), MSE loss, batches of 32.
 *
 * Training is a hand-written loop instead of `model.fit`, because `fit` shuffles and drops out with
 * unseeded randomness: here the validation hold-out, the per-epoch shuffle and the dropout masks all
 * come from the library's seeded {@link Random}, so a seed reproduces a model exactly with one
 * engine on one backend.
 *
 * Two engines run that loop (option `engine`): `tfjs`, TF.js ops per step, and `fused`, a
 * forward + backward + Adam pass in plain TypeScript over preallocated float64 buffers
 * (`autoencoder-fused.ts`), several times faster where TF.js's per-op overhead dominates (the wasm
 * and cpu backends). Both make the same draws in the same order (initial weights from the TF.js
 * initialisers, hold-out, shuffles, dropout masks) and the same maths (MSE, Adam with bias
 * correction), so they agree to float32 rounding over the first hundred or so steps; over a whole
 * run training amplifies rounding differences, so the two end at different but equally good
 * weights, as two TF.js backends would (ROC-AUC on the seed data: 0.970 ± 0.011 fused vs
 * 0.971 ± 0.014 tfjs over 20 seeds). The default `auto` uses `tfjs` on the native
 * `@tensorflow/tfjs-node` backend and `fused` otherwise. After training, the fused weights are
 * copied into the TF.js model: scoring and the saved model files are TF.js's either way.
 *
 * The fused loop ({@link trainFusedLoop}) depends only on plain data (initial weights, rows,
 * order, the generators' exact states), so it can also run in a worker thread with bit-identical
 * results: {@link AnomalyEnsemble} does so to overlap it with the other detectors' fits.
 */
import type * as TF from '@tensorflow/tfjs';
import {
  BaseDetector,
  type BaseDetectorOptions,
  type DetectorName,
  type DetectorSnapshot,
  type FitResult,
  type FittedBase,
} from '../core/detector';
import { FeatureMismatchError, ModelFormatError, NotFittedError, optionError } from '../core/errors';
import { denseMatrix, toDense, type DenseMatrix, type MatrixLike } from '../core/matrix';
import { Random } from '../core/random';
import { loadTf, tfBackendName } from '../core/tf';
import { assertFinite } from '../core/validation';
import { EarlyStopping, HELPER_MIN_ROW_EPOCHS, startFusedWorker, trainFusedLoop, type FusedTrainInput, type FusedWorkerRun } from './autoencoder-fused';
import { threadCount } from '../compute/parallel';

type Tf = typeof TF;

/** What {@link AutoencoderOptions.onEpochEnd} receives after each epoch. */
export interface AutoencoderEpochInfo {
  /** 1-based number of the epoch just finished. */
  epoch: number;
  /** The `epochs` option (training may stop earlier with early stopping). */
  epochs: number;
  /** Mean training loss (MSE with dropout on) over the epoch's batches, weighted by batch size. */
  loss: number;
  /** MSE of the held-out validation rows with dropout off; absent when `validationSplit` is 0. */
  valLoss?: number;
  /** Wall-clock seconds the epoch took. */
  seconds: number;
}

/** Per-epoch losses of the last `fit` (Keras' `history.history`). */
export interface AutoencoderHistory {
  /** Training loss per epoch run. */
  loss: number[];
  /** Validation loss per epoch run; empty when `validationSplit` is 0. */
  valLoss: number[];
}

/** Options of {@link Autoencoder}. */
export interface AutoencoderOptions extends BaseDetectorOptions {
  /**
   * Units of the hidden Dense (relu) layers, input to output side; the output layer is linear with
   * one unit per feature.
   * @defaultValue [64, 32, 16, 8, 16, 32, 64]
   */
  hiddenLayers?: number[];
  /**
   * Dropout rate applied after the first two hidden layers, during training only (inverted
   * dropout: kept units are scaled by 1 / (1 - rate)). 0 disables it.
   * @defaultValue 0.2
   */
  dropout?: number;
  /**
   * Passes over the training rows.
   * @defaultValue 30
   */
  epochs?: number;
  /**
   * Rows per gradient step; the last batch of an epoch may be smaller.
   * @defaultValue 32
   */
  batchSize?: number;
  /**
   * Adam's learning rate (beta1 0.9, beta2 0.999, epsilon 1e-7).
   * @defaultValue 0.001
   */
  learningRate?: number;
  /**
   * Share of the rows, in [0, 1), held out (a seeded random sample) to compute the validation loss;
   * they are never trained on. 0 trains on every row.
   * @defaultValue 0.1
   */
  validationSplit?: number;
  /**
   * When above 0, stop once the validation loss (the training loss when `validationSplit` is 0)
   * has not improved for this many epochs, and restore the weights of the best epoch.
   * 0 turns early stopping off.
   * @defaultValue 0
   */
  earlyStoppingPatience?: number;
  /**
   * Called after every epoch (progress bars, notebooks). Not saved with the model.
   * @defaultValue a no-op
   */
  onEpochEnd?: (info: AutoencoderEpochInfo) => void;
  /**
   * Training engine. `'tfjs'`: one TF.js op per layer and step (forward, autodiff, `tf.train.adam`).
   * `'fused'`: the same training (same seeded initial weights, hold-out, shuffles and dropout
   * masks, same MSE and Adam with bias correction, same early stopping and `onEpochEnd` info) as
   * a single plain-TypeScript forward + backward + Adam pass per step over preallocated float64
   * buffers, then the weights are loaded into the TF.js model, so scoring and saved files are
   * unchanged. It agrees with `'tfjs'` to float32 rounding (long runs drift apart to equally good
   * models) and is about 4x faster on the wasm backend, where TF.js's per-op overhead dominates. `'auto'` picks `'tfjs'` on the native
   * `@tensorflow/tfjs-node` backend (`tfBackendName() === 'tensorflow'`) and `'fused'` on wasm
   * and cpu.
   * @defaultValue 'auto'
   */
  engine?: AutoencoderEngine;
}

/**
 * Set by {@link AnomalyEnsemble} to train the fused engine in a worker thread (see
 * {@link Autoencoder.workerHooks}).
 * @internal
 */
export interface AutoencoderWorkerHooks {
  /** Called once the training runs in the worker (not called when it runs on the calling thread). */
  started?: (run: FusedWorkerRun) => void;
}

/** Training engines of {@link AutoencoderOptions.engine}. */
export type AutoencoderEngine = 'auto' | 'fused' | 'tfjs';

const ENGINES: readonly AutoencoderEngine[] = ['auto', 'fused', 'tfjs'];

const DEFAULTS: Required<Omit<AutoencoderOptions, 'seed'>> = {
  contamination: 0.1,
  hiddenLayers: [64, 32, 16, 8, 16, 32, 64],
  dropout: 0.2,
  epochs: 30,
  batchSize: 32,
  learningRate: 1e-3,
  validationSplit: 0.1,
  earlyStoppingPatience: 0,
  onEpochEnd: () => {},
  engine: 'auto',
};

/** Number of hidden layers followed by dropout (the spec's first two). */
const DROPOUT_LAYERS = 2;
/** Rows per forward pass when scoring (tfjs-wasm slices are O(n) per call, so never use small batches). */
const PREDICT_CHUNK_ROWS = 4096;
const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';

/** A Dense layer's variables, used by the hand-written forward pass. */
interface DenseVars {
  kernel: TF.Variable;
  bias: TF.Variable;
  relu: boolean;
}

interface AutoencoderState {
  tf: Tf;
  model: TF.LayersModel;
  dense: DenseVars[];
  history: AutoencoderHistory;
  /** The saved TF.js files, written once after training (the model never changes afterwards). */
  modelJson: Uint8Array;
  weightsBin: Uint8Array;
  disposed: boolean;
}

/**
 * Autoencoder anomaly detector: the anomaly score of a row is the mean squared error of its
 * reconstruction.
 *
 * @remarks
 * Score direction: higher means more anomalous (a row unlike the training rows reconstructs badly).
 * The threshold is calibrated on the MSE of all training rows with dropout off.
 *
 * Cost: training is O(epochs · n · weights). With the default `engine: 'auto'` it runs in the fused
 * TypeScript engine (no per-op overhead; well under 1 ms a batch-32 step for the default layers)
 * unless the native tfjs-node backend is active; the `tfjs` engine pays TF.js's per-op overhead
 * (about 3-4 ms a step on the wasm backend). Scoring runs in TF.js in chunks of 4096 rows and is fast.
 * Uses `@tensorflow/tfjs-node` when installed, else the wasm backend (see {@link loadTf}).
 * Training is deterministic for a seed on a given backend; different backends round differently.
 *
 * Reference: the dense autoencoder of Sakurada & Yairi (2014), "Anomaly detection using
 * autoencoders with nonlinear dimensionality reduction".
 *
 * @example
 * ```ts
 * const ae = await new Autoencoder({ seed: 42, contamination: 0.15 }).fit(XTrainScaled);
 * const scores = ae.anomalyScore(XTestScaled); // per-row reconstruction MSE
 * const flags = ae.predict(XTestScaled);       // 1 = anomaly
 * ae.dispose();                                // free the TF.js tensors
 * ```
 */
export class Autoencoder extends BaseDetector<AutoencoderOptions, AutoencoderState> {
  readonly name: DetectorName = 'autoencoder';

  /**
   * When set, `fit` trains the fused engine in a worker thread where the compiled worker script
   * exists (results bit-identical to training on the calling thread), so the caller's thread is
   * free meanwhile; `started` is called once training runs there. Not an option: not saved.
   * @internal
   */
  workerHooks?: AutoencoderWorkerHooks;

  /**
   * @throws RangeError for an invalid option, in scikit-learn's message shape
   */
  constructor(options: AutoencoderOptions = {}) {
    super(
      { ...options, hiddenLayers: Array.isArray(options.hiddenLayers) ? options.hiddenLayers.slice() : options.hiddenLayers },
      DEFAULTS,
    );
    validateOptions(this.options);
  }

  /**
   * Rebuild a fitted autoencoder from a snapshot written by {@link Autoencoder.exportSnapshot}.
   * @throws ModelFormatError when the snapshot or its `model.json` / `weights.bin` are invalid
   */
  static async load(snapshot: DetectorSnapshot): Promise<Autoencoder> {
    if (!snapshot || typeof snapshot !== 'object') throw new ModelFormatError('the autoencoder snapshot is missing.');
    if (snapshot.className !== 'Autoencoder') {
      throw new ModelFormatError(`expected an Autoencoder snapshot, got class ${JSON.stringify(snapshot.className)}.`);
    }
    const detector = new Autoencoder((snapshot.options ?? {}) as AutoencoderOptions);
    return detector.restore(snapshot);
  }

  /** `batchSize` rows, and at least 2. */
  minTrainRows(): number {
    return Math.max(2, this.options.batchSize);
  }

  /**
   * Training and validation loss per epoch of the last `fit` (kept by save/load).
   * @throws NotFittedError before fit
   */
  get history(): AutoencoderHistory {
    const h = this.state.history;
    return { loss: h.loss.slice(), valLoss: h.valLoss.slice() };
  }

  /** The underlying TF.js model (Dense and Dropout layers), e.g. for `model.summary()`. */
  get model(): TF.LayersModel {
    return this.liveState().model;
  }

  /**
   * Squared reconstruction error per row and feature (n x d, row-major): the per-feature
   * contributions of {@link anomalyScore}, whose value is each row's mean.
   * @throws NotFittedError, FeatureMismatchError, DataValidationError
   */
  reconstructionErrors(X: MatrixLike): DenseMatrix {
    const d = this.nFeatures; // throws NotFittedError before fit
    const m = toDense(X, 'X');
    if (m.rows === 0 && (m.cols === 0 || m.cols === d)) return denseMatrix(0, d);
    if (m.cols !== d) throw new FeatureMismatchError('Autoencoder', d, m.cols);
    assertFinite(m, 'X');
    const out = new Float64Array(m.rows * d);
    reconstruct(this.liveState(), m, (start, input, output) => {
      const base = start * d;
      for (let k = 0; k < output.length; k++) {
        const e = input[k] - output[k];
        out[base + k] = e * e;
      }
    });
    return denseMatrix(m.rows, d, out);
  }

  /** Snapshot for persistence; function-valued options (`onEpochEnd`) are left out so it stays JSON-safe. */
  override exportSnapshot(): DetectorSnapshot {
    const snapshot = super.exportSnapshot();
    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(snapshot.options)) if (typeof v !== 'function') options[k] = v;
    return { ...snapshot, options };
  }

  /** Free the model's tensors. Scoring afterwards throws; `fit` again to reuse the detector. */
  override dispose(): void {
    if (!this.isFitted) return;
    const s = this.state;
    if (!s.disposed) {
      s.model.dispose();
      s.disposed = true;
    }
  }

  protected async fitCore(X: DenseMatrix, seed: number): Promise<FitResult<AutoencoderState>> {
    const tf = await loadTf();
    const o = this.options;
    const n = X.rows;
    const d = X.cols;
    const rng = new Random(seed);
    const initSeed = rng.nextSeed();
    const splitRng = new Random(rng.nextSeed());
    const shuffleRng = new Random(rng.nextSeed());
    const dropoutRng = new Random(rng.nextSeed());

    const { model, dense } = buildModel(tf, d, o.hiddenLayers, o.dropout, new Random(initSeed));
    const optimizer = tf.train.adam(o.learningRate, 0.9, 0.999, 1e-7);
    try {
      const xf = new Float32Array(X.data);
      // Seeded hold-out: these rows are never trained on.
      const nVal = Math.min(Math.floor(n * o.validationSplit), n - 1);
      const isVal = new Uint8Array(n);
      for (const i of splitRng.sampleIndices(n, nVal)) isVal[i] = 1;
      const order = new Int32Array(n - nVal);
      const valRows = new Int32Array(nVal);
      for (let i = 0, a = 0, b = 0; i < n; i++) {
        if (isVal[i]) valRows[b++] = i;
        else order[a++] = i;
      }
      const valX = gatherRows(xf, valRows, d);

      const vars = dense.flatMap((l) => [l.kernel, l.bias]);
      const loop: TrainLoop = { xf, d, order, valX, nVal, shuffleRng, dropoutRng, options: o };
      const history =
        resolveEngine(o.engine, tfBackendName()) === 'fused'
          ? await trainFused(tf, dense, vars, loop, this.workerHooks)
          : await trainTfjs(tf, dense, vars, optimizer, loop);

      const { modelJson, weightsBin } = await saveModel(tf, model);
      const previous = this.isFitted ? this.state : undefined;
      const state: AutoencoderState = { tf, model, dense, history, modelJson, weightsBin, disposed: false };
      const trainScores = rowMse(tf, dense, xf, n, d);
      if (previous && !previous.disposed) {
        previous.model.dispose();
        previous.disposed = true;
      }
      return { state, trainScores };
    } catch (err) {
      model.dispose();
      throw err;
    } finally {
      optimizer.dispose();
    }
  }

  protected scoreCore(state: AutoencoderState, X: DenseMatrix): Float64Array {
    const live = this.liveState(state);
    const d = X.cols;
    const scores = new Float64Array(X.rows);
    if (X.rows === 0) return scores;
    reconstruct(live, X, (start, input, output) => rowMeans(input, output, d, scores, start));
    return scores;
  }

  protected exportCore(state: AutoencoderState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: {
        history: { loss: state.history.loss.slice(), valLoss: state.history.valLoss.slice() },
        weightsCrc32: crc32(state.weightsBin),
      },
      arrays: {},
      files: { [MODEL_JSON]: state.modelJson.slice(), [WEIGHTS_BIN]: state.weightsBin.slice() },
    };
  }

  protected async importCore(snapshot: DetectorSnapshot): Promise<AutoencoderState> {
    const base = snapshot.params?.base as FittedBase | undefined;
    if (!base || !Number.isInteger(base.nFeatures) || base.nFeatures < 1) {
      throw new ModelFormatError('the autoencoder snapshot has no valid fitted parameters (params.base).');
    }
    const history = parseHistory(snapshot.params.history);
    const modelJson = snapshot.files?.[MODEL_JSON];
    const weightsBin = snapshot.files?.[WEIGHTS_BIN];
    if (!(modelJson instanceof Uint8Array)) throw new ModelFormatError('the file is missing from the saved autoencoder.', MODEL_JSON);
    if (!(weightsBin instanceof Uint8Array)) throw new ModelFormatError('the file is missing from the saved autoencoder.', WEIGHTS_BIN);

    const { modelTopology, weightSpecs } = parseModelJson(modelJson);
    const expectedBytes = weightSpecs.reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    if (weightsBin.byteLength !== expectedBytes) {
      throw new ModelFormatError(
        `has ${weightsBin.byteLength} bytes, but model.json describes ${expectedBytes} bytes of float32 weights (truncated or corrupted file).`,
        WEIGHTS_BIN,
      );
    }
    const crc = snapshot.params.weightsCrc32;
    if (typeof crc === 'number' && crc32(weightsBin) !== crc) {
      throw new ModelFormatError('checksum mismatch: the weights were changed or corrupted after saving.', WEIGHTS_BIN);
    }

    const tf = await loadTf();
    const weightData = weightsBin.slice().buffer as ArrayBuffer;
    let model: TF.LayersModel;
    try {
      model = await tf.loadLayersModel({ load: async () => ({ modelTopology, weightSpecs, weightData }) });
    } catch (err) {
      throw new ModelFormatError(`cannot rebuild the TF.js model: ${String((err as Error)?.message ?? err).split('\n')[0]}`, MODEL_JSON);
    }
    try {
      const dense = denseVarsOf(model);
      checkArchitecture(dense, base.nFeatures, this.options.hiddenLayers);
      for (const v of dense.flatMap((l) => [l.kernel, l.bias])) {
        const values = v.dataSync();
        for (let k = 0; k < values.length; k++) {
          if (!Number.isFinite(values[k])) throw new ModelFormatError('contains non-finite weights (corrupted file).', WEIGHTS_BIN);
        }
      }
      return { tf, model, dense, history, modelJson: modelJson.slice(), weightsBin: weightsBin.slice(), disposed: false };
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  private liveState(state: AutoencoderState = this.state): AutoencoderState {
    if (state.disposed) throw new NotFittedError('Autoencoder (disposed)');
    return state;
  }
}

// ---------------------------------------------------------------------------------------------
// Training loops: the TF.js engine and the fused engine
// ---------------------------------------------------------------------------------------------

/** What both training engines share: the rows, the seeded split and the seeded generators. */
interface TrainLoop {
  /** Training rows as float32, n x d row-major (validation rows included). */
  xf: Float32Array;
  d: number;
  /** Training row indices, shuffled in place every epoch. */
  order: Int32Array;
  /** Validation rows, gathered (nVal x d). */
  valX: Float32Array;
  nVal: number;
  shuffleRng: Random;
  dropoutRng: Random;
  options: Readonly<Required<Omit<AutoencoderOptions, 'seed'>>>;
}

/** The engine `engine` means on `backend` (see {@link AutoencoderOptions.engine}). */
export function resolveEngine(engine: AutoencoderEngine, backend: string): 'fused' | 'tfjs' {
  if (engine === 'auto') return backend === 'tensorflow' ? 'tfjs' : 'fused';
  return engine;
}

/** The TF.js engine: one `optimizer.minimize` per batch. */
async function trainTfjs(tf: Tf, dense: DenseVars[], vars: TF.Variable[], optimizer: TF.Optimizer, loop: TrainLoop): Promise<AutoencoderHistory> {
  const { xf, d, order, valX, nVal, shuffleRng, dropoutRng, options: o } = loop;
  const history: AutoencoderHistory = { loss: [], valLoss: [] };
  const stopper = new EarlyStopping(o.earlyStoppingPatience);
  let bestWeights: Float32Array[] | undefined;
  const dropoutUnits = o.hiddenLayers.slice(0, o.dropout > 0 ? DROPOUT_LAYERS : 0);
  const keepScale = 1 / (1 - o.dropout);

  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    shuffleRng.shuffle(order);
    let lossSum = 0;
    for (let start = 0; start < order.length; start += o.batchSize) {
      const rows = order.subarray(start, Math.min(start + o.batchSize, order.length));
      const b = rows.length;
      const batch = gatherRows(xf, rows, d);
      const masks = dropoutUnits.map((u) => dropoutMask(dropoutRng, b * u, o.dropout, keepScale));
      const cost = tf.tidy(() => {
        const xb = tf.tensor2d(batch, [b, d]);
        const maskTensors = masks.map((m, k) => tf.tensor2d(m, [b, dropoutUnits[k]]));
        return optimizer.minimize(
          () => tf.mean(tf.squaredDifference(forward(tf, dense, xb, maskTensors), xb)) as TF.Scalar,
          true,
          vars,
        )!;
      });
      lossSum += cost.dataSync()[0] * b;
      cost.dispose();
    }
    const loss = lossSum / order.length;
    history.loss.push(loss);
    let valLoss: number | undefined;
    if (nVal > 0) {
      valLoss = meanOf(rowMse(tf, dense, valX, nVal, d));
      history.valLoss.push(valLoss);
    }
    o.onEpochEnd({ epoch, epochs: o.epochs, loss, valLoss, seconds: (performance.now() - t0) / 1000 });

    const verdict = stopper.update(valLoss ?? loss);
    if (verdict === 'best') bestWeights = vars.map((v) => v.dataSync().slice() as Float32Array);
    else if (verdict === 'stop') break;
    await new Promise<void>((resolve) => setImmediate(resolve)); // let I/O and timers run between epochs
  }
  if (bestWeights) {
    const restored = bestWeights;
    tf.tidy(() => vars.forEach((v, k) => v.assign(tf.tensor(restored[k], v.shape))));
  }
  return history;
}

/**
 * The fused engine ({@link trainFusedLoop}): the same draws in the same order as {@link trainTfjs}, the
 * TF.js model's initial weights, and the final (or best) weights written back into the model.
 * With `worker`, the loop runs in a worker thread ({@link startFusedWorker}) where one can be
 * started, with bit-identical results; `worker.started` is called once it runs there. Without it,
 * a long training with two or more threads runs in a worker with a helper worker sharing every
 * step ({@link FusedWorkerRun.addHelper}), with the same results too.
 */
async function trainFused(tf: Tf, dense: DenseVars[], vars: TF.Variable[], loop: TrainLoop, worker?: AutoencoderWorkerHooks): Promise<AutoencoderHistory> {
  const { xf, d, order, valX, nVal, shuffleRng, dropoutRng, options: o } = loop;
  // the seeded glorot-uniform kernels and zero biases the TF.js initialisers drew
  const params = new Float64Array(vars.reduce((s, v) => s + v.size, 0));
  let offset = 0;
  for (const v of vars) {
    const w = v.dataSync();
    params.set(w, offset);
    offset += w.length;
  }
  const input: FusedTrainInput = {
    sizes: [d, ...dense.map((l) => l.kernel.shape[1] as number)],
    params,
    xf,
    order,
    valX,
    nVal,
    shuffleState: shuffleRng.getState(),
    dropoutState: dropoutRng.getState(),
    epochs: o.epochs,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    dropout: o.dropout,
    dropoutUnits: o.hiddenLayers.slice(0, o.dropout > 0 ? DROPOUT_LAYERS : 0),
    patience: o.earlyStoppingPatience,
  };
  // alone (not beside an ensemble's other detectors), a long training takes two threads: the
  // loop in a worker and a helper worker sharing its steps (same results as on this thread)
  const alone = !worker && order.length * o.epochs >= HELPER_MIN_ROW_EPOCHS && threadCount() > 1;
  const run = worker || alone ? startFusedWorker(input, o.onEpochEnd) : undefined;
  let result;
  if (run) {
    if (alone) run.addHelper();
    else worker!.started?.(run);
    result = await run.result;
  } else {
    // let I/O and timers run between epochs
    result = await trainFusedLoop(input, o.onEpochEnd, () => new Promise<void>((resolve) => setImmediate(resolve)));
  }
  const weights = Float32Array.from(result.params);
  tf.tidy(() => {
    let at = 0;
    for (const v of vars) {
      v.assign(tf.tensor(weights.subarray(at, at + v.size), v.shape));
      at += v.size;
    }
  });
  return result.history;
}

// ---------------------------------------------------------------------------------------------
// Model building and the forward pass
// ---------------------------------------------------------------------------------------------

function buildModel(
  tf: Tf,
  d: number,
  hidden: readonly number[],
  dropout: number,
  rng: Random,
): { model: TF.LayersModel; dense: DenseVars[] } {
  const model = tf.sequential({ name: 'autoencoder' });
  const units = [...hidden, d];
  units.forEach((u, k) => {
    const last = k === units.length - 1;
    model.add(
      tf.layers.dense({
        name: last ? 'reconstruction' : `hidden_${k + 1}`,
        units: u,
        activation: last ? 'linear' : 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: rng.nextSeed() }),
        biasInitializer: 'zeros',
        ...(k === 0 ? { inputShape: [d] } : {}),
      }),
    );
    if (!last && k < DROPOUT_LAYERS && dropout > 0) {
      // Inactive at inference; in training the loop applies its own seeded masks at this position.
      model.add(tf.layers.dropout({ name: `dropout_${k + 1}`, rate: dropout }));
    }
  });
  return { model, dense: denseVarsOf(model) };
}

function denseVarsOf(model: TF.LayersModel): DenseVars[] {
  return model.layers
    .filter((l) => l.getClassName() === 'Dense')
    .map((l) => {
      const kernel = l.weights.find((w) => /kernel$/.test(w.originalName));
      const bias = l.weights.find((w) => /bias$/.test(w.originalName));
      if (!kernel || !bias) throw new ModelFormatError(`layer '${l.name}' has no kernel or bias.`, MODEL_JSON);
      const activation = (l.getConfig() as { activation?: string }).activation;
      if (activation !== 'relu' && activation !== 'linear') {
        throw new ModelFormatError(`layer '${l.name}' has activation ${JSON.stringify(activation)}, expected relu or linear.`, MODEL_JSON);
      }
      return { kernel: kernel.read() as TF.Variable, bias: bias.read() as TF.Variable, relu: activation === 'relu' };
    });
}

function checkArchitecture(dense: DenseVars[], d: number, hidden: readonly number[]): void {
  const units = dense.map((l) => l.kernel.shape[1]);
  const expected = [...hidden, d];
  const ok =
    dense.length === expected.length &&
    dense[0].kernel.shape[0] === d &&
    units.every((u, k) => u === expected[k]) &&
    dense.every((l, k) => l.relu === k < dense.length - 1);
  if (!ok) {
    throw new ModelFormatError(
      `the model's layers (${d} -> ${units.join(' -> ')}) do not match the saved options (${d} -> ${expected.join(' -> ')}).`,
      MODEL_JSON,
    );
  }
}

/** Dense stack; `masks[k]` (already scaled) multiplies hidden layer k's output when given. */
function forward(tf: Tf, dense: DenseVars[], x: TF.Tensor2D, masks: readonly TF.Tensor2D[]): TF.Tensor2D {
  let h = x;
  dense.forEach((l, k) => {
    h = tf.fused.matMul({ a: h, b: l.kernel, bias: l.bias, activation: l.relu ? 'relu' : 'linear' }) as TF.Tensor2D;
    if (k < masks.length) h = tf.mul(h, masks[k]);
  });
  return h;
}

/**
 * Run the network (dropout off) over the rows of X in chunks, handing each chunk's float32 input
 * and output to `each` (`start` is the chunk's first row).
 */
function reconstruct(
  state: AutoencoderState,
  X: DenseMatrix | { rows: number; cols: number; data: Float32Array },
  each: (start: number, input: Float32Array, output: Float32Array) => void,
): void {
  const { tf, dense } = state;
  const d = X.cols;
  for (let start = 0; start < X.rows; start += PREDICT_CHUNK_ROWS) {
    const rows = Math.min(PREDICT_CHUNK_ROWS, X.rows - start);
    const slice = X.data.subarray(start * d, (start + rows) * d);
    const input = slice instanceof Float32Array ? slice : new Float32Array(slice);
    const out = tf.tidy(() => forward(tf, dense, tf.tensor2d(input, [rows, d]), []));
    try {
      each(start, input, out.dataSync() as Float32Array);
    } finally {
      out.dispose();
    }
  }
}

/** Per-row MSE of float32 rows (`n` x `d`), computed in float64. */
function rowMse(tf: Tf, dense: DenseVars[], xf: Float32Array, n: number, d: number): Float64Array {
  const scores = new Float64Array(n);
  if (n === 0) return scores;
  reconstruct({ tf, dense } as AutoencoderState, { rows: n, cols: d, data: xf }, (start, input, output) =>
    rowMeans(input, output, d, scores, start),
  );
  return scores;
}

function rowMeans(input: Float32Array, output: Float32Array, d: number, into: Float64Array, start: number): void {
  const rows = input.length / d;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) {
      const e = input[j] - output[j];
      s += e * e;
    }
    into[start + i] = s / d;
  }
}

function meanOf(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

function gatherRows(xf: Float32Array, rows: ArrayLike<number>, d: number): Float32Array {
  const out = new Float32Array(rows.length * d);
  for (let k = 0; k < rows.length; k++) out.set(xf.subarray(rows[k] * d, rows[k] * d + d), k * d);
  return out;
}

/** Inverted-dropout mask: 0 with probability `rate`, else `scale`. */
function dropoutMask(rng: Random, size: number, rate: number, scale: number): Float32Array {
  const m = new Float32Array(size);
  for (let k = 0; k < size; k++) m[k] = rng.random() < rate ? 0 : scale;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Persistence: standard TF.js layers-model files
// ---------------------------------------------------------------------------------------------

async function saveModel(tf: Tf, model: TF.LayersModel): Promise<{ modelJson: Uint8Array; weightsBin: Uint8Array }> {
  let files: { modelJson: Uint8Array; weightsBin: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData ?? new ArrayBuffer(0);
      const weights = tf.io.CompositeArrayBuffer.join(weightData);
      const json = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
      };
      files = { modelJson: new TextEncoder().encode(JSON.stringify(json)), weightsBin: new Uint8Array(weights) };
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!files) throw new Error('Autoencoder: TF.js did not hand over the model artifacts.');
  return files;
}

function parseModelJson(bytes: Uint8Array): { modelTopology: object; weightSpecs: TF.io.WeightsManifestEntry[] } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new ModelFormatError(`is not valid JSON (${(err as Error).message}).`, MODEL_JSON);
  }
  const j = json as { modelTopology?: unknown; weightsManifest?: unknown };
  if (!j || typeof j !== 'object' || !j.modelTopology || typeof j.modelTopology !== 'object') {
    throw new ModelFormatError('has no modelTopology: not a TF.js layers model.', MODEL_JSON);
  }
  if (!Array.isArray(j.weightsManifest)) throw new ModelFormatError('has no weightsManifest array.', MODEL_JSON);
  const weightSpecs: TF.io.WeightsManifestEntry[] = [];
  for (const group of j.weightsManifest as { paths?: unknown; weights?: unknown }[]) {
    if (!group || !Array.isArray(group.weights)) throw new ModelFormatError('has a weightsManifest group without weights.', MODEL_JSON);
    if (!Array.isArray(group.paths) || group.paths.length !== 1 || !/(^|\/)weights\.bin$/.test(String(group.paths[0]))) {
      throw new ModelFormatError(`weightsManifest must point at ./${WEIGHTS_BIN}, got ${JSON.stringify(group.paths)}.`, MODEL_JSON);
    }
    for (const w of group.weights as TF.io.WeightsManifestEntry[]) {
      const okShape = Array.isArray(w?.shape) && w.shape.every((s) => Number.isInteger(s) && s >= 0);
      if (!w || typeof w.name !== 'string' || !okShape || w.dtype !== 'float32' || w.quantization !== undefined) {
        throw new ModelFormatError(`has an invalid weight entry ${JSON.stringify(w)} (expected unquantised float32).`, MODEL_JSON);
      }
      weightSpecs.push(w);
    }
  }
  return { modelTopology: j.modelTopology as object, weightSpecs };
}

function parseHistory(h: unknown): AutoencoderHistory {
  const x = h as Partial<AutoencoderHistory> | undefined;
  const isNums = (a: unknown): a is number[] => Array.isArray(a) && a.every((v) => typeof v === 'number');
  if (!x || !isNums(x.loss) || !isNums(x.valLoss)) {
    throw new ModelFormatError('the autoencoder snapshot has no valid training history (params.history).');
  }
  return { loss: x.loss.slice(), valLoss: x.valLoss.slice() };
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE) of bytes: detects a corrupted weights.bin whose length is still right. */
function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Option validation
// ---------------------------------------------------------------------------------------------

function validateOptions(o: Readonly<Required<Omit<AutoencoderOptions, 'seed'>>>): void {
  const owner = 'Autoencoder';
  const isInt = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (!Array.isArray(o.hiddenLayers) || o.hiddenLayers.length === 0 || !o.hiddenLayers.every((u) => isInt(u, 1))) {
    throw optionError(owner, 'hiddenLayers', 'a non-empty array of positive integers', o.hiddenLayers);
  }
  if (typeof o.dropout !== 'number' || !(o.dropout >= 0 && o.dropout < 1)) {
    throw optionError(owner, 'dropout', 'a number in [0, 1)', o.dropout);
  }
  if (!isInt(o.epochs, 1)) throw optionError(owner, 'epochs', 'an integer >= 1', o.epochs);
  if (!isInt(o.batchSize, 1)) throw optionError(owner, 'batchSize', 'an integer >= 1', o.batchSize);
  if (typeof o.learningRate !== 'number' || !Number.isFinite(o.learningRate) || o.learningRate <= 0) {
    throw optionError(owner, 'learningRate', 'a finite number > 0', o.learningRate);
  }
  if (typeof o.validationSplit !== 'number' || !(o.validationSplit >= 0 && o.validationSplit < 1)) {
    throw optionError(owner, 'validationSplit', 'a number in [0, 1)', o.validationSplit);
  }
  if (!isInt(o.earlyStoppingPatience, 0)) {
    throw optionError(owner, 'earlyStoppingPatience', 'an integer >= 0', o.earlyStoppingPatience);
  }
  if (typeof o.onEpochEnd !== 'function') throw optionError(owner, 'onEpochEnd', 'a function', o.onEpochEnd);
  if (!ENGINES.includes(o.engine)) throw optionError(owner, 'engine', `one of ${ENGINES.map((e) => `'${e}'`).join(', ')}`, o.engine);
}
