import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { loadTraffic, parseCsv, parseTraffic } from '../../src/data/csv';
import { SEED_FEATURES } from '../../src/data/schema';
import { dataError } from '../support/data';

const header = ['timestamp', ...SEED_FEATURES, 'label'].join(',');
const row = (v: number, label = 0) => ['2025-01-01 00:00:00', ...SEED_FEATURES.map((_, j) => String(v + j)), String(label)].join(',');
const traffic = (text: string) => parseTraffic(parseCsv(text, { file: 't.csv' }), { file: 't.csv' });
const err = dataError;

describe('CSV reader', () => {
  it('reads features, labels and timestamps', () => {
    const d = traffic([header, row(1), row(2, 1)].join('\n') + '\n');
    expect(d.X.rows).toBe(2);
    expect(d.X.cols).toBe(10);
    expect(d.X.data[10]).toBe(2);
    expect(Array.from(d.labels!)).toEqual([0, 1]);
    expect(d.timestamps).toEqual(['2025-01-01 00:00:00', '2025-01-01 00:00:00']);
  });

  it('accepts a byte-order mark, CRLF line endings and quoted fields with commas', () => {
    const text = '\ufeff' + [header + ',note', row(1) + ',"a, ""quoted"" note"', row(2) + ',plain'].join('\r\n') + '\r\n';
    const d = traffic(text);
    expect(d.X.rows).toBe(2);
    expect(d.records[0][12]).toBe('a, "quoted" note');
    expect(d.warnings.join()).toMatch(/ignored extra column: note/);
  });

  it('label and timestamp are optional, columns may come in any order', () => {
    const cols = [...SEED_FEATURES].reverse();
    const d = traffic(cols.join(',') + '\n' + cols.map((_, j) => String(9 - j)).join(',') + '\n');
    expect(d.labels).toBeUndefined();
    expect(Array.from(d.X.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('names what is wrong and where', () => {
    expect(err(() => traffic('')).message).toMatch(/t.csv: the file is empty/);
    expect(err(() => traffic(header + '\n')).message).toMatch(/header but no data rows/);
    const drop = (line: string) => line.split(',').filter((_, j) => j !== 2).join(',');
    expect(err(() => traffic(drop(header) + '\n' + drop(row(1)))).message).toMatch(/missing required column 'duration'/);
    expect(err(() => traffic(header.replace('duration', 'packet_size') + '\n' + row(1))).message).toMatch(/duplicate column name 'packet_size'/);
    const bad = row(1).split(',');
    bad[3] = 'abc';
    const e = err(() => traffic([header, row(1), bad.join(','), row(3)].join('\n') + '\n'));
    expect(e.message).toBe("t.csv, row 2, column 'src_bytes': 'abc' is not a number. 1 of 3 rows cannot be encoded (this is the first; --bad-rows skip leaves them out).");
    bad[3] = '';
    expect(err(() => traffic([header, bad.join(',')].join('\n'))).message).toMatch(/row 1, column 'src_bytes': empty value/);
    for (const v of ['NaN', 'Infinity', '-Infinity', 'nan']) {
      bad[3] = v;
      expect(err(() => traffic([header, bad.join(',')].join('\n'))).message).toMatch(/not a finite number/);
    }
    const lab = row(1, 0).replace(/,0$/, ',2');
    expect(err(() => traffic([header, lab].join('\n'))).message).toMatch(/row 1, column 'label': label '2' is not 0/);
    expect(err(() => traffic([header, row(1) + ',extra', row(2)].join('\n'))).message).toMatch(/row 1: has 13 fields, the header has 12/);
    expect(err(() => parseCsv('a,"b\n1,2')).message).toMatch(/unterminated quoted field/);
  });

  it('skips a truncated last line with a warning', () => {
    const d = traffic([header, row(1), row(2), row(3).slice(0, 30)].join('\n'));
    expect(d.X.rows).toBe(2);
    expect(d.warnings.join()).toMatch(/line 4: truncated last line \(\d+ of 12 fields\) skipped/);
  });

  it('reads gzipped files and reports missing ones', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-csv-'));
    const f = path.join(dir, 'x.csv.gz');
    fs.writeFileSync(f, zlib.gzipSync([header, row(1), row(2, 1)].join('\n') + '\n'));
    expect(loadTraffic(f).X.rows).toBe(2);
    expect(err(() => loadTraffic(path.join(dir, 'nope.csv'))).message).toMatch(/nope.csv: file not found/);
  });

  it('keeps values far outside any training range (they are data, not errors)', () => {
    const d = traffic([header, row(1e300)].join('\n'));
    expect(d.X.data[0]).toBe(1e300);
  });
});
