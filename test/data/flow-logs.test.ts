/**
 * The built-in descriptions of flow logs read hand-written fixtures (test/fixtures/flow-logs):
 * Zeek's conn.log as TSV and as JSON lines (`zeek-conn`), CIC-IDS2017's original CSV and
 * CICFlowMeter-V4's corrected column names (`cicflowmeter`), whole and streamed; and our own
 * `nal flows` output (`flows`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { loadTraffic } from '../../src/data/csv';
import { CICFLOWMETER_SCHEMA, FLOWS_SCHEMA, FLOW_FEATURES, ZEEK_CONN_SCHEMA, checkDatasetSchema, resolveDatasetSchema } from '../../src/data/schema';
import { parseZeekLog } from '../../src/data/zeek';
import { readTrafficChunks } from '../../src/stream/traffic-stream';
import { FLOW_COLUMNS, FLOW_IDENTIFIERS } from '../../src/capture/columns';
import { dataError } from '../support/data';

const FIX = path.resolve(__dirname, '../fixtures/flow-logs');
const zeekTsv = path.join(FIX, 'zeek-conn.log');
const zeekJson = path.join(FIX, 'zeek-conn.json');
const cic2017 = path.join(FIX, 'cic-ids2017.csv');
const cicV4 = path.join(FIX, 'cicflowmeter-v4.csv');

async function streamed(file: string, opts: Parameters<typeof readTrafficChunks>[1]) {
  const rows: number[][] = [];
  const skipped: number[] = [];
  for await (const c of readTrafficChunks(file, { ...opts, onSkippedRows: (r) => skipped.push(...r.map((x) => x.row)) })) {
    for (let i = 0; i < c.X.rows; i++) rows.push(Array.from(c.X.data.subarray(i * c.X.cols, (i + 1) * c.X.cols)));
  }
  return { rows, skipped };
}

function matrixRows(d: { X: { rows: number; cols: number; data: Float64Array } }): number[][] {
  return Array.from({ length: d.X.rows }, (_, i) => Array.from(d.X.data.subarray(i * d.X.cols, (i + 1) * d.X.cols)));
}

describe('zeek-conn', () => {
  it('reads the TSV log: categories one-hot, unset counts as 0, labels from IoT-23 style columns', () => {
    const d = loadTraffic(zeekTsv, { schema: ZEEK_CONN_SCHEMA });
    expect(d.X.rows).toBe(59);
    expect(d.features).toEqual([
      'proto=icmp', 'proto=tcp', 'proto=udp',
      'service=-', 'service=dns', 'service=http', 'service=ntp', 'service=ssl',
      'conn_state=OTH', 'conn_state=REJ', 'conn_state=S0', 'conn_state=SF',
      'duration', 'orig_bytes', 'resp_bytes', 'missed_bytes', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes',
    ]);
    expect(d.warnings).toEqual([]);
    expect(d.labels!.reduce((a, b) => a + b, 0)).toBe(10); // the scan's probes are "Malicious"
    expect(d.timestamps![0]).toBe('1700000002.281080');
    // an unanswered probe: duration and byte counts unset (-), read as 0 (log-scaled: still 0)
    const s0 = d.records.findIndex((r) => r[d.header.indexOf('conn_state')] === 'S0');
    expect(d.records[s0][d.header.indexOf('duration')]).toBe('0');
    const row = matrixRows(d)[s0];
    expect(row.slice(12, 15)).toEqual([0, 0, 0]);
    expect(row[d.features.indexOf('orig_ip_bytes')]).toBeCloseTo(Math.log1p(44), 12);
  });

  it('reads the JSON-lines form of the same connections into the same features', () => {
    const tsv = loadTraffic(zeekTsv, { schema: ZEEK_CONN_SCHEMA });
    const json = loadTraffic(zeekJson, { schema: ZEEK_CONN_SCHEMA });
    expect(json.features).toEqual(tsv.features);
    expect(matrixRows(json)).toEqual(matrixRows(tsv));
    expect(json.labels).toBeUndefined();
    // and with the training encoder (what nal detect does with a model trained on the TSV)
    const enc = loadTraffic(zeekJson, { schema: ZEEK_CONN_SCHEMA, encoder: tsv.encoder });
    expect(matrixRows(enc)).toEqual(matrixRows(tsv));
  });

  it('streams both forms chunk by chunk into the same rows', async () => {
    const whole = matrixRows(loadTraffic(zeekTsv, { schema: ZEEK_CONN_SCHEMA }));
    const enc = loadTraffic(zeekTsv, { schema: ZEEK_CONN_SCHEMA }).encoder;
    expect((await streamed(zeekTsv, { schema: ZEEK_CONN_SCHEMA, encoder: enc, chunkSize: 7 })).rows).toEqual(whole);
    expect((await streamed(zeekJson, { schema: ZEEK_CONN_SCHEMA, encoder: enc, chunkSize: 5 })).rows).toEqual(whole);
  });

  it('parses the header lines: separator, unset and empty fields, #close; a bad row names its row', () => {
    const t = parseZeekLog(fs.readFileSync(zeekTsv, 'utf8'), 'conn.log');
    expect(t.header.slice(0, 3)).toEqual(['ts', 'uid', 'id.orig_h']);
    expect(t.records).toHaveLength(59);
    const custom = '#separator \\x2c\n#unset_field,NA\n#fields,ts,duration,service\n#types,time,interval,string\n1.5,NA,NA\n';
    expect(parseZeekLog(custom).records).toEqual([['1.5', '', 'NA']]);
    const e = dataError(() => parseZeekLog('#fields\ta\tb\n1\t2\n3\n', 'x.log'));
    expect(e.message).toBe('x.log, row 2: has 1 fields, the #fields line has 2.');
    expect(dataError(() => parseZeekLog('1\t2\n', 'x.log')).message).toMatch(/line 1: a data line before the #fields line/);
    expect(dataError(() => parseZeekLog('{"a":1}\n{"a":\n', 'x.json')).message).toBe('x.json, row 2: is not valid JSON (Unexpected end of JSON input).');
    // a JSON log cut off in its last line: the line is skipped with a warning
    const cut = parseZeekLog('{"ts":1,"a":2}\n{"ts":2,"a', 'x.json');
    expect(cut.records).toHaveLength(1);
    expect(cut.warnings).toEqual(['x.json: line 2: truncated last line skipped.']);
  });
});

describe('cicflowmeter', () => {
  it('reads CIC-IDS2017’s original layout: names trimmed, the repeated column renamed and left out, identifiers excluded', () => {
    const d = loadTraffic(cic2017, { schema: CICFLOWMETER_SCHEMA, badRows: 'skip' });
    expect(d.header).toContain('Fwd Header Length.1');
    expect(d.header[1]).toBe('Source IP');
    expect(d.features).toHaveLength(85 - 7 - 1 - 1); // identifiers, the label and the repeat
    for (const id of ['Flow ID', 'Source IP', 'Source Port', 'Destination IP', 'Destination Port', 'Protocol', 'Timestamp', 'Label', 'Fwd Header Length.1']) {
      expect(d.features).not.toContain(id);
    }
    expect(d.features).toContain('Fwd Header Length');
    expect(d.X.rows).toBe(44 - 5);
    expect(d.skippedRows!.map((r) => [r.row, r.column])).toEqual(d.skippedRows!.map((r) => [r.row, 'Flow Bytes/s']));
    expect(d.skippedRows![0].reason).toMatch(/^value (Infinity|NaN) is not a finite number\.$/);
    expect(d.labels!.reduce((a, b) => a + b, 0)).toBe(10 - 5);
  });

  it('refuses Infinity and NaN by default, saying how many rows and naming the first', () => {
    const e = dataError(() => loadTraffic(cic2017, { schema: CICFLOWMETER_SCHEMA }));
    expect(e.message).toMatch(new RegExp(`^${cic2017.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, row \\d+, column 'Flow Bytes/s': value (Infinity|NaN) is not a finite number\\. 5 of 44 rows cannot be encoded \\(this is the first; --bad-rows skip leaves them out\\)\\.$`));
  });

  it('reads the corrected column names of CICFlowMeter-V4 (an empty cell is a bad row too)', async () => {
    const d = loadTraffic(cicV4, { schema: CICFLOWMETER_SCHEMA, badRows: 'skip' });
    expect(d.features).toHaveLength(84 - 7 - 1);
    expect(d.features).not.toContain('Src IP');
    expect(d.features).not.toContain('Dst Port');
    expect(d.skippedRows!.map((r) => r.reason)).toContain('empty value; every feature needs a number.');
    expect(d.X.rows).toBe(44 - 4);
    // streamed, the skipped rows are numbered over the whole file
    const s = await streamed(cicV4, { schema: CICFLOWMETER_SCHEMA, chunkSize: 9, badRows: 'skip' });
    expect(s.rows).toEqual(matrixRows(d));
    expect(s.skipped).toEqual(d.skippedRows!.map((r) => r.row));
  });
});

describe('flows', () => {
  it('takes every column of a flow row but the identifiers, protocol one-hot', () => {
    expect(FLOWS_SCHEMA.features).toEqual(FLOW_FEATURES);
    expect([...FLOW_FEATURES, ...(FLOWS_SCHEMA.ignore ?? []), 'timestamp'].sort()).toEqual([...FLOW_COLUMNS].sort());
    expect(FLOW_IDENTIFIERS.filter((c) => FLOW_FEATURES.includes(c))).toEqual(['protocol']);
    expect(() => checkDatasetSchema(FLOWS_SCHEMA)).not.toThrow();
    expect(() => checkDatasetSchema(ZEEK_CONN_SCHEMA)).not.toThrow();
    expect(() => checkDatasetSchema(CICFLOWMETER_SCHEMA)).not.toThrow();
    expect(resolveDatasetSchema('zeek-conn')).toBe(ZEEK_CONN_SCHEMA);
  });

  it('description files can use format, duplicateColumns and fill; bad values are named', () => {
    const ok = checkDatasetSchema({ features: 'rest', format: 'zeek', fill: { duration: 0 } });
    expect(ok).toEqual({ name: 'custom', features: 'rest', format: 'zeek', fill: { duration: 0 } });
    const bad = (o: object) => {
      try {
        checkDatasetSchema(o, 'd.json');
      } catch (e) {
        expect(e).toBeInstanceOf(DataValidationError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(bad({ features: 'rest', format: 'parquet' })).toBe(`d.json: dataset description: 'format' must be "csv" or "zeek".`);
    expect(bad({ features: 'rest', duplicateColumns: 'keep' })).toBe(`d.json: dataset description: 'duplicateColumns' must be "error" or "rename".`);
    expect(bad({ features: 'rest', fill: { duration: 'zero' } })).toBe(`d.json: dataset description: 'fill' must map column names to finite numbers, e.g. {"duration": 0}.`);
    expect(bad({ features: 'rest', format: 'zeek', header: false, columns: ['a'] })).toMatch(/a Zeek log names its columns in its #fields line/);
  });
});
