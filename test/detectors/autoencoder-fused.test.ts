import { afterAll, describe, expect, it } from 'vitest';
import { Autoencoder, resolveEngine, type AutoencoderOptions } from '../../src/detectors/autoencoder';
import { FusedMlp, HelperPolicy, helperLayers } from '../../src/detectors/autoencoder-fused';
import { type DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';

function gaussian(n: number, d: number, seed: number): DenseMatrix {
  const r = new Random(seed);
  const data = new Float64Array(n * d);
  for (let k = 0; k < data.length; k++) data[k] = r.standardNormal();
  return { rows: n, cols: d, data };
}

const X = gaussian(240, 6, 3);
const fitted: Autoencoder[] = [];

async function fit(options: AutoencoderOptions, data: DenseMatrix = X): Promise<Autoencoder> {
  const ae = await new Autoencoder(options).fit(data);
  fitted.push(ae);
  return ae;
}

function weightsOf(ae: Autoencoder): Float32Array[] {
  return ae.model.getWeights().map((w) => w.dataSync() as Float32Array);
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-2): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(floor, Math.abs(a[i]), Math.abs(b[i])));
  return worst;
}

afterAll(() => fitted.forEach((ae) => ae.dispose()));

describe('Autoencoder fused engine', () => {
  it('agrees with the TF.js engine without dropout: losses per epoch and final weights', async () => {
    const opts: AutoencoderOptions = { seed: 11, epochs: 3, dropout: 0 };
    const tfjs = await fit({ ...opts, engine: 'tfjs' });
    const fused = await fit({ ...opts, engine: 'fused' });
    expect(fused.history.loss).toHaveLength(3);
    expect(maxRelDiff(fused.history.loss, tfjs.history.loss, 0)).toBeLessThan(1e-4);
    expect(maxRelDiff(fused.history.valLoss, tfjs.history.valLoss, 0)).toBeLessThan(1e-4);
    const wt = weightsOf(tfjs);
    const wf = weightsOf(fused);
    expect(wf.map((w) => w.length)).toEqual(wt.map((w) => w.length));
    // relative 1e-4 (absolute 1e-6 for weights near 0): float32 vs float64 rounding over ~20 Adam steps
    for (let k = 0; k < wt.length; k++) expect(maxRelDiff(wf[k], wt[k])).toBeLessThan(1e-4);
    // the scores, computed by TF.js from those weights, agree as closely
    expect(maxRelDiff(fused.anomalyScore(X), tfjs.anomalyScore(X), 0)).toBeLessThan(1e-4);
  });

  it('uses the same dropout masks: with dropout on, both engines follow the same trajectory', async () => {
    const opts: AutoencoderOptions = { seed: 5, epochs: 6, dropout: 0.2 };
    const tfjs = await fit({ ...opts, engine: 'tfjs' });
    const fused = await fit({ ...opts, engine: 'fused' });
    // the same masks in the same order: the trajectories agree to float32 rounding, as without dropout
    const lf = fused.history.loss.at(-1)!;
    expect(lf).toBeLessThan(fused.history.loss[0]);
    expect(maxRelDiff(fused.history.loss, tfjs.history.loss, 0)).toBeLessThan(1e-4);
    expect(maxRelDiff(fused.history.valLoss, tfjs.history.valLoss, 0)).toBeLessThan(1e-4);
    const wt = weightsOf(tfjs);
    const wf = weightsOf(fused);
    for (let k = 0; k < wt.length; k++) expect(maxRelDiff(wf[k], wt[k])).toBeLessThan(1e-3);
  });

  it('is deterministic: the same seed gives identical weights, history and files', async () => {
    const opts: AutoencoderOptions = { seed: 9, epochs: 2, engine: 'fused' };
    const a = await fit(opts);
    const b = await fit(opts);
    const c = await fit({ ...opts, seed: 10 });
    expect(b.history).toEqual(a.history);
    expect(weightsOf(b)).toEqual(weightsOf(a));
    expect(b.exportSnapshot().files).toEqual(a.exportSnapshot().files);
    expect(weightsOf(c)).not.toEqual(weightsOf(a));
  });

  it('saves model files in the same format as the TF.js engine', async () => {
    const opts: AutoencoderOptions = { seed: 4, epochs: 1 };
    const snapT = (await fit({ ...opts, engine: 'tfjs' })).exportSnapshot();
    const snapF = (await fit({ ...opts, engine: 'fused' })).exportSnapshot();
    const json = (s: typeof snapT) => JSON.parse(new TextDecoder().decode(s.files['model.json']));
    expect(json(snapF)).toEqual(json(snapT));
    expect(snapF.files['weights.bin'].byteLength).toBe(snapT.files['weights.bin'].byteLength);
    const loaded = await Autoencoder.load(snapF);
    fitted.push(loaded);
    expect(loaded.options.engine).toBe('fused');
  });

  it('restores the best weights with early stopping, as a run that ends at the best epoch', async () => {
    const data = gaussian(300, 5, 11);
    const opts: AutoencoderOptions = { seed: 5, epochs: 40, learningRate: 0.05, engine: 'fused' };
    const ae = await fit({ ...opts, earlyStoppingPatience: 2 }, data);
    const v = ae.history.valLoss;
    const bestEpoch = v.indexOf(Math.min(...v)) + 1;
    expect(v.length).toBe(bestEpoch + 2);
    const short = await fit({ ...opts, epochs: bestEpoch }, data);
    expect(weightsOf(ae)).toEqual(weightsOf(short));
  });

  it("validates the option and resolves 'auto' by backend", () => {
    expect(() => new Autoencoder({ engine: 'gpu' as never })).toThrow(/engine/);
    expect(new Autoencoder().options.engine).toBe('auto');
    expect(resolveEngine('auto', 'tensorflow')).toBe('tfjs');
    expect(resolveEngine('auto', 'wasm')).toBe('fused');
    expect(resolveEngine('auto', 'cpu')).toBe('fused');
    expect(resolveEngine('tfjs', 'wasm')).toBe('tfjs');
    expect(resolveEngine('fused', 'tensorflow')).toBe('fused');
  });
});

describe('FusedMlp', () => {
  /** A tiny net with random weights, inputs and dropout masks. */
  function tinyNet(specialise: boolean): FusedMlp {
    const net = new FusedMlp({ sizes: [3, 5, 4, 2, 4, 3], maxBatch: 6, dropoutLayers: 2, learningRate: 1e-3 }, { specialise });
    const r = new Random(17);
    for (let k = 0; k < net.params.length; k++) net.params[k] = r.normal(0, 0.7);
    for (let k = 0; k < net.input.length; k++) net.input[k] = r.standardNormal();
    for (const m of net.masks) for (let k = 0; k < m.length; k++) m[k] = r.random() < 0.25 ? 0 : 4 / 3;
    return net;
  }

  it.each([true, false])('backward matches finite differences (specialised kernel: %s)', (specialise) => {
    const net = tinyNet(specialise);
    if (specialise) expect(net.specialised).toBe(true);
    const b = 5;
    const { grads } = net.gradient(b);
    const h = 1e-6;
    let checked = 0;
    for (let k = 0; k < net.params.length; k++) {
      const w = net.params[k];
      net.params[k] = w + h;
      const up = net.gradient(b).loss;
      net.params[k] = w - h;
      const down = net.gradient(b).loss;
      net.params[k] = w;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(numeric - grads[k])).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
      if (grads[k] !== 0) checked++;
    }
    expect(checked).toBeGreaterThan(net.params.length / 3); // not a vacuous check on a dead net
  });

  it('runs the same arithmetic, in the same order, in the WebAssembly, the generated and the generic kernel', () => {
    for (const sizes of [
      [3, 5, 4, 2, 4, 3],
      [10, 64, 32, 16, 8, 16, 32, 64, 10], // the default layers: 8-wide blocks and remainders
      [7, 9, 1, 7],
      [13, 6, 11, 5, 13], // widths of every remainder of 4
      [57, 64, 32, 16, 8, 16, 32, 64, 57],
    ]) {
      const make = (kind: 'wasm' | 'js' | 'generic') => {
        const net = new FusedMlp({ sizes, maxBatch: 6, dropoutLayers: 2, learningRate: 1e-2 }, { specialise: kind !== 'generic', wasm: kind === 'wasm' });
        const r = new Random(3);
        for (let k = 0; k < net.params.length; k++) net.params[k] = r.normal(0, 0.5);
        for (const m of net.masks) for (let k = 0; k < m.length; k++) m[k] = r.random() < 0.2 ? 0 : 1.25;
        return net;
      };
      const nets = [make('wasm'), make('js'), make('generic')];
      expect(nets[0].wasm).toBe(true); // Node >= 20: WebAssembly SIMD is there
      expect(nets[1].wasm).toBe(false);
      expect(nets[1].specialised).toBe(true);
      const r = new Random(4);
      for (let s = 0; s < 15; s++) {
        const input = Float64Array.from({ length: nets[0].input.length }, () => r.standardNormal());
        for (const net of nets) net.input.set(input);
        const rows = 1 + (s % 6); // partial batches too
        const losses = nets.map((net) => net.trainStep(rows));
        expect(losses[0]).toBe(losses[2]);
        expect(losses[1]).toBe(losses[2]);
      }
      expect(Array.from(nets[0].params)).toEqual(Array.from(nets[2].params));
      expect(Array.from(nets[1].params)).toEqual(Array.from(nets[2].params));
      const x = Float64Array.from({ length: 13 * sizes[0] }, () => r.standardNormal());
      const mse = nets.map((net) => net.sumRowMse(x, 13));
      expect(mse[0]).toBe(mse[2]);
      expect(mse[1]).toBe(mse[2]);
    }
  });

  it.each([true, false])('trains the same with the next batch written during each step (prepareNext; specialised: %s)', (specialise) => {
    const sizes = [4, 6, 3, 6, 4];
    const make = () => {
      const net = new FusedMlp({ sizes, maxBatch: 5, dropoutLayers: 2, learningRate: 1e-2 }, { specialise });
      const r = new Random(8);
      for (let k = 0; k < net.params.length; k++) net.params[k] = r.normal(0, 0.5);
      return net;
    };
    // batches of 5, 5, 3 rows with their masks, drawn up front
    const r = new Random(9);
    const batches = [5, 5, 3, 5].map((rows) => ({
      rows,
      input: Float64Array.from({ length: 5 * sizes[0] }, () => r.standardNormal()),
      masks: [6, 3].map((u) => Float64Array.from({ length: 5 * u }, () => (r.random() < 0.3 ? 0 : 1 / 0.7))),
    }));
    const put = (t: number, input: Float64Array, masks: Float64Array[]) => {
      input.set(batches[t].input);
      masks.forEach((m, k) => m.set(batches[t].masks[k]));
    };
    const plain = make();
    const ahead = make();
    const lossPlain: number[] = [];
    const lossAhead: number[] = [];
    for (let t = 0; t < batches.length; t++) {
      put(t, plain.input, plain.masks);
      lossPlain.push(plain.trainStep(batches[t].rows));
    }
    put(0, ahead.input, ahead.masks);
    for (let t = 0; t < batches.length; t++) {
      const next = t + 1 < batches.length ? (input: Float64Array, masks: Float64Array[]) => put(t + 1, input, masks) : undefined;
      lossAhead.push(ahead.trainStep(batches[t].rows, next));
      if (next) expect(Array.from(ahead.input)).toEqual(Array.from(batches[t + 1].input)); // now current
    }
    expect(lossAhead).toEqual(lossPlain);
    expect(ahead.params).toEqual(plain.params);
  });

  it('finishes a step alone, with the same result, when the helper is gone before doing its rows', async () => {
    const sizes = [4, 6, 3, 6, 4];
    const make = (shared: boolean) => {
      const net = new FusedMlp({ sizes, maxBatch: 5, dropoutLayers: 2, learningRate: 1e-2 }, { shared });
      const r = new Random(12);
      for (let k = 0; k < net.params.length; k++) net.params[k] = r.normal(0, 0.5);
      for (let k = 0; k < net.input.length; k++) net.input[k] = r.standardNormal();
      for (const m of net.masks) for (let k = 0; k < m.length; k++) m[k] = r.random() < 0.3 ? 0 : 1 / 0.7;
      return net;
    };
    const alone = make(false);
    expect(alone.buffers()).toBeUndefined();
    const lossAlone = [alone.trainStep(5), alone.trainStep(4)];
    const net = make(true);
    const buffers = net.buffers()!;
    expect(buffers.params.buffer).toBeInstanceOf(SharedArrayBuffer);
    // a helper says it is ready (control slot 0 = 1), then dies before its rows: another thread
    // marks it gone (slot 0 = 2, waking the row-pass counter, slot 4) while this step waits for it
    Atomics.store(buffers.ctl, 0, 1);
    const { Worker } = await import('node:worker_threads');
    const killer = new Worker(
      "const { workerData } = require('node:worker_threads'); setTimeout(() => { Atomics.store(workerData.ctl, 0, 2); Atomics.notify(workerData.ctl, 4); }, 30);",
      { eval: true, workerData: { ctl: buffers.ctl } },
    );
    const loss = [net.trainStep(5), net.trainStep(4)]; // the second runs alone
    await killer.terminate();
    expect(loss).toEqual(lossAlone);
    expect(Array.from(net.params)).toEqual(Array.from(alone.params));
    expect(net.splitSteps).toBe(0);
  });

  it('splits the weight pass between the threads by about half the cost', () => {
    const helper = helperLayers([10, 64, 32, 16, 8, 16, 32, 64, 10]);
    expect(helper).toHaveLength(8);
    expect(helper.filter(Boolean).length).toBeGreaterThan(0);
    expect(helper.filter((h) => !h).length).toBeGreaterThan(0);
    // the two 2,048-weight layers go one to each thread
    expect(helper[1]).not.toBe(helper[6]);
  });

  it('takes Adam steps with bias correction as tf.train.adam', () => {
    const net = new FusedMlp({ sizes: [1, 1], maxBatch: 1, dropoutLayers: 0, learningRate: 0.1 }, { specialise: false });
    net.params.set([0.5, 0]); // y = 0.5 x
    net.input[0] = 2;
    // loss (0.5 * 2 - 2)^2 = 1, d/dw = 2 (wx - x) x = -4, d/db = -2; step 1 of Adam moves each by lr
    expect(net.trainStep(1)).toBe(1);
    expect(net.params[0]).toBeCloseTo(0.6, 6);
    expect(net.params[1]).toBeCloseTo(0.1, 6);
    expect(net.steps).toBe(1);
  });
});

describe('HelperPolicy', () => {
  /** Run `steps` steps whose duration depends on the mode; returns the share of shared steps. */
  function run(policy: HelperPolicy, steps: number, ms: (split: boolean, step: number) => number): number {
    let shared = 0;
    for (let t = 0; t < steps; t++) {
      const split = policy.split();
      if (split) shared++;
      policy.record(split, ms(split, t));
    }
    return shared / steps;
  }

  it('shares the steps while that is faster, and stops when it is slower (a busy machine), following changes', () => {
    // an idle core: shared steps take 0.6x
    const idle = new HelperPolicy('auto');
    expect(run(idle, 20_000, (split) => (split ? 0.6 : 1))).toBeGreaterThan(0.95);
    // a busy machine: shared steps take 3x; the measuring costs under 3% of the steps
    const busy = new HelperPolicy('auto');
    expect(run(busy, 20_000, (split) => (split ? 3 : 1))).toBeLessThan(0.03);
    // busy for the first half, idle after: most of the second half is shared again
    const changing = new HelperPolicy('auto');
    run(changing, 10_000, (split) => (split ? 3 : 1));
    expect(run(changing, 10_000, (split) => (split ? 0.6 : 1))).toBeGreaterThan(0.8);
    // a tie (within 5%) keeps the steps alone
    const tie = new HelperPolicy('auto');
    expect(run(tie, 20_000, (split) => (split ? 0.97 : 1))).toBeLessThan(0.03);
  });

  it('is forced by its mode', () => {
    expect(run(new HelperPolicy('always'), 1000, (split) => (split ? 9 : 1))).toBe(1);
    expect(run(new HelperPolicy('never'), 1000, (split) => (split ? 0.1 : 1))).toBe(0);
  });
});
