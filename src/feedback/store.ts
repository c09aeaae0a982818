/**
 * Operator feedback on detected rows, stored durably as JSON Lines beside the model
 * (`<model dir>/feedback.jsonl`): one label per line,
 * `{"row_id": "...", "label": "tp" | "fp" | "fn", "features": [...], "at": "ISO time", "note": "..."}`.
 *
 * - Append-only: every {@link appendFeedback} is one `write` of whole lines to a file opened with
 *   `O_APPEND`, then `fsync`. A crash mid-write can leave at most a truncated last line; every
 *   earlier label is untouched.
 * - Loading ({@link loadFeedback}) skips and reports what an interrupted write left (the next
 *   append starts a fresh line after it); any other line that is not JSON, or a JSON line with
 *   invalid content, is an error naming the line (`skipBadLines` skips the former).
 * - Rows are identified by their stable {@link rowId}; a later label for the same row wins, and the
 *   change is recorded in {@link FeedbackLog.conflicts}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataValidationError } from '../core/errors';
import { recordDataFile } from '../core/provenance';
import type { DetectorName } from '../core/detector';
import { takeRows } from '../core/matrix';
import { fsyncDir } from '../core/persistence';
import { decodeUtf8 } from '../data/text';
import { normalizeScores } from '../ensemble/combine';
import { DETECTOR_NAMES, type AnomalyEnsemble } from '../ensemble/ensemble';
import { featureSetId, rowIds, type RowIdSource } from '../ensemble/output';

/** `tp`: a detection the operator confirms; `fp`: a detection that is normal traffic; `fn`: a missed anomaly. */
export type FeedbackLabel = 'tp' | 'fp' | 'fn';

/** All feedback labels. */
export const FEEDBACK_LABELS: readonly FeedbackLabel[] = ['tp', 'fp', 'fn'];

/** Name of the feedback file inside a model folder. */
export const FEEDBACK_FILE = 'feedback.jsonl';

/** One operator label: one line of the feedback file. */
export interface FeedbackRecord {
  /** The row's stable id ({@link rowId}): the `row_id` column of `nal detect` output. */
  row_id: string;
  label: FeedbackLabel;
  /** The row's feature values in the model's columns, so retraining can use the row without the original file. */
  features?: number[];
  /**
   * {@link featureSetId} of the columns `features` are in: retraining reuses them only for a model
   * with the same columns (with categorical columns, the same categories).
   */
  feature_set?: string;
  /**
   * Each detector's score of the row when it was labelled, on the ensemble's normalised scale
   * (training median and IQR of the model that was reviewed): what the model thought when the
   * operator looked. Retraining learns fusion weights from them.
   */
  scores?: Partial<Record<DetectorName, number>>;
  /** When the label was given (ISO 8601). */
  at: string;
  note?: string;
}

/** A label that replaced an earlier, different label of the same row. */
export interface FeedbackConflict {
  row_id: string;
  previous: FeedbackLabel;
  label: FeedbackLabel;
  /** 1-based line of the later label (0 for records not read from a file). */
  line: number;
}

/** A feedback file, read. */
export interface FeedbackLog {
  /** The file read, when read from one. */
  file?: string;
  /** Every valid record, in file order. */
  records: FeedbackRecord[];
  /** The label in force per row: the latest record of each `row_id`. */
  latest: Map<string, FeedbackRecord>;
  /** Labels that replaced a different earlier label of the same row. */
  conflicts: FeedbackConflict[];
  /** Lines skipped (a truncated last line, an unreadable line), each with its line number. */
  warnings: string[];
}

/** The default feedback file of a model folder. */
export function feedbackPath(modelDir: string): string {
  return path.join(modelDir, FEEDBACK_FILE);
}

const ROW_ID = /^[0-9a-f]{8,64}$/;

/**
 * Check one record (a parsed line or a record about to be written) and return it with only the
 * known fields.
 * @throws DataValidationError naming the field and, when given, the file and line
 */
export function checkFeedbackRecord(x: unknown, where: { file?: string; line?: number; record?: number } = {}): FeedbackRecord {
  const at = where.line !== undefined ? `line ${where.line}: ` : where.record !== undefined ? `record ${where.record}: ` : '';
  const fail = (msg: string) => new DataValidationError(`${at}feedback record ${msg}`, { file: where.file });
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw fail('is not a JSON object.');
  const o = x as Record<string, unknown>;
  if (typeof o.row_id !== 'string' || !ROW_ID.test(o.row_id)) throw fail(`has an invalid row_id ${JSON.stringify(o.row_id)} (expected the hex id from the row_id column of nal detect).`);
  if (typeof o.label !== 'string' || !FEEDBACK_LABELS.includes(o.label as FeedbackLabel)) {
    throw fail(`has an invalid label ${JSON.stringify(o.label)} (expected one of ${FEEDBACK_LABELS.join(', ')}).`);
  }
  if (typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at))) throw fail(`has an invalid time 'at' ${JSON.stringify(o.at)} (expected ISO 8601).`);
  const r: FeedbackRecord = { row_id: o.row_id, label: o.label as FeedbackLabel, at: o.at };
  if (o.features !== undefined) {
    if (!Array.isArray(o.features) || o.features.length === 0 || o.features.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw fail('has invalid features (expected a non-empty array of finite numbers).');
    }
    r.features = [...(o.features as number[])];
  }
  if (o.feature_set !== undefined) {
    if (typeof o.feature_set !== 'string' || !/^[0-9a-f]{8}$/.test(o.feature_set)) throw fail(`has an invalid feature_set ${JSON.stringify(o.feature_set)}.`);
    r.feature_set = o.feature_set;
  }
  if (o.scores !== undefined) {
    const sc = o.scores as Record<string, unknown>;
    if (typeof sc !== 'object' || sc === null || Array.isArray(sc) || Object.entries(sc).some(([k, v]) => !DETECTOR_NAMES.includes(k as DetectorName) || typeof v !== 'number' || !Number.isFinite(v))) {
      throw fail(`has invalid scores (expected finite numbers keyed by ${DETECTOR_NAMES.join(', ')}).`);
    }
    r.scores = { ...(sc as Partial<Record<DetectorName, number>>) };
  }
  if (o.note !== undefined) {
    if (typeof o.note !== 'string') throw fail('has a note that is not a string.');
    r.note = o.note;
  }
  return r;
}

/**
 * Append labels to a feedback file (created if missing, with its folder): the lines go out in one
 * `write` on an `O_APPEND` descriptor, followed by `fsync`, so a crash loses at most these lines
 * and never an earlier one. When the file ends in an incomplete line (an earlier interrupted
 * write), a newline is written first so the new labels start on a line of their own.
 * @throws DataValidationError for an invalid record (nothing is written then)
 * @example
 * ```ts
 * appendFeedback(feedbackPath('models/demo'), labelRows(data, { rowIds: ['3fa2c1d09b7e4a65'] }, 'fp'));
 * ```
 */
export function appendFeedback(file: string, records: FeedbackRecord | readonly FeedbackRecord[]): void {
  const list = (Array.isArray(records) ? records : [records]) as readonly FeedbackRecord[];
  const checked = list.map((r, k) => checkFeedbackRecord(r, { record: k + 1 }));
  if (checked.length === 0) return;
  let text = checked.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const existed = fs.existsSync(file);
  const fd = fs.openSync(file, 'a+', 0o644);
  try {
    const size = fs.fstatSync(fd).size;
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) text = '\n' + text;
    }
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (!existed) fsyncDir(dir);
}

/** Options of {@link parseFeedback} and {@link loadFeedback}. */
export interface ParseFeedbackOptions {
  /**
   * Skip any line that is not JSON (with a warning) instead of failing. Without it only the
   * remains of interrupted writes are skipped: another line that is not JSON means the file is not
   * a feedback log, or was damaged. @defaultValue false
   */
  skipBadLines?: boolean;
}

/**
 * Parse feedback JSON Lines. The remains of an interrupted write (a line that is the start of a
 * record as {@link appendFeedback} writes it, cut short) are skipped with a warning, wherever they
 * are; any other line that is not JSON is an error (a warning with `skipBadLines`), so a file that
 * is not a feedback log is never read as an empty one; a JSON line with invalid content is always
 * an error. An unterminated last line is kept when it is a complete, valid record.
 * @throws DataValidationError naming the line
 */
export function parseFeedback(text: string, file?: string, opts: ParseFeedbackOptions = {}): FeedbackLog {
  const lines = text.split('\n');
  const log: FeedbackLog = { file, records: [], latest: new Map(), conflicts: [], warnings: [] };
  const prefix = file ? `${file}: ` : '';
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const isLast = k === lines.length - 1; // no newline after it
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // the remains of an interrupted write (the start of a record as appendFeedback writes it)
      // are skipped; anything else means the file is not a feedback log, or was damaged
      const cut = isCutRecord(line);
      if (cut && isLast) {
        log.warnings.push(`${prefix}line ${k + 1}: truncated last line (an interrupted write) skipped.`);
        continue;
      }
      if (!cut && !opts.skipBadLines) {
        const what = log.records.length === 0 && k === 0 ? 'is not a feedback log (JSON lines written by nal feedback add)' : 'has a line that is not JSON (damaged?)';
        throw new DataValidationError(`line ${k + 1}: ${what}; --skip-bad-lines skips such lines.`, { file });
      }
      log.warnings.push(`${prefix}line ${k + 1}: not valid JSON (the remains of an interrupted write?) skipped.`);
      continue;
    }
    addRecord(log, checkFeedbackRecord(parsed, { file, line: k + 1 }), k + 1);
  }
  return log;
}

/** Whether a line that is not JSON is a record cut short (every record is written starting with `{"row_id":"`). */
function isCutRecord(line: string): boolean {
  const head = '{"row_id":"';
  return line.startsWith(head) || head.startsWith(line);
}

function addRecord(log: FeedbackLog, r: FeedbackRecord, line: number): void {
  log.records.push(r);
  const prev = log.latest.get(r.row_id);
  if (prev && prev.label !== r.label) log.conflicts.push({ row_id: r.row_id, previous: prev.label, label: r.label, line });
  // keep features recorded earlier when the later label has none
  log.latest.set(r.row_id, prev?.features && !r.features ? { ...r, features: prev.features } : r);
}

/** A {@link FeedbackLog} from records in memory (later records win, as in a file). */
export function feedbackLog(records: readonly FeedbackRecord[]): FeedbackLog {
  const log: FeedbackLog = { records: [], latest: new Map(), conflicts: [], warnings: [] };
  records.forEach((r, k) => addRecord(log, checkFeedbackRecord(r, { record: k + 1 }), 0));
  return log;
}

/** Largest feedback file read (about a million labels with feature values). */
export const MAX_FEEDBACK_BYTES = 512 * 1024 * 1024;

/**
 * Read a feedback file (a regular file of UTF-8 JSON lines).
 * @param opts.missingOk - return an empty log for a missing file instead of throwing @defaultValue false
 * @param opts.skipBadLines - see {@link ParseFeedbackOptions}
 * @throws DataValidationError for a missing file (unless `missingOk`), one that is not a regular
 *   file or too large, a line that is not JSON (unless `skipBadLines`) or an invalid record
 */
export function loadFeedback(file: string, opts: { missingOk?: boolean } & ParseFeedbackOptions = {}): FeedbackLog {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    if (opts.missingOk) return { file, records: [], latest: new Map(), conflicts: [], warnings: [] };
    throw new DataValidationError('feedback file not found.', { file });
  }
  if (!st.isFile()) throw new DataValidationError('is not a regular file; a feedback log is a file of JSON lines.', { file });
  if (st.size > MAX_FEEDBACK_BYTES) throw new DataValidationError(`is ${(st.size / (1 << 20)).toFixed(0)} MiB, more than a feedback log may have (${MAX_FEEDBACK_BYTES / (1 << 20)} MiB).`, { file });
  const text = decodeUtf8(fs.readFileSync(file), file);
  recordDataFile(file, 'loadFeedback');
  return parseFeedback(text, file, opts);
}

/** Counts of a feedback log. */
export interface FeedbackStats {
  /** Lines read (every valid record, including superseded ones). */
  records: number;
  /** Distinct rows labelled. */
  rows: number;
  /** Rows per label in force (the latest label of each row). */
  tp: number;
  fp: number;
  fn: number;
  /** Rows whose label in force carries feature values. */
  withFeatures: number;
  /** Labels that replaced a different earlier label. */
  conflicts: number;
  /** Lines skipped. */
  skippedLines: number;
  /** Time of the first and the last record. */
  first?: string;
  last?: string;
}

/** Counts per label (labels in force), conflicts and skipped lines. */
export function feedbackStats(log: FeedbackLog): FeedbackStats {
  const s: FeedbackStats = { records: log.records.length, rows: log.latest.size, tp: 0, fp: 0, fn: 0, withFeatures: 0, conflicts: log.conflicts.length, skippedLines: log.warnings.length };
  for (const r of log.latest.values()) {
    s[r.label]++;
    if (r.features) s.withFeatures++;
  }
  if (log.records.length) {
    const times = log.records.map((r) => r.at).sort();
    s.first = times[0];
    s.last = times[times.length - 1];
  }
  return s;
}

/** Which rows {@link labelRows} labels: row indices, or stable row ids. */
export type RowSelection = { rows: readonly number[] } | { rowIds: readonly string[] };

/**
 * Feedback records for rows of `data`, each with the row's feature values.
 * @param data - the rows the ids refer to (e.g. the file given to `nal detect`)
 * @param selection - `{ rows: [3, 17] }` (0-based indices) or `{ rowIds: ['3fa2c1d09b7e4a65'] }`
 * @param label - `tp`, `fp` or `fn`
 * @param opts.at - the time to record @defaultValue now
 * @param opts.model - the model whose detections were reviewed: each record then carries the
 *   detectors' normalised scores of the row ({@link FeedbackRecord.scores})
 * @throws DataValidationError for a row id that is not in `data`; RangeError for a bad index or label
 * @example
 * ```ts
 * appendFeedback(file, labelRows(data, { rows: [17] }, 'fp', { note: 'nightly backup' }));
 * ```
 */
export function labelRows(
  data: RowIdSource,
  selection: RowSelection,
  label: FeedbackLabel,
  opts: { note?: string; at?: string | Date; model?: AnomalyEnsemble } = {},
): FeedbackRecord[] {
  if (!FEEDBACK_LABELS.includes(label)) throw new RangeError(`labelRows: label must be one of ${FEEDBACK_LABELS.join(', ')}. Got ${JSON.stringify(label)}.`);
  const at = opts.at === undefined ? new Date().toISOString() : typeof opts.at === 'string' ? opts.at : opts.at.toISOString();
  const ids = rowIds(data);
  const d = data.X.cols;
  let rows: number[];
  if ('rows' in selection) {
    rows = [...selection.rows];
    for (const i of rows) {
      if (!Number.isInteger(i) || i < 0 || i >= data.X.rows) throw new RangeError(`labelRows: row must be an integer in [0, ${data.X.rows - 1}]. Got ${i}.`);
    }
  } else {
    const where = new Map<string, number>();
    ids.forEach((id, i) => {
      if (!where.has(id)) where.set(id, i);
    });
    rows = selection.rowIds.map((id) => {
      const i = where.get(id);
      if (i === undefined) throw new DataValidationError(`row id '${id}' is not in the given data (${data.X.rows} rows); take ids from the row_id column of nal detect run on the same file.`);
      return i;
    });
  }
  const featureSet = data.features ? featureSetId(data.features) : undefined;
  const scores = opts.model && rows.length ? modelScores(opts.model, data, rows) : undefined;
  return rows.map((i, k) => {
    const r: FeedbackRecord = { row_id: ids[i], label, features: Array.from(data.X.data.subarray(i * d, i * d + d)), at };
    if (featureSet) r.feature_set = featureSet;
    if (scores) r.scores = scores[k];
    if (opts.note !== undefined) r.note = opts.note;
    return r;
  });
}

/** Each detector's normalised score (the ensemble's scale) of the given rows. */
function modelScores(model: AnomalyEnsemble, data: RowIdSource, rows: readonly number[]): Partial<Record<DetectorName, number>>[] {
  const r = model.detect(takeRows(data.X, rows), data.features ?? model.featureNames);
  const norm = r.detectors.map((det) => [det, normalizeScores(r.scores[det]!, model.stats(det), model.options.normalization)] as const);
  return rows.map((_, k) => Object.fromEntries(norm.map(([det, v]) => [det, v[k]])));
}
