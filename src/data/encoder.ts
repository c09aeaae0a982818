/**
 * {@link TrafficEncoder}: turns a CSV's feature columns into the numeric matrix the detectors see.
 * Numeric columns pass through, or through ln(1 + x) when the description log-scales them (by
 * name, or `"auto"`: the training columns that are non-negative and heavy-tailed); each
 * categorical column becomes one 0/1 column per category learned at fit time (one-hot,
 * scikit-learn's `OneHotEncoder(handle_unknown="ignore")`). A category not seen at fit time
 * encodes as all zeros in its block and is counted, and a log-scaled value below the column's
 * training domain is clamped to it and counted, so scoring new traffic never fails on a new
 * service name or a negative byte count.
 */
import { DataValidationError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { parseNumber } from './cells';

/** JSON form of a fitted encoder (stored in model manifests). */
export interface TrafficEncoderState {
  /** Input feature columns, in model order. */
  columns: string[];
  /** Categories of each categorical column, sorted; columns not listed are numeric. */
  categories: Record<string, string[]>;
  /** Numeric columns replaced by ln(1 + x). */
  log1p?: string[];
  /**
   * The lowest value of each log-scaled column before ln(1 + x): min(0, its training minimum).
   * Lower values are clamped to it. Models saved before this field existed read it as 0.
   */
  log1pFloor?: Record<string, number>;
}

/** Rows whose category was not seen at fit time, per categorical column. */
export interface UnseenCategories {
  /** Column -> number of rows with an unseen category. */
  rows: Record<string, number>;
  /** Column -> unseen value -> rows. */
  values: Record<string, Record<string, number>>;
}

/** Log-scaled values below their column's training domain, clamped to it, per column. */
export interface ClampedValues {
  /** Column -> number of rows clamped. */
  rows: Record<string, number>;
  /** Column -> the lowest value seen. */
  lowest: Record<string, number>;
}

/**
 * Receives a cell that cannot be encoded (a bad number, an empty cell, a log-scaled training
 * value that is not above -1) instead of an exception: `row` is the 0-based index of the record,
 * `error` the error that would have been thrown (naming file, row and column).
 */
export type BadCellHandler = (row: number, column: string, error: DataValidationError) => void;

/** Result of {@link TrafficEncoder.encode}. */
export interface EncodedRows {
  X: DenseMatrix;
  unseen: UnseenCategories;
  clamped: ClampedValues;
}

/** How a description log-scales numeric columns (see {@link DatasetSchema.log1p}). */
export type Log1pOption = readonly string[] | 'numeric' | 'auto' | 'none';

/**
 * `log1p: "auto"` log-scales a numeric column when its training values are all >= 0 and their
 * sample skewness (the third standardised moment) is above this. Byte, packet and duration
 * columns of flow data have skewness in the tens; a symmetric column has 0 and an exponential one
 * 2. Chosen on the tuning half of the quality benchmark (bench/quality.mjs, results/QUALITY.md).
 */
export const LOG1P_AUTO_SKEWNESS = 2;

/**
 * Whether `log1p: "auto"` log-scales a column with these training values: all finite values
 * non-negative, at least two distinct, and skewness above {@link LOG1P_AUTO_SKEWNESS}.
 * Non-finite values are left out (they are reported when the rows are encoded).
 */
export function isHeavyTailed(values: ArrayLike<number>): boolean {
  let n = 0;
  let mean = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < 0) return false;
    n++;
    mean += (v - mean) / n;
  }
  if (n < 3) return false;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    const e = v - mean;
    m2 += e * e;
    m3 += e * e * e;
  }
  m2 /= n;
  m3 /= n;
  if (!(m2 > 0)) return false;
  return m3 / Math.pow(m2, 1.5) > LOG1P_AUTO_SKEWNESS;
}

/**
 * Most categories one column may have. A column with more (an address, a free-text field) would
 * blow the feature count up; it should not be a categorical feature.
 */
export const MAX_CATEGORIES = 1000;

/** Name of the one-hot column of `value` in categorical column `column`. */
export function oneHotName(column: string, value: string): string {
  return `${column}=${value}`;
}

/**
 * Numeric pass-through plus one-hot encoding of categorical columns, fitted on training records.
 *
 * @remarks
 * Output columns keep the input order; a categorical column is replaced in place by its block of
 * one-hot columns named `column=value`, categories sorted by code unit. Values are trimmed.
 *
 * @example
 * ```ts
 * const enc = TrafficEncoder.fit(records, header, ['duration', 'protocol_type'], ['protocol_type']);
 * enc.featureNames; // ['duration', 'protocol_type=icmp', 'protocol_type=tcp', 'protocol_type=udp']
 * const { X, unseen } = enc.encode(otherRecords, otherHeader);
 * ```
 */
export class TrafficEncoder {
  /** Input feature columns, in model order. */
  readonly columns: readonly string[];
  /** Sorted categories per categorical column. */
  readonly categories: Readonly<Record<string, readonly string[]>>;
  /** Output column names: numeric columns as named, one-hot columns as `column=value`. */
  readonly featureNames: readonly string[];
  /** Numeric columns encoded as ln(1 + x) (they keep their names). */
  readonly log1p: readonly string[];
  /** Per log-scaled column, the value lower cells are clamped to before ln(1 + x). */
  readonly log1pFloor: Readonly<Record<string, number>>;

  private constructor(state: TrafficEncoderState) {
    this.columns = [...state.columns];
    this.log1p = [...(state.log1p ?? [])];
    this.log1pFloor = Object.fromEntries(this.log1p.map((c) => [c, state.log1pFloor?.[c] ?? 0]));
    this.categories = Object.fromEntries(Object.entries(state.categories).map(([k, v]) => [k, [...v]]));
    const names: string[] = [];
    for (const c of this.columns) {
      const cats = this.categories[c];
      if (cats) for (const v of cats) names.push(oneHotName(c, v));
      else names.push(c);
    }
    this.featureNames = names;
  }

  /** The categorical input columns. */
  get categorical(): string[] {
    return this.columns.filter((c) => this.categories[c] !== undefined);
  }

  /**
   * Learn the categories of the categorical columns from training records.
   * @param records - rows of cells, as read from the CSV
   * @param header - column names of the records
   * @param columns - the feature columns, in model order
   * @param categorical - which of them are categorical
   * @param opts.log1p - numeric columns to encode as ln(1 + x), `"numeric"` for all of them,
   *   `"auto"` for the non-negative heavy-tailed ones ({@link isHeavyTailed}) or `"none"`
   *   @defaultValue "none"
   * @param opts.onBadCell - called for an empty categorical cell, or a log-scaled training value
   *   that is not above -1, instead of throwing (the row's value is then not learned)
   * @throws DataValidationError for a missing column, an empty categorical cell (with row and
   *   column), a column with more than {@link MAX_CATEGORIES} categories, or a training value of a
   *   log-scaled column that is not above -1
   */
  static fit(
    records: readonly (readonly string[])[],
    header: readonly string[],
    columns: readonly string[],
    categorical: readonly string[],
    opts: { file?: string; log1p?: Log1pOption; onBadCell?: BadCellHandler } = {},
  ): TrafficEncoder {
    const index = columnIndex(header, columns, opts.file);
    const categories: Record<string, string[]> = {};
    for (const c of categorical) {
      if (!columns.includes(c)) throw new DataValidationError(`categorical column '${c}' is not a feature column.`, { file: opts.file });
      const j = index.get(c)!;
      const seen = new Set<string>();
      for (let i = 0; i < records.length; i++) {
        const v = records[i][j].trim();
        if (v === '') {
          const e = new DataValidationError('empty value; every feature needs a value.', { file: opts.file, row: i + 1, column: c });
          if (!opts.onBadCell) throw e;
          opts.onBadCell(i, c, e);
          continue;
        }
        seen.add(v);
      }
      if (seen.size > MAX_CATEGORIES) {
        throw new DataValidationError(
          `has ${seen.size} distinct values; one-hot encoding allows at most ${MAX_CATEGORIES}. Leave it out of the features (or encode it numerically).`,
          { file: opts.file, column: c },
        );
      }
      categories[c] = [...seen].sort(codeUnitOrder);
    }
    const numeric = columns.filter((c) => categories[c] === undefined);
    const mode = opts.log1p ?? 'none';
    // the numeric columns' training values, a block of columns per pass over the rows (reading one
    // column down the rows took 0.6 µs a cell at 1,555 columns: a cache miss per cell); a block
    // holds at most 2^23 values (64 MB). Cells that are not numbers are left out here and reported
    // when the rows are encoded
    const n = records.length;
    const perBlock = Math.max(1, Math.floor(2 ** 23 / Math.max(1, n)));
    const numericAt = new Map(numeric.map((c, k) => [c, k] as const));
    let block: { k0: number; values: Float64Array } | undefined;
    const trainingValues = (c: string): Float64Array => {
      const k = numericAt.get(c)!;
      const k0 = k - (k % perBlock);
      if (!block || block.k0 !== k0) {
        const js = numeric.slice(k0, k0 + perBlock).map((col) => index.get(col)!);
        const values = new Float64Array(js.length * n);
        for (let i = 0; i < n; i++) {
          const r = records[i];
          for (let t = 0; t < js.length; t++) values[t * n + i] = +r[js[t]];
        }
        block = { k0, values };
      }
      return block.values.subarray((k - k0) * n, (k - k0 + 1) * n);
    };
    let log1p: string[];
    if (mode === 'numeric') log1p = numeric;
    else if (mode === 'none') log1p = [];
    else if (mode === 'auto') log1p = numeric.filter((c) => isHeavyTailed(trainingValues(c)));
    else log1p = [...mode];
    const numericSet = new Set(numeric);
    const stray = log1p.filter((c) => !numericSet.has(c));
    if (stray.length) throw new DataValidationError(`log-scaled column${stray.length > 1 ? 's' : ''} ${stray.map((c) => `'${c}'`).join(', ')} must be numeric feature columns.`, { file: opts.file });
    const log1pFloor: Record<string, number> = {};
    for (const c of log1p) {
      const v = trainingValues(c);
      let min = 0;
      for (let i = 0; i < v.length; i++) {
        if (!(v[i] > -1) && !Number.isNaN(v[i])) {
          const e = new DataValidationError(`value ${v[i]} is not above -1; this column is log-scaled as ln(1 + x).`, { file: opts.file, row: i + 1, column: c });
          if (!opts.onBadCell) throw e;
          opts.onBadCell(i, c, e);
          continue;
        }
        if (v[i] < min) min = v[i];
      }
      log1pFloor[c] = min;
    }
    return new TrafficEncoder({ columns: [...columns], categories, ...(log1p.length ? { log1p, log1pFloor } : {}) });
  }

  /**
   * Encode records: numeric cells parsed (bad cells reported by row and column), categorical cells
   * one-hot. Unseen categories give an all-zero block and are counted in `unseen`; a log-scaled
   * value below its column's training domain ({@link log1pFloor}) is clamped to it and counted in
   * `clamped`.
   * With `opts.onBadCell`, a cell that cannot be encoded goes to it instead of being thrown.
   * @throws DataValidationError naming the file, row and column of the first bad cell, or the
   *   missing columns
   */
  encode(records: readonly (readonly string[])[], header: readonly string[], opts: { file?: string; onBadCell?: BadCellHandler } = {}): EncodedRows {
    const file = opts.file;
    const onBad = opts.onBadCell;
    // a cell that cannot be encoded: thrown, or handed to onBadCell (the row's values are then
    // incomplete; the caller drops the row)
    const bad = (e: unknown, i: number, c: string): void => {
      if (!onBad || !(e instanceof DataValidationError)) throw e;
      onBad(i, c, e);
    };
    const index = columnIndex(header, this.columns, file);
    const n = records.length;
    const d = this.featureNames.length;
    const data = new Float64Array(n * d);
    const unseen: UnseenCategories = { rows: {}, values: {} };
    const clamped: ClampedValues = { rows: {}, lowest: {} };
    const logged = new Set(this.log1p);
    let offset = 0;
    for (const c of this.columns) {
      const j = index.get(c)!;
      const cats = this.categories[c];
      if (!cats) {
        if (logged.has(c)) {
          const floor = this.log1pFloor[c];
          for (let i = 0; i < n; i++) {
            try {
              let v = parseNumber(records[i][j], i + 1, c, file);
              if (v < floor) {
                clamped.rows[c] = (clamped.rows[c] ?? 0) + 1;
                if (!(v >= clamped.lowest[c])) clamped.lowest[c] = v;
                v = floor;
              }
              data[i * d + offset] = Math.log1p(v);
            } catch (e) {
              bad(e, i, c);
            }
          }
        } else {
          for (let i = 0; i < n; i++) {
            try {
              data[i * d + offset] = parseNumber(records[i][j], i + 1, c, file);
            } catch (e) {
              bad(e, i, c);
            }
          }
        }
        offset++;
        continue;
      }
      const pos = new Map(cats.map((v, k) => [v, offset + k] as const));
      for (let i = 0; i < n; i++) {
        const raw = records[i][j];
        let at = pos.get(raw);
        if (at === undefined) {
          const v = raw.trim();
          at = pos.get(v);
          if (at === undefined) {
            if (v === '') {
              bad(new DataValidationError('empty value; every feature needs a value.', { file, row: i + 1, column: c }), i, c);
              continue;
            }
            unseen.rows[c] = (unseen.rows[c] ?? 0) + 1;
            const vals = (unseen.values[c] ??= {});
            vals[v] = (vals[v] ?? 0) + 1;
            continue;
          }
        }
        data[i * d + at] = 1;
      }
      offset += cats.length;
    }
    return { X: { rows: n, cols: d, data }, unseen, clamped };
  }

  /** JSON form, for model manifests. */
  toJSON(): TrafficEncoderState {
    return {
      columns: [...this.columns],
      categories: Object.fromEntries(Object.entries(this.categories).map(([k, v]) => [k, [...v]])),
      ...(this.log1p.length ? { log1p: [...this.log1p], log1pFloor: { ...this.log1pFloor } } : {}),
    };
  }

  /**
   * Restore from {@link toJSON}'s output.
   * @throws TypeError for a malformed state
   */
  static fromJSON(state: TrafficEncoderState): TrafficEncoder {
    const ok =
      state !== null &&
      typeof state === 'object' &&
      Array.isArray(state.columns) &&
      state.columns.every((c) => typeof c === 'string') &&
      typeof state.categories === 'object' &&
      state.categories !== null &&
      Object.entries(state.categories).every(
        ([k, v]) => state.columns.includes(k) && Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'),
      ) &&
      (state.log1p === undefined || (Array.isArray(state.log1p) && state.log1p.every((c) => state.columns.includes(c) && !(c in state.categories)))) &&
      (state.log1pFloor === undefined ||
        (typeof state.log1pFloor === 'object' &&
          state.log1pFloor !== null &&
          Object.entries(state.log1pFloor).every(([k, v]) => (state.log1p ?? []).includes(k) && typeof v === 'number' && v > -1 && v <= 0)));
    if (!ok) throw new TypeError('TrafficEncoder.fromJSON: expected {columns: string[], categories: {column: string[]}, log1p?: string[], log1pFloor?: {column: number in (-1, 0]}}.');
    return new TrafficEncoder(state);
  }
}

/** One-line summary of unseen categories, or undefined when there were none. */
export function describeUnseen(unseen: UnseenCategories, file?: string): string | undefined {
  const cols = Object.keys(unseen.rows);
  if (cols.length === 0) return undefined;
  const parts = cols.map((c) => {
    const vals = Object.entries(unseen.values[c]).sort((a, b) => b[1] - a[1]);
    const shown = vals.slice(0, 5).map(([v, k]) => `'${v.length > 30 ? v.slice(0, 27) + '...' : v}' ${k}`);
    const more = vals.length > 5 ? `, ${vals.length - 5} more` : '';
    return `${c}: ${unseen.rows[c]} row${unseen.rows[c] > 1 ? 's' : ''} (${shown.join(', ')}${more})`;
  });
  return `${file ? file + ': ' : ''}categories not seen in training, encoded as all zeros: ${parts.join('; ')}.`;
}

/** One-line summary of clamped log-scaled values, or undefined when there were none. */
export function describeClamped(clamped: ClampedValues, file?: string): string | undefined {
  const cols = Object.keys(clamped.rows);
  if (cols.length === 0) return undefined;
  const parts = cols.map((c) => `${c}: ${clamped.rows[c]} row${clamped.rows[c] > 1 ? 's' : ''} (lowest ${clamped.lowest[c]})`);
  return `${file ? file + ': ' : ''}${CLAMPED_MARK} (raised to the training minimum, at most 0, before ln(1 + x)): ${parts.join('; ')}.`;
}

/** The start of {@link describeClamped}'s message (streams add up the counts over chunks). */
export const CLAMPED_MARK = 'values below the training range of log-scaled columns';

/** Add the clamped counts of `b` to `acc`. */
export function addClamped(acc: ClampedValues, b: ClampedValues): void {
  for (const [c, k] of Object.entries(b.rows)) {
    acc.rows[c] = (acc.rows[c] ?? 0) + k;
    if (!(b.lowest[c] >= acc.lowest[c])) acc.lowest[c] = b.lowest[c];
  }
}

function columnIndex(header: readonly string[], columns: readonly string[], file?: string): Map<string, number> {
  const all = new Map(header.map((h, j) => [h, j] as const));
  const index = new Map<string, number>();
  const missing: string[] = [];
  for (const c of columns) {
    const j = all.get(c);
    if (j === undefined) missing.push(c);
    else index.set(c, j);
  }
  if (missing.length) {
    throw new DataValidationError(`missing required column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')}.`, { file });
  }
  return index;
}

function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
