/**
 * The brute-force k-nearest-neighbour search for wide rows by matrix products, with the same
 * result as the direct search to the bit.
 *
 * The direct brute force sums (x_f − q_f)² for every pair: one subtraction, multiplication and
 * addition per feature, and at a width of 100 or more V8 can no longer keep a query in registers.
 * Here the squared distances are first bounded by the expansion A = ‖q‖² + ‖x‖² − 2 q·x, computed
 * in float32 (rows rounded to float32: four multiply-adds per SIMD instruction; no relaxed SIMD, so
 * every machine computes the same bounds) in blocks of 4 queries x 8 index rows by the dense bound-filter
 * kernel (`boundFilter32` of `dense.ts`, WebAssembly, or its JavaScript twin), over tiles of index
 * rows sized for the cache, 16 queries per pass over the index. A row can be among a query's k
 * nearest only if its lower bound A − margin is at most the k-th smallest upper bound A + margin
 * (`expansionMargin32`: the float32 expansion's error against the float64 direct sum, about 1e-5
 * of the squared norms), so the kernel hands back only the rows under each query's current bound,
 * and each query keeps a short list of them, tightened whenever it fills up. At the end the candidates' distances are
 * computed directly, exactly as the direct search does, and offered to the same bounded heap: the
 * k nearest under the (squared distance, index) order are the same rows with the same distances,
 * whatever the rounding of the expansion. A NaN expansion keeps its row a candidate; a bound that
 * overflows to +Infinity would not, so knn.ts sends here only rows whose squared norms are at most
 * 2^124 (all float32 norms, products and bounds finite) and searches larger values directly.
 *
 * Cost per pair: d multiply-adds and a comparison, in the kernel (about 15 billion pair-features
 * a second on one core of a 2-core Xeon VM); per query about k direct distances and a few list
 * tightenings (a quickselect of the list). Same result on worker threads (blocks of 64 queries,
 * each thread its own work region of the arena).
 */
import type { DenseMatrix } from '../core/matrix';
import { boundFilter32Js, denseKernels, EXPANSION32_ABSOLUTE, expansionMargin32, packPanels32, PANEL32_ROWS, squaredNorms, squaredNorms32 } from './dense';
import { neighbourBlockSource, type Insert } from './neighbour-heap';
import { runBlocks, sharedArray, sharedCopyCached, sharedScratch, type ArenaAccess, type SharedArray } from './parallel';
import { kernelArena } from './wasm';

/**
 * Narrowest rows searched by matrix products; narrower rows keep the direct kernels, whose
 * features fit in registers. Measured on one thread (10,000 Gaussian index rows, 2,000 queries;
 * CPU time by matrix products / direct, interleaved in one process, on a busy 2-core machine):
 * k = 20: 0.99 at 8 features, 0.68 at 12, 0.62 at 16, 0.49 at 24, 0.45 at 32, 0.31 at 64;
 * k = 200: 1.09, 1.02, 0.83, 0.81, 0.76, 0.63.
 */
export const EXPANDED_MIN_WIDTH = 16;

/** Queries per block of a job (a multiple of {@link GROUP_ROWS}). */
const BLOCK_ROWS = 64;
/** Queries compared with the index in one pass (a multiple of the panel's 4). */
const GROUP_ROWS = 16;
/** Most queries laid out in the arena at once (a call with more runs in batches). */
const BATCH_ROWS = 32768;

/** Index rows per tile: about 128 KB of packed float32 rows, a multiple of 8 rows (a panel). */
function tileRows(d: number): number {
  const rows = Math.floor(32768 / d) & ~7;
  return Math.max(64, Math.min(2048, rows));
}

/** Initial capacity of a query's candidate list. */
function candidateCapacity(k: number): number {
  return Math.max(256, 2 * k + 64);
}

/** The parameters a block kernel reads (offsets in 4-byte elements of the arena). */
interface ExpandedParams extends Record<string, number> {
  n: number;
  d: number;
  k: number;
  qAt: number;
  qnAt: number;
  panAt: number;
  xnAt: number;
  cxnAt: number;
  /** The threads' work regions: `slotLen` elements each (see {@link slotLayout}). */
  slotAt: number;
  slotLen: number;
  tileRows: number;
  group: number;
  capacity: number;
  /** 2 x the margin factor, and 2 x the absolute margin (see `expansionMargin32`). */
  margin2: number;
  abs2: number;
}

/**
 * A thread's work region (4-byte elements from its start): the group's float32 bounds, candidate
 * counts, 8 floats of kernel scratch, and per query of the group room for a whole tile of
 * candidates (float32 bounds and int32 rows). 16-byte aligned parts.
 */
function slotLayout(group: number, tileRows: number): { boundAt: number; cntAt: number; scrAt: number; loAt: number; ixAt: number; len: number } {
  const boundAt = 0;
  const cntAt = group;
  const scrAt = 2 * group;
  const loAt = scrAt + 8;
  const ixAt = loAt + group * tileRows;
  return { boundAt, cntAt, scrAt, loAt, ixAt, len: ixAt + group * tileRows };
}

/**
 * The search of one block of queries `[start, end)` (rows of the batch laid out in the arena) into
 * the heaps at `D/I[(q − start)·k ...]`. Built by a factory taking the filter kernel's JavaScript
 * twin and the heap insertion (so that the same text runs in the worker threads, compiled from its
 * source, where it keeps its scratch lists between blocks).
 */
export function expandedSearchFactory(filterJs: typeof boundFilter32Js, insert: Insert, slotLayoutFn: typeof slotLayout) {
  let lo = new Float64Array(0);
  let ix = new Int32Array(0);
  let hi = new Float64Array(0);
  let cnt = new Int32Array(0);
  let bound = new Float64Array(0);
  let cap = 0;
  let slot = -1;
  let lastBufs: unknown = null;

  /** The k-th smallest (0-based `nth`) of `a[0 .. len)` (quickselect; `a` is reordered). */
  function select(a: Float64Array, len: number, nth: number): number {
    let l = 0;
    let r = len - 1;
    while (r > l) {
      const mid = (l + r) >> 1;
      const x = a[l], y = a[mid], z = a[r];
      const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
      let i = l;
      let j = r;
      while (i <= j) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i <= j) {
          const t = a[i];
          a[i] = a[j];
          a[j] = t;
          i++;
          j--;
        }
      }
      if (nth <= j) r = j;
      else if (nth >= i) l = i;
      else break;
    }
    return a[nth];
  }

  /**
   * Tighten query `g`'s list (`c` entries): the bound becomes the k-th smallest upper bound plus
   * both margins, and the entries whose lower bound is above it leave. Returns the new count.
   */
  function tighten(CXN: Float64Array, p: ExpandedParams, g: number, c: number, qn: number): number {
    const base = g * cap;
    for (let t = 0; t < c; t++) {
      // upper bound A + margin·‖x‖²; a non-finite one (overflow) says nothing: +Infinity
      const h = lo[base + t] + 2 * CXN[ix[base + t]];
      hi[t] = h < Infinity && h > -Infinity ? h : Infinity;
    }
    const kth = select(hi, c, p.k - 1);
    const b = kth + (p.margin2 * qn + p.abs2);
    bound[g] = b;
    let w = 0;
    for (let t = 0; t < c; t++) {
      const v = lo[base + t];
      if (v > b) continue; // NaN stays
      lo[base + w] = v;
      ix[base + w] = ix[base + t];
      w++;
    }
    return w;
  }

  /** Room for `groups` lists of `capacity` entries, keeping the first `keep` groups' entries. */
  function ensure(groups: number, capacity: number, keep: number): void {
    if (cap >= capacity && cnt.length >= groups) return;
    const newCap = Math.max(capacity, cap);
    const nlo = new Float64Array(groups * newCap);
    const nix = new Int32Array(groups * newCap);
    for (let g = 0; g < keep; g++) {
      nlo.set(lo.subarray(g * cap, g * cap + cnt[g]), g * newCap);
      nix.set(ix.subarray(g * cap, g * cap + cnt[g]), g * newCap);
    }
    const ncnt = new Int32Array(groups);
    ncnt.set(cnt.subarray(0, Math.min(keep, cnt.length)));
    const nbound = new Float64Array(groups);
    nbound.set(bound.subarray(0, Math.min(keep, bound.length)));
    lo = nlo;
    ix = nix;
    cnt = ncnt;
    bound = nbound;
    hi = new Float64Array(newCap);
    cap = newCap;
  }

  /** A float32 bound at least `b` (the kernel compares in float32). */
  function bound32(b: number): number {
    return Math.fround(b + Math.abs(b) * 2 ** -20 + 2 ** -100);
  }

  /** Append the kernel's `m` candidates of query `g` (at `from` / `fromIx`) to its list, tightening it when full. */
  function collect(F: Float32Array, F32I: Int32Array, CXN: Float64Array, p: ExpandedParams, g: number, m: number, from: number, fromIx: number, qn: number, groups: number): void {
    let c = cnt[g];
    let base = g * cap;
    let bnd = bound[g];
    for (let t = 0; t < m; t++) {
      const v = F[from + t];
      if (v > bnd) continue; // tightened since the kernel ran
      lo[base + c] = v;
      ix[base + c] = F32I[fromIx + t];
      if (++c === cap) {
        c = tighten(CXN, p, g, c, qn);
        bnd = bound[g];
        if (c > cap >> 1) {
          // many near-ties: more room for every list of the group
          cnt[g] = c;
          ensure(groups, 2 * cap, groups);
          base = g * cap;
        }
      }
    }
    cnt[g] = c;
  }

  /**
   * The direct squared distances of the `c` candidates at `ix[base ..]` to the query at `Q[qb ..]`,
   * offered to the heap at `hb` in candidate order. Four candidates at a time, each with its own
   * sum in feature order (the same operations as one at a time, so the same bits): one running sum
   * waits for the previous addition at every feature, four independent ones do not (at 1,555
   * features the search spent most of its time here).
   */
  function exact(X: Float64Array, Q: Float64Array, d: number, k: number, base: number, c: number, qb: number, D: Float64Array, I: Int32Array, hb: number): void {
    let count = 0;
    let w = Infinity;
    let t0 = 0;
    for (; t0 + 3 < c; t0 += 4) {
      const j0 = ix[base + t0];
      const j1 = ix[base + t0 + 1];
      const j2 = ix[base + t0 + 2];
      const j3 = ix[base + t0 + 3];
      const b0 = j0 * d;
      const b1 = j1 * d;
      const b2 = j2 * d;
      const b3 = j3 * d;
      let q = Q[qb];
      let u0 = X[b0] - q;
      let u1 = X[b1] - q;
      let u2 = X[b2] - q;
      let u3 = X[b3] - q;
      let s0 = u0 * u0;
      let s1 = u1 * u1;
      let s2 = u2 * u2;
      let s3 = u3 * u3;
      for (let f = 1; f < d; f++) {
        q = Q[qb + f];
        u0 = X[b0 + f] - q;
        u1 = X[b1 + f] - q;
        u2 = X[b2 + f] - q;
        u3 = X[b3 + f] - q;
        s0 += u0 * u0;
        s1 += u1 * u1;
        s2 += u2 * u2;
        s3 += u3 * u3;
      }
      if (s0 <= w) {
        count = insert(D, I, hb, k, count, s0, j0);
        if (count === k) w = D[hb];
      }
      if (s1 <= w) {
        count = insert(D, I, hb, k, count, s1, j1);
        if (count === k) w = D[hb];
      }
      if (s2 <= w) {
        count = insert(D, I, hb, k, count, s2, j2);
        if (count === k) w = D[hb];
      }
      if (s3 <= w) {
        count = insert(D, I, hb, k, count, s3, j3);
        if (count === k) w = D[hb];
      }
    }
    for (let t = t0; t < c; t++) {
      const j = ix[base + t];
      const xb = j * d;
      let u = X[xb] - Q[qb];
      let s = u * u;
      for (let f = 1; f < d; f++) {
        u = X[xb + f] - Q[qb + f];
        s += u * u;
      }
      if (s <= w) {
        count = insert(D, I, hb, k, count, s, j);
        if (count === k) w = D[hb];
      }
    }
  }

  return function search(b: Record<string, SharedArray>, p: ExpandedParams, start: number, end: number, arena: ArenaAccess | undefined, D: Float64Array, I: Int32Array): void {
    const { n, d, k, group: G, tileRows: TR } = p;
    const buf = arena ? (arena.memory.buffer as SharedArrayBuffer) : (b.F as Float32Array).buffer;
    const F = new Float32Array(buf);
    const F32I = new Int32Array(buf);
    const X = b.X as Float64Array;
    const Q = b.Q as Float64Array;
    const CXN = b.CXN as Float64Array;
    const QN = b.QN as Float64Array;
    if (b !== lastBufs) {
      // this thread's work region in the arena, claimed once per job
      slot = Atomics.add(b.SLOT as Int32Array, 0, 1);
      lastBufs = b;
    }
    const S = slotLayoutFn(G, TR);
    const at = p.slotAt + slot * p.slotLen;
    const boundAt = at + S.boundAt;
    const cntAt = at + S.cntAt;
    const loAt = at + S.loAt;
    const ixAt = at + S.ixAt;
    ensure(G, p.capacity, 0);
    for (let g0 = start; g0 < end; g0 += G) {
      const gq = Math.min(G, end - g0);
      const gq4 = (gq + 3) & ~3;
      for (let g = 0; g < gq4; g++) {
        cnt[g] = 0;
        bound[g] = Infinity;
        F[boundAt + g] = Infinity;
      }
      for (let j0 = 0; j0 < n; j0 += TR) {
        const panels = (Math.min(TR, n - j0) + 7) >> 3;
        for (let g = 0; g < gq4; g++) F32I[cntAt + g] = 0;
        // the tile's rows whose lower bound is at most the query's bound, appended in row order
        if (arena) {
          arena.exports.boundFilter32(4 * (p.qAt + g0 * d), gq4, d, 4 * (p.panAt + j0 * d), panels, 4 * (p.qnAt + g0), 4 * (p.xnAt + j0), 4 * (p.cxnAt + j0), 4 * boundAt, 4 * loAt, 4 * ixAt, 4 * cntAt, 4 * TR, j0, n, 4 * (at + S.scrAt));
        } else {
          filterJs(F, F32I, p.qAt + g0 * d, gq4, d, p.panAt + j0 * d, panels, p.qnAt + g0, p.xnAt + j0, p.cxnAt + j0, boundAt, loAt, ixAt, cntAt, TR, j0, n);
        }
        for (let g = 0; g < gq; g++) {
          const m = F32I[cntAt + g];
          if (m > 0) collect(F, F32I, CXN, p, g, m, loAt + g * TR, ixAt + g * TR, QN[g0 + g], G);
          F[boundAt + g] = bound32(bound[g]);
        }
      }
      // the survivors' distances directly (feature order, as the direct search), into the heaps
      for (let g = 0; g < gq; g++) {
        const q = g0 + g;
        let c = cnt[g];
        if (c > k) c = tighten(CXN, p, g, c, QN[q]);
        exact(X, Q, d, k, g * cap, c, q * d, D, I, (q - start) * k);
      }
    }
  };
}

/** Where a search's data went: float32 bounds in the arena (WebAssembly) or shared scratch (JavaScript). */
interface Layout {
  arena?: import('./wasm').KernelArena;
  F: Float32Array;
  params: ExpandedParams;
  /** c x each index row's float64 squared norm (the margins). */
  CXN: Float64Array;
}

/**
 * Lay out the index (float32 panels, norms and margins) in this thread's arena, or in shared
 * scratch where WebAssembly is not available, with room for a batch of `batchRows` queries and the
 * threads' work regions; undefined when the arena cannot hold it.
 */
function layoutIndex(index: DenseMatrix, k: number, threads: number, batchRows: number, forceJs: boolean): Layout | undefined {
  const n = index.rows;
  const d = index.cols;
  const panels = Math.ceil(n / PANEL32_ROWS);
  const TR = tileRows(d);
  const m4 = (batchRows + 3) & ~3;
  const slot = slotLayout(GROUP_ROWS, TR);
  // 4-byte elements: panels, index norms and margins; then per batch: queries, their norms; the threads' regions
  const pad4 = (x: number) => (x + 3) & ~3;
  const panLen = panels * PANEL32_ROWS * d;
  const xnLen = panels * PANEL32_ROWS;
  const len = panLen + 2 * xnLen + pad4(m4 * d) + m4 + threads * slot.len;
  const kernels = forceJs ? undefined : denseKernels();
  let F: Float32Array;
  let base = 0;
  let arena: Layout['arena'];
  if (kernels) {
    arena = kernelArena(kernels);
    arena.reset();
    const at = arena.alloc(4 * len);
    if (at < 0) return undefined;
    base = at / 4;
    F = new Float32Array(arena.memory.buffer as SharedArrayBuffer);
  } else {
    F = sharedScratch('knn-expanded', Float32Array, len);
  }
  const panAt = base;
  const xnAt = panAt + panLen;
  const cxnAt = xnAt + xnLen;
  const qAt = cxnAt + xnLen;
  const qnAt = qAt + pad4(m4 * d);
  const slotAt = qnAt + m4;
  packPanels32(index.data, 0, n, d, F, panAt);
  // the float32 norms the kernel uses: of the packed (rounded) rows, row by row
  const row = new Float32Array(d);
  for (let j = 0; j < n; j++) {
    row.set(index.data.subarray(j * d, j * d + d));
    squaredNorms32(row, 0, 1, d, F, xnAt + j);
  }
  F.fill(0, xnAt + n, cxnAt);
  const c = expansionMargin32(d);
  const xn = squaredNorms(index.data, n, d);
  const CXN = sharedScratch('knn-expanded-cxn', Float64Array, n);
  for (let j = 0; j < n; j++) {
    CXN[j] = c * xn[j];
    // the kernel's float32 margin, rounded up (a larger margin only keeps more candidates)
    F[cxnAt + j] = Math.fround(CXN[j] * (1 + 2 ** -20));
  }
  F.fill(0, cxnAt + n, qAt);
  const params: ExpandedParams = {
    n,
    d,
    k,
    qAt,
    qnAt,
    panAt,
    xnAt,
    cxnAt,
    slotAt,
    slotLen: slot.len,
    tileRows: TR,
    group: GROUP_ROWS,
    capacity: candidateCapacity(k),
    margin2: 2 * c,
    abs2: 2 * EXPANSION32_ABSOLUTE,
  };
  return { arena, F, params, CXN };
}

/** Copy `rows` queries (from row `first` of `Q`) into the layout as float32 with their float32 norms (rows padded to 4 with zeros); their float64 norms into `QN`. */
function layoutQueries(L: Layout, Q: Float64Array, first: number, rows: number, QN: Float64Array): void {
  const { F, params: p } = L;
  const d = p.d;
  const m4 = (rows + 3) & ~3;
  F.set(Q.subarray(first * d, (first + rows) * d), p.qAt);
  F.fill(0, p.qAt + rows * d, p.qAt + m4 * d);
  squaredNorms32(F, p.qAt, m4, d, F, p.qnAt);
  squaredNorms(Q.subarray(first * d, (first + rows) * d), rows, d, QN);
}

/** Source of the block kernel: the factory with the tile twin, around the neighbour block wrapper. */
function blockSource(reduce?: string): string {
  return neighbourBlockSource(
    `(${expandedSearchFactory.toString()})(${boundFilter32Js.toString()}, insertNeighbour, ${slotLayout.toString()})`,
    'kern(b, p, start, end, arena, D, I);',
    reduce,
  );
}

/**
 * Searches run by matrix products since the process started (for tests).
 * @internal
 */
export const expandedStats = { searches: 0 };

/** A search result in shared scratch (see knn.ts's `RawResult`). */
export interface ExpandedResult {
  k: number;
  indices: Int32Array;
  distances: Float64Array;
  scratch: true;
}

/**
 * The `k` nearest index rows of each of the `m` queries `Q` (sorted, square-rooted, in shared
 * scratch), or, with `reduce`, the reducer's value of each query's list in index order; undefined
 * when this search does not apply (the arena cannot hold the index, or no code generation for the
 * block kernel). Index and queries must be finite (the caller checks).
 */
export function expandedSearch(
  index: DenseMatrix,
  Q: Float64Array,
  m: number,
  k: number,
  threads: number,
  reduce?: { source: string; A: Float64Array; B: Float64Array; passes: number },
  forceJs = false,
): ExpandedResult | Float64Array | undefined {
  const batch = Math.min(m, BATCH_ROWS);
  const L = layoutIndex(index, k, threads, batch, forceJs);
  if (!L) return undefined;
  expandedStats.searches++;
  const D = reduce ? undefined : sharedScratch('knn-D', Float64Array, m * k);
  const I = reduce ? undefined : sharedScratch('knn-I', Int32Array, m * k);
  const OUT = reduce ? sharedScratch('knn-reduced', Float64Array, m) : undefined;
  const key = `knn-expanded${L.arena ? '' : '-js'}${reduce ? `-reduce:${reduce.source}` : ''}`;
  const source = () => blockSource(reduce?.source);
  const X = sharedCopyCached(index.data);
  const QS = sharedScratch('knn-expanded-q', Float64Array, batch * index.cols);
  const QN = sharedScratch('knn-expanded-qn', Float64Array, batch);
  for (let first = 0; first < m; first += batch) {
    const rows = Math.min(batch, m - first);
    layoutQueries(L, Q, first, rows, QN);
    QS.set(Q.subarray(first * index.cols, (first + rows) * index.cols));
    const bufs: Record<string, SharedArray> = { SLOT: sharedArray(Int32Array, 1), X, Q: QS, CXN: L.CXN, QN };
    if (!L.arena) bufs.F = L.F;
    if (D && I) {
      bufs.D = D.subarray(first * k, (first + rows) * k);
      bufs.I = I.subarray(first * k, (first + rows) * k);
    } else {
      bufs.OUT = OUT!.subarray(first, first + rows);
      bufs.A = reduce!.A;
      bufs.B = reduce!.B;
    }
    const params = reduce ? { ...L.params, passes: reduce.passes } : L.params;
    const ok = runBlocks({ key, source, bufs, params, rows, blockRows: BLOCK_ROWS, arena: L.arena }, threads);
    if (!ok) return undefined;
  }
  if (OUT) return OUT.slice();
  return { k, indices: I!, distances: D!, scratch: true };
}
