/**
 * Traffic read chunk by chunk: {@link readCsvChunks} records mapped onto a dataset schema by
 * {@link parseTraffic}, so each chunk is a {@link TrafficData} exactly like `loadTraffic` would
 * give for those rows, with row numbers in messages counted over the whole file.
 */
import { DataValidationError } from '../core/errors';
import { parseTraffic, type TrafficData } from '../data/csv';
import { addClamped, CLAMPED_MARK, describeClamped, describeUnseen, type ClampedValues, type TrafficEncoder, type UnseenCategories } from '../data/encoder';
import { log1pMode, SEED_SCHEMA, type DatasetSchema } from '../data/schema';
import { badRowsError, checkBadRowPolicy, type BadRowPolicy, type SkippedRow } from '../data/bad-rows';
import { readCsvChunks, type CsvChunkOptions, type CsvSource } from './csv-reader';
import { readZeekChunks } from './zeek-reader';

/** One chunk of traffic: the rows' data plus where they are in the stream. */
export interface TrafficChunk extends TrafficData {
  /** 0-based index of the chunk's first row in the whole stream. */
  start: number;
}

/** Options of {@link readTrafficChunks}. */
export interface TrafficChunkOptions extends Pick<CsvChunkOptions, 'chunkSize' | 'file' | 'onBytes' | 'maxLineBytes' | 'signal' | 'allowEmpty'> {
  /** Column layout. @defaultValue {@link SEED_SCHEMA} */
  schema?: DatasetSchema;
  /**
   * Encoder of the categorical columns (a model's: `ens.encoder`). Required when the schema has
   * categorical columns: categories cannot be learned from a stream one chunk at a time.
   */
  encoder?: TrafficEncoder;
  /**
   * Called once per distinct message about tolerated problems (extra columns ignored, a
   * truncated last line) as they are found, and once at the end with the categories not seen in
   * training and the clamped log-scaled values, counted over the whole stream.
   */
  onWarning?: (message: string) => void;
  /**
   * Rows with a cell that cannot be encoded: `error` reads on to count them, then throws naming
   * the first by row and column (the chunks before it have been yielded); `skip` leaves them out
   * of the chunks and hands them to `onSkippedRows`. @defaultValue "error"
   */
  badRows?: BadRowPolicy;
  /** Receives the rows each chunk leaves out with `badRows: "skip"` (rows numbered over the whole file), with the file's header. */
  onSkippedRows?: (rows: SkippedRow[], header: readonly string[]) => void;
}

const UNSEEN_MARK = 'categories not seen in training';

/**
 * Read traffic from a CSV source chunk by chunk in bounded memory.
 *
 * @example
 * ```ts
 * for await (const chunk of readTrafficChunks('huge.csv.gz', { chunkSize: 10000 })) {
 *   chunk.X.rows; // <= 10000
 *   chunk.start;  // index of its first row in the file
 * }
 * ```
 * @throws DataValidationError naming the file, data row (counted over the whole file) and column
 *   of the first row that cannot be encoded and how many there are (unless `badRows: "skip"`),
 *   like {@link loadTraffic}
 */
export async function* readTrafficChunks(source: CsvSource, opts: TrafficChunkOptions = {}): AsyncGenerator<TrafficChunk> {
  const schema = opts.schema ?? SEED_SCHEMA;
  const encoder = opts.encoder;
  if (!encoder && schema.categorical?.length) {
    throw new RangeError(
      `readTrafficChunks: the ${schema.name} layout has categorical columns (${schema.categorical.join(', ')}); pass the model's encoder (ens.encoder): categories cannot be learned one chunk at a time.`,
    );
  }
  if (!encoder && log1pMode(schema) !== 'none') {
    throw new RangeError(
      `readTrafficChunks: the ${schema.name} layout log-scales columns (log1p ${JSON.stringify(log1pMode(schema))}); pass the model's encoder (ens.encoder): which columns and their training ranges cannot be learned one chunk at a time (or set log1p to "none").`,
    );
  }
  if (schema.header === false && !schema.columns) {
    throw new DataValidationError(`the ${schema.name} description has no header and no 'columns'.`, { file: opts.file ?? (typeof source === 'string' ? source : undefined) });
  }
  const said = new Set<string>();
  const warn = (m: string) => {
    if (said.has(m)) return;
    said.add(m);
    opts.onWarning?.(m);
  };
  const unseen: UnseenCategories = { rows: {}, values: {} };
  const clamped: ClampedValues = { rows: {}, lowest: {} };
  const file: string | undefined = opts.file ?? (typeof source === 'string' ? (source === '-' ? 'stdin' : source) : undefined);
  let start = 0;
  const policy = checkBadRowPolicy(opts.badRows);
  // check the columns as soon as the header is read, so a file with a wrong header is reported
  // as such (as the whole-file reader does) even when it has no data rows
  const onHeader = (header: readonly string[]) => {
    try {
      parseTraffic({ header: [...header], records: [], warnings: [] }, { schema, encoder, file });
    } catch (e) {
      if (!(e instanceof DataValidationError && /no data rows/.test(e.message))) throw e;
    }
  };
  const chunks =
    schema.format === 'zeek'
      ? readZeekChunks(source, { chunkSize: opts.chunkSize, file, onBytes: opts.onBytes, signal: opts.signal, onWarning: warn, onHeader })
      : readCsvChunks(source, {
          chunkSize: opts.chunkSize,
          file,
          onBytes: opts.onBytes,
          maxLineBytes: opts.maxLineBytes,
          signal: opts.signal,
          onWarning: warn,
          hasHeader: schema.header !== false,
          columns: schema.header === false ? schema.columns : undefined,
          datasetName: schema.name,
          duplicateColumns: schema.duplicateColumns,
          allowEmpty: opts.allowEmpty,
          onHeader,
        });
  // the `error` policy reads on after the first bad row, to say how many there are
  let firstBad: SkippedRow | undefined;
  let badCount = 0;
  let rowsRead = 0;
  for await (const c of chunks) {
    let data: TrafficData;
    try {
      data = parseTraffic({ header: c.header, records: c.records, warnings: [] }, { schema, encoder, file, badRows: 'skip' });
    } catch (e) {
      throw shiftRow(e, c.firstRow - 1);
    }
    rowsRead += c.records.length;
    if (data.skippedRows) {
      const skipped = data.skippedRows.map((r) => ({ ...r, row: r.row + c.firstRow - 1 }));
      if (policy === 'skip') opts.onSkippedRows?.(skipped, c.header);
      else {
        firstBad ??= skipped[0];
        badCount += skipped.length;
      }
    }
    if (firstBad || data.X.rows === 0) continue;
    for (const w of data.warnings) if (!w.includes(UNSEEN_MARK) && !w.includes(CLAMPED_MARK)) warn(w);
    if (data.unseenCategories && Object.keys(data.unseenCategories).length) countUnseen(data.records, c.header, encoder!, unseen);
    if (data.clampedValues) addClamped(clamped, data.clampedValues);
    const chunk = data as TrafficChunk;
    chunk.start = start;
    chunk.warnings = [];
    delete chunk.skippedRows; // handed to onSkippedRows, with row numbers over the whole file
    start += data.X.rows;
    yield chunk;
  }
  if (firstBad) {
    throw badRowsError(new DataValidationError(firstBad.reason, { file, row: firstBad.row, column: firstBad.column || undefined }), badCount, rowsRead, file);
  }
  const msg = describeUnseen(unseen, file);
  if (msg) warn(msg);
  const low = describeClamped(clamped, file);
  if (low) warn(low);
}

/** Add the unseen categories of `records` to `acc` (only called for chunks that have some). */
function countUnseen(records: readonly string[][], header: readonly string[], encoder: TrafficEncoder, acc: UnseenCategories): void {
  for (const c of encoder.categorical) {
    const j = header.indexOf(c);
    if (j < 0) continue;
    const known = new Set(encoder.categories[c]);
    for (const r of records) {
      const raw = r[j];
      if (known.has(raw)) continue;
      const v = raw.trim();
      if (known.has(v) || v === '') continue;
      acc.rows[c] = (acc.rows[c] ?? 0) + 1;
      const vals = (acc.values[c] ??= {});
      vals[v] = (vals[v] ?? 0) + 1;
    }
  }
}

/** A DataValidationError from a chunk, re-numbered to count rows over the whole stream. */
export function shiftRow(e: unknown, offset: number): unknown {
  if (!(e instanceof DataValidationError) || e.row === undefined || offset === 0) return e;
  const parts: string[] = [];
  if (e.file !== undefined) parts.push(e.file);
  parts.push(`row ${e.row}`);
  if (e.column !== undefined) parts.push(`column '${e.column}'`);
  const prefix = `${parts.join(', ')}: `;
  const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  const shifted = new DataValidationError(message, { file: e.file, row: e.row + offset, column: e.column });
  shifted.stack = e.stack;
  return shifted;
}
