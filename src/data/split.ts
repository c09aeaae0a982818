/** Row subsets, seeded samples and seeded splits of {@link TrafficData}. */
import { takeRows } from '../core/matrix';
import { Random } from '../core/random';
import type { TrafficData } from './csv';

/** The rows at `indices` (in that order), every column kept. */
export function subsetRows(data: TrafficData, indices: ArrayLike<number>): TrafficData {
  const idx = Array.from(indices);
  return {
    features: data.features,
    X: takeRows(data.X, idx),
    labels: data.labels ? Uint8Array.from(idx, (i) => data.labels![i]) : undefined,
    timestamps: data.timestamps ? idx.map((i) => data.timestamps![i]) : undefined,
    header: data.header,
    records: idx.map((i) => data.records[i]),
    warnings: data.warnings,
    schema: data.schema,
    encoder: data.encoder,
    file: data.file,
  };
}

/**
 * A seeded random sample of `n` rows without replacement, in file order. All rows when `n` is
 * at least the row count.
 * @throws RangeError when `n` is not a positive integer
 */
export function sampleRows(data: TrafficData, n: number, seed: number): TrafficData {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sampleRows: n must be a positive integer, got ${n}.`);
  if (n >= data.X.rows) return data;
  const pick = Array.from(new Random(seed).sampleIndices(data.X.rows, n)).sort((a, b) => a - b);
  return subsetRows(data, pick);
}

/**
 * Seeded split into two parts: a share `fraction` of the rows goes to `train`, every other row to
 * `test`. Row order is kept within each part.
 * - `normalOnly`: only rows with label 0 can go to `train` (all anomalies are tested).
 * - `stratify`: the share is taken of each label class separately (round(fraction * class size)
 *   per class), ADBench's stratified 70/30 split; the labels only steer the split.
 */
export function splitTraffic(
  data: TrafficData,
  fraction: number,
  seed: number,
  opts: { normalOnly?: boolean; stratify?: boolean } = {},
): { train: TrafficData; test: TrafficData } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`splitTraffic: fraction must be in (0, 1), got ${fraction}.`);
  if ((opts.normalOnly || opts.stratify) && !data.labels) throw new RangeError(`splitTraffic: ${opts.normalOnly ? 'normalOnly' : 'stratify'} needs labels.`);
  if (opts.normalOnly && opts.stratify) throw new RangeError('splitTraffic: normalOnly and stratify cannot be combined.');
  const inTrain = new Uint8Array(data.X.rows);
  const rng = new Random(seed);
  const pools: number[][] = opts.stratify ? [[], []] : [[]];
  for (let i = 0; i < data.X.rows; i++) {
    if (opts.stratify) pools[data.labels![i]].push(i);
    else if (!opts.normalOnly || data.labels![i] === 0) pools[0].push(i);
  }
  for (const pool of pools) {
    const pick = rng.sampleIndices(pool.length, Math.round(fraction * pool.length));
    for (const k of pick) inTrain[pool[k]] = 1;
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < inTrain.length; i++) (inTrain[i] ? train : test).push(i);
  return { train: subsetRows(data, train), test: subsetRows(data, test) };
}
