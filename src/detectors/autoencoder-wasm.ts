/**
 * WebAssembly SIMD kernels of the fused autoencoder engine (`autoencoder-fused.ts`), generated for
 * one set of layer sizes, with the JavaScript kernels' arithmetic in the same order, so the same
 * weights to the bit:
 *
 * - forward: `y[i, j] = act(bias[j] + Σ_k x[i, k]·W[k, j])`, k ascending; four rows by four
 *   outputs per pass (eight f64x2 sums, each lane one output of one row), the inputs splatted;
 * - input gradient of a hidden layer: `dx[i, k] = x[i, k] > 0 ? (Σ_j dy[i, j]·W[k, j])·mask : 0`,
 *   j ascending; four rows by four units per pass over a transposed copy of W (see `transpose`);
 * - weight gradients: `g[k, j] = Σ_i x[i, k]·dy[i, j]` and `g_bias[j] = Σ_i dy[i, j]`, i
 *   ascending over the batch's rows; four units by four outputs per pass.
 *
 * The JavaScript kernels skip the zero inputs of a row (relu's and dropout's zeros); these add
 * them: a product with a zero input is ±0 and adding it leaves a sum unchanged (only the sign of a
 * zero sum could differ, and every later use of such a sum — relu, squares, the loss, a product —
 * gives the same values). Rows are processed four at a time, up to the buffers' padding (their
 * allocation holds a multiple of four rows); the extra rows' values are never read.
 */
import { kernelModule, WasmFunction, type KernelModule, type WasmMemory } from '../compute/wasm';

/** Rows and columns of a register block. */
const R = 4;

/** Layer l's shape and where its kernel and bias start in the flat parameters (float64 offsets). */
export interface LayerShape {
  nin: number;
  nout: number;
  ko: number;
  bo: number;
  /** 0: linear (the last layer), 1: relu, 2: relu then the dropout mask. */
  mode: 0 | 1 | 2;
}

/** Column blocks covering 0..n-1: blocks of 4 (run by a loop), then one of 2 and one of 1 as needed. */
function tails(n: number): { full: number; rest: number[] } {
  const full = n - (n % 4);
  const rest: number[] = [];
  let j = full;
  if (n - j >= 2) {
    rest.push(2);
    j += 2;
  }
  if (n - j >= 1) rest.push(1);
  return { full, rest };
}

/**
 * Emit a sum of `w` outputs (w = 4: two f64x2; 2: one; 1: a scalar f64) for each of the block's
 * rows: `init` pushes the start value of a row's part `h` (a v128, or an f64 for w = 1), `term`
 * the two factors (same kinds) of step `t`.
 */
interface Acc {
  v: number[];
  scalar: boolean;
}

function accs(fn: WasmFunction, rows: number, w: number): Acc[] {
  return Array.from({ length: rows }, () => ({ v: Array.from({ length: w === 4 ? 2 : 1 }, () => fn.local(w === 1 ? 'f64' : 'v128')), scalar: w === 1 }));
}

/** Forward kernel of one layer: `(x, y, p, mask, r0, r1)` byte pointers and rows (r1 a multiple of 4 above r0). */
function forwardKernel(l: number, s: LayerShape): WasmFunction {
  const fn = new WasmFunction(`forward${l}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [X, Y, P, M, R0, R1] = [0, 1, 2, 3, 4, 5];
  const i = fn.local('i32');
  const j = fn.local('i32');
  const k8 = fn.local('i32');
  const kEnd = fn.local('i32');
  const wp = fn.local('i32');
  const xr = Array.from({ length: R }, () => fn.local('i32'));
  const yo = fn.local('i32');
  const a = fn.local('v128');
  const as = fn.local('f64');
  const w0 = fn.local('v128');
  const w1 = fn.local('v128');
  const ws = fn.local('f64');
  const t = fn.local('v128');
  const ts = fn.local('f64');
  const { nin, nout, ko, bo, mode } = s;
  fn.i32Const(nin * 8).set(kEnd);
  const block = (width: number, j0: number | null): void => {
    // j0 null: the running block start `j`; else a constant column
    const jAt = (): void => {
      if (j0 === null) fn.get(j);
      else fn.i32Const(j0);
    };
    const acc = accs(fn, R, width);
    // start from the bias
    for (const r of acc) {
      r.v.forEach((v, h) => {
        fn.get(P);
        jAt();
        fn.i32Const(8).i32Mul().i32Add();
        if (r.scalar) fn.f64Load(8 * (bo + 2 * h));
        else fn.v128Load(8 * (bo + 2 * h));
        fn.set(v);
      });
    }
    // W pointer at row 0 of this block's columns
    fn.get(P);
    jAt();
    fn.i32Const(8).i32Mul().i32Add().i32Const(8 * ko).i32Add().set(wp);
    fn.forLoop(k8, { value: 0 }, kEnd, 8, () => {
      if (width === 1) fn.get(wp).f64Load(0).set(ws);
      else {
        fn.get(wp).v128Load(0).set(w0);
        if (width === 4) fn.get(wp).v128Load(16).set(w1);
      }
      acc.forEach((r, ri) => {
        if (r.scalar) {
          fn.get(xr[ri]).get(k8).i32Add().f64Load(0).set(as);
          fn.get(r.v[0]).get(as).get(ws).f64Mul().f64Add().set(r.v[0]);
        } else {
          fn.get(xr[ri]).get(k8).i32Add().v128Load64Splat(0).set(a);
          r.v.forEach((v, h) => fn.get(v).get(a).get(h === 0 ? w0 : w1).f64x2Mul().f64x2Add().set(v));
        }
      });
      fn.get(wp).i32Const(8 * nout).i32Add().set(wp);
    });
    // activation and store
    acc.forEach((r, ri) => {
      // yo = y + ((i + ri) * nout + j) * 8
      fn.get(Y).get(i).i32Const(ri).i32Add().i32Const(8 * nout).i32Mul().i32Add();
      jAt();
      fn.i32Const(8).i32Mul().i32Add().set(yo);
      r.v.forEach((v, h) => {
        if (r.scalar) {
          if (mode === 0) fn.get(yo).get(v).f64Store(0);
          else {
            // s > 0 ? s (* mask) : 0
            if (mode === 2) {
              fn.get(M).get(yo).get(Y).i32Sub().i32Add().f64Load(0).get(v).f64Mul().set(ts);
            } else fn.get(v).set(ts);
            fn.get(yo).get(ts).f64Const(0).get(v).f64Const(0).f64Gt().select().f64Store(0);
          }
          return;
        }
        if (mode === 0) {
          fn.get(yo).get(v).v128Store(16 * h);
          return;
        }
        if (mode === 2) fn.get(v).get(M).get(yo).get(Y).i32Sub().i32Add().v128Load(16 * h).f64x2Mul().set(t);
        else fn.get(v).set(t);
        fn.get(yo).get(t).get(v).v128Zero().f64x2Gt().v128And().v128Store(16 * h);
      });
    });
  };
  fn.forLoop(i, { local: R0 }, R1, R, () => {
    for (let r = 0; r < R; r++) fn.get(X).get(i).i32Const(r).i32Add().i32Const(8 * nin).i32Mul().i32Add().set(xr[r]);
    const { full, rest } = tails(nout);
    if (full > 0) {
      const jEnd = fn.local('i32');
      fn.i32Const(full).set(jEnd);
      fn.forLoop(j, { value: 0 }, jEnd, 4, () => block(4, null));
    }
    let j0 = full;
    for (const w of rest) {
      block(w, j0);
      j0 += w;
    }
  });
  return fn;
}

/** Transpose of layer l's kernel into `wt` (`nout x nin`): `(p, wt)`. */
function transposeKernel(l: number, s: LayerShape): WasmFunction {
  const fn = new WasmFunction(`transpose${l}`, ['i32', 'i32']);
  const [P, WT] = [0, 1];
  const k = fn.local('i32');
  const j = fn.local('i32');
  const nin = fn.local('i32');
  const nout = fn.local('i32');
  const src = fn.local('i32');
  const dst = fn.local('i32');
  fn.i32Const(s.nin).set(nin);
  fn.i32Const(s.nout).set(nout);
  fn.forLoop(k, { value: 0 }, nin, 1, () => {
    fn.get(P).get(k).i32Const(8 * s.nout).i32Mul().i32Add().i32Const(8 * s.ko).i32Add().set(src);
    fn.get(WT).get(k).i32Const(8).i32Mul().i32Add().set(dst);
    fn.forLoop(j, { value: 0 }, nout, 1, () => {
      fn.get(dst).get(src).f64Load(0).f64Store(0);
      fn.get(src).i32Const(8).i32Add().set(src);
      fn.get(dst).i32Const(8 * s.nin).i32Add().set(dst);
    });
  });
  return fn;
}

/**
 * Input gradient of hidden layer l (l >= 1): `(dy, x, dx, mask, wt, r0, r1)`; `mask` the dropout
 * mask of the layer's input (0 when none).
 */
function dgradKernel(l: number, s: LayerShape, keep: boolean): WasmFunction {
  const fn = new WasmFunction(`dgrad${l}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [DY, X, DX, M, WT, R0, R1] = [0, 1, 2, 3, 4, 5, 6];
  const { nin, nout } = s;
  const i = fn.local('i32');
  const k = fn.local('i32');
  const j8 = fn.local('i32');
  const jEnd = fn.local('i32');
  const wp = fn.local('i32');
  const dyr = Array.from({ length: R }, () => fn.local('i32'));
  const o = fn.local('i32');
  const a = fn.local('v128');
  const as = fn.local('f64');
  const w0 = fn.local('v128');
  const w1 = fn.local('v128');
  const ws = fn.local('f64');
  const t = fn.local('v128');
  const ts = fn.local('f64');
  fn.i32Const(nout * 8).set(jEnd);
  const block = (width: number, k0: number | null): void => {
    const kAt = (): void => {
      if (k0 === null) fn.get(k);
      else fn.i32Const(k0);
    };
    const acc = accs(fn, R, width);
    for (const r of acc) for (const v of r.v) (r.scalar ? fn.f64Const(0) : fn.v128Zero()).set(v);
    // wt pointer at row j = 0, column k
    fn.get(WT);
    kAt();
    fn.i32Const(8).i32Mul().i32Add().set(wp);
    fn.forLoop(j8, { value: 0 }, jEnd, 8, () => {
      if (width === 1) fn.get(wp).f64Load(0).set(ws);
      else {
        fn.get(wp).v128Load(0).set(w0);
        if (width === 4) fn.get(wp).v128Load(16).set(w1);
      }
      acc.forEach((r, ri) => {
        if (r.scalar) {
          fn.get(dyr[ri]).get(j8).i32Add().f64Load(0).set(as);
          fn.get(r.v[0]).get(as).get(ws).f64Mul().f64Add().set(r.v[0]);
        } else {
          fn.get(dyr[ri]).get(j8).i32Add().v128Load64Splat(0).set(a);
          r.v.forEach((v, h) => fn.get(v).get(a).get(h === 0 ? w0 : w1).f64x2Mul().f64x2Add().set(v));
        }
      });
      fn.get(wp).i32Const(8 * nin).i32Add().set(wp);
    });
    // dx = x > 0 ? s (* mask) : 0, at offset o = ((i + r) * nin + k) * 8 of x, dx and mask
    acc.forEach((r, ri) => {
      fn.get(i).i32Const(ri).i32Add().i32Const(8 * nin).i32Mul();
      kAt();
      fn.i32Const(8).i32Mul().i32Add().set(o);
      r.v.forEach((v, h) => {
        if (r.scalar) {
          if (keep) fn.get(v).get(M).get(o).i32Add().f64Load(0).f64Mul().set(ts);
          else fn.get(v).set(ts);
          fn.get(DX).get(o).i32Add().get(ts).f64Const(0).get(X).get(o).i32Add().f64Load(0).f64Const(0).f64Gt().select().f64Store(0);
          return;
        }
        if (keep) fn.get(v).get(M).get(o).i32Add().v128Load(16 * h).f64x2Mul().set(t);
        else fn.get(v).set(t);
        fn.get(DX).get(o).i32Add().get(t).get(X).get(o).i32Add().v128Load(16 * h).v128Zero().f64x2Gt().v128And().v128Store(16 * h);
      });
    });
  };
  fn.forLoop(i, { local: R0 }, R1, R, () => {
    for (let r = 0; r < R; r++) fn.get(DY).get(i).i32Const(r).i32Add().i32Const(8 * nout).i32Mul().i32Add().set(dyr[r]);
    const { full, rest } = tails(nin);
    if (full > 0) {
      const kFull = fn.local('i32');
      fn.i32Const(full).set(kFull);
      fn.forLoop(k, { value: 0 }, kFull, 4, () => block(4, null));
    }
    let k0 = full;
    for (const w of rest) {
      block(w, k0);
      k0 += w;
    }
  });
  return fn;
}

/** Weight gradients of layer l over rows [0, b): `(x, dy, g, b)`. */
function wgradKernel(l: number, s: LayerShape): WasmFunction {
  const fn = new WasmFunction(`wgrad${l}`, ['i32', 'i32', 'i32', 'i32']);
  const [X, DY, G, B] = [0, 1, 2, 3];
  const { nin, nout, ko, bo } = s;
  const i = fn.local('i32');
  const j = fn.local('i32');
  const k = fn.local('i32');
  const dp = fn.local('i32');
  const xp = fn.local('i32');
  const o = fn.local('i32');
  const d0 = fn.local('v128');
  const d1 = fn.local('v128');
  const ds = fn.local('f64');
  const a = fn.local('v128');
  const as = fn.local('f64');
  // bias: g[bo + j] = Σ_i dy[i, j]
  const biasBlock = (width: number, j0: number | null): void => {
    const jAt = (): void => {
      if (j0 === null) fn.get(j);
      else fn.i32Const(j0);
    };
    const [acc] = accs(fn, 1, width);
    for (const v of acc.v) (acc.scalar ? fn.f64Const(0) : fn.v128Zero()).set(v);
    fn.get(DY);
    jAt();
    fn.i32Const(8).i32Mul().i32Add().set(dp);
    fn.forLoop(i, { value: 0 }, B, 1, () => {
      acc.v.forEach((v, h) => {
        if (acc.scalar) fn.get(v).get(dp).f64Load(0).f64Add().set(v);
        else fn.get(v).get(dp).v128Load(16 * h).f64x2Add().set(v);
      });
      fn.get(dp).i32Const(8 * nout).i32Add().set(dp);
    });
    fn.get(G);
    jAt();
    fn.i32Const(8).i32Mul().i32Add().set(o);
    acc.v.forEach((v, h) => {
      if (acc.scalar) fn.get(o).get(v).f64Store(8 * bo);
      else fn.get(o).get(v).v128Store(8 * bo + 16 * h);
    });
  };
  const forColumns = (n: number, body: (width: number, j0: number | null) => void): void => {
    const { full, rest } = tails(n);
    if (full > 0) {
      const jEnd = fn.local('i32');
      fn.i32Const(full).set(jEnd);
      fn.forLoop(j, { value: 0 }, jEnd, 4, () => body(4, null));
    }
    let j0 = full;
    for (const w of rest) {
      body(w, j0);
      j0 += w;
    }
  };
  forColumns(nout, biasBlock);
  // kernel: g[ko + (k + u) * nout + j] = Σ_i x[i, k + u]·dy[i, j], `units` units from k at a time
  const kernelBlock = (units: number, k0: number | null) => (width: number, j0: number | null): void => {
    const jAt = (): void => {
      if (j0 === null) fn.get(j);
      else fn.i32Const(j0);
    };
    const kAt = (): void => {
      if (k0 === null) fn.get(k);
      else fn.i32Const(k0);
    };
    const acc = accs(fn, units, width);
    for (const r of acc) for (const v of r.v) (r.scalar ? fn.f64Const(0) : fn.v128Zero()).set(v);
    fn.get(DY);
    jAt();
    fn.i32Const(8).i32Mul().i32Add().set(dp);
    fn.get(X);
    kAt();
    fn.i32Const(8).i32Mul().i32Add().set(xp);
    fn.forLoop(i, { value: 0 }, B, 1, () => {
      if (width === 1) fn.get(dp).f64Load(0).set(ds);
      else {
        fn.get(dp).v128Load(0).set(d0);
        if (width === 4) fn.get(dp).v128Load(16).set(d1);
      }
      acc.forEach((r, u) => {
        if (r.scalar) {
          fn.get(xp).f64Load(8 * u).set(as);
          fn.get(r.v[0]).get(as).get(ds).f64Mul().f64Add().set(r.v[0]);
        } else {
          fn.get(xp).v128Load64Splat(8 * u).set(a);
          r.v.forEach((v, h) => fn.get(v).get(a).get(h === 0 ? d0 : d1).f64x2Mul().f64x2Add().set(v));
        }
      });
      fn.get(dp).i32Const(8 * nout).i32Add().set(dp);
      fn.get(xp).i32Const(8 * nin).i32Add().set(xp);
    });
    acc.forEach((r, u) => {
      // o = g + ((k + u) * nout + j) * 8
      fn.get(G);
      kAt();
      fn.i32Const(u).i32Add().i32Const(8 * nout).i32Mul().i32Add();
      jAt();
      fn.i32Const(8).i32Mul().i32Add().set(o);
      r.v.forEach((v, h) => {
        if (r.scalar) fn.get(o).get(v).f64Store(8 * ko);
        else fn.get(o).get(v).v128Store(8 * ko + 16 * h);
      });
    });
  };
  const unitFull = nin - (nin % R);
  if (unitFull > 0) {
    const kEnd = fn.local('i32');
    fn.i32Const(unitFull).set(kEnd);
    fn.forLoop(k, { value: 0 }, kEnd, R, () => forColumns(nout, kernelBlock(R, null)));
  }
  if (nin % R) forColumns(nout, kernelBlock(nin % R, unitFull));
  return fn;
}

/** The output layer's gradient `dOut = sc·(out − x)` over `n` values: `(out, x, dOut, n, sc)` (n even or not). */
function outGradKernel(): WasmFunction {
  const fn = new WasmFunction('outGrad', ['i32', 'i32', 'i32', 'i32', 'f64']);
  const [OUT, X, DO, N, SC] = [0, 1, 2, 3, 4];
  const t = fn.local('i32');
  const end = fn.local('i32');
  const sc = fn.local('v128');
  fn.get(SC).f64x2Splat().set(sc);
  fn.get(N).i32Const(8).i32Mul().set(end);
  fn.forLoop(t, { value: 0 }, end, 16, () => {
    fn.get(DO).get(t).i32Add();
    fn.get(sc).get(OUT).get(t).i32Add().v128Load(0).get(X).get(t).i32Add().v128Load(0).f64x2Sub().f64x2Mul();
    fn.v128Store(0);
  });
  return fn;
}

/**
 * Adam's update of parameters [lo, hi) (as `FusedMlp.adamRange`, element by element, so the same
 * values): `m = m·β1 + g·c1`, `v = v·β2 + (g·g)·c2`, `p −= (lrc·m) / (√v·isc + ε)`; two at a time,
 * then an odd last one. `(p, g, m, v, lo, hi, lrc, isc, beta1, beta2, c1, c2, eps)`: byte pointers
 * of the four arrays, the element range, the step's factors.
 */
function adamKernel(): WasmFunction {
  const fn = new WasmFunction('adam', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64', 'f64']);
  const [P, G, M, V, LO, HI, LRC, ISC, B1, B2, C1, C2, EPS] = Array.from({ length: 13 }, (_, i) => i);
  const k = fn.local('i32');
  const pairs = fn.local('i32');
  const o = fn.local('i32');
  const g = fn.local('v128');
  const m = fn.local('v128');
  const v = fn.local('v128');
  const vs = Array.from({ length: 7 }, () => fn.local('v128')); // splats of lrc, isc, b1, b2, c1, c2, eps
  const gs = fn.local('f64');
  const ms = fn.local('f64');
  const vv = fn.local('f64');
  [LRC, ISC, B1, B2, C1, C2, EPS].forEach((a, i) => fn.get(a).f64x2Splat().set(vs[i]));
  const [lrc, isc, b1, b2, c1, c2, eps] = vs;
  // pairs: k from lo while k + 2 <= hi
  fn.get(HI).get(LO).i32Sub().i32Const(-2).i32And().get(LO).i32Add().set(pairs);
  fn.forLoop(k, { local: LO }, pairs, 2, () => {
    fn.get(k).i32Const(8).i32Mul().set(o);
    fn.get(G).get(o).i32Add().v128Load(0).set(g);
    fn.get(M).get(o).i32Add().v128Load(0).get(b1).f64x2Mul().get(g).get(c1).f64x2Mul().f64x2Add().set(m);
    fn.get(V).get(o).i32Add().v128Load(0).get(b2).f64x2Mul().get(g).get(g).f64x2Mul().get(c2).f64x2Mul().f64x2Add().set(v);
    fn.get(M).get(o).i32Add().get(m).v128Store(0);
    fn.get(V).get(o).i32Add().get(v).v128Store(0);
    fn.get(P).get(o).i32Add();
    fn.get(P).get(o).i32Add().v128Load(0);
    fn.get(lrc).get(m).f64x2Mul().get(v).f64x2Sqrt().get(isc).f64x2Mul().get(eps).f64x2Add().f64x2Div();
    fn.f64x2Sub().v128Store(0);
  });
  // an odd last element
  fn.forLoop(k, { local: pairs }, HI, 1, () => {
    fn.get(k).i32Const(8).i32Mul().set(o);
    fn.get(G).get(o).i32Add().f64Load(0).set(gs);
    fn.get(M).get(o).i32Add().f64Load(0).get(B1).f64Mul().get(gs).get(C1).f64Mul().f64Add().set(ms);
    fn.get(V).get(o).i32Add().f64Load(0).get(B2).f64Mul().get(gs).get(gs).f64Mul().get(C2).f64Mul().f64Add().set(vv);
    fn.get(M).get(o).i32Add().get(ms).f64Store(0);
    fn.get(V).get(o).i32Add().get(vv).f64Store(0);
    fn.get(P).get(o).i32Add();
    fn.get(P).get(o).i32Add().f64Load(0);
    fn.get(LRC).get(ms).f64Mul().get(vv).f64Sqrt().get(ISC).f64Mul().get(EPS).f64Add().f64Div();
    fn.f64Sub().f64Store(0);
  });
  return fn;
}

/** The kernels for these layers (compiled once per shape and thread), or undefined without WebAssembly SIMD. */
export function mlpKernels(shapes: readonly LayerShape[], dropoutLayers: number): KernelModule | undefined {
  const key = `ae-mlp-v2:${shapes.map((s) => `${s.nin}x${s.nout}@${s.ko}/${s.bo}m${s.mode}`).join(',')}:${dropoutLayers}`;
  return kernelModule(key, () => {
    const fns: WasmFunction[] = [outGradKernel(), adamKernel()];
    shapes.forEach((s, l) => {
      fns.push(forwardKernel(l, s), wgradKernel(l, s));
      if (l > 0) fns.push(transposeKernel(l, s), dgradKernel(l, s, l - 1 < dropoutLayers));
    });
    return fns;
  });
}

/** An instance of the kernels on `memory` (the network's buffers live there). */
export function instantiateMlp(kernels: KernelModule, memory: WasmMemory): Record<string, (...args: number[]) => void> {
  const api = (globalThis as { WebAssembly?: { Instance: new (m: object, i: object) => { exports: Record<string, unknown> } } }).WebAssembly!;
  return new api.Instance(kernels.module, { env: { memory } }).exports as Record<string, (...args: number[]) => void>;
}
