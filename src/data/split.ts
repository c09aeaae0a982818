/** Row subsets and seeded splits of {@link TrafficData}. */
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
  };
}

/**
 * Seeded split into two parts: a share `fraction` of the rows (of the rows with label 0 only when
 * `normalOnly`) goes to `train`, every other row to `test`. Row order is kept within each part.
 */
export function splitTraffic(
  data: TrafficData,
  fraction: number,
  seed: number,
  opts: { normalOnly?: boolean } = {},
): { train: TrafficData; test: TrafficData } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`splitTraffic: fraction must be in (0, 1), got ${fraction}.`);
  if (opts.normalOnly && !data.labels) throw new RangeError('splitTraffic: normalOnly needs labels.');
  const pool: number[] = [];
  for (let i = 0; i < data.X.rows; i++) if (!opts.normalOnly || data.labels![i] === 0) pool.push(i);
  const pick = new Random(seed).sampleIndices(pool.length, Math.round(fraction * pool.length));
  const inTrain = new Uint8Array(data.X.rows);
  for (const k of pick) inTrain[pool[k]] = 1;
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < inTrain.length; i++) (inTrain[i] ? train : test).push(i);
  return { train: subsetRows(data, train), test: subsetRows(data, test) };
}
