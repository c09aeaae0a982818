import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { generateTraffic } from '../../src/data/generator';
import { rowIds } from '../../src/ensemble/output';
import {
  appendFeedback,
  feedbackLog,
  feedbackPath,
  feedbackStats,
  labelRows,
  loadFeedback,
  parseFeedback,
  type FeedbackRecord,
} from '../../src/feedback/store';

const data = generateTraffic({ rows: 50, anomalyRatio: 0.2, seed: 5 });
const ids = rowIds(data);
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nal-fb-')), 'model', 'feedback.jsonl');
const AT = '2025-01-02T03:04:05.000Z';

describe('feedback store', () => {
  it('labelRows makes records with the stable row id and the feature values', () => {
    const recs = labelRows(data, { rows: [0, 12] }, 'tp', { at: AT, note: 'scan' });
    expect(recs.map((r) => r.row_id)).toEqual([ids[0], ids[12]]);
    expect(recs[0]).toMatchObject({ label: 'tp', at: AT, note: 'scan' });
    expect(recs[0].features).toEqual(Array.from(data.X.data.subarray(0, 10)));
    expect(recs[0].feature_set).toMatch(/^[0-9a-f]{8}$/);
    expect(labelRows(data, { rowIds: [ids[12]] }, 'fp', { at: AT })[0].features).toEqual(recs[1].features);
  });

  it('refuses an unknown row id with a clear message, and bad indices or labels', () => {
    expect(() => labelRows(data, { rowIds: ['deadbeefdeadbeef'] }, 'fp')).toThrow(DataValidationError);
    expect(() => labelRows(data, { rowIds: ['deadbeefdeadbeef'] }, 'fp')).toThrow("row id 'deadbeefdeadbeef' is not in the given data (50 rows)");
    expect(() => labelRows(data, { rows: [50] }, 'fp')).toThrow(/row must be an integer in \[0, 49\]/);
    expect(() => labelRows(data, { rows: [0] }, 'maybe' as never)).toThrow(/label must be one of tp, fp, fn/);
  });

  it('appends JSON lines (creating the folder) and reads them back', () => {
    const file = tmpFile();
    appendFeedback(file, labelRows(data, { rows: [0, 1] }, 'tp', { at: AT }));
    appendFeedback(file, labelRows(data, { rows: [30] }, 'fp', { at: AT }));
    const text = fs.readFileSync(file, 'utf8');
    expect(text.split('\n')).toHaveLength(4);
    expect(text.endsWith('\n')).toBe(true);
    const log = loadFeedback(file);
    expect(log.records).toHaveLength(3);
    expect(log.warnings).toEqual([]);
    expect(log.latest.get(ids[30])!.label).toBe('fp');
    expect(feedbackStats(log)).toEqual({ records: 3, rows: 3, tp: 2, fp: 1, fn: 0, withFeatures: 3, conflicts: 0, skippedLines: 0, first: AT, last: AT });
    expect(feedbackPath('models/demo')).toBe(path.join('models/demo', 'feedback.jsonl'));
  });

  it('a crash mid-write loses no earlier label: the truncated last line is reported and skipped, and the next append starts a new line', () => {
    const file = tmpFile();
    appendFeedback(file, labelRows(data, { rows: [0, 1] }, 'tp', { at: AT }));
    const before = fs.readFileSync(file, 'utf8');
    // simulate a write interrupted half-way through a line
    const partial = JSON.stringify(labelRows(data, { rows: [2] }, 'fp', { at: AT })[0]);
    fs.appendFileSync(file, partial.slice(0, 40));
    const log = loadFeedback(file);
    expect(log.records.map((r) => r.row_id)).toEqual([ids[0], ids[1]]);
    expect(log.warnings).toEqual([`${file}: line 3: truncated last line (an interrupted write) skipped.`]);
    expect(fs.readFileSync(file, 'utf8').startsWith(before)).toBe(true);
    // the next label is intact, the fragment stays a skipped line of its own
    appendFeedback(file, labelRows(data, { rows: [3] }, 'fp', { at: AT }));
    const after = loadFeedback(file);
    expect(after.records.map((r) => r.row_id)).toEqual([ids[0], ids[1], ids[3]]);
    expect(after.warnings).toHaveLength(1);
    expect(after.warnings[0]).toMatch(/line 3: not valid JSON/);
    expect(feedbackStats(after).skippedLines).toBe(1);
  });

  it('keeps an unterminated last line that is a complete record', () => {
    const rec = labelRows(data, { rows: [4] }, 'fn', { at: AT })[0];
    const log = parseFeedback(JSON.stringify(rec));
    expect(log.records).toEqual([rec]);
    expect(log.warnings).toEqual([]);
  });

  it('a later label for the same row wins, and the change is recorded', () => {
    const [a] = labelRows(data, { rows: [7] }, 'tp', { at: AT });
    const b: FeedbackRecord = { row_id: a.row_id, label: 'fp', at: '2025-01-03T00:00:00Z', note: 'backup job' };
    const log = feedbackLog([a, b, { ...b }]);
    expect(log.latest.get(a.row_id)!.label).toBe('fp');
    // the features of the earlier record are kept for the row
    expect(log.latest.get(a.row_id)!.features).toEqual(a.features);
    expect(log.conflicts).toEqual([{ row_id: a.row_id, previous: 'tp', label: 'fp', line: 0 }]);
    const s = feedbackStats(log);
    expect([s.records, s.rows, s.tp, s.fp, s.conflicts]).toEqual([3, 1, 0, 1, 1]);
  });

  it('refuses a well-formed line with invalid content, naming the line; writes nothing for an invalid record', () => {
    const good = JSON.stringify(labelRows(data, { rows: [0] }, 'tp', { at: AT })[0]);
    expect(() => parseFeedback(`${good}\n{"row_id":"${ids[1]}","label":"maybe","at":"${AT}"}\n`, 'f.jsonl')).toThrow(
      "f.jsonl: line 2: feedback record has an invalid label \"maybe\" (expected one of tp, fp, fn).",
    );
    expect(() => parseFeedback(`{"row_id":"x","label":"tp","at":"${AT}"}\n`)).toThrow(/invalid row_id/);
    expect(() => parseFeedback(`{"row_id":"${ids[1]}","label":"tp","at":"yesterday"}\n`)).toThrow(/invalid time/);
    expect(() => parseFeedback(`{"row_id":"${ids[1]}","label":"tp","at":"${AT}","features":[1,null]}\n`)).toThrow(/invalid features/);
    expect(() => parseFeedback(`{"row_id":"${ids[1]}","label":"tp","at":"${AT}","scores":{"magic":1}}\n`)).toThrow(/invalid scores/);
    expect(parseFeedback(`{"row_id":"${ids[1]}","label":"tp","at":"${AT}","scores":{"autoencoder":1.5},"extra":true}\n`).records[0]).toEqual({ row_id: ids[1], label: 'tp', at: AT, scores: { autoencoder: 1.5 } });
    const file = tmpFile();
    expect(() => appendFeedback(file, [{ row_id: ids[0], label: 'tp', at: AT }, { row_id: ids[1], label: 'xx' as never, at: AT }])).toThrow(/record 2: feedback record has an invalid label/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('a missing file is an error unless missingOk', () => {
    const file = tmpFile();
    expect(() => loadFeedback(file)).toThrow(/feedback file not found/);
    expect(loadFeedback(file, { missingOk: true }).records).toEqual([]);
  });
});
