/**
 * CSV reading into the library's numeric matrix. A small RFC 4180 reader (quoted fields, embedded
 * commas and quotes, CRLF, a UTF-8 byte-order mark) with a fast path for unquoted files, plus
 * {@link parseTraffic}, which maps a CSV onto a {@link DatasetSchema} and reports bad cells by row
 * and column. Gzipped files (`.gz`) are read directly.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DataValidationError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { SEED_SCHEMA, type DatasetSchema } from './schema';

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
}

/** Read a file's text, gunzipping `.gz` files. */
export function readTextFile(path: string): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataValidationError(code === 'ENOENT' ? 'file not found.' : `cannot read file (${code ?? String(e)}).`, {
      file: path,
    });
  }
  if (path.endsWith('.gz') || (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b)) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new DataValidationError(`not a valid gzip file (${(e as Error).message}).`, { file: path });
    }
  }
  return buf.toString('utf8');
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
export function parseCsv(text: string, opts: { file?: string; hasHeader?: boolean } = {}): CsvTable {
  const file = opts.file;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const endsWithNewline = /\r?\n$/.test(text);
  const rows = text.includes('"') ? splitQuoted(text, file) : splitPlain(text);
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
    header = nonEmpty[0].cells.map((h) => h.trim());
    start = 1;
    const seen = new Map<string, number>();
    header.forEach((h, j) => {
      if (h === '') throw new DataValidationError(`column ${j + 1} of the header has no name.`, { file, row: 0 });
      if (seen.has(h)) {
        throw new DataValidationError(`duplicate column name '${h}' (columns ${seen.get(h)! + 1} and ${j + 1}).`, { file, row: 0 });
      }
      seen.set(h, j);
    });
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
      throw new DataValidationError(`has ${cells.length} fields, the header has ${width}.`, {
        file,
        row: records.length + 1,
      });
    }
    records.push(cells);
  }
  return { header, records, warnings };
}

function splitPlain(text: string): { cells: string[]; line: number }[] {
  const lines = text.split('\n');
  const out: { cells: string[]; line: number }[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i];
    if (l.charCodeAt(l.length - 1) === 13) l = l.slice(0, -1);
    out[i] = { cells: l.split(','), line: i + 1 };
  }
  return out;
}

function splitQuoted(text: string, file?: string): { cells: string[]; line: number }[] {
  const out: { cells: string[]; line: number }[] = [];
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
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(field);
      out.push({ cells, line: recordLine });
      cells = [];
      field = '';
      line++;
      recordLine = line;
    } else field += c;
  }
  if (inQuotes) throw new DataValidationError(`unterminated quoted field starting on line ${quotedStartLine}.`, { file });
  cells.push(field);
  out.push({ cells, line: recordLine });
  return out;
}

/**
 * Parse one numeric cell. Empty cells, text, NaN and infinities are refused with row and column.
 */
export function parseNumber(cell: string, row: number, column: string, file?: string): number {
  const v = +cell;
  if (v - v === 0) {
    if (cell.trim() === '') throw new DataValidationError('empty value; every feature needs a number.', { file, row, column });
    return v;
  }
  const t = cell.trim();
  if (t === '') throw new DataValidationError('empty value; every feature needs a number.', { file, row, column });
  if (Number.isNaN(v)) {
    if (/^[+-]?nan$/i.test(t)) throw new DataValidationError(`value ${t} is not a finite number.`, { file, row, column });
    throw new DataValidationError(`'${truncate(t)}' is not a number.`, { file, row, column });
  }
  throw new DataValidationError(`value ${t} is not a finite number.`, { file, row, column });
}

function truncate(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

/** Options of {@link parseTraffic} and {@link loadTraffic}. */
export interface LoadOptions {
  /** Column layout. @defaultValue {@link SEED_SCHEMA} */
  schema?: DatasetSchema;
  /** File name for messages. */
  file?: string;
}

/**
 * Map a CSV table onto a schema: the feature columns become the numeric matrix, `label` (0/1 or the
 * schema's normal values) and `timestamp` are taken when present, extra columns are ignored (said
 * once in `warnings`).
 * @throws DataValidationError naming the file, row and column of the first bad cell, or the missing
 *   required columns
 */
export function parseTraffic(table: CsvTable, opts: LoadOptions = {}): TrafficData {
  const schema = opts.schema ?? SEED_SCHEMA;
  const file = opts.file;
  const { header, records } = table;
  const warnings = [...table.warnings];
  const index = new Map(header.map((h, j) => [h, j] as const));
  const missing = schema.features.filter((f) => !index.has(f));
  if (missing.length) {
    throw new DataValidationError(
      `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} (the ${schema.name} data needs ${schema.features.join(', ')}).`,
      { file },
    );
  }
  if (records.length === 0) throw new DataValidationError('the file has a header but no data rows.', { file });
  const labelName = schema.label ?? 'label';
  const tsName = schema.timestamp ?? 'timestamp';
  const labelCol = index.get(labelName);
  if (labelCol === undefined && schema.requireLabel) {
    throw new DataValidationError(`missing label column '${labelName}'.`, { file });
  }
  const tsCol = index.get(tsName);
  const known = new Set<string>([...schema.features, labelName, tsName]);
  const extra = header.filter((h) => !known.has(h));
  if (extra.length) warnings.push(`${file ? file + ': ' : ''}ignored extra column${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}.`);

  const cols = schema.features.map((f) => index.get(f)!);
  const d = schema.features.length;
  const n = records.length;
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const rec = records[i];
    for (let j = 0; j < d; j++) data[i * d + j] = parseNumber(rec[cols[j]], i + 1, schema.features[j], file);
  }
  let labels: Uint8Array | undefined;
  if (labelCol !== undefined) {
    labels = new Uint8Array(n);
    const normal = schema.normalLabels ? new Set(schema.normalLabels) : undefined;
    for (let i = 0; i < n; i++) {
      const raw = records[i][labelCol].trim();
      if (normal) labels[i] = normal.has(raw) ? 0 : 1;
      else if (raw === '0' || raw === '0.0') labels[i] = 0;
      else if (raw === '1' || raw === '1.0') labels[i] = 1;
      else {
        throw new DataValidationError(`label '${truncate(raw)}' is not 0 (normal) or 1 (anomaly).`, {
          file,
          row: i + 1,
          column: labelName,
        });
      }
    }
  }
  const timestamps = tsCol !== undefined ? records.map((r) => r[tsCol]) : undefined;
  return { features: [...schema.features], X: { rows: n, cols: d, data }, labels, timestamps, header, records, warnings };
}

/**
 * Load traffic from a CSV (or `.csv.gz`) file.
 * @example
 * ```ts
 * const data = loadTraffic('data/sample_network_traffic.csv');
 * data.X.rows; // 1000
 * ```
 */
export function loadTraffic(path: string, opts: LoadOptions = {}): TrafficData {
  const text = readTextFile(path);
  return parseTraffic(parseCsv(text, { file: path }), { ...opts, file: path });
}

/** Quote a CSV field when it needs it. */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line (no newline) from fields. */
export function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(',');
}
