import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { loadTraffic } from '../../src/data/csv';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { AnomalyEnsemble, type DetectionResult } from '../../src/ensemble/ensemble';
import { detectionToCsv } from '../../src/ensemble/output';
import { detectCsvStream, detectCsvToFile, detectStream, writeDetectionCsv, type DetectionChunk } from '../../src/stream/detect-stream';
import { runCli } from '../../src/cli/commands';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-stream-'));
const csv = path.join(dir, 'traffic.csv');
let ens: AnomalyEnsemble;

beforeAll(async () => {
  const train = generateTraffic({ rows: 600, anomalyRatio: 0.1, seed: 5 });
  ens = await new AnomalyEnsemble({ seed: 3, autoencoder: { epochs: 2 } }).fit(train);
  fs.writeFileSync(csv, trafficToCsv(generateTraffic({ rows: 1000, anomalyRatio: 0.15, seed: 6 })));
});
afterAll(() => ens?.dispose());

/** Concatenate chunk results into one result per column. */
function concat(chunks: DetectionChunk[]): Omit<DetectionResult, 'ensembleThreshold'> {
  const r0 = chunks[0].result;
  const cat = <T extends Float64Array | Uint8Array>(get: (r: DetectionResult) => T, C: new (n: number) => T): T => {
    const n = chunks.reduce((a, c) => a + c.rows, 0);
    const out = new C(n);
    for (const c of chunks) out.set(get(c.result) as any, c.start);
    return out;
  };
  return {
    detectors: r0.detectors,
    scores: Object.fromEntries(r0.detectors.map((d) => [d, cat((r) => r.scores[d]!, Float64Array)])),
    votes: Object.fromEntries(r0.detectors.map((d) => [d, cat((r) => r.votes[d]!, Uint8Array)])),
    voteCount: cat((r) => r.voteCount, Uint8Array),
    isAnomaly: cat((r) => r.isAnomaly, Uint8Array),
    confidence: cat((r) => r.confidence, Float64Array),
    severity: chunks.flatMap((c) => c.result.severity),
    ensembleScore: cat((r) => r.ensembleScore, Float64Array),
  };
}

function withoutThreshold(r: DetectionResult): Omit<DetectionResult, 'ensembleThreshold'> {
  const { ensembleThreshold: _t, ...rest } = r;
  return rest;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('detectCsvStream', () => {
  it('gives in order, chunk by chunk, exactly the results of detect on the whole file', async () => {
    const whole = ens.detect(loadTraffic(csv));
    for (const chunkSize of [1, 97, 1000, 5000]) {
      const chunks = await collect(detectCsvStream(ens, csv, { chunkSize }));
      expect(chunks.map((c) => c.start)).toEqual(Array.from({ length: Math.ceil(1000 / chunkSize) }, (_, i) => i * chunkSize));
      expect(chunks.every((c) => c.rows <= chunkSize)).toBe(true);
      expect(concat(chunks)).toEqual(withoutThreshold(whole));
    }
  });

  it('reads gzip files and readable streams; CSV output equals detectionToCsv', async () => {
    const data = loadTraffic(csv);
    const want = detectionToCsv(ens.detect(data), data);
    const gz = path.join(dir, 'traffic.csv.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(csv)));
    for (const src of [gz, Readable.from([fs.readFileSync(csv)])]) {
      let text = '';
      const sink = new Writable({
        write(c, _e, cb) {
          text += c.toString();
          cb();
        },
      });
      const s = await writeDetectionCsv(detectCsvStream(ens, src, { chunkSize: 128 }), sink);
      expect(s.rows).toBe(1000);
      expect(text).toBe(want);
    }
  });

  it('names the row of a bad cell counted over the whole file', async () => {
    const lines = fs.readFileSync(csv, 'utf8').split('\n');
    lines[250] = lines[250].replace(/^([^,]*),[^,]*/, '$1,oops');
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, lines.join('\n'));
    await expect(collect(detectCsvStream(ens, bad, { chunkSize: 64 }))).rejects.toThrow(
      `${bad}, row 250, column 'packet_size': 'oops' is not a number. 1 of 1000 rows cannot be encoded (this is the first; --bad-rows skip leaves them out).`,
    );
  });

  it('detectCsvToFile writes progressively and leaves no output behind when it fails', async () => {
    const out = path.join(dir, 'out', 'scored.csv');
    const s = await detectCsvToFile(ens, csv, out, { chunkSize: 300 });
    expect(s.rows).toBe(1000);
    const data = loadTraffic(csv);
    expect(fs.readFileSync(out, 'utf8')).toBe(detectionToCsv(ens.detect(data), data));
    // a failure at row 900 keeps the earlier output and leaves no temporary file
    const lines = fs.readFileSync(csv, 'utf8').split('\n');
    lines[900] = lines[900].replace(/,[^,]*$/, ',x').replace(/^([^,]*),[^,]*/, '$1,NaN');
    const bad = path.join(dir, 'bad900.csv');
    fs.writeFileSync(bad, lines.join('\n'));
    const before = fs.readFileSync(out, 'utf8');
    await expect(detectCsvToFile(ens, bad, out, { chunkSize: 100 })).rejects.toThrow(/row 900/);
    expect(fs.readFileSync(out, 'utf8')).toBe(before);
    expect(fs.readdirSync(path.dirname(out))).toEqual(['scored.csv']);
    // a missing input creates nothing
    const none = path.join(dir, 'none', 'x.csv');
    await expect(detectCsvToFile(ens, path.join(dir, 'missing.csv'), none)).rejects.toThrow(/file not found/);
    expect(fs.existsSync(path.dirname(none))).toBe(false);
  });
});

describe('detectStream', () => {
  it('scores a generator of rows (arrays or objects) as detect scores the batch', async () => {
    const data = loadTraffic(csv);
    const whole = ens.detect(data);
    const d = data.X.cols;
    function* arrays() {
      for (let i = 0; i < data.X.rows; i++) yield data.X.data.subarray(i * d, (i + 1) * d);
    }
    async function* objects() {
      for (let i = 0; i < data.X.rows; i++) yield Object.fromEntries(data.features.map((f, j) => [f, data.X.data[i * d + j]]));
    }
    for (const src of [arrays(), objects()]) {
      const chunks = await collect(detectStream(ens, src, { chunkSize: 333 }));
      expect(chunks.map((c) => c.rows)).toEqual([333, 333, 333, 1]);
      expect(concat(chunks)).toEqual(withoutThreshold(whole));
    }
  });

  it('on wide rows (140 columns: PCA\'s factor in three blocks, kNN by matrix products) small chunks score as the whole batch', async () => {
    const d = 140;
    const rng = new Random(11);
    const wide = (n: number) => {
      const data = new Float64Array(n * d);
      for (let i = 0; i < n; i++) {
        const z = rng.standardNormal();
        for (let j = 0; j < d; j++) data[i * d + j] = (j % 7) * z + rng.standardNormal();
      }
      return { rows: n, cols: d, data };
    };
    const features = Array.from({ length: d }, (_, j) => `f${j}`);
    const e = await new AnomalyEnsemble({ seed: 2 }).fit(wide(300), features);
    const test = wide(50);
    const whole = e.detect(test, features);
    function* rows() {
      for (let i = 0; i < test.rows; i++) yield test.data.subarray(i * d, (i + 1) * d);
    }
    const chunks = await collect(detectStream(e, rows(), { chunkSize: 7 }));
    expect(chunks.map((c) => c.rows)).toEqual([7, 7, 7, 7, 7, 7, 7, 1]);
    expect(concat(chunks)).toEqual(withoutThreshold(whole));
    e.dispose();
  });

  it('flushMs emits the rows received so far from a slow source', async () => {
    const data = loadTraffic(csv);
    const d = data.X.cols;
    async function* slow() {
      for (let i = 0; i < 5; i++) yield Array.from(data.X.data.subarray(i * d, (i + 1) * d));
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 5; i < 7; i++) yield Array.from(data.X.data.subarray(i * d, (i + 1) * d));
    }
    const chunks = await collect(detectStream(ens, slow(), { chunkSize: 100, flushMs: 50 }));
    expect(chunks.map((c) => [c.start, c.rows])).toEqual([
      [0, 5],
      [5, 2],
    ]);
  });

  it('a consumer can stop an endless live source', async () => {
    const row = Array.from({ length: 10 }, () => 1);
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        await new Promise((r) => setTimeout(r, pulled % 3 === 0 ? 80 : 1));
        yield row;
      }
    }
    const seen: number[] = [];
    for await (const c of detectStream(ens, endless(), { chunkSize: 1000, flushMs: 20 })) {
      seen.push(c.rows);
      if (seen.length === 2) break;
    }
    expect(seen).toHaveLength(2);
    expect(seen.every((n) => n >= 1 && n < 1000)).toBe(true);
  });

  it('refuses a row of the wrong width or a non-finite value, by row over the whole stream', async () => {
    const good = Array.from({ length: 10 }, () => 1);
    await expect(collect(detectStream(ens, [good, good, good, [1, 2]], { chunkSize: 2 }))).rejects.toThrow(/row 4: has 2 values; the model has 10 features/);
    const nan = [...good];
    nan[3] = NaN;
    await expect(collect(detectStream(ens, [good, good, good, nan], { chunkSize: 2 }))).rejects.toThrow(/row 4/);
  });
});

describe('nal detect (streamed)', () => {
  it('writes the same CSV as before, to a file or to stdout, with a chunk size', async () => {
    const model = path.join(dir, 'model');
    await ens.save(model);
    const data = loadTraffic(csv);
    const want = detectionToCsv(ens.detect(data), data);
    let out = '';
    let err = '';
    const stdout = new Writable({
      write(c, _e, cb) {
        out += c.toString();
        cb();
      },
    });
    const stderr = new Writable({
      write(c, _e, cb) {
        err += c.toString();
        cb();
      },
    });
    const file = path.join(dir, 'cli.csv');
    expect(await runCli(['detect', '--data', csv, '--model', model, '--out', file, '--chunk-size', '77'], { stdout, stderr })).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(want);
    expect(err).toMatch(/^scored 1000 rows: \d+ anomalies/);
    expect(await runCli(['detect', '--data', csv, '--model', model, '--out', '-', '--quiet'], { stdout, stderr })).toBe(0);
    expect(out).toBe(want);
  });
});
