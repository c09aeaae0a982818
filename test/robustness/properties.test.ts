/**
 * Property-based tests (fast-check): random inputs never crash with anything but the named errors,
 * metrics stay in range, and the same seed gives the same results.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { Random } from '../../src/core/random';
import { assertFinite } from '../../src/core/validation';
import { csvLine, parseCsv, parseTraffic } from '../../src/data/csv';
import { SEED_FEATURES } from '../../src/data/schema';
import { confidence, countVotes, majorityVote, severity } from '../../src/ensemble/combine';
import { averagePrecision, detectionMetrics, rocAuc } from '../../src/metrics/classification';
import { StandardScaler } from '../../src/preprocess/standard-scaler';

const RUNS = { numRuns: 200 };
const field = fc.string({ unit: fc.constantFrom('a', 'b', '1', '.', ',', '"', '\n', '\r', ' ', 'é', '-', 'e') });

describe('CSV reader properties', () => {
  it('any table of fields written with csvLine reads back identically', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.array(field, { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 8 }), (w, rows) => {
        const header = Array.from({ length: w }, (_, j) => `c${j}`);
        const body = rows.map((r) => r.slice(0, w));
        // a record of one empty field is a blank line, which the reader skips by design
        const kept = body.filter((r) => !(r.length === 1 && r[0].trim() === ''));
        const text = [csvLine(header), ...body.map(csvLine)].join('\n') + '\n';
        const t = parseCsv(text);
        expect(t.header).toEqual(header);
        expect(t.records).toEqual(kept);
      }),
      RUNS,
    );
  });

  it('arbitrary text either parses or throws DataValidationError, never anything else', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '1', ',', '"', '\n', '\r', '\ufeff', ' ', 'x', '.', '-') }), (text) => {
        try {
          const t = parseCsv(text, { file: 'f.csv' });
          parseTraffic(t, { file: 'f.csv' });
        } catch (e) {
          expect(e).toBeInstanceOf(DataValidationError);
        }
      }),
      RUNS,
    );
  });

  it('random cells in the seed schema parse to finite numbers or a DataValidationError naming row and column', () => {
    const cell = fc.oneof(fc.double({ noNaN: false }).map(String), fc.integer().map(String), field, fc.constantFrom('', 'NaN', 'Infinity', '-Infinity', '1e999'));
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 10, maxLength: 10 }), { minLength: 1, maxLength: 5 }), (rows) => {
        const t = { header: [...SEED_FEATURES], records: rows, warnings: [] };
        try {
          const d = parseTraffic(t, { file: 'p.csv' });
          for (const v of d.X.data) expect(Number.isFinite(v)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(DataValidationError);
          expect((e as DataValidationError).row).toBeGreaterThanOrEqual(1);
          expect(SEED_FEATURES).toContain((e as DataValidationError).column);
        }
      }),
      RUNS,
    );
  });
});

describe('validator and scaler properties', () => {
  const matrix = fc.integer({ min: 1, max: 6 }).chain((cols) =>
    fc.array(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: cols, maxLength: cols }), { minLength: 1, maxLength: 30 }),
  );

  it('the scaler maps a constant column of 0 and -0 to exactly 0 (a shrunk counterexample of the property below)', () => {
    const Z = new StandardScaler().fit([[0, 0, 0], [-0, 0, -0]]).transform([[0, 0, 0], [-0, 0, -0]]);
    for (const v of Z.data) expect(v).toBe(0);
  });

  it('the scaler maps finite rows to finite rows, constant columns to 0, and inverts', () => {
    fc.assert(
      fc.property(matrix, (X) => {
        const sc = new StandardScaler().fit(X);
        const Z = sc.transform(X);
        for (const v of Z.data) expect(Number.isFinite(v)).toBe(true);
        const back = sc.inverseTransform(Z);
        for (let k = 0; k < back.data.length; k++) {
          const x = X[Math.floor(k / Z.cols)][k % Z.cols];
          expect(Math.abs(back.data[k] - x)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x)));
        }
        for (let j = 0; j < Z.cols; j++) {
          if (X.every((r) => r[j] === X[0][j])) for (let i = 0; i < Z.rows; i++) expect(Z.data[i * Z.cols + j]).toBe(0);
        }
      }),
      RUNS,
    );
  });

  it('assertFinite throws exactly when a value is not finite, naming its cell', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { minLength: 1, maxLength: 40 }), (vals) => {
        const m = { rows: vals.length, cols: 1, data: Float64Array.from(vals) };
        const bad = vals.findIndex((v) => !Number.isFinite(v));
        if (bad < 0) expect(() => assertFinite(m)).not.toThrow();
        else expect(() => assertFinite(m)).toThrow(new RegExp(`row ${bad + 1}, column '#1'`));
      }),
      RUNS,
    );
  });
});

describe('metric properties', () => {
  const labelled = fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.double({ min: -100, max: 100, noNaN: true }), fc.integer({ min: 0, max: 1 })), {
    minLength: 1,
    maxLength: 60,
  });

  it('every metric stays in [0, 1] (AUCs NaN only when a class is missing)', () => {
    fc.assert(
      fc.property(labelled, (rows) => {
        const y = rows.map((r) => r[0]);
        const s = rows.map((r) => r[1]);
        const f = rows.map((r) => r[2]);
        const m = detectionMetrics(y, f, s);
        for (const k of ['accuracy', 'precision', 'recall', 'f1'] as const) {
          expect(m[k]).toBeGreaterThanOrEqual(0);
          expect(m[k]).toBeLessThanOrEqual(1);
        }
        expect(m.tp + m.fp + m.fn + m.tn).toBe(rows.length);
        const both = y.includes(0) && y.includes(1);
        if (both) {
          expect(m.rocAuc).toBeGreaterThanOrEqual(0);
          expect(m.rocAuc).toBeLessThanOrEqual(1);
          expect(m.prAuc).toBeGreaterThan(0);
          expect(m.prAuc).toBeLessThanOrEqual(1 + 1e-12);
          // reversing the scores mirrors the ROC-AUC
          expect(rocAuc(y, s.map((v) => -v)) + m.rocAuc).toBeCloseTo(1, 10);
        } else {
          expect(Number.isNaN(m.rocAuc)).toBe(true);
        }
        if (!y.includes(1)) expect(Number.isNaN(averagePrecision(y, s))).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('vote combination properties', () => {
  it('votes count flags; majority confidence lies in [0.5, 1]; severity follows votes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 50 }), (k, rows) => {
        const flags = [0, 1, 2, 3].map((d) => rows.map((r) => r[d]));
        const votes = countVotes(flags);
        const dec = majorityVote(votes, k);
        const conf = confidence(votes, dec, 4);
        const sev = severity(votes, dec, 4);
        rows.forEach((r, i) => {
          expect(votes[i]).toBe(r.reduce((a, b) => a + b, 0));
          expect(dec[i]).toBe(votes[i] >= k ? 1 : 0);
          if (k === 2) {
            expect(conf[i]).toBeGreaterThanOrEqual(0.5);
            expect(conf[i]).toBeLessThanOrEqual(1);
          }
          if (!dec[i]) expect(sev[i]).toBe('none');
          else expect(sev[i]).toBe(votes[i] === 4 ? 'high' : votes[i] === 3 ? 'medium' : 'low');
        });
      }),
      RUNS,
    );
  });

  it('the same seed gives the same random stream', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const a = new Random(seed);
        const b = new Random(seed);
        for (let i = 0; i < 20; i++) expect(a.normal(0, 1)).toBe(b.normal(0, 1));
      }),
      { numRuns: 50 },
    );
  });
});
