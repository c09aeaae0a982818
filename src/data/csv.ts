/**
 * CSV reading into the library's numeric matrix. A small RFC 4180 reader (quoted fields, embedded
 * commas and quotes, CRLF, a UTF-8 byte-order mark) with a fast path for unquoted files, plus
 * {@link parseTraffic}, which maps a CSV onto a {@link DatasetSchema} (one-hot encoding its
 * categorical columns) and reports bad cells by row and column. Gzipped files are read directly.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DataValidationError } from '../core/errors';
import { recordDataFile } from '../core/provenance';
import type { DenseMatrix } from '../core/matrix';
import { checkHeader, parseNumber, truncateCell } from './cells';
import { badRowsError, type BadRowPolicy, type SkippedRow } from './bad-rows';
import { decodeUtf8, DEFAULT_MAX_LINE_BYTES, lineTooLongError } from './text';
import { describeUnseen, TrafficEncoder, type BadCellHandler } from './encoder';
import { SEED_SCHEMA, type DatasetSchema } from './schema';
import { parseZeekLog } from './zeek';

/** A CSV split into a header and records of strings. */
export interface CsvTable {
  header: string[];
  records: string[][];
  /** Things the reader tolerated but the user should know (a skipped truncated last line). */
  warnings: string[];
}

/** Traffic data ready for the detectors. */
export interface TrafficData {
  /** Feature names, in column order of `X`. */
  features: string[];
  /** rows x features, finite numbers. */
  X: DenseMatrix;
  /** 1 = anomaly, 0 = normal, when the file has a label column. */
  labels?: Uint8Array;
  /** Timestamps as written in the file, when it has a timestamp column. */
  timestamps?: string[];
  /** All columns of the file, for writing results beside the input. */
  header: string[];
  /** All cells of every row, as read. */
  records: string[][];
  /** Messages about tolerated problems (extra columns ignored, truncated last line skipped). */
  warnings: string[];
  /** The schema the rows were read with. */
  schema?: DatasetSchema;
  /** The encoder that produced `X` from the raw cells, when the schema has categorical columns. */
  encoder?: TrafficEncoder;
  /** Rows with a category the encoder had not seen, per categorical column (all-zero blocks). */
  unseenCategories?: Record<string, number>;
  /** The file the rows came from, for messages. */
  file?: string;
  /** Rows left out by the `skip` bad-rows policy (not in `records` or `X`), with their reasons. */
  skippedRows?: SkippedRow[];
}

/**
 * Largest file read whole (train, evaluate, feedback add), after gunzipping: 512 MiB, about the
 * longest string JavaScript can hold. Detection streams files of any size instead.
 */
export const MAX_WHOLE_FILE_BYTES = 512 * 1024 * 1024;

/**
 * Read a file's text, gunzipping `.gz` files (or files that start with the gzip magic bytes).
 * A FIFO or a device (process substitution, `/dev/stdin`) is read until its end, within the same
 * limits. The text must be UTF-8.
 * @param opts.maxLineBytes - a longer line is refused as soon as it is read (a file without line
 *   breaks is not held whole) @defaultValue {@link DEFAULT_MAX_LINE_BYTES}
 * @throws DataValidationError for a missing, unreadable or oversized file, bad gzip, invalid UTF-8
 */
export function readTextFile(path: string, opts: { maxLineBytes?: number } = {}): string {
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const tooBig = (n: string) =>
    new DataValidationError(
      `is ${n}; a file read whole (train, evaluate, feedback add) may have at most ${MAX_WHOLE_FILE_BYTES / (1 << 20)} MiB of text: train on a sample of it (nal detect streams files of any size).`,
      { file: path },
    );
  let buf: Buffer;
  try {
    const st = fs.statSync(path);
    if (st.isDirectory()) throw new DataValidationError('is a folder, not a file.', { file: path });
    if (st.isFile()) {
      if (st.size > MAX_WHOLE_FILE_BYTES) throw tooBig(`${(st.size / (1 << 20)).toFixed(0)} MiB`);
      buf = fs.readFileSync(path);
    } else {
      buf = readStream(path, maxLine, () => tooBig(`more than ${MAX_WHOLE_FILE_BYTES / (1 << 20)} MiB`));
    }
  } catch (e) {
    if (e instanceof DataValidationError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataValidationError(code === 'ENOENT' ? 'file not found.' : `cannot read file (${code ?? String(e)}).`, {
      file: path,
    });
  }
  recordDataFile(path, 'readTextFile');
  if (path.endsWith('.gz') || (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b)) {
    try {
      buf = zlib.gunzipSync(buf, { maxOutputLength: MAX_WHOLE_FILE_BYTES });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooBig(`more than ${MAX_WHOLE_FILE_BYTES / (1 << 20)} MiB uncompressed`);
      throw new DataValidationError(`not a valid gzip file (${(e as Error).message}).`, { file: path });
    }
  }
  return decodeUtf8(buf, path);
}

/**
 * Read a FIFO or device to its end, refusing more than {@link MAX_WHOLE_FILE_BYTES} and a line
 * longer than `maxLine` (so `/dev/zero` fails after `maxLine` bytes).
 */
function readStream(path: string, maxLine: number, tooBig: () => Error): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const parts: Buffer[] = [];
    let total = 0;
    let sinceNewline = 0;
    let line = 1;
    for (;;) {
      const b = Buffer.allocUnsafe(1 << 16);
      const n = fs.readSync(fd, b, 0, b.length, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_WHOLE_FILE_BYTES) throw tooBig();
      const nl = b.subarray(0, n).lastIndexOf(10);
      if (nl < 0) sinceNewline += n;
      else {
        for (let k = b.indexOf(10); k >= 0 && k < n; k = b.indexOf(10, k + 1)) line++;
        sinceNewline = n - nl - 1;
      }
      if (sinceNewline > maxLine) throw lineTooLongError(path, line, maxLine);
      parts.push(b.subarray(0, n));
    }
    return Buffer.concat(parts, total);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Split CSV text into header and records.
 * @param text - CSV text; a leading byte-order mark and CRLF line endings are accepted
 * @param opts.file - file name used in error messages
 * @param opts.hasHeader - whether the first line is a header @defaultValue true
 * @throws DataValidationError for an empty file, an unterminated quote, a duplicate column name or
 *   a row whose field count differs from the header (a short last line without a final newline is
 *   treated as truncated: skipped with a warning)
 */
export function parseCsv(text: string, opts: { file?: string; hasHeader?: boolean; maxLineBytes?: number; duplicateColumns?: 'error' | 'rename' } = {}): CsvTable {
  const file = opts.file;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const endsWithNewline = /\r?\n$/.test(text);
  const rows = text.includes('"') ? splitQuoted(text, file) : splitPlain(text);
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  for (const r of rows) {
    if (r.chars > maxLine) throw lineTooLongError(file, r.line, maxLine);
  }
  // drop blank lines (a trailing newline, empty lines between records)
  const nonEmpty: { cells: string[]; line: number }[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r.cells.length === 1 && r.cells[0].trim() === '') continue;
    nonEmpty.push(r);
  }
  if (nonEmpty.length === 0) throw new DataValidationError('the file is empty.', { file });
  const hasHeader = opts.hasHeader ?? true;
  let header: string[];
  let start: number;
  if (hasHeader) {
    header = checkHeader(nonEmpty[0].cells, file, opts.duplicateColumns);
    start = 1;
  } else {
    header = nonEmpty[0].cells.map((_, j) => `c${j}`);
    start = 0;
  }
  const width = header.length;
  const records: string[][] = [];
  const warnings: string[] = [];
  for (let i = start; i < nonEmpty.length; i++) {
    const { cells, line } = nonEmpty[i];
    if (cells.length !== width) {
      const isLast = i === nonEmpty.length - 1;
      if (isLast && !endsWithNewline && cells.length < width) {
        warnings.push(
          `${file ? file + ': ' : ''}line ${line}: truncated last line (${cells.length} of ${width} fields) skipped.`,
        );
        continue;
      }
      throw new DataValidationError(`has ${cells.length} fields, the ${hasHeader ? 'header' : 'first row'} has ${width}.`, {
        file,
        row: records.length + 1,
      });
    }
    records.push(cells);
  }
  return { header, records, warnings };
}

function splitPlain(text: string): { cells: string[]; line: number; chars: number }[] {
  const lines = text.split('\n');
  const out: { cells: string[]; line: number; chars: number }[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    if (l.charCodeAt(l.length - 1) === 13) l = l.slice(0, -1);
    out[i] = { cells: l.split(','), line: i + 1, chars: l.length };
  }
  return out;
}

function splitQuoted(text: string, file?: string): { cells: string[]; line: number; chars: number }[] {
  const out: { cells: string[]; line: number; chars: number }[] = [];
  let recordStart = 0;
  let cells: string[] = [];
  let field = '';
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let quotedStartLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"') {
      inQuotes = true;
      quotedStartLine = line;
    } else if (c === ',') {
      cells.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      const chars = i - recordStart;
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(field);
      out.push({ cells, line: recordLine, chars });
      recordStart = i + 1;
      cells = [];
      field = '';
      line++;
      recordLine = line;
    } else field += c;
  }
  if (inQuotes) throw new DataValidationError(`unterminated quoted field starting on line ${quotedStartLine}.`, { file });
  cells.push(field);
  out.push({ cells, line: recordLine, chars: text.length - recordStart });
  return out;
}

export { parseNumber, checkHeader } from './cells';

/** Options of {@link parseTraffic} and {@link loadTraffic}. */
export interface LoadOptions {
  /** Column layout. @defaultValue {@link SEED_SCHEMA} */
  schema?: DatasetSchema;
  /**
   * Encode the features with this fitted encoder (a model's, so that new traffic is encoded as
   * its training rows were). Without one, a schema with categorical columns fits an encoder on
   * the rows read.
   */
  encoder?: TrafficEncoder;
  /** File name for messages. */
  file?: string;
  /**
   * Rows with a cell that cannot be encoded (empty, `NaN`, `Infinity`, text in a numeric column,
   * a value outside a log-scaled column's domain): `error` refuses the file, saying how many rows
   * and naming the first by row and column; `skip` leaves them out and lists them in
   * `skippedRows`. @defaultValue "error"
   */
  badRows?: BadRowPolicy;
  /** Longest line accepted, in bytes. @defaultValue {@link DEFAULT_MAX_LINE_BYTES} (1 MiB) */
  maxLineBytes?: number;
}

/**
 * Read a schema's CSV text into a table: with a header line, or, for `header: false`, with the
 * schema's column names (a first line equal to those names is skipped).
 * @throws DataValidationError when the rows have another number of fields than the schema names
 */
export function parseCsvWithSchema(text: string, schema: DatasetSchema, file?: string, maxLineBytes?: number): CsvTable {
  if (schema.header !== false) return parseCsv(text, { file, maxLineBytes, duplicateColumns: schema.duplicateColumns });
  const cols = schema.columns;
  if (!cols) throw new DataValidationError(`the ${schema.name} description has no header and no 'columns'.`, { file });
  const t = parseCsv(text, { file, hasHeader: false, maxLineBytes });
  if (t.header.length !== cols.length) {
    throw new DataValidationError(
      `rows have ${t.header.length} fields; the ${schema.name} description names ${cols.length} columns (${listNames(cols)}).`,
      { file },
    );
  }
  let records = t.records;
  const first = records[0];
  if (first && first.every((c, j) => c.trim().toLowerCase() === cols[j].toLowerCase())) records = records.slice(1);
  return { header: [...cols], records, warnings: t.warnings };
}

/** The feature columns a schema selects from a header, in model order. */
export function schemaFeatureColumns(schema: DatasetSchema, header: readonly string[]): string[] {
  if (schema.features !== 'rest') return [...schema.features];
  const skip = new Set([schema.label ?? 'label', schema.timestamp ?? 'timestamp', ...(schema.ignore ?? [])]);
  return header.filter((h) => !skip.has(h));
}

/**
 * Map a CSV table onto a schema: the feature columns become the numeric matrix (categorical
 * columns one-hot encoded, see {@link TrafficEncoder}), the label (0/1 or the schema's normal
 * values) and timestamp are taken when present, extra columns are ignored (said once in
 * `warnings`), as are categories not seen by the encoder (counted in `warnings` and
 * `unseenCategories`).
 * @throws DataValidationError naming the file, row and column of the first row that cannot be
 *   encoded and how many there are (unless `badRows: "skip"`), or the missing required columns
 */
export function parseTraffic(table: CsvTable, opts: LoadOptions = {}): TrafficData {
  const schema = opts.schema ?? SEED_SCHEMA;
  const file = opts.file;
  const { header } = table;
  let records = table.records;
  const warnings = [...table.warnings];
  const index = new Map(header.map((h, j) => [h, j] as const));
  const labelName = schema.label ?? 'label';
  const tsName = schema.timestamp ?? 'timestamp';
  const featureCols = opts.encoder ? [...opts.encoder.columns] : schemaFeatureColumns(schema, header);
  if (featureCols.length === 0) throw new DataValidationError(`the file has no feature columns (the ${schema.name} description takes every column but the label and timestamp).`, { file });
  const missing = featureCols.filter((f) => !index.has(f));
  if (missing.length) {
    throw new DataValidationError(
      `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} (the ${schema.name} data needs ${listNames(featureCols)})${separatorHint(header, missing)}.`,
      { file },
    );
  }
  if (records.length === 0) throw new DataValidationError('the file has a header but no data rows.', { file });
  const labelCol = index.get(labelName);
  if (labelCol === undefined && schema.requireLabel) {
    throw new DataValidationError(`missing label column '${labelName}'.`, { file });
  }
  const tsCol = index.get(tsName);
  const known = new Set<string>([...featureCols, labelName, tsName, ...(schema.ignore ?? [])]);
  const extra = header.filter((h) => !known.has(h));
  if (extra.length) warnings.push(`${file ? file + ': ' : ''}ignored extra column${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}.`);

  // empty cells the description fills (Zeek's unset byte counts, say)
  records = fillEmpty(records, header, schema.fill);
  // encode the feature cells; a cell that cannot be encoded is handled by the bad-rows policy
  const policy = opts.badRows ?? 'error';
  const encodeAll = (recs: readonly string[][], onBadCell?: BadCellHandler): EncodedTraffic =>
    encodeFeatures(recs, header, index, featureCols, schema, opts.encoder, file, onBadCell);
  const problems = new Map<number, DataValidationError>();
  const note: BadCellHandler = (i, _c, e) => {
    if (!problems.has(i)) problems.set(i, e);
  };
  let enc: EncodedTraffic;
  let skippedRows: SkippedRow[] | undefined;
  if (policy === 'skip') {
    enc = encodeAll(records, note);
    if (problems.size) {
      skippedRows = [...problems.keys()].sort((a, b) => a - b).map((i) => {
        const e = problems.get(i)!;
        return { row: i + 1, column: e.column ?? '', reason: e.reason, cells: [...records[i]] };
      });
      records = records.filter((_, i) => !problems.has(i));
      if (records.length > 0) {
        // again without the skipped rows, so that categories are learned from the kept rows only
        enc = encodeAll(records);
      } else if (opts.encoder || !(schema.categorical?.length || schema.log1p)) {
        // nothing left to encode (a chunk of a stream, say): no rows, the columns known
        const features = opts.encoder ? [...opts.encoder.featureNames] : [...featureCols];
        enc = { X: { rows: 0, cols: features.length, data: new Float64Array(0) }, features, encoder: opts.encoder };
      } else throw noRowsLeft(skippedRows, file);
    }
  } else {
    try {
      enc = encodeAll(records);
    } catch (e) {
      if (!(e instanceof DataValidationError) || e.row === undefined) throw e;
      // count every row that cannot be encoded, and name the first
      encodeAll(records, note);
      let first = Infinity;
      for (const i of problems.keys()) if (i < first) first = i;
      throw badRowsError(problems.get(first) ?? e, Math.max(1, problems.size), records.length, file);
    }
  }
  const n = records.length;
  const { X, features, encoder, unseenCategories } = enc;
  if (enc.unseenMessage) warnings.push(enc.unseenMessage);
  let labels: Uint8Array | undefined;
  if (labelCol !== undefined) {
    labels = new Uint8Array(n);
    const normal = schema.normalLabels ? new Set(schema.normalLabels) : undefined;
    for (let i = 0; i < n; i++) {
      const raw = records[i][labelCol].trim();
      if (normal) {
        if (raw === '') throw new DataValidationError('empty label.', { file, row: i + 1, column: labelName });
        labels[i] = normal.has(raw) ? 0 : 1;
      } else if (raw === '0' || raw === '0.0') labels[i] = 0;
      else if (raw === '1' || raw === '1.0') labels[i] = 1;
      else {
        throw new DataValidationError(`label '${truncateCell(raw)}' is not 0 (normal) or 1 (anomaly).`, {
          file,
          row: i + 1,
          column: labelName,
        });
      }
    }
  }
  const timestamps = tsCol !== undefined ? records.map((r) => r[tsCol]) : undefined;
  const data: TrafficData = { features, X, labels, timestamps, header, records, warnings, schema, encoder, unseenCategories, file };
  if (skippedRows) data.skippedRows = skippedRows;
  return data;
}

/** A file's text as a table, as its description says it is written (CSV, or a Zeek log). */
export function parseTable(text: string, schema: DatasetSchema, file?: string, maxLineBytes?: number): CsvTable {
  return schema.format === 'zeek' ? parseZeekLog(text, file) : parseCsvWithSchema(text, schema, file, maxLineBytes);
}

/** Records with the description's `fill` values in their empty numeric cells (rows copied only when changed). */
export function fillEmpty(records: readonly string[][], header: readonly string[], fill: Readonly<Record<string, number>> | undefined): string[][] {
  if (!fill) return records as string[][];
  const cols = Object.entries(fill)
    .map(([c, v]) => [header.indexOf(c), String(v)] as const)
    .filter(([j]) => j >= 0);
  if (cols.length === 0) return records as string[][];
  return records.map((r) => {
    let out = r;
    for (const [j, v] of cols) {
      if (r[j].trim() === '') {
        if (out === r) out = [...r];
        out[j] = v;
      }
    }
    return out;
  });
}

function noRowsLeft(skipped: readonly SkippedRow[], file?: string): DataValidationError {
  const f = skipped[0];
  return new DataValidationError(`none of the ${skipped.length} rows can be encoded; the first: row ${f.row}, column '${f.column}': ${f.reason}`, { file });
}

interface EncodedTraffic {
  X: DenseMatrix;
  features: string[];
  encoder?: TrafficEncoder;
  unseenCategories?: Record<string, number>;
  unseenMessage?: string;
}

/** The feature matrix of records: through an encoder (categorical or log-scaled columns), or the plain numbers. */
function encodeFeatures(
  records: readonly string[][],
  header: readonly string[],
  index: ReadonlyMap<string, number>,
  featureCols: readonly string[],
  schema: DatasetSchema,
  given: TrafficEncoder | undefined,
  file: string | undefined,
  onBadCell?: BadCellHandler,
): EncodedTraffic {
  const n = records.length;
  if (given || schema.categorical?.length || schema.log1p) {
    const encoder = given ?? TrafficEncoder.fit(records, header, featureCols, schema.categorical ?? [], { file, log1p: schema.log1p, onBadCell });
    const enc = encoder.encode(records, header, { file, onBadCell });
    return { X: enc.X, features: [...encoder.featureNames], encoder, unseenCategories: enc.unseen.rows, unseenMessage: describeUnseen(enc.unseen, file) };
  }
  // the plain numeric path (the seed data): no encoder, numbers as written
  const cols = featureCols.map((f) => index.get(f)!);
  const d = featureCols.length;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const rec = records[i];
    for (let j = 0; j < d; j++) {
      try {
        data[i * d + j] = parseNumber(rec[cols[j]], i + 1, featureCols[j], file);
      } catch (e) {
        if (!onBadCell || !(e instanceof DataValidationError)) throw e;
        onBadCell(i, featureCols[j], e);
        break;
      }
    }
  }
  return { X: { rows: n, cols: d, data }, features: [...featureCols] };
}

/**
 * Load traffic from a CSV (or `.gz`) file laid out as `opts.schema` says (default: the seed
 * traffic).
 * @example
 * ```ts
 * const data = loadTraffic('data/sample_network_traffic.csv');
 * data.X.rows; // 1000
 * const train = loadTraffic('KDDTrain+.txt.gz', { schema: NSL_KDD_SCHEMA }); // 122 features
 * const test = loadTraffic('KDDTest+.txt', { schema: NSL_KDD_SCHEMA, encoder: train.encoder });
 * ```
 */
export function loadTraffic(path: string, opts: LoadOptions = {}): TrafficData {
  const text = readTextFile(path, { maxLineBytes: opts.maxLineBytes });
  const schema = opts.schema ?? SEED_SCHEMA;
  const data = parseTraffic(parseTable(text, schema, path, opts.maxLineBytes), { ...opts, schema, file: path });
  if (data.X.rows === 0 && data.skippedRows?.length) throw noRowsLeft(data.skippedRows, path);
  return data;
}

/**
 * Encode traffic again from its raw cells: with `encoder` (a model's), or with an encoder fitted
 * on these rows when omitted (after sampling or splitting, so that the categories are learned from
 * the training rows only). Data read without an encoder (no categorical or log-scaled columns) is
 * returned unchanged.
 * @throws RangeError when the data carries no schema (it was not read by {@link parseTraffic})
 */
export function encodeTraffic(data: TrafficData, encoder?: TrafficEncoder): TrafficData {
  if (!encoder && !data.encoder) return data;
  if (!data.schema) throw new RangeError('encodeTraffic: the data has no schema; load it with loadTraffic or parseTraffic.');
  const out = parseTraffic({ header: data.header, records: data.records, warnings: [] }, { schema: data.schema, encoder, file: data.file });
  if (data.skippedRows) out.skippedRows = data.skippedRows;
  return out;
}

const SEPARATORS: [string, string][] = [
  [';', 'semicolon'],
  ['\t', 'tab'],
  ['|', 'pipe'],
];

/**
 * A hint for a header that names the missing columns when split at another separator: the file
 * is probably semicolon- (or tab-, pipe-) separated.
 */
export function separatorHint(header: readonly string[], missing: readonly string[]): string {
  const text = header.join(',');
  for (const [sep, name] of SEPARATORS) {
    if (!text.includes(sep)) continue;
    const names = new Set(text.split(/[,]/).flatMap((h) => h.split(sep)).map((h) => h.trim().replace(/^"|"$/g, '')));
    const found = missing.filter((m) => names.has(m)).length;
    if (found > 0 && found >= missing.length / 2) {
      return `; the file looks ${name}-separated (its header is '${truncateCell(text)}'): nal reads comma-separated CSV, so convert it first`;
    }
  }
  return '';
}

function listNames(names: readonly string[]): string {
  return names.length > 12 ? `${names.slice(0, 10).join(', ')}, ... (${names.length} columns)` : names.join(', ');
}

/** Quote a CSV field when it needs it. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (no newline) from fields. */
export function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(',');
}
