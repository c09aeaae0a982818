/**
 * Bytes to text for the CSV readers, strictly: invalid UTF-8 is refused by line and row instead of
 * silently becoming U+FFFD (which would change cells and row ids), and a line longer than a limit
 * is refused instead of being held in memory whole (a file without line breaks, `/dev/zero`).
 */
import { isUtf8 } from 'node:buffer';
import { DataValidationError } from '../core/errors';

/**
 * Default longest line, in bytes (1 MiB): thousands of times a real traffic row (NSL-KDD's are
 * about 150 bytes), small enough that a file without line breaks (binary data, /dev/zero, one huge
 * line) is refused after reading 1 MiB instead of being held whole.
 */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

/**
 * Byte offset of the first byte that is not part of a valid UTF-8 sequence (overlong forms,
 * surrogates and code points above U+10FFFF are invalid, as is a sequence cut off by the end), or
 * -1 when all of `b` is valid.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (c >= 0xc2 && c <= 0xdf) [need, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [need, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= n) return i;
    let cp = c & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      if ((x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Where invalid bytes were found, for the reader to turn into a message naming line and row. */
export class InvalidUtf8 {
  constructor(
    /** Offset of the bad byte in the whole input. */
    readonly offset: number,
    /** The bad byte. */
    readonly byte: number,
    /** The valid text of the current chunk before the bad byte. */
    readonly before: string,
  ) {}
}

/**
 * A streaming UTF-8 decoder that refuses invalid input (Node's `StringDecoder` replaces it with
 * U+FFFD): `write` returns the text of every complete character, keeping a character split across
 * chunks for the next call, and throws {@link InvalidUtf8} at the first invalid byte. Validation
 * is Node's native `isUtf8`; the byte-by-byte search only runs to locate an error.
 */
export class StrictUtf8Decoder {
  private carry: Uint8Array | undefined;
  private offset = 0;

  write(chunk: Uint8Array): string {
    let buf = chunk;
    if (this.carry) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry);
      buf.set(chunk, this.carry.length);
      this.carry = undefined;
    }
    const cut = incompleteTail(buf);
    const body = buf.subarray(0, cut);
    if (cut < buf.length) this.carry = buf.slice(cut);
    if (!isUtf8(body)) this.fail(body);
    this.offset += body.length;
    return Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8');
  }

  /** The end of the input: a character still incomplete is invalid. */
  end(): string {
    if (this.carry) {
      const c = this.carry;
      this.carry = undefined;
      throw new InvalidUtf8(this.offset, c[0], '');
    }
    return '';
  }

  private fail(body: Uint8Array): never {
    const bad = Math.max(0, firstInvalidUtf8(body));
    const before = Buffer.from(body.buffer, body.byteOffset, bad).toString('utf8');
    throw new InvalidUtf8(this.offset + bad, body[bad], before);
  }
}

/** Index where a multi-byte character cut off by the end of `b` starts (or `b.length`). */
function incompleteTail(b: Uint8Array): number {
  const n = b.length;
  for (let k = 1; k <= Math.min(3, n); k++) {
    const c = b[n - k];
    if ((c & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    return len > k ? n - k : n;
  }
  return n;
}

/**
 * The message for invalid UTF-8 found `linesBefore` line breaks into the data (`rowsBefore` data
 * rows were complete by then; the header, when there is one, is row 0).
 */
export function invalidUtf8Error(e: InvalidUtf8, file: string | undefined, line: number, row: number | undefined): DataValidationError {
  return new DataValidationError(
    `line ${line} is not valid UTF-8 text (byte 0x${e.byte.toString(16).toUpperCase().padStart(2, '0')} at byte ${e.offset}); nal reads UTF-8 files: convert it first (for example iconv -f latin1 -t utf-8).`,
    { file, row },
  );
}

/** The message for a line longer than the limit. */
export function lineTooLongError(file: string | undefined, line: number, max: number, row?: number): DataValidationError {
  const mb = max >= 1 << 20 ? `${(max / (1 << 20)).toLocaleString('en-US')} MiB` : `${max.toLocaleString('en-US')} bytes`;
  return new DataValidationError(
    `line ${line} is longer than ${mb}: not a CSV file of traffic rows (binary data, or no line breaks?); if the line is real, raise the limit (--max-line-bytes).`,
    { file, row },
  );
}

/**
 * Decode a whole file's bytes strictly (see {@link StrictUtf8Decoder}).
 * @throws DataValidationError naming the line (and the row, counting the first line as the header)
 */
export function decodeUtf8(buf: Uint8Array, file?: string): string {
  if (!isUtf8(buf)) {
    const bad = Math.max(0, firstInvalidUtf8(buf));
    let line = 1;
    for (let k = 0; k < bad; k++) if (buf[k] === 10) line++;
    throw invalidUtf8Error(new InvalidUtf8(bad, buf[bad], ''), file, line, line - 1);
  }
  return Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('utf8');
}
