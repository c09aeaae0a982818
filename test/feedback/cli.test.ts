import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nal } from '../support/cli';
import { parseCsv } from '../../src/data/csv';



const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-fbcli-'));
const csv = path.join(dir, 'traffic.csv');
const model = path.join(dir, 'model');
const scored = path.join(dir, 'scored.csv');

function readScored(file: string): { ids: string[]; flagged: boolean[]; labels: number[] } {
  const t = parseCsv(fs.readFileSync(file, 'utf8'));
  const c = (n: string) => t.header.indexOf(n);
  return {
    ids: t.records.map((r) => r[c('row_id')]),
    flagged: t.records.map((r) => r[c('is_anomaly')] === '1'),
    labels: t.records.map((r) => Number(r[c('label')])),
  };
}

describe('nal feedback and nal train --feedback', () => {
  let first: ReturnType<typeof readScored>;
  let fpIds: string[];
  let tpIds: string[];

  it('detect writes row ids; feedback add stores labels beside the model; stats counts them', async () => {
    expect((await nal('generate', '--rows', '800', '--anomaly-ratio', '0.15', '--seed', '4', '--out', csv, '--quiet')).code).toBe(0);
    const train = await nal('train', '--data', csv, '--seed', '3', '--contamination', '0.2', '--detectors', 'isolationForest,localOutlierFactor', '--model', model, '--quiet');
    expect(train.code).toBe(0);
    expect((await nal('detect', '--data', csv, '--model', model, '--out', scored, '--quiet')).code).toBe(0);
    first = readScored(scored);
    fpIds = first.ids.filter((_, i) => first.flagged[i] && first.labels[i] === 0);
    tpIds = first.ids.filter((_, i) => first.flagged[i] && first.labels[i] === 1).slice(0, 10);
    expect(fpIds.length).toBeGreaterThanOrEqual(10);
    const a = await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', fpIds.join(','), '--label', 'fp', '--note', 'backups');
    expect(a.code).toBe(0);
    expect(a.err).toContain(`added ${fpIds.length} fp labels to ${path.join(model, 'feedback.jsonl')}`);
    const b = await nal('feedback', 'add', '--model', model, '--data', scored, '--row-id', tpIds[0], '--row-id', tpIds.slice(1).join(','), '--label', 'tp');
    expect(b.code).toBe(0);
    const lines = fs.readFileSync(path.join(model, 'feedback.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(fpIds.length + 10);
    expect(JSON.parse(lines[0])).toMatchObject({ row_id: fpIds[0], label: 'fp', note: 'backups' });
    const s = await nal('feedback', 'stats', '--model', model, '--json');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ records: fpIds.length + 10, rows: fpIds.length + 10, tp: 10, fp: fpIds.length, fn: 0, conflicts: 0, skippedLines: 0 });
    const text = await nal('feedback', 'stats', '--model', model);
    expect(text.out).toContain(`tp 10   fp ${fpIds.length}   fn 0`);
  });

  it('refuses unknown row ids, bad labels and a missing subcommand', async () => {
    const u = await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', 'deadbeefdeadbeef', '--label', 'fp');
    expect(u.code).toBe(1);
    expect(u.err).toContain("row id 'deadbeefdeadbeef' is not in the given data (800 rows)");
    expect((await nal('feedback', 'add', '--model', model, '--data', csv, '--row-id', fpIds[0], '--label', 'maybe')).code).toBe(2);
    expect((await nal('feedback', 'list')).err).toContain('nal feedback needs a subcommand: add or stats');
    expect((await nal('train', '--data', csv, '--model', model, '--fp-weight', '3')).err).toContain('--fp-weight needs --feedback');
    expect((await nal('train', '--data', csv, '--model', model, '--keep-weights')).err).toContain('--keep-weights needs --feedback');
  });

  it('train --feedback retrains the model in place: the false positives are no longer flagged, ids are unchanged', async () => {
    const fb = path.join(model, 'feedback.jsonl');
    const r = await nal('train', '--data', csv, '--model', model, '--feedback', fb);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/retrained with feedback .*\(seed 3\): 10 confirmed anomalies left the 800 training rows, \d+ confirmed false positives joined them/);
    const m = JSON.parse(fs.readFileSync(path.join(model, 'manifest.json'), 'utf8'));
    expect(m.metadata.feedback).toMatchObject({ file: path.resolve(fb), records: fpIds.length + 10, contamination: 0.2, removed: 10, falsePositives: fpIds.length });
    expect(m.options.detectors).toEqual(['isolationForest', 'localOutlierFactor']);
    expect(fs.existsSync(fb)).toBe(true);
    const again = path.join(dir, 'scored2.csv');
    expect((await nal('detect', '--data', csv, '--model', model, '--out', again, '--quiet')).code).toBe(0);
    const second = readScored(again);
    expect(second.ids).toEqual(first.ids);
    const stillFlagged = fpIds.filter((id) => second.flagged[second.ids.indexOf(id)]).length;
    expect(stillFlagged).toBeLessThanOrEqual(Math.floor(fpIds.length / 5));
    // a second retrain keeps the contamination before feedback; --keep-weights keeps the fusion weights
    const weightsBefore = JSON.parse(fs.readFileSync(path.join(model, 'manifest.json'), 'utf8')).weights;
    const r2 = await nal('train', '--data', csv, '--model', model, '--feedback', fb, '--keep-weights', '--epochs', '2');
    expect(r2.code).toBe(0);
    expect(r2.err).toContain('fusion weights kept');
    // a flag for a detector the retrained model does not have: one warning naming the model's detectors
    expect(r2.err).toContain('warning: --epochs applies to autoencoder, which is not among the detectors (isolationForest,localOutlierFactor); add it with --detectors isolationForest,localOutlierFactor,autoencoder.\n');
    expect(JSON.parse(fs.readFileSync(path.join(model, 'manifest.json'), 'utf8')).weights).toEqual(weightsBefore);
    expect(JSON.parse(fs.readFileSync(path.join(model, 'manifest.json'), 'utf8')).metadata.feedback.contamination).toBe(0.2);
  });

  it('stats reports and skips a truncated last line', async () => {
    const fb = path.join(dir, 'copy.jsonl');
    fs.copyFileSync(path.join(model, 'feedback.jsonl'), fb);
    fs.appendFileSync(fb, '{"row_id":"0123');
    const s = await nal('feedback', 'stats', '--file', fb);
    expect(s.code).toBe(0);
    expect(s.err).toMatch(/warning: .*line \d+: truncated last line \(an interrupted write\) skipped/);
    expect(s.out).toContain('1 line skipped');
  });
});
