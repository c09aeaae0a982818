/**
 * The dual of the One-Class SVM, solved as libsvm solves it (`svm.cpp`, version 3.2x: `Solver`
 * with `solve_one_class`), step for step, so that the model is libsvm's:
 *
 *     min ½ αᵀQα  subject to  0 ≤ α_i ≤ 1,  Σ α_i = ν·l,   Q_ij = K(x_i, x_j) (RBF)
 *
 * - start: the first ⌊ν·l⌋ α at 1, the next at ν·l − ⌊ν·l⌋, the rest 0;
 * - SMO with working-set selection by second-order information (Fan, Chen and Lin, JMLR 6, 2005):
 *   i maximises −G_i over α_i < 1, j minimises −(G_i − G_j)²/(Q_ii + Q_jj − 2Q_ij) over α_j > 0
 *   with G_j > G_i (a non-positive curvature replaced by 1e-12); stop when the maximal violation
 *   is below `eps`;
 * - the two-variable update clipped to the box with the sum kept, then G updated over the active
 *   set, and Ḡ (the gradient part from variables at the upper bound) when a bound status changes;
 * - shrinking every min(l, 1000) iterations (variables at a bound whose gradient says they stay
 *   there leave the active set), one unshrink with a rebuilt gradient once the violation is within
 *   10·eps, and a final check on the whole set;
 * - ρ: the mean gradient of the free variables, or the middle of the bounds when none is free.
 *
 * The kernel values are float32 as libsvm caches them (`Qfloat`), computed exactly as libsvm does
 * ({@link RbfKernelColumns}); every other quantity is float64, with libsvm's expressions in its
 * order, so the α and ρ are libsvm's (checked against libsvm-js, the same C code compiled to
 * WebAssembly, in the tests). What differs is speed: kernel columns by SIMD matrix products (the
 * start's columns four at a time) instead of libsvm-js's scalar sparse dot products, in libsvm's
 * own cache scheme (see {@link KernelCache}).
 */
import type { DenseMatrix } from '../core/matrix';
import { RbfKernelColumns } from '../compute/dense';
import { startWorkers, threadCount } from '../compute/parallel';

/** Fewest multiply-adds (rows x (width + 16) x 64 columns) for which the start's columns use threads. */
const PARALLEL_MIN_WORK = 4_000_000;

/** The solution: α per row (in the rows' order), the offset ρ, and the iterations taken. */
export interface OneClassSolution {
  alpha: Float64Array;
  rho: number;
  iterations: number;
}

/** Options of {@link solveOneClass}: libsvm's `nu`, `gamma`, `eps`, `cache_size` (MB) and `shrinking`. */
export interface OneClassSolverOptions {
  nu: number;
  gamma: number;
  eps: number;
  cacheSizeMb: number;
  shrinking?: boolean;
  /** Most threads for the start's kernel columns (default: {@link threadCount}). */
  threads?: number;
}

const LOWER = 0;
const UPPER = 1;
const FREE = 2;
/** libsvm's TAU: the curvature used when the pair's is not positive. */
const TAU = 1e-12;

/**
 * libsvm's kernel cache (`Cache` of svm.cpp): per position a column computed for its first `len`
 * positions and extended when more are asked, the least recently used column given up when no
 * room is left, and kept consistent when two positions swap. The room is `cacheSizeMb` in float32
 * values (less libsvm's per-column overhead), counted in whole columns: each column has a slot of
 * `rows` values in slabs allocated as the cache fills, so computing a column allocates nothing
 * once its slot exists. Which values are cached changes only the time: a kernel value is the same
 * whenever it is computed. Columns the solver's start needs in full are computed up to 64 at a
 * time ({@link prefetch}).
 */
class KernelCache {
  /** Slot of each position's column, −1 when it has none. */
  private readonly slot: Int32Array;
  private readonly len: Int32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Each slot's values (views into slabs of several columns). */
  private views: Float32Array[] = [];
  private freeSlots: number[] = [];
  private readonly maxSlots: number;
  private readonly l: number;
  /** Whole columns computed ahead: position -> offset in `aheadValues`, taken by its next request. */
  private readonly ahead = new Map<number, number>();
  private aheadValues: Float32Array = new Float32Array(0);
  /** Kernel values computed (for tests and benchmarks). */
  computed = 0;

  constructor(
    private readonly kernel: RbfKernelColumns,
    cacheSizeMb: number,
  ) {
    const l = kernel.rows;
    this.l = l;
    this.slot = new Int32Array(l).fill(-1);
    this.len = new Int32Array(l);
    // a circular list through index l (the head): the positions holding a slot, least recent first
    this.prev = new Int32Array(l + 1).fill(l);
    this.next = new Int32Array(l + 1).fill(l);
    const values = Math.floor((cacheSizeMb * 2 ** 20) / 4) - l * 4;
    this.maxSlots = Math.min(l, Math.max(2, Math.floor(values / l)));
  }

  private unlink(h: number): void {
    this.next[this.prev[h]] = this.next[h];
    this.prev[this.next[h]] = this.prev[h];
  }

  private append(h: number): void {
    const head = this.l;
    this.next[h] = head;
    this.prev[h] = this.prev[head];
    this.next[this.prev[h]] = h;
    this.prev[head] = h;
  }

  private free(h: number): void {
    this.unlink(h);
    this.freeSlots.push(this.slot[h]);
    this.slot[h] = -1;
    this.len[h] = 0;
  }

  /** A free slot: one left free, a new one (a slab of up to 1 MiB), or the least recent column's. */
  private takeSlot(): number {
    if (this.freeSlots.length === 0) {
      if (this.views.length < this.maxSlots) {
        const l = this.l;
        const cols = Math.min(this.maxSlots - this.views.length, Math.max(1, Math.floor(2 ** 18 / l)));
        const slab = new Float32Array(cols * l);
        for (let c = cols - 1; c >= 0; c--) {
          this.freeSlots.push(this.views.length + c);
        }
        for (let c = 0; c < cols; c++) this.views.push(slab.subarray(c * l, (c + 1) * l));
      } else {
        this.free(this.next[this.l]);
      }
    }
    return this.freeSlots.pop()!;
  }

  /** Position `i`'s column, valid for positions [0, len). */
  get(i: number, len: number): Float32Array {
    const have = this.len[i];
    let s = this.slot[i];
    if (s >= 0) this.unlink(i);
    else {
      s = this.takeSlot();
      this.slot[i] = s;
    }
    const col = this.views[s];
    if (len > have) {
      const pre = this.ahead.get(i);
      if (pre !== undefined) {
        this.ahead.delete(i);
        col.set(this.aheadValues.subarray(pre + have, pre + len), have);
      } else {
        this.kernel.column(i, have, len, col);
      }
      this.len[i] = len;
      this.computed += len - have;
    }
    this.append(i);
    return col;
  }

  /**
   * Compute the whole columns of up to 64 `positions` (those not cached in full) for the next
   * requests of them, four per distance tile on up to `threads` threads. Columns computed ahead
   * and not requested before the next call are dropped; the positions must not move before they
   * are requested.
   */
  prefetch(positions: readonly number[], threads: number): void {
    this.ahead.clear();
    const todo = positions.filter((i) => this.len[i] < this.l);
    if (todo.length === 0) return;
    this.aheadValues = this.kernel.columnsInto(todo, threads);
    todo.forEach((i, c) => this.ahead.set(i, c * this.kernel.columnStride));
  }

  /** Drop every column (their memory becomes garbage at once, not when the cache is collected). */
  clear(): void {
    this.views = [];
    this.freeSlots = [];
    this.slot.fill(-1);
    this.len.fill(0);
    this.ahead.clear();
    this.aheadValues = new Float32Array(0);
  }

  /** Exchange positions i and j (libsvm's `Cache::swap_index`). */
  swap(i: number, j: number): void {
    if (i === j) return;
    if (this.slot[i] >= 0) this.unlink(i);
    if (this.slot[j] >= 0) this.unlink(j);
    const s = this.slot[i];
    this.slot[i] = this.slot[j];
    this.slot[j] = s;
    const t = this.len[i];
    this.len[i] = this.len[j];
    this.len[j] = t;
    if (this.slot[i] >= 0) this.append(i);
    if (this.slot[j] >= 0) this.append(j);
    if (i > j) {
      const x = i;
      i = j;
      j = x;
    }
    for (let h = this.next[this.l]; h !== this.l; ) {
      const after = this.next[h];
      if (this.len[h] > i) {
        if (this.len[h] > j) {
          const col = this.views[this.slot[h]];
          const v = col[i];
          col[i] = col[j];
          col[j] = v;
        } else {
          this.free(h); // libsvm gives the column up
        }
      }
      h = after;
    }
    this.kernel.swap(i, j);
  }
}

/**
 * `y[k] += a·x[k]` for k in [from, to): libsvm's `G[k] += alpha_i·Q_i[k]`, and with a = ±1 its
 * `G_bar[k] ±= Q_i[k]` (1·x is x, and y + (−x) is y − x, to the bit). The solver's hot loops are
 * small functions of their own, which the JIT optimises after a few calls instead of running them
 * unoptimised until the whole solver is compiled.
 */
function addScaled(y: Float64Array, x: Float32Array, a: number, from: number, to: number): void {
  for (let k = from; k < to; k++) y[k] += a * x[k];
}

/** `G[k] += Q_i[k]·Δα_i + Q_j[k]·Δα_j` for k in [0, n) (libsvm's gradient update, its expression). */
function addPair(G: Float64Array, Qi: Float32Array, ai: number, Qj: Float32Array, aj: number, n: number): void {
  for (let k = 0; k < n; k++) G[k] += Qi[k] * ai + Qj[k] * aj;
}

/**
 * libsvm's one-class solution for the rows of `X` (see the module notes).
 * @returns α in the rows' order, ρ, and the number of iterations
 */
/**
 * @param stats - receives `columns`: the kernel values computed, in whole columns
 */
export function solveOneClass(X: DenseMatrix, opts: OneClassSolverOptions, stats?: { columns: number }): OneClassSolution {
  const l = X.rows;
  const { nu, eps } = opts;
  const shrinking = opts.shrinking !== false;
  // the start's columns on worker threads when they are worth it (started now, so that they are
  // up by the time the columns are computed)
  const maxThreads = opts.threads ?? threadCount();
  const threads = maxThreads > 1 && l * (X.cols + 16) * 64 >= PARALLEL_MIN_WORK ? maxThreads : 1;
  if (threads > 1) startWorkers(threads);
  const cache = new KernelCache(new RbfKernelColumns(X, opts.gamma, false, maxThreads), opts.cacheSizeMb);

  // positions (the solver permutes them when shrinking) -> original rows
  const active = new Int32Array(l);
  for (let i = 0; i < l; i++) active[i] = i;
  const alpha = new Float64Array(l);
  const n = Math.floor(nu * l);
  for (let i = 0; i < n; i++) alpha[i] = 1;
  if (n < l) alpha[n] = nu * l - n;
  const status = new Uint8Array(l);
  const update = (i: number): void => {
    status[i] = alpha[i] >= 1 ? UPPER : alpha[i] <= 0 ? LOWER : FREE;
  };
  for (let i = 0; i < l; i++) update(i);
  // QD[i] = K(i, i) = exp(-γ·0) = 1 for the RBF kernel
  const G = new Float64Array(l);
  const Gbar = new Float64Array(l);
  let activeSize = l;
  let unshrink = false;

  // the start: the columns of every α > 0, computed four at a time
  const starting: number[] = [];
  for (let i = 0; i < l; i++) if (status[i] !== LOWER) starting.push(i);
  for (let t = 0; t < starting.length; t += 64) {
    cache.prefetch(starting.slice(t, t + 64), threads);
    for (const i of starting.slice(t, t + 64)) {
      const Qi = cache.get(i, l);
      const ai = alpha[i];
      addScaled(G, Qi, ai, 0, l);
      if (status[i] === UPPER) addScaled(Gbar, Qi, 1, 0, l);
    }
  }

  const swap = (i: number, j: number): void => {
    if (i === j) return;
    cache.swap(i, j);
    let t: number;
    t = active[i]; active[i] = active[j]; active[j] = t;
    t = G[i]; G[i] = G[j]; G[j] = t;
    t = status[i]; status[i] = status[j]; status[j] = t;
    t = alpha[i]; alpha[i] = alpha[j]; alpha[j] = t;
    t = Gbar[i]; Gbar[i] = Gbar[j]; Gbar[j] = t;
  };

  /** G of the inactive positions, rebuilt from Ḡ and the free variables. */
  const reconstructGradient = (): void => {
    if (activeSize === l) return;
    for (let j = activeSize; j < l; j++) G[j] = Gbar[j]; // + p[j], which is 0
    let nrFree = 0;
    for (let j = 0; j < activeSize; j++) if (status[j] === FREE) nrFree++;
    if (nrFree * l > 2 * activeSize * (l - activeSize)) {
      for (let i = activeSize; i < l; i++) {
        const Qi = cache.get(i, activeSize);
        for (let j = 0; j < activeSize; j++) if (status[j] === FREE) G[i] += alpha[j] * Qi[j];
      }
    } else {
      for (let i = 0; i < activeSize; i++) {
        if (status[i] !== FREE) continue;
        const Qi = cache.get(i, l);
        const ai = alpha[i];
        addScaled(G, Qi, ai, activeSize, l);
      }
    }
  };

  /** The working set (i, j) in `ws`; true when already optimal. */
  const ws = new Int32Array(2);
  const selectWorkingSet = (): boolean => {
    let Gmax = -Infinity;
    let Gmax2 = -Infinity;
    let GmaxIdx = -1;
    let GminIdx = -1;
    let objDiffMin = Infinity;
    for (let t = 0; t < activeSize; t++) {
      if (status[t] !== UPPER && -G[t] >= Gmax) {
        Gmax = -G[t];
        GmaxIdx = t;
      }
    }
    const i = GmaxIdx;
    const Qi = i !== -1 ? cache.get(i, activeSize) : undefined;
    for (let j = 0; j < activeSize; j++) {
      if (status[j] === LOWER) continue;
      const gradDiff = Gmax + G[j];
      if (G[j] >= Gmax2) Gmax2 = G[j];
      if (gradDiff > 0) {
        // QD[i] + QD[j] - 2 y_i Q_i[j], with QD = 1 and y = +1
        const quadCoef = 1 + 1 - 2.0 * Qi![j];
        const objDiff = quadCoef > 0 ? -(gradDiff * gradDiff) / quadCoef : -(gradDiff * gradDiff) / TAU;
        if (objDiff <= objDiffMin) {
          GminIdx = j;
          objDiffMin = objDiff;
        }
      }
    }
    if (Gmax + Gmax2 < eps || GminIdx === -1) return true;
    ws[0] = GmaxIdx;
    ws[1] = GminIdx;
    return false;
  };

  const beShrunk = (i: number, Gmax1: number, Gmax2: number): boolean => {
    if (status[i] === UPPER) return -G[i] > Gmax1;
    if (status[i] === LOWER) return G[i] > Gmax2;
    return false;
  };

  const doShrinking = (): void => {
    let Gmax1 = -Infinity; // max { -G_i | i in I_up }
    let Gmax2 = -Infinity; // max { G_i | i in I_low }
    for (let i = 0; i < activeSize; i++) {
      if (status[i] !== UPPER && -G[i] >= Gmax1) Gmax1 = -G[i];
      if (status[i] !== LOWER && G[i] >= Gmax2) Gmax2 = G[i];
    }
    if (!unshrink && Gmax1 + Gmax2 <= eps * 10) {
      unshrink = true;
      reconstructGradient();
      activeSize = l;
    }
    for (let i = 0; i < activeSize; i++) {
      if (!beShrunk(i, Gmax1, Gmax2)) continue;
      activeSize--;
      while (activeSize > i) {
        if (!beShrunk(activeSize, Gmax1, Gmax2)) {
          swap(i, activeSize);
          break;
        }
        activeSize--;
      }
    }
  };

  let iter = 0;
  const maxIter = Math.max(10_000_000, l > 2 ** 31 / 100 ? 2 ** 31 - 1 : 100 * l);
  let counter = Math.min(l, 1000) + 1;
  while (iter < maxIter) {
    if (--counter === 0) {
      counter = Math.min(l, 1000);
      if (shrinking) doShrinking();
    }
    if (selectWorkingSet()) {
      reconstructGradient();
      activeSize = l;
      if (selectWorkingSet()) break;
      counter = 1; // shrink at the next iteration
    }
    const i = ws[0];
    const j = ws[1];
    ++iter;
    const Qi = cache.get(i, activeSize);
    const Qj = cache.get(j, activeSize);
    const oldAi = alpha[i];
    const oldAj = alpha[j];
    // y_i = y_j = +1, C_i = C_j = 1
    let quadCoef = 1 + 1 - 2 * Qi[j];
    if (quadCoef <= 0) quadCoef = TAU;
    const delta = (G[i] - G[j]) / quadCoef;
    const sum = alpha[i] + alpha[j];
    alpha[i] -= delta;
    alpha[j] += delta;
    if (sum > 1) {
      if (alpha[i] > 1) {
        alpha[i] = 1;
        alpha[j] = sum - 1;
      }
    } else if (alpha[j] < 0) {
      alpha[j] = 0;
      alpha[i] = sum;
    }
    if (sum > 1) {
      if (alpha[j] > 1) {
        alpha[j] = 1;
        alpha[i] = sum - 1;
      }
    } else if (alpha[i] < 0) {
      alpha[i] = 0;
      alpha[j] = sum;
    }
    const dai = alpha[i] - oldAi;
    const daj = alpha[j] - oldAj;
    addPair(G, Qi, dai, Qj, daj, activeSize);
    const ui = status[i] === UPPER;
    const uj = status[j] === UPPER;
    update(i);
    update(j);
    if (ui !== (status[i] === UPPER)) {
      const Qa = cache.get(i, l);
      addScaled(Gbar, Qa, ui ? -1 : 1, 0, l);
    }
    if (uj !== (status[j] === UPPER)) {
      const Qb = cache.get(j, l);
      addScaled(Gbar, Qb, uj ? -1 : 1, 0, l);
    }
  }
  if (iter >= maxIter && activeSize < l) {
    reconstructGradient();
    activeSize = l;
  }

  // rho: y = +1 everywhere
  let nrFree = 0;
  let ub = Infinity;
  let lb = -Infinity;
  let sumFree = 0;
  for (let i = 0; i < activeSize; i++) {
    const yG = G[i];
    if (status[i] === UPPER) lb = Math.max(lb, yG);
    else if (status[i] === LOWER) ub = Math.min(ub, yG);
    else {
      ++nrFree;
      sumFree += yG;
    }
  }
  const rho = nrFree > 0 ? sumFree / nrFree : (ub + lb) / 2;

  const out = new Float64Array(l);
  for (let i = 0; i < l; i++) out[active[i]] = alpha[i];
  if (stats) stats.columns = cache.computed / l;
  cache.clear();
  return { alpha: out, rho, iterations: iter };
}
