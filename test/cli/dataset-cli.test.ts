/** `--dataset`, `--train-sample` and `--stratify` on tiny files in the real datasets' formats. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { nal } from '../support/cli';
import { nslLine, nslText, oddsText } from '../data/fixtures';



const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-ds-cli-'));
const trainFile = path.join(dir, 'KDDTrain+.txt.gz');
const testFile = path.join(dir, 'KDDTest+.txt');
fs.writeFileSync(trainFile, zlib.gzipSync(nslText(60)));
// the test file has a service the training rows lack
fs.writeFileSync(testFile, nslText(20, { offset: 3 }) + nslLine('tcp', 'imap4', 'SF', 'guess_passwd', 5) + '\n');
const FAST = ['--epochs', '2', '--lof-k', '5', '--quiet'];

describe('nal with --dataset', () => {
  it('evaluate --dataset nsl-kdd --train --normal-only --train-sample runs the NSL-KDD protocol in one command', async () => {
    const r = await nal('evaluate', '--dataset', 'nsl-kdd', '--train', trainFile, '--data', testFile, '--normal-only', '--train-sample', '40', '--contamination', '0.1', '--seed', '4', '--json', ...FAST);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.trainRows).toBe(40);
    expect(j.evalRows).toBe(21);
    expect(Object.keys(j.models)).toContain('ensemble');
  });

  it('unseen categories are warned about with their count, not fatal', async () => {
    const r = await nal('evaluate', '--dataset', 'nsl-kdd', '--train', trainFile, '--data', testFile, '--normal-only', '--seed', '4', '--detectors', 'isolationForest', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: .*KDDTest\+\.txt: categories not seen in training, encoded as all zeros: service: 1 row \('imap4' 1\)/);
  });

  it('train stores the description and encoder; detect encodes new files identically', async () => {
    const model = path.join(dir, 'nsl-model');
    const t = await nal('train', '--dataset', 'nsl-kdd', '--data', trainFile, '--normal-only', '--train-sample', '40', '--seed', '9', '--model', model, ...FAST);
    expect(t.code).toBe(0);
    const manifest = JSON.parse(fs.readFileSync(path.join(model, 'manifest.json'), 'utf8'));
    expect(manifest.dataset.schema.name).toBe('nsl-kdd');
    expect(manifest.dataset.encoder.categories.protocol_type).toEqual(['icmp', 'tcp', 'udp']);
    expect(manifest.metadata.trainSample).toBe(40);
    const out = path.join(dir, 'scored.csv');
    // no --dataset needed: the model knows its layout
    const d = await nal('detect', '--data', testFile, '--model', model, '--out', out);
    expect(d.code).toBe(0);
    expect(d.err).toMatch(/service: 1 row \('imap4' 1\)/);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(22);
    expect(lines[0].startsWith('duration,protocol_type,service,flag,')).toBe(true);
    expect(lines[0]).toContain('ensemble_score');
  });

  it('evaluate --dataset odds --train-fraction 0.7 --stratify is the ADBench split', async () => {
    const f = path.join(dir, 'http.csv.gz');
    fs.writeFileSync(f, zlib.gzipSync(oddsText(100)));
    const r = await nal('evaluate', '--dataset', 'odds', '--data', f, '--train-fraction', '0.7', '--stratify', '--seed', '1', '--contamination', 'auto', '--json', ...FAST);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.trainRows).toBe(70);
    expect(j.models.ensemble.tp + j.models.ensemble.fn).toBe(3);
  });

  it('reads a description file; usage mistakes are one line', async () => {
    const desc = path.join(dir, 'flows.json');
    fs.writeFileSync(desc, JSON.stringify({ name: 'flows', features: 'rest', categorical: ['proto'], label: 'class', normalLabels: ['benign'] }));
    const csv = path.join(dir, 'flows.csv');
    const rows = ['bytes,pkts,proto,class'];
    for (let i = 0; i < 40; i++) rows.push(`${100 + (i % 9)},${3 + (i % 4)},${i % 3 ? 'tcp' : 'udp'},${i % 10 === 9 ? 'ddos' : 'benign'}`);
    fs.writeFileSync(csv, rows.join('\n') + '\n');
    const r = await nal('evaluate', '--dataset', desc, '--data', csv, '--detectors', 'isolationForest', '--seed', '1', '--json', '--quiet');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).models.ensemble.tp + JSON.parse(r.out).models.ensemble.fn).toBe(4);
    const unknown = await nal('evaluate', '--dataset', 'kdd', '--data', csv);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^nal: unknown dataset 'kdd': use one of seed, nsl-kdd, odds, flows, zeek-conn, cicflowmeter or the path of a JSON description file.\n$/);
    const strat = await nal('evaluate', '--data', csv, '--dataset', desc, '--stratify');
    expect(strat.code).toBe(2);
    expect(strat.err).toMatch(/--stratify needs --train-fraction/);
    const sample = await nal('train', '--data', csv, '--dataset', desc, '--train-sample', '0', '--model', path.join(dir, 'm'));
    expect(sample.code).toBe(2);
    expect(sample.err).toMatch(/--train-sample must be an integer >= 1/);
  });
});
