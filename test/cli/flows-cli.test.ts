/**
 * `nal flows`, `--dataset flows|zeek-conn|cicflowmeter` and `--bad-rows` as a user runs them:
 * a synthesized capture becomes flows, trains and is scored; the hand-written Zeek and
 * CICFlowMeter fixtures train, detect and evaluate; bad rows are refused or skipped into a side file.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flowsToCsv, loadCaptureFlows } from '../../src/capture/export';
import { labelFlows, synthesizeCapture } from '../../src/capture/synth';
import { nal } from '../support/cli';
import { startNal, tempFilesUnder, waitUntil, writing } from '../support/process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-flows-cli-'));
const FIX = path.resolve(__dirname, '../fixtures/flow-logs');
const FAST = ['--epochs', '3', '--lof-k', '10', '--quiet'];
const pcap = path.join(dir, 'capture.pcapng');

beforeAll(async () => {
  await synthesizeCapture(pcap, { seed: 3, minutes: 2, webPerSecond: 1, dnsPerSecond: 1.5, attackAfter: 0.5, scanPorts: 60, bruteForceAttempts: 8, uploadMinutes: 0.5, format: 'pcapng' });
}, 60_000);

describe('nal flows', () => {
  it('writes one row per flow to --out, the summary on stderr; the same rows as the library', async () => {
    const out = path.join(dir, 'flows.csv');
    const r = await nal('flows', '--pcap', pcap, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('');
    const { flows } = await loadCaptureFlows(pcap);
    expect(r.err).toBe(`read ${(await loadCaptureFlows(pcap)).summary.packets.toLocaleString('en-US')} packets from ${pcap} (pcapng, Ethernet; ${flows.reduce((a, f) => (f.timestamp < a ? f.timestamp : a), flows[0].timestamp)} to ${(await loadCaptureFlows(pcap)).summary.last}): ${flows.length.toLocaleString('en-US')} flows written to ${out}\n`);
    expect(fs.readFileSync(out, 'utf8')).toBe(flowsToCsv(flows));
    // stdout by default; --quiet says nothing
    const s = await nal('flows', '--pcap', pcap, '--quiet');
    expect(s.out).toBe(flowsToCsv(flows));
    expect(s.err).toBe('');
  });

  it('timeouts are options; mistakes are one line with exit 2; a bad capture is exit 1 and leaves no output', async () => {
    const a = await nal('flows', '--pcap', pcap, '--idle-timeout', '0.5', '--quiet');
    const b = await nal('flows', '--pcap', pcap, '--quiet');
    expect(a.out.split('\n').length).toBeGreaterThan(b.out.split('\n').length);
    expect(a.out).toMatch(/,idle,/);
    const usage = await nal('flows', '--out', 'x.csv');
    expect([usage.code, usage.err]).toEqual([2, 'nal: --pcap is required (see nal flows --help).\n']);
    const t = await nal('flows', '--pcap', pcap, '--active-timeout=-3');
    expect([t.code, t.err]).toEqual([2, "nal: --active-timeout must be a positive number of seconds, got '-3'.\n"]);
    const csv = path.join(FIX, 'cic-ids2017.csv');
    const out = path.join(dir, 'never.csv');
    const n = await nal('flows', '--pcap', csv, '--out', out);
    expect(n.code).toBe(1);
    expect(n.err).toBe(`nal: ${csv}: byte offset 0: not a pcap or pcapng capture (it starts with bytes 46 6c 6f 77, text "Flow").\n`);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.never'))).toEqual([]);
    const help = await nal('flows', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^nal flows: turn a packet capture \(pcap, pcapng\) into one CSV row per bidirectional flow\n\nUsage:\n {2}nal flows --pcap FILE\|- /);
    expect(help.out).toMatch(/--close-wait S/);
    expect((await nal('--help')).out).toMatch(/nal flows --pcap FILE\|- \[--out FILE\|-\]/);
  });

  it('--out to a named pipe (or a device such as /dev/null) writes into it and leaves it in place', async () => {
    const fifo = path.join(dir, 'flows.fifo');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status !== 0) throw new Error(`mkfifo failed: ${mk.stderr}`);
    let text = '';
    const reader = new Promise<void>((resolve, reject) => {
      const rs = fs.createReadStream(fifo, { encoding: 'utf8' });
      rs.on('data', (c) => (text += c));
      rs.on('end', () => resolve());
      rs.on('error', reject);
    });
    const r = await nal('flows', '--pcap', pcap, '--out', fifo, '--quiet');
    await reader;
    expect(r.code, r.err).toBe(0);
    expect(fs.statSync(fifo).isFIFO()).toBe(true); // not replaced by a renamed temporary file
    expect(text).toBe(flowsToCsv((await loadCaptureFlows(pcap)).flows));
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.flows.fifo'))).toEqual([]);
  });

  it('Ctrl-C while reading a capture from stdin: exit 130, nothing written, no temporary file', async () => {
    const out = path.join(dir, 'interrupted.csv');
    const child = await startNal(['flows', '--pcap', '-', '--out', out], { stdio: ['pipe', 'pipe', 'pipe'] });
    // half the capture, then the pipe stays open: nal waits for more
    const bytes = fs.readFileSync(pcap);
    // the child may be gone before it read all of it: a broken pipe is expected here
    child.stdin!.on('error', () => undefined);
    await new Promise<void>((resolve) => child.stdin!.write(bytes.subarray(0, bytes.length >> 1), () => resolve()));
    await waitUntil(() => writing(dir, 'interrupted.csv'), 60_000, 'nal flows to start its output');
    child.kill('SIGINT');
    const r = await child.done;
    expect(r.code).toBe(130);
    expect(r.err).toBe('nal: interrupted by SIGINT; nothing written.\n');
    expect(fs.existsSync(out)).toBe(false);
    expect(tempFilesUnder(dir)).toEqual([]);
  }, 90_000);

  it('train --dataset flows on the normal first part, detect the rest: the scan is flagged', async () => {
    const { flows } = await loadCaptureFlows(pcap);
    const { sessions } = await synthesizeCapture(path.join(dir, 'again.pcapng'), { seed: 3, minutes: 2, webPerSecond: 1, dnsPerSecond: 1.5, attackAfter: 0.5, scanPorts: 60, bruteForceAttempts: 8, uploadMinutes: 0.5, format: 'pcapng' });
    const labels = labelFlows(flows, sessions);
    expect(labels).not.toContain('unknown');
    const order = flows.map((_, i) => i).sort((a, b) => (flows[a].timestamp < flows[b].timestamp ? -1 : 1));
    const half = Date.parse(flows[order[0]].timestamp) + 60_000;
    const first = order.filter((i) => Date.parse(flows[i].timestamp) < half);
    const rest = order.filter((i) => Date.parse(flows[i].timestamp) >= half);
    expect(first.every((i) => labels[i] === 'normal')).toBe(true);
    const train = path.join(dir, 'train.csv');
    const test = path.join(dir, 'test.csv');
    fs.writeFileSync(train, flowsToCsv(first.map((i) => flows[i])));
    fs.writeFileSync(test, flowsToCsv(rest.map((i) => flows[i]), rest.map((i) => labels[i])));
    const model = path.join(dir, 'flows-model');
    const t = await nal('train', '--dataset', 'flows', '--data', train, '--contamination', 'auto', '--seed', '1', '--model', model, ...FAST);
    expect(t.code, t.err).toBe(0);
    const scored = path.join(dir, 'scored.csv');
    const d = await nal('detect', '--model', model, '--data', test, '--out', scored, '--quiet');
    expect(d.code, d.err).toBe(0);
    const lines = fs.readFileSync(scored, 'utf8').trim().split('\n').map((l) => l.split(','));
    const h = lines[0];
    expect(h.slice(0, 8)).toEqual(['timestamp', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', 'end_reason', 'duration']);
    const scan = lines.slice(1).filter((c) => c[h.indexOf('label')] === 'scan');
    expect(scan.length).toBe(60);
    expect(scan.filter((c) => c[h.indexOf('is_anomaly')] === '1').length).toBeGreaterThanOrEqual(48);
    // evaluate reads the labels of our flows (normal = normal)
    const e = await nal('evaluate', '--dataset', 'flows', '--train', train, '--data', test, '--contamination', 'auto', '--seed', '1', '--json', ...FAST);
    expect(e.code, e.err).toBe(0);
    const j = JSON.parse(e.out);
    expect(j.models.ensemble.tp + j.models.ensemble.fn).toBe(rest.filter((i) => labels[i] !== 'normal').length);
  });
});

describe('nal with --dataset zeek-conn and cicflowmeter', () => {
  it('zeek-conn: trains on the TSV log, detects on its JSON-lines form, evaluates with IoT-23 labels', async () => {
    const model = path.join(dir, 'zeek-model');
    const t = await nal('train', '--dataset', 'zeek-conn', '--data', path.join(FIX, 'zeek-conn.log'), '--seed', '2', '--model', model, ...FAST);
    expect(t.code, t.err).toBe(0);
    const out = path.join(dir, 'zeek-scored.csv');
    const d = await nal('detect', '--model', model, '--data', path.join(FIX, 'zeek-conn.json'), '--out', out);
    expect(d.code, d.err).toBe(0);
    expect(d.err).toMatch(/^scored 59 rows: \d+ anomalies/);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(60);
    expect(lines[0].startsWith('ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration,')).toBe(true);
    const e = await nal('evaluate', '--dataset', 'zeek-conn', '--data', path.join(FIX, 'zeek-conn.log'), '--seed', '2', '--json', ...FAST);
    expect(e.code, e.err).toBe(0);
    expect(JSON.parse(e.out).models.ensemble.tp + JSON.parse(e.out).models.ensemble.fn).toBe(10);
  });

  it('cicflowmeter: refused with the count of Infinity/NaN rows; --bad-rows skip evaluates the rest and writes the side file', async () => {
    const cic = path.join(FIX, 'cic-ids2017.csv');
    const r = await nal('evaluate', '--dataset', 'cicflowmeter', '--data', cic, '--seed', '2', '--json', ...FAST);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^nal: .*cic-ids2017\.csv, row \d+, column 'Flow Bytes\/s': value (Infinity|NaN) is not a finite number\. 5 of 44 rows cannot be encoded \(this is the first; --bad-rows skip leaves them out\)\.\n$/);
    const side = path.join(dir, 'cic-skipped.csv');
    const s = await nal('evaluate', '--dataset', 'cicflowmeter', '--data', cic, '--seed', '2', '--json', '--bad-rows', 'skip', '--skipped-rows', side, '--epochs', '3', '--lof-k', '10');
    expect(s.code, s.err).toBe(0);
    expect(s.err).toMatch(/note: 5 rows of .*cic-ids2017\.csv cannot be encoded and were skipped \(first: row \d+, column 'Flow Bytes\/s': value (Infinity|NaN) is not a finite number\.\); listed in .*cic-skipped\.csv/);
    const j = JSON.parse(s.out);
    expect(j.evalRows).toBe(39);
    expect(j.skippedRows).toEqual([{ file: cic, rows: 5, sideFile: side }]);
    const lines = fs.readFileSync(side, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0].startsWith('row,column,reason,Flow ID,Source IP,Source Port,')).toBe(true);
    // the corrected column names
    const v4 = await nal('evaluate', '--dataset', 'cicflowmeter', '--data', path.join(FIX, 'cicflowmeter-v4.csv'), '--seed', '2', '--json', '--bad-rows', 'skip', '--skipped-rows', path.join(dir, 'v4-skipped.csv'), ...FAST);
    expect(v4.code, v4.err).toBe(0);
    expect(JSON.parse(v4.out).evalRows).toBe(40);
  });

  it('detect --bad-rows skip: the output beside its side file; train too; usage mistakes', async () => {
    const cic = path.join(FIX, 'cicflowmeter-v4.csv');
    const model = path.join(dir, 'cic-model');
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const t = await nal('train', '--dataset', 'cicflowmeter', '--data', cic, '--bad-rows', 'skip', '--seed', '2', '--model', model, '--epochs', '3', '--lof-k', '10');
      expect(t.code, t.err).toBe(0);
      expect(t.err).toMatch(/note: 4 rows of .* were skipped .*; listed in cicflowmeter-v4\.skipped\.csv\n/);
      expect(fs.existsSync(path.join(dir, 'cicflowmeter-v4.skipped.csv'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
    const out = path.join(dir, 'cic-scored.csv');
    const d = await nal('detect', '--model', model, '--data', cic, '--out', out, '--bad-rows', 'skip');
    expect(d.code, d.err).toBe(0);
    expect(d.err).toMatch(new RegExp(`^scored 40 rows: \\d+ anomalies \\(.*\\); wrote ${out.replace(/[.]/g, '\\.')}; 4 rows that cannot be encoded skipped, listed in ${path.join(dir, 'cic-scored.skipped.csv').replace(/[.]/g, '\\.')}\\n$`));
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(41);
    // stdout: the side file next to the input's name in the current folder
    const cwd2 = process.cwd();
    process.chdir(dir);
    try {
      const s = await nal('detect', '--model', model, '--data', cic, '--out', '-', '--bad-rows', 'skip', '--skipped-rows', 'stdout-side.csv');
      expect(s.code, s.err).toBe(0);
      expect(s.out.trim().split('\n')).toHaveLength(41);
      expect(fs.readFileSync(path.join(dir, 'stdout-side.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
    } finally {
      process.chdir(cwd2);
    }
    const bad = await nal('detect', '--model', model, '--data', cic, '--out', out, '--bad-rows', 'drop');
    expect([bad.code, bad.err]).toEqual([2, "nal: --bad-rows must be 'error' or 'skip', got 'drop'.\n"]);
    const side = await nal('detect', '--model', model, '--data', cic, '--out', out, '--skipped-rows', 'x.csv');
    expect([side.code, side.err]).toEqual([2, 'nal: --skipped-rows needs --bad-rows skip.\n']);
    const refused = await nal('detect', '--model', model, '--data', cic, '--out', path.join(dir, 'refused.csv'));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/4 of 44 rows cannot be encoded/);
    expect(fs.existsSync(path.join(dir, 'refused.csv'))).toBe(false);
  });
});
