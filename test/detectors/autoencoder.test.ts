import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, type AutoencoderEpochInfo } from '../../src/detectors/autoencoder';
import { DataValidationError, FeatureMismatchError, ModelFormatError, NotFittedError } from '../../src/core/errors';
import { type DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { loadTf } from '../../src/core/tf';

/** n x d standard-normal rows; the first `nOutliers` rows are pushed far out. */
function gaussian(n: number, d: number, seed: number, nOutliers = 0): DenseMatrix {
  const r = new Random(seed);
  const data = new Float64Array(n * d);
  for (let k = 0; k < data.length; k++) data[k] = r.standardNormal();
  for (let i = 0; i < nOutliers; i++) for (let j = 0; j < d; j++) data[i * d + j] = (j % 2 ? -1 : 1) * (5 + r.random());
  return { rows: n, cols: d, data };
}

const X = gaussian(400, 6, 1, 12);
const FAST = { epochs: 4, seed: 7 } as const;
const fitted: Autoencoder[] = [];

async function fit(options: ConstructorParameters<typeof Autoencoder>[0], data: DenseMatrix = X): Promise<Autoencoder> {
  const ae = await new Autoencoder(options).fit(data);
  fitted.push(ae);
  return ae;
}

afterAll(() => fitted.forEach((ae) => ae.dispose()));

describe('Autoencoder', () => {
  it('scores planted outliers above the inliers', async () => {
    const ae = await fit(FAST);
    const s = ae.anomalyScore(X);
    expect(s).toHaveLength(X.rows);
    expect(s.every(Number.isFinite)).toBe(true);
    const inliers = Array.from(s.subarray(12)).sort((a, b) => a - b);
    const p95 = inliers[Math.floor(0.95 * inliers.length)];
    for (let i = 0; i < 12; i++) expect(s[i]).toBeGreaterThan(p95);
    expect(ae.trainingScores).toEqual(s);
    expect(Array.from(ae.predict(X))).toEqual(Array.from(s, (v) => (v > ae.threshold ? 1 : 0)));
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const a = await fit(FAST);
    const b = await fit(FAST);
    const c = await fit({ ...FAST, seed: 8 });
    expect(b.anomalyScore(X)).toEqual(a.anomalyScore(X));
    expect(b.history).toEqual(a.history);
    expect(c.anomalyScore(X)).not.toEqual(a.anomalyScore(X));
    expect(c.history.loss).not.toEqual(a.history.loss);
  });

  it('records a drawn seed that reproduces the model', async () => {
    const a = await fit({ epochs: 2 });
    const b = await fit({ epochs: 2, seed: a.seed });
    expect(b.anomalyScore(X)).toEqual(a.anomalyScore(X));
  });

  it('round-trips through a JSON-safe snapshot with bit-identical scores', async () => {
    const ae = await fit({ ...FAST, onEpochEnd: () => {} });
    const snap = ae.exportSnapshot();
    expect(snap.className).toBe('Autoencoder');
    expect(snap.options.onEpochEnd).toBeUndefined();
    expect(JSON.parse(JSON.stringify({ options: snap.options, params: snap.params }))).toEqual({
      options: snap.options,
      params: snap.params,
    });
    const modelJson = JSON.parse(new TextDecoder().decode(snap.files['model.json']));
    expect(modelJson.modelTopology).toBeTypeOf('object');
    expect(modelJson.weightsManifest[0].paths).toEqual(['./weights.bin']);
    expect(snap.files['weights.bin'].byteLength).toBeGreaterThan(0);

    const loaded = await Autoencoder.load(snap);
    fitted.push(loaded);
    const before = ae.anomalyScore(X);
    const after = loaded.anomalyScore(X);
    for (let i = 0; i < before.length; i++) expect(Object.is(after[i], before[i])).toBe(true);
    expect(loaded.threshold).toBe(ae.threshold);
    expect(loaded.history).toEqual(ae.history);
    expect(() => loaded.trainingScores).toThrow(NotFittedError);
  });

  it('calls onEpochEnd once per epoch and keeps one loss per epoch', async () => {
    const calls: AutoencoderEpochInfo[] = [];
    const ae = await fit({ ...FAST, onEpochEnd: (info) => calls.push(info) });
    expect(calls.map((c) => c.epoch)).toEqual([1, 2, 3, 4]);
    expect(calls.every((c) => c.epochs === 4 && c.seconds >= 0 && Number.isFinite(c.loss))).toBe(true);
    expect(calls.map((c) => c.loss)).toEqual(ae.history.loss);
    expect(calls.map((c) => c.valLoss)).toEqual(ae.history.valLoss);
    expect(ae.history.valLoss).toHaveLength(4);
  });

  it('never trains on the validation rows', async () => {
    const data = gaussian(120, 4, 3);
    const opts = { epochs: 2, seed: 5, validationSplit: 0.5 };
    const base = await fit(opts, data);
    let heldOut = 0;
    for (let i = 0; i < 12; i++) {
      const changed = { rows: data.rows, cols: data.cols, data: data.data.slice() };
      changed.data[i * 4] += 3;
      const ae = await fit(opts, changed);
      if (ae.history.loss.every((l, e) => l === base.history.loss[e])) {
        heldOut++; // the change left training untouched: row i is a validation row...
        expect(ae.history.valLoss).not.toEqual(base.history.valLoss); // ...and it is validated on
      }
      ae.dispose();
    }
    expect(heldOut).toBeGreaterThan(0);
    expect(heldOut).toBeLessThan(12);

    const noVal = await fit({ epochs: 2, seed: 5, validationSplit: 0 }, data);
    expect(noVal.history.valLoss).toEqual([]);
    expect(noVal.history.loss).toHaveLength(2);
  });

  it('stops early on a plateau and restores the best weights', async () => {
    const data = gaussian(300, 5, 11);
    const opts = { seed: 5, epochs: 60, learningRate: 0.05 };
    const ae = await fit({ ...opts, earlyStoppingPatience: 2 }, data);
    const v = ae.history.valLoss;
    const bestEpoch = v.indexOf(Math.min(...v)) + 1;
    expect(v.length).toBeLessThan(60);
    expect(v.length).toBe(bestEpoch + 2);
    // Training is deterministic, so the restored weights equal a run that ends at the best epoch.
    const short = await fit({ ...opts, epochs: bestEpoch }, data);
    expect(ae.anomalyScore(data)).toEqual(short.anomalyScore(data));
  });

  it('gives per-feature reconstruction errors whose row means are the scores', async () => {
    const ae = await fit(FAST);
    const e = ae.reconstructionErrors(X);
    expect([e.rows, e.cols]).toEqual([X.rows, X.cols]);
    const s = ae.anomalyScore(X);
    for (let i = 0; i < X.rows; i++) {
      let sum = 0;
      for (let j = 0; j < X.cols; j++) sum += e.data[i * X.cols + j];
      expect(sum / X.cols).toBe(s[i]);
    }
    expect(() => ae.reconstructionErrors([[1, 2]])).toThrow(FeatureMismatchError);
    expect(ae.reconstructionErrors([]).rows).toBe(0);
  });

  it('validates its options', () => {
    expect(() => new Autoencoder({ epochs: 0 })).toThrow("The 'epochs' option of Autoencoder must be an integer >= 1. Got 0.");
    expect(() => new Autoencoder({ hiddenLayers: [] })).toThrow(RangeError);
    expect(() => new Autoencoder({ hiddenLayers: [8, 2.5] })).toThrow(/hiddenLayers/);
    expect(() => new Autoencoder({ dropout: 1 })).toThrow(/dropout/);
    expect(() => new Autoencoder({ batchSize: -1 })).toThrow(/batchSize/);
    expect(() => new Autoencoder({ learningRate: 0 })).toThrow(/learningRate/);
    expect(() => new Autoencoder({ validationSplit: 1 })).toThrow(/validationSplit/);
    expect(() => new Autoencoder({ earlyStoppingPatience: 1.5 })).toThrow(/earlyStoppingPatience/);
    expect(() => new Autoencoder({ contamination: 0.7 })).toThrow(/contamination/);
    expect(() => new Autoencoder({ onEpochEnd: 3 as never })).toThrow(/onEpochEnd/);
    const ae = new Autoencoder();
    expect(ae.options.hiddenLayers).toEqual([64, 32, 16, 8, 16, 32, 64]);
    expect([ae.options.epochs, ae.options.batchSize, ae.options.dropout, ae.options.validationSplit]).toEqual([30, 32, 0.2, 0.1]);
    expect(ae.minTrainRows()).toBe(32);
    expect(new Autoencoder({ batchSize: 1 }).minTrainRows()).toBe(2);
  });

  it('guards fitted state, input shape and row count', async () => {
    expect(() => new Autoencoder().anomalyScore(X)).toThrow(NotFittedError);
    expect(() => new Autoencoder().history).toThrow(NotFittedError);
    await expect(new Autoencoder({ batchSize: 50 }).fit(gaussian(40, 3, 1))).rejects.toThrow(DataValidationError);
    const ae = await fit({ epochs: 1, seed: 1 });
    expect(() => ae.anomalyScore([[1, 2, 3]])).toThrow(FeatureMismatchError);
    ae.dispose();
    expect(() => ae.anomalyScore(X)).toThrow(NotFittedError);
    expect(ae.exportSnapshot().files['weights.bin'].byteLength).toBeGreaterThan(0);
  });

  it('refuses corrupted or truncated files with ModelFormatError', async () => {
    const ae = await fit({ epochs: 1, seed: 2 });
    const snap = ae.exportSnapshot();
    const withFiles = (files: Record<string, Uint8Array>) => ({ ...snap, files: { ...snap.files, ...files } });
    const bin = snap.files['weights.bin'];
    const json = snap.files['model.json'];

    await expect(Autoencoder.load(withFiles({ 'weights.bin': bin.slice(0, bin.length - 8) }))).rejects.toThrow(ModelFormatError);
    const flipped = bin.slice();
    flipped[100] ^= 0xff;
    await expect(Autoencoder.load(withFiles({ 'weights.bin': flipped }))).rejects.toThrow(/checksum/);
    const nan = bin.slice();
    new DataView(nan.buffer).setFloat32(0, NaN, true);
    const noCrc = { ...withFiles({ 'weights.bin': nan }), params: { ...snap.params, weightsCrc32: undefined } };
    await expect(Autoencoder.load(noCrc)).rejects.toThrow(/non-finite/);
    await expect(Autoencoder.load(withFiles({ 'model.json': json.slice(0, json.length / 2) }))).rejects.toThrow(ModelFormatError);
    const garbled = new TextEncoder().encode(JSON.stringify({ modelTopology: { nonsense: true }, weightsManifest: [] }));
    await expect(Autoencoder.load(withFiles({ 'model.json': garbled }))).rejects.toThrow(ModelFormatError);
    const { ['weights.bin']: _drop, ...noWeights } = snap.files;
    await expect(Autoencoder.load({ ...snap, files: noWeights })).rejects.toThrow(/weights\.bin/);
    await expect(Autoencoder.load({ ...snap, className: 'IsolationForest' })).rejects.toThrow(ModelFormatError);
  });

  it('keeps TF.js memory flat across fit, score and dispose', async () => {
    const tf = await loadTf();
    const before = tf.memory().numTensors;
    const ae = await new Autoencoder({ epochs: 2, seed: 3 }).fit(X);
    ae.anomalyScore(X);
    ae.reconstructionErrors(X);
    const loaded = await Autoencoder.load(ae.exportSnapshot());
    ae.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
