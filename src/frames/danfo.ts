/**
 * danfo.js, loaded lazily: danfojs-node is an optional peer dependency (its import costs 2-3 s and
 * it installs only with package.json overrides), so the library, the CLI and every function that
 * does not return a DataFrame work without it. The first call of {@link danfo} loads it, says
 * clearly what to install when it is missing, and installs the display hooks: a DataFrame, Series
 * or groupby printed with `console.log` (or left as a notebook cell's value, which tslab prints
 * with `console.log`) shows as a formatted text table instead of danfo's internals.
 */
import * as util from 'node:util';
import { MissingDependencyError } from '../core/errors';
import { frameText, type FrameLike } from './format';

/**
 * A danfo.js DataFrame (typed loosely: the package is an optional peer, so its heavy types are
 * not part of this library's). The members used here are typed; every other danfo method
 * (`describe`, `groupby`, `query`, `sortValues`, `loc`, ...) is available as `any`.
 */
export interface DataFrame {
  /** Column names. */
  readonly columns: string[];
  /** Row labels. */
  readonly index: (string | number)[];
  /** The rows, each an array of cells in column order. */
  readonly values: unknown[][];
  /** `[rows, columns]`. */
  readonly shape: [number, number];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [member: string]: any;
}

/** A danfo.js Series: one column with row labels. */
export interface Series {
  readonly index: (string | number)[];
  readonly values: unknown[];
  readonly shape: [number, number];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [member: string]: any;
}

/** The danfojs-node module (`DataFrame`, `Series`, `concat`, `merge`, `toJSON`, ...). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DanfoModule = any;

/** The peer dependency's package name. */
export const DANFO_PACKAGE = 'danfojs-node';

/** What to add to a project's package.json so that danfojs-node 1.2 installs from the npm registry alone. */
export const DANFO_OVERRIDES = { xlsx: '0.18.5', 'danfojs-node': { '@tensorflow/tfjs-node': 'npm:@tensorflow/tfjs@4.22.0' } } as const;

const INSTALL_HELP =
  `Install it beside network-anomaly-lab: npm install danfojs-node@1.2.0. danfojs-node 1.2.0 asks for xlsx from a ` +
  `CDN and for the native @tensorflow/tfjs-node, so on a machine that reaches only the npm registry add first, to ` +
  `your package.json: "overrides": ${JSON.stringify(DANFO_OVERRIDES)}. Everything else in the library works without it.`;

let cached: DanfoModule | undefined;
/** Overridable for tests: how danfojs-node is required. */
let requireDanfo: () => DanfoModule = () => require(DANFO_PACKAGE);

/**
 * The danfojs-node module, loaded on first use, with the display hooks installed.
 * @throws MissingDependencyError when danfojs-node is not installed, or is installed but cannot
 *   load (a dependency of its own missing); the message says what to install
 * @example
 * ```ts
 * const dfd = danfo();
 * const df = new dfd.DataFrame({ a: [1, 2], b: ['x', 'y'] });
 * ```
 */
export function danfo(): DanfoModule {
  if (cached) return cached;
  let mod: DanfoModule;
  try {
    mod = requireDanfo();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err?.code !== 'MODULE_NOT_FOUND') throw e;
    const missing = /Cannot find module '([^']+)'/.exec(err.message)?.[1];
    if (missing === DANFO_PACKAGE) {
      throw new MissingDependencyError(DANFO_PACKAGE, `DataFrames need danfojs-node (danfo.js), an optional peer dependency of network-anomaly-lab that is not installed. ${INSTALL_HELP}`);
    }
    throw new MissingDependencyError(
      DANFO_PACKAGE,
      `danfojs-node is installed but does not load: ${err.message.split('\n')[0]}. ${INSTALL_HELP}`,
    );
  }
  installDisplayHooks(mod);
  cached = mod;
  return mod;
}

/** Whether `x` is a danfo DataFrame or Series (by shape, so any copy of danfo counts). */
export function isFrame(x: unknown): x is DataFrame | Series {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return '$isSeries' in o && Array.isArray(o.values) && Array.isArray(o.index) && Array.isArray(o.shape);
}

/** Whether `x` is a danfo Series. */
export function isSeries(x: unknown): x is Series {
  return isFrame(x) && (x as { $isSeries?: boolean }).$isSeries === true;
}

const HOOKED = Symbol.for('network-anomaly-lab.inspect');

/**
 * Print DataFrames and Series as tables (danfo's own `util.inspect` output is its internal state,
 * and `print()` cuts numbers): `[util.inspect.custom]` on danfo's NDframe (the base of both) and on
 * its groupby class. Idempotent.
 */
function installDisplayHooks(mod: DanfoModule): void {
  const ndframe = mod?.NDframe?.prototype;
  if (ndframe && !ndframe[HOOKED]) {
    Object.defineProperty(ndframe, HOOKED, { value: true });
    Object.defineProperty(ndframe, util.inspect.custom, {
      configurable: true,
      writable: true,
      value(this: FrameLike) {
        return frameText(this);
      },
    });
  }
  try {
    const probe = new mod.DataFrame({ k: ['a'] }).groupby(['k']);
    const proto = Object.getPrototypeOf(probe);
    if (proto && !proto[HOOKED]) {
      Object.defineProperty(proto, HOOKED, { value: true });
      Object.defineProperty(proto, util.inspect.custom, {
        configurable: true,
        writable: true,
        value(this: { keyCol?: string[]; colDict?: Record<string, unknown>; ngroups?: number }) {
          const groups = this.colDict ? Object.keys(this.colDict) : [];
          const shown = groups.slice(0, 10).join(', ') + (groups.length > 10 ? `, ... (${groups.length} in all)` : '');
          return `danfo groupby by ${JSON.stringify(this.keyCol ?? [])}: ${groups.length} groups (${shown}); aggregate it (count, mean, agg, ...) or getGroup(key) to see rows`;
        },
      });
    }
  } catch {
    /* an unexpected danfo version: its own groupby output stays */
  }
}

/** @internal For tests: replace how danfojs-node is loaded (undefined restores the default) and forget the cached module. */
export function setDanfoLoaderForTests(loader?: () => DanfoModule): void {
  requireDanfo = loader ?? (() => require(DANFO_PACKAGE));
  cached = undefined;
}
