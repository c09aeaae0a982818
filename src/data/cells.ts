/** Parsing of single CSV cells, with errors that name the row and column. */
import { DataValidationError } from '../core/errors';

/**
 * Parse one numeric cell. Empty cells, text, NaN and infinities are refused with row and column.
 * @param row - 1-based data row, for the message
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
    throw new DataValidationError(`'${truncateCell(t)}' is not a number.`, { file, row, column });
  }
  throw new DataValidationError(`value ${t} is not a finite number.`, { file, row, column });
}

/** A cell shortened for messages. */
export function truncateCell(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}
