/**
 * Exact brute-force k-nearest-neighbour search (Euclidean) over row-major `Float64Array` data, the
 * neighbour engine of {@link LocalOutlierFactor}.
 *
 * Every query is compared with every index row. At 10 features a tree index does not pay off
 * (scikit-learn's own kd-tree is slower than its brute force there), so speed comes from the inner
 * loop instead: a kernel specialised for the number of features (the feature loop unrolled and
 * the query held in locals, two queries per pass over the index), generated once per width and
 * cached. Where code generation is not allowed (a `--disallow-code-generation-from-strings`
 * runtime, a strict Content-Security-Policy) a generic loop gives the same results, about 2x slower.
 */
import type { DenseMatrix } from '../core/matrix';

/** Options of {@link knnSearch}. */
export interface KnnSearchOptions {
  /**
   * The queries are the index rows themselves (query `i` is index row `i`) and a row must not be
   * its own neighbour: leave-one-out neighbours of the training set. Other rows with the same
   * values are still neighbours (at distance 0).
   * @defaultValue false
   */
  excludeSelf?: boolean;
}

/** Result of {@link knnSearch}: `k` neighbours per query, row-major (`nQueries x k`). */
export interface KnnResult {
  /** Neighbours per query. */
  k: number;
  /** Index rows of the neighbours: query `q`'s j-th neighbour is `indices[q*k + j]`. */
  indices: Int32Array;
  /** Euclidean distances to those neighbours, ascending per query. */
  distances: Float64Array;
}

/**
 * The `k` nearest index rows of every query row, exact, by Euclidean distance.
 *
 * @param index - rows searched (`n x d`)
 * @param queries - rows whose neighbours are wanted (`m x d`); with `excludeSelf`, the index itself
 * @param k - neighbours per query, an integer in [0, n] (in [0, n - 1] with `excludeSelf`)
 * @param opts - see {@link KnnSearchOptions}
 * @returns `m x k` indices and distances, each query's neighbours sorted by distance ascending,
 * ties broken by the lower index row
 * @throws RangeError when `k` is out of range, the widths differ, or `excludeSelf` is given
 * queries that are not the index rows
 *
 * @remarks
 * The order is by squared distance, then index; distances are square-rooted at the end. Each
 * squared distance is summed feature by feature in the same order for every pair, so d(a, b) equals
 * d(b, a) exactly and a query equal to an index row is at distance exactly 0.
 *
 * Cost: O(m · n · d) time, O(m · k) memory. With `excludeSelf` every pair is computed once and
 * offered to both rows' lists, which halves the distance computations.
 *
 * @example
 * ```ts
 * const { indices, distances } = knnSearch(train, train, 20, { excludeSelf: true });
 * const kDistance0 = distances[19]; // distance of row 0 to its 20th neighbour
 * ```
 */
export function knnSearch(index: DenseMatrix, queries: DenseMatrix, k: number, opts: KnnSearchOptions = {}): KnnResult {
  const excludeSelf = opts.excludeSelf === true;
  const n = index.rows;
  const d = index.cols;
  const m = queries.rows;
  if (queries.cols !== d && m > 0) {
    throw new RangeError(`knnSearch: the queries have ${queries.cols} columns, the index has ${d}.`);
  }
  const maxK = excludeSelf ? n - 1 : n;
  if (!Number.isInteger(k) || k < 0 || k > Math.max(0, maxK)) {
    throw new RangeError(
      `knnSearch: k must be an integer in [0, ${Math.max(0, maxK)}] for ${n} index rows` +
        `${excludeSelf ? ' searched leave-one-out' : ''}. Got ${k}.`,
    );
  }
  if (excludeSelf && !sameRows(index, queries)) {
    throw new RangeError('knnSearch: excludeSelf needs the queries to be the index rows themselves.');
  }
  const D = new Float64Array(m * k);
  const I = new Int32Array(m * k);
  if (k === 0 || m === 0) return { k, indices: I, distances: D };

  if (excludeSelf) {
    const kernel = selfKernel(d);
    const counts = new Int32Array(n);
    const worst = new Float64Array(n).fill(Infinity);
    kernel(index.data, n, d, k, D, I, counts, worst, insertNeighbour);
  } else {
    queryKernel(d)(index.data, queries.data, n, m, d, k, D, I, insertNeighbour);
  }
  for (let i = 0; i < D.length; i++) D[i] = Math.sqrt(D[i]);
  return { k, indices: I, distances: D };
}

/**
 * Offer candidate `(dist, j)` to the sorted list at `D/I[base .. base+k)` holding `count` entries;
 * returns the new count. Order is `(dist, index)` lexicographic, so the final list does not depend
 * on the order the candidates arrive in.
 */
function insertNeighbour(
  D: Float64Array,
  I: Int32Array,
  base: number,
  k: number,
  count: number,
  dist: number,
  j: number,
): number {
  let p: number;
  if (count < k) {
    p = count;
    count++;
  } else {
    p = k - 1;
    const w = D[base + p];
    if (w < dist || (w === dist && I[base + p] < j)) return count;
  }
  while (p > 0) {
    const a = D[base + p - 1];
    if (a > dist || (a === dist && I[base + p - 1] > j)) {
      D[base + p] = a;
      I[base + p] = I[base + p - 1];
      p--;
    } else break;
  }
  D[base + p] = dist;
  I[base + p] = j;
  return count;
}

type Insert = typeof insertNeighbour;

/** Index rows `X` (n x d) against queries `Q` (m x d); fills squared distances into `D`, rows into `I`. */
type QueryKernel = (
  X: Float64Array,
  Q: Float64Array,
  n: number,
  m: number,
  d: number,
  k: number,
  D: Float64Array,
  I: Int32Array,
  insert: Insert,
) => void;

/** All pairs i < j of `X` (n x d), each offered to both rows' lists. */
type SelfKernel = (
  X: Float64Array,
  n: number,
  d: number,
  k: number,
  D: Float64Array,
  I: Int32Array,
  counts: Int32Array,
  worst: Float64Array,
  insert: Insert,
) => void;

/** Widths above this use the generic loop (an unrolled kernel would be very long). */
const MAX_UNROLLED_WIDTH = 256;
const queryKernels = new Map<number, QueryKernel>();
const selfKernels = new Map<number, SelfKernel>();
let codegenAvailable = true;

function queryKernel(d: number): QueryKernel {
  let kern = queryKernels.get(d);
  if (!kern) {
    kern = (d <= MAX_UNROLLED_WIDTH && compile<QueryKernel>(QUERY_ARGS, unrolledQuerySource(d))) || genericQueryKernel;
    queryKernels.set(d, kern);
  }
  return kern;
}

function selfKernel(d: number): SelfKernel {
  let kern = selfKernels.get(d);
  if (!kern) {
    kern = (d <= MAX_UNROLLED_WIDTH && compile<SelfKernel>(SELF_ARGS, unrolledSelfSource(d))) || genericSelfKernel;
    selfKernels.set(d, kern);
  }
  return kern;
}

const QUERY_ARGS = ['X', 'Q', 'n', 'm', 'd', 'k', 'D', 'I', 'insert'];
const SELF_ARGS = ['X', 'n', 'd', 'k', 'D', 'I', 'counts', 'worst', 'insert'];

/**
 * Compile a kernel whose source is built only from integers (the width), never from user data.
 * Returns undefined where the runtime forbids code generation from strings.
 */
function compile<F>(args: string[], body: string): F | undefined {
  if (!codegenAvailable) return undefined;
  try {
    return new Function(...args, `'use strict';\n${body}`) as F;
  } catch {
    codegenAvailable = false;
    return undefined;
  }
}

/** Source of a query kernel for width `d`: two queries per pass, both held in locals. */
function unrolledQuerySource(d: number): string {
  const sq = (acc: string, f: number) => (f === 0 ? `${acc} = t * t;` : `${acc} += t * t;`);
  const lines: string[] = [];
  lines.push('let q = 0;');
  lines.push('for (; q + 2 <= m; q += 2) {');
  lines.push('  const qa = q * d, qb = qa + d, ba = q * k, bb = ba + k;');
  lines.push('  let ca = 0, cb = 0, wa = Infinity, wb = Infinity;');
  for (let f = 0; f < d; f++) lines.push(`  const a${f} = Q[qa + ${f}], b${f} = Q[qb + ${f}];`);
  lines.push('  for (let j = 0, xb = 0; j < n; j++, xb += d) {');
  lines.push('    let x, t, sa, sb;');
  for (let f = 0; f < d; f++) {
    lines.push(`    x = X[xb + ${f}]; t = x - a${f}; ${sq('sa', f)} t = x - b${f}; ${sq('sb', f)}`);
  }
  lines.push('    if (sa <= wa) { ca = insert(D, I, ba, k, ca, sa, j); if (ca === k) wa = D[ba + k - 1]; }');
  lines.push('    if (sb <= wb) { cb = insert(D, I, bb, k, cb, sb, j); if (cb === k) wb = D[bb + k - 1]; }');
  lines.push('  }');
  lines.push('}');
  lines.push('for (; q < m; q++) {');
  lines.push('  const qa = q * d, ba = q * k;');
  lines.push('  let ca = 0, wa = Infinity;');
  for (let f = 0; f < d; f++) lines.push(`  const a${f} = Q[qa + ${f}];`);
  lines.push('  for (let j = 0, xb = 0; j < n; j++, xb += d) {');
  lines.push('    let t, sa;');
  for (let f = 0; f < d; f++) lines.push(`    t = X[xb + ${f}] - a${f}; ${sq('sa', f)}`);
  lines.push('    if (sa <= wa) { ca = insert(D, I, ba, k, ca, sa, j); if (ca === k) wa = D[ba + k - 1]; }');
  lines.push('  }');
  lines.push('}');
  return lines.join('\n');
}

/** Source of a leave-one-out kernel for width `d`: pairs i < j, row i held in locals. */
function unrolledSelfSource(d: number): string {
  const lines: string[] = [];
  lines.push('for (let i = 0; i < n; i++) {');
  lines.push('  const ib = i * d, bi = i * k;');
  lines.push('  let ci = counts[i], wi = worst[i];');
  for (let f = 0; f < d; f++) lines.push(`  const a${f} = X[ib + ${f}];`);
  lines.push('  for (let j = i + 1, xb = ib + d; j < n; j++, xb += d) {');
  lines.push('    let t, s;');
  for (let f = 0; f < d; f++) lines.push(`    t = X[xb + ${f}] - a${f}; ${f === 0 ? 's = t * t;' : 's += t * t;'}`);
  lines.push('    if (s <= wi) { ci = insert(D, I, bi, k, ci, s, j); if (ci === k) wi = D[bi + k - 1]; }');
  lines.push('    if (s <= worst[j]) {');
  lines.push('      const bj = j * k, cj = insert(D, I, bj, k, counts[j], s, i);');
  lines.push('      counts[j] = cj; if (cj === k) worst[j] = D[bj + k - 1];');
  lines.push('    }');
  lines.push('  }');
  lines.push('  counts[i] = ci; worst[i] = wi;');
  lines.push('}');
  return lines.join('\n');
}

/** Generic query kernel (any width): two queries per pass, the same arithmetic in the same order. */
function genericQueryKernel(
  X: Float64Array,
  Q: Float64Array,
  n: number,
  m: number,
  d: number,
  k: number,
  D: Float64Array,
  I: Int32Array,
  insert: Insert,
): void {
  let q = 0;
  for (; q + 2 <= m; q += 2) {
    const qa = q * d;
    const qb = qa + d;
    const ba = q * k;
    const bb = ba + k;
    let ca = 0;
    let cb = 0;
    let wa = Infinity;
    let wb = Infinity;
    for (let j = 0, xb = 0; j < n; j++, xb += d) {
      let x = X[xb];
      let t = x - Q[qa];
      let sa = t * t;
      t = x - Q[qb];
      let sb = t * t;
      for (let f = 1; f < d; f++) {
        x = X[xb + f];
        t = x - Q[qa + f];
        sa += t * t;
        t = x - Q[qb + f];
        sb += t * t;
      }
      if (sa <= wa) {
        ca = insert(D, I, ba, k, ca, sa, j);
        if (ca === k) wa = D[ba + k - 1];
      }
      if (sb <= wb) {
        cb = insert(D, I, bb, k, cb, sb, j);
        if (cb === k) wb = D[bb + k - 1];
      }
    }
  }
  for (; q < m; q++) {
    const qa = q * d;
    const ba = q * k;
    let ca = 0;
    let wa = Infinity;
    for (let j = 0, xb = 0; j < n; j++, xb += d) {
      let t = X[xb] - Q[qa];
      let s = t * t;
      for (let f = 1; f < d; f++) {
        t = X[xb + f] - Q[qa + f];
        s += t * t;
      }
      if (s <= wa) {
        ca = insert(D, I, ba, k, ca, s, j);
        if (ca === k) wa = D[ba + k - 1];
      }
    }
  }
}

/** Generic leave-one-out kernel (any width). */
function genericSelfKernel(
  X: Float64Array,
  n: number,
  d: number,
  k: number,
  D: Float64Array,
  I: Int32Array,
  counts: Int32Array,
  worst: Float64Array,
  insert: Insert,
): void {
  for (let i = 0; i < n; i++) {
    const ib = i * d;
    const bi = i * k;
    let ci = counts[i];
    let wi = worst[i];
    for (let j = i + 1, xb = ib + d; j < n; j++, xb += d) {
      let t = X[xb] - X[ib];
      let s = t * t;
      for (let f = 1; f < d; f++) {
        t = X[xb + f] - X[ib + f];
        s += t * t;
      }
      if (s <= wi) {
        ci = insert(D, I, bi, k, ci, s, j);
        if (ci === k) wi = D[bi + k - 1];
      }
      if (s <= worst[j]) {
        const bj = j * k;
        const cj = insert(D, I, bj, k, counts[j], s, i);
        counts[j] = cj;
        if (cj === k) worst[j] = D[bj + k - 1];
      }
    }
    counts[i] = ci;
    worst[i] = wi;
  }
}

/** True when `b` holds exactly the rows of `a`. */
function sameRows(a: DenseMatrix, b: DenseMatrix): boolean {
  if (a === b || a.data === b.data) return a.rows === b.rows && a.cols === b.cols;
  if (a.rows !== b.rows || a.cols !== b.cols) return false;
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Test hook: run the generic (non-generated) kernels instead of the unrolled ones, to check both
 * give the same neighbours. Not part of the public API.
 * @internal
 */
export function knnSearchGeneric(index: DenseMatrix, queries: DenseMatrix, k: number, opts: KnnSearchOptions = {}): KnnResult {
  const saved = codegenAvailable;
  const savedQ = new Map(queryKernels);
  const savedS = new Map(selfKernels);
  codegenAvailable = false;
  queryKernels.clear();
  selfKernels.clear();
  try {
    return knnSearch(index, queries, k, opts);
  } finally {
    codegenAvailable = saved;
    queryKernels.clear();
    selfKernels.clear();
    for (const [key, v] of savedQ) queryKernels.set(key, v);
    for (const [key, v] of savedS) selfKernels.set(key, v);
  }
}
