/**
 * Chunked CSV reading in bounded memory: a file of any size (`.gz` read directly), stdin or any
 * readable stream is split into records as bytes arrive, and handed out `chunkSize` records at a
 * time. The rules are those of {@link parseCsv}: a leading byte-order mark, CRLF line endings,
 * quoted fields (with `""` escapes and line breaks inside quotes), blank lines skipped, the header
 * checked for empty and duplicate names, a row with another number of fields refused by row, and a
 * short last line without a final newline skipped with a warning (a truncated file).
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { registerCleanup } from '../core/cleanup';
import { DataValidationError } from '../core/errors';
import { checkHeader } from '../data/cells';
import { recordDataFile } from '../core/provenance';
import { DEFAULT_MAX_LINE_BYTES, InvalidUtf8, invalidUtf8Error, lineTooLongError, StrictUtf8Decoder } from '../data/text';

/**
 * Where CSV text comes from: a file path (`"-"` is stdin; `.gz` files, or files that start with
 * the gzip magic bytes, are gunzipped), a Node readable stream, or any (async) iterable of text or
 * byte chunks.
 */
export type CsvSource = string | NodeJS.ReadableStream | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

/** Options of {@link readCsvChunks}. */
export interface CsvChunkOptions {
  /** Records per chunk (the last chunk may be shorter). @defaultValue 8192 */
  chunkSize?: number;
  /** Whether the first non-blank line is a header. @defaultValue true */
  hasHeader?: boolean;
  /**
   * Column names for a file without a header (`hasHeader: false`): every row must have this many
   * fields, and a first line equal to these names (case-insensitive) is skipped as a header.
   * Without it the columns are named `c0, c1, ...` after the first row's width.
   */
  columns?: readonly string[];
  /** Dataset name for messages about `columns`. */
  datasetName?: string;
  /** File name used in messages (defaults to the path when `source` is one, `stdin` for `"-"`). */
  file?: string;
  /** Called with tolerated problems (a truncated last line). */
  onWarning?: (message: string) => void;
  /** Called with the number of raw bytes read from a file or stdin, as they are read (for progress). */
  onBytes?: (bytes: number) => void;
  /** Called once with the column names as soon as they are known, before any record (may throw). */
  onHeader?: (header: readonly string[]) => void;
  /** A repeated header name: an error, or renamed `name.1`, `name.2` (see {@link checkHeader}). @defaultValue "error" */
  duplicateColumns?: 'error' | 'rename';
  /**
   * An input without data rows (empty, or a header alone) yields nothing instead of failing: a
   * shard of a larger file (a batch engine's partition) may hold no rows. @defaultValue false
   */
  allowEmpty?: boolean;
  /**
   * Longest line (record) accepted, in bytes; a longer one is an error naming its line, raised
   * as soon as that many bytes arrived without a line break. @defaultValue {@link DEFAULT_MAX_LINE_BYTES}
   */
  maxLineBytes?: number;
  /**
   * Stops the reading when aborted, also while waiting for input (a pipe or stdin that has not
   * sent anything): the read rejects with the signal's reason and the source is closed.
   */
  signal?: AbortSignal;
}

/** One chunk of {@link readCsvChunks}. */
export interface CsvChunk {
  /** Column names (the header, `columns`, or `c0..`). The same array in every chunk. */
  header: string[];
  /** The chunk's records, each with `header.length` cells. */
  records: string[][];
  /** 1-based data row of `records[0]` in the whole file (the header is row 0). */
  firstRow: number;
}

/** Default records per chunk. */
export const DEFAULT_CHUNK_SIZE = 8192;

/**
 * Most text a chunk holds (characters plus 8 per cell): a chunk ends before `chunkSize` records
 * when its rows are wide, so memory stays bounded whatever the width of the rows.
 */
export const MAX_CHUNK_TEXT = 8 * 1024 * 1024;

/** Largest `chunkSize` (memory grows with it: one chunk of rows and its results are held at once). */
export const MAX_CHUNK_SIZE = 1_000_000;

export { DEFAULT_MAX_LINE_BYTES } from '../data/text';

/** An opened byte source with what is known about it. */
export interface OpenedSource {
  chunks: AsyncIterable<string | Uint8Array>;
  /** File name for messages. */
  file?: string;
  /** Size in bytes of the file on disk (compressed size for `.gz`), when known. */
  size?: number;
}

/**
 * Open a {@link CsvSource}. A path is checked at once, so a missing file fails here (with the same
 * `file not found.` message as {@link loadTraffic}) before any output is created.
 * @throws DataValidationError when a path cannot be opened
 */
export function openCsvSource(
  source: CsvSource,
  opts: { file?: string; onBytes?: (bytes: number) => void; signal?: AbortSignal } = {},
): OpenedSource {
  const signal = opts.signal;
  if (typeof source === 'string') {
    if (source === '-') {
      return { chunks: gunzipIfNeeded(countBytes(process.stdin, opts.onBytes, signal), opts.file ?? 'stdin'), file: opts.file ?? 'stdin' };
    }
    const file = opts.file ?? source;
    let st: fs.Stats;
    try {
      st = fs.statSync(source);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new DataValidationError(code === 'ENOENT' ? 'file not found.' : `cannot read file (${code ?? String(e)}).`, { file });
    }
    if (st.isDirectory()) throw new DataValidationError('is a folder, not a file.', { file });
    let stream: fs.ReadStream;
    if (st.isFile()) {
      let fd: number;
      try {
        fd = fs.openSync(source, 'r');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new DataValidationError(code === 'ENOENT' ? 'file not found.' : `cannot read file (${code ?? String(e)}).`, { file });
      }
      recordDataFile(source, 'readCsvChunks');
      stream = fs.createReadStream('', { fd, highWaterMark: 1 << 16 });
    } else {
      // a FIFO or a device: opened without blocking this thread (a FIFO's open waits for a
      // writer), so an interrupt is still handled while it waits
      stream = fs.createReadStream(source, { highWaterMark: 1 << 16 });
      if (st.isFIFO()) releaseFifoOpenOnStop(source, stream, signal);
    }
    return { chunks: gunzipIfNeeded(countBytes(stream, opts.onBytes, signal), file, source.endsWith('.gz')), file, size: st.isFile() ? st.size : undefined };
  }
  return { chunks: gunzipIfNeeded(abortable(toAsyncIterable(source), signal), opts.file ?? 'stream'), file: opts.file };
}

/**
 * A FIFO's open waits for a writer in a worker thread of the thread pool, and a process cannot
 * exit while it waits. When the run stops first (an abort, or the cleanup before an exit), the
 * wait is ended by opening the FIFO for writing once, without blocking, and closing it.
 */
function releaseFifoOpenOnStop(file: string, stream: fs.ReadStream, signal?: AbortSignal): void {
  let opened = false;
  const release = () => {
    if (opened) return;
    opened = true;
    try {
      fs.closeSync(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      // no open is waiting (ENXIO): nothing to release
    }
  };
  const unregister = registerCleanup(release);
  stream.once('open', () => {
    opened = true;
    unregister();
  });
  stream.once('close', unregister);
  signal?.addEventListener('abort', release, { once: true });
}

async function* countBytes(stream: NodeJS.ReadableStream, onBytes?: (n: number) => void, signal?: AbortSignal): AsyncGenerator<Uint8Array | string> {
  // an abort destroys the stream, which ends a read that is waiting with the abort's reason
  const onAbort = () => (stream as NodeJS.ReadableStream & { destroy?: (e?: Error) => void }).destroy?.(signal!.reason);
  signal?.throwIfAborted();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const c of stream as AsyncIterable<Uint8Array | string>) {
      signal?.throwIfAborted();
      onBytes?.(typeof c === 'string' ? Buffer.byteLength(c) : c.length);
      yield c;
    }
    signal?.throwIfAborted();
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** An iterable whose reads also end (with the abort's reason) when `signal` is aborted. */
async function* abortable<T>(src: AsyncIterable<T>, signal?: AbortSignal): AsyncGenerator<T> {
  if (!signal) {
    for await (const x of src) yield x;
    return;
  }
  const it = src[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort!);
    // a read still pending cannot be cancelled; do not wait for it
    void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}

/** Gunzip when the name ends in `.gz` or the first bytes are the gzip magic number. */
async function* gunzipIfNeeded(chunks: AsyncIterable<Uint8Array | string>, file: string, byName = false): AsyncGenerator<Uint8Array | string> {
  const it = chunks[Symbol.asyncIterator]();
  try {
    let first = await it.next();
    // make sure at least 2 bytes are seen before deciding
    let head: Uint8Array | string | undefined = first.done ? undefined : first.value;
    while (!first.done && typeof head !== 'string' && head !== undefined && head.length < 2) {
      first = await it.next();
      if (!first.done) head = Buffer.concat([head as Uint8Array, toBytes(first.value)]);
    }
    if (head === undefined) return;
    const isGzip = typeof head !== 'string' && (byName || (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b));
    if (!isGzip) {
      yield head;
      if (first.done) return;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
      return;
    }
    const gunzip = zlib.createGunzip();
    const done = first.done;
    // feed the compressed bytes in the background, honouring back-pressure
    const feed = (async () => {
      try {
        if (!gunzip.write(head as Uint8Array)) await onceDrain(gunzip);
        if (!done) {
          for (let r = await it.next(); !r.done && !gunzip.destroyed; r = await it.next()) {
            if (!gunzip.write(toBytes(r.value))) await onceDrain(gunzip);
          }
        }
        gunzip.end();
      } catch (e) {
        gunzip.destroy(e as Error);
      }
    })();
    try {
      for await (const c of gunzip as AsyncIterable<Uint8Array>) yield c;
    } catch (e) {
      // zlib's own errors mean bad compressed data; anything else (an interrupt) passes through
      if (!/^Z_/.test(String((e as NodeJS.ErrnoException)?.code ?? ''))) throw e;
      throw new DataValidationError(`not a valid gzip file (${(e as Error).message}).`, { file });
    } finally {
      if (!gunzip.destroyed) gunzip.destroy();
      await feed.catch(() => undefined);
    }
  } finally {
    await it.return?.();
  }
}

function onceDrain(w: NodeJS.WritableStream & { destroyed?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      w.off?.('drain', done);
      w.off?.('error', fail);
      w.off?.('close', done);
      resolve();
    };
    const fail = (e: Error) => {
      w.off?.('drain', done);
      w.off?.('close', done);
      reject(e);
    };
    w.once('drain', done);
    w.once('error', fail);
    w.once('close', done);
  });
}

function toBytes(c: Uint8Array | string): Uint8Array {
  return typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
}

function toAsyncIterable(source: Exclude<CsvSource, string>): AsyncIterable<string | Uint8Array> {
  if ((source as AsyncIterable<unknown>)[Symbol.asyncIterator]) return source as AsyncIterable<string | Uint8Array>;
  if ((source as Iterable<unknown>)[Symbol.iterator]) {
    const src = source as Iterable<string | Uint8Array>;
    return (async function* () {
      yield* src;
    })();
  }
  throw new TypeError('CSV source must be a file path, "-" (stdin), a readable stream or an iterable of text or byte chunks.');
}

/** One record as split from the text: its cells and the physical line it starts on. */
interface RawRecord {
  cells: string[];
  line: number;
  /** Characters of the record's text (for the memory budget of a chunk). */
  chars: number;
}

/**
 * Incremental CSV splitter: `push` text as it arrives, get back every complete record; `end`
 * returns the last record (one without a final newline). Lines without quotes take a fast path
 * (`split(',')`); a record with quotes is parsed character by character, and re-parsed from its
 * start when its end has not arrived yet.
 */
export class CsvRecordSplitter {
  private rest = '';
  private line = 1;
  private started = false;
  private file?: string;
  private readonly maxLine: number;

  /**
   * @param file - file name for messages
   * @param maxLineBytes - longest record accepted (its text's length; a UTF-8 byte count is never
   *   smaller) @defaultValue {@link DEFAULT_MAX_LINE_BYTES}
   */
  constructor(file?: string, maxLineBytes = DEFAULT_MAX_LINE_BYTES) {
    this.file = file;
    this.maxLine = maxLineBytes;
  }

  /**
   * Complete records in `text` (plus what was left over from earlier pushes).
   * @throws DataValidationError for a record longer than the limit (as soon as its text is)
   */
  push(text: string, out: RawRecord[] = []): RawRecord[] {
    let buf = this.rest.length ? this.rest + text : text;
    if (!this.started && buf.length) {
      if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
      this.started = true;
    }
    let start = 0;
    const n = buf.length;
    let q = buf.indexOf('"');
    while (start < n) {
      const nl = buf.indexOf('\n', start);
      if (nl < 0) break;
      if (q >= 0 && q < start) q = buf.indexOf('"', start);
      if (q < 0 || q > nl) {
        let end = nl;
        if (end > start && buf.charCodeAt(end - 1) === 13) end--;
        if (end - start > this.maxLine) throw lineTooLongError(this.file, this.line, this.maxLine);
        out.push({ cells: buf.slice(start, end).split(','), line: this.line, chars: end - start });
        this.line++;
        start = nl + 1;
        continue;
      }
      const r = this.parseQuoted(buf, start, false);
      if (!r) break; // the record's end has not arrived yet
      if (r.next - start > this.maxLine + 2) throw lineTooLongError(this.file, r.record.line, this.maxLine);
      out.push(r.record);
      start = r.next;
    }
    this.rest = start < n ? buf.slice(start) : '';
    // a record still waiting for its end is refused as soon as it is too long (a file without
    // line breaks is not held whole)
    if (this.rest.length > this.maxLine) throw lineTooLongError(this.file, this.line, this.maxLine);
    return out;
  }

  /** The physical line on which the next record starts. */
  get nextLine(): number {
    return this.line;
  }

  /** The physical line that `extra` more text would end on (for messages about text not split yet). */
  lineAfter(extra: string): number {
    let line = this.line;
    for (const t of [this.rest, extra]) for (let k = t.indexOf('\n'); k >= 0; k = t.indexOf('\n', k + 1)) line++;
    return line;
  }

  /**
   * The final record (text after the last line break), if any.
   * @returns the record and whether it lacked a final newline
   * @throws DataValidationError for an unterminated quoted field
   */
  end(): RawRecord | undefined {
    const buf = this.rest;
    this.rest = '';
    if (buf.length === 0) return undefined;
    if (!buf.includes('"')) {
      let end = buf.length;
      if (buf.charCodeAt(end - 1) === 13) end--;
      return { cells: buf.slice(0, end).split(','), line: this.line, chars: end };
    }
    const r = this.parseQuoted(buf, 0, true)!;
    return r.record;
  }

  /**
   * Parse one record starting at `start`. Returns undefined when the text ends inside it (unless
   * `atEnd`, where the end of the text ends the record).
   */
  private parseQuoted(buf: string, start: number, atEnd: boolean): { record: RawRecord; next: number } | undefined {
    const cells: string[] = [];
    let field = '';
    let inQuotes = false;
    let lines = 0;
    let quotedStartLine = this.line;
    const n = buf.length;
    let i = start;
    let segment = start; // start of the not-yet-copied plain run of the field
    for (; i < n; i++) {
      const c = buf.charCodeAt(i);
      if (inQuotes) {
        if (c === 34) {
          if (i + 1 >= n && !atEnd) return undefined; // cannot tell `""` from a closing quote yet
          field += buf.slice(segment, i);
          if (buf.charCodeAt(i + 1) === 34) {
            field += '"';
            i++;
          } else inQuotes = false;
          segment = i + 1;
        } else if (c === 10) lines++;
      } else if (c === 34) {
        field += buf.slice(segment, i);
        segment = i + 1;
        inQuotes = true;
        quotedStartLine = this.line + lines;
      } else if (c === 44) {
        cells.push(field + buf.slice(segment, i));
        field = '';
        segment = i + 1;
      } else if (c === 10 || c === 13) {
        if (c === 13 && i + 1 >= n && !atEnd) return undefined; // a CR whose LF may follow
        cells.push(field + buf.slice(segment, i));
        const record = { cells, line: this.line, chars: i - start };
        let next = i + 1;
        if (c === 13 && buf.charCodeAt(next) === 10) next++;
        this.line += lines + 1;
        return { record, next };
      }
    }
    if (!atEnd) return undefined;
    if (inQuotes) throw new DataValidationError(`unterminated quoted field starting on line ${quotedStartLine}.`, { file: this.file });
    cells.push(field + buf.slice(segment, i));
    const record = { cells, line: this.line, chars: n - start };
    this.line += lines;
    return { record, next: n };
  }
}

function isBlank(r: RawRecord): boolean {
  return r.cells.length === 1 && r.cells[0].trim() === '';
}

/**
 * Read CSV text `chunkSize` records at a time, in bounded memory (one chunk of records plus one
 * read buffer).
 *
 * @example
 * ```ts
 * for await (const { header, records, firstRow } of readCsvChunks('big.csv.gz', { chunkSize: 10000 })) {
 *   // records.length <= 10000; records[0] is data row firstRow
 * }
 * ```
 * @throws DataValidationError for an empty file, an unterminated quote, a bad header or a row
 *   with another number of fields than the header (by data row), like {@link parseCsv}
 */
export async function* readCsvChunks(source: CsvSource, opts: CsvChunkOptions = {}): AsyncGenerator<CsvChunk> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`readCsvChunks: chunkSize must be an integer >= 1, got ${chunkSize}.`);
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  if (!Number.isInteger(maxLine) || maxLine < 1) throw new RangeError(`readCsvChunks: maxLineBytes must be an integer >= 1, got ${maxLine}.`);
  const opened = openCsvSource(source, { file: opts.file, onBytes: opts.onBytes, signal: opts.signal });
  const file = opened.file;
  const hasHeader = opts.hasHeader ?? true;
  const splitter = new CsvRecordSplitter(file, maxLine);
  const decoder = new StrictUtf8Decoder();

  let header: string[] | undefined;
  let width = 0;
  let checkNamedFirst = !hasHeader && opts.columns !== undefined;
  let dataRows = 0; // data rows accepted so far
  let records: string[][] = [];
  let firstRow = 1;
  let text = 0; // characters + 8 per cell held in `records`

  const accept = (r: RawRecord, isLastWithoutNewline: boolean): void => {
    if (isBlank(r)) return;
    if (!header) {
      if (hasHeader) {
        header = checkHeader(r.cells, file, opts.duplicateColumns);
        width = header.length;
        opts.onHeader?.(header);
        return;
      }
      if (opts.columns) {
        header = [...opts.columns];
        width = header.length;
        if (r.cells.length !== width && !(isLastWithoutNewline && r.cells.length < width)) {
          throw new DataValidationError(
            `rows have ${r.cells.length} fields; the ${opts.datasetName ?? 'dataset'} description names ${width} columns (${listNames(header)}).`,
            { file },
          );
        }
      } else {
        header = r.cells.map((_, j) => `c${j}`);
        width = header.length;
      }
      opts.onHeader?.(header);
    }
    if (checkNamedFirst) {
      checkNamedFirst = false;
      const cols = header;
      if (r.cells.length === cols.length && r.cells.every((c, j) => c.trim().toLowerCase() === cols[j].toLowerCase())) return;
    }
    if (r.cells.length !== width) {
      if (isLastWithoutNewline && r.cells.length < width) {
        opts.onWarning?.(`${file ? file + ': ' : ''}line ${r.line}: truncated last line (${r.cells.length} of ${width} fields) skipped.`);
        return;
      }
      throw new DataValidationError(`has ${r.cells.length} fields, the ${hasHeader ? 'header' : 'first row'} has ${width}.`, { file, row: dataRows + 1 });
    }
    if (records.length === 0) firstRow = dataRows + 1;
    records.push(r.cells);
    text += r.chars + 8 * r.cells.length;
    dataRows++;
  };
  const full = () => records.length >= chunkSize || text >= MAX_CHUNK_TEXT;
  const take = (): CsvChunk => {
    const out = records;
    records = [];
    text = 0;
    return { header: header!, records: out, firstRow };
  };
  /** Invalid bytes, named by line and by the data row they are in (0 in the header). */
  const badText = (e: unknown, pending: string): unknown => {
    if (!(e instanceof InvalidUtf8)) return e;
    const line = splitter.lineAfter(pending + e.before);
    // the lines between the start of the first record not yet complete and the bad byte
    const delta = line - splitter.nextLine;
    const row = header || !hasHeader ? dataRows + 1 + delta : delta;
    return invalidUtf8Error(e, file, line, row);
  };

  const batch: RawRecord[] = [];
  let sawAny = false;
  for await (const c of opened.chunks) {
    let chunkText: string;
    try {
      chunkText = typeof c === 'string' ? c : decoder.write(c as Uint8Array);
    } catch (e) {
      throw badText(e, '');
    }
    if (chunkText.length === 0) continue;
    sawAny = true;
    batch.length = 0;
    splitter.push(chunkText, batch);
    // every record from push() ended with a line break; only splitter.end() can be a truncated one
    for (const r of batch) {
      accept(r, false);
      if (full()) yield take();
    }
  }
  try {
    decoder.end();
  } catch (e) {
    throw badText(e, '');
  }
  const last = splitter.end();
  if (last) accept(last, true);
  if (!sawAny || !header) {
    if (opts.allowEmpty) return;
    throw new DataValidationError('the file is empty.', { file });
  }
  if (records.length) {
    yield take();
    return;
  }
  if (opts.allowEmpty) return;
  if (dataRows === 0 && hasHeader) {
    // nothing yielded at all: a header and no rows
    throw new DataValidationError('the file has a header but no data rows.', { file });
  }
  if (dataRows === 0 && !hasHeader) throw new DataValidationError('the file has no data rows.', { file });
}

function listNames(names: readonly string[]): string {
  return names.length > 12 ? `${names.slice(0, 10).join(', ')}, ... (${names.length} columns)` : names.join(', ');
}
