/**
 * Finite scores for every finite input (property tests with fast-check). Extreme finite values
 * (up to 1.7976931348623157e308, subnormals, -0) go through every detector and the ensemble:
 * - a detector alone returns finite scores or throws a DataValidationError naming the row, never
 *   a NaN or an infinity;
 * - the ensemble (which caps standardised values) always returns finite scores, and a row far
 *   outside the training data is never called normal;
 * - training on the same data in other units (x 1e-300 ... x 1e300) gives the same model.
 * These properties hold any kernel (distances, the SVM's RBF, the autoencoder's float32 passes)
 * to the contract, whatever its implementation.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BaseDetector } from '../../src/core/detector';
import { DataValidationError } from '../../src/core/errors';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { generateTraffic } from '../../src/data/generator';
import { Autoencoder } from '../../src/detectors/autoencoder';
import { IsolationForest } from '../../src/detectors/isolation-forest';
import { LocalOutlierFactor } from '../../src/detectors/local-outlier-factor';
import { OneClassSvm } from '../../src/detectors/one-class-svm';
import { AnomalyEnsemble, MAX_SCALED_VALUE } from '../../src/ensemble/ensemble';
import { StandardScaler } from '../../src/preprocess/standard-scaler';
import { nal } from '../support/cli';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const D = 4;

/** Finite doubles with the extremes over-represented. */
const extreme = fc.oneof(
  { weight: 3, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      0,
      -0,
      1e308,
      -1e308,
      1e300,
      1e154,
      -1e154,
      1e-300,
      2 ** 53,
      1e9,
    ),
  },
  { weight: 2, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
);
/** A batch of 1-6 rows of D finite values. */
const rowsOf = (d: number) => fc.array(fc.array(extreme, { minLength: d, maxLength: d }), { minLength: 1, maxLength: 6 });
const toMatrix = (rows: number[][]): DenseMatrix => ({ rows: rows.length, cols: rows[0].length, data: Float64Array.from(rows.flat()) });

function blob(n: number, d: number, seed: number): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, 1);
  return { rows: n, cols: d, data };
}

type AnyDetector = BaseDetector<any, any>;
const DETECTORS: [string, () => AnyDetector, number][] = [
  ['IsolationForest', () => new IsolationForest({ seed: 1 }), 150],
  ['OneClassSvm', () => new OneClassSvm({ seed: 1 }), 150],
  ['LocalOutlierFactor', () => new LocalOutlierFactor({ seed: 1, nNeighbors: 10 }), 150],
  ['Autoencoder', () => new Autoencoder({ seed: 1, epochs: 2 }), 40],
];

describe.each(DETECTORS)('%s alone: finite scores or an error naming the row', (_name, make, runs) => {
  let det: AnyDetector;
  beforeAll(async () => {
    det = await make().fit(blob(120, D, 3));
  });

  it('for any finite rows, including 1.7976931348623157e308, subnormals and -0', () => {
    fc.assert(
      fc.property(rowsOf(D), (rows) => {
        const X = toMatrix(rows);
        let scores: Float64Array;
        try {
          scores = det.anomalyScore(X);
        } catch (e) {
          expect(e).toBeInstanceOf(DataValidationError);
          const row = (e as DataValidationError).row!;
          expect(row).toBeGreaterThanOrEqual(1);
          expect(row).toBeLessThanOrEqual(rows.length);
          expect((e as Error).message).toMatch(/non-finite anomaly score/);
          return;
        }
        expect(scores.length).toBe(rows.length);
        for (const s of scores) expect(Number.isFinite(s)).toBe(true);
      }),
      { numRuns: runs, seed: 42 },
    );
  });
});

describe('the ensemble: finite scores for every finite input, and an extreme row is never normal', () => {
  let ens: AnomalyEnsemble;
  let train: ReturnType<typeof generateTraffic>;
  beforeAll(async () => {
    train = generateTraffic({ rows: 300, anomalyRatio: 0.05, seed: 4 });
    ens = await new AnomalyEnsemble({ seed: 2, autoencoder: { epochs: 2 } }).fit(train);
  });

  it('any finite rows give finite scores from every detector and a finite ensemble score', () => {
    fc.assert(
      fc.property(rowsOf(train.X.cols), (rows) => {
        const r = ens.detect(toMatrix(rows), train.features);
        for (const d of r.detectors) for (const s of r.scores[d]!) expect(Number.isFinite(s), `${d} ${s}`).toBe(true);
        for (const s of r.ensembleScore) expect(Number.isFinite(s)).toBe(true);
        for (const c of r.confidence) expect(Number.isFinite(c)).toBe(true);
      }),
      { numRuns: 60, seed: 7 },
    );
  });

  it('a row with any value a million training standard deviations out is flagged', () => {
    const scaler = new StandardScaler().fit(train.X);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: train.X.cols - 1 }), fc.integer({ min: 0, max: 299 }), extreme, (j, i, v) => {
        const row = Array.from(train.X.data.subarray(i * train.X.cols, (i + 1) * train.X.cols));
        row[j] = v;
        const z = Math.abs((v - scaler.mean[j]) / scaler.scale[j]);
        fc.pre(z > 1e6);
        const r = ens.detect(toMatrix([row]), train.features);
        expect(Number.isFinite(r.ensembleScore[0])).toBe(true);
        expect(r.isAnomaly[0]).toBe(1);
      }),
      { numRuns: 60, seed: 9 },
    );
  });

  it(`standardised values are capped at ${MAX_SCALED_VALUE}, never beyond, and a training row is never capped`, () => {
    const Xs = ens.scale(toMatrix([[Number.MAX_VALUE, -Number.MAX_VALUE, 0, 1, 2, 3, 4, 5, 6, 7]]), train.features);
    expect(Xs.data[0]).toBe(MAX_SCALED_VALUE);
    expect(Xs.data[1]).toBe(-MAX_SCALED_VALUE);
    const Ts = ens.scale(train);
    for (const v of Ts.data) expect(Math.abs(v)).toBeLessThan(Math.sqrt(train.X.rows));
  });
});

describe('the same data in other units trains the same model', () => {
  const base = generateTraffic({ rows: 300, anomalyRatio: 0.1, seed: 6 });
  const scaled = (k: number) => ({ ...base, X: { ...base.X, data: base.X.data.map((v) => v * k) } });

  it.each([1e300, 1e100, 1e20, 1e-20, 1e-100, 1e-300])('x %s: finite statistics, the same standardised values, the same anomalies', async (k) => {
    const s0 = new StandardScaler().fit(base.X);
    const s1 = new StandardScaler().fit(scaled(k).X);
    for (const v of [...s1.mean, ...s1.scale]) expect(Number.isFinite(v)).toBe(true);
    const z0 = s0.transform(base.X).data;
    const z1 = s1.transform(scaled(k).X).data;
    for (let i = 0; i < z0.length; i++) expect(Math.abs(z1[i] - z0[i])).toBeLessThan(1e-9 * Math.max(1, Math.abs(z0[i])));
    const opts = { seed: 3, detectors: ['isolationForest', 'localOutlierFactor'] as const };
    const e0 = await new AnomalyEnsemble({ ...opts, detectors: [...opts.detectors] }).fit(base);
    const e1 = await new AnomalyEnsemble({ ...opts, detectors: [...opts.detectors] }).fit(scaled(k));
    const r0 = e0.detect(base);
    const r1 = e1.detect(scaled(k));
    let same = 0;
    for (let i = 0; i < base.X.rows; i++) same += r0.isAnomaly[i] === r1.isAnomaly[i] ? 1 : 0;
    expect(same / base.X.rows).toBeGreaterThanOrEqual(0.99);
    expect(r1.isAnomaly.reduce((a, b) => a + b, 0)).toBeGreaterThan(10); // not a model that flags nothing
  });

  it('a training column spanning the whole float64 range (+-1.8e308, where x - mean overflows) trains a finite model', async () => {
    const d = base.X.data.slice();
    for (let i = 0; i < base.X.rows; i++) d[i * base.X.cols + 2] = (i % 2 ? 1 : -1) * Number.MAX_VALUE * (0.5 + (i % 7) / 14);
    const wide = { ...base, X: { ...base.X, data: d } };
    const ens = await new AnomalyEnsemble({ seed: 1, autoencoder: { epochs: 2 } }).fit(wide);
    const r = ens.detect(wide);
    for (const det of r.detectors) for (const v of r.scores[det]!) expect(Number.isFinite(v)).toBe(true);
    for (const v of r.ensembleScore) expect(Number.isFinite(v)).toBe(true);
    for (const v of ens.scale(wide).data) expect(Number.isFinite(v)).toBe(true);
  });

  it('a column constant up to rounding noise is still constant; a column of tiny distinct values is not', () => {
    const X: DenseMatrix = { rows: 4, cols: 2, data: Float64Array.from([0.1 + 0.2, 3e-301, 0.3, 1e-301, 0.30000000000000004, 2e-301, 0.3, 4e-301]) };
    const s = new StandardScaler().fit(X);
    expect(s.scale[0]).toBe(1);
    expect(s.scale[1]).toBeCloseTo(Math.sqrt(1.25) * 1e-301, 310);
  });
});

describe('the CLI writes no NaN or Infinity, whatever finite value a cell holds', () => {
  it('1.7976931348623157e308, -1.7976931348623157e308 and 5e-324 are scored, the extreme rows flagged, every output number finite', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-extreme-'));
    const t = generateTraffic({ rows: 300, anomalyRatio: 0.05, seed: 12 });
    const lines = [t.header.join(',')];
    t.records.forEach((r) => lines.push(r.join(',')));
    const csv = path.join(dir, 'train.csv');
    fs.writeFileSync(csv, lines.join('\n') + '\n');
    const model = path.join(dir, 'model');
    expect((await nal('train', '--data', csv, '--model', model, '--seed', '1', '--epochs', '2', '--quiet')).code).toBe(0);
    const rec = (i: number, col: string, v: string) => {
      const c = [...t.records[i]];
      c[t.header.indexOf(col)] = v;
      return c.join(',');
    };
    const test = path.join(dir, 'extreme.csv');
    fs.writeFileSync(
      test,
      [t.header.join(','), rec(200, 'src_bytes', '1.7976931348623157e308'), rec(201, 'duration', '-1.7976931348623157e308'), rec(202, 'packet_rate', '5e-324'), rec(203, 'dst_port', '1e300')].join('\n') + '\n',
    );
    const out = path.join(dir, 'scored.csv');
    const r = await nal('detect', '--data', test, '--model', model, '--out', out, '--quiet');
    expect(r.code, r.err).toBe(0);
    const [header, ...rows] = fs.readFileSync(out, 'utf8').trim().split('\n');
    const cols = header.split(',');
    expect(fs.readFileSync(out, 'utf8')).not.toMatch(/NaN|Infinity/);
    for (const row of rows) {
      const cells = row.split(',');
      for (const c of cols.filter((x) => x.endsWith('_score'))) expect(Number.isFinite(Number(cells[cols.indexOf(c)]))).toBe(true);
    }
    const flagged = rows.map((row) => row.split(',')[cols.indexOf('is_anomaly')]);
    expect(flagged[0]).toBe('1');
    expect(flagged[1]).toBe('1');
    expect(flagged[3]).toBe('1');
  });
});
