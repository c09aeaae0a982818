/**
 * Mahalanobis distances of wide rows without an eigen decomposition: the covariance of the
 * training rows as dot products of their centred columns (the dense distance tile of `dense.ts`,
 * WebAssembly SIMD where available), a Cholesky factor `L` of the covariance plus a small ridge,
 * and per row the squared norm of `y = L⁻¹ (x − m)` by forward substitution. Cholesky and the
 * substitution are blocked: columns in blocks of {@link BLOCK} and everything left of a block is
 * a matrix product, done by the tile; only the small triangles inside a block are plain loops.
 *
 * Why: the eigen decomposition of a d x d covariance is O(d³) with a large constant (ml-matrix's
 * `EVD` took 14.5 s at 1,555 columns); the Cholesky factor is d³/6 multiply-adds, nearly all of
 * them dot products the SIMD tile computes at about 3 billion a second.
 *
 * Every sum runs in a fixed order (the tile sums each dot product feature by feature; the
 * covariance adds blocks of rows in row order; a block's dot product, then the block's own terms
 * in column order), and the WebAssembly kernel and its JavaScript twin give the same bits, so
 * results are reproducible and do not depend on the machine.
 */
import { denseKernels, distanceTileJs, packPanels, PANEL_ROWS } from './dense';
import { kernelArena } from './wasm';

/** Float64 scratch for the tile: in this thread's kernel arena, or a plain array without WebAssembly SIMD. */
interface TileSpace {
  F: Float64Array;
  /** First element of the caller's `len` elements. */
  base: number;
  /** The tile (element offsets; `outStride` in elements), WebAssembly or its JavaScript twin. */
  tile(qAt: number, nq: number, d: number, panAt: number, panels: number, qnAt: number, xnAt: number, outAt: number, outStride: number): void;
}

function tileSpace(len: number, forceJs: boolean): TileSpace {
  const kernels = forceJs ? undefined : denseKernels();
  if (kernels) {
    const arena = kernelArena(kernels);
    arena.reset();
    const at = arena.alloc(8 * len);
    if (at >= 0) {
      const F = new Float64Array(arena.memory.buffer as SharedArrayBuffer);
      const fn = arena.exports.distanceTile;
      return {
        F,
        base: at / 8,
        tile: (qAt, nq, d, panAt, panels, qnAt, xnAt, outAt, outStride) => fn(8 * qAt, nq, d, 8 * panAt, panels, 8 * qnAt, 8 * xnAt, 8 * outAt, 8 * outStride),
      };
    }
  }
  const F = new Float64Array(len);
  return { F, base: 0, tile: (...a) => distanceTileJs(F, ...a) };
}

/** Doubles of one block of the tile's streamed operand kept in cache (1 MiB; the L2 of a core is larger). */
const BLOCK_DOUBLES = 1 << 17;

/**
 * Column means and the covariance matrix (divided by `n − 1`, at least 1) of `n` rows of `d`
 * columns (row-major), full and symmetric, `d x d` row-major.
 *
 * @remarks
 * The centred rows are taken in blocks of `R` rows, transposed (a column per row of the block) and
 * packed in panels; the tile's dot products of the block's columns give the block's part of the
 * upper triangle, added to the sums block after block (in row order). The tile's output is
 * `0 − (s + s)` with zero norms, so `s` is recovered exactly.
 */
export function covariance(data: Float64Array, n: number, d: number, forceJs = false): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  const cov = new Float64Array(d * d);
  if (n === 0 || d === 0) return { mean, cov };
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const Pd = Math.ceil(d / PANEL_ROWS) * PANEL_ROWS;
  const R = Math.max(16, Math.min(n, Math.floor(BLOCK_DOUBLES / Pd)));
  // the block transposed (Pd x R, zero rows past d), its panels, zero norms, 4 output rows
  const len = 2 * Pd * R + Pd + 4 * Pd;
  const S = tileSpace(len, forceJs);
  const { F } = S;
  const tAt = S.base;
  const panAt = tAt + Pd * R;
  const zAt = panAt + Pd * R;
  const outAt = zAt + Pd;
  F.fill(0, tAt, outAt + 4 * Pd);
  for (let r0 = 0; r0 < n; r0 += R) {
    const rows = Math.min(R, n - r0);
    // transposed, centred; a short last block keeps its zero tail (zero adds nothing)
    // (and the same values packed: panel p holds columns 4p .. 4p + 3, interleaved row by row)
    if (rows < R) F.fill(0, tAt, tAt + 2 * Pd * R);
    for (let r = 0; r < rows; r++) {
      const src = (r0 + r) * d;
      const pr = panAt + r * PANEL_ROWS;
      for (let j = 0; j < d; j++) {
        const v = data[src + j] - mean[j];
        F[tAt + j * R + r] = v;
        F[pr + (j >> 2) * PANEL_ROWS * R + (j & 3)] = v;
      }
    }
    for (let a = 0; a < Pd; a += PANEL_ROWS) {
      const p0 = a / PANEL_ROWS;
      const panels = Pd / PANEL_ROWS - p0;
      S.tile(tAt + a * R, PANEL_ROWS, R, panAt + p0 * PANEL_ROWS * R, panels, zAt, zAt, outAt, Pd);
      for (let r = 0; r < PANEL_ROWS && a + r < d; r++) {
        const i = a + r;
        const o = outAt + r * Pd - a;
        const ci = i * d;
        for (let j = i; j < d; j++) cov[ci + j] -= 0.5 * F[o + j];
      }
    }
  }
  const div = Math.max(1, n - 1);
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = cov[i * d + j] / div;
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  return { mean, cov };
}

/**
 * The largest eigenvalue of a symmetric positive semi-definite `d x d` matrix, estimated by
 * power iteration from a fixed start (deterministic; a few per cent accuracy is all a ridge
 * scale needs): the Rayleigh quotient after `iterations` steps. NaN for a matrix with NaN,
 * Infinity where a product overflows.
 */
export function largestEigenvalue(A: Float64Array, d: number, iterations = 30): number {
  let v = new Float64Array(d);
  for (let j = 0; j < d; j++) v[j] = 1 + j / d;
  let w = new Float64Array(d);
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    // scaled by the largest magnitude first, so that the squares cannot overflow
    let big = 0;
    for (let j = 0; j < d; j++) big = Math.max(big, Math.abs(v[j]));
    if (Number.isNaN(big)) return NaN;
    if (!Number.isFinite(big)) return Infinity;
    if (big === 0) return 0;
    let norm = 0;
    for (let j = 0; j < d; j++) {
      v[j] /= big;
      norm += v[j] * v[j];
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < d; j++) v[j] /= norm;
    lambda = 0;
    for (let i = 0; i < d; i++) {
      let s = 0;
      const base = i * d;
      for (let j = 0; j < d; j++) s += A[base + j] * v[j];
      w[i] = s;
      lambda += v[i] * s;
    }
    const t = v;
    v = w;
    w = t;
  }
  return lambda;
}

/** Columns per block of the blocked Cholesky factorisation and forward substitution (a multiple of 4). */
export const BLOCK = 64;

/**
 * The lower Cholesky factor `L` (`L Lᵀ = A + ridge·I`) of a symmetric `d x d` matrix (row-major;
 * only its lower triangle is read), packed by rows: row `i`'s `i + 1` values at `i(i + 1)/2`.
 * Undefined when a pivot is not positive or not finite (the matrix plus ridge is not positive
 * definite in floating point).
 *
 * @remarks
 * Left-looking and blocked: for the block of columns [J0, J1), the sums over the columns left of
 * J0, `Σ_{k<J0} L_ik L_jk` for every row i ≥ J0 and column j of the block, are one tile call (the
 * rows below copied contiguous, the block's rows packed); then the block's columns one by one with
 * their in-block terms. An entry is `(A_ij − tile sum − in-block sum) / L_jj`.
 */
export function cholesky(A: Float64Array, d: number, ridge: number, forceJs = false): Float64Array | undefined {
  const L = new Float64Array((d * (d + 1)) / 2);
  const at = (i: number) => (i * (i + 1)) / 2;
  // working column block: rows J0 .. d of A's block columns, updated in place (d x BLOCK)
  const W = new Float64Array(d * BLOCK);
  const Pd = Math.ceil(d / PANEL_ROWS) * PANEL_ROWS;
  // the largest block of queries: the rows below J0 (padded to 4), J0 wide
  let queries = 0;
  for (let J0 = BLOCK; J0 < d; J0 += BLOCK) queries = Math.max(queries, Math.ceil((d - J0) / PANEL_ROWS) * PANEL_ROWS * J0);
  const len = queries + BLOCK * d + Pd + Pd * BLOCK;
  const S = d > BLOCK ? tileSpace(len, forceJs) : undefined;
  for (let J0 = 0; J0 < d; J0 += BLOCK) {
    const J1 = Math.min(d, J0 + BLOCK);
    const bw = J1 - J0;
    const below = d - J0;
    for (let i = J0; i < d; i++) for (let c = 0; c < bw; c++) W[(i - J0) * BLOCK + c] = A[i * d + J0 + c];
    for (let c = 0; c < bw; c++) W[c * BLOCK + c] += ridge;
    if (J0 > 0) {
      // (d > BLOCK here, so the tile space exists)
      const { F } = S!;
      const nq = Math.ceil(below / PANEL_ROWS) * PANEL_ROWS;
      const panels = Math.ceil(bw / PANEL_ROWS);
      const qAt = S!.base;
      const panAt = qAt + nq * J0;
      const zAt = panAt + panels * PANEL_ROWS * J0;
      const outAt = zAt + nq;
      // rows J0 .. d of L over columns [0, J0), contiguous (J0 wide), zero rows to a multiple of 4
      for (let i = J0; i < d; i++) F.set(L.subarray(at(i), at(i) + J0), qAt + (i - J0) * J0);
      F.fill(0, qAt + below * J0, qAt + nq * J0);
      // the block's rows, packed (they are the first bw of the rows just copied)
      packPanels(F.subarray(qAt, qAt + bw * J0), 0, bw, J0, F, panAt);
      F.fill(0, zAt, zAt + nq);
      S!.tile(qAt, nq, J0, panAt, panels, zAt, zAt, outAt, panels * PANEL_ROWS);
      const stride = panels * PANEL_ROWS;
      for (let r = 0; r < below; r++) {
        const o = outAt + r * stride;
        const w = r * BLOCK;
        for (let c = 0; c < bw && c <= r; c++) W[w + c] += 0.5 * F[o + c];
      }
    }
    for (let c = 0; c < bw; c++) {
      const j = J0 + c;
      const lj = at(j);
      let s = W[c * BLOCK + c];
      for (let k = J0; k < j; k++) s -= L[lj + k] * L[lj + k];
      if (!(s > 0) || !Number.isFinite(s)) return undefined;
      const piv = Math.sqrt(s);
      L[lj + j] = piv;
      for (let i = j + 1; i < d; i++) {
        const li = at(i);
        let t = W[(i - J0) * BLOCK + c];
        for (let k = J0; k < j; k++) t -= L[li + k] * L[lj + k];
        L[li + j] = t / piv;
      }
    }
  }
  return L;
}

/**
 * For each row `x` of `data` (`m x d`, row-major): `‖y‖²` with `L y = x − mean`, `L` the packed
 * lower triangular factor {@link cholesky} returns: the squared Mahalanobis distance when `L Lᵀ`
 * is the covariance. `y` by forward substitution, a batch of rows at a time, blocked like
 * {@link cholesky}: for columns [J0, J1), `Σ_{k<J0} L_jk y_k` of every row of the batch is one
 * tile call (the batch's `y` over [0, J0) as queries, the block's rows of `L` packed once per call);
 * then `y_j = (x_j − m_j − tile sum − Σ_{J0≤k<j} L_jk y_k) / L_jj`. The squares add in column order.
 */
export function forwardScores(L: Float64Array, mean: Float64Array, data: Float64Array, m: number, d: number, forceJs = false): Float64Array {
  const out = new Float64Array(m);
  if (m === 0 || d === 0) return out;
  const at = (i: number) => (i * (i + 1)) / 2;
  const batch = Math.max(PANEL_ROWS, Math.min(Math.ceil(m / PANEL_ROWS) * PANEL_ROWS, 256));
  // per block J0 > 0: its rows of L packed over [0, J0); then the batch's queries, zero norms, output
  const blocks: { J0: number; bw: number; panAt: number }[] = [];
  let packed = 0;
  for (let J0 = 0; J0 < d; J0 += BLOCK) {
    const bw = Math.min(BLOCK, d - J0);
    blocks.push({ J0, bw, panAt: packed });
    if (J0 > 0) packed += Math.ceil(bw / PANEL_ROWS) * PANEL_ROWS * J0;
  }
  // zero norms for the queries (batch) and for the block's panels (up to BLOCK rows)
  const zLen = Math.max(batch, BLOCK);
  const S = d > BLOCK ? tileSpace(packed + batch * d + zLen + batch * BLOCK, forceJs) : undefined;
  let qAt = 0;
  let zAt = 0;
  let outAt = 0;
  if (S) {
    const { F } = S;
    const rows = new Float64Array(BLOCK * d);
    for (const b of blocks) {
      b.panAt += S.base;
      if (b.J0 === 0) continue;
      for (let c = 0; c < b.bw; c++) rows.set(L.subarray(at(b.J0 + c), at(b.J0 + c) + b.J0), c * b.J0);
      packPanels(rows, 0, b.bw, b.J0, F, b.panAt);
    }
    qAt = S.base + packed;
    zAt = qAt + batch * d;
    outAt = zAt + zLen;
    F.fill(0, zAt, zAt + zLen);
  }
  const Y = new Float64Array(batch * d);
  for (let r0 = 0; r0 < m; r0 += batch) {
    const rows = Math.min(batch, m - r0);
    const nq = Math.ceil(rows / PANEL_ROWS) * PANEL_ROWS;
    for (let r = 0; r < rows; r++) {
      const src = (r0 + r) * d;
      for (let j = 0; j < d; j++) Y[r * d + j] = data[src + j] - mean[j];
    }
    for (const { J0, bw, panAt } of blocks) {
      const panels = Math.ceil(bw / PANEL_ROWS);
      const stride = panels * PANEL_ROWS;
      if (J0 > 0 && S) {
        const { F } = S;
        for (let r = 0; r < rows; r++) F.set(Y.subarray(r * d, r * d + J0), qAt + r * J0);
        F.fill(0, qAt + rows * J0, qAt + nq * J0);
        S.tile(qAt, nq, J0, panAt, panels, zAt, zAt, outAt, stride);
      }
      for (let r = 0; r < rows; r++) {
        const y = r * d;
        const o = outAt + r * stride;
        for (let c = 0; c < bw; c++) {
          const j = J0 + c;
          const lj = at(j);
          let s = Y[y + j];
          if (J0 > 0) s += 0.5 * S!.F[o + c];
          for (let k = J0; k < j; k++) s -= L[lj + k] * Y[y + k];
          Y[y + j] = s / L[lj + j];
        }
      }
    }
    for (let r = 0; r < rows; r++) {
      let s = 0;
      const y = r * d;
      for (let j = 0; j < d; j++) s += Y[y + j] * Y[y + j];
      out[r0 + r] = s;
    }
  }
  return out;
}
