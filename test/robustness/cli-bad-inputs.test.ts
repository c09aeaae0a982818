/**
 * Every bad input through the CLI: one line on stderr, a non-zero exit, no partial output file,
 * and the model saved before is byte-for-byte unchanged.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nal } from '../support/cli';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { DEFAULT_DETECTORS, SEED_DETECTORS } from '../../src/ensemble/ensemble';


function folderHash(dir: string): string {
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else h.update(path.relative(dir, p)).update(fs.readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** The default's detectors and the seed's four: a model folder with every kind of saved detector state (the autoencoder's weights.bin). */
const WIDE = [...new Set([...DEFAULT_DETECTORS, ...SEED_DETECTORS])].join(',');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-bad-'));
const good = trafficToCsv(generateTraffic({ rows: 200, anomalyRatio: 0.1, seed: 8 }));
const [header, ...rows] = good.trim().split('\n');
const withCell = (row: number, col: string, value: string) => {
  const j = header.split(',').indexOf(col);
  const r = rows.map((l, i) => (i === row - 1 ? l.split(',').map((c, k) => (k === j ? value : c)).join(',') : l));
  return [header, ...r].join('\n') + '\n';
};
const dropColumn = (col: string) => {
  const j = header.split(',').indexOf(col);
  return [header, ...rows].map((l) => l.split(',').filter((_, k) => k !== j).join(',')).join('\n') + '\n';
};

/** Bad CSV files: name, content, what stderr must say. */
export const BAD_CSVS: [string, string, RegExp][] = [
  ['empty file', '', /the file is empty/],
  ['header only', header + '\n', /has a header but no data rows/],
  ['missing required column', dropColumn('flag'), /missing required column 'flag'/],
  ['duplicate column names', [header.replace('duration', 'packet_size'), ...rows].join('\n'), /duplicate column name 'packet_size'/],
  ['non-numeric cell', withCell(5, 'src_bytes', 'lots'), /row 5, column 'src_bytes': 'lots' is not a number/],
  ['empty cell', withCell(7, 'duration', ''), /row 7, column 'duration': empty value/],
  ['NaN', withCell(3, 'error_rate', 'NaN'), /row 3, column 'error_rate': value NaN is not a finite number/],
  ['Infinity', withCell(3, 'error_rate', 'Infinity'), /row 3, column 'error_rate': value Infinity is not a finite number/],
  ['-Infinity', withCell(4, 'packet_rate', '-Infinity'), /row 4, column 'packet_rate': value -Infinity is not a finite number/],
  ['label other than 0/1', withCell(9, 'label', 'attack'), /row 9, column 'label': label 'attack' is not 0 \(normal\) or 1 \(anomaly\)/],
  ['row with too many fields', [header, rows[0] + ',x', ...rows.slice(1)].join('\n'), /row 1: has 13 fields, the header has 12/],
  ['unterminated quote', [header, ...rows.slice(0, 3), '"2025' + rows[3]].join('\n'), /unterminated quoted field/],
  ['binary garbage', '\u0000\u0001\u0002PK\u0003', /missing required column/],
];

describe('bad inputs through the CLI', () => {
  const model = path.join(dir, 'model');
  const goodCsv = path.join(dir, 'good.csv');
  let modelHash = '';

  beforeAll(async () => {
    fs.writeFileSync(goodCsv, good);
    const t = await nal('train', '--data', goodCsv, '--seed', '1', '--epochs', '2', '--detectors', WIDE, '--model', model, '--quiet');
    expect(t.code).toBe(0);
    modelHash = folderHash(model);
  });

  it.each(BAD_CSVS)('%s: train and detect fail in one line, model and output untouched', async (_name, content, message) => {
    const file = path.join(dir, `bad-${_name.replace(/\W+/g, '-')}.csv`);
    fs.writeFileSync(file, content);
    const train = await nal('train', '--data', file, '--model', model);
    expect(train.code).not.toBe(0);
    expect(train.err).toMatch(message);
    expect(train.err.trim().split('\n')).toHaveLength(1);
    expect(train.err).not.toMatch(/\n\s+at /);
    const out = path.join(dir, 'out.csv');
    fs.writeFileSync(out, 'previous output\n');
    const det = await nal('detect', '--data', file, '--model', model, '--out', out);
    expect(det.code).not.toBe(0);
    expect(det.err).toMatch(message);
    expect(fs.readFileSync(out, 'utf8')).toBe('previous output\n');
    expect(folderHash(model)).toBe(modelHash);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('bad training options fail before anything is written', async () => {
    const cases: [string[], RegExp][] = [
      [['--contamination', '0'], /--contamination must be a number in \(0, 0.5\] or 'auto', got '0'/],
      [['--contamination', 'lots'], /--contamination must be/],
      [['--seed', '1.5'], /--seed must be an integer in \[0, 4294967295\], got '1.5'/],
      [['--seed=-3'], /--seed must be an integer/],
      [['--seed', '-3'], /--seed got a value that starts with '-'; write --seed=VALUE/],
      [['--preset', 'fast'], /--preset must be 'default' or 'seed'/],
      [['--detectors', 'svm'], /--detectors takes names from/],
      [['--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [extra, message] of cases) {
      const r = await nal('train', '--data', goodCsv, '--model', model, ...extra);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(folderHash(model)).toBe(modelHash);
  });

  it('too few rows for a detector, all rows identical and a constant column', async () => {
    const few = path.join(dir, 'few.csv');
    fs.writeFileSync(few, [header, ...rows.slice(0, 10)].join('\n') + '\n');
    // the autoencoder (not among the default's detectors) needs 32 rows
    const r = await nal('train', '--data', few, '--detectors', WIDE, '--model', model);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/Autoencoder needs at least 32 training rows, got 10/);
    expect(folderHash(model)).toBe(modelHash);

    const same = path.join(dir, 'same.csv');
    fs.writeFileSync(same, [header, ...new Array(60).fill(rows[20])].join('\n') + '\n');
    // the default detectors, and every detector the wide model has
    for (const [name, extra] of [['default', []], ['wide', ['--detectors', WIDE]]] as const) {
      const m2 = path.join(dir, `same-model-${name}`);
      const s = await nal('train', '--data', same, '--model', m2, '--epochs', '2', ...extra, '--quiet');
      expect(s.code, name).toBe(0);
      const out = path.join(dir, `same-out-${name}.csv`);
      expect((await nal('detect', '--data', goodCsv, '--model', m2, '--out', out, '--quiet')).code, name).toBe(0);
      const scored = fs.readFileSync(out, 'utf8');
      expect(scored, name).not.toMatch(/NaN|Infinity/);
      // every ensemble score a finite number (a kNN scale of 1e-300 once sent them to Infinity)
      const lines = scored.trim().split('\n');
      const col = lines[0].split(',').indexOf('ensemble_score');
      expect(col, name).toBeGreaterThan(-1);
      for (const line of lines.slice(1)) expect(Number.isFinite(Number(line.split(',')[col])), name).toBe(true);
    }
  });

  it('values far outside the training range are scored, not refused', async () => {
    const far = path.join(dir, 'far.csv');
    fs.writeFileSync(far, withCell(2, 'src_bytes', '1e300'));
    const out = path.join(dir, 'far-out.csv');
    const r = await nal('detect', '--data', far, '--model', model, '--out', out, '--quiet');
    expect(r.code).toBe(0);
    const line = fs.readFileSync(out, 'utf8').split('\n')[2];
    expect(line).toMatch(/,1,[0-9.]+,(low|medium|high),/);
  });

  it('broken model folders are refused in one line naming the file', async () => {
    const copy = (name: string) => {
      const d = path.join(dir, name);
      fs.cpSync(model, d, { recursive: true });
      return d;
    };
    const manifestOf = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
    const cases: [string, (d: string) => void, RegExp][] = [
      ['missing weights', (d) => fs.rmSync(path.join(d, manifestOf(d).detectors.find((x: any) => x.name === 'autoencoder').files['weights.bin'].file)), /weights.bin: is missing/],
      ['truncated manifest', (d) => fs.writeFileSync(path.join(d, 'manifest.json'), fs.readFileSync(path.join(d, 'manifest.json'), 'utf8').slice(0, 200)), /manifest.json: is corrupted or truncated/],
      ['corrupted part', (d) => {
        const e = manifestOf(d).detectors.find((x: any) => x.name === 'isolationForest');
        const f = path.join(d, Object.values<any>(e.arrays)[0].file);
        const b = fs.readFileSync(f);
        b[0] ^= 0xff;
        fs.writeFileSync(f, b);
      }, /is corrupted \(checksum mismatch\)/],
      ['newer format', (d) => fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify({ ...manifestOf(d), formatVersion: 7 })), /format version 7.*Upgrade network-anomaly-lab/],
      ['unknown detector', (d) => {
        const m = manifestOf(d);
        m.detectors[1].className = 'KMeans';
        fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m));
      }, /unknown detector 'KMeans'/],
      ['not a model folder', (d) => fs.rmSync(path.join(d, 'manifest.json')), /no manifest.json/],
    ];
    for (const [name, breakIt, message] of cases) {
      const d = copy(name.replace(/\W+/g, '-'));
      breakIt(d);
      const out = path.join(dir, `${name.replace(/\W+/g, '-')}.csv`);
      const r = await nal('detect', '--data', goodCsv, '--model', d, '--out', out);
      expect(r.code, name).toBe(1);
      expect(r.err, name).toMatch(message);
      expect(r.err.trim().split('\n'), name).toHaveLength(1);
      expect(fs.existsSync(out), name).toBe(false);
    }
  });

  it('rows with other feature columns than the model are refused by name', async () => {
    const other = path.join(dir, 'other.csv');
    fs.writeFileSync(other, dropColumn('dst_port'));
    const r = await nal('detect', '--data', other, '--model', model, '--out', path.join(dir, 'o.csv'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/missing required column 'dst_port'/);
  });
});
