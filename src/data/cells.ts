/** Parsing of single CSV cells and of header lines, with errors that name the row and column. */
import { DataValidationError } from '../core/errors';

/**
 * Parse one numeric cell. Empty cells, text, NaN and infinities are refused with row and column.
 * @param row - 1-based data row, for the message
 */
export function parseNumber(cell: string, row: number, column: string, file?: string): number {
  const v = +cell;
  if (v - v === 0) {
    // JavaScript also reads 0x10, 0b1 and 0o7 as numbers; a CSV cell is decimal (and a hex string
    // in a numeric column is a wrong column, not the number 16). Checked only when the second
    // (or, after blanks, a later) character could make such a literal.
    const c1 = cell.charCodeAt(1) | 0x20;
    if (c1 === 120 || c1 === 98 || c1 === 111 || !(cell.charCodeAt(0) > 32)) {
      const t = cell.trim();
      if (t === '') throw new DataValidationError('empty value; every feature needs a number.', { file, row, column });
      if (/^0[xbo]/i.test(t)) {
        throw new DataValidationError(`'${truncateCell(t)}' is a ${RADIX[t[1].toLowerCase()]} literal, not a decimal number.`, { file, row, column });
      }
    }
    return v;
  }
  const t = cell.trim();
  if (t === '') throw new DataValidationError('empty value; every feature needs a number.', { file, row, column });
  if (Number.isNaN(v)) {
    if (/^[+-]?nan$/i.test(t)) throw new DataValidationError(`value ${t} is not a finite number.`, { file, row, column });
    throw new DataValidationError(`'${truncateCell(t)}' is not a number.`, { file, row, column });
  }
  throw new DataValidationError(`value ${t} is not a finite number.`, { file, row, column });
}

const RADIX: Record<string, string> = { x: 'hexadecimal', b: 'binary', o: 'octal' };

/** A cell shortened for messages. */
export function truncateCell(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

/**
 * Trimmed header names, checked: none empty, none repeated (or, with `rename`, a repeated name
 * gets `.1`, `.2` as pandas does).
 * @throws DataValidationError for an empty name or a duplicate one
 */
export function checkHeader(cells: readonly string[], file?: string, duplicates: 'error' | 'rename' = 'error'): string[] {
  const header = cells.map((h) => h.trim());
  const seen = new Map<string, number>();
  header.forEach((h, j) => {
    if (h === '') throw new DataValidationError(`column ${j + 1} of the header has no name.`, { file, row: 0 });
    if (seen.has(h)) {
      if (duplicates !== 'rename') throw new DataValidationError(`duplicate column name '${h}' (columns ${seen.get(h)! + 1} and ${j + 1}).`, { file, row: 0 });
      let k = 1;
      while (seen.has(`${h}.${k}`) || header.includes(`${h}.${k}`)) k++;
      header[j] = `${h}.${k}`;
    }
    seen.set(header[j], j);
  });
  return header;
}
