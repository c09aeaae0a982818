/**
 * Tables of DataFrames and Series as text and as HTML, formatted the way pandas shows them: an
 * index column, numbers right-aligned with one number of decimals per column, long frames cut to
 * their first and last rows with the shape below. No danfo import: it reads `columns`, `index`
 * and `values`, so it works on any frame-shaped object.
 */
import { escapeHtml } from '../charts/display';

/** What the formatters read of a DataFrame or Series. */
export interface FrameLike {
  readonly values: readonly unknown[] | readonly (readonly unknown[])[];
  readonly index: readonly (string | number)[];
  readonly columns?: readonly string[];
  readonly $isSeries?: boolean;
}

/** Options of {@link frameText} and {@link frameHtml}. */
export interface FrameFormatOptions {
  /**
   * Most rows shown; a longer frame shows its first and last `maxRows / 2` rows with a `...` row
   * between. @defaultValue 20
   */
  maxRows?: number;
  /** Significant digits of non-integer numbers (each column gets the decimals its values need, at most 6). @defaultValue 4 */
  digits?: number;
  /** Caption above the table (HTML) or first line (text). */
  caption?: string;
  /** Show the index column. @defaultValue true */
  index?: boolean;
}

interface Table {
  columns: string[];
  index: string[];
  /** Cells per shown row, formatted, and whether each column is numeric. */
  cells: string[][];
  numeric: boolean[];
  /** Position of the `...` row among the shown rows, or -1. */
  gap: number;
  rows: number;
  isSeries: boolean;
}

function rowsOf(frame: FrameLike): { columns: string[]; rows: unknown[][]; isSeries: boolean } {
  const isSeries = frame.$isSeries === true || (!frame.columns && !Array.isArray((frame.values as unknown[])[0]));
  if (isSeries) {
    const name = frame.columns?.[0];
    return { columns: [name && name !== '0' ? name : ''], rows: (frame.values as unknown[]).map((v) => [v]), isSeries };
  }
  return { columns: [...(frame.columns ?? [])].map(String), rows: frame.values as unknown[][], isSeries };
}

/** Decimals that show `v` with `digits` significant digits, trailing zeros dropped (2.5 needs 1, 0.03646 needs 5). */
function decimalsFor(v: number, digits: number): number {
  if (v === 0 || !Number.isFinite(v)) return 0;
  const s = String(Number(v.toPrecision(digits)));
  if (s.includes('e')) return Infinity; // shown in exponent form
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

function formatColumn(values: unknown[], digits: number): { text: string[]; numeric: boolean } {
  const nums = values.filter((v): v is number => typeof v === 'number');
  const numeric = nums.length > 0 && values.every((v) => typeof v === 'number' || v === null || v === undefined);
  const floats = nums.filter((v) => Number.isFinite(v) && !Number.isInteger(v));
  // one number of decimals per column: what its non-integer values need, at most 6 (a value that
  // needs more is shown in exponent form and does not widen the column)
  const needs = floats.map((v) => decimalsFor(v, digits)).filter((d) => d <= 6);
  const decimals = needs.length ? Math.max(...needs) : 0;
  const text = values.map((v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return String(v);
      if (floats.length === 0 || Number.isInteger(v)) {
        if (!numeric || floats.length === 0) return String(v);
      }
      // a column that mixes numbers and text: each number on its own, to `digits` significant digits
      if (!numeric) return String(Number(v.toPrecision(digits)));
      const abs = Math.abs(v);
      if (abs !== 0 && (decimalsFor(v, digits) > 6 || abs >= 1e15)) return v.toExponential(digits - 1);
      return v.toFixed(decimals);
    }
    if (v instanceof Date) return v.toISOString();
    if (typeof v === 'object') {
      try {
        return JSON.stringify(v);
      } catch {
        return String(v);
      }
    }
    return String(v);
  });
  return { text, numeric };
}

function layout(frame: FrameLike, opts: FrameFormatOptions): Table {
  const maxRows = Math.max(2, opts.maxRows ?? 20);
  const digits = opts.digits ?? 4;
  const { columns, rows, isSeries } = rowsOf(frame);
  const n = rows.length;
  let picked: number[];
  let gap = -1;
  if (n > maxRows) {
    const head = Math.ceil(maxRows / 2);
    const tail = Math.floor(maxRows / 2);
    picked = [...Array.from({ length: head }, (_, i) => i), ...Array.from({ length: tail }, (_, i) => n - tail + i)];
    gap = head;
  } else picked = Array.from({ length: n }, (_, i) => i);
  const cols = columns.map((_, j) => formatColumn(picked.map((i) => rows[i]?.[j]), digits));
  return {
    columns,
    index: picked.map((i) => String(frame.index[i] ?? i)),
    cells: picked.map((_, k) => cols.map((c) => c.text[k])),
    numeric: cols.map((c) => c.numeric),
    gap,
    rows: n,
    isSeries,
  };
}

function shapeLine(t: Table): string {
  const rows = `${t.rows.toLocaleString('en')} row${t.rows === 1 ? '' : 's'}`;
  return t.isSeries ? `${rows} (Series)` : `${rows} × ${t.columns.length} column${t.columns.length === 1 ? '' : 's'}`;
}

/**
 * A DataFrame or Series as a text table (what `console.log(df)` prints once danfo is loaded
 * through the library): index, columns aligned, numbers rounded per column, the first and last
 * rows of a long frame, and its shape.
 * @example
 * ```ts
 * console.log(frameText(df, { maxRows: 10 }));
 * ```
 */
export function frameText(frame: FrameLike, opts: FrameFormatOptions = {}): string {
  const t = layout(frame, opts);
  const showIndex = opts.index ?? true;
  const header = [...(showIndex ? [''] : []), ...t.columns];
  const body = t.cells.map((r, k) => [...(showIndex ? [t.index[k]] : []), ...r]);
  const numeric = [...(showIndex ? [false] : []), ...t.numeric];
  const widths = header.map((h, j) => Math.max(h.length, ...body.map((r) => r[j].length), t.gap >= 0 ? 3 : 0));
  const fmt = (cells: string[]) => cells.map((c, j) => (numeric[j] ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join('  ').trimEnd();
  const lines = [fmt(header)];
  body.forEach((r, k) => {
    if (k === t.gap) lines.push(fmt(widths.map(() => '...')));
    lines.push(fmt(r));
  });
  lines.push('', `[${shapeLine(t)}]`);
  return (opts.caption ? `${opts.caption}\n` : '') + lines.join('\n');
}

/**
 * A DataFrame or Series as an HTML table: escaped cells, the index in bold, numbers right-aligned
 * with one number of decimals per column, the first and last rows of a long frame, its shape in a
 * footer; wide frames scroll sideways.
 */
export function frameHtml(frame: FrameLike, opts: FrameFormatOptions = {}): string {
  const t = layout(frame, opts);
  const showIndex = opts.index ?? true;
  const cellStyle = 'padding:2px 8px;font-variant-numeric:tabular-nums;white-space:nowrap';
  const th = (s: string, align = 'right') => `<th style="text-align:${align};${cellStyle};border-bottom:1px solid #999">${escapeHtml(s)}</th>`;
  const head = `<tr>${showIndex ? th('') : ''}${t.columns.map((c, j) => th(c, t.numeric[j] ? 'right' : 'left')).join('')}</tr>`;
  const span = t.columns.length + (showIndex ? 1 : 0);
  const rows: string[] = [];
  t.cells.forEach((r, k) => {
    if (k === t.gap) rows.push(`<tr><td colspan="${span}" style="text-align:center;color:#666;${cellStyle}">…</td></tr>`);
    const idx = showIndex ? `<th style="text-align:right;${cellStyle};font-weight:600">${escapeHtml(t.index[k])}</th>` : '';
    const tds = r.map((c, j) => `<td style="text-align:${t.numeric[j] ? 'right' : 'left'};${cellStyle}">${escapeHtml(c)}</td>`);
    rows.push(`<tr>${idx}${tds.join('')}</tr>`);
  });
  const caption = opts.caption ? `<caption style="text-align:left;font-weight:600;padding:4px 0">${escapeHtml(opts.caption)}</caption>` : '';
  const foot = `<div style="color:#666;font-size:11px;padding:2px 8px">${escapeHtml(shapeLine(t))}</div>`;
  return (
    `<div class="nal-frame" style="overflow-x:auto;max-width:100%">` +
    `<table class="nal-table" style="border-collapse:collapse;font-size:12px">${caption}<thead>${head}</thead><tbody>\n${rows.join('\n')}\n</tbody></table>${foot}</div>`
  );
}
