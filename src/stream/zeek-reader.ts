/**
 * Zeek logs read chunk by chunk in bounded memory (files, `.gz`, stdin, streams), the rows laid
 * out as {@link readCsvChunks} gives a CSV's: the same {@link CsvChunk}s, so that
 * {@link readTrafficChunks} and streaming detection read Zeek logs like any other file.
 */
import { StringDecoder } from 'node:string_decoder';
import { DataValidationError } from '../core/errors';
import { ZeekLogParser } from '../data/zeek';
import { DEFAULT_CHUNK_SIZE, openCsvSource, type CsvChunk, type CsvChunkOptions, type CsvSource } from './csv-reader';

/**
 * Read a Zeek log (TSV with `#fields`, or JSON lines) `chunkSize` rows at a time.
 * @example
 * ```ts
 * for await (const { header, records } of readZeekChunks('conn.log.gz', { chunkSize: 10000 })) console.log(records.length);
 * ```
 * @throws DataValidationError for an empty log, a log without `#fields`, or a bad row (by data row)
 */
export async function* readZeekChunks(
  source: CsvSource,
  opts: Pick<CsvChunkOptions, 'chunkSize' | 'file' | 'onWarning' | 'onBytes' | 'onHeader' | 'signal'> = {},
): AsyncGenerator<CsvChunk> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`readZeekChunks: chunkSize must be an integer >= 1, got ${chunkSize}.`);
  const opened = openCsvSource(source, { file: opts.file, onBytes: opts.onBytes, signal: opts.signal });
  const file = opened.file;
  const parser = new ZeekLogParser(file);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let records: string[][] = [];
  let firstRow = 1;
  let headerSaid = false;
  let warned = 0;
  const take = (line: string) => {
    const r = parser.line(line);
    if (!headerSaid && parser.header) {
      headerSaid = true;
      opts.onHeader?.(parser.header);
    }
    while (warned < parser.warnings.length) opts.onWarning?.(parser.warnings[warned++]);
    if (r) {
      if (records.length === 0) firstRow = parser.rows;
      records.push(r);
    }
  };
  let sawAny = false;
  for await (const c of opened.chunks) {
    const text = typeof c === 'string' ? c : decoder.write(c as Buffer);
    if (!text) continue;
    sawAny = true;
    const buf = rest + text;
    let start = 0;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', start)) {
      take(buf.slice(start, nl));
      start = nl + 1;
      if (records.length >= chunkSize) {
        yield { header: parser.header!, records, firstRow };
        records = [];
      }
    }
    rest = buf.slice(start);
  }
  rest += decoder.end();
  if (rest.trim() !== '') {
    sawAny = true;
    try {
      take(rest);
    } catch (e) {
      if (!(e instanceof DataValidationError)) throw e;
      opts.onWarning?.(`${file ? file + ': ' : ''}row ${parser.rows}: truncated last line skipped.`);
    }
  }
  if (!sawAny) throw new DataValidationError('the file is empty.', { file });
  if (!parser.header) throw new DataValidationError('no #fields line: not a Zeek log.', { file });
  if (records.length) yield { header: parser.header, records, firstRow };
  else if (parser.rows === 0) throw new DataValidationError('the log has a header but no data rows.', { file });
}
