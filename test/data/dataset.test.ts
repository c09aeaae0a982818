import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { encodeTraffic, loadTraffic, parseCsvWithSchema, parseTraffic } from '../../src/data/csv';
import { MAX_CATEGORIES, TrafficEncoder } from '../../src/data/encoder';
import { checkDatasetSchema, loadDatasetSchema, NSL_KDD_SCHEMA, ODDS_SCHEMA, resolveDatasetSchema } from '../../src/data/schema';
import { sampleRows, splitTraffic } from '../../src/data/split';
import { nslLine, nslText, oddsText } from './fixtures';
import { dataError } from '../support/data';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'nal-ds-'));
const nsl = (text: string, encoder?: TrafficEncoder) =>
  parseTraffic(parseCsvWithSchema(text, NSL_KDD_SCHEMA, 'k.txt'), { schema: NSL_KDD_SCHEMA, encoder, file: 'k.txt' });
const err = dataError;

describe('NSL-KDD description', () => {
  it('reads headerless rows: 38 numeric columns plus one-hot blocks, attack names as labels', () => {
    const d = nsl(nslText(30));
    // 3 protocols (icmp, tcp, udp), 5 services, 3 flags
    expect(d.X.cols).toBe(38 + 3 + 5 + 3);
    expect(d.X.rows).toBe(30);
    expect(d.features.slice(0, 5)).toEqual(['duration', 'protocol_type=icmp', 'protocol_type=tcp', 'protocol_type=udp', 'service=domain_u']);
    expect(d.encoder!.categories.flag).toEqual(['REJ', 'S0', 'SF']);
    expect(Array.from(d.labels!).filter((l) => l === 1)).toHaveLength(5);
    expect(d.labels![5]).toBe(1);
    // each block is one-hot
    const row = (i: number) => Array.from(d.X.data.subarray(i * d.X.cols, (i + 1) * d.X.cols));
    const block = (i: number, prefix: string) => row(i).filter((_, j) => d.features[j].startsWith(prefix));
    for (let i = 0; i < 30; i++) for (const p of ['protocol_type=', 'service=', 'flag=']) expect(block(i, p).reduce((a, b) => a + b)).toBe(1);
    // 'difficulty' is ignored silently
    expect(d.warnings).toEqual([]);
  });

  it('encodes an unseen category as all zeros and counts it per column, without failing', () => {
    const train = nsl(nslText(30));
    const test = nsl(nslText(10, { extraService: 'imap4' }) + nslLine('tcp', 'imap4', 'RSTOS0', 'normal', 3), train.encoder);
    expect(test.features).toEqual(train.features);
    expect(test.unseenCategories).toEqual({ service: 2, flag: 1 });
    expect(test.warnings.join()).toMatch(/k.txt: categories not seen in training, encoded as all zeros: service: 2 rows \('imap4' 2\); flag: 1 row \('RSTOS0' 1\)/);
    const last = test.X.rows - 1;
    const svc = test.features.map((f, j) => (f.startsWith('service=') ? test.X.data[last * test.X.cols + j] : 0));
    expect(svc.every((v) => v === 0)).toBe(true);
  });

  it('skips a header line equal to the column names and refuses rows of the wrong width', () => {
    const header = NSL_KDD_SCHEMA.columns!.join(',');
    expect(nsl(header + '\n' + nslText(5)).X.rows).toBe(5);
    const short = nslText(3).split('\n').map((l) => l.split(',').slice(0, 42).join(',')).join('\n');
    expect(err(() => nsl(short)).message).toMatch(/k.txt: rows have 42 fields; the nsl-kdd description names 43 columns/);
    const lines = nslText(4).split('\n');
    lines[2] = lines[2].split(',').slice(0, 40).join(',');
    expect(err(() => nsl(lines.join('\n'))).message).toMatch(/k.txt, row 3: has 40 fields, the first row has 43/);
  });

  it('names the file, row and column of a bad cell', () => {
    const lines = nslText(4).split('\n');
    const cells = lines[1].split(',');
    cells[4] = 'lots';
    lines[1] = cells.join(',');
    expect(err(() => nsl(lines.join('\n'))).message).toBe("k.txt, row 2, column 'src_bytes': 'lots' is not a number. 1 of 4 rows cannot be encoded (this is the first; --bad-rows skip leaves them out).");
    cells[4] = '1';
    cells[2] = ' ';
    lines[1] = cells.join(',');
    expect(err(() => nsl(lines.join('\n'))).message).toMatch(/k.txt, row 2, column 'service': empty value/);
    cells[2] = 'http';
    cells[41] = '';
    lines[1] = cells.join(',');
    expect(err(() => nsl(lines.join('\n'))).message).toMatch(/row 2, column 'label': empty label/);
  });

  it('log-scales the numeric columns: ln(1 + x), values at or below -1 refused', () => {
    const line = nslLine('tcp', 'http', 'SF', 'normal', 1);
    const d = nsl(line + '\n');
    const raw = line.split(',');
    expect(d.encoder!.log1p).toHaveLength(38);
    expect(d.X.data[0]).toBe(Math.log1p(Number(raw[0])));
    const j = d.features.indexOf('src_bytes');
    expect(d.X.data[j]).toBe(Math.log1p(Number(raw[4])));
    raw[4] = '-1';
    expect(err(() => nsl(raw.join(',') + '\n')).message).toMatch(/k.txt, row 1, column 'src_bytes': value -1 is not above -1; this column is log-scaled/);
  });

  it('reads gzipped files directly', () => {
    const f = path.join(tmp(), 'KDDTrain+.txt.gz');
    fs.writeFileSync(f, zlib.gzipSync(nslText(20)));
    const d = loadTraffic(f, { schema: NSL_KDD_SCHEMA });
    expect(d.X.rows).toBe(20);
    expect(d.file).toBe(f);
  });
});

describe('ODDS http/smtp description', () => {
  it('reads the three log-scaled features and the 0/1 label', () => {
    const f = path.join(tmp(), 'http.csv.gz');
    fs.writeFileSync(f, zlib.gzipSync(oddsText(40)));
    const d = loadTraffic(f, { schema: ODDS_SCHEMA });
    expect(d.features).toEqual(['log_duration', 'log_src_bytes', 'log_dst_bytes']);
    expect(d.X.rows).toBe(40);
    expect(d.labels!.reduce((a, b) => a + b, 0)).toBe(4);
    expect(d.encoder).toBeUndefined();
  });
});

describe('dataset description files', () => {
  const dir = tmp();
  const write = (name: string, o: unknown) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, typeof o === 'string' ? o : JSON.stringify(o));
    return f;
  };

  it("describe any labelled CSV: 'rest' features, categorical columns, normal label values", () => {
    const f = write('flows.json', { name: 'flows', features: 'rest', categorical: ['proto'], label: 'class', normalLabels: ['benign'], ignore: ['id'], log1p: ['bytes'] });
    const schema = resolveDatasetSchema(f);
    const csv = write('flows.csv', 'id,bytes,pkts,proto,class\n1,10,1,tcp,benign\n2,20,2,udp,benign\n3,900,3,tcp,ddos\n');
    const d = loadTraffic(csv, { schema });
    expect(d.features).toEqual(['bytes', 'pkts', 'proto=tcp', 'proto=udp']);
    expect(Array.from(d.labels!)).toEqual([0, 0, 1]);
    expect(Array.from(d.X.data)).toEqual([Math.log1p(10), 1, 1, 0, Math.log1p(20), 2, 0, 1, Math.log1p(900), 3, 1, 0]);
    expect(d.warnings).toEqual([]);
  });

  it('numeric normal labels and headerless files with column names work', () => {
    const schema = checkDatasetSchema({ features: ['a', 'b'], header: false, columns: ['a', 'b', 'y'], label: 'y', normalLabels: [7] });
    const d = parseTraffic(parseCsvWithSchema('1,2,7\n3,4,9\n', schema), { schema });
    expect(Array.from(d.labels!)).toEqual([0, 1]);
    expect(d.header).toEqual(['a', 'b', 'y']);
  });

  it('built-in names resolve; bad descriptions are refused naming the file and field', () => {
    expect(resolveDatasetSchema('nsl-kdd')).toBe(NSL_KDD_SCHEMA);
    expect(resolveDatasetSchema('odds')).toBe(ODDS_SCHEMA);
    expect(err(() => resolveDatasetSchema('kdd-cup')).message).toMatch(/unknown dataset 'kdd-cup': use one of seed, nsl-kdd, odds/);
    expect(err(() => loadDatasetSchema(path.join(dir, 'none.json'))).message).toMatch(/none.json: dataset description not found/);
    const bad = (o: unknown) => err(() => loadDatasetSchema(write('bad.json', o))).message;
    expect(bad('{')).toMatch(/bad.json: dataset description is not valid JSON/);
    expect(bad({ label: 'y' })).toMatch(/bad.json: dataset description: 'features' is required/);
    expect(bad({ features: 'rest', lable: 'y' })).toMatch(/unknown field 'lable'/);
    expect(bad({ features: ['a'], categorical: ['b'] })).toMatch(/categorical column 'b' is not among 'features'/);
    expect(bad({ features: ['a'], header: false })).toMatch(/'columns' must name every column/);
    expect(bad({ features: ['a', 'y'], label: 'y' })).toMatch(/label column 'y' cannot also be a feature/);
    expect(bad({ features: 'rest', normalLabels: 'normal' })).toMatch(/'normalLabels' must be a non-empty list/);
    expect(bad({ features: ['a', 'b'], categorical: ['b'], log1p: ['b'] })).toMatch(/'b' cannot be both categorical and log-scaled/);
  });
});

describe('TrafficEncoder', () => {
  it('round-trips through JSON and refuses a malformed state', () => {
    const d = nsl(nslText(12));
    const again = TrafficEncoder.fromJSON(JSON.parse(JSON.stringify(d.encoder!.toJSON())));
    expect(again.featureNames).toEqual(d.encoder!.featureNames);
    expect(Array.from(nsl(nslText(12), again).X.data)).toEqual(Array.from(d.X.data));
    expect(() => TrafficEncoder.fromJSON({ columns: ['a'], categories: { b: ['x'] } })).toThrow(TypeError);
  });

  it('refuses a column with too many categories', () => {
    const records = Array.from({ length: MAX_CATEGORIES + 1 }, (_, i) => [`10.0.${i >> 8}.${i & 255}`, '1']);
    expect(err(() => TrafficEncoder.fit(records, ['src_ip', 'x'], ['src_ip', 'x'], ['src_ip'], { file: 'f.csv' })).message).toMatch(
      /f.csv, column 'src_ip': has 1001 distinct values; one-hot encoding allows at most 1000/,
    );
  });

  it('encodeTraffic refits on a sample so that categories come from the training rows only', () => {
    const d = nsl(nslText(30));
    const normals = sampleRows(splitTraffic(d, 0.5, 1, { normalOnly: true }).train, 8, 3);
    const re = encodeTraffic(normals);
    expect(re.X.rows).toBe(8);
    expect(re.encoder).not.toBe(d.encoder);
    expect(re.encoder!.categories.flag).not.toContain('S0'); // S0 only occurs in attacks
    expect(Array.from(re.labels!)).toEqual(Array(8).fill(0));
  });
});

describe('samples and splits', () => {
  const d = loadTraffic(
    (() => {
      const f = path.join(tmp(), 'o.csv');
      fs.writeFileSync(f, oddsText(100));
      return f;
    })(),
    { schema: ODDS_SCHEMA },
  );

  it('sampleRows is seeded, without replacement and in file order', () => {
    const a = sampleRows(d, 30, 7);
    expect(a.X.rows).toBe(30);
    expect(Array.from(sampleRows(d, 30, 7).X.data)).toEqual(Array.from(a.X.data));
    expect(Array.from(sampleRows(d, 30, 8).X.data)).not.toEqual(Array.from(a.X.data));
    expect(sampleRows(d, 500, 7)).toBe(d);
    expect(() => sampleRows(d, 0, 1)).toThrow(RangeError);
  });

  it('splits choose the rows scikit-learn train_test_split chooses for the same seed', () => {
    // Expected rows from /usr/bin/python3 (scikit-learn 1.2.1), with idx = np.arange(n):
    //   sorted(train_test_split(idx, train_size=0.7, stratify=y, random_state=s)[0])
    //   sorted(train_test_split(idx, train_size=0.7, random_state=s)[0])
    // Row i of a dataset with labels y: its first feature is i.
    const labelled = (y: number[]) => {
      const csv = ['log_duration,log_src_bytes,log_dst_bytes,label', ...y.map((l, i) => `${i},0,0,${l}`)].join('\n');
      return parseTraffic(parseCsvWithSchema(csv, ODDS_SCHEMA), { schema: ODDS_SCHEMA });
    };
    const rowsOf = (x: { X: { rows: number; cols: number; data: Float64Array } }) => Array.from({ length: x.X.rows }, (_, i) => x.X.data[i * x.X.cols]);
    const y = Array.from({ length: 40 }, (_, i) => ((i * 7) % 10 === 3 ? 1 : 0));
    const d40 = labelled(y);
    expect(rowsOf(splitTraffic(d40, 0.7, 0, { stratify: true }).train)).toEqual([1, 2, 5, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 22, 24, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 38]);
    expect(rowsOf(splitTraffic(d40, 0.7, 3, { stratify: true }).train)).toEqual([1, 2, 4, 5, 6, 7, 9, 13, 14, 15, 16, 17, 18, 20, 22, 24, 25, 28, 29, 30, 31, 33, 34, 35, 36, 37, 38, 39]);
    expect(rowsOf(splitTraffic(d40, 0.7, 0).train)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9, 12, 13, 14, 16, 17, 19, 21, 23, 24, 26, 30, 31, 32, 33, 34, 36, 37, 38, 39]);
    expect(rowsOf(splitTraffic(d40, 0.7, 3).train)).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 10, 12, 13, 14, 17, 19, 20, 21, 22, 23, 24, 30, 31, 32, 33, 34, 35, 36, 37, 39]);
    // Equal remainders (3.5 and 3.5 of 7 draws): the extra row goes to a class drawn at random.
    const tie = labelled([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect(rowsOf(splitTraffic(tie, 0.7, 0, { stratify: true }).train)).toEqual([1, 2, 4, 5, 6, 8, 9]);
    expect(rowsOf(splitTraffic(tie, 0.7, 1, { stratify: true }).train)).toEqual([0, 1, 2, 4, 5, 7, 9]);
    expect(rowsOf(splitTraffic(tie, 0.7, 2, { stratify: true }).train)).toEqual([1, 3, 4, 6, 7, 8, 9]);
    // where scikit-learn refuses (ValueError), so does the split
    expect(() => splitTraffic(labelled([0, 0, 0, 0, 1]), 0.7, 0, { stratify: true })).toThrow(/label 1 has 1/);
    expect(() => splitTraffic(labelled([0, 0, 1, 1]), 0.9, 0, { stratify: true })).toThrow(/one per label/);
  });

  it('a stratified split takes the share of each class (ADBench 70/30)', () => {
    const { train, test } = splitTraffic(d, 0.7, 3, { stratify: true });
    const pos = (x: typeof d) => x.labels!.reduce((a, b) => a + b, 0);
    expect(train.X.rows).toBe(70);
    expect(pos(train)).toBe(7);
    expect(pos(test)).toBe(3);
    expect(() => splitTraffic(d, 0.7, 3, { stratify: true, normalOnly: true })).toThrow(RangeError);
  });
});
