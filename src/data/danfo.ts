/**
 * danfo.js DataFrames for notebooks. danfojs-node is loaded lazily (its import costs 2-3 s), and
 * only when one of these functions is called; the library's own numeric path never needs it.
 */
import type { TrafficData } from './csv';
import { DataValidationError } from '../core/errors';
import { parseTraffic } from './csv';
import type { DatasetSchema } from './schema';
import type { DetectionResult } from '../ensemble/ensemble';
import { detectionRows } from '../ensemble/output';

/** The danfojs-node module (typed loosely: danfo's own types are heavy). */
export function danfo(): any {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require('danfojs-node');
}

/** Traffic (features, label, timestamp) as a danfo DataFrame. */
export function trafficToDataFrame(data: TrafficData): any {
  const dfd = danfo();
  const cols: Record<string, unknown[]> = {};
  if (data.timestamps) cols.timestamp = data.timestamps;
  const d = data.X.cols;
  data.features.forEach((f, j) => {
    const c = new Array(data.X.rows);
    for (let i = 0; i < data.X.rows; i++) c[i] = data.X.data[i * d + j];
    cols[f] = c;
  });
  if (data.labels) cols.label = Array.from(data.labels);
  return new dfd.DataFrame(cols);
}

/**
 * A danfo DataFrame as {@link TrafficData} (the same checks as a CSV file: required columns,
 * numeric finite features, 0/1 labels).
 */
export function dataFrameToTraffic(df: any, schema?: DatasetSchema): TrafficData {
  if (!df || !Array.isArray(df.columns) || !Array.isArray(df.values)) {
    throw new DataValidationError('expected a danfo DataFrame (with columns and values).');
  }
  const header: string[] = df.columns.map(String);
  const records: string[][] = (df.values as unknown[][]).map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v))));
  return parseTraffic({ header, records, warnings: [] }, { schema });
}

/** Detection results (with the input's features) as a danfo DataFrame. */
export function detectionToDataFrame(r: DetectionResult, data?: TrafficData): any {
  const dfd = danfo();
  return new dfd.DataFrame(detectionRows(r, data));
}
