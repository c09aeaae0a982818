/**
 * Likely mistakes get a hint or a precise refusal: a semicolon-, tab- or pipe-separated file,
 * hexadecimal / binary / octal literals in numeric cells, text that is not UTF-8 (named by line and
 * row, in the streaming and the whole-file readers, at any chunk boundary).
 */
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseNumber } from '../../src/data/cells';
import { loadTraffic } from '../../src/data/csv';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { NSL_KDD_SCHEMA } from '../../src/data/schema';
import { firstInvalidUtf8, InvalidUtf8, StrictUtf8Decoder } from '../../src/data/text';
import { readCsvChunks } from '../../src/stream/csv-reader';
import { nal } from '../support/cli';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-hints-'));
const model = path.join(dir, 'model');
const good = trafficToCsv(generateTraffic({ rows: 300, anomalyRatio: 0.1, seed: 9 }));
const [header, ...rows] = good.trim().split('\n');

beforeAll(async () => {
  const csv = path.join(dir, 'good.csv');
  fs.writeFileSync(csv, good);
  const r = await nal('train', '--data', csv, '--model', model, '--seed', '1', '--epochs', '2', '--quiet');
  expect(r.code, r.err).toBe(0);
});

/** Run detect and train on `content`; both must fail with `message`, in one line. */
async function bothRefuse(name: string, content: string | Buffer, message: RegExp): Promise<void> {
  const f = path.join(dir, name);
  fs.writeFileSync(f, content);
  for (const args of [
    ['detect', '--data', f, '--model', model, '--out', path.join(dir, 'out.csv')],
    ['train', '--data', f, '--model', path.join(dir, 'never')],
  ]) {
    const r = await nal(...args);
    expect(r.code, args[0]).toBe(1);
    expect(r.err, args[0]).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  }
  expect(fs.existsSync(path.join(dir, 'out.csv'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
}

describe('a file with another separator gets a hint', () => {
  it.each([
    [';', 'semicolon'],
    ['\t', 'tab'],
    ['|', 'pipe'],
  ])("'%s'-separated: 'the file looks %s-separated'", async (sep, name) => {
    const text = [header, ...rows.slice(0, 20)].map((l) => l.split(',').join(sep)).join('\n') + '\n';
    await bothRefuse(`sep-${name}.csv`, text, new RegExp(`missing required columns .*; the file looks ${name}-separated \\(its header is 'timestamp.packet_size.*\\): nal reads comma-separated CSV`));
  });

  it('a comma file with a missing column gets no separator hint', async () => {
    const text = [header.replace('flag', 'flags'), ...rows.slice(0, 20)].join('\n') + '\n';
    const f = path.join(dir, 'no-hint.csv');
    fs.writeFileSync(f, text);
    const r = await nal('detect', '--data', f, '--model', model, '--out', path.join(dir, 'out.csv'));
    expect(r.err).toMatch(/missing required column 'flag'/);
    expect(r.err).not.toMatch(/separated/);
  });
});

describe('hexadecimal, binary and octal literals are not numbers', () => {
  const withCell = (row: number, col: string, value: string) => {
    const j = header.split(',').indexOf(col);
    return [header, ...rows.map((l, i) => (i === row - 1 ? l.split(',').map((c, k) => (k === j ? value : c)).join(',') : l))].join('\n') + '\n';
  };
  it.each([
    ['0x10', 'hexadecimal'],
    ['0X1f', 'hexadecimal'],
    [' 0x10', 'hexadecimal'],
    ['0b1', 'binary'],
    ['0o7', 'octal'],
  ])("'%s' in a numeric cell is refused by row and column as a %s literal", async (cell, kind) => {
    await bothRefuse(`lit-${kind}-${cell.trim()}.csv`, withCell(4, 'src_port', cell), new RegExp(`row 4, column 'src_port': '${cell.trim()}' is a ${kind} literal, not a decimal number`));
  });

  it('decimal forms are still numbers (leading zeros, exponents, signs, blanks around)', () => {
    for (const [cell, v] of [
      ['010', 10],
      ['0.5', 0.5],
      ['1e3', 1000],
      ['-0', -0],
      ['+7', 7],
      [' 12 ', 12],
      ['.5', 0.5],
      ['0', 0],
      ['00', 0],
    ] as const) {
      expect(parseNumber(cell, 1, 'c')).toBe(v);
    }
    expect(() => parseNumber('', 1, 'c')).toThrow(/empty value/);
    expect(() => parseNumber('  ', 1, 'c')).toThrow(/empty value/);
  });

  it('the encoder (datasets with categorical columns) refuses them too', () => {
    const row = ['0', 'tcp', 'http', 'SF', '0x10', ...Array.from({ length: 36 }, () => '0'), 'normal', '21'];
    const f = path.join(dir, 'kdd-hex.csv');
    fs.writeFileSync(f, row.join(',') + '\n' + row.join(',').replace('0x10', '5') + '\n');
    expect(() => loadTraffic(f, { schema: NSL_KDD_SCHEMA })).toThrow(/row 1, column 'src_bytes': '0x10' is a hexadecimal literal/);
  });
});

describe('text that is not UTF-8 is refused by line and row', () => {
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  const latin1At = (rowNo: number) => {
    const lines = [header, ...rows].map(bytes);
    const l = lines[rowNo];
    lines[rowNo] = Buffer.concat([l.subarray(0, 5), Buffer.from([0xe9]), l.subarray(5)]);
    return Buffer.concat(lines.flatMap((b) => [b, Buffer.from('\n')]));
  };

  it('a Latin-1 byte in row 250 (detect streams it; train reads it whole)', async () => {
    await bothRefuse('latin1-250.csv', latin1At(250), /latin1-250\.csv, row 250: line 251 is not valid UTF-8 text \(byte 0xE9 at byte \d+\); nal reads UTF-8 files: convert it first/);
  });

  it('in the header: row 0, line 1', async () => {
    const text = Buffer.concat([Buffer.from('tim\xe9stamp'.replace('\xe9', ''), 'utf8'), Buffer.from([0xe9]), bytes(good.slice(good.indexOf(',')))]);
    await bothRefuse('latin1-header.csv', text, /row 0: line 1 is not valid UTF-8/);
  });

  it('at any chunk boundary: stream reading names the same row as reading the whole file', async () => {
    const text = latin1At(123);
    const rowsBefore = async (chunkBytes: number) => {
      const pieces: Buffer[] = [];
      for (let k = 0; k < text.length; k += chunkBytes) pieces.push(text.subarray(k, k + chunkBytes));
      try {
        for await (const _ of readCsvChunks(pieces, { chunkSize: 7, file: 't.csv' })) void _;
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    for (const size of [1, 2, 3, 5, 64, 1000, 4096, text.length]) {
      expect(await rowsBefore(size), `pieces of ${size} bytes`).toMatch(/^t\.csv, row 123: line 124 is not valid UTF-8 text \(byte 0xE9/);
    }
  });

  it('valid multi-byte characters split across chunks, and a literal U+FFFD, are read as written', async () => {
    const text = bytes(`a,b\né€𝄞,\uFFFD\nx,y\n`);
    for (let size = 1; size <= 6; size++) {
      const pieces: Buffer[] = [];
      for (let k = 0; k < text.length; k += size) pieces.push(text.subarray(k, k + size));
      const records: string[][] = [];
      for await (const c of readCsvChunks(pieces)) records.push(...c.records);
      expect(records).toEqual([
        ['é€𝄞', '\uFFFD'],
        ['x', 'y'],
      ]);
    }
  });

  it('a character cut off by the end of the file is invalid', async () => {
    const text = Buffer.concat([bytes(`a,b\n1,2\n3,`), Buffer.from([0xe2, 0x82])]);
    await expect(
      (async () => {
        for await (const _ of readCsvChunks([text])) void _;
      })(),
    ).rejects.toThrow(/line 3 is not valid UTF-8/);
  });

  it('firstInvalidUtf8 agrees with Node\'s isUtf8 on any bytes, and the strict decoder with toString on valid ones', () => {
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xc0, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0x80, 0xbf, 0xa0));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 24 }), fc.array(fc.integer({ min: 1, max: 24 }), { maxLength: 4 }), (arr, cuts) => {
        const b = Uint8Array.from(arr);
        expect(firstInvalidUtf8(b) === -1).toBe(isUtf8(b));
        const dec = new StrictUtf8Decoder();
        let out = '';
        let failed = false;
        let prev = 0;
        try {
          for (const c of [...cuts.map((x) => Math.min(x, b.length)).sort((x, y) => x - y), b.length]) {
            out += dec.write(b.subarray(prev, Math.max(prev, c)));
            prev = Math.max(prev, c);
          }
          dec.end();
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidUtf8);
          failed = true;
        }
        expect(failed).toBe(!isUtf8(b));
        if (!failed) expect(out).toBe(Buffer.from(b).toString('utf8'));
      }),
      { numRuns: 3000, seed: 5 },
    );
  });
});
