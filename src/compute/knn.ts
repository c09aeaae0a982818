/**
 * Exact k-nearest-neighbour search (Euclidean) over row-major `Float64Array` data, the neighbour
 * engine of {@link LocalOutlierFactor}: a kd-tree ({@link buildKdTree}) on data of low intrinsic
 * dimension, a brute force otherwise, with exactly the same result either way (same neighbours,
 * ties broken by the lower index, distances equal to the bit).
 *
 * Brute force: every query is compared with every index row. Narrow rows (under
 * {@link EXPANDED_MIN_WIDTH} features) with a kernel specialised for the number of features (the
 * feature loop unrolled and the query held in locals, two queries per pass over the index),
 * generated once per width and cached; wider rows by matrix products (`knn-expanded.ts`: float32
 * SIMD bounds of every pair, then the direct distance of the few candidates, so the same result to
 * the bit; one thread, CPU time: musk's 166 columns, 919 queries against 2,143 rows 7.5x faster
 * than the kernel above, leave-one-out 3.3x; mnist's 100 columns 3.9x and 2.8x; k = 200 2.3-3.4x;
 * and no seconds spent compiling a kernel for a width of 100 or more). kd-tree: scikit-learn's layout (leaves of
 * 32-64 rows, bounding boxes), nearer child first, a node skipped only when its box bound is
 * strictly above the current k-th distance; its kernel is generated per width too. Which one runs
 * is decided from the data: a pilot search of 128 queries on the tree counts the rows it scans,
 * and the tree is used when that is below 40% of the index rows (see TREE_MAX_SCAN_FRACTION;
 * `NAL_KNN_METHOD=brute|tree` forces one). On the seed traffic (10 features) the tree scans about
 * 12% of the rows at k = 20 and 27% at k = 200. From {@link EXPANDED_MIN_WIDTH} features the
 * brute force by matrix products is faster than the tree would be, and no tree is piloted.
 *
 * Each query's neighbours are kept in a bounded max-heap (O(log k) per accepted candidate, which
 * matters for LOF's k = 200), sorted at the end. For k >= 64, given the index rows' own neighbour
 * lists (`indexNeighbours`, which LOF keeps from its fit), a tree query starts from the list of the
 * index row nearest to it: the heap starts full and close to the answer, and the walk offers few
 * candidates (LOF k = 200 on the seed traffic: 74 heap updates per query instead of 608, scoring
 * 100,000 rows 3.2 s -> 2.4 s on 2 threads), with the same result; the leave-one-out search, whose
 * queries are the index rows in tree order, starts each row from the previous row's list. Large query sets are split into blocks run on
 * worker threads ({@link runBlocks}; `NAL_THREADS` sets the number), each block by the same
 * generated code, so the result is identical whatever the number of threads. Where code
 * generation is not allowed (a `--disallow-code-generation-from-strings` runtime, a strict
 * Content-Security-Policy) generic loops on one thread give the same results, more slowly.
 */
import type { DenseMatrix } from '../core/matrix';
import { buildKdTree, genericTreeKernel, KD_LEAF_SIZE, TREE_ARGS, treeKernelSource, type KdTree, type TreeKernel } from './kd-tree';
import { EXPANDED_MIN_WIDTH, expandedSearch } from './knn-expanded';
import { indexSortPasses, insertNeighbour, neighbourBlockSource, sortByIndex, sortNeighbours, type Insert } from './neighbour-heap';
import { runBlocks, sharedArray, sharedCopyCached, sharedScratch, threadCount, threadsForWork, type SharedArray } from './parallel';

/** Options of {@link knnSearch}. */
export interface KnnSearchOptions {
  /**
   * The queries are the index rows themselves (query `i` is index row `i`) and a row must not be
   * its own neighbour: leave-one-out neighbours of the training set. Other rows with the same
   * values are still neighbours (at distance 0).
   * @defaultValue false
   */
  excludeSelf?: boolean;
  /**
   * Neighbours of every index row, `index.rows x h` row-major, the row itself not among them (what
   * `knnSearch(index, index, h, { excludeSelf: true }).indices` returns; {@link LocalOutlierFactor}
   * keeps its training rows' lists for this). The kd-tree search then starts each query from the
   * list of the index row nearest to it, which is nearly the query's own, so far fewer candidates
   * go through the neighbour heap (used from k = 64; LOF scoring with k = 200 on the seed traffic:
   * 1.3x faster). The result is the same with or without it; the brute force ignores it. The
   * array must not change after its first search (a shared copy for the worker threads is kept).
   * @throws RangeError when its length is not a multiple of the index rows or it names a row
   *   outside the index
   */
  indexNeighbours?: Int32Array;
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
 * Cost (brute force): O(m · n · d + m · k log k · log(n/k)) time, O(m · k) memory; queries run
 * on worker threads when there are many. With `excludeSelf` on one thread every pair is computed
 * once and offered to both rows' lists, which halves the distance computations. The kd-tree
 * (chosen automatically on low-dimensional data, see the module notes) costs O(n log n · d) to
 * build (once per index array) and scans a fraction of the index per query; its result is the
 * same to the bit. Non-finite values always take the brute force.
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
  const m = queries.rows;
  checkSearch(index, queries, k, opts);
  const hint = opts.indexNeighbours;
  if (k === 0 || m === 0) return { k, indices: new Int32Array(0), distances: new Float64Array(0) };

  // Memory: the result (m x k) is allocated once; a search on worker threads writes into shared
  // scratch arrays, copied out once (leave-one-out: reordered and the row itself dropped in the
  // same copy), which matters for LOF's training rows (100,000 x 201 neighbours is 240 MB).
  const tree = chooseTree(index, queries, excludeSelf ? k + 1 : k);
  if (tree) {
    // leave-one-out: the rows in tree order are their own queries (neighbouring queries follow
    // each other, so the tree's rows stay in cache), k + 1 neighbours, then itself dropped
    if (excludeSelf) return dropSelf(treeSearch(tree, tree.data, n, k + 1, k + 1 >= WARM_MIN_K ? { G: null, XO: index.data } : undefined), k, tree.perm);
    return owned(treeSearch(tree, queries.data, m, k, hint && k >= WARM_MIN_K ? { G: hint, XO: index.data } : undefined));
  }
  return bruteSearch(index, queries, k, excludeSelf);
}

/** Rows searched per batch by {@link knnLeaveOneOut}. */
const LOO_BATCH_ROWS = 8192;

/**
 * The leave-one-out neighbours of every index row (those `knnSearch(index, index, k, { excludeSelf:
 * true })` returns, to the bit), handed to `visit` a batch of rows at a time instead of returned
 * whole: `visit(rows, indices, distances, m)` gets `m` rows (their numbers in `rows`) and each one's
 * `k` neighbours at `indices/distances[r·k ..]` (sorted by distance, ties by index), in arrays that
 * the next batch overwrites. So the search never holds more than a batch of lists (LOF on 100,000
 * rows at k = 200: 20 MB of lists instead of 480 MB). Rows come in the kd-tree's order when the
 * tree is used, else in index order.
 * @throws RangeError when `k` is not in [0, n − 1]
 */
export function knnLeaveOneOut(
  index: DenseMatrix,
  k: number,
  visit: (rows: Int32Array, indices: Int32Array, distances: Float64Array, m: number) => void,
  batchRows = LOO_BATCH_ROWS,
): void {
  checkSearch(index, index, k, { excludeSelf: true });
  const n = index.rows;
  const d = index.cols;
  if (k === 0 || n === 0) return;
  const tree = chooseTree(index, index, k + 1);
  const Q = tree ? tree.data : index.data;
  const rows = new Int32Array(Math.min(n, batchRows));
  const I = new Int32Array(rows.length * k);
  const D = new Float64Array(rows.length * k);
  for (let a = 0; a < n; a += batchRows) {
    const m = Math.min(batchRows, n - a);
    const queries: DenseMatrix = { rows: m, cols: d, data: Q.subarray(a * d, (a + m) * d) };
    // each row's k + 1 nearest (itself among them, at distance 0), then itself dropped
    const all = tree
      ? treeSearch(tree, queries.data, m, k + 1, k + 1 >= WARM_MIN_K ? { G: null, XO: index.data } : undefined)
      : expandedBrute(index, queries, k + 1) ?? parallelQuery(index, queries, k + 1) ?? singleQuery(index, queries, k + 1);
    for (let r = 0; r < m; r++) rows[r] = tree ? tree.perm[a + r] : a + r;
    dropSelfInto(all, k, rows, m, I, D);
    visit(rows, I, D, m);
  }
}

/** {@link dropSelf} of `m` result rows into `I/D` (row `r` is index row `rows[r]`), in place of a fresh copy. */
function dropSelfInto(r: KnnResult, k: number, rows: Int32Array, m: number, I: Int32Array, D: Float64Array): void {
  const k1 = r.k;
  for (let row = 0; row < m; row++) {
    const q = rows[row];
    let o = row * k;
    const end = o + k;
    for (let j = row * k1, e = j + k1; j < e && o < end; j++) {
      if (r.indices[j] === q) continue;
      I[o] = r.indices[j];
      D[o] = r.distances[j];
      o++;
    }
  }
}

/**
 * A reduction of each query's neighbour list to one number (see {@link knnReduce}): `fn` gets the
 * list at `D/I[base .. base + k)` (distances, index rows) in ascending index order, and the two
 * arrays `a`, `b`. It must be self-contained (no variables from outside its body): it is also
 * compiled from its source text in the worker threads, which keep shared copies of `a` and `b`
 * (so these must not change after the first call with them).
 */
export interface NeighbourReducer {
  fn: (D: Float64Array, I: Int32Array, base: number, k: number, a: Float64Array, b: Float64Array) => number;
  a: Float64Array;
  b: Float64Array;
}

/** Queries searched per batch by {@link knnReduce} when the neighbour lists come back to this thread. */
const REDUCE_BATCH_ROWS = 8192;

/**
 * `reducer.fn` of every query's `k` nearest neighbours (those {@link knnSearch} returns), given in
 * ascending index order, without returning the lists: a kd-tree search on worker threads reduces
 * each block of queries where it was searched, so no `m x k` lists are copied or kept (LOF scores
 * of 100,000 rows at k = 200: 240 MB of lists never leave the workers). The index order is
 * canonical (whatever the search method or thread, the reducer sees the same list) and cheap to
 * reach from the search's heap (a radix sort instead of the distance sort: LOF scoring 20% faster).
 * Options and errors as {@link knnSearch}'s (`excludeSelf` included).
 */
export function knnReduce(index: DenseMatrix, queries: DenseMatrix, k: number, reducer: NeighbourReducer, opts: KnnSearchOptions = {}): Float64Array {
  checkSearch(index, queries, k, opts);
  const m = queries.rows;
  if (m > 0 && k > 0 && opts.excludeSelf !== true) {
    const tree = chooseTree(index, queries, k);
    const hint = opts.indexNeighbours;
    const done = tree
      ? parallelTreeReduce(tree, queries.data, m, k, reducer, hint && k >= WARM_MIN_K ? { G: hint, XO: index.data } : undefined)
      : expandedBrute(index, queries, k, reducer) ?? selectReduce(index, queries, k, reducer);
    if (done) return done;
  }
  const out = new Float64Array(m);
  const d = queries.cols;
  const step = opts.excludeSelf ? m : REDUCE_BATCH_ROWS;
  const passes = indexSortPasses(index.rows);
  const tD = new Float64Array(k);
  const tI = new Int32Array(k);
  const count = new Int32Array(256);
  for (let start = 0; start < m; start += step) {
    const end = Math.min(m, start + step);
    const batch: DenseMatrix = start === 0 && end === m ? queries : { rows: end - start, cols: d, data: queries.data.subarray(start * d, end * d) };
    const { indices, distances } = knnSearch(index, batch, k, opts);
    for (let q = 0; q < end - start; q++) {
      sortByIndex(distances, indices, q * k, k, passes, tD, tI, count);
      out[start + q] = reducer.fn(distances, indices, q * k, k, reducer.a, reducer.b);
    }
  }
  return out;
}

/** The argument checks of {@link knnSearch}. */
function checkSearch(index: DenseMatrix, queries: DenseMatrix, k: number, opts: KnnSearchOptions): void {
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
  const hint = opts.indexNeighbours;
  if (hint !== undefined) checkIndexNeighbours(hint, n);
}

/** The brute-force search (see {@link knnSearch}), sorted and square-rooted. */
function bruteSearch(index: DenseMatrix, queries: DenseMatrix, k: number, excludeSelf: boolean): KnnResult {
  const n = index.rows;
  const d = index.cols;
  const m = queries.rows;
  // wide rows: matrix products bound the distances, the few candidates are compared directly
  const expanded = expandedBrute(index, excludeSelf ? index : queries, excludeSelf ? k + 1 : k);
  if (expanded) return excludeSelf ? dropSelf(expanded, k) : owned(expanded);
  if (excludeSelf && useQueryKernelForSelf(n, d)) {
    // each row searched as a query for k + 1 neighbours, then itself dropped: more distance
    // computations than the pairwise kernel, but cache-friendly and split over threads
    const all = parallelQuery(index, index, k + 1) ?? singleQuery(index, index, k + 1);
    return dropSelf(all, k);
  }
  const D = new Float64Array(m * k);
  const I = new Int32Array(m * k);
  if (excludeSelf) {
    const kernel = selfKernel(d);
    const counts = new Int32Array(n);
    const worst = new Float64Array(n).fill(Infinity);
    kernel(index.data, n, d, k, D, I, counts, worst, insertNeighbour);
  } else {
    const parallel = parallelQuery(index, queries, k);
    if (parallel) return owned(parallel);
    queryKernel(d)(index.data, queries.data, n, m, d, k, D, I, insertNeighbour);
  }
  sortNeighbours(D, I, m, k);
  for (let i = 0; i < D.length; i++) D[i] = Math.sqrt(D[i]);
  return { k, indices: I, distances: D };
}

/**
 * The brute force by matrix products (see `knn-expanded.ts`) for rows of at least
 * {@link EXPANDED_MIN_WIDTH} finite features: the same neighbours and distances as the direct
 * kernels, to the bit. Sorted lists (shared scratch), or with `reducer` each query's reduced value;
 * undefined when it does not apply (narrow or non-finite rows, no code generation).
 */
function expandedBrute(index: DenseMatrix, queries: DenseMatrix, k: number): RawResult | undefined;
function expandedBrute(index: DenseMatrix, queries: DenseMatrix, k: number, reducer: NeighbourReducer): Float64Array | undefined;
function expandedBrute(index: DenseMatrix, queries: DenseMatrix, k: number, reducer?: NeighbourReducer): RawResult | Float64Array | undefined {
  const n = index.rows;
  const d = index.cols;
  const m = queries.rows;
  if (!codegenAvailable || forcedExpanded === false || k === 0 || m === 0) return undefined;
  if (d < EXPANDED_MIN_WIDTH && forcedExpanded === undefined) return undefined;
  if (!withinExpansionRange(index.data, n, d) || !withinExpansionRange(queries.data, m, d)) return undefined;
  // about 10 multiply-adds a nanosecond in the float32 filter on one thread
  const threads = m * n * d >= PARALLEL_MIN_WORK && m >= 2 * PARALLEL_BLOCK_ROWS ? threadsForWork(threadCount(), (m * n * d) / 1e7) : 1;
  const reduce = reducer && { source: reducer.fn.toString(), A: sharedCopyCached(reducer.a), B: sharedCopyCached(reducer.b), passes: indexSortPasses(n) };
  const r = expandedSearch(index, queries.data, m, k, threads, reduce, forcedExpanded === 'js');
  return r;
}

/**
 * Whether {@link knnSearch} would use {@link KnnSearchOptions.indexNeighbours} to search `index`
 * for these queries' `k` neighbours: with the kd-tree (the verdict the search itself takes and
 * remembers) and a large enough `k`.
 */
export function knnUsesIndexNeighbours(index: DenseMatrix, queries: DenseMatrix, k: number): boolean {
  if (k < WARM_MIN_K || k > index.rows || queries.rows === 0 || queries.cols !== index.cols) return false;
  return chooseTree(index, queries, k) !== undefined;
}

/** The query search on the calling thread (generated kernel), sorted and square-rooted. */
function singleQuery(index: DenseMatrix, queries: DenseMatrix, k: number): KnnResult {
  const m = queries.rows;
  const D = new Float64Array(m * k);
  const I = new Int32Array(m * k);
  queryKernel(index.cols)(index.data, queries.data, index.rows, m, index.cols, k, D, I, insertNeighbour);
  sortNeighbours(D, I, m, k);
  for (let i = 0; i < D.length; i++) D[i] = Math.sqrt(D[i]);
  return { k, indices: I, distances: D };
}

// -------------------------------------------------------------------------------------------------
// kd-tree search (low-dimensional data)
// -------------------------------------------------------------------------------------------------

/** Neighbour search method: the automatic choice, or one forced (tests, benchmarks). */
export type KnnMethod = 'auto' | 'brute' | 'tree';

/** Below this many index rows the brute force is used (a tree of one or two leaves saves nothing). */
const TREE_MIN_ROWS = 4 * KD_LEAF_SIZE;
/** Below this many query x index pairs the brute force is used (it takes a few milliseconds). */
const TREE_MIN_PAIRS = 1 << 20;
/** Queries of the pilot search that estimates the tree's cost (evenly spaced over the queries). */
const TREE_PILOT_QUERIES = 128;
/**
 * The tree is used when its pilot queries scanned on average fewer than this fraction of the index
 * rows (an opened inner node counted as two rows: it computes two box bounds). A row scanned by the
 * tree costs about twice one of the brute force (one query per pass, the node walk), so the tree
 * breaks even at about half the rows. Measured on one thread (10,000 index rows, 10,000 queries;
 * tree / brute-force CPU time): seed traffic (10 features) pilot 0.12 -> 0.28x at k = 20, 0.27 ->
 * 0.51x at k = 200; Gaussian 8-d 0.36 -> 0.89x, 0.58 -> 0.83x; 12-d 0.66 -> 1.23x, 0.89 -> 1.27x;
 * 16-d 1.0 -> 1.77x; 32 features of intrinsic dimension 6: 0.25 -> 0.56x, 0.55 -> 0.96x; NSL-KDD
 * (122 one-hot features, 20,000 rows): brute force (the tree 4.4x slower).
 */
const TREE_MAX_SCAN_FRACTION = 0.4;

let forcedMethod: KnnMethod | undefined;
/** Test hook: force the matrix-product brute force on (true: at any width; 'js': with the JavaScript tile) or off. */
let forcedExpanded: boolean | 'js' | undefined;
/** The last pilot's estimate of the tree's work per query, as a fraction of the index rows (tests, benchmarks). */
let lastPilotFraction = NaN;

function methodSetting(): KnnMethod {
  if (forcedMethod) return forcedMethod;
  const env = typeof process !== 'undefined' ? process.env.NAL_KNN_METHOD : undefined;
  if (env === undefined || env === '' || env === 'auto' || env === 'brute' || env === 'tree') return (env || 'auto') as KnnMethod;
  throw new RangeError(`NAL_KNN_METHOD must be auto, brute or tree, got '${env}'.`);
}

/**
 * Per index array (the library never changes an index after searching it): the pilot's verdict for
 * each `k` and the tree, kept only while some verdict chose it (a rejected tree is not held in
 * memory, and a rejected `k` is not piloted again for every scoring batch).
 */
interface TreeCacheEntry {
  n: number;
  d: number;
  tree?: KdTree;
  verdict: Map<number, boolean>;
}
const trees = new WeakMap<Float64Array, TreeCacheEntry>();

/**
 * The kd-tree to search `queries` with for `k` neighbours, or undefined for the brute force: the
 * tree when the data are finite and a pilot search of a few queries says it scans a small part of
 * the index (low intrinsic dimension), which decides from the data, not from a timing, so the
 * choice is reproducible (and the result is the same either way). The verdict is remembered per
 * index and `k`.
 */
function chooseTree(index: DenseMatrix, queries: DenseMatrix, k: number): KdTree | undefined {
  const method = methodSetting();
  if (method === 'brute') return undefined;
  const n = index.rows;
  const d = index.cols;
  const m = queries.rows;
  if (method === 'auto' && (n < TREE_MIN_ROWS || m * n < TREE_MIN_PAIRS)) return undefined;
  // wide rows: the brute force by matrix products is faster than any tree worth building
  if (method === 'auto' && d >= EXPANDED_MIN_WIDTH && codegenAvailable) return undefined;
  // non-finite values: the brute force's comparisons with NaN define the result, keep them
  if (!allFinite(index.data, n * d) || !allFinite(queries.data, m * d)) return undefined;
  let entry = trees.get(index.data);
  if (!entry || entry.n !== n || entry.d !== d) {
    entry = { n, d, verdict: new Map() };
    trees.set(index.data, entry);
  }
  const known = method === 'auto' ? entry.verdict.get(k) : undefined;
  if (known === false) return undefined;
  if (known === true && entry.tree) return entry.tree;
  const tree = entry.tree ?? buildKdTree(index, KD_LEAF_SIZE, (len) => sharedArray(Float64Array, len), (len) => sharedArray(Int32Array, len));
  if (method === 'tree') return (entry.tree = tree);
  const s = Math.min(m, TREE_PILOT_QUERIES);
  const Q = new Float64Array(s * d);
  for (let i = 0; i < s; i++) {
    const r = Math.floor((i * m) / s);
    Q.set(queries.data.subarray(r * d, r * d + d), i * d);
  }
  const work = new Float64Array(2);
  treeKernel(d)(tree.data, tree.perm, tree.start, tree.end, tree.lo, tree.hi, tree.firstLeaf, Q, s, d, k, new Float64Array(s * k), new Int32Array(s * k), insertNeighbour, work, null);
  lastPilotFraction = (work[0] + 2 * work[1]) / s / n;
  const useTree = lastPilotFraction < TREE_MAX_SCAN_FRACTION;
  entry.verdict.set(k, useTree);
  if (useTree) entry.tree = tree;
  return useTree ? tree : undefined;
}

/** Largest squared row norm the float32 bounds of the matrix-product search take (2^124). */
const EXPANSION_MAX_SQUARED_NORM = 2 ** 124;

/**
 * Whether every row of `a` (`rows x d`) is finite with a squared norm of at most 2^124, so that the
 * float32 norms, dot products and bounds of the matrix-product search stay finite (float32 ends
 * near 2^128): a bound that overflowed to +Infinity would drop a row whose distance is finite.
 * Larger values take the direct search.
 */
function withinExpansionRange(a: Float64Array, rows: number, d: number): boolean {
  for (let r = 0, o = 0; r < rows; r++) {
    let s = 0;
    for (let f = 0; f < d; f++, o++) s += a[o] * a[o];
    if (!(s <= EXPANSION_MAX_SQUARED_NORM)) return false;
  }
  return true;
}

function allFinite(a: Float64Array, len: number): boolean {
  for (let i = 0; i < len; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

const treeKernels = new Map<number, TreeKernel>();

function treeKernel(d: number): TreeKernel {
  let kern = treeKernels.get(d);
  if (!kern) {
    kern = (d <= MAX_UNROLLED_WIDTH && compile<TreeKernel>(TREE_ARGS, treeKernelSource(d))) || genericTreeKernel;
    treeKernels.set(d, kern);
  }
  return kern;
}

/** A search result, possibly views of shared scratch arrays that the next search overwrites. */
interface RawResult extends KnnResult {
  /** The arrays are shared scratch: copy them before returning them to a caller. */
  scratch: boolean;
}

/** The caller's own copy of a result (the arrays themselves when they are not scratch). */
function owned(r: RawResult): KnnResult {
  return r.scratch ? { k: r.k, indices: r.indices.slice(), distances: r.distances.slice() } : { k: r.k, indices: r.indices, distances: r.distances };
}

/**
 * Smallest k for which a tree query starts from a neighbour list (see {@link treeKernelSource}):
 * below, the heap updates it saves cost less than the list's distances (LOF on the seed traffic,
 * 10,000 rows: k = 20 5% slower with it, k = 200 1.3x faster scoring, 1.15x faster fit).
 */
const WARM_MIN_K = 64;

/** Index rows' neighbour lists for a warm start (see {@link KnnSearchOptions.indexNeighbours}) and the index rows in original order. */
interface NeighbourHint {
  /** Null: start each query from the previous one's list. */
  G: Int32Array | null;
  XO: Float64Array;
}

/** Hint arrays already checked against an index of this many rows. */
const checkedHints = new WeakMap<Int32Array, number>();

function checkIndexNeighbours(G: Int32Array, n: number): void {
  if (checkedHints.get(G) === n) return;
  if (!(G instanceof Int32Array) || G.length === 0 || G.length % n !== 0) {
    throw new RangeError(`knnSearch: indexNeighbours must be an Int32Array of ${n} rows x h neighbours (got length ${G?.length}).`);
  }
  for (let i = 0; i < G.length; i++) {
    const r = G[i];
    if (r < 0 || r >= n) throw new RangeError(`knnSearch: indexNeighbours[${i}] = ${r} is not a row of the ${n}-row index.`);
  }
  checkedHints.set(G, n);
}

/** The `k` nearest index rows of the `m` rows of `Q` by the tree, sorted and square-rooted. */
function treeSearch(tree: KdTree, Q: Float64Array, m: number, k: number, hint?: NeighbourHint): RawResult {
  const parallel = parallelTree(tree, Q, m, k, hint);
  if (parallel) return parallel;
  const D = new Float64Array(m * k);
  const I = new Int32Array(m * k);
  const warm = hint ? { G: hint.G, h: hint.G ? hint.G.length / tree.n : 0, XO: hint.XO, ST: new Int32Array(tree.n), stamp: 1 } : null;
  treeKernel(tree.d)(tree.data, tree.perm, tree.start, tree.end, tree.lo, tree.hi, tree.firstLeaf, Q, m, tree.d, k, D, I, insertNeighbour, undefined, warm);
  sortNeighbours(D, I, m, k);
  for (let i = 0; i < D.length; i++) D[i] = Math.sqrt(D[i]);
  return { k, indices: I, distances: D, scratch: false };
}

/** Queries per block of a parallel tree search. */
const TREE_BLOCK_ROWS = 256;
/** Below this many queries a tree search stays on one thread. */
const TREE_PARALLEL_MIN_QUERIES = 4096;

/** The tree search on worker threads, like {@link parallelQuery}; undefined when it does not apply. */
function parallelTree(tree: KdTree, Qin: Float64Array, m: number, k: number, hint?: NeighbourHint): RawResult | undefined {
  const threads = treeThreads(tree, m);
  if (!threads) return undefined;
  const d = tree.d;
  return runNeighbourBlocks(`knn-tree-${d}`, () => parallelTreeSource(d), treeBufs(tree, hint), treeParams(tree, k, hint), Qin, m, TREE_BLOCK_ROWS, threads);
}

/** {@link parallelTree} reducing each query's list in the workers (see {@link knnReduce}); undefined when it does not apply. */
function parallelTreeReduce(tree: KdTree, Qin: Float64Array, m: number, k: number, reducer: NeighbourReducer, hint?: NeighbourHint): Float64Array | undefined {
  const threads = treeThreads(tree, m);
  if (!threads) return undefined;
  const d = tree.d;
  const source = reducer.fn.toString();
  const OUT = sharedScratch('knn-reduced', Float64Array, m);
  const bufs = { ...treeBufs(tree, hint), A: sharedCopyCached(reducer.a), B: sharedCopyCached(reducer.b), OUT, Q: sharedQueries(Qin, m, d) };
  const params = { ...treeParams(tree, k, hint), passes: indexSortPasses(tree.n) };
  // the kernel is cached by key in every worker: the key holds the reducer's source itself
  const key = `knn-tree-${d}-reduce:${source}`;
  const ok = runBlocks({ key, source: () => parallelTreeSource(d, source), bufs, params, rows: m, blockRows: TREE_BLOCK_ROWS }, threads);
  return ok ? OUT.slice() : undefined;
}

/** Below this many index values (rows x width, 256 KB) a brute-force reduction selects instead of keeping a heap... */
const SELECT_MAX_INDEX_VALUES = 32768;
/**
 * ... from this k (the heap's updates grow with k, the selection's cost does not; LOF on 1,000
 * seed rows: k = 20 twice as fast with the heap, k = 200 twice as fast with the selection).
 */
const SELECT_MIN_K = 64;

/**
 * {@link knnReduce} by brute force for a small index (one that stays in the cache), on worker
 * threads when there are several: each query's squared distances to every index row go into a
 * buffer, a quickselect finds the k-th smallest value `t`, and one pass in index order takes the
 * rows below `t` and, of those at `t`, the lowest-numbered ones: the same k neighbours as the
 * heap's (distance, index) order, already in index order, for a few operations per row instead of
 * heap updates (LOF k = 200 on 1,000 rows: many of them). Undefined when it does not apply (a large
 * index, non-finite values, no code generation).
 */
function selectReduce(index: DenseMatrix, queries: DenseMatrix, k: number, reducer: NeighbourReducer): Float64Array | undefined {
  const n = index.rows;
  const d = index.cols;
  const m = queries.rows;
  if (!codegenAvailable || d > MAX_UNROLLED_WIDTH || n * d > SELECT_MAX_INDEX_VALUES || k < SELECT_MIN_K || m < 2) return undefined;
  if (!allFinite(index.data, n * d) || !allFinite(queries.data, m * d)) return undefined;
  const source = reducer.fn.toString();
  const OUT = sharedScratch('knn-reduced', Float64Array, m);
  const bufs = { X: sharedCopyCached(index.data), Q: sharedQueries(queries.data, m, d), A: sharedCopyCached(reducer.a), B: sharedCopyCached(reducer.b), OUT };
  const key = `knn-select-${d}-reduce:${source}`;
  const ok = runBlocks({ key, source: () => selectReduceSource(d, source), bufs, params: { n, d, k }, rows: m, blockRows: PARALLEL_BLOCK_ROWS });
  return ok ? OUT.slice() : undefined;
}

/** Source of {@link selectReduce}'s block kernel for width `d` (the distance unrolled, as the brute force sums it). */
function selectReduceSource(d: number, reduce: string): string {
  const dist = Array.from({ length: d }, (_, f) => `t = X[xb + ${f}] - Q[qa + ${f}]; ${f === 0 ? 's = t * t;' : 's += t * t;'}`).join(' ');
  return `(function () {
  'use strict';
  const reduce = ${reduce};
  let S = null, T = null, D = null, I = null;
  return function (b, p, start, end) {
    const X = b.X, Q = b.Q, n = p.n, d = p.d, k = p.k;
    if (!S || S.length < n) { S = new Float64Array(n); T = new Float64Array(n); }
    if (!D || D.length < k) { D = new Float64Array(k); I = new Int32Array(k); }
    for (let q = start; q < end; q++) {
      const qa = q * d;
      for (let j = 0, xb = 0; j < n; j++, xb += d) { let t, s; ${dist} S[j] = s; T[j] = s; }
      // T[k - 1] becomes the k-th smallest value (quickselect, median of three)
      let lo = 0, hi = n - 1;
      const nth = k - 1;
      while (hi > lo) {
        const mid = (lo + hi) >> 1;
        const a = T[lo], bb = T[mid], c = T[hi];
        const pivot = a < bb ? (bb < c ? bb : a < c ? c : a) : a < c ? a : bb < c ? c : bb;
        let i = lo, j = hi;
        while (i <= j) {
          while (T[i] < pivot) i++;
          while (T[j] > pivot) j--;
          if (i <= j) { const x = T[i]; T[i] = T[j]; T[j] = x; i++; j--; }
        }
        if (nth <= j) hi = j; else if (nth >= i) lo = i; else break;
      }
      const th = T[nth];
      let below = 0;
      for (let j = 0; j < n; j++) if (S[j] < th) below++;
      let ties = k - below, c = 0;
      for (let j = 0; j < n && c < k; j++) {
        const s = S[j];
        if (s < th || (s === th && ties-- > 0)) { D[c] = Math.sqrt(s); I[c] = j; c++; }
      }
      b.OUT[q] = reduce(D, I, 0, k, b.A, b.B);
    }
  };
})()`;
}

/** Threads for a tree search of `m` queries on workers, or 0 when it stays on this thread. */
function treeThreads(tree: KdTree, m: number): number {
  if (!codegenAvailable || tree.d > MAX_UNROLLED_WIDTH || m < TREE_PARALLEL_MIN_QUERIES) return 0;
  const threads = threadCount();
  return threads < 2 ? 0 : threads;
}

/** The tree's arrays (shared already) and a warm start's, for a worker job. */
function treeBufs(tree: KdTree, hint?: NeighbourHint): Record<string, SharedArray> {
  const bufs: Record<string, SharedArray> = { X: tree.data, P: tree.perm, NS: tree.start, NE: tree.end, LO: tree.lo, HI: tree.hi };
  if (hint) {
    if (hint.G) bufs.G = sharedCopyCached(hint.G);
    bufs.XO = sharedCopyCached(hint.XO);
  }
  return bufs;
}

/** A tree job's numbers: sizes, and the warm start's list width `h` or previous-query mode `prev`. */
function treeParams(tree: KdTree, k: number, hint?: NeighbourHint): { d: number; k: number } & Record<string, number> {
  return { d: tree.d, k, firstLeaf: tree.firstLeaf, n: tree.n, h: hint?.G ? hint.G.length / tree.n : 0, prev: hint && !hint.G ? 1 : 0 };
}

/** The `m` queries in shared memory (a scratch copy unless they already are). */
function sharedQueries(Qin: Float64Array, m: number, d: number): Float64Array {
  if (Qin.buffer instanceof SharedArrayBuffer) return Qin;
  const Q = sharedScratch('knn-Q', Float64Array, m * d);
  Q.set(Qin.subarray(0, m * d));
  return Q;
}


/**
 * Run a neighbour block kernel on worker threads over `m` queries `Qin` (copied into shared
 * scratch unless already shared), `k` neighbours each, into the shared scratch result arrays.
 * @returns views of the reused scratch buffers (callers copy them out), or undefined when the
 *   workers could not run the job
 */
function runNeighbourBlocks(
  key: string,
  source: () => string,
  bufs: Record<string, SharedArray>,
  params: { d: number; k: number } & Record<string, number>,
  Qin: Float64Array,
  m: number,
  blockRows: number,
  threads: number,
): RawResult | undefined {
  const { d, k } = params;
  const D = sharedScratch('knn-D', Float64Array, m * k);
  const I = sharedScratch('knn-I', Int32Array, m * k);
  const Q = sharedQueries(Qin, m, d);
  const ok = runBlocks({ key, source, bufs: { ...bufs, Q, D, I }, params, rows: m, blockRows }, threads);
  return ok ? { k, indices: I, distances: D, scratch: true } : undefined;
}

/**
 * Source of the block kernel of {@link parallelTree}: the tree kernel plus sort and sqrt. A worker
 * keeps one stamp array for warm starts, its stamps increasing over the blocks it runs.
 */
function parallelTreeSource(d: number, reduce?: string): string {
  return neighbourBlockSource(
    `function (${TREE_ARGS.join(', ')}) {\n${treeKernelSource(d)}\n  }`,
    `let warm = null;
    if (p.h > 0 || p.prev) {
      if (!stamps || stamps.ST.length < p.n || stamps.next > 0x3fffffff) stamps = { ST: new Int32Array(p.n), next: 1 };
      warm = { G: p.prev ? null : b.G, h: p.h, XO: b.XO, ST: stamps.ST, stamp: stamps.next };
      stamps.next += end - start;
    }
    kern(b.X, b.P, b.NS, b.NE, b.LO, b.HI, p.firstLeaf, Qb, end - start, d, k, D, I, insertNeighbour, undefined, warm);`,
    reduce,
  );
}

/**
 * Whether the leave-one-out search should run as a query search (rows as their own queries, k + 1
 * neighbours, self dropped) instead of the pairwise kernel: with several threads, or for a large
 * index, where the pairwise kernel's scattered updates of every row's list make it memory-bound
 * (measured: 100,000 rows, k = 20, 84 s pairwise against about 40 s as queries on one thread).
 */
function useQueryKernelForSelf(n: number, d: number): boolean {
  if (!codegenAvailable || d > MAX_UNROLLED_WIDTH || n * n * d < PARALLEL_MIN_WORK) return false;
  return n >= 30000 || threadCount() >= 2;
}

/**
 * Leave-one-out neighbours from each row's k + 1 nearest rows (itself included, at distance 0):
 * drop the row itself when it is among them, else the (k+1)-th. Exactly the k nearest other rows
 * under the (distance, index) order. With `order`, result row `r` is original row `order[r]` and
 * goes to that row of the output (the tree's row order). Always a fresh copy.
 */
function dropSelf(r: KnnResult, k: number, order?: Int32Array): KnnResult {
  const k1 = r.k;
  const m = r.indices.length / k1;
  const I = new Int32Array(m * k);
  const D = new Float64Array(m * k);
  for (let row = 0; row < m; row++) {
    const q = order ? order[row] : row;
    let o = q * k;
    const end = o + k;
    for (let j = row * k1, e = j + k1; j < e && o < end; j++) {
      if (r.indices[j] === q) continue;
      I[o] = r.indices[j];
      D[o] = r.distances[j];
      o++;
    }
  }
  return { k, indices: I, distances: D };
}

/** Below this many squared-difference terms (queries x index rows x width) a search stays on one thread. */
const PARALLEL_MIN_WORK = 4_000_000;
/** Queries per block of a parallel search. */
const PARALLEL_BLOCK_ROWS = 128;

/**
 * The query search on worker threads (see {@link runBlocks}): blocks of queries, each searched,
 * sorted and square-rooted by the same generated code as on one thread, so the result is the
 * same to the bit. Undefined when it does not apply (one thread, a small search, no code generation).
 */
function parallelQuery(index: DenseMatrix, queries: DenseMatrix, k: number): RawResult | undefined {
  const n = index.rows;
  const m = queries.rows;
  const d = index.cols;
  if (!codegenAvailable || d > MAX_UNROLLED_WIDTH || m < 2 * PARALLEL_BLOCK_ROWS || m * n * d < PARALLEL_MIN_WORK) return undefined;
  const threads = threadCount();
  if (threads < 2) return undefined;
  return runNeighbourBlocks(
    `knn-query-${d}`,
    () => parallelQuerySource(d),
    { X: sharedCopyCached(index.data) },
    { n, d, k },
    queries.data,
    m,
    PARALLEL_BLOCK_ROWS,
    threads,
  );
}

/** Source of the block kernel of {@link parallelQuery}: the unrolled query kernel plus sort and sqrt. */
function parallelQuerySource(d: number): string {
  return neighbourBlockSource(
    `function (X, Q, n, m, d, k, D, I, insert) {\n${unrolledQuerySource(d)}\n  }`,
    'kern(b.X, Qb, p.n, end - start, d, k, D, I, insertNeighbour);',
  );
}

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

/**
 * Source of a query kernel for width `d`: blocks of 64 queries against tiles of about 128 KB of
 * index rows (so a tile is read from memory once per block, not once per query), two queries per
 * pass held in locals. Each query still sees the index rows in ascending order.
 */
function unrolledQuerySource(d: number): string {
  const sq = (acc: string, f: number) => (f === 0 ? `${acc} = t * t;` : `${acc} += t * t;`);
  const tile = Math.max(64, Math.floor(16384 / d));
  const lines: string[] = [];
  lines.push('const C = new Int32Array(m), W = new Float64Array(m).fill(Infinity);');
  lines.push('for (let q0 = 0; q0 < m; q0 += 64) {');
  lines.push('  const q1 = Math.min(m, q0 + 64);');
  lines.push(`  for (let t0 = 0; t0 < n; t0 += ${tile}) {`);
  lines.push(`    const t1 = Math.min(n, t0 + ${tile});`);
  lines.push('    let q = q0;');
  lines.push('    for (; q + 2 <= q1; q += 2) {');
  lines.push('      const qa = q * d, qb = qa + d, ba = q * k, bb = ba + k;');
  lines.push('      let ca = C[q], cb = C[q + 1], wa = W[q], wb = W[q + 1];');
  for (let f = 0; f < d; f++) lines.push(`      const a${f} = Q[qa + ${f}], b${f} = Q[qb + ${f}];`);
  lines.push('      for (let j = t0, xb = t0 * d; j < t1; j++, xb += d) {');
  lines.push('        let x, t, sa, sb;');
  for (let f = 0; f < d; f++) {
    lines.push(`        x = X[xb + ${f}]; t = x - a${f}; ${sq('sa', f)} t = x - b${f}; ${sq('sb', f)}`);
  }
  lines.push('        if (sa <= wa) { ca = insert(D, I, ba, k, ca, sa, j); if (ca === k) wa = D[ba]; }');
  lines.push('        if (sb <= wb) { cb = insert(D, I, bb, k, cb, sb, j); if (cb === k) wb = D[bb]; }');
  lines.push('      }');
  lines.push('      C[q] = ca; C[q + 1] = cb; W[q] = wa; W[q + 1] = wb;');
  lines.push('    }');
  lines.push('    for (; q < q1; q++) {');
  lines.push('      const qa = q * d, ba = q * k;');
  lines.push('      let ca = C[q], wa = W[q];');
  for (let f = 0; f < d; f++) lines.push(`      const a${f} = Q[qa + ${f}];`);
  lines.push('      for (let j = t0, xb = t0 * d; j < t1; j++, xb += d) {');
  lines.push('        let t, sa;');
  for (let f = 0; f < d; f++) lines.push(`        t = X[xb + ${f}] - a${f}; ${sq('sa', f)}`);
  lines.push('        if (sa <= wa) { ca = insert(D, I, ba, k, ca, sa, j); if (ca === k) wa = D[ba]; }');
  lines.push('      }');
  lines.push('      C[q] = ca; W[q] = wa;');
  lines.push('    }');
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
  lines.push('    if (s <= wi) { ci = insert(D, I, bi, k, ci, s, j); if (ci === k) wi = D[bi]; }');
  lines.push('    if (s <= worst[j]) {');
  lines.push('      const bj = j * k, cj = insert(D, I, bj, k, counts[j], s, i);');
  lines.push('      counts[j] = cj; if (cj === k) worst[j] = D[bj];');
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
        if (ca === k) wa = D[ba];
      }
      if (sb <= wb) {
        cb = insert(D, I, bb, k, cb, sb, j);
        if (cb === k) wb = D[bb];
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
        if (ca === k) wa = D[ba];
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
        if (ci === k) wi = D[bi];
      }
      if (s <= worst[j]) {
        const bj = j * k;
        const cj = insert(D, I, bj, k, counts[j], s, i);
        counts[j] = cj;
        if (cj === k) worst[j] = D[bj];
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
  const savedT = new Map(treeKernels);
  codegenAvailable = false;
  queryKernels.clear();
  selfKernels.clear();
  treeKernels.clear();
  try {
    return knnSearch(index, queries, k, opts);
  } finally {
    codegenAvailable = saved;
    queryKernels.clear();
    selfKernels.clear();
    treeKernels.clear();
    for (const [key, v] of savedQ) queryKernels.set(key, v);
    for (const [key, v] of savedS) selfKernels.set(key, v);
    for (const [key, v] of savedT) treeKernels.set(key, v);
  }
}

/**
 * Test hook: {@link knnSearch} with the search method forced (`'brute'` or `'tree'`), optionally
 * with the generic kernels ({@link knnSearchGeneric}). Not part of the public API.
 * @internal
 */
export function knnSearchWith(
  method: KnnMethod,
  index: DenseMatrix,
  queries: DenseMatrix,
  k: number,
  opts: KnnSearchOptions & { generic?: boolean } = {},
): KnnResult {
  const saved = forcedMethod;
  forcedMethod = method;
  try {
    return opts.generic ? knnSearchGeneric(index, queries, k, opts) : knnSearch(index, queries, k, opts);
  } finally {
    forcedMethod = saved;
  }
}

/**
 * Test hook: the method the automatic choice takes for this search (the pilot included).
 * @internal
 */
export function knnAutoMethod(index: DenseMatrix, queries: DenseMatrix, k: number): { method: 'brute' | 'tree'; pilotFraction: number } {
  const saved = forcedMethod;
  forcedMethod = 'auto';
  lastPilotFraction = NaN;
  trees.delete(index.data); // a fresh pilot, not a remembered verdict
  try {
    const method = chooseTree(index, queries, k) ? 'tree' : 'brute';
    return { method, pilotFraction: lastPilotFraction };
  } finally {
    forcedMethod = saved;
  }
}

/**
 * Test hook: {@link knnSearch} / {@link knnReduce} with the matrix-product brute force forced on
 * at any width (`'wasm'`: the WebAssembly tile where available; `'js'`: its JavaScript twin) or off
 * (`'off'`: the direct kernels). Not part of the public API.
 * @internal
 */
export function withExpandedSearch<T>(mode: 'wasm' | 'js' | 'off', f: () => T): T {
  const saved = forcedExpanded;
  forcedExpanded = mode === 'off' ? false : mode === 'js' ? 'js' : true;
  try {
    return f();
  } finally {
    forcedExpanded = saved;
  }
}

/**
 * Whether `ks` is a saved list of neighbour counts as the neighbour detectors write it: integers
 * >= 1, strictly ascending, the last equal to `k` (the one search's k). Used to validate snapshots.
 */
export function isKList(ks: unknown, k: unknown): ks is number[] {
  return (
    Array.isArray(ks) &&
    ks.length > 0 &&
    ks.every((x, i) => typeof x === 'number' && Number.isInteger(x) && x >= 1 && (i === 0 || x > ks[i - 1])) &&
    ks[ks.length - 1] === k
  );
}

/** The saved search parameters and training rows of a neighbour detector, checked by {@link neighbourIndexOf}. */
export interface NeighbourIndex {
  k: number;
  ks: number[];
  nTrain: number;
  nFeatures: number;
  train: Float64Array;
}

/**
 * The saved search parameters and training rows of a neighbour detector when they fit together,
 * else undefined: `k` an integer >= 1, `ks` a list as {@link isKList} checks, more than `k`
 * training rows of `nFeatures` columns (an integer >= 1), and `train` a Float64Array of exactly
 * those rows. Used to validate the kNN and LOF snapshots before anything is allocated from them.
 */
export function neighbourIndexOf(k: unknown, ks: unknown, nTrain: unknown, nFeatures: unknown, train: unknown): NeighbourIndex | undefined {
  const ok =
    typeof k === 'number' &&
    Number.isInteger(k) &&
    k >= 1 &&
    isKList(ks, k) &&
    typeof nTrain === 'number' &&
    Number.isInteger(nTrain) &&
    nTrain > k &&
    typeof nFeatures === 'number' &&
    Number.isInteger(nFeatures) &&
    nFeatures >= 1 &&
    train instanceof Float64Array &&
    train.length === nTrain * nFeatures;
  return ok ? { k, ks: ks as number[], nTrain, nFeatures, train } : undefined;
}
