/**
 * Isolation Forest (Liu, Ting and Zhou 2008): random trees grown on small subsamples isolate an
 * anomaly in fewer splits than a normal row. Trees live in flat typed arrays (one set for the
 * whole forest) and are built and walked iteratively, without recursion or node objects.
 */
import { BaseDetector, type BaseDetectorOptions, type DetectorSnapshot, type FitResult } from '../core/detector';
import { ModelFormatError, optionError } from '../core/errors';
import type { DenseMatrix } from '../core/matrix';
import { Random } from '../core/random';
import { runBlocks, sharedCopyCached, sharedScratch, threadCount } from '../compute/parallel';

/** Options of {@link IsolationForest}. */
export interface IsolationForestOptions extends BaseDetectorOptions {
  /**
   * Number of trees, an integer >= 1.
   * @defaultValue 100
   */
  nEstimators?: number;
  /**
   * Rows drawn without replacement to grow each tree (ψ in the paper), an integer >= 2. When `fit`
   * gets fewer rows, every tree uses all of them (ψ = number of rows), as scikit-learn's
   * `max_samples='auto'` = min(256, n).
   * @defaultValue 256
   */
  maxSamples?: number;
}

/**
 * Fitted forest. Node `v` of the forest (all trees concatenated) is a leaf when `feature[v] < 0`;
 * otherwise rows with `x[feature[v]] <= split[v]` go to `left[v]` and the others to `left[v] + 1`
 * (children are allocated side by side). Child indices are forest-wide.
 */
export interface IsolationForestState {
  /** Rows each tree was grown on (ψ = min(maxSamples, training rows)). */
  psi: number;
  /** Depth limit of every tree, ceil(log2(ψ)). */
  maxDepth: number;
  /** Number of trees. */
  nTrees: number;
  /** `nTrees + 1` offsets: tree `t`'s nodes are `[treeOffsets[t], treeOffsets[t+1])`, root first. */
  treeOffsets: Int32Array;
  /** Split feature per node, -1 for a leaf. */
  feature: Int32Array;
  /** Split value per node (0 for a leaf). */
  split: Float64Array;
  /** Left child per node (right child = left + 1), -1 for a leaf. */
  left: Int32Array;
  /** Subsample rows that reached each node. */
  nodeSize: Int32Array;
  /**
   * Per leaf: its depth plus c(nodeSize), the path length credited to a row ending there (the
   * average depth a random tree would still need to isolate that many rows); 0 on inner nodes.
   */
  pathLength: Float64Array;
}

const DEFAULTS = {
  contamination: 0.1,
  nEstimators: 100,
  maxSamples: 256,
} satisfies Required<Omit<IsolationForestOptions, 'seed'>>;

/** A feature whose range in a node is at most this is treated as constant (scikit-learn's FEATURE_THRESHOLD). */
const FEATURE_THRESHOLD = 1e-7;

const EULER_GAMMA = 0.5772156649015329;

/**
 * c(n): average path length of an unsuccessful search in a binary search tree of n rows, used to
 * normalise Isolation Forest path lengths (scikit-learn's `_average_path_length`).
 *
 * @param n - number of rows, >= 0
 * @returns 0 for n <= 1, 1 for n = 2, else 2·H(n-1) - 2(n-1)/n with H(i) ≈ ln(i) + γ (Euler's constant)
 *
 * @example
 * ```ts
 * averagePathLength(256); // 10.244770920119917
 * ```
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2.0 * (Math.log(n - 1.0) + EULER_GAMMA) - (2.0 * (n - 1.0)) / n;
}

/**
 * Isolation Forest anomaly detector.
 *
 * @remarks
 * Liu, Ting and Zhou, "Isolation Forest", ICDM 2008. Each of `nEstimators` trees is grown on its
 * own subsample of ψ rows drawn without replacement, down to depth ceil(log2 ψ): a node picks a
 * random non-constant feature and a split uniform between that feature's min and max in the node
 * (a node whose features are all constant becomes a leaf), as scikit-learn's `IsolationForest`.
 *
 * Score direction: `anomalyScore` is the paper's s(x) = 2^(−E[h(x)] / c(ψ)) in (0, 1), where h(x)
 * is the depth of the leaf x reaches plus c(leaf size). Higher means more anomalous; about 0.5 and
 * below is normal. It equals `-score_samples` of scikit-learn.
 *
 * Cost: fit O(nEstimators · ψ · log ψ), independent of the number of training rows beyond
 * drawing the subsamples; scoring O(rows · nEstimators · log ψ).
 *
 * @example
 * ```ts
 * const forest = await new IsolationForest({ nEstimators: 200, seed: 42 }).fit(scaledTrain);
 * const scores = forest.anomalyScore(scaledTest); // in (0, 1), higher = more anomalous
 * const flags = forest.predict(scaledTest); // 1 = anomaly
 * ```
 */
export class IsolationForest extends BaseDetector<IsolationForestOptions, IsolationForestState> {
  readonly name = 'isolationForest' as const;

  /**
   * @param options - see {@link IsolationForestOptions}
   * @throws RangeError for an option out of range
   */
  constructor(options: IsolationForestOptions = {}) {
    super(options, DEFAULTS);
    const o = this.options;
    if (typeof o.nEstimators !== 'number' || !Number.isInteger(o.nEstimators) || o.nEstimators < 1) {
      throw optionError('IsolationForest', 'nEstimators', 'an integer >= 1', o.nEstimators);
    }
    if (typeof o.maxSamples !== 'number' || !Number.isInteger(o.maxSamples) || o.maxSamples < 2) {
      throw optionError('IsolationForest', 'maxSamples', 'an integer >= 2', o.maxSamples);
    }
  }

  /**
   * Rebuild a fitted forest from {@link BaseDetector.exportSnapshot}'s output; scores are
   * bit-identical to the saved forest's.
   * @throws ModelFormatError when the snapshot is not an IsolationForest's or is inconsistent
   */
  static async load(snapshot: DetectorSnapshot): Promise<IsolationForest> {
    if (snapshot.className !== 'IsolationForest') {
      throw new ModelFormatError(`expected an IsolationForest snapshot, got '${snapshot.className}'.`);
    }
    return new IsolationForest(snapshot.options as IsolationForestOptions).restore(snapshot);
  }

  /** Rows each tree was grown on: min(maxSamples, training rows) (scikit-learn's `max_samples_`). */
  get psi(): number {
    return this.state.psi;
  }

  /** Total number of tree nodes in the forest. */
  get nNodes(): number {
    return this.state.feature.length;
  }

  minTrainRows(): number {
    return 2;
  }

  protected async fitCore(X: DenseMatrix, seed: number): Promise<FitResult<IsolationForestState>> {
    const state = growForest(X, this.options.nEstimators, this.options.maxSamples, seed);
    return { state, trainScores: scoreForest(state, X) };
  }

  protected scoreCore(state: IsolationForestState, X: DenseMatrix): Float64Array {
    return scoreForest(state, X);
  }

  protected exportCore(state: IsolationForestState): Omit<DetectorSnapshot, 'className' | 'options'> {
    return {
      params: { psi: state.psi, maxDepth: state.maxDepth, nTrees: state.nTrees },
      arrays: {
        treeOffsets: state.treeOffsets.slice(),
        feature: state.feature.slice(),
        split: state.split.slice(),
        left: state.left.slice(),
        nodeSize: state.nodeSize.slice(),
        pathLength: state.pathLength.slice(),
      },
      files: {},
    };
  }

  protected importCore(snapshot: DetectorSnapshot): IsolationForestState {
    const { psi, maxDepth, nTrees } = snapshot.params;
    const nFeatures = (snapshot.params.base as { nFeatures?: unknown } | undefined)?.nFeatures;
    const { treeOffsets, feature, split, left, nodeSize, pathLength } = snapshot.arrays;
    const bad = (why: string) => new ModelFormatError(`IsolationForest snapshot: ${why}.`);
    if (!isInt(psi, 2) || !isInt(maxDepth, 0) || !isInt(nTrees, 1) || !isInt(nFeatures, 1)) {
      throw bad('psi, maxDepth, nTrees or nFeatures missing or invalid');
    }
    if (
      !(treeOffsets instanceof Int32Array) ||
      !(feature instanceof Int32Array) ||
      !(split instanceof Float64Array) ||
      !(left instanceof Int32Array) ||
      !(nodeSize instanceof Int32Array) ||
      !(pathLength instanceof Float64Array)
    ) {
      throw bad('treeOffsets, feature, split, left, nodeSize or pathLength missing or of the wrong type');
    }
    const nNodes = feature.length;
    if (
      treeOffsets.length !== nTrees + 1 ||
      treeOffsets[0] !== 0 ||
      treeOffsets[nTrees] !== nNodes ||
      split.length !== nNodes ||
      left.length !== nNodes ||
      nodeSize.length !== nNodes ||
      pathLength.length !== nNodes
    ) {
      throw bad('array lengths do not match');
    }
    // Walks must stay inside the arrays: check every inner node's feature and children.
    for (let t = 0; t < nTrees; t++) {
      const lo = treeOffsets[t];
      const hi = treeOffsets[t + 1];
      if (!(lo < hi)) throw bad(`tree ${t} is empty`);
      for (let v = lo; v < hi; v++) {
        if (feature[v] < 0) continue;
        if (feature[v] >= nFeatures || !(left[v] > v && left[v] + 1 < hi)) throw bad(`tree ${t} has a bad node ${v - lo}`);
      }
    }
    return {
      psi,
      maxDepth,
      nTrees,
      treeOffsets: treeOffsets.slice(),
      feature: feature.slice(),
      split: split.slice(),
      left: left.slice(),
      nodeSize: nodeSize.slice(),
      pathLength: pathLength.slice(),
    };
  }
}

function isInt(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/**
 * Grow `nTrees` isolation trees. One generator seeded with `seed` hands each tree its own seed;
 * a tree's generator draws its subsample, then its split features and values.
 */
function growForest(X: DenseMatrix, nTrees: number, maxSamples: number, seed: number): IsolationForestState {
  const n = X.rows;
  const psi = Math.min(maxSamples, n);
  const maxDepth = Math.ceil(Math.log2(Math.max(psi, 2)));
  const maxNodes = 2 * psi - 1;
  // c(size) for every possible node size, so leaves cost one lookup.
  const cTable = new Float64Array(psi + 1);
  for (let s = 0; s <= psi; s++) cTable[s] = averagePathLength(s);

  const master = new Random(seed);
  const treeSeeds = new Array<number>(nTrees);
  for (let t = 0; t < nTrees; t++) treeSeeds[t] = master.nextSeed();

  // Scratch reused by every tree.
  const pool = new Int32Array(n); // all row ids; a partial Fisher-Yates on it draws a subsample
  for (let i = 0; i < n; i++) pool[i] = i;
  const rows = new Int32Array(psi);
  const candidates = new Int32Array(X.cols);
  const stack = new Int32Array(4 * (maxDepth + 2) * 2);
  const tree = {
    feature: new Int32Array(maxNodes),
    split: new Float64Array(maxNodes),
    left: new Int32Array(maxNodes),
    nodeSize: new Int32Array(maxNodes),
    pathLength: new Float64Array(maxNodes),
  };

  const chunks: { feature: Int32Array; split: Float64Array; left: Int32Array; nodeSize: Int32Array; pathLength: Float64Array }[] = [];
  const treeOffsets = new Int32Array(nTrees + 1);
  for (let t = 0; t < nTrees; t++) {
    const rng = new Random(treeSeeds[t]);
    // Subsample without replacement: the first psi slots after a partial shuffle of the pool. The
    // pool is not reset between trees; any arrangement gives a uniform draw.
    for (let i = 0; i < psi; i++) {
      const j = i + rng.int(n - i);
      const tmp = pool[i];
      pool[i] = pool[j];
      pool[j] = tmp;
      rows[i] = pool[i];
    }
    const nNodes = growTree(X, rows, psi, maxDepth, rng, cTable, candidates, stack, tree);
    const offset = treeOffsets[t];
    treeOffsets[t + 1] = offset + nNodes;
    const left = tree.left.slice(0, nNodes);
    for (let v = 0; v < nNodes; v++) if (left[v] >= 0) left[v] += offset;
    chunks.push({
      feature: tree.feature.slice(0, nNodes),
      split: tree.split.slice(0, nNodes),
      left,
      nodeSize: tree.nodeSize.slice(0, nNodes),
      pathLength: tree.pathLength.slice(0, nNodes),
    });
  }

  const total = treeOffsets[nTrees];
  const state: IsolationForestState = {
    psi,
    maxDepth,
    nTrees,
    treeOffsets,
    feature: new Int32Array(total),
    split: new Float64Array(total),
    left: new Int32Array(total),
    nodeSize: new Int32Array(total),
    pathLength: new Float64Array(total),
  };
  for (let t = 0; t < nTrees; t++) {
    const c = chunks[t];
    const o = treeOffsets[t];
    state.feature.set(c.feature, o);
    state.split.set(c.split, o);
    state.left.set(c.left, o);
    state.nodeSize.set(c.nodeSize, o);
    state.pathLength.set(c.pathLength, o);
  }
  return state;
}

/**
 * Grow one tree on `rows[0..psi)` (reordered in place) into the scratch arrays of `tree`, node 0
 * the root; returns its node count. Depth-first with an explicit stack of (node, start, end, depth).
 */
function growTree(
  X: DenseMatrix,
  rows: Int32Array,
  psi: number,
  maxDepth: number,
  rng: Random,
  cTable: Float64Array,
  candidates: Int32Array,
  stack: Int32Array,
  tree: { feature: Int32Array; split: Float64Array; left: Int32Array; nodeSize: Int32Array; pathLength: Float64Array },
): number {
  const data = X.data;
  const d = X.cols;
  const { feature, split, left, nodeSize, pathLength } = tree;
  let nNodes = 1;
  let sp = 0;
  stack[sp++] = 0;
  stack[sp++] = 0;
  stack[sp++] = psi;
  stack[sp++] = 0;
  while (sp > 0) {
    const depth = stack[--sp];
    const end = stack[--sp];
    const start = stack[--sp];
    const node = stack[--sp];
    const size = end - start;
    nodeSize[node] = size;

    let f = -1;
    let lo = 0;
    let hi = 0;
    if (depth < maxDepth && size >= 2) {
      // Draw features without replacement until one is not constant in this node.
      for (let c = 0; c < d; c++) candidates[c] = c;
      let nCand = d;
      while (nCand > 0) {
        const r = rng.int(nCand);
        const g = candidates[r];
        let mn = Infinity;
        let mx = -Infinity;
        for (let i = start; i < end; i++) {
          const v = data[rows[i] * d + g];
          if (v < mn) mn = v;
          if (v > mx) mx = v;
        }
        if (mx > mn + FEATURE_THRESHOLD) {
          f = g;
          lo = mn;
          hi = mx;
          break;
        }
        candidates[r] = candidates[nCand - 1];
        candidates[nCand - 1] = g;
        nCand--;
      }
    }

    if (f < 0) {
      feature[node] = -1;
      split[node] = 0;
      left[node] = -1;
      pathLength[node] = depth + cTable[size];
      continue;
    }

    let threshold = lo + (hi - lo) * rng.random();
    if (threshold >= hi) threshold = lo; // rounding reached the max: keep the right side non-empty
    // Partition rows[start..end): values <= threshold first.
    let i = start;
    let j = end - 1;
    while (i <= j) {
      if (data[rows[i] * d + f] <= threshold) i++;
      else {
        const tmp = rows[i];
        rows[i] = rows[j];
        rows[j] = tmp;
        j--;
      }
    }
    const l = nNodes;
    nNodes += 2;
    feature[node] = f;
    split[node] = threshold;
    left[node] = l;
    pathLength[node] = 0;
    stack[sp++] = l + 1;
    stack[sp++] = i;
    stack[sp++] = end;
    stack[sp++] = depth + 1;
    stack[sp++] = l;
    stack[sp++] = start;
    stack[sp++] = i;
    stack[sp++] = depth + 1;
  }
  return nNodes;
}

/** Below this many tree walks (rows x trees) scoring stays on one thread. */
const PARALLEL_MIN_WALKS = 2_000_000;
/** Rows per block of a parallel scoring job. */
const PARALLEL_BLOCK_ROWS = 1024;

/**
 * s(x) = 2^(−E[h(x)] / c(ψ)) per row: trees walked row by row, leaves adding depth + c(size). Large
 * batches are split over worker threads ({@link runBlocks}), each row scored by the same function,
 * so the scores do not depend on the number of threads.
 */
function scoreForest(state: IsolationForestState, X: DenseMatrix): Float64Array {
  const { feature, split, left, pathLength, treeOffsets, nTrees } = state;
  const d = X.cols;
  const n = X.rows;
  const norm = nTrees * averagePathLength(state.psi);
  const threads = threadCount();
  if (threads > 1 && n >= 2 * PARALLEL_BLOCK_ROWS && n * nTrees >= PARALLEL_MIN_WALKS) {
    const x = sharedScratch('iforest-X', Float64Array, n * d);
    x.set(X.data.subarray(0, n * d));
    const out = sharedScratch('iforest-out', Float64Array, n);
    const bufs = {
      x,
      out,
      feature: sharedCopyCached(feature),
      split: sharedCopyCached(split),
      left: sharedCopyCached(left),
      pathLength: sharedCopyCached(pathLength),
      treeOffsets: sharedCopyCached(treeOffsets),
    };
    const job = { key: 'iforest-score', source: scoreKernelSource, bufs, params: { nTrees, norm, d }, rows: n, blockRows: PARALLEL_BLOCK_ROWS };
    if (runBlocks(job, threads)) return out.slice();
  }
  const out = new Float64Array(n);
  scoreRows(feature, split, left, pathLength, treeOffsets, nTrees, norm, X.data, d, out, 0, n);
  return out;
}

/** Scores of rows [start, end) of `data` (`d` columns) into `out` (see {@link scoreForest}). */
function scoreRows(
  feature: Int32Array,
  split: Float64Array,
  left: Int32Array,
  pathLength: Float64Array,
  treeOffsets: Int32Array,
  nTrees: number,
  norm: number,
  data: Float64Array,
  d: number,
  out: Float64Array,
  start: number,
  end: number,
): void {
  for (let r = start, xb = start * d; r < end; r++, xb += d) {
    let sum = 0;
    for (let t = 0; t < nTrees; t++) {
      let v = treeOffsets[t];
      let f = feature[v];
      while (f >= 0) {
        // Branch-free step (right child = left + 1): about 1.5x faster than an if on random splits.
        v = left[v] + Number(data[xb + f] > split[v]);
        f = feature[v];
      }
      sum += pathLength[v];
    }
    out[r] = Math.pow(2, -sum / norm);
  }
}

/** Source of the worker kernel of {@link scoreForest}: {@link scoreRows} itself. */
function scoreKernelSource(): string {
  return `(function () {
  'use strict';
  const scoreRows = ${scoreRows.toString()};
  return function (b, p, start, end) {
    scoreRows(b.feature, b.split, b.left, b.pathLength, b.treeOffsets, p.nTrees, p.norm, b.x, p.d, b.out, start, end);
  };
})()`;
}
