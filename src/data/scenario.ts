/**
 * Traffic scenarios for demos and notebooks. The generator writes every anomaly first in time (as
 * the seed data does), which makes a timeline of the capture one block of anomalies followed by
 * normal traffic. {@link anomalyBursts} reorders labelled rows so that the anomalies arrive in a
 * few bursts spread over the capture instead.
 */
import { checkSeed, Random } from '../core/random';
import type { TrafficData } from './csv';
import { subsetRows } from './split';

/** Options of {@link anomalyBursts}. */
export interface AnomalyBurstOptions {
  /** Number of bursts the anomalies are split into. @defaultValue 3 */
  bursts?: number;
  /** Seed of the moments the bursts start. @defaultValue 42 */
  seed?: number;
}

/**
 * The same rows in a new order: the normal rows (label 0) in their order, and the anomalies (label
 * 1), in their order, cut into `bursts` consecutive runs of about equal size, each inserted at a
 * seeded moment within its own share of the capture (burst k lands in the middle 60% of the k-th of
 * `bursts` equal stretches of normal rows, so bursts never merge). The timestamps keep their
 * sequence: row i of the result gets the original row i's timestamp, in `timestamps` and in the
 * timestamp cell of `records`, so evenly spaced traffic stays evenly spaced.
 * @throws RangeError when the data has no labels or `bursts` is not a positive integer
 * @example
 * ```ts
 * const data = anomalyBursts(generateTraffic({ rows: 2000, seed: 42 }), { bursts: 3, seed: 42 });
 * ```
 */
export function anomalyBursts(data: TrafficData, opts: AnomalyBurstOptions = {}): TrafficData {
  const bursts = opts.bursts ?? 3;
  if (!Number.isInteger(bursts) || bursts < 1) throw new RangeError(`anomalyBursts: bursts must be a positive integer. Got ${bursts}.`);
  const seed = checkSeed(opts.seed ?? 42, 'anomalyBursts');
  if (!data.labels) throw new RangeError('anomalyBursts: the data has no labels (anomalies are the rows labelled 1).');
  const normal: number[] = [];
  const anomalous: number[] = [];
  for (let i = 0; i < data.labels.length; i++) (data.labels[i] ? anomalous : normal).push(i);
  const rng = new Random(seed);
  const nN = normal.length;
  const m = anomalous.length;
  // insertion point of each burst: a seeded position in the middle 60% of its stretch of normal rows
  const at = Array.from({ length: bursts }, (_, k) => {
    const lo = (k * nN) / bursts;
    const len = nN / bursts;
    return Math.min(nN, Math.floor(lo + len * (0.2 + 0.6 * rng.random())));
  });
  const order: number[] = [];
  let next = 0;
  for (let k = 0; k < bursts; k++) {
    while (next < at[k]) order.push(normal[next++]);
    const from = Math.floor((k * m) / bursts);
    const to = Math.floor(((k + 1) * m) / bursts);
    for (let a = from; a < to; a++) order.push(anomalous[a]);
  }
  while (next < nN) order.push(normal[next++]);

  const out = subsetRows(data, order);
  if (data.timestamps) {
    const ts = data.timestamps;
    const col = data.header.indexOf(data.schema?.timestamp ?? 'timestamp');
    out.timestamps = ts.slice();
    out.records = out.records.map((rec, i) => {
      if (col < 0) return rec.slice();
      const copy = rec.slice();
      copy[col] = ts[i];
      return copy;
    });
  }
  return out;
}
