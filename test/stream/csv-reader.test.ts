import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv, parseCsvWithSchema } from '../../src/data/csv';
import { DataValidationError } from '../../src/core/errors';
import { NSL_KDD_SCHEMA } from '../../src/data/schema';
import { readCsvChunks, type CsvChunkOptions } from '../../src/stream/csv-reader';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-stream-csv-'));

/** Split text into pieces at the given cut points (as bytes, so multibyte characters get cut). */
function pieces(text: string, cuts: number[]): Buffer[] {
  const buf = Buffer.from(text, 'utf8');
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, buf.length]) {
    if (c > prev) out.push(buf.subarray(prev, c));
    prev = c;
  }
  return out;
}

async function readAll(src: Parameters<typeof readCsvChunks>[0], opts: CsvChunkOptions = {}) {
  const warnings: string[] = [];
  const chunks = [];
  for await (const c of readCsvChunks(src, { ...opts, onWarning: (w) => warnings.push(w) })) chunks.push(c);
  return {
    header: chunks[0]?.header,
    records: chunks.flatMap((c) => c.records),
    chunks,
    warnings,
  };
}

async function outcome<T>(f: () => Promise<T> | T): Promise<{ ok: T } | { error: string }> {
  try {
    return { ok: await f() };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const cell = fc.oneof(
  fc.constantFrom('', '1', '2.5', '-3e4', 'tcp', 'a b', ' x ', 'é', '日本', '😀'),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('"q"', 'a,b', 'line\nbreak', 'cr\r\nlf', '""'),
);

function csvText(rows: string[][], crlf: boolean, bom: boolean, finalNewline: boolean, blank: boolean): string {
  const nl = crlf ? '\r\n' : '\n';
  const lines = rows.map((r) => r.map((c) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(','));
  if (blank && lines.length > 2) lines.splice(2, 0, '');
  return (bom ? '\ufeff' : '') + lines.join(nl) + (finalNewline ? nl : '');
}

describe('readCsvChunks', () => {
  it('gives the records of parseCsv for any chunking of the bytes (quotes, CRLF, BOM, blank lines)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((w) =>
          fc.record({
            header: fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { minLength: w, maxLength: w }),
            rows: fc.array(fc.array(cell, { minLength: w, maxLength: w }), { maxLength: 12 }),
          }),
        ),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 1, max: 5 }),
        async ({ header, rows }, crlf, bom, finalNewline, blank, cuts, chunkSize) => {
          const text = csvText([header, ...rows], crlf, bom, finalNewline, blank);
          const want = await outcome(() => parseCsv(text, { file: 'f.csv' }));
          const got = await outcome(() => readAll(pieces(text, cuts), { chunkSize, file: 'f.csv' }));
          if ('error' in want) {
            expect(got).toEqual({ error: want.error });
            return;
          }
          if (want.ok.records.length === 0) {
            // the whole-file path refuses this in parseTraffic, with the same message
            expect(got).toEqual({ error: 'f.csv: the file has a header but no data rows.' });
            return;
          }
          expect(got).toHaveProperty('ok');
          if (!('ok' in got)) return;
          expect(got.ok.header).toEqual(want.ok.header);
          expect(got.ok.records).toEqual(want.ok.records);
          expect(got.ok.warnings).toEqual(want.ok.warnings);
          // chunks of chunkSize records, numbered from row 1
          let row = 1;
          for (const c of got.ok.chunks) {
            expect(c.records.length).toBeLessThanOrEqual(chunkSize);
            expect(c.firstRow).toBe(row);
            row += c.records.length;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses what parseCsv refuses, with the same messages', async () => {
    const cases = [
      '',
      '\n\n',
      'a,b\n',
      'a,,c\n1,2,3\n',
      'a,a\n1,2\n',
      'a,b\n1,2\n3\n4,5\n',
      'a,b\n1,"2\n3,4\n',
      'a,b\n1,2\n3,4,5',
    ];
    for (const text of cases) {
      const want = await outcome(() => {
        const t = parseCsv(text, { file: 'x.csv' });
        if (t.records.length === 0) throw new DataValidationError('the file has a header but no data rows.', { file: 'x.csv' });
        return t.records;
      });
      const got = await outcome(async () => (await readAll([text], { file: 'x.csv', chunkSize: 1 })).records);
      expect(got, JSON.stringify(text)).toEqual(want);
    }
  });

  it('skips a truncated last line with a warning, like parseCsv', async () => {
    const text = 'a,b,c\n1,2,3\n4,5';
    const r = await readAll([text], { file: 't.csv' });
    expect(r.records).toEqual([['1', '2', '3']]);
    expect(r.warnings).toEqual(parseCsv(text, { file: 't.csv' }).warnings);
  });

  it('reads files, gzip files (by name or by magic bytes) and readable streams', async () => {
    const text = 'x,y\n' + Array.from({ length: 5000 }, (_, i) => `${i},${i * 2}`).join('\n') + '\n';
    const plain = path.join(dir, 'p.csv');
    const gz = path.join(dir, 'p.csv.gz');
    const gzNoExt = path.join(dir, 'p.data');
    fs.writeFileSync(plain, text);
    fs.writeFileSync(gz, zlib.gzipSync(text));
    fs.writeFileSync(gzNoExt, zlib.gzipSync(text));
    const want = parseCsv(text).records;
    for (const src of [plain, gz, gzNoExt]) {
      const r = await readAll(src, { chunkSize: 1000 });
      expect(r.records).toEqual(want);
      expect(r.chunks.map((c) => c.records.length)).toEqual([1000, 1000, 1000, 1000, 1000]);
    }
    const s = await readAll(Readable.from([Buffer.from(text)]), { chunkSize: 4096 });
    expect(s.records).toEqual(want);
    await expect(readAll(path.join(dir, 'missing.csv'))).rejects.toThrow(/missing\.csv: file not found\./);
    const bad = path.join(dir, 'bad.csv.gz');
    fs.writeFileSync(bad, 'not gzip at all');
    await expect(readAll(bad)).rejects.toThrow(/bad\.csv\.gz: not a valid gzip file/);
  });

  it('reads files without a header as the schema names them, skipping a header line', async () => {
    const cols = NSL_KDD_SCHEMA.columns!;
    const row = cols.map((_, j) => (j === 1 ? 'tcp' : j === 2 ? 'http' : j === 3 ? 'SF' : j === 41 ? 'normal' : String(j)));
    const text = [cols.join(','), row.join(','), row.join(',')].join('\n') + '\n';
    const r = await readAll([text], { hasHeader: false, columns: cols, datasetName: 'nsl-kdd' });
    const want = parseCsvWithSchema(text, NSL_KDD_SCHEMA);
    expect(r.header).toEqual(want.header);
    expect(r.records).toEqual(want.records);
    await expect(readAll(['1,2,3\n'], { hasHeader: false, columns: cols, datasetName: 'nsl-kdd' })).rejects.toThrow(
      /rows have 3 fields; the nsl-kdd description names 43 columns/,
    );
  });
});
