/**
 * Feedback logs are strict: --file must be a feedback log (or new), everything is checked before
 * anything is appended, a line that is not JSON (other than the remains of an interrupted write)
 * is an error unless --skip-bad-lines, and retraining needs at least one label.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { loadFeedback, parseFeedback } from '../../src/feedback/store';
import { nal } from '../support/cli';
import { folderHash } from '../support/process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-fbfiles-'));
const csv = path.join(dir, 'traffic.csv');
const model = path.join(dir, 'model');
const scored = path.join(dir, 'scored.csv');
let ids: string[] = [];
let goodLine = '';

beforeAll(async () => {
  fs.writeFileSync(csv, trafficToCsv(generateTraffic({ rows: 400, anomalyRatio: 0.1, seed: 7 })));
  expect((await nal('train', '--data', csv, '--model', model, '--seed', '1', '--detectors', 'isolationForest,localOutlierFactor', '--quiet')).code).toBe(0);
  expect((await nal('detect', '--data', csv, '--model', model, '--out', scored, '--quiet')).code).toBe(0);
  const t = parseCsv(fs.readFileSync(scored, 'utf8'));
  ids = t.records.map((r) => r[t.header.indexOf('row_id')]);
  const log = path.join(dir, 'one.jsonl');
  expect((await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', ids[0], '--label', 'fp', '--file', log, '--quiet')).code).toBe(0);
  goodLine = fs.readFileSync(log, 'utf8').trim();
});

describe('feedback add --file must be a feedback log, or new', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a CSV file', () => copy(csv, 'data-copy.csv'), /data-copy\.csv: line 1: is not a feedback log \(JSON lines written by nal feedback add\)/],
    ['a model manifest', () => copy(path.join(model, 'manifest.json'), 'manifest-copy.json'), /manifest-copy\.json: line 2: has a line that is not JSON/],
    ['the --data file itself', () => csv, /traffic\.csv: is the same file as --data/],
    ['a folder', () => fs.mkdtempSync(path.join(dir, 'folder-')), /folder-\w+: is a directory; give a file name/],
    ['a binary file', () => write('binary.bin', Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 11])), /is not valid UTF-8|is not a feedback log/],
    ['a log with a damaged line in the middle', () => write('damaged.jsonl', `${goodLine}\nthis is not json\n${goodLine}\n`), /damaged\.jsonl: line 2: has a line that is not JSON \(damaged\?\); --skip-bad-lines skips such lines/],
    ['a log with a record of invalid content', () => write('invalid.jsonl', `${goodLine}\n{"row_id":"zz","label":"fp","at":"2025-01-01T00:00:00Z"}\n`), /invalid\.jsonl: line 2: feedback record has an invalid row_id "zz"/],
  ];
  function copy(from: string, name: string): string {
    const f = path.join(dir, name);
    fs.copyFileSync(from, f);
    return f;
  }
  function write(name: string, content: string | Buffer): string {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content);
    return f;
  }

  it.each(cases)('%s is refused and left unchanged', async (_name, make, message) => {
    const file = make();
    const before = fs.statSync(file).isFile() ? fs.readFileSync(file) : undefined;
    const r = await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', ids[1], '--label', 'fp', '--file', file);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    if (before) expect(fs.readFileSync(file)).toEqual(before);
  });

  it('a new file is created; an unknown id among known ones appends nothing; a log with a cut-off last line is appended after it', async () => {
    const f = path.join(dir, 'new', 'feedback.jsonl');
    const ok = await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', `${ids[2]},${ids[3]}`, '--label', 'tp', '--file', f, '--quiet');
    expect(ok.code, ok.err).toBe(0);
    const before = fs.readFileSync(f);
    const bad = await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', `${ids[4]},deadbeefdeadbeef`, '--label', 'fp', '--file', f);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/row id 'deadbeefdeadbeef' is not in the given data/);
    expect(fs.readFileSync(f)).toEqual(before);
    fs.appendFileSync(f, goodLine.slice(0, 30)); // an interrupted write
    const after = await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', ids[5], '--label', 'fn', '--file', f);
    expect(after.code, after.err).toBe(0);
    expect(after.err).toMatch(/truncated last line \(an interrupted write\) skipped/);
    const log = loadFeedback(f);
    expect(log.records.map((r) => r.row_id)).toEqual([ids[2], ids[3], ids[5]]);
    expect(log.warnings).toHaveLength(1);
  });

  it('--skip-bad-lines accepts a damaged log, with a warning, and appends', async () => {
    const f = path.join(dir, 'damaged-skip.jsonl');
    fs.writeFileSync(f, `${goodLine}\nthis is not json\n`);
    const r = await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', ids[6], '--label', 'fp', '--file', f, '--skip-bad-lines');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/line 2: not valid JSON .* skipped/);
    expect(loadFeedback(f, { skipBadLines: true }).records).toHaveLength(2);
    const stats = await nal('feedback', 'stats', '--file', f);
    expect(stats.code).toBe(1);
    expect(stats.err).toMatch(/line 2: has a line that is not JSON/);
    const skipped = await nal('feedback', 'stats', '--file', f, '--skip-bad-lines', '--json', '--quiet');
    expect(skipped.code).toBe(0);
    expect(JSON.parse(skipped.out)).toMatchObject({ records: 2, skippedLines: 1 });
  });
});

describe('train --feedback needs a feedback log with labels', () => {
  it.each([
    ['a scored CSV', () => scored, /scored\.csv: line 1: is not a feedback log/],
    ['an empty file', () => (fs.writeFileSync(path.join(dir, 'empty.jsonl'), ''), path.join(dir, 'empty.jsonl')), /empty\.jsonl: has no feedback labels; label rows with nal feedback add first/],
    [
      'a log of nothing but an interrupted write',
      () => (fs.writeFileSync(path.join(dir, 'cut.jsonl'), goodLine.slice(0, 20)), path.join(dir, 'cut.jsonl')),
      /cut\.jsonl: has no feedback labels \(1 line skipped\)/,
    ],
    ['a missing file', () => path.join(dir, 'nope.jsonl'), /nope\.jsonl: feedback file not found/],
  ])('%s: an error, and the model is unchanged', async (_name, make, message) => {
    const before = folderHash(model);
    const r = await nal('train', '--data', csv, '--model', model, '--feedback', make(), '--quiet');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(folderHash(model)).toBe(before);
  });
});

describe('parseFeedback', () => {
  it('skips the remains of interrupted writes anywhere, refuses other lines that are not JSON', () => {
    const cut = goodLine.slice(0, 25);
    expect(parseFeedback(`${goodLine}\n${cut}\n${goodLine}\n`).warnings).toEqual(['line 2: not valid JSON (the remains of an interrupted write?) skipped.']);
    expect(parseFeedback(`${goodLine}\n{\n`).warnings).toHaveLength(1); // '{' is the start of a record
    expect(() => parseFeedback(`${goodLine}\nrow_id,label\n${goodLine}\n`, 'f.jsonl')).toThrow(/f\.jsonl: line 2: has a line that is not JSON/);
    expect(() => parseFeedback('timestamp,packet_size\n', 'f.jsonl')).toThrow(/line 1: is not a feedback log/);
    expect(() => parseFeedback('hello', 'f.jsonl')).toThrow(/line 1: is not a feedback log/); // one line that is not a record
    expect(parseFeedback(`${goodLine}\nrow_id,label\n`, 'f.jsonl', { skipBadLines: true }).records).toHaveLength(1);
  });
});
