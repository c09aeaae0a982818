/**
 * Data with a known answer: normal rows are N(0, 1) in six features; anomalies differ from them in
 * exactly two features, `f1` and `f4`: half are shifted in `f1` only, half in `f4` only.
 */
import { denseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import type { TrafficData } from '../../src/data/csv';

export const PLANTED_FEATURES = ['f1', 'f4'] as const;
export const FEATURES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];

/** `normal` normal rows then `anomalies` planted ones; `planted[i]` names the shifted feature of row i. */
export function plantedData(opts: { normal?: number; anomalies?: number; shift?: number; seed?: number } = {}): {
  data: TrafficData;
  planted: (string | null)[];
} {
  const normal = opts.normal ?? 600;
  const anomalies = opts.anomalies ?? 40;
  const shift = opts.shift ?? 10;
  const rng = new Random(opts.seed ?? 11);
  const n = normal + anomalies;
  const d = FEATURES.length;
  const X = new Float64Array(n * d);
  for (let k = 0; k < X.length; k++) X[k] = rng.standardNormal();
  const planted: (string | null)[] = new Array(n).fill(null);
  for (let i = normal; i < n; i++) {
    const f = (i - normal) % 2 === 0 ? 1 : 4;
    X[i * d + f] += shift;
    planted[i] = FEATURES[f];
  }
  const labels = Uint8Array.from(planted, (p) => (p ? 1 : 0));
  const header = ['timestamp', ...FEATURES, 'label'];
  const timestamps = Array.from({ length: n }, (_, i) => `2025-01-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z#${i}`);
  const records = Array.from({ length: n }, (_, i) => [timestamps[i], ...Array.from(X.subarray(i * d, i * d + d), String), String(labels[i])]);
  return { data: { features: [...FEATURES], X: denseMatrix(n, d, X), labels, timestamps, header, records, warnings: [] }, planted };
}
