/**
 * The bad-rows policy in the library: rows with a cell that cannot be encoded (`Infinity`, `NaN`,
 * empty, text, a value outside a log-scaled column's domain) are refused with their count and the
 * first of them (`error`, the default), or left out and listed (`skip`), in loadTraffic, the
 * streaming readers, detectStream and detectCsvToFile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTraffic, parseCsv, parseTraffic } from '../../src/data/csv';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { writeSkippedRows } from '../../src/data/bad-rows';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';
import { detectCsvToFile, detectStream } from '../../src/stream/detect-stream';
import { readTrafficChunks } from '../../src/stream/traffic-stream';
import { dataError } from '../support/data';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-bad-rows-'));

/** The seed CSV with cells replaced: `[row (1-based), column, value]`. */
function withCells(rows: number, edits: [number, string, string][]): string {
  const lines = trafficToCsv(generateTraffic({ rows, anomalyRatio: 0.1, seed: 3 })).trimEnd().split('\n');
  const header = lines[0].split(',');
  for (const [r, c, v] of edits) {
    const cells = lines[r].split(',');
    cells[header.indexOf(c)] = v;
    lines[r] = cells.join(',');
  }
  return lines.join('\n') + '\n';
}

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

const EDITS: [number, string, string][] = [
  [40, 'duration', 'Infinity'],
  [7, 'error_rate', 'NaN'], // the first bad row, though its column comes later in the file
  [12, 'src_bytes', ''],
  [90, 'dst_bytes', 'lots'],
];

describe('loadTraffic', () => {
  it('error (the default): how many rows, and the first by row and column', () => {
    const f = write('bad.csv', withCells(100, EDITS));
    expect(dataError(() => loadTraffic(f)).message).toBe(
      `${f}, row 7, column 'error_rate': value NaN is not a finite number. 4 of 100 rows cannot be encoded (this is the first; --bad-rows skip leaves them out).`,
    );
  });

  it('skip: the other rows are read, each skipped row listed with its reason and cells', () => {
    const text = withCells(100, EDITS);
    const f = write('bad2.csv', text);
    const d = loadTraffic(f, { badRows: 'skip' });
    const clean = loadTraffic(write('clean.csv', withCells(100, [])));
    const keep = Array.from({ length: 100 }, (_, i) => i).filter((i) => ![6, 11, 39, 89].includes(i));
    expect(d.X.rows).toBe(96);
    expect(Array.from(d.X.data)).toEqual(keep.flatMap((i) => Array.from(clean.X.data.subarray(i * 10, i * 10 + 10))));
    expect(Array.from(d.labels!)).toEqual(keep.map((i) => clean.labels![i]));
    expect(d.timestamps).toEqual(keep.map((i) => clean.timestamps![i]));
    expect(d.skippedRows!.map((r) => [r.row, r.column, r.reason])).toEqual([
      [7, 'error_rate', 'value NaN is not a finite number.'],
      [12, 'src_bytes', 'empty value; every feature needs a number.'],
      [40, 'duration', 'value Infinity is not a finite number.'],
      [90, 'dst_bytes', "'lots' is not a number."],
    ]);
    expect(d.skippedRows![0].cells).toEqual(text.split('\n')[7].split(','));
  });

  it('skip with categorical and log-scaled columns: categories come from the kept rows only', () => {
    const schema = { name: 't', features: ['kind', 'bytes'], categorical: ['kind'], log1p: ['bytes'] };
    const rows = ['kind,bytes', 'a,1', 'b,2', ',3', 'c,-5', 'a,Infinity', 'd,NaN', 'b,4'];
    const t = parseCsv(rows.join('\n'));
    expect(() => parseTraffic(t, { schema })).toThrow(/row 3, column 'kind': empty value; every feature needs a value\. 4 of 7 rows cannot be encoded/);
    const d = parseTraffic(t, { schema, badRows: 'skip' });
    expect(d.features).toEqual(['kind=a', 'kind=b', 'bytes']);
    expect(d.skippedRows!.map((r) => [r.row, r.column])).toEqual([
      [3, 'kind'],
      [4, 'bytes'],
      [5, 'bytes'],
      [6, 'bytes'],
    ]);
    expect(d.skippedRows![1].reason).toBe('value -5 is not above -1; this column is log-scaled as ln(1 + x).');
    expect(() => parseTraffic(parseCsv('kind,bytes\n,1\nc,x\n'), { schema, badRows: 'skip' })).toThrow('none of the 2 rows can be encoded; the first: row 1, column \'kind\': empty value; every feature needs a value.');
  });

  it('writeSkippedRows writes row, column, reason and the cells under the file’s header', () => {
    const f = path.join(dir, 'side.csv');
    writeSkippedRows(f, ['a', 'b'], [{ row: 3, column: 'b', reason: "'x,y' is not a number.", cells: ['1', 'x,y'] }]);
    expect(fs.readFileSync(f, 'utf8')).toBe(`row,column,reason,a,b\n3,b,"'x,y' is not a number.",1,"x,y"\n`);
  });
});

describe('streaming', () => {
  let ens: AnomalyEnsemble;
  beforeAll(async () => {
    ens = await new AnomalyEnsemble({ seed: 2, detectors: ['isolationForest'] }).fit(generateTraffic({ rows: 300, anomalyRatio: 0.1, seed: 5 }));
  });

  it('readTrafficChunks (error) reads on to count the bad rows of the whole file', async () => {
    const f = write('s.csv', withCells(100, EDITS));
    const seen: number[] = [];
    const run = async () => {
      for await (const c of readTrafficChunks(f, { chunkSize: 10 })) seen.push(c.X.rows);
    };
    await expect(run()).rejects.toThrow(`${f}, row 7, column 'error_rate': value NaN is not a finite number. 4 of 100 rows cannot be encoded (this is the first; --bad-rows skip leaves them out).`);
    expect(seen).toEqual([]); // the first chunk already has a bad row
  });

  it('detectCsvToFile (skip) scores the others and lists the skipped rows in a side file', async () => {
    const f = write('d.csv', withCells(100, EDITS));
    const out = path.join(dir, 'scored.csv');
    const s = await detectCsvToFile(ens, f, out, { chunkSize: 16, badRows: 'skip' });
    expect(s).toMatchObject({ rows: 96, skipped: 4, skippedRowsFile: path.join(dir, 'scored.skipped.csv') });
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(97);
    const side = fs.readFileSync(path.join(dir, 'scored.skipped.csv'), 'utf8').trim().split('\n');
    expect(side[0]).toBe('row,column,reason,timestamp,packet_size,duration,src_bytes,dst_bytes,protocol_type,flag,src_port,dst_port,packet_rate,error_rate,label');
    expect(side.slice(1).map((l) => l.split(',').slice(0, 2).join(','))).toEqual(['7,error_rate', '12,src_bytes', '40,duration', '90,dst_bytes']);
    // error: nothing written, no side file
    const out2 = path.join(dir, 'scored2.csv');
    await expect(detectCsvToFile(ens, f, out2, { chunkSize: 16 })).rejects.toThrow(/4 of 100 rows cannot be encoded/);
    expect(fs.existsSync(out2)).toBe(false);
    expect(fs.readdirSync(dir).filter((x) => x.includes('scored2'))).toEqual([]);
  });

  it('detectStream (skip) leaves out live rows with missing or non-finite values', async () => {
    const data = generateTraffic({ rows: 50, anomalyRatio: 0.1, seed: 6 });
    const rows: number[][] = [];
    for (let i = 0; i < 50; i++) rows.push(Array.from(data.X.data.subarray(i * 10, i * 10 + 10)));
    rows[3][2] = Number.NaN;
    rows[20][9] = Number.POSITIVE_INFINITY;
    const skipped: { row: number; column: string; reason: string }[] = [];
    const scores: number[] = [];
    for await (const c of detectStream(ens, rows, { chunkSize: 8, badRows: 'skip', onSkippedRows: (r) => skipped.push(...r) })) scores.push(...c.result.ensembleScore);
    expect(skipped.map((r) => [r.row, r.column, r.reason])).toEqual([
      [4, 'src_bytes', 'value NaN is not a finite number.'],
      [21, 'error_rate', 'value Infinity is not a finite number.'],
    ]);
    const kept = rows.filter((_, i) => i !== 3 && i !== 20);
    expect(scores).toEqual(Array.from(ens.detect(kept).ensembleScore));
    // objects with a missing key
    const objects = [{ ...Object.fromEntries(data.features.map((f, j) => [f, rows[0][j]])) }, { packet_size: 1 }];
    const s2: number[] = [];
    for await (const c of detectStream(ens, objects, { badRows: 'skip', onSkippedRows: (r) => s2.push(...r.map((x) => x.row)) })) expect(c.rows).toBe(1);
    expect(s2).toEqual([2]);
  });
});
