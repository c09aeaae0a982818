/**
 * Dense distance kernels as matrix products, shared by the detectors that compare wide rows with
 * many others (the kNN search of LOF, the RBF kernel of the One-Class SVM): squared norms, a
 * packed layout of the rows compared against, and a tile kernel computing, for a block of query
 * rows against a block of index rows, the expanded squared distance
 *
 *     A(q, x) = (‖q‖² + ‖x‖²) − 2·(q · x)
 *
 * with every dot product summed in float64, feature by feature in order (so it equals a plain
 * `s += q[f] * x[f]` loop to the bit, whichever kernel computes it: the WebAssembly SIMD one keeps
 * one sum per lane, see `wasm.ts`). The index rows are packed four at a time, interleaved feature by
 * feature ({@link packPanels}), so that the kernel loads two rows' features with one instruction
 * and keeps a 4 x 4 block of dot products in registers.
 *
 * The expansion is not the direct sum of squared differences: it differs from it by rounding
 * (bounded by {@link expansionMargin}) and overflows sooner for huge values. Callers that need the
 * direct value (the kNN search) use `A` only to discard rows that cannot be among the answers and
 * recompute the others directly; a non-finite `A` (overflow) always counts as "maybe".
 */
import type { DenseMatrix } from '../core/matrix';
import { runBlocks, sharedScratch, type ArenaAccess, type SharedArray } from './parallel';
import { expWasm } from './exp';
import { kernelArena, kernelModule, WasmFunction, type KernelArena, type KernelModule } from './wasm';

/** Index rows per packed panel (and query rows per kernel pass). */
export const PANEL_ROWS = 4;

/** `‖row‖²` of each row of `data` (`rows x cols`, row-major), summed in feature order, into `out`. */
export function squaredNorms(data: Float64Array, rows: number, cols: number, out = new Float64Array(rows)): Float64Array {
  for (let i = 0, o = 0; i < rows; i++, o += cols) {
    let s = 0;
    for (let f = o, e = o + cols; f < e; f++) s += data[f] * data[f];
    out[i] = s;
  }
  return out;
}

/**
 * Copy `rows` rows of `src` (row-major, `cols` wide, from row `first`) into `dst` at `at` as panels
 * of {@link PANEL_ROWS} rows, feature-interleaved: `dst[at + p·4·cols + f·4 + r]` = row `4p + r`'s
 * feature `f`. A last, incomplete panel is padded with zero rows.
 */
export function packPanels(src: Float64Array, first: number, rows: number, cols: number, dst: Float64Array, at: number): void {
  packRows(src, first, rows, cols, dst, at, PANEL_ROWS);
}

/** {@link packPanels} for any panel height `width` (a Float32Array destination rounds each value). */
function packRows(src: Float64Array, first: number, rows: number, cols: number, dst: Float64Array | Float32Array, at: number, width: number): void {
  const panels = Math.ceil(rows / width);
  for (let p = 0; p < panels; p++) {
    const base = at + p * width * cols;
    for (let r = 0; r < width; r++) {
      const row = p * width + r;
      if (row < rows) {
        const o = (first + row) * cols;
        for (let f = 0; f < cols; f++) dst[base + f * width + r] = src[o + f];
      } else {
        for (let f = 0; f < cols; f++) dst[base + f * width + r] = 0;
      }
    }
  }
}

/**
 * A bound on |A(q, x) − s(q, x)|, `s` being the direct sum of squared differences computed in
 * float64 (feature order), for a width of `d` features: `margin·(‖q‖² + ‖x‖²) + 2^-1000`.
 *
 * @remarks
 * With u = 2^-53: each norm and the dot product are within (d)·u·(‖q‖² + ‖x‖²) of their exact
 * values (the dot product via |q_f·x_f| ≤ (q_f² + x_f²)/2), the two final operations add 3u, and
 * the direct sum is within (d + 2)·u·s ≤ 2(d + 2)·u·(‖q‖² + ‖x‖²) of the exact distance: together
 * at most (4d + 7)·u·(‖q‖² + ‖x‖²). The factor returned, (d + 8)·2^-48 = 32(d + 8)·u, leaves a
 * factor of 8 for the rounding of the bound's own arithmetic; the absolute term covers underflow
 * (each product below 2^-1022 loses up to 2^-1074). An overflow to a non-finite value is not covered:
 * callers treat a non-finite `A` as unknown.
 */
export function expansionMargin(d: number): number {
  return (d + 8) * 2 ** -48;
}

/** The absolute part of {@link expansionMargin}'s bound. */
export const EXPANSION_ABSOLUTE = 2 ** -1000;

/**
 * The tile kernel's JavaScript twin (offsets and strides in float64 elements of `F`): for query
 * rows `q0 .. q0 + nq` (row-major at `qAt`, `nq` a multiple of 4; norms at `qnAt`) against
 * `panels` packed panels at `panAt` (norms at `xnAt`, 4 per panel), write A(q, x) to
 * `F[outAt + q·outStride + j]`. Self-contained (worker threads compile it from its source).
 */
export function distanceTileJs(F: Float64Array, qAt: number, nq: number, d: number, panAt: number, panels: number, qnAt: number, xnAt: number, outAt: number, outStride: number): void {
  for (let q = 0; q < nq; q += 4) {
    const a0 = qAt + q * d;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    for (let p = 0; p < panels; p++) {
      const x = panAt + p * 4 * d;
      // one dot product per (query, row) pair, each summed in feature order
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let f = 0, xf = x; f < d; f++, xf += 4) {
        const x0 = F[xf], x1 = F[xf + 1], x2 = F[xf + 2], x3 = F[xf + 3];
        const b0 = F[a0 + f], b1 = F[a1 + f], b2 = F[a2 + f], b3 = F[a3 + f];
        s00 += b0 * x0; s01 += b0 * x1; s02 += b0 * x2; s03 += b0 * x3;
        s10 += b1 * x0; s11 += b1 * x1; s12 += b1 * x2; s13 += b1 * x3;
        s20 += b2 * x0; s21 += b2 * x1; s22 += b2 * x2; s23 += b2 * x3;
        s30 += b3 * x0; s31 += b3 * x1; s32 += b3 * x2; s33 += b3 * x3;
      }
      const xn = xnAt + p * 4;
      const n0 = F[xn], n1 = F[xn + 1], n2 = F[xn + 2], n3 = F[xn + 3];
      let qn = F[qnAt + q];
      let o = outAt + q * outStride + p * 4;
      F[o] = qn + n0 - (s00 + s00); F[o + 1] = qn + n1 - (s01 + s01); F[o + 2] = qn + n2 - (s02 + s02); F[o + 3] = qn + n3 - (s03 + s03);
      qn = F[qnAt + q + 1];
      o += outStride;
      F[o] = qn + n0 - (s10 + s10); F[o + 1] = qn + n1 - (s11 + s11); F[o + 2] = qn + n2 - (s12 + s12); F[o + 3] = qn + n3 - (s13 + s13);
      qn = F[qnAt + q + 2];
      o += outStride;
      F[o] = qn + n0 - (s20 + s20); F[o + 1] = qn + n1 - (s21 + s21); F[o + 2] = qn + n2 - (s22 + s22); F[o + 3] = qn + n3 - (s23 + s23);
      qn = F[qnAt + q + 3];
      o += outStride;
      F[o] = qn + n0 - (s30 + s30); F[o + 1] = qn + n1 - (s31 + s31); F[o + 2] = qn + n2 - (s32 + s32); F[o + 3] = qn + n3 - (s33 + s33);
    }
  }
}

/**
 * The WebAssembly version of {@link distanceTileJs} (`distanceTile`, byte offsets and stride):
 * per query quad and panel, eight f64x2 accumulators (4 queries x 2 pairs of rows), each lane one
 * dot product summed in feature order; the query features splatted, the panel's two row pairs
 * loaded per feature.
 */
function distanceTileWasm(): WasmFunction {
  const fn = new WasmFunction('distanceTile', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [Q, NQ, D, PAN, NP, QN, XN, OUT, OSTRIDE] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const qi = fn.local('i32');
  const p = fn.local('i32');
  const fo = fn.local('i32');
  const dBytes = fn.local('i32');
  const pp = fn.local('i32');
  const q0 = fn.local('i32');
  const q1 = fn.local('i32');
  const q2 = fn.local('i32');
  const q3 = fn.local('i32');
  const acc = Array.from({ length: 8 }, () => fn.local('v128'));
  const x0 = fn.local('v128');
  const x1 = fn.local('v128');
  const a = fn.local('v128');
  const xn0 = fn.local('v128');
  const xn1 = fn.local('v128');
  const o = fn.local('i32');
  const qRows = [q0, q1, q2, q3];
  fn.get(D).i32Const(8).i32Mul().set(dBytes);
  fn.forLoop(qi, { value: 0 }, NQ, 4, () => {
    // the quad's row pointers
    fn.get(Q).get(qi).get(dBytes).i32Mul().i32Add().set(q0);
    fn.get(q0).get(dBytes).i32Add().set(q1);
    fn.get(q1).get(dBytes).i32Add().set(q2);
    fn.get(q2).get(dBytes).i32Add().set(q3);
    fn.get(PAN).set(pp);
    fn.forLoop(p, { value: 0 }, NP, 1, () => {
      for (const c of acc) fn.v128Zero().set(c);
      fn.forLoop(fo, { value: 0 }, dBytes, 8, () => {
        fn.get(pp).v128Load(0).set(x0);
        fn.get(pp).v128Load(16).set(x1);
        for (let r = 0; r < 4; r++) {
          fn.get(qRows[r]).get(fo).i32Add().v128Load64Splat(0).set(a);
          fn.get(acc[2 * r]).get(a).get(x0).f64x2Mul().f64x2Add().set(acc[2 * r]);
          fn.get(acc[2 * r + 1]).get(a).get(x1).f64x2Mul().f64x2Add().set(acc[2 * r + 1]);
        }
        fn.get(pp).i32Const(32).i32Add().set(pp);
      });
      // A = (qn + xn) - (dot + dot) for the panel's four rows
      fn.get(XN).get(p).i32Const(32).i32Mul().i32Add().set(o);
      fn.get(o).v128Load(0).set(xn0);
      fn.get(o).v128Load(16).set(xn1);
      for (let r = 0; r < 4; r++) {
        fn.get(QN).get(qi).i32Const(r).i32Add().i32Const(8).i32Mul().i32Add().v128Load64Splat(0).set(a);
        fn.get(OUT).get(qi).i32Const(r).i32Add().get(OSTRIDE).i32Mul().i32Add().get(p).i32Const(32).i32Mul().i32Add().set(o);
        fn.get(o).get(a).get(xn0).f64x2Add().get(acc[2 * r]).get(acc[2 * r]).f64x2Add().f64x2Sub().v128Store(0);
        fn.get(o).get(a).get(xn1).f64x2Add().get(acc[2 * r + 1]).get(acc[2 * r + 1]).f64x2Add().f64x2Sub().v128Store(16);
      }
    });
  });
  return fn;
}

// -------------------------------------------------------------------------------------------------
// float32 bounds: twice the multiply-adds per instruction, for searches that only need a bound
// -------------------------------------------------------------------------------------------------

/** Index rows per packed float32 panel (two f32x4 vectors per feature). */
export const PANEL32_ROWS = 8;

/**
 * Like {@link packPanels}, rounded to float32, in panels of {@link PANEL32_ROWS} rows:
 * `dst[at + p·8·cols + f·8 + r]` = `fround(row 8p + r's feature f)`; a last panel padded with zeros.
 */
export function packPanels32(src: Float64Array, first: number, rows: number, cols: number, dst: Float32Array, at: number): void {
  packRows(src, first, rows, cols, dst, at, PANEL32_ROWS);
}

/** `‖row‖²` of float32 rows, in float32 arithmetic (feature order), into `out` (as the float32 tile sums). */
export function squaredNorms32(data: Float32Array, at: number, rows: number, cols: number, out: Float32Array, outAt: number): void {
  const fr = Math.fround;
  for (let i = 0, o = at; i < rows; i++, o += cols) {
    let s = 0;
    for (let f = o, e = o + cols; f < e; f++) s = fr(s + fr(data[f] * data[f]));
    out[outAt + i] = s;
  }
}

/**
 * A bound on |A32(q, x) − s(q, x)|, A32 being the expansion computed in float32 ({@link boundFilter32Js}) from the
 * rows rounded to float32 and `s` the direct float64 sum of squared differences:
 * `margin32·(‖q‖² + ‖x‖²) + 2^-100` (norms in float64).
 *
 * @remarks
 * With u = 2^-24: rounding the inputs changes each product by at most (2u + u²) relative, the
 * float32 norms and dot product add (d + 1)·u·(‖q‖² + ‖x‖²) each (as in {@link expansionMargin}),
 * the final operations 3u, and the float64 direct sum a negligible 2^-50·d: together at most
 * (2d + 9)·u·(‖q‖² + ‖x‖²). The factor returned, (d + 8)·2^-20 = 16(d + 8)·u, leaves a factor of 8;
 * the absolute term covers float32 underflow. Values beyond float32's range round to Infinity and
 * their bounds come out non-finite; a bound that overflows to +Infinity would drop its row, so the
 * caller (`expandedBrute` in knn.ts) takes this path only for rows of squared norm <= 2^124.
 */
export function expansionMargin32(d: number): number {
  return (d + 8) * 2 ** -20;
}

/** The absolute part of {@link expansionMargin32}'s bound. */
export const EXPANSION32_ABSOLUTE = 2 ** -100;

/**
 * The float32 tile fused with a filter (JavaScript twin; offsets in elements, `OIX` an int32 view
 * of the same buffer as `F`): for each query `q` of `0 .. nq` (a multiple of 4) and each row `j` of
 * the `panels` panels (rows `j0 + 8p + r`, those below `n`), the lower bound
 * `lo = A32(q, x) − cxn[j]` in float32 arithmetic; when `!(lo > bound[q])` (NaN passes) it is
 * appended to query `q`'s list: `F[loAt + q·outStride + c] = lo`,
 * `OIX[ixAt + q·outStride + c] = j0 + 8p + r`, `c = OIX[cntAt + q]++`. Rows in order, so the lists
 * are the same whichever version runs. Self-contained.
 */
export function boundFilter32Js(
  F: Float32Array,
  OIX: Int32Array,
  qAt: number,
  nq: number,
  d: number,
  panAt: number,
  panels: number,
  qnAt: number,
  xnAt: number,
  cxnAt: number,
  boundAt: number,
  loAt: number,
  ixAt: number,
  cntAt: number,
  outStride: number,
  j0: number,
  n: number,
): void {
  const fr = Math.fround;
  const s = new Float64Array(8);
  for (let q = 0; q < nq; q++) {
    const a = qAt + q * d;
    const qn = F[qnAt + q];
    const bound = F[boundAt + q];
    const o = q * outStride;
    let c = OIX[cntAt + q];
    for (let p = 0; p < panels; p++) {
      const x = panAt + p * 8 * d;
      s.fill(0);
      for (let f = 0, xf = x; f < d; f++, xf += 8) {
        const b = F[a + f];
        for (let r = 0; r < 8; r++) s[r] = fr(s[r] + fr(b * F[xf + r]));
      }
      for (let r = 0; r < 8; r++) {
        const lo = fr(fr(fr(qn + F[xnAt + p * 8 + r]) - fr(s[r] + s[r])) - F[cxnAt + p * 8 + r]);
        const j = j0 + p * 8 + r;
        if (!(lo > bound) && j < n) {
          F[loAt + o + c] = lo;
          OIX[ixAt + o + c] = j;
          c++;
        }
      }
    }
    OIX[cntAt + q] = c;
  }
}

/**
 * The WebAssembly version of {@link boundFilter32Js} (`boundFilter32`; byte offsets; `SCR` 32 bytes
 * of scratch): per query quad and 8-row panel, eight f32x4 accumulators, each lane one dot product
 * summed in feature order (the query's features splatted, the panel's two halves loaded per
 * feature); then per query of the quad the bounds of the panel's 8 rows compared with the query's
 * bound four at a time, and only the rows that pass appended.
 */
function boundFilter32Wasm(): WasmFunction {
  const fn = new WasmFunction('boundFilter32', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [Q, NQ, D, PAN, NP, QN, XN, CXN, BOUND, OLO, OIX, CNT, OSTRIDE, J0, N, SCR] = Array.from({ length: 16 }, (_, i) => i);
  const qi = fn.local('i32');
  const p = fn.local('i32');
  const fo = fn.local('i32');
  const dBytes = fn.local('i32');
  const pp = fn.local('i32');
  const qRows = [fn.local('i32'), fn.local('i32'), fn.local('i32'), fn.local('i32')];
  const acc = Array.from({ length: 8 }, () => fn.local('v128'));
  const x0 = fn.local('v128');
  const x1 = fn.local('v128');
  const a = fn.local('v128');
  const xn0 = fn.local('v128');
  const xn1 = fn.local('v128');
  const cx0 = fn.local('v128');
  const cx1 = fn.local('v128');
  const lo0 = fn.local('v128');
  const lo1 = fn.local('v128');
  const bnd = fn.local('v128');
  const o = fn.local('i32');
  const mask = fn.local('i32');
  const c = fn.local('i32');
  const cntPtr = fn.local('i32');
  const obase = fn.local('i32');
  const jb = fn.local('i32');
  const qa = [fn.local('i32'), fn.local('i32'), fn.local('i32'), fn.local('i32')];
  const dPairBytes = fn.local('i32');
  fn.get(D).i32Const(4).i32Mul().set(dBytes);
  fn.get(D).i32Const(-2).i32And().i32Const(4).i32Mul().set(dPairBytes);
  fn.forLoop(qi, { value: 0 }, NQ, 4, () => {
    fn.get(Q).get(qi).get(dBytes).i32Mul().i32Add().set(qRows[0]);
    for (let r = 1; r < 4; r++) fn.get(qRows[r - 1]).get(dBytes).i32Add().set(qRows[r]);
    fn.get(PAN).set(pp);
    fn.forLoop(p, { value: 0 }, NP, 1, () => {
      for (const v of acc) fn.v128Zero().set(v);
      // two features a pass (each sum still adds them in feature order), then an odd last one
      const step = (featureOffset: number, panelOffset: number): void => {
        fn.get(pp).v128Load(panelOffset).set(x0);
        fn.get(pp).v128Load(panelOffset + 16).set(x1);
        for (let r = 0; r < 4; r++) {
          fn.get(qa[r]).v128Load32Splat(featureOffset).set(a);
          fn.get(acc[2 * r]).get(a).get(x0).f32x4Mul().f32x4Add().set(acc[2 * r]);
          fn.get(acc[2 * r + 1]).get(a).get(x1).f32x4Mul().f32x4Add().set(acc[2 * r + 1]);
        }
      };
      fn.forLoop(fo, { value: 0 }, dPairBytes, 8, () => {
        for (let r = 0; r < 4; r++) fn.get(qRows[r]).get(fo).i32Add().set(qa[r]);
        step(0, 0);
        step(4, 32);
        fn.get(pp).i32Const(64).i32Add().set(pp);
      });
      fn.forLoop(fo, { local: dPairBytes }, dBytes, 4, () => {
        for (let r = 0; r < 4; r++) fn.get(qRows[r]).get(fo).i32Add().set(qa[r]);
        step(0, 0);
        fn.get(pp).i32Const(32).i32Add().set(pp);
      });
      fn.get(XN).get(p).i32Const(32).i32Mul().i32Add().set(o);
      fn.get(o).v128Load(0).set(xn0);
      fn.get(o).v128Load(16).set(xn1);
      fn.get(CXN).get(p).i32Const(32).i32Mul().i32Add().set(o);
      fn.get(o).v128Load(0).set(cx0);
      fn.get(o).v128Load(16).set(cx1);
      fn.get(J0).get(p).i32Const(8).i32Mul().i32Add().set(jb);
      for (let r = 0; r < 4; r++) {
        fn.get(QN).get(qi).i32Const(r).i32Add().i32Const(4).i32Mul().i32Add().v128Load32Splat(0).set(a);
        fn.get(a).get(xn0).f32x4Add().get(acc[2 * r]).get(acc[2 * r]).f32x4Add().f32x4Sub().get(cx0).f32x4Sub().set(lo0);
        fn.get(a).get(xn1).f32x4Add().get(acc[2 * r + 1]).get(acc[2 * r + 1]).f32x4Add().f32x4Sub().get(cx1).f32x4Sub().set(lo1);
        fn.get(BOUND).get(qi).i32Const(r).i32Add().i32Const(4).i32Mul().i32Add().v128Load32Splat(0).set(bnd);
        // bit set = the row fails (lo > bound); NaN compares false and passes
        fn.get(lo0).get(bnd).f32x4Gt().i32x4Bitmask();
        fn.get(lo1).get(bnd).f32x4Gt().i32x4Bitmask().i32Const(4).i32Shl().i32Or().set(mask);
        fn.get(mask).i32Const(255).i32Ne().if();
        {
          fn.get(SCR).get(lo0).v128Store(0);
          fn.get(SCR).get(lo1).v128Store(16);
          fn.get(CNT).get(qi).i32Const(r).i32Add().i32Const(4).i32Mul().i32Add().set(cntPtr);
          fn.get(cntPtr).i32Load(0).set(c);
          fn.get(qi).i32Const(r).i32Add().get(OSTRIDE).i32Mul().set(obase);
          for (let lane = 0; lane < 8; lane++) {
            // passes and is a real row (not the last panel's padding)
            fn.get(mask).i32Const(lane).i32ShrU().i32Const(1).i32And().i32Eqz();
            fn.get(jb).i32Const(lane).i32Add().get(N).i32LtS().i32And().if();
            fn.get(OLO).get(obase).i32Add().get(c).i32Const(4).i32Mul().i32Add().get(SCR).f32Load(4 * lane).f32Store(0);
            fn.get(OIX).get(obase).i32Add().get(c).i32Const(4).i32Mul().i32Add().get(jb).i32Const(lane).i32Add().i32Store(0);
            fn.get(c).i32Const(1).i32Add().set(c);
            fn.end();
          }
          fn.get(cntPtr).get(c).i32Store(0);
        }
        fn.end();
      }
    });
  });
  return fn;
}

/**
 * Dot products of one row `x` (at `xAt`, `d` values) with every row of `panels` packed panels
 * ({@link packPanels}), each summed in feature order from 0, into `F[outAt + r]` (JavaScript twin
 * of `dotColumn`; offsets in elements). Self-contained.
 */
export function dotColumnJs(F: Float64Array, xAt: number, d: number, panAt: number, panels: number, outAt: number): void {
  for (let p = 0; p < panels; p++) {
    const base = panAt + p * 4 * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let f = 0, o = base; f < d; f++, o += 4) {
      const a = F[xAt + f];
      s0 += a * F[o];
      s1 += a * F[o + 1];
      s2 += a * F[o + 2];
      s3 += a * F[o + 3];
    }
    const q = outAt + 4 * p;
    F[q] = s0;
    F[q + 1] = s1;
    F[q + 2] = s2;
    F[q + 3] = s3;
  }
}

/**
 * The WebAssembly version of {@link dotColumnJs} (`dotColumn`, byte offsets): two panels (8 rows,
 * four f64x2 sums) per pass over the features, the row's feature splatted; a last odd panel alone.
 */
function dotColumnWasm(): WasmFunction {
  const fn = new WasmFunction('dotColumn', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [X, D, PAN, NP, OUT] = [0, 1, 2, 3, 4];
  const p = fn.local('i32');
  const pairs = fn.local('i32');
  const fo = fn.local('i32');
  const dBytes = fn.local('i32');
  const p0 = fn.local('i32');
  const p1 = fn.local('i32');
  const o = fn.local('i32');
  const a = fn.local('v128');
  const acc = Array.from({ length: 4 }, () => fn.local('v128'));
  fn.get(D).i32Const(8).i32Mul().set(dBytes);
  fn.get(NP).i32Const(-2).i32And().set(pairs);
  // pairs of panels
  fn.forLoop(p, { value: 0 }, pairs, 2, () => {
    fn.get(PAN).get(p).get(dBytes).i32Mul().i32Const(4).i32Mul().i32Add().set(p0);
    fn.get(p0).get(dBytes).i32Const(4).i32Mul().i32Add().set(p1);
    for (const v of acc) fn.v128Zero().set(v);
    fn.forLoop(fo, { value: 0 }, dBytes, 8, () => {
      fn.get(X).get(fo).i32Add().v128Load64Splat(0).set(a);
      fn.get(acc[0]).get(a).get(p0).v128Load(0).f64x2Mul().f64x2Add().set(acc[0]);
      fn.get(acc[1]).get(a).get(p0).v128Load(16).f64x2Mul().f64x2Add().set(acc[1]);
      fn.get(acc[2]).get(a).get(p1).v128Load(0).f64x2Mul().f64x2Add().set(acc[2]);
      fn.get(acc[3]).get(a).get(p1).v128Load(16).f64x2Mul().f64x2Add().set(acc[3]);
      fn.get(p0).i32Const(32).i32Add().set(p0);
      fn.get(p1).i32Const(32).i32Add().set(p1);
    });
    fn.get(OUT).get(p).i32Const(32).i32Mul().i32Add().set(o);
    acc.forEach((v, h) => fn.get(o).get(v).v128Store(16 * h));
  });
  // a last odd panel
  fn.forLoop(p, { local: pairs }, NP, 1, () => {
    fn.get(PAN).get(p).get(dBytes).i32Mul().i32Const(4).i32Mul().i32Add().set(p0);
    fn.v128Zero().set(acc[0]);
    fn.v128Zero().set(acc[1]);
    fn.forLoop(fo, { value: 0 }, dBytes, 8, () => {
      fn.get(X).get(fo).i32Add().v128Load64Splat(0).set(a);
      fn.get(acc[0]).get(a).get(p0).v128Load(0).f64x2Mul().f64x2Add().set(acc[0]);
      fn.get(acc[1]).get(a).get(p0).v128Load(16).f64x2Mul().f64x2Add().set(acc[1]);
      fn.get(p0).i32Const(32).i32Add().set(p0);
    });
    fn.get(OUT).get(p).i32Const(32).i32Mul().i32Add().set(o);
    fn.get(o).get(acc[0]).v128Store(0);
    fn.get(o).get(acc[1]).v128Store(16);
  });
  return fn;
}

/**
 * Compile the library's WebAssembly kernels now rather than at their first use (about 20 ms in a
 * fresh process): for a service that wants its first fit or scoring call without that delay, and
 * for benchmarks, which load the native code before their clock starts as the Python reference
 * imports its compiled libraries. TF.js is loaded separately (`loadTf`).
 * @returns whether the SIMD kernels are available (otherwise their JavaScript twins run)
 */
export function loadKernels(): boolean {
  return denseKernels() !== undefined;
}

/**
 * The dense kernels' WebAssembly module (undefined where WebAssembly SIMD is not available). Only
 * deterministic SIMD instructions (no relaxed SIMD): every machine computes the same bits.
 */
export function denseKernels(): KernelModule | undefined {
  return kernelModule('dense-v7', () => [distanceTileWasm(), boundFilter32Wasm(), dotColumnWasm(), expWasm('expScaled32'), expWasm('expScaled64')]);
}

/** Groups of four positions one {@link RbfKernelColumns.columnsInto} call computes at most. */
export const RBF_GROUPS = 16;

/** The instance of {@link RbfKernelColumns} whose rows are in this thread's RBF arena now. */
let rbfArenaOwner: RbfKernelColumns | undefined;

/**
 * Columns of the RBF kernel matrix of a set of rows, as libsvm computes them:
 * `K(i, r) = fround(exp(−γ·((‖x_i‖² + ‖x_r‖²) − 2·x_i·x_r)))`, the squared norms and dot products
 * summed in float64 in feature order (libsvm's `kernel_rbf`, its float `Qfloat` cache type). Rows
 * are addressed by position: {@link swap} exchanges two positions, as libsvm's solver does when it
 * shrinks its active set, so that a column can be computed for the first positions only.
 *
 * The dot products run as WebAssembly SIMD over the rows packed in panels, or their JavaScript
 * twins: one column by a matrix-vector product (`dotColumn`), several columns at once by the 4 x 4
 * distance tile ({@link columnsInto}, about 3x less time a column, the rows streamed from memory
 * once for four columns; groups of four on worker threads). The rows live in this thread's arena
 * for RBF columns (reused from fit to fit, so worker threads instantiate it once): one instance
 * at a time per thread, and an instance whose arena a newer one took refuses to compute.
 */
export class RbfKernelColumns {
  readonly rows: number;
  readonly cols: number;
  /** `‖x_r‖²` of the row at each position. */
  readonly squaredNorms: Float64Array;
  private readonly F: Float64Array;
  private readonly arena?: KernelArena;
  private readonly exports?: Record<string, (...args: number[]) => void>;
  private readonly panAt: number;
  private readonly xnAt: number;
  /** Group slots: per group 4 query rows, their norms and 4 output rows (slot 0 also serves {@link column}). */
  private readonly slotAt: number;
  private readonly slotLen: number;
  /** Float32 offsets of the whole columns' values ({@link columnsInto}) and of one column's ({@link column}). */
  private readonly out32At: number;
  private readonly col32At: number;
  private readonly panels: number;
  private readonly negGamma: number;
  private readonly block: RbfColumnsBlock;
  /** Float32 views: the whole columns' values, one column's values (in the arena, or plain arrays). */
  private readonly out32: Float32Array;
  private readonly col32: Float32Array;
  /** Values between the starts of two consecutive columns of {@link columnsInto}'s result. */
  readonly columnStride: number;

  /**
   * @param columnThreads - threads for one column's dot products when they are many (wide rows,
   *   many positions); whole columns take their threads per call ({@link columnsInto})
   */
  constructor(
    X: DenseMatrix,
    gamma: number,
    forceJs = false,
    private readonly columnThreads = 1,
  ) {
    const n = X.rows;
    const d = X.cols;
    this.rows = n;
    this.cols = d;
    this.negGamma = -gamma;
    this.squaredNorms = squaredNorms(X.data, n, d);
    this.panels = Math.ceil(n / PANEL_ROWS);
    const padded = this.panels * PANEL_ROWS;
    this.slotLen = 4 * d + 4 + 4 * padded;
    this.columnStride = padded;
    // float64 elements: panels, their norms, the group slots; then float32 columns (as many float64
    // elements as half their values): RBF_GROUPS·4 whole ones and one more with room past its end
    const len = padded * d + padded + RBF_GROUPS * this.slotLen + 2 * RBF_GROUPS * padded + padded / 2 + 2;
    const kernels = forceJs ? undefined : denseKernels();
    const arena = kernels ? kernelArena(kernels, 'rbf-columns') : undefined;
    arena?.reset();
    const at = arena ? arena.alloc(8 * len) : -1;
    if (arena && at >= 0) {
      this.F = new Float64Array(arena.memory.buffer as SharedArrayBuffer);
      this.arena = arena;
      this.exports = arena.exports;
      this.panAt = at / 8;
      rbfArenaOwner = this;
    } else {
      this.F = new Float64Array(len);
      this.panAt = 0;
    }
    this.xnAt = this.panAt + padded * d;
    this.slotAt = this.xnAt + padded;
    this.out32At = 2 * (this.slotAt + RBF_GROUPS * this.slotLen);
    this.col32At = this.out32At + 4 * RBF_GROUPS * padded;
    const f32 = this.arena ? new Float32Array(this.arena.memory.buffer as SharedArrayBuffer) : undefined;
    this.out32 = f32 ? f32.subarray(this.out32At, this.col32At) : new Float32Array(4 * RBF_GROUPS * padded);
    this.col32 = f32 ? f32.subarray(this.col32At, this.col32At + padded + 4) : new Float32Array(padded + 4);
    this.block = rbfColumnsFactory(distanceTileJs);
    packPanels(X.data, 0, n, d, this.F, this.panAt);
    this.F.set(this.squaredNorms, this.xnAt);
  }

  /** The arena's memory as seen now (it may have grown), checked to still hold this instance's rows. */
  private memory(): Float64Array {
    if (!this.arena) return this.F;
    if (rbfArenaOwner !== this) throw new Error('RbfKernelColumns: a newer instance on this thread took the arena.');
    const buf = this.arena.memory.buffer as SharedArrayBuffer;
    return this.F.buffer === buf ? this.F : new Float64Array(buf);
  }

  /** Exchange the rows at positions `i` and `j`. */
  swap(i: number, j: number): void {
    if (i === j) return;
    const F = this.memory();
    const d = this.cols;
    const a = this.panAt + (i >> 2) * PANEL_ROWS * d + (i & 3);
    const b = this.panAt + (j >> 2) * PANEL_ROWS * d + (j & 3);
    for (let f = 0; f < d; f++) {
      const t = F[a + f * PANEL_ROWS];
      F[a + f * PANEL_ROWS] = F[b + f * PANEL_ROWS];
      F[b + f * PANEL_ROWS] = t;
    }
    const xsq = this.squaredNorms;
    const t = xsq[i];
    xsq[i] = xsq[j];
    xsq[j] = t;
    F[this.xnAt + i] = xsq[i];
    F[this.xnAt + j] = xsq[j];
  }

  /** K(position i, position r) for r in [start, end) into `out[r]`. */
  column(i: number, start: number, end: number, out: Float32Array): void {
    if (start >= end) return;
    const F = this.memory();
    const d = this.cols;
    const qAt = this.slotAt;
    const base = this.panAt + (i >> 2) * PANEL_ROWS * d + (i & 3);
    for (let f = 0; f < d; f++) F[qAt + f] = F[base + f * PANEL_ROWS];
    // the panels covering [start, end), their dot products from outAt + 4·p0 on
    const p0 = start >> 2;
    const p1 = (end + 3) >> 2;
    const outAt = qAt + 4 * d + 4;
    const panAt = this.panAt + p0 * PANEL_ROWS * d;
    const panels = p1 - p0;
    const threads = this.columnThreads;
    const split =
      this.arena !== undefined &&
      threads > 1 &&
      panels * PANEL_ROWS * d >= PARALLEL_COLUMN_MIN_WORK &&
      runBlocks(
        { key: 'rbf-dot-column', source: dotColumnBlockSource, bufs: {}, params: { qAt, d, panAt, outAt: outAt + p0 * PANEL_ROWS }, rows: panels, blockRows: Math.ceil(panels / (2 * threads)), arena: this.arena },
        threads,
      );
    if (split) {
      // done by the threads
    } else if (this.exports) this.exports.dotColumn(8 * qAt, d, 8 * panAt, panels, 8 * (outAt + p0 * PANEL_ROWS));
    else dotColumnJs(F, qAt, d, panAt, panels, outAt + p0 * PANEL_ROWS);
    const xsq = this.squaredNorms;
    const xi = xsq[i];
    const g = this.negGamma;
    if (!this.exports) {
      for (let r = start; r < end; r++) out[r] = Math.exp(g * (xi + xsq[r] - 2 * F[outAt + r]));
      return;
    }
    // the same expression, its exp by the SIMD lanes (Math.exp's bits)
    for (let r = start; r < end; r++) F[outAt + r] = xi + xsq[r] - 2 * F[outAt + r];
    this.exports.expScaled32(8 * (outAt + start), 4 * this.col32At, end - start, g);
    out.set(this.col32.subarray(0, end - start), start);
  }

  /**
   * Whole columns (every position) of up to {@link RBF_GROUPS}·4 positions: position
   * `positions[c]`'s column at `[c·s, c·s + rows)` of the returned array (s =
   * {@link columnStride}), which the next call overwrites. Four positions per distance tile, the groups on up to `threads` threads.
   * The same values as {@link column}: the tile's expansion (‖x_i‖² + ‖x_r‖²) − (dot + dot) is
   * libsvm's expression to the bit, and every thread computes a value the same way.
   */
  columnsInto(positions: readonly number[], threads = 1): Float32Array {
    const groups = Math.ceil(positions.length / 4);
    if (groups > RBF_GROUPS) throw new RangeError(`RbfKernelColumns: at most ${4 * RBF_GROUPS} columns at once, got ${positions.length}.`);
    const F = this.memory();
    const n = this.rows;
    const POS = sharedScratch('rbf-positions', Int32Array, 4 * RBF_GROUPS);
    POS.fill(-1);
    POS.set(positions);
    const params = {
      d: this.cols,
      n,
      padded: this.panels * PANEL_ROWS,
      panels: this.panels,
      panAt: this.panAt,
      xnAt: this.xnAt,
      slotAt: this.slotAt,
      slotLen: this.slotLen,
      negGamma: this.negGamma,
      out32At: this.out32At,
    };
    const bufs: Record<string, SharedArray> = { POS };
    const arena = this.arena;
    const parallel =
      arena !== undefined && threads > 1 && groups > 1 && runBlocks({ key: 'rbf-columns', source: rbfColumnsSource, bufs, params, rows: groups, blockRows: 1, arena }, threads);
    if (!parallel) this.block({ ...bufs, F, OUT: this.out32 }, params, 0, groups, arena && { exports: arena.exports, memory: arena.memory });
    return this.out32;
  }
}

/** Fewest multiply-adds of one kernel column for which {@link RbfKernelColumns.column} splits it over threads. */
const PARALLEL_COLUMN_MIN_WORK = 1_000_000;

/** The block kernel of a column split over threads: panels [start, end) of the column's dot products. */
const dotColumnBlockSource = (): string =>
  '(b, p, start, end, arena) => arena.exports.dotColumn(8 * p.qAt, p.d, 8 * (p.panAt + start * 4 * p.d), end - start, 8 * (p.outAt + 4 * start))';

type RbfColumnsBlock = (b: Record<string, SharedArray>, p: Record<string, number>, start: number, end: number, arena?: ArenaAccess) => void;

/**
 * The block kernel of {@link RbfKernelColumns.columnsInto}: groups [start, end) of four positions
 * (`POS`, −1 for none), each group's query rows unpacked from the panels into its own slot, one
 * distance tile against every panel, then `fround(exp(−γ·A))` into the float32 columns (by the
 * arena's SIMD exp, or `Math.exp` into `OUT` without an arena: the same bits). Self-contained
 * (worker threads compile it from its source, with the tile's JavaScript twin where there is no
 * arena).
 */
function rbfColumnsFactory(tileJs: typeof distanceTileJs): RbfColumnsBlock {
  return function (b, p, start, end, arena) {
    const F = arena ? new Float64Array(arena.memory.buffer as SharedArrayBuffer) : (b.F as Float64Array);
    const POS = b.POS as Int32Array;
    const d = p.d;
    const n = p.n;
    const padded = p.padded;
    const negGamma = p.negGamma;
    for (let g = start; g < end; g++) {
      const qAt = p.slotAt + g * p.slotLen;
      const qnAt = qAt + 4 * d;
      const outAt = qnAt + 4;
      for (let c = 0; c < 4; c++) {
        const i = POS[4 * g + c];
        const q = qAt + c * d;
        if (i < 0) {
          F.fill(0, q, q + d);
          F[qnAt + c] = 0;
          continue;
        }
        const base = p.panAt + (i >> 2) * 4 * d + (i & 3);
        for (let f = 0; f < d; f++) F[q + f] = F[base + 4 * f];
        F[qnAt + c] = F[p.xnAt + i];
      }
      if (arena) arena.exports.distanceTile(8 * qAt, 4, d, 8 * p.panAt, p.panels, 8 * qnAt, 8 * p.xnAt, 8 * outAt, 8 * padded);
      else tileJs(F, qAt, 4, d, p.panAt, p.panels, qnAt, p.xnAt, outAt, padded);
      for (let c = 0; c < 4; c++) {
        if (POS[4 * g + c] < 0) continue;
        const o = outAt + c * padded;
        const dst = (4 * g + c) * padded;
        if (arena) arena.exports.expScaled32(8 * o, 4 * (p.out32At + dst), n, negGamma);
        else {
          const OUT = b.OUT as Float32Array;
          for (let r = 0; r < n; r++) OUT[dst + r] = Math.exp(negGamma * F[o + r]);
        }
      }
    }
  };
}

const rbfColumnsSource = (): string => `(${rbfColumnsFactory.toString()})(${distanceTileJs.toString()})`;
