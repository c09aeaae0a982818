import { createRequire } from 'node:module';
import { sep } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DetectorSnapshot } from '../../src/core/detector';
import { NotFittedError, ModelFormatError } from '../../src/core/errors';
import { row, type DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { calibrateThreshold } from '../../src/core/threshold';
import { stack } from '../support/data';
import { OneClassSvm, loadLibsvm, parseModelText } from '../../src/detectors/one-class-svm';

/** `n` rows of `d` independent standard normals. */
function blob(n: number, d: number, seed: number, scale = 1, shift = 0): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let k = 0; k < data.length; k++) data[k] = shift + scale * rng.standardNormal();
  return { rows: n, cols: d, data };
}


function rowsOf(m: DenseMatrix): Float64Array[] {
  return Array.from({ length: m.rows }, (_, i) => row(m, i));
}

describe('OneClassSvm', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('loads libsvm without printing the wasm "streaming compile failed" message', async () => {
    // Fresh copies of libsvm-js (its CommonJS files) and of our module, so this is a first load
    // whatever ran before in this process.
    const req = createRequire(import.meta.url);
    const dropLibsvm = () => {
      for (const k of Object.keys(req.cache)) if (k.includes(`${sep}libsvm-js${sep}`)) delete req.cache[k];
    };
    const seen: string[] = [];
    const record = (...args: unknown[]) => {
      seen.push(args.map(String).join(' '));
    };
    vi.spyOn(console, 'warn').mockImplementation(record);
    vi.spyOn(console, 'error').mockImplementation(record);
    vi.spyOn(console, 'log').mockImplementation(record);
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
      record(chunk);
      return true;
    });

    // control: a bare load prints the message, so the spies above can see it
    dropLibsvm();
    await req('libsvm-js/wasm');
    expect(seen.join('\n')).toMatch(/wasm streaming compile failed/);
    seen.length = 0;

    dropLibsvm();
    vi.resetModules();
    const fresh = await import('../../src/detectors/one-class-svm');
    await new fresh.OneClassSvm({ seed: 1 }).fit(blob(50, 3, 1));
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.join('\n')).not.toMatch(/wasm|falling back/);
  });

  it("agrees in sign with libsvm's own predict and has its nSV", async () => {
    const X = blob(600, 4, 11);
    const test = stack(blob(1500, 4, 12), blob(500, 4, 13, 2.5));
    const det = await new OneClassSvm({ nu: 0.1, seed: 0 }).fit(X);
    const dec = det.decisionFunction(test);

    const { SVM } = await loadLibsvm();
    const svm = new SVM({
      type: SVM.SVM_TYPES.ONE_CLASS,
      kernel: SVM.KERNEL_TYPES.RBF,
      nu: 0.1,
      gamma: 0.25,
      tolerance: 1e-3,
      cacheSize: 200,
      quiet: true,
    });
    let labels: number[];
    let text: string;
    try {
      svm.train(rowsOf(X), new Array(X.rows).fill(1));
      labels = svm.predict(rowsOf(test));
      text = svm.serializeModel();
    } finally {
      svm.free();
    }
    let agree = 0;
    for (let i = 0; i < test.rows; i++) if ((dec[i] > 0 ? 1 : -1) === labels[i]) agree++;
    expect(agree / test.rows).toBeGreaterThanOrEqual(0.999);
    expect(labels.filter((l) => l === -1).length).toBeGreaterThan(100); // both signs occur

    expect(det.nSupportVectors).toBe(Number(/total_sv (\d+)/.exec(text)![1]));
    expect(det.rho).toBeCloseTo(Number(/rho (\S+)/.exec(text)![1]), 4);
    expect(det.exportSnapshot().params.modelSource).toBe('exact');
    // anomalyScore is the negated decision function
    expect(Array.from(det.anomalyScore(test))).toEqual(Array.from(dec, (v) => -v));
  });

  it('scores planted outliers above a Gaussian blob', async () => {
    const inliers = blob(500, 5, 21);
    // scattered far points: each at radius 7 in a random direction
    const outliers = blob(10, 5, 22);
    for (let i = 0; i < 10; i++) {
      const r = row(outliers, i);
      const norm = Math.hypot(...r);
      for (let k = 0; k < 5; k++) r[k] *= 7 / norm;
    }
    const det = await new OneClassSvm({ contamination: 0.1, seed: 0 }).fit(stack(inliers, outliers));
    const sIn = Float64Array.from(det.anomalyScore(inliers)).sort();
    const sOut = det.anomalyScore(outliers);
    expect(Math.min(...sOut)).toBeGreaterThan(sIn[Math.floor(0.99 * sIn.length)]);
    expect(Array.from(det.predict(outliers))).toEqual(new Array(10).fill(1));
  });

  it('calibrates the threshold on the scores of every row passed to fit', async () => {
    const X = blob(300, 3, 31);
    const det = await new OneClassSvm({ contamination: 0.1, maxTrainRows: 120, seed: 5 }).fit(X);
    expect(det.trainingScores.length).toBe(300);
    expect(Array.from(det.trainingScores)).toEqual(Array.from(det.anomalyScore(X)));
    expect(det.threshold).toBe(calibrateThreshold(det.trainingScores, 0.1));
  });

  it('gives the same scores for the same seed', async () => {
    const X = blob(400, 3, 41);
    const a = await new OneClassSvm({ maxTrainRows: 150, seed: 9 }).fit(X);
    const b = await new OneClassSvm({ maxTrainRows: 150, seed: 9 }).fit(X);
    const c = await new OneClassSvm({ maxTrainRows: 150, seed: 10 }).fit(X);
    expect(a.anomalyScore(X)).toEqual(b.anomalyScore(X));
    expect(a.anomalyScore(X)).not.toEqual(c.anomalyScore(X));
    expect(a.seed).toBe(9);
  });

  it('trains on a seeded subsample of maxTrainRows rows', async () => {
    const X = blob(400, 3, 51);
    const full = await new OneClassSvm({ nu: 0.5, seed: 1 }).fit(X);
    expect(full.nSupportVectors).toBeGreaterThanOrEqual(200); // at least nu * n

    const sub = await new OneClassSvm({ nu: 0.5, maxTrainRows: 100, seed: 1 }).fit(X);
    expect(sub.nSupportVectors).toBeGreaterThanOrEqual(50);
    expect(sub.nSupportVectors).toBeLessThanOrEqual(100);
    const sv = sub.exportSnapshot().arrays.supportVectors as Float64Array;
    // every support vector is one of the training rows, bit for bit
    const keys = new Set(rowsOf(X).map((r) => r.join(',')));
    for (let j = 0; j < sub.nSupportVectors; j++) expect(keys.has(sv.subarray(j * 3, j * 3 + 3).join(','))).toBe(true);

    const again = await new OneClassSvm({ nu: 0.5, maxTrainRows: 100, seed: 1 }).fit(X);
    expect(again.exportSnapshot().arrays.supportVectors).toEqual(sv);
    const other = await new OneClassSvm({ nu: 0.5, maxTrainRows: 100, seed: 2 }).fit(X);
    expect(other.exportSnapshot().arrays.supportVectors).not.toEqual(sv);
  });

  it('resolves gamma "auto" to 1 / nFeatures', async () => {
    const X = blob(100, 7, 61);
    expect((await new OneClassSvm({ seed: 0 }).fit(X)).fittedGamma).toBe(1 / 7);
    expect((await new OneClassSvm({ gamma: 0.3, seed: 0 }).fit(X)).fittedGamma).toBe(0.3);
  });

  it('defaults nu to the contamination, or 0.1 for "auto"', () => {
    expect(new OneClassSvm().options.nu).toBe(0.1);
    expect(new OneClassSvm({ contamination: 0.05 }).options.nu).toBe(0.05);
    expect(new OneClassSvm({ contamination: 'auto' }).options.nu).toBe(0.1);
    expect(new OneClassSvm({ contamination: 0.05, nu: 0.2 }).options.nu).toBe(0.2);
    expect(new OneClassSvm().options).toMatchObject({ gamma: 'auto', tolerance: 1e-3, cacheSizeMb: 200, maxTrainRows: 20000 });
  });

  it('round-trips export/load with bit-identical scores', async () => {
    const X = blob(300, 4, 71);
    const test = blob(200, 4, 72, 2);
    const det = await new OneClassSvm({ nu: 0.2, seed: 3 }).fit(X);
    const snap = det.exportSnapshot();
    // what persistence does: params and options through JSON, arrays as binary
    const stored: DetectorSnapshot = {
      ...snap,
      options: JSON.parse(JSON.stringify(snap.options)),
      params: JSON.parse(JSON.stringify(snap.params)),
    };
    const loaded = await OneClassSvm.load(stored);
    expect(loaded.anomalyScore(test)).toEqual(det.anomalyScore(test));
    expect(loaded.anomalyScore(X)).toEqual(det.trainingScores);
    expect(loaded.threshold).toBe(det.threshold);
    expect(loaded.rho).toBe(det.rho);
    expect(Array.from(loaded.predict(test))).toEqual(Array.from(det.predict(test)));
  });

  it('refuses a foreign or inconsistent snapshot', async () => {
    const det = await new OneClassSvm({ seed: 0 }).fit(blob(60, 2, 81));
    const snap = det.exportSnapshot();
    await expect(OneClassSvm.load({ ...snap, className: 'IsolationForest' })).rejects.toThrow(ModelFormatError);
    const broken = { ...snap, arrays: { ...snap.arrays, dualCoef: new Float64Array(1) } };
    await expect(OneClassSvm.load(broken)).rejects.toThrow(ModelFormatError);
  });

  it('parses sparse, 1-based support vector lines of the libsvm model text', () => {
    const text = [
      'svm_type one_class',
      'kernel_type rbf',
      'gamma 0.333333',
      'nr_class 2',
      'total_sv 3',
      'rho 1.23457',
      'SV',
      '0.5 1:0.25 3:-1 ',
      '1 2:7 ',
      '0.125 ',
      '',
    ].join('\n');
    const m = parseModelText(text, 3);
    expect(m.rho).toBe(1.23457);
    expect(m.gamma).toBe(0.333333);
    expect(Array.from(m.dualCoef)).toEqual([0.5, 1, 0.125]);
    expect(Array.from(m.supportVectors)).toEqual([0.25, 0, -1, 0, 7, 0, 0, 0, 0]);
    expect(() => parseModelText(text.replace('3:-1', '4:-1'), 3)).toThrow(/support vector entry/);
  });

  it('throws NotFittedError before fit', () => {
    const det = new OneClassSvm();
    expect(() => det.anomalyScore([[0, 0]])).toThrow(NotFittedError);
    expect(() => det.nSupportVectors).toThrow(NotFittedError);
  });

  it('validates options with RangeError', () => {
    const bad: Record<string, unknown>[] = [
      { nu: 0 },
      { nu: 1 },
      { nu: 1.5 },
      { nu: Number.NaN },
      { gamma: 0 },
      { gamma: -1 },
      { gamma: 'scale' },
      { tolerance: 0 },
      { cacheSizeMb: -1 },
      { maxTrainRows: 1 },
      { maxTrainRows: 2.5 },
      { contamination: 0.7 },
      { seed: -1 },
    ];
    for (const o of bad) expect(() => new OneClassSvm(o as never), JSON.stringify(o)).toThrow(RangeError);
    expect(() => new OneClassSvm({ nu: 2 })).toThrow("The 'nu' option of OneClassSvm must be a number in (0, 1). Got 2.");
    expect(() => new OneClassSvm({ nu: 0.99, gamma: 1e-9, tolerance: 1e-6, maxTrainRows: 2 })).not.toThrow();
  });
});
