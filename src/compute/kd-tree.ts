/**
 * A kd-tree over row-major `Float64Array` rows for the exact k-nearest-neighbour search of
 * {@link knnSearch}: the same neighbours, the same tie-breaking and the same distances to the bit
 * as its brute force, found with far fewer distance computations on low-dimensional data.
 *
 * Layout (scikit-learn's): a complete binary tree stored implicitly (node `i` has children
 * `2i + 1` and `2i + 2`), each node a contiguous range of a permutation of the rows; a node is
 * split at its middle position on the feature of largest spread, with scikit-learn's number of
 * levels, so leaves hold between `leafSize` and `2 · leafSize` rows (fewer when the whole index is
 * smaller). The rows are copied in tree order (leaf scans read memory
 * sequentially) and every node keeps its tight bounding box.
 *
 * Exactness. A squared distance is summed feature by feature in the same order, from the same
 * differences `index - query`, as the brute force, so it is the same double. A node's lower bound
 * is summed the same way from the gaps between the query and the box; IEEE rounding is monotone,
 * so the rounded bound is never above the rounded distance of any row in the box. A node is
 * skipped only when its bound is strictly greater than the current k-th squared distance, so a
 * row tied with the k-th (which may win by its lower index) is never skipped. Candidates go
 * through the same bounded max-heap, whose final content does not depend on the order they
 * arrive in: the result is the brute force's.
 */
import type { DenseMatrix } from '../core/matrix';

/** A built tree (typed arrays only, so it can live in shared memory for the worker threads). */
export interface KdTree {
  /** Rows and width of the indexed data. */
  n: number;
  d: number;
  /** Nodes (a complete binary tree, `2^levels - 1`) and the first leaf (`2^(levels-1) - 1`). */
  nNodes: number;
  firstLeaf: number;
  /** The rows in tree order (`n x d`). */
  data: Float64Array;
  /** Original row of each tree-order position. */
  perm: Int32Array;
  /** Range `[start, end)` of tree-order positions of each node. */
  start: Int32Array;
  end: Int32Array;
  /** Bounding box of each node (`nNodes x d`). */
  lo: Float64Array;
  hi: Float64Array;
}

/** Rows per leaf at most (scikit-learn's `leaf_size` default for LOF is 30; leaves hold 32-64 rows here). */
export const KD_LEAF_SIZE = 32;

/** Deepest tree: a query's stack holds at most one pending sibling per level plus the current node. */
const MAX_LEVELS = 40;
/** Stack slots a query needs (see {@link MAX_LEVELS}). */
export const KD_STACK_SIZE = 2 * MAX_LEVELS + 4;

/**
 * Build the tree of `X` (the rows must be finite). O(n log n · d) time, O(n · d) memory (a copy of
 * the rows in tree order).
 */
export function buildKdTree(X: DenseMatrix, leafSize = KD_LEAF_SIZE, alloc: AllocFloat = (len) => new Float64Array(len), allocInt: AllocInt = (len) => new Int32Array(len)): KdTree {
  const n = X.rows;
  const d = X.cols;
  const src = X.data;
  const levels = Math.min(MAX_LEVELS, 1 + Math.floor(Math.log2(Math.max(1, (n - 1) / leafSize))));
  const nNodes = 2 ** levels - 1;
  const firstLeaf = 2 ** (levels - 1) - 1;
  const perm = allocInt(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const start = allocInt(nNodes);
  const end = allocInt(nNodes);
  const lo = alloc(nNodes * d);
  const hi = alloc(nNodes * d);
  start[0] = 0;
  end[0] = n;
  for (let node = 0; node < nNodes; node++) {
    const s = start[node];
    const e = end[node];
    // bounding box of the node's rows
    const nb = node * d;
    for (let f = 0; f < d; f++) {
      lo[nb + f] = Infinity;
      hi[nb + f] = -Infinity;
    }
    for (let p = s; p < e; p++) {
      const rb = perm[p] * d;
      for (let f = 0; f < d; f++) {
        const v = src[rb + f];
        if (v < lo[nb + f]) lo[nb + f] = v;
        if (v > hi[nb + f]) hi[nb + f] = v;
      }
    }
    if (node >= firstLeaf) continue;
    // split at the middle position on the feature of largest spread
    let best = 0;
    let spread = -1;
    for (let f = 0; f < d; f++) {
      const w = hi[nb + f] - lo[nb + f];
      if (w > spread) {
        spread = w;
        best = f;
      }
    }
    const mid = s + ((e - s) >> 1);
    if (e - s > 1) selectNth(perm, src, d, best, s, e - 1, mid);
    const l = 2 * node + 1;
    start[l] = s;
    end[l] = mid;
    start[l + 1] = mid;
    end[l + 1] = e;
  }
  const data = alloc(n * d);
  for (let p = 0; p < n; p++) {
    const rb = perm[p] * d;
    for (let f = 0; f < d; f++) data[p * d + f] = src[rb + f];
  }
  return { n, d, nNodes, firstLeaf, data, perm, start, end, lo, hi };
}

type AllocFloat = (length: number) => Float64Array;
type AllocInt = (length: number) => Int32Array;

/**
 * Reorder `perm[left..right]` so the row at position `nth` has the nth smallest value of feature
 * `f`, smaller-or-equal values before it and greater-or-equal after (Hoare quickselect, median of
 * three pivots; deterministic).
 */
function selectNth(perm: Int32Array, X: Float64Array, d: number, f: number, left: number, right: number, nth: number): void {
  while (right > left) {
    const m = (left + right) >> 1;
    // median of three as pivot value
    const a = X[perm[left] * d + f];
    const b = X[perm[m] * d + f];
    const c = X[perm[right] * d + f];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = left;
    let j = right;
    while (i <= j) {
      while (X[perm[i] * d + f] < pivot) i++;
      while (X[perm[j] * d + f] > pivot) j--;
      if (i <= j) {
        const t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        i++;
        j--;
      }
    }
    if (nth <= j) right = j;
    else if (nth >= i) left = i;
    else return;
  }
}

/**
 * A tree query kernel: the `k` nearest tree rows of each query row, in the bounded max-heap at
 * `D/I[q*k .. q*k + k)` (squared distances, original row numbers), not yet sorted. Adds the rows
 * scanned and the inner nodes opened to `work[0]` and `work[1]` when given.
 */
export type TreeKernel = (
  X: Float64Array,
  P: Int32Array,
  NS: Int32Array,
  NE: Int32Array,
  LO: Float64Array,
  HI: Float64Array,
  firstLeaf: number,
  Q: Float64Array,
  m: number,
  d: number,
  k: number,
  D: Float64Array,
  I: Int32Array,
  insert: (D: Float64Array, I: Int32Array, base: number, k: number, count: number, dist: number, j: number) => number,
  work: Float64Array | undefined,
  warm: WarmStart | null,
) => void;

/**
 * What a query's search may start from (see {@link treeKernelSource}): `G` holds `h` neighbours
 * of every index row (original row numbers, row-major, the row itself not among them), or is null
 * to start each query (but the first) from the previous query's list; `XO` the index rows in their
 * original order, and `ST` one stamp per index row, all below `stamp`; query `q` writes the stamp
 * `stamp + q`, so the caller advances `stamp` by the queries searched.
 */
export interface WarmStart {
  G: Int32Array | null;
  h: number;
  XO: Float64Array;
  ST: Int32Array;
  stamp: number;
}

export const TREE_ARGS = ['X', 'P', 'NS', 'NE', 'LO', 'HI', 'firstLeaf', 'Q', 'm', 'd', 'k', 'D', 'I', 'insert', 'work', 'warm'];

/**
 * Source of the tree query kernel for width `d` (the body of a {@link TreeKernel} with
 * {@link TREE_ARGS}): the query held in locals, the distance and box-bound sums unrolled. Built
 * only from the integer `d`.
 *
 * Warm start (`warm` given): before the tree walk, the query descends to the leaf whose box is
 * nearest, takes that leaf's nearest row `o` and offers `o` and its `h` listed neighbours to the
 * list (without lists, `G` null: the previous query's final list, for queries that follow each
 * other in space such as the index rows in tree order). They lie around the query, so the list starts full with a k-th distance close to the
 * final one, and the walk then offers few rows (k = 200 on the seed traffic: 74 heap updates per
 * query instead of 608). Rows offered there are stamped and not offered again by the walk. The
 * result does not change: the final list holds the k smallest `(distance, index)` pairs of every
 * row offered, and the walk still offers every row that can belong to it (a node is skipped only
 * when its bound is above a k-th distance of rows actually offered).
 */
export function treeKernelSource(d: number): string {
  const L: string[] = [];
  const sq = (acc: string, f: number) => (f === 0 ? `${acc} = t * t;` : `${acc} += t * t;`);
  L.push(`const stN = new Int32Array(${KD_STACK_SIZE}), stB = new Float64Array(${KD_STACK_SIZE});`);
  L.push('const G = warm === null ? null : warm.G, h = warm === null ? 0 : warm.h, XO = warm === null ? X : warm.XO;');
  L.push('const ST = warm === null ? new Int32Array(0) : warm.ST, stamp = warm === null ? 0 : warm.stamp;');
  L.push('let scanned = 0, opened = 0;');
  L.push('for (let q = 0; q < m; q++) {');
  L.push('  const qa = q * d, base = q * k;');
  for (let f = 0; f < d; f++) L.push(`  const a${f} = Q[qa + ${f}];`);
  L.push('  let c = 0, w = Infinity, sp = 1;');
  L.push('  const st = warm === null ? -1 : stamp + q;');
  // offer listed row `r` (original order, in XO) once: stamped, so the walk skips it
  const offerListed = (indent: string) => {
    L.push(`${indent}if (ST[r] === st) continue;`);
    L.push(`${indent}ST[r] = st;`);
    L.push(`${indent}const xb = r * d;`);
    L.push(`${indent}let t, s;`);
    for (let f = 0; f < d; f++) L.push(`${indent}t = XO[xb + ${f}] - a${f}; ${sq('s', f)}`);
    L.push(`${indent}if (s <= w) { c = insert(D, I, base, k, c, s, r); if (c === k) w = D[base]; }`);
  };
  L.push('  if (warm !== null && G === null) {');
  L.push('    // the previous query\'s list (queries in tree order are near each other)');
  L.push('    for (let j = base - k; j >= 0 && j < base; j++) {');
  L.push('      const r = I[j];');
  offerListed('      ');
  L.push('    }');
  L.push('  } else if (warm !== null) {');
  L.push('    let node = 0;');
  L.push('    while (node < firstLeaf) {');
  L.push('      const l = 2 * node + 1, lb = l * d, rb = lb + d;');
  L.push('      let t, bl, br;');
  boxBounds(L, d, '      ');
  L.push('      node = bl <= br ? l : l + 1;');
  L.push('    }');
  L.push('    let best = Infinity, o = -1;');
  L.push('    for (let p = NS[node], e = NE[node], xb = p * d; p < e; p++, xb += d) {');
  L.push('      let t, s;');
  for (let f = 0; f < d; f++) L.push(`      t = X[xb + ${f}] - a${f}; ${sq('s', f)}`);
  L.push('      if (s < best || o < 0) { best = s; o = P[p]; }'); // o < 0: distances overflowing to Infinity
  L.push('    }');
  L.push('    ST[o] = st; c = insert(D, I, base, k, c, best, o); if (c === k) w = D[base];');
  L.push('    for (let j = o * h, je = j + h; j < je; j++) {');
  L.push('      const r = G[j];');
  offerListed('      ');
  L.push('    }');
  L.push('  }');
  L.push('  stN[0] = 0; stB[0] = 0;');
  L.push('  while (sp > 0) {');
  L.push('    sp--;');
  L.push('    if (stB[sp] > w) continue;');
  L.push('    const node = stN[sp];');
  L.push('    if (node >= firstLeaf) {');
  L.push('      const e = NE[node];');
  L.push('      let p = NS[node];');
  L.push('      scanned += e - p;');
  L.push('      for (let xb = p * d; p < e; p++, xb += d) {');
  L.push('        let t, s;');
  for (let f = 0; f < d; f++) L.push(`        t = X[xb + ${f}] - a${f}; ${sq('s', f)}`);
  L.push('        if (s <= w && (st < 0 || ST[P[p]] !== st)) { c = insert(D, I, base, k, c, s, P[p]); if (c === k) w = D[base]; }');
  L.push('      }');
  L.push('      continue;');
  L.push('    }');
  L.push('    opened++;');
  L.push('    const l = 2 * node + 1, lb = l * d, rb = lb + d;');
  L.push('    let t, bl, br;');
  boxBounds(L, d, '    ');
  // the nearer child is pushed last, so it is searched first
  L.push('    if (bl <= br) {');
  L.push('      if (br <= w) { stN[sp] = l + 1; stB[sp] = br; sp++; }');
  L.push('      if (bl <= w) { stN[sp] = l; stB[sp] = bl; sp++; }');
  L.push('    } else {');
  L.push('      if (bl <= w) { stN[sp] = l; stB[sp] = bl; sp++; }');
  L.push('      if (br <= w) { stN[sp] = l + 1; stB[sp] = br; sp++; }');
  L.push('    }');
  L.push('  }');
  L.push('}');
  L.push('if (work) { work[0] += scanned; work[1] += opened; }');
  return L.join('\n');
}

/** Unrolled box bounds `bl` / `br` of the children whose boxes start at `lb` / `rb` (see {@link boxBound}). */
function boxBounds(L: string[], d: number, indent: string): void {
  const sq = (acc: string, f: number) => (f === 0 ? `${acc} = t * t;` : `${acc} += t * t;`);
  for (const [acc, nb] of [['bl', 'lb'], ['br', 'rb']]) {
    for (let f = 0; f < d; f++) {
      L.push(`${indent}t = LO[${nb} + ${f}] - a${f}; if (!(t > 0)) { t = a${f} - HI[${nb} + ${f}]; if (!(t > 0)) t = 0; } ${sq(acc, f)}`);
    }
  }
}

/**
 * The tree query kernel as a plain loop over the features (any width; where code generation is
 * not allowed): the same arithmetic in the same order as {@link treeKernelSource}'s.
 */
export const genericTreeKernel: TreeKernel = (X, P, NS, NE, LO, HI, firstLeaf, Q, m, d, k, D, I, insert, work, warm) => {
  const stN = new Int32Array(KD_STACK_SIZE);
  const stB = new Float64Array(KD_STACK_SIZE);
  let scanned = 0;
  let opened = 0;
  for (let q = 0; q < m; q++) {
    const qa = q * d;
    const base = q * k;
    let c = 0;
    let w = Infinity;
    let sp = 1;
    const st = warm === null ? -1 : warm.stamp + q;
    if (warm !== null) {
      const { G, h, XO, ST } = warm;
      // the listed rows: the previous query's list, or the nearest leaf row's own list
      let list = I;
      let from = base - k;
      let to = from < 0 ? from : base;
      if (G !== null) {
        let node = 0;
        while (node < firstLeaf) {
          const l = 2 * node + 1;
          node = boxBound(LO, HI, l * d, Q, qa, d) <= boxBound(LO, HI, (l + 1) * d, Q, qa, d) ? l : l + 1;
        }
        let best = Infinity;
        let o = -1;
        for (let p = NS[node], e = NE[node]; p < e; p++) {
          const s = rowDistance(X, p * d, Q, qa, d);
          if (s < best || o < 0) {
            best = s;
            o = P[p];
          }
        }
        ST[o] = st;
        c = insert(D, I, base, k, c, best, o);
        if (c === k) w = D[base];
        list = G;
        from = o * h;
        to = from + h;
      }
      for (let j = from; j < to; j++) {
        const r = list[j];
        if (ST[r] === st) continue;
        ST[r] = st;
        const s = rowDistance(XO, r * d, Q, qa, d);
        if (s <= w) {
          c = insert(D, I, base, k, c, s, r);
          if (c === k) w = D[base];
        }
      }
    }
    stN[0] = 0;
    stB[0] = 0;
    while (sp > 0) {
      sp--;
      if (stB[sp] > w) continue;
      const node = stN[sp];
      if (node >= firstLeaf) {
        const e = NE[node];
        let p = NS[node];
        scanned += e - p;
        for (let xb = p * d; p < e; p++, xb += d) {
          const s = rowDistance(X, xb, Q, qa, d);
          if (s <= w && (st < 0 || warm!.ST[P[p]] !== st)) {
            c = insert(D, I, base, k, c, s, P[p]);
            if (c === k) w = D[base];
          }
        }
        continue;
      }
      opened++;
      const l = 2 * node + 1;
      const bl = boxBound(LO, HI, l * d, Q, qa, d);
      const br = boxBound(LO, HI, (l + 1) * d, Q, qa, d);
      if (bl <= br) {
        if (br <= w) {
          stN[sp] = l + 1;
          stB[sp++] = br;
        }
        if (bl <= w) {
          stN[sp] = l;
          stB[sp++] = bl;
        }
      } else {
        if (bl <= w) {
          stN[sp] = l;
          stB[sp++] = bl;
        }
        if (br <= w) {
          stN[sp] = l + 1;
          stB[sp++] = br;
        }
      }
    }
  }
  if (work) {
    work[0] += scanned;
    work[1] += opened;
  }
};

/** Squared distance between row `X[xb..]` and query `Q[qa..]`, summed as the brute force does. */
function rowDistance(X: Float64Array, xb: number, Q: Float64Array, qa: number, d: number): number {
  let t = X[xb] - Q[qa];
  let s = t * t;
  for (let f = 1; f < d; f++) {
    t = X[xb + f] - Q[qa + f];
    s += t * t;
  }
  return s;
}

/** Lower bound of the squared distance from query `Q[qa..]` to the box at `LO/HI[nb..]`, summed as a distance is. */
function boxBound(LO: Float64Array, HI: Float64Array, nb: number, Q: Float64Array, qa: number, d: number): number {
  let s = 0;
  for (let f = 0; f < d; f++) {
    const a = Q[qa + f];
    let t = LO[nb + f] - a;
    if (!(t > 0)) {
      t = a - HI[nb + f];
      if (!(t > 0)) t = 0;
    }
    s = f === 0 ? t * t : s + t * t;
  }
  return s;
}

