/**
 * Rows that cannot be encoded, and what to do about them. Real flow exports (CICFlowMeter, CIC-IDS
 * CSVs, Zeek logs) contain `Infinity`, `NaN` and empty cells. The policy (`badRows`, CLI
 * `--bad-rows`): `error` (the default) refuses the file with a message saying how many rows
 * cannot be encoded and naming the first by row and column; `skip` leaves those rows out, scores
 * or trains on the others, and reports each skipped row with its reason (written to a side file
 * by the CLI: {@link writeSkippedRows}).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataValidationError } from '../core/errors';
import { registerTempFile } from '../core/cleanup';
import { atomicWriteFile, isSpecialFile, tempPathFor } from '../core/persistence';

/** What to do with rows that cannot be encoded: refuse the file (`error`) or leave them out (`skip`). */
export type BadRowPolicy = 'error' | 'skip';

/** The policies, for option checks. */
export const BAD_ROW_POLICIES: readonly BadRowPolicy[] = ['error', 'skip'];

/** A row left out by the `skip` policy. */
export interface SkippedRow {
  /** 1-based data row in the file (the header is row 0), or in the stream. */
  row: number;
  /** The first column whose cell cannot be encoded. */
  column: string;
  /** Why, e.g. `value Infinity is not a finite number.` */
  reason: string;
  /** The row's cells as read (empty for rows that did not come from a file). */
  cells: string[];
}

/**
 * The `error` policy's error: how many rows cannot be encoded, and the first of them by row and
 * column.
 * @param first - the first bad row's error (its row, column and reason)
 * @param count - rows that cannot be encoded
 * @param total - rows read
 */
export function badRowsError(first: DataValidationError, count: number, total?: number, file?: string): DataValidationError {
  const of = total !== undefined ? ` of ${total}` : '';
  const rows = `${count}${of} row${count === 1 && !of ? '' : 's'}`;
  return new DataValidationError(
    `${first.reason} ${rows} cannot be encoded (this is the first; --bad-rows skip leaves them out).`,
    { file: file ?? first.file, row: first.row, column: first.column },
  );
}

/** Check a policy option. @throws RangeError naming the allowed values */
export function checkBadRowPolicy(policy: unknown, owner = 'badRows'): BadRowPolicy {
  if (policy === undefined) return 'error';
  if (!BAD_ROW_POLICIES.includes(policy as BadRowPolicy)) throw new RangeError(`The '${owner}' option must be 'error' or 'skip'. Got ${JSON.stringify(policy)}.`);
  return policy as BadRowPolicy;
}

/** CSV header of a side file of skipped rows: `row,column,reason`, then the file's own columns. */
export function skippedRowsHeader(header: readonly string[]): string[] {
  return ['row', 'column', 'reason', ...header];
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One side-file line (with its newline). */
export function skippedRowLine(r: SkippedRow): string {
  return [String(r.row), r.column, r.reason, ...r.cells].map(csvField).join(',') + '\n';
}

/**
 * Write skipped rows to a CSV side file (`row,column,reason`, then the row's cells under the
 * file's own header), atomically.
 * @example
 * ```ts
 * const data = loadTraffic('flows.csv', { schema: CICFLOWMETER_SCHEMA, badRows: 'skip' });
 * if (data.skippedRows) writeSkippedRows('flows.skipped.csv', data.header, data.skippedRows);
 * ```
 */
export function writeSkippedRows(file: string, header: readonly string[], rows: readonly SkippedRow[]): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  atomicWriteFile(file, skippedRowsHeader(header).map(csvField).join(',') + '\n' + rows.map(skippedRowLine).join(''));
}

/**
 * A side file written as rows are skipped (streaming), to a temporary file renamed into place by
 * {@link SkippedRowsFile.commit}; {@link SkippedRowsFile.discard} removes it. Nothing is created
 * until the first row.
 */
export class SkippedRowsFile {
  readonly file: string;
  count = 0;
  private fd: number | undefined;
  private tmp: string | undefined;
  private unregister: (() => void) | undefined;

  constructor(file: string) {
    this.file = file;
  }

  add(header: readonly string[], rows: readonly SkippedRow[]): void {
    if (rows.length === 0) return;
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
      this.tmp = isSpecialFile(this.file) ? this.file : tempPathFor(this.file);
      // an interrupted run removes the temporary file
      if (this.tmp !== this.file) this.unregister = registerTempFile(this.tmp);
      this.fd = fs.openSync(this.tmp, this.tmp === this.file ? 'w' : 'wx', 0o644);
      fs.writeSync(this.fd, skippedRowsHeader(header).map(csvField).join(',') + '\n');
    }
    fs.writeSync(this.fd, rows.map(skippedRowLine).join(''));
    this.count += rows.length;
  }

  /** Close and rename into place (when any row was written). */
  commit(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.tmp !== this.file) fs.renameSync(this.tmp!, this.file);
    this.unregister?.();
  }

  /** Close and remove the temporary file. */
  discard(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.tmp !== this.file) fs.rmSync(this.tmp!, { force: true });
    this.unregister?.();
  }
}
