/**
 * Named errors of network-anomaly-lab. Every error the library throws on purpose is one of these
 * (or a built-in `RangeError`/`TypeError` for a bad option), so callers can `instanceof` them and
 * the CLI can print their message as one line.
 */

/** Base class: every library error carries a stable `code` for programmatic handling. */
export class AnomalyLabError extends Error {
  /** Machine-readable error kind, e.g. `"NOT_FITTED"`. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * Thrown when a fitted attribute or a scoring method is used before `fit`.
 * @example
 * ```ts
 * new IsolationForest().anomalyScore([[1, 2]]); // throws NotFittedError
 * ```
 */
export class NotFittedError extends AnomalyLabError {
  constructor(what: string) {
    super(`${what} is not fitted yet: call fit(X) before scoring or saving.`, 'NOT_FITTED');
  }
}

/** Thrown when the number (or names) of features differs from what a model was fitted with. */
export class FeatureMismatchError extends AnomalyLabError {
  readonly expected: number;
  readonly got: number;
  constructor(what: string, expected: number, got: number, detail?: string) {
    super(
      `${what} was fitted with ${expected} features, got ${got}` + (detail ? `: ${detail}` : '.'),
      'FEATURE_MISMATCH',
    );
    this.expected = expected;
    this.got = got;
  }
}

/**
 * Thrown for bad data: a non-finite value, an unparsable cell, a missing column, an empty file.
 * `row` is 1-based as a user counts data rows (the header is row 0), `column` is the column name
 * when known, and `file` the path when the data came from a file.
 */
export class DataValidationError extends AnomalyLabError {
  readonly row?: number;
  readonly column?: string;
  readonly file?: string;
  /** The message without the location prefix (`file, row 3, column 'x': `). */
  readonly reason: string;
  constructor(message: string, where: { row?: number; column?: string; file?: string } = {}) {
    const parts: string[] = [];
    if (where.file !== undefined) parts.push(where.file);
    if (where.row !== undefined) parts.push(`row ${where.row}`);
    if (where.column !== undefined) parts.push(`column '${where.column}'`);
    super(parts.length ? `${parts.join(', ')}: ${message}` : message, 'DATA_VALIDATION');
    this.reason = message;
    this.row = where.row;
    this.column = where.column;
    this.file = where.file;
  }
}

/** Thrown when a saved model cannot be loaded: missing/corrupted file, newer format, unknown class. */
export class ModelFormatError extends AnomalyLabError {
  readonly path?: string;
  constructor(message: string, path?: string) {
    super(path ? `${path}: ${message}` : message, 'MODEL_FORMAT');
    this.path = path;
  }
}

/**
 * Thrown when a feature needs an optional package or program that is not installed: danfo.js for
 * DataFrames, Chromium for PNG/SVG charts. The message says what to install; the rest of the
 * library works without it.
 * @example
 * ```ts
 * try { trafficToDataFrame(data); } catch (e) { if (e instanceof MissingDependencyError) console.log(e.message); }
 * ```
 */
export class MissingDependencyError extends AnomalyLabError {
  /** The package or program that is missing, e.g. `"danfojs-node"` or `"Chromium"`. */
  readonly dependency: string;
  constructor(dependency: string, message: string) {
    super(message, 'MISSING_DEPENDENCY');
    this.dependency = dependency;
  }
}

/** Format an option error in one message shape (scikit-learn's). */
export function optionError(
  owner: string,
  option: string,
  expected: string,
  got: unknown,
): RangeError {
  return new RangeError(`The '${option}' option of ${owner} must be ${expected}. Got ${formatValue(got)}.`);
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/**
 * Thrown (or used as an abort reason) when a run is interrupted, by SIGINT/SIGTERM in the CLI or
 * by an `AbortSignal` in the library. Whatever the run had started to write is removed.
 */
export class InterruptedError extends AnomalyLabError {
  /** The signal that interrupted the run (`SIGINT`, `SIGTERM`), when there was one. */
  readonly signal?: string;
  constructor(signal?: string, detail = 'nothing written') {
    super(`interrupted${signal ? ` by ${signal}` : ''}; ${detail}.`, 'INTERRUPTED');
    this.signal = signal;
  }
}

/**
 * Thrown for a path that cannot be used as asked: an output that is one of the run's inputs (the
 * same file by any name or link), a directory where a file is needed, a model folder that holds
 * things that are not a model, a model part that is not a regular file inside its folder.
 */
export class PathError extends AnomalyLabError {
  readonly path: string;
  constructor(message: string, path: string) {
    super(`${path}: ${message}`, 'PATH');
    this.path = path;
  }
}

/** Thrown when a model folder is locked by another running process (a train or save in progress). */
export class FolderInUseError extends AnomalyLabError {
  readonly path: string;
  /** The process that holds the lock. */
  readonly pid: number;
  constructor(path: string, pid: number, detail = '') {
    super(`${path}: model folder in use by PID ${pid}${detail}; wait for it to finish (or stop it) and try again.`, 'IN_USE');
    this.path = path;
    this.pid = pid;
  }
}
