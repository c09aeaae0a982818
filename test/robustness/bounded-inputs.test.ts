/**
 * Bounded memory on every input: a line longer than the limit fails as soon as it is read (a
 * 50 MB line, a file or stdin without line breaks, /dev/zero), wide rows end a chunk early,
 * `generate` streams any number of rows, and options that multiply memory are limited. Peak memory
 * of `detect` (default chunk size) is measured in a child process on each hostile input.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { loadTraffic, parseCsv } from '../../src/data/csv';
import { generateTraffic, generateTrafficCsv, trafficToCsv } from '../../src/data/generator';
import { feedbackTrainingSet, MAX_FP_WEIGHT } from '../../src/feedback/retrain';
import { labelRows, feedbackLog } from '../../src/feedback/store';
import { DEFAULT_MAX_LINE_BYTES, MAX_CHUNK_TEXT, readCsvChunks } from '../../src/stream/csv-reader';
import { nal } from '../support/cli';
import { runNalMeasured } from '../support/process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-bounded-'));
const csv = path.join(dir, 'traffic.csv');
const model = path.join(dir, 'model');
const seed = generateTraffic({ rows: 400, anomalyRatio: 0.1, seed: 5 });
const header = seed.header.join(',');
/** The limit the issue sets for detect with the default chunk size. */
const DETECT_MAX_MB = 500;

beforeAll(async () => {
  fs.writeFileSync(csv, trafficToCsv(seed));
  const r = await nal('train', '--data', csv, '--model', model, '--seed', '1', '--epochs', '2', '--quiet');
  expect(r.code, r.err).toBe(0);
});

/** A file of `n` bytes of one repeated character after a header line (written in pieces). */
function longLine(name: string, bytes: number, ch = 'x', withHeader = true): string {
  const f = path.join(dir, name);
  const fd = fs.openSync(f, 'w');
  if (withHeader) fs.writeSync(fd, header + '\n');
  const piece = Buffer.alloc(1 << 20, ch);
  for (let left = bytes; left > 0; left -= piece.length) fs.writeSync(fd, piece, 0, Math.min(piece.length, left));
  fs.closeSync(fd);
  return f;
}

const LINE_TOO_LONG = /line \d+ is longer than 1 MiB: not a CSV file of traffic rows/;

describe('a line longer than the limit fails as soon as it is read', () => {
  it('detect: a 50 MB line fails fast in bounded memory', async () => {
    const f = longLine('line-50mb.csv', 50 * 2 ** 20);
    const r = await runNalMeasured(['detect', '--data', f, '--model', model, '--out', path.join(dir, 'o.csv')], { heapMb: 64 });
    console.log(`50 MB line: detect failed in ${r.ms} ms, peak RSS ${r.maxRssMb.toFixed(0)} MB (heap capped at 64 MB)`);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(LINE_TOO_LONG);
    expect(r.err).toMatch(/line-50mb\.csv: line 2 is longer/);
    expect(r.maxRssMb).toBeLessThan(DETECT_MAX_MB);
    expect(fs.existsSync(path.join(dir, 'o.csv'))).toBe(false);
  }, 60_000);

  it('train and evaluate (files read whole): the same error', async () => {
    const f = path.join(dir, 'line-50mb.csv');
    const t = await nal('train', '--data', f, '--model', path.join(dir, 'm-long'));
    expect(t.code).toBe(1);
    expect(t.err).toMatch(LINE_TOO_LONG);
    const e = await nal('evaluate', '--data', f);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(LINE_TOO_LONG);
  });

  it('stdin from /dev/zero and --data /dev/zero fail after 1 MiB (detect, train)', async () => {
    const zero = fs.openSync('/dev/zero', 'r');
    try {
      const r = await runNalMeasured(['detect', '--data', '-', '--model', model, '--out', path.join(dir, 'z.csv')], { stdio: [zero, 'pipe', 'pipe'], heapMb: 64 });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/stdin: line 1 is longer than 1 MiB/);
      expect(r.maxRssMb).toBeLessThan(DETECT_MAX_MB);
    } finally {
      fs.closeSync(zero);
    }
    const d = await nal('detect', '--data', '/dev/zero', '--model', model, '--out', path.join(dir, 'z.csv'));
    expect(d.err).toMatch(/\/dev\/zero: line 1 is longer than 1 MiB/);
    const t = await nal('train', '--data', '/dev/zero', '--model', path.join(dir, 'm-zero'));
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/\/dev\/zero: line 1 is longer than 1 MiB/);
    expect(fs.existsSync(path.join(dir, 'm-zero'))).toBe(false);
  }, 60_000);

  it('a quoted field that never closes is refused once it passes the limit', async () => {
    const f = longLine('open-quote.csv', 3 * 2 ** 20, 'q');
    fs.appendFileSync(f, '');
    const text = fs.readFileSync(f, 'utf8').replace('\nqqq', '\n"qqq');
    fs.writeFileSync(f, text);
    const r = await nal('detect', '--data', f, '--model', model, '--out', path.join(dir, 'q.csv'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(LINE_TOO_LONG);
  });

  it('--max-line-bytes raises the limit for files with real long lines, and lowers it', async () => {
    const [h, ...rows] = trafficToCsv(seed).trim().split('\n');
    const note = 'n'.repeat(1_500_000);
    const f = path.join(dir, 'long-notes.csv');
    fs.writeFileSync(f, [`${h},note`, ...rows.slice(0, 20).map((r) => `${r},${note}`)].join('\n') + '\n');
    const refused = await nal('detect', '--data', f, '--model', model, '--out', path.join(dir, 'n.csv'));
    expect(refused.err).toMatch(/line 2 is longer than 1 MiB/);
    const ok = await nal('detect', '--data', f, '--model', model, '--out', path.join(dir, 'n.csv'), '--max-line-bytes', '4000000', '--quiet');
    expect(ok.code, ok.err).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'n.csv'), 'utf8').split('\n')).toHaveLength(22);
    const low = await nal('detect', '--data', csv, '--model', model, '--out', path.join(dir, 'n.csv'), '--max-line-bytes', '50');
    expect(low.err).toMatch(/line 1 is longer than 50 bytes/);
  });

  it('the library readers take the same limit (parseCsv, readCsvChunks, loadTraffic)', async () => {
    expect(() => parseCsv(`a,b\n${'1'.repeat(100)},2\n`, { file: 'x.csv', maxLineBytes: 64 })).toThrow(/x\.csv: line 2 is longer than 64 bytes/);
    const chunks = readCsvChunks([`a,b\n${'1'.repeat(200)}`], { maxLineBytes: 64 });
    await expect(chunks.next()).rejects.toThrow(DataValidationError);
    expect(() => loadTraffic(path.join(dir, 'line-50mb.csv'))).toThrow(LINE_TOO_LONG);
    expect(DEFAULT_MAX_LINE_BYTES).toBe(2 ** 20);
  });
});

describe('wide rows end a chunk early, so a chunk holds a bounded amount of text', () => {
  it(`readCsvChunks: rows of 100 KB give chunks of at most ${MAX_CHUNK_TEXT / 2 ** 20} MiB of text, every row once`, async () => {
    const row = Array.from({ length: 1000 }, (_, j) => `${j}`.padStart(100, '0')).join(',');
    const head = Array.from({ length: 1000 }, (_, j) => `c${j}`).join(',');
    const text = [head, ...Array.from({ length: 600 }, () => row)].join('\n') + '\n';
    let rows = 0;
    let chunks = 0;
    for await (const c of readCsvChunks([text], { chunkSize: 8192 })) {
      chunks++;
      rows += c.records.length;
      const chars = c.records.reduce((a, r) => a + r.join(',').length + 8 * r.length, 0);
      expect(chars).toBeLessThanOrEqual(MAX_CHUNK_TEXT + row.length + 8000);
    }
    expect(rows).toBe(600);
    expect(chunks).toBeGreaterThan(1);
  });

  it.each([
    [
      'rows of 0.9 MB (an extra column)',
      () => {
        const [h, ...rows] = trafficToCsv(seed).trim().split('\n');
        const pad = 'p'.repeat(900_000);
        return [`${h},pad`, ...Array.from({ length: 160 }, (_, i) => `${rows[i % rows.length]},${pad}`)].join('\n') + '\n';
      },
    ],
    [
      'a header of 50,000 columns',
      () => {
        const [h, ...rows] = trafficToCsv(seed).trim().split('\n');
        const extraH = Array.from({ length: 50_000 }, (_, j) => `x${j}`).join(',');
        const extra = Array.from({ length: 50_000 }, () => '0').join(',');
        return [`${h},${extraH}`, ...Array.from({ length: 300 }, (_, i) => `${rows[i % rows.length]},${extra}`)].join('\n') + '\n';
      },
    ],
  ])(`detect keeps peak memory under ${DETECT_MAX_MB} MB with the default chunk size: %s`, async (name, make) => {
    const f = path.join(dir, `wide-${name.replace(/\W+/g, '-')}.csv`);
    fs.writeFileSync(f, make());
    const out = path.join(dir, 'wide-out.csv');
    const r = await runNalMeasured(['detect', '--data', f, '--model', model, '--out', out, '--quiet']);
    console.log(`${name}: ${(fs.statSync(f).size / 2 ** 20).toFixed(0)} MB file, detect peak RSS ${r.maxRssMb.toFixed(0)} MB in ${r.ms} ms`);
    expect(r.code, r.err).toBe(0);
    expect(r.maxRssMb).toBeLessThan(DETECT_MAX_MB);
    fs.rmSync(f);
    fs.rmSync(out);
  }, 120_000);
});

describe('generate streams to disk', () => {
  it.each([
    [1000, 0.15, 42, 7],
    [999, 0.3, 1, 100],
    [5, 0, 3, 2],
    [1, 0.5, 9, 1],
    [2001, 0.37, 8, 333],
  ])('%i rows, ratio %s, seed %i, blocks of %i: the same text as the in-memory generator', (rows, ratio, s, block) => {
    const whole = trafficToCsv(generateTraffic({ rows, anomalyRatio: ratio, seed: s }));
    expect([...generateTrafficCsv({ rows, anomalyRatio: ratio, seed: s, blockRows: block })].join('')).toBe(whole);
  });

  it('nal generate --rows 200000 runs with a 40 MB heap (the whole table would need over 100 MB)', async () => {
    const out = path.join(dir, 'gen.csv');
    const r = await runNalMeasured(['generate', '--rows', '200000', '--seed', '3', '--out', out], { heapMb: 40 });
    console.log(`generate 200,000 rows: ${r.ms} ms, peak RSS ${r.maxRssMb.toFixed(0)} MB`);
    expect(r.code, r.err).toBe(0);
    const text = fs.readFileSync(out, 'utf8');
    expect(text.split('\n')).toHaveLength(200_002);
    expect(text.slice(0, 2000)).toBe([...generateTrafficCsv({ rows: 200_000, seed: 3, blockRows: 1000 })].join('').slice(0, 2000));
    fs.rmSync(out);
  }, 180_000);
});

describe('options that multiply memory are limited', () => {
  it.each([
    [['train', '--data', csv, '--model', model, '--feedback', csv, '--fp-weight', '1000000000'], /--fp-weight must be at most 1,000, got '1000000000'/],
    [['train', '--data', csv, '--model', model, '--feedback', csv, '--fp-weight', '1e9'], /--fp-weight must be at most 1,000/],
    [['detect', '--data', csv, '--model', model, '--out', '-', '--chunk-size', '1000000000'], /--chunk-size must be at most 1,000,000/],
    [['generate', '--rows', '10000000000', '--out', path.join(dir, 'g.csv')], /--rows must be at most 1,000,000,000/],
    [['train', '--data', csv, '--model', model, '--epochs', '1000000000'], /--epochs must be at most 100,000/],
    [['train', '--data', csv, '--model', model, '--lof-k', '1000000000'], /--lof-k must be at most 10,000/],
    [['train', '--data', csv, '--model', model, '--knn-k', '1000000000'], /--knn-k must be at most 10,000/],
    [['detect', '--data', csv, '--model', model, '--out', '-', '--max-line-bytes', '1000000000000'], /--max-line-bytes must be at most 536,870,912/],
    [['generate', '--rows', '0x10', '--out', path.join(dir, 'g.csv')], /--rows must be an integer >= 1, got '0x10'/],
    [['generate', '--rows', '10', '--anomaly-ratio', '0x0', '--out', path.join(dir, 'g.csv')], /--anomaly-ratio must be a number, got '0x0'/],
  ])('nal %j is refused as a usage mistake', async (args, message) => {
    const r = await nal(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(fs.existsSync(path.join(dir, 'g.csv'))).toBe(false);
  });

  it(`the library refuses fpWeight above ${MAX_FP_WEIGHT}, and a feedback set that would add more than 2^24 values`, () => {
    const data = generateTraffic({ rows: 3000, anomalyRatio: 0, seed: 2 });
    const labels = feedbackLog(labelRows(data, { rows: Array.from({ length: 2000 }, (_, i) => i) }, 'fp', { at: '2025-01-01T00:00:00Z' }));
    expect(() => feedbackTrainingSet(data, labels, { fpWeight: MAX_FP_WEIGHT + 1 })).toThrow(/fpWeight' option must be an integer in \[1, 1000\]/);
    expect(() => feedbackTrainingSet(data, labels, { fpWeight: 1000 })).toThrow(/would add more than 16,777,216 feature values/);
    expect(feedbackTrainingSet(data, labels, { fpWeight: 10 }).added).toBe(2000 * 9);
  });
});
