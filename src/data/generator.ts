/**
 * Seeded synthetic network traffic with the seed project's distributions (10 features, a normal
 * population and a three-part anomaly mixture, values clipped to fixed ranges).
 *
 * The draws are made in the reference generator's order with numpy's legacy `RandomState`
 * algorithms (see {@link Random}), so for the same rows, ratio and seed the numbers match
 * `shared/reference/gen_seed_data.py`; rows are ordered by ascending timestamp as in the seed,
 * which puts all anomalies first.
 */
import { recordSeed } from '../core/provenance';
import { checkSeed, Random, toCdf, type RandomState } from '../core/random';
import { csvLine } from './csv';
import { SEED_FEATURES } from './schema';
import type { TrafficData } from './csv';

type Sampler =
  | { kind: 'normal'; mean: number; sd: number; clip?: [number, number] }
  | { kind: 'exponential'; scale: number; clip?: [number, number] }
  | { kind: 'choice'; values: number[]; p: number[] }
  | { kind: 'randint'; low: number; high: number };

/** A segment of a population: `size(n)` rows (or the remainder when null) drawn from `sampler`. */
type Segment = { size: ((n: number) => number) | null; sampler: Sampler };
type Spec = readonly (readonly [string, readonly Segment[]])[];

const third = (n: number) => Math.floor(n / 3);
const half = (n: number) => Math.floor(n / 2);
const one = (sampler: Sampler): Segment[] => [{ size: null, sampler }];

/** Normal traffic, one sampler per feature. */
const NORMAL_SPEC: Spec = [
  ['packet_size', one({ kind: 'normal', mean: 512, sd: 100, clip: [64, 1500] })],
  ['duration', one({ kind: 'exponential', scale: 2, clip: [0.1, 30] })],
  ['src_bytes', one({ kind: 'normal', mean: 5000, sd: 1500, clip: [100, 50000] })],
  ['dst_bytes', one({ kind: 'normal', mean: 5000, sd: 1500, clip: [100, 50000] })],
  ['protocol_type', one({ kind: 'choice', values: [0, 1, 2], p: [0.7, 0.25, 0.05] })],
  ['flag', one({ kind: 'choice', values: [0, 1, 2, 3, 4, 5], p: [0.6, 0.2, 0.1, 0.05, 0.03, 0.02] })],
  ['src_port', one({ kind: 'randint', low: 1024, high: 65535 })],
  ['dst_port', one({ kind: 'choice', values: [80, 443, 22, 21, 25, 53], p: [0.4, 0.3, 0.15, 0.05, 0.05, 0.05] })],
  ['packet_rate', one({ kind: 'normal', mean: 50, sd: 15, clip: [1, 200] })],
  ['error_rate', one({ kind: 'normal', mean: 0.5, sd: 0.3, clip: [0, 5] })],
];

/** Anomalous traffic: large/tiny packets, long/very short connections, big/tiny transfers, privileged source ports, unusual destination ports, extreme rates, high error rates. */
const ANOMALY_SPEC: Spec = [
  [
    'packet_size',
    [
      { size: third, sampler: { kind: 'normal', mean: 1400, sd: 50, clip: [1200, 1500] } },
      { size: third, sampler: { kind: 'normal', mean: 100, sd: 20, clip: [64, 200] } },
      { size: null, sampler: { kind: 'normal', mean: 512, sd: 100, clip: [64, 1500] } },
    ],
  ],
  [
    'duration',
    [
      { size: half, sampler: { kind: 'exponential', scale: 15, clip: [10, 100] } },
      { size: null, sampler: { kind: 'exponential', scale: 0.1, clip: [0.01, 0.5] } },
    ],
  ],
  [
    'src_bytes',
    [
      { size: half, sampler: { kind: 'normal', mean: 40000, sd: 10000, clip: [30000, 100000] } },
      { size: null, sampler: { kind: 'normal', mean: 200, sd: 100, clip: [10, 500] } },
    ],
  ],
  [
    'dst_bytes',
    [
      { size: half, sampler: { kind: 'normal', mean: 40000, sd: 10000, clip: [30000, 100000] } },
      { size: null, sampler: { kind: 'normal', mean: 200, sd: 100, clip: [10, 500] } },
    ],
  ],
  ['protocol_type', one({ kind: 'choice', values: [0, 1, 2], p: [0.3, 0.3, 0.4] })],
  ['flag', one({ kind: 'choice', values: [0, 1, 2, 3, 4, 5], p: [0.1, 0.1, 0.2, 0.3, 0.2, 0.1] })],
  ['src_port', one({ kind: 'randint', low: 1, high: 1024 })],
  ['dst_port', one({ kind: 'randint', low: 8000, high: 65535 })],
  [
    'packet_rate',
    [
      { size: half, sampler: { kind: 'normal', mean: 500, sd: 100, clip: [300, 1000] } },
      { size: null, sampler: { kind: 'normal', mean: 2, sd: 1, clip: [0.1, 5] } },
    ],
  ],
  ['error_rate', one({ kind: 'normal', mean: 15, sd: 5, clip: [10, 50] })],
];

/** Columns written as integers. */
export const INTEGER_FEATURES: ReadonlySet<string> = new Set(['protocol_type', 'flag', 'src_port', 'dst_port']);

/** Timestamps count back from this instant, 10 s per generated row (as the seed). */
export const GENERATOR_ANCHOR_MS = Date.UTC(2025, 0, 1, 0, 0, 0);

/** Options of {@link generateTraffic}. */
export interface GenerateOptions {
  /** Number of rows (>= 1). @defaultValue 1000 */
  rows?: number;
  /** Share of anomalies in [0, 1); the count is `floor(rows * anomalyRatio)`. @defaultValue 0.15 */
  anomalyRatio?: number;
  /** Seed (integer in [0, 2^32-1]). @defaultValue 42 */
  seed?: number;
}

function draw(rng: Random, s: Sampler, size: number, out: Float64Array, offset: number): void {
  switch (s.kind) {
    case 'normal':
      for (let i = 0; i < size; i++) out[offset + i] = clip(rng.normal(s.mean, s.sd), s.clip);
      break;
    case 'exponential':
      for (let i = 0; i < size; i++) out[offset + i] = clip(rng.exponential(s.scale), s.clip);
      break;
    case 'choice': {
      const cdf = toCdf(s.p);
      for (let i = 0; i < size; i++) out[offset + i] = s.values[rng.choiceIndex(cdf)];
      break;
    }
    case 'randint':
      for (let i = 0; i < size; i++) out[offset + i] = rng.randint(s.low, s.high);
      break;
  }
}

function clip(v: number, c?: [number, number]): number {
  if (!c) return v;
  return v < c[0] ? c[0] : v > c[1] ? c[1] : v;
}

function population(rng: Random, spec: Spec, n: number): Map<string, Float64Array> {
  const cols = new Map<string, Float64Array>();
  for (const [name, segments] of spec) {
    const col = new Float64Array(n);
    let used = 0;
    for (const seg of segments) {
      const size = seg.size === null ? n - used : seg.size(n);
      draw(rng, seg.sampler, size, col, used);
      used += size;
    }
    cols.set(name, col);
  }
  return cols;
}

/**
 * Generate labelled synthetic traffic.
 * @returns rows in ascending timestamp order (anomalies, which are generated last, are the oldest)
 * @throws RangeError for a bad row count, ratio or seed
 * @example
 * ```ts
 * const t = generateTraffic({ rows: 1000, anomalyRatio: 0.15, seed: 42 });
 * t.labels!.reduce((a, b) => a + b, 0); // 150
 * ```
 */
export function generateTraffic(options: GenerateOptions = {}): TrafficData {
  const rows = options.rows ?? 1000;
  const ratio = options.anomalyRatio ?? 0.15;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`The 'rows' option of generateTraffic must be an integer >= 1. Got ${rows}.`);
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) {
    throw new RangeError(`The 'anomalyRatio' option of generateTraffic must be a number in [0, 1). Got ${ratio}.`);
  }
  checkSeed(seed, 'generateTraffic');
  recordSeed('generateTraffic', seed);
  const rng = new Random(seed);
  const nAnom = Math.floor(rows * ratio);
  const nNorm = rows - nAnom;
  const normal = population(rng, NORMAL_SPEC, nNorm);
  const anomal = population(rng, ANOMALY_SPEC, nAnom);
  const d = SEED_FEATURES.length;
  const X = new Float64Array(rows * d);
  const labels = new Uint8Array(rows);
  const timestamps: string[] = new Array(rows);
  // generation index g (normals 0..nNorm-1, then anomalies) gets ANCHOR - 10*g seconds; ascending
  // time order is therefore g = rows-1 down to 0.
  for (let r = 0; r < rows; r++) {
    const g = rows - 1 - r;
    const isAnom = g >= nNorm;
    const src = isAnom ? anomal : normal;
    const k = isAnom ? g - nNorm : g;
    for (let j = 0; j < d; j++) X[r * d + j] = src.get(SEED_FEATURES[j])![k];
    labels[r] = isAnom ? 1 : 0;
    timestamps[r] = formatTimestamp(GENERATOR_ANCHOR_MS - 10_000 * g);
  }
  const header = ['timestamp', ...SEED_FEATURES, 'label'];
  const features = [...SEED_FEATURES];
  const records: string[][] = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const rec = new Array<string>(d + 2);
    rec[0] = timestamps[r];
    for (let j = 0; j < d; j++) rec[j + 1] = formatFeature(features[j], X[r * d + j]);
    rec[d + 1] = String(labels[r]);
    records[r] = rec;
  }
  return { features, X: { rows, cols: d, data: X }, labels, timestamps, header, records, warnings: [] };
}

/** Options of {@link generateTrafficCsv}. */
export interface GenerateCsvOptions extends GenerateOptions {
  /** Rows drawn and formatted at a time (memory is a few hundred bytes per row of a block). @defaultValue 16384 */
  blockRows?: number;
}

/**
 * Generated traffic as CSV text, block by block: joined, exactly the text of
 * `trafficToCsv(generateTraffic(options))` (header line first, a final newline), in memory
 * bounded by one block whatever the number of rows, so any size can be written to disk. While it
 * prepares (the first pass) it yields empty strings, so that a consumer can stay responsive.
 *
 * The rows come out in ascending time, the reverse of the order they are drawn in (see
 * {@link generateTraffic}). A first pass draws every column once, keeping the generator's state
 * at the start of each block of values; the second pass redraws each block from its saved state
 * and writes its rows in reverse. Memory: one saved state (2.5 KB) per block and column.
 * @throws RangeError for a bad row count, ratio, seed or block size
 * @example
 * ```ts
 * for (const text of generateTrafficCsv({ rows: 10_000_000, seed: 42 })) fs.writeSync(fd, text);
 * ```
 */
export function* generateTrafficCsv(options: GenerateCsvOptions = {}): Generator<string> {
  const rows = options.rows ?? 1000;
  const ratio = options.anomalyRatio ?? 0.15;
  const seed = options.seed ?? 42;
  const block = options.blockRows ?? 16384;
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`The 'rows' option of generateTraffic must be an integer >= 1. Got ${rows}.`);
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1)) {
    throw new RangeError(`The 'anomalyRatio' option of generateTraffic must be a number in [0, 1). Got ${ratio}.`);
  }
  if (!Number.isInteger(block) || block < 1) throw new RangeError(`The 'blockRows' option of generateTrafficCsv must be an integer >= 1. Got ${block}.`);
  checkSeed(seed, 'generateTraffic');
  const rng = new Random(seed);
  const nAnom = Math.floor(rows * ratio);
  const nNorm = rows - nAnom;
  // pass 1: the generator's state at the start of every block of every column, in draw order
  // (an empty string is yielded after each block, so a consumer can stay responsive meanwhile)
  type Column = { name: string; segments: readonly Segment[]; states: RandomState[] };
  const normal: Column[] = [];
  const anomal: Column[] = [];
  for (const [spec, n, into] of [
    [NORMAL_SPEC, nNorm, normal],
    [ANOMALY_SPEC, nAnom, anomal],
  ] as const) {
    for (const [name, segments] of spec) {
      const states: RandomState[] = [];
      for (const _ of checkpointColumn(rng, segments, n, block, states)) yield '';
      into.push({ name, segments, states });
    }
  }
  const d = SEED_FEATURES.length;
  yield csvLine(['timestamp', ...SEED_FEATURES, 'label']) + '\n';
  // pass 2: anomalies (the oldest rows) first, blocks from last to first, rows within a block reversed
  for (const [pop, n, label] of [
    [anomal, nAnom, 1],
    [normal, nNorm, 0],
  ] as const) {
    const cols = SEED_FEATURES.map((f) => pop.find((c) => c.name === f)!);
    for (let b = Math.ceil(n / block) - 1; b >= 0; b--) {
      const lo = b * block;
      const hi = Math.min(n, lo + block);
      const values = cols.map((c) => {
        const out = new Float64Array(hi - lo);
        drawRange(Random.fromState(c.states[b]), c.segments, n, lo, hi, out);
        return out;
      });
      const lines: string[] = new Array(hi - lo);
      for (let k = hi - 1; k >= lo; k--) {
        const g = label ? nNorm + k : k;
        const rec = new Array<string>(d + 2);
        rec[0] = formatTimestamp(GENERATOR_ANCHOR_MS - 10_000 * g);
        for (let j = 0; j < d; j++) rec[j + 1] = formatFeature(SEED_FEATURES[j], values[j][k - lo]);
        rec[d + 1] = String(label);
        lines[hi - 1 - k] = csvLine(rec);
      }
      yield lines.join('\n') + '\n';
    }
  }
}

/** The segments of a column of `n` values: [start, end) and the sampler of each. */
function segmentRanges(segments: readonly Segment[], n: number): { lo: number; hi: number; sampler: Sampler }[] {
  const out: { lo: number; hi: number; sampler: Sampler }[] = [];
  let used = 0;
  for (const seg of segments) {
    const size = seg.size === null ? n - used : seg.size(n);
    out.push({ lo: used, hi: used + size, sampler: seg.sampler });
    used += size;
  }
  return out;
}

/** Draw values [lo, hi) of a column (the generator positioned at value lo) into `out`. */
function drawRange(rng: Random, segments: readonly Segment[], n: number, lo: number, hi: number, out: Float64Array): void {
  for (const r of segmentRanges(segments, n)) {
    const a = Math.max(lo, r.lo);
    const b = Math.min(hi, r.hi);
    if (a < b) draw(rng, r.sampler, b - a, out, a - lo);
  }
}

/**
 * Draw a whole column of `n` values (advancing `rng` as population() does), saving the state at
 * every `block` values into `states`; yields after each block.
 */
function* checkpointColumn(rng: Random, segments: readonly Segment[], n: number, block: number, states: RandomState[]): Generator<void> {
  const scratch = new Float64Array(Math.min(block, Math.max(1, n)));
  for (let lo = 0; lo < n; lo += block) {
    states.push(rng.getState());
    drawRange(rng, segments, n, lo, Math.min(n, lo + block), scratch);
    yield;
  }
}

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function formatFeature(name: string, v: number): string {
  return INTEGER_FEATURES.has(name) ? String(v) : pythonFloat(v);
}

/**
 * A float as Python's `repr` writes it (shortest round-trip digits, `.0` on whole numbers,
 * exponent form below 1e-4 and from 1e16), so generated CSVs read the same as the seed's.
 */
export function pythonFloat(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  const sign = v < 0 ? '-' : '';
  const [mant, expStr] = Math.abs(v).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expStr);
  const decpt = exp + 1;
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
}

/** Generated (or any) traffic as CSV text with a header line and a final newline. */
export function trafficToCsv(t: TrafficData): string {
  const lines = [csvLine(t.header)];
  for (const rec of t.records) lines.push(csvLine(rec));
  return lines.join('\n') + '\n';
}
