/**
 * Per-row detection output: CSV lines and plain row objects for tables, each row with a stable
 * `row_id` ({@link rowId}) that operator feedback refers to.
 */
import * as crypto from 'node:crypto';
import type { DetectorName } from '../core/detector';
import type { DenseMatrix } from '../core/matrix';
import { csvLine, schemaFeatureColumns, type TrafficData } from '../data/csv';
import type { DatasetSchema } from '../data/schema';
import type { Severity } from './combine';
import type { DetectionResult } from './ensemble';

/** Hex digits of a {@link rowId} (64 bits: a collision is unlikely below billions of distinct rows). */
export const ROW_ID_LENGTH = 16;

/**
 * Stable id of one row: the first {@link ROW_ID_LENGTH} hex digits of the SHA-256 of its timestamp
 * (when the data has one) and its feature values, in the schema's feature order.
 *
 * The values are the raw feature cells of the file (numbers written canonically, so `1.50` and
 * `1.5` are the same; categories as written), not the encoded model columns: ids do not change
 * when a retrained model learns other categories. The same row gets the same id after
 * re-scoring, reloading or adding columns: the label and any other column are not part of it,
 * so the labelled and the unlabelled copy of a file, and `nal detect` output read back, give the
 * same ids. Identical rows (same timestamp and feature values) share an id, and a label given to
 * one applies to all.
 * @param values - the row's feature values (numbers, or raw cells)
 * @param timestamp - the row's timestamp as written in the file
 * @example
 * ```ts
 * rowId([512, 1.5, 5000], '2025-01-01 00:00:00'); // 16 hex digits
 * ```
 */
export function rowId(values: ArrayLike<number | string>, timestamp?: string): string {
  const parts: string[] = new Array(values.length);
  for (let j = 0; j < values.length; j++) parts[j] = canonicalCell(values[j]);
  const text = `${timestamp ?? ''}\n${parts.join(',')}`;
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, ROW_ID_LENGTH);
}

/** A number as JavaScript writes it; a cell that is a number likewise, any other cell trimmed. */
function canonicalCell(v: number | string): string {
  if (typeof v === 'number') return String(v);
  const t = v.trim();
  const n = +t;
  return t !== '' && Number.isFinite(n) ? String(n) : t;
}

/** What {@link rowIds} reads: the feature matrix, and the raw cells when the data came from a file. */
export interface RowIdSource {
  X: DenseMatrix;
  timestamps?: readonly string[];
  /** With `records` and `schema` (or `features`): the raw feature cells are hashed. */
  header?: readonly string[];
  records?: readonly (readonly string[])[];
  schema?: DatasetSchema;
  features?: readonly string[];
}

/**
 * {@link rowId} of every row: from the raw feature cells when the data came from a file (so
 * encoded columns do not matter), else from the feature matrix. For numeric files both give
 * the same ids.
 */
export function rowIds(data: RowIdSource): string[] {
  const { rows, cols, data: v } = data.X;
  const out: string[] = new Array(rows);
  const raw = rawFeatureColumns(data);
  if (raw) {
    const cells: string[] = new Array(raw.length);
    for (let i = 0; i < rows; i++) {
      const rec = data.records![i];
      for (let j = 0; j < raw.length; j++) cells[j] = rec[raw[j]];
      out[i] = rowId(cells, data.timestamps?.[i]);
    }
    return out;
  }
  for (let i = 0; i < rows; i++) out[i] = rowId(v.subarray(i * cols, i * cols + cols), data.timestamps?.[i]);
  return out;
}

/** {@link rowIds} of some rows of `data` only (row indices into it). */
export function rowIdsAt(data: RowIdSource, rows: readonly number[]): string[] {
  const d = data.X.cols;
  const X = new Float64Array(rows.length * d);
  rows.forEach((i, k) => X.set(data.X.data.subarray(i * d, i * d + d), k * d));
  return rowIds({
    X: { rows: rows.length, cols: d, data: X },
    timestamps: data.timestamps ? rows.map((i) => data.timestamps![i]) : undefined,
    header: data.header,
    records: data.records && data.records.length === data.X.rows ? rows.map((i) => data.records![i]) : undefined,
    schema: data.schema,
    features: data.features,
  });
}

/**
 * A short hash of a list of model feature names. Feedback records carry it, so that stored
 * feature values are only reused by a model with the same columns (one-hot columns name their
 * categories, so a model that learned other categories has another hash).
 */
export function featureSetId(features: readonly string[]): string {
  return crypto.createHash('sha256').update(features.join('\n')).digest('hex').slice(0, 8);
}

/** Indices of the raw feature columns in the records, when every one is there. */
function rawFeatureColumns(data: RowIdSource): number[] | undefined {
  if (!data.records || !data.header || data.records.length !== data.X.rows) return undefined;
  const names = data.schema ? schemaFeatureColumns(data.schema, data.header) : data.features;
  if (!names || names.length === 0) return undefined;
  const index = new Map(data.header.map((h, j) => [h, j] as const));
  const cols = names.map((n) => index.get(n));
  return cols.every((j) => j !== undefined) ? (cols as number[]) : undefined;
}

/** Column names added after the input columns, in order (`row_id` first). */
export function resultColumns(r: Pick<DetectionResult, 'detectors'>): string[] {
  const cols: string[] = ['row_id'];
  for (const d of r.detectors) cols.push(`${d}_score`, `${d}_vote`);
  cols.push('votes', 'is_anomaly', 'confidence', 'severity', 'ensemble_score');
  return cols;
}

/** The result columns of row `i` as strings; `id` is the row's {@link rowId}. */
export function resultFields(r: DetectionResult, i: number, id: string): string[] {
  const f: string[] = [id];
  for (const d of r.detectors) f.push(String(r.scores[d]![i]), String(r.votes[d]![i]));
  f.push(String(r.voteCount[i]), String(r.isAnomaly[i]), String(r.confidence[i]), r.severity[i], String(r.ensembleScore[i]));
  return f;
}

/**
 * Throws a `TypeError` when a function of the form `(result, data)` got its arguments the other
 * way round (the order before version 0.2 of {@link detectionRows} and {@link detectionToCsv}).
 */
function checkResultFirst(fn: string, r: unknown, data: unknown): void {
  const isData = (x: unknown) => typeof x === 'object' && x !== null && 'X' in x && !('isAnomaly' in x);
  if (isData(r) || (data !== undefined && data !== null && typeof data === 'object' && 'isAnomaly' in data)) {
    throw new TypeError(`${fn} takes (result, data): the detection result first, then the data it was computed on (got them the other way round).`);
  }
}

/**
 * CSV text: every input column of every row, then the result columns (`row_id` first); the
 * format of `nal detect`.
 * @param r - the ensemble's result for `data` (`ensemble.detect(data)`)
 * @param data - the rows that were scored
 * @throws TypeError when the arguments are swapped
 * @example
 * ```ts
 * atomicWriteFile('scored.csv', detectionToCsv(ensemble.detect(data), data));
 * ```
 */
export function detectionToCsv(r: DetectionResult, data: TrafficData): string {
  checkResultFirst('detectionToCsv', r, data);
  const ids = rowIds(data);
  const lines = [csvLine([...data.header, ...resultColumns(r)])];
  for (let i = 0; i < data.records.length; i++) lines.push(csvLine([...data.records[i], ...resultFields(r, i, ids[i])]));
  return lines.join('\n') + '\n';
}

/** One detected row as a plain object (for danfo DataFrames and tables). */
export interface DetectionRow {
  row: number;
  /** Stable id of the row ({@link rowId}); present when the data is given. */
  row_id?: string;
  timestamp?: string;
  votes: number;
  is_anomaly: number;
  confidence: number;
  severity: Severity;
  ensemble_score: number;
  [key: string]: string | number | undefined;
}

/**
 * Rows as plain objects: row index and `row_id` (when `data` is given), feature values,
 * per-detector scores and votes, and the ensemble columns. `detectionToDataFrame(r, data)` gives
 * the same rows as a danfo.js DataFrame.
 * @param r - the ensemble's result
 * @param data - the rows that were scored (optional: without it, only the result columns)
 * @throws TypeError when the arguments are swapped
 * @example
 * ```ts
 * const flagged = detectionRows(ensemble.detect(data), data).filter((row) => row.is_anomaly === 1);
 * ```
 */
export function detectionRows(r: DetectionResult, data?: TrafficData): DetectionRow[] {
  checkResultFirst('detectionRows', r, data);
  const n = r.isAnomaly.length;
  const out: DetectionRow[] = new Array(n);
  const d = data?.X.cols ?? 0;
  const ids = data ? rowIds(data) : undefined;
  for (let i = 0; i < n; i++) {
    const row: DetectionRow = {
      row: i,
      ...(ids ? { row_id: ids[i] } : {}),
      votes: r.voteCount[i],
      is_anomaly: r.isAnomaly[i],
      confidence: r.confidence[i],
      severity: r.severity[i],
      ensemble_score: r.ensembleScore[i],
    };
    if (data?.timestamps) row.timestamp = data.timestamps[i];
    if (data) for (let j = 0; j < d; j++) row[data.features[j]] = data.X.data[i * d + j];
    if (data?.labels) row.label = data.labels[i];
    for (const det of r.detectors as DetectorName[]) {
      row[`${det}_score`] = r.scores[det]![i];
      row[`${det}_vote`] = r.votes[det]![i];
    }
    out[i] = row;
  }
  return out;
}
