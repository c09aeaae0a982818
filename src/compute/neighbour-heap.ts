/**
 * The bounded neighbour lists of the exact k-nearest-neighbour searches (brute force, kd-tree,
 * matrix products): a max-heap per query under the (squared distance, index) order, its final
 * sort, and the radix sort that puts a list in index order. Each function is self-contained: the
 * searches' worker threads compile them from their source text.
 */

/** Radix passes (8-bit digits) that sort row numbers below `n`. */
export function indexSortPasses(n: number): number {
  return Math.max(1, Math.ceil((32 - Math.clz32(Math.max(1, n - 1))) / 8));
}

/**
 * Sort the pairs at `D/I[base .. base + k)` by index, ascending (the indices are distinct row
 * numbers): an LSD radix sort on `passes` 8-bit digits through the scratch `tD/tI` (`k` long) and
 * `count` (256). Self-contained (it also runs from its source in the worker threads).
 */
export function sortByIndex(D: Float64Array, I: Int32Array, base: number, k: number, passes: number, tD: Float64Array, tI: Int32Array, count: Int32Array): void {
  let sD = D;
  let sI = I;
  let sb = base;
  let dD = tD;
  let dI = tI;
  let db = 0;
  for (let pass = 0, shift = 0; pass < passes; pass++, shift += 8) {
    count.fill(0);
    for (let j = 0; j < k; j++) count[(sI[sb + j] >>> shift) & 255]++;
    let sum = 0;
    for (let c = 0; c < 256; c++) {
      const t = count[c];
      count[c] = sum;
      sum += t;
    }
    for (let j = 0; j < k; j++) {
      const i = sI[sb + j];
      const o = db + count[(i >>> shift) & 255]++;
      dD[o] = sD[sb + j];
      dI[o] = i;
    }
    const xD = sD;
    const xI = sI;
    const xb = sb;
    sD = dD;
    sI = dI;
    sb = db;
    dD = xD;
    dI = xI;
    db = xb;
  }
  if (sD !== D) {
    for (let j = 0; j < k; j++) {
      D[base + j] = sD[sb + j];
      I[base + j] = sI[sb + j];
    }
  }
}

/**
 * Offer candidate `(dist, j)` to the neighbour list at `D/I[base .. base+k)` holding `count`
 * entries; returns the new count. The list is a max-heap under the `(dist, index)` lexicographic
 * order (its worst entry at `base`), so an accepted candidate costs O(log k) instead of the O(k)
 * shift of a sorted list: that matters for large k (LOF's k = 200). The final list does not depend
 * on the order the candidates arrive in; {@link sortNeighbours} puts it in ascending order.
 */
export function insertNeighbour(
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
    // sift up from the end
    p = count;
    count++;
    while (p > 0) {
      const parent = (p - 1) >> 1;
      const a = D[base + parent];
      if (a < dist || (a === dist && I[base + parent] < j)) {
        D[base + p] = a;
        I[base + p] = I[base + parent];
        p = parent;
      } else break;
    }
    D[base + p] = dist;
    I[base + p] = j;
    return count;
  }
  const w = D[base];
  if (w < dist || (w === dist && I[base] < j)) return count;
  // replace the root (the worst) and sift down
  siftDown(D, I, base, k, 0, dist, j);
  return count;
}

/** Put `(dist, j)` at heap position `p` of the `size`-entry max-heap at `base`, sifting down. */
export function siftDown(D: Float64Array, I: Int32Array, base: number, size: number, p: number, dist: number, j: number): void {
  for (;;) {
    let c = 2 * p + 1;
    if (c >= size) break;
    let cd = D[base + c];
    let ci = I[base + c];
    const r = c + 1;
    if (r < size) {
      const rd = D[base + r];
      const ri = I[base + r];
      if (rd > cd || (rd === cd && ri > ci)) {
        c = r;
        cd = rd;
        ci = ri;
      }
    }
    if (cd > dist || (cd === dist && ci > j)) {
      D[base + p] = cd;
      I[base + p] = ci;
      p = c;
    } else break;
  }
  D[base + p] = dist;
  I[base + p] = j;
}

/** Heap-sort every query's list (a max-heap of `k` entries) into ascending `(dist, index)` order. */
export function sortNeighbours(D: Float64Array, I: Int32Array, m: number, k: number): void {
  for (let q = 0, base = 0; q < m; q++, base += k) {
    for (let size = k - 1; size > 0; size--) {
      const dist = D[base + size];
      const j = I[base + size];
      D[base + size] = D[base];
      I[base + size] = I[base];
      siftDown(D, I, base, size, 0, dist, j);
    }
  }
}

/**
 * A worker block function around a neighbour kernel (`kernel`, a function expression; `call` runs
 * it on the block's queries `Qb` into `D` / `I`): the block's rows searched, sorted and
 * square-rooted, into `b.D` / `b.I`; with `reduce` (a `NeighbourReducer`'s function source)
 * into the worker's own scratch lists instead, each reduced into `b.OUT`. The block function takes
 * the job's WebAssembly arena (if any) as its fifth argument, `arena`, which `call` can use.
 */
export function neighbourBlockSource(kernel: string, call: string, reduce?: string): string {
  const lists = reduce
    ? `const rows = end - start;
    if (!lists || lists.D.length < rows * k || lists.tD.length < k) lists = { D: new Float64Array(rows * k), I: new Int32Array(rows * k), tD: new Float64Array(k), tI: new Int32Array(k), count: new Int32Array(256) };
    const D = lists.D.subarray(0, rows * k), I = lists.I.subarray(0, rows * k);`
    : 'const D = b.D.subarray(start * k, end * k), I = b.I.subarray(start * k, end * k);';
  // sorted by distance and square-rooted; or, to be reduced, by index (cheaper), then reduced
  const finish = reduce
    ? `for (let q = start, base = 0; q < end; q++, base += k) {
      sortByIndex(D, I, base, k, p.passes, lists.tD, lists.tI, lists.count);
      for (let j = base; j < base + k; j++) D[j] = Math.sqrt(D[j]);
      b.OUT[q] = reduce(D, I, base, k, b.A, b.B);
    }`
    : `sortNeighbours(D, I, end - start, k);
    for (let i = 0; i < D.length; i++) D[i] = Math.sqrt(D[i]);`;
  return `(function () {
  'use strict';
  ${siftDown.toString()}
  ${insertNeighbour.toString()}
  ${sortNeighbours.toString()}
  ${sortByIndex.toString()}
  const kern = ${kernel};
  const reduce = ${reduce ?? 'null'};
  let stamps = null, lists = null;
  return function (b, p, start, end, arena) {
    const d = p.d, k = p.k;
    ${lists}
    const Qb = b.Q ? b.Q.subarray(start * d, end * d) : null;
    ${call}
    ${finish}
  };
})()`;
}

/** The signature of {@link insertNeighbour}, which the search kernels receive as an argument. */
export type Insert = typeof insertNeighbour;
