/**
 * Streaming detection: score rows as they arrive (a CSV file of any size, stdin, a generator of
 * live traffic), chunk by chunk, results in input order, in bounded memory. The ensemble's
 * thresholds come from training, so a row gets the same result in any chunk as in one big batch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataValidationError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { registerTempFile, removeStaleTempFiles } from '../core/cleanup';
import { checkOutputPath, isSpecialFile, tempPathFor } from '../core/persistence';
import type { TrafficData } from '../data/csv';
import { checkBadRowPolicy, SkippedRowsFile, type BadRowPolicy, type SkippedRow } from '../data/bad-rows';
import type { TrafficEncoder } from '../data/encoder';
import type { DatasetSchema } from '../data/schema';
import type { AnomalyEnsemble, DetectionResult } from '../ensemble/ensemble';
import { detectionToCsv } from '../ensemble/output';
import { DEFAULT_CHUNK_SIZE, type CsvSource, type DEFAULT_MAX_LINE_BYTES } from './csv-reader';
import { readTrafficChunks, shiftRow } from './traffic-stream';

/**
 * A row of a live stream: the feature values in the model's feature order (`ens.featureNames`),
 * or an object keyed by feature name (for a model with categorical columns, by input column:
 * `{ protocol_type: 'tcp', ... }`, encoded with the model's encoder).
 */
export type StreamRow = ArrayLike<number> | Readonly<Record<string, number | string>>;

/** One chunk of streaming detection results. */
export interface DetectionChunk {
  /** 0-based index of the chunk's first row in the whole stream. */
  start: number;
  /** Rows in this chunk. */
  rows: number;
  /** The chunk's results, row i of the chunk at index i. */
  result: DetectionResult;
  /** The chunk's rows as read (CSV sources: every cell, labels, timestamps). */
  data?: TrafficData;
  /** The chunk's feature rows, unscaled (row sources). */
  X?: DenseMatrix;
}

/** Options of {@link detectStream}. */
export interface DetectStreamOptions {
  /** Rows scored together (the last chunk may be shorter). @defaultValue 8192 */
  chunkSize?: number;
  /**
   * A row with a missing or non-finite value: `error` stops the stream there (naming the row and
   * column); `skip` leaves it out (results then come for the other rows, `start` counting scored
   * rows) and hands it to `onSkippedRows`. @defaultValue "error"
   */
  badRows?: BadRowPolicy;
  /** Rows left out with `badRows: "skip"`: `row` is the 1-based position in the stream, `cells` the row's values. */
  onSkippedRows?: (rows: SkippedRow[]) => void;
  /**
   * For slow (live) sources: emit the rows received so far once the oldest of them has waited
   * this many milliseconds, even when the chunk is not full. @defaultValue no time limit
   */
  flushMs?: number;
}

/** Options of {@link detectCsvStream}. */
export interface DetectCsvStreamOptions {
  /** Rows scored together. @defaultValue 8192 */
  chunkSize?: number;
  /**
   * Column layout of the CSV. @defaultValue the model's (`ens.schema`), else the model's feature
   * names with optional `label` and `timestamp` columns
   */
  schema?: DatasetSchema;
  /** File name for messages (defaults to the path). */
  file?: string;
  /** Tolerated problems (extra columns, truncated last line, unseen categories), each said once. */
  onWarning?: (message: string) => void;
  /** Raw bytes read from the file (for progress). */
  onBytes?: (bytes: number) => void;
  /**
   * A source without data rows gives no chunks instead of failing (a shard of a larger file may
   * be empty). @defaultValue false
   */
  allowEmpty?: boolean;
  /**
   * Rows with a cell that cannot be encoded (`Infinity`, `NaN`, empty): `error` refuses the file,
   * saying how many and naming the first; `skip` scores the others and hands these to
   * `onSkippedRows`. @defaultValue "error"
   */
  badRows?: BadRowPolicy;
  /** Rows left out with `badRows: "skip"` (numbered over the whole file), with the file's header. */
  onSkippedRows?: (rows: SkippedRow[], header: readonly string[]) => void;
  /** Longest line accepted, in bytes. @defaultValue {@link DEFAULT_MAX_LINE_BYTES} (1 MiB) */
  maxLineBytes?: number;
  /** Stops reading when aborted, also while a read waits for input; the reading rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * The layout {@link detectCsvStream} reads with when none is given: the model's, or for a model
 * fitted on a plain matrix its feature columns, read as they are (`log1p: "none"`).
 */
export function modelSchema(ens: AnomalyEnsemble): DatasetSchema {
  return ens.schema ?? { name: 'model', features: ens.featureNames, label: 'label', timestamp: 'timestamp', log1p: 'none' };
}

/**
 * Detect anomalies in a CSV source chunk by chunk: a file path (`.gz` included), `"-"` for stdin,
 * or a readable stream. Chunks come in input order; memory stays bounded by one chunk.
 *
 * @example
 * ```ts
 * const ens = await AnomalyEnsemble.load('models/demo');
 * for await (const { start, result, data } of detectCsvStream(ens, 'traffic.csv.gz')) {
 *   result.isAnomaly.forEach((a, i) => a && console.log(start + i, data!.timestamps?.[i]));
 * }
 * ```
 * @throws DataValidationError for a missing file or a bad cell (row counted over the whole file)
 */
export async function* detectCsvStream(
  ens: AnomalyEnsemble,
  source: CsvSource,
  opts: DetectCsvStreamOptions = {},
): AsyncGenerator<DetectionChunk & { data: TrafficData }> {
  const chunks = readTrafficChunks(source, {
    schema: opts.schema ?? modelSchema(ens),
    encoder: ens.encoder,
    chunkSize: opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
    file: opts.file,
    onWarning: opts.onWarning,
    onBytes: opts.onBytes,
    allowEmpty: opts.allowEmpty,
    badRows: opts.badRows,
    onSkippedRows: opts.onSkippedRows,
    maxLineBytes: opts.maxLineBytes,
    signal: opts.signal,
  });
  for await (const data of chunks) {
    let result: DetectionResult;
    try {
      result = ens.detect(data);
    } catch (e) {
      throw shiftRow(e, data.start);
    }
    yield { start: data.start, rows: data.X.rows, result, data };
  }
}

const TIMEOUT = Symbol('timeout');

/**
 * Detect anomalies over an (async) iterable of rows, `chunkSize` rows at a time, yielding each
 * chunk's results in input order. Holds at most one chunk of rows.
 *
 * @param ens - a fitted or loaded ensemble
 * @param rows - rows in the model's feature order (arrays or typed arrays), or objects keyed by
 *   feature name; a generator, an async generator, a readable object stream, an array
 * @example
 * ```ts
 * async function* live() { for (;;) yield await nextFlow(); }  // [packet_size, duration, ...]
 * for await (const c of detectStream(ens, live(), { chunkSize: 256, flushMs: 1000 })) {
 *   console.log(`rows ${c.start}..${c.start + c.rows - 1}: ${c.result.isAnomaly.reduce((a, b) => a + b, 0)} anomalies`);
 * }
 * ```
 * @throws FeatureMismatchError for a row of the wrong width, DataValidationError for a
 *   non-finite value (row counted over the whole stream)
 */
export async function* detectStream(
  ens: AnomalyEnsemble,
  rows: AsyncIterable<StreamRow> | Iterable<StreamRow>,
  opts: DetectStreamOptions = {},
): AsyncGenerator<DetectionChunk & { X: DenseMatrix }> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`detectStream: chunkSize must be an integer >= 1, got ${chunkSize}.`);
  const flushMs = opts.flushMs;
  if (flushMs !== undefined && !(flushMs >= 0)) throw new RangeError(`detectStream: flushMs must be a number >= 0, got ${flushMs}.`);
  const skipBad = checkBadRowPolicy(opts.badRows, 'badRows') === 'skip';
  let position = 0; // rows received, skipped ones included
  const names = ens.featureNames;
  const d = names.length;
  const encoder = ens.encoder;
  const it = iteratorOf(rows);

  let buf = new Float64Array(chunkSize * d);
  let raw: string[][] | undefined; // object rows of a model with an encoder
  let n = 0;
  let start = 0;
  let oldest = 0;
  let pendingNext: Promise<IteratorResult<StreamRow>> | undefined;

  const flush = (): DetectionChunk & { X: DenseMatrix } => {
    let X: DenseMatrix;
    if (raw) {
      try {
        X = encoder!.encode(raw, encoder!.columns).X;
      } catch (e) {
        throw shiftRow(e, start);
      }
      raw = undefined;
    } else {
      X = { rows: n, cols: d, data: n === chunkSize ? buf : buf.slice(0, n * d) };
      buf = new Float64Array(chunkSize * d);
    }
    let result: DetectionResult;
    try {
      result = ens.detect(X, names);
    } catch (e) {
      throw shiftRow(e, start);
    }
    const chunk = { start, rows: n, result, X };
    start += n;
    n = 0;
    return chunk;
  };

  try {
    for (;;) {
      const next = pendingNext ?? it.next();
      pendingNext = undefined;
      let r: IteratorResult<StreamRow> | typeof TIMEOUT;
      if (flushMs !== undefined && n > 0) {
        const wait = Math.max(0, oldest + flushMs - Date.now());
        let timer: NodeJS.Timeout | undefined;
        r = await Promise.race([next, new Promise<typeof TIMEOUT>((res) => (timer = setTimeout(() => res(TIMEOUT), wait)))]);
        clearTimeout(timer);
        if (r === TIMEOUT) {
          pendingNext = next;
          yield flush();
          continue;
        }
      } else r = await next;
      if (r.done) break;
      const row = r.value;
      position++;
      if (skipBad) {
        const problem = rowProblem(row, names, encoder);
        if (problem) {
          opts.onSkippedRows?.([{ row: position, column: problem.column, reason: problem.reason, cells: rowCells(row, names, encoder) }]);
          continue;
        }
      }
      if (n === 0) oldest = Date.now();
      if (isArrayLike(row)) {
        if (raw) throw new TypeError('detectStream: a stream mixes array rows and object rows.');
        if (row.length !== d) {
          throw new DataValidationError(`has ${row.length} values; the model has ${d} features (${listNames(names)}).`, { row: start + n + 1 });
        }
        const o = n * d;
        for (let j = 0; j < d; j++) buf[o + j] = row[j];
      } else if (encoder) {
        if (n > 0 && !raw) throw new TypeError('detectStream: a stream mixes array rows and object rows.');
        raw ??= [];
        const cells = encoder.columns.map((c) => {
          const v = (row as Record<string, number | string>)[c];
          if (v === undefined) throw new DataValidationError('missing value.', { row: start + n + 1, column: c });
          return String(v);
        });
        raw.push(cells);
      } else {
        const o = n * d;
        for (let j = 0; j < d; j++) {
          const v = (row as Record<string, number | string>)[names[j]];
          if (v === undefined) throw new DataValidationError('missing value.', { row: start + n + 1, column: names[j] });
          buf[o + j] = typeof v === 'number' ? v : Number(v);
        }
      }
      n++;
      if (n === chunkSize) yield flush();
    }
    if (n > 0) yield flush();
  } finally {
    // stop the source when the consumer stops early; with a read still pending (a slow live
    // source), the source's return is queued behind it, so it is not awaited
    if (pendingNext) {
      pendingNext.catch(() => undefined);
      it.return?.()?.catch(() => undefined);
    } else await it.return?.();
  }
}

/** The first value of a live row that cannot be scored (missing, or not a finite number where a number is needed). */
function rowProblem(row: StreamRow, names: readonly string[], encoder: TrafficEncoder | undefined): { column: string; reason: string } | undefined {
  if (isArrayLike(row)) {
    if (row.length !== names.length) return { column: '', reason: `has ${row.length} values; the model has ${names.length} features.` };
    for (let j = 0; j < row.length; j++) if (!Number.isFinite(row[j])) return { column: names[j], reason: `value ${row[j]} is not a finite number.` };
    return undefined;
  }
  const o = row as Record<string, number | string>;
  const cols = encoder ? encoder.columns : names;
  for (const c of cols) {
    const v = o[c];
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return { column: c, reason: 'missing value.' };
    const categorical = encoder?.categories[c] !== undefined;
    if (!categorical && !Number.isFinite(typeof v === 'number' ? v : Number(v))) return { column: c, reason: `value ${v} is not a finite number.` };
  }
  return undefined;
}

function rowCells(row: StreamRow, names: readonly string[], encoder: TrafficEncoder | undefined): string[] {
  if (isArrayLike(row)) return Array.from(row as ArrayLike<number>, String);
  const o = row as Record<string, number | string>;
  return (encoder ? encoder.columns : names).map((c) => (o[c] === undefined ? '' : String(o[c])));
}

function isArrayLike(x: StreamRow): x is ArrayLike<number> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

function iteratorOf<T>(src: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if ((src as AsyncIterable<T>)[Symbol.asyncIterator]) return (src as AsyncIterable<T>)[Symbol.asyncIterator]();
  if ((src as Iterable<T>)[Symbol.iterator]) {
    const it = (src as Iterable<T>)[Symbol.iterator]();
    return {
      next: async () => it.next(),
      return: async () => it.return?.() ?? { done: true, value: undefined },
    };
  }
  throw new TypeError('detectStream: rows must be an iterable or async iterable.');
}

function listNames(names: readonly string[]): string {
  return names.length > 12 ? `${names.slice(0, 10).join(', ')}, ... (${names.length} columns)` : names.join(', ');
}

// -------------------------------------------------------------------------------------------------
// CSV output
// -------------------------------------------------------------------------------------------------

/** Totals of a streamed detection. */
export interface StreamSummary {
  rows: number;
  anomalies: number;
  /** Rows left out by `badRows: "skip"` (detectCsvToFile). */
  skipped?: number;
  /** The side file listing them, when any were skipped. */
  skippedRowsFile?: string;
}

/**
 * The CSV text of one chunk in the format of {@link detectionToCsv} (every input cell, then the
 * result columns), one line per row, each ending with a newline; with `header`, the header line
 * first. Concatenating the chunks' texts (the first with its header) gives exactly
 * `detectionToCsv` of all the rows.
 */
export function chunkToCsv(r: DetectionResult, data: TrafficData, header = false): string {
  const text = detectionToCsv(r, data);
  return header ? text : text.slice(text.indexOf('\n') + 1);
}

/**
 * Write streamed detection chunks as CSV to a writable stream (header first, unless
 * `opts.header` is false), honouring back-pressure, so memory stays bounded whatever the number
 * of rows. Without the header, the outputs of the shards of a file, concatenated after the header
 * line, are the output of the whole file to the byte. A stream that fails or closes (a reader
 * that stopped: EPIPE) ends the writing with its error instead of waiting.
 * @returns rows written and anomalies found
 */
export async function writeDetectionCsv(
  chunks: AsyncIterable<DetectionChunk & { data: TrafficData }>,
  out: NodeJS.WritableStream,
  onChunk?: (summary: StreamSummary) => void,
  signal?: AbortSignal,
  opts: { header?: boolean } = {},
): Promise<StreamSummary> {
  const summary: StreamSummary = { rows: 0, anomalies: 0 };
  let first = opts.header !== false;
  let failed: unknown;
  const onError = (e: unknown) => (failed ??= e);
  const emitter = out as unknown as NodeJS.EventEmitter;
  const drainFailed = (e: unknown) => {
    failed ??= e;
    throw e;
  };
  emitter.on('error', onError);
  try {
    for await (const c of chunks) {
      signal?.throwIfAborted();
      if (failed) throw failed;
      const text = chunkToCsv(c.result, c.data, first);
      first = false;
      summary.rows += c.rows;
      for (let i = 0; i < c.rows; i++) summary.anomalies += c.result.isAnomaly[i];
      if (!out.write(text)) await drained(out, signal).catch(drainFailed);
      if (failed) throw failed;
      onChunk?.(summary);
    }
    return summary;
  } finally {
    emitter.off('error', onError);
    // a stream that failed (a reader gone: EPIPE) may still report it; it is no news then
    if (failed) emitter.on('error', () => undefined);
  }
}

/** Wait for 'drain'; rejects when the stream errors or closes first, or `signal` aborts. */
function drained(out: NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
  const w = out as NodeJS.WritableStream & NodeJS.EventEmitter & { destroyed?: boolean; errored?: Error | null };
  if (w.errored) return Promise.reject(w.errored);
  if (w.destroyed) return Promise.reject(Object.assign(new Error('the output stream was closed'), { code: 'ERR_STREAM_DESTROYED' }));
  return new Promise<void>((resolve, reject) => {
    const done = (e?: unknown) => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (e) reject(e);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (e: unknown) => done(e);
    const onClose = () => done(w.errored ?? Object.assign(new Error('the output stream was closed'), { code: 'ERR_STREAM_DESTROYED' }));
    const onAbort = () => done(signal!.reason);
    w.once('drain', onDrain);
    w.once('error', onError);
    w.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Stream detection from a CSV source into a CSV file. The output is written progressively to a
 * temporary file beside `outFile` and renamed into place at the end, so a failure part-way (a bad
 * row, a full disk, an aborted run) leaves no partial output and any earlier file untouched; the
 * error reported is the first one (the bad row, ENOSPC), never one from cleaning up. The output
 * must not be the source (compared by device and inode). Temporary files of killed earlier runs
 * beside the output are removed first.
 * @throws DataValidationError for a missing file or a bad cell; PathError for an output that is
 *   the input or a directory; the signal's reason when aborted
 */
export async function detectCsvToFile(
  ens: AnomalyEnsemble,
  source: CsvSource,
  outFile: string,
  opts: DetectCsvStreamOptions & {
    /** Called after each chunk is written, with the totals so far. */
    onChunk?: (summary: StreamSummary) => void;
    /** Write the header line. @defaultValue true */
    header?: boolean;
    /**
     * With `badRows: "skip"`: the CSV side file that lists the skipped rows (`row,column,reason`,
     * then the row's cells), written like the output (renamed into place at the end) and only
     * when rows were skipped. @defaultValue the output's name with `.skipped.csv` for `.csv`
     */
    skippedRowsFile?: string;
  } = {},
): Promise<StreamSummary> {
  if (typeof source === 'string' && source !== '-') checkOutputPath(outFile, [{ file: source, what: 'the input' }]);
  else checkOutputPath(outFile, []);
  const side = opts.badRows === 'skip' ? new SkippedRowsFile(opts.skippedRowsFile ?? skippedRowsFileFor(outFile)) : undefined;
  const chunks = detectCsvStream(ens, source, {
    ...opts,
    onSkippedRows: (rows, header) => {
      side?.add(header, rows);
      opts.onSkippedRows?.(rows, header);
    },
  });
  let tmp: string | undefined;
  let unregister: (() => void) | undefined;
  let fh: fs.promises.FileHandle | undefined;
  let done = false;
  try {
    // open the source (a missing file fails here) before creating the output
    const first = await chunks.next();
    const dir = path.dirname(path.resolve(outFile));
    fs.mkdirSync(dir, { recursive: true });
    // a device or pipe (/dev/null) is written in place: renaming a temporary file over it would replace it
    const special = isSpecialFile(outFile);
    if (special) fh = await fs.promises.open(outFile, 'w');
    else {
      removeStaleTempFiles(dir, path.basename(outFile));
      tmp = tempPathFor(outFile);
      unregister = registerTempFile(tmp);
      fh = await fs.promises.open(tmp, 'wx', 0o644);
    }
    const handle = fh;
    const out = new FileSink(handle);
    const all = (async function* () {
      if (!first.done) yield first.value;
      yield* chunks;
    })();
    const summary = await writeDetectionCsv(all, out as unknown as NodeJS.WritableStream, opts.onChunk, opts.signal, { header: opts.header });
    await out.flush();
    opts.signal?.throwIfAborted();
    if (!special) await handle.sync();
    fh = undefined;
    await handle.close();
    if (!special) fs.renameSync(tmp!, outFile);
    tmp = undefined;
    if (side) {
      side.commit();
      summary.skipped = side.count;
      if (side.count) summary.skippedRowsFile = side.file;
    }
    done = true;
    return summary;
  } finally {
    // on failure: close once, remove the temporary file; errors here must not hide the first one
    if (fh) await fh.close().catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { force: true });
    unregister?.();
    if (!done) side?.discard();
    await chunks.return(undefined).catch(() => undefined);
  }
}

/**
 * A minimal writable over a file handle for {@link writeDetectionCsv}: `write` queues the text
 * and returns false once two writes are in flight (back-pressure); the first write error is raised
 * by the next `write`/`flush` and emitted as 'error'. One descriptor, closed once by its owner.
 */
class FileSink {
  private pending: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private error: unknown;
  private readonly listeners = new Map<string, Set<(...a: unknown[]) => void>>();

  constructor(private readonly fh: fs.promises.FileHandle) {}

  write(text: string): boolean {
    if (this.error) throw this.error;
    this.inFlight++;
    this.pending = this.pending.then(async () => {
      try {
        if (!this.error) await this.fh.write(text);
      } catch (e) {
        this.error ??= e;
        this.emit('error', e);
      } finally {
        this.inFlight--;
        this.emit('drain');
      }
    });
    // one write may run while the next chunk is scored; a second waits for it
    return this.inFlight < 2;
  }

  async flush(): Promise<void> {
    await this.pending;
    if (this.error) throw this.error;
  }

  on(ev: string, fn: (...a: unknown[]) => void): this {
    (this.listeners.get(ev) ?? this.listeners.set(ev, new Set()).get(ev)!).add(fn);
    return this;
  }

  once(ev: string, fn: (...a: unknown[]) => void): this {
    const w = (...a: unknown[]) => {
      this.off(ev, w);
      fn(...a);
    };
    return this.on(ev, w);
  }

  off(ev: string, fn: (...a: unknown[]) => void): this {
    this.listeners.get(ev)?.delete(fn);
    return this;
  }

  private emit(ev: string, ...a: unknown[]): void {
    for (const fn of [...(this.listeners.get(ev) ?? [])]) fn(...a);
  }
}

/**
 * The default side file of skipped rows for an output file: `scored.csv` -> `scored.skipped.csv`
 * (another name gets `.skipped.csv` appended).
 */
export function skippedRowsFileFor(outFile: string): string {
  return /\.csv$/i.test(outFile) ? outFile.replace(/\.csv$/i, '.skipped.csv') : `${outFile}.skipped.csv`;
}
