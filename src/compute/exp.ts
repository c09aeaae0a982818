/**
 * `Math.exp` to the bit, two values per WebAssembly SIMD instruction. V8's `Math.exp` is fdlibm's
 * `e_exp.c` (V8's `base::ieee754::exp`): an argument reduction x = k·ln2 + r, a degree-5 rational
 * approximation of exp(r), and a scaling by 2^k, every step a correctly rounded IEEE operation
 * without fused multiply-adds. {@link fdlibmExp} is that algorithm in JavaScript and
 * {@link expWasm} in SIMD lanes (its branches become lane selects), so both give `Math.exp`'s
 * bits for every argument; the tests check this on millions of values and on the edge cases.
 *
 * The RBF kernels call it on whole columns (`exp(−γ·d²)`), where `Math.exp` one value at a
 * time costs about 12 ns and the lanes about a third of that.
 */
import { WasmFunction } from './wasm';

const HALF = 0.5;
const LN2_HI = 6.9314718036912381649e-1; // 0x3fe62e42 fee00000
const LN2_LO = 1.90821492927058770002e-10; // 0x3dea39ef 35793c76
const INV_LN2 = 1.442695040888963387; // 0x3ff71547 652b82fe
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.6533902205465251539e-6;
const P5 = 4.13813679705723846039e-8;
const O_THRESHOLD = 7.09782712893383973096e2;
const U_THRESHOLD = -7.4513321910194110842e2;
const TWO_M1000 = 9.3326361850321887899e-302; // 2^-1000
const TWO_1023 = 8.988465674311579539e307; // 2^1023

/** The double whose high 32 bits are `hi` and low bits 0. */
function fromHighWord(hi: number): number {
  const v = new DataView(new ArrayBuffer(8));
  v.setUint32(0, hi >>> 0);
  return v.getFloat64(0);
}

/** fdlibm compares the high word of |x|; these are the same tests on |x| itself. */
const ABS_REDUCE = fromHighWord(0x3fd62e43); // |x| > 0.5·ln2 (high word > 0x3fd62e42)
const ABS_ONE_STEP = fromHighWord(0x3ff0a2b2); // |x| < 1.5·ln2 (high word < 0x3ff0a2b2)
const ABS_TINY = fromHighWord(0x3e300000); // |x| < 2^-28

const scratch = new Float64Array(1);
const scratchHi = new Int32Array(scratch.buffer);

/**
 * fdlibm's exp in JavaScript, as V8's `Math.exp` computes it (the reference for {@link expWasm}
 * and its tests).
 */
export function fdlibmExp(x: number): number {
  if (Number.isNaN(x)) return x + x;
  if (x > O_THRESHOLD) return Infinity;
  if (x < U_THRESHOLD) return 0;
  const ax = Math.abs(x);
  const neg = x < 0;
  let hi = 0;
  let lo = 0;
  let k = 0;
  if (ax >= ABS_REDUCE) {
    if (ax < ABS_ONE_STEP) {
      if (x === 1) return Math.E;
      hi = neg ? x + LN2_HI : x - LN2_HI;
      lo = neg ? -LN2_LO : LN2_LO;
      k = neg ? -1 : 1;
    } else {
      k = Math.trunc(INV_LN2 * x + (neg ? -HALF : HALF));
      hi = x - k * LN2_HI;
      lo = k * LN2_LO;
    }
    x = hi - lo;
  } else if (ax < ABS_TINY) {
    return 1 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k === 0) return 1 - ((x * c) / (c - 2.0) - x);
  const y = 1 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k === 1024) return y * 2.0 * TWO_1023;
  scratchHi[0] = 0;
  scratchHi[1] = (0x3ff00000 + ((k >= -1021 ? k : k + 1000) << 20)) | 0;
  return k >= -1021 ? y * scratch[0] : y * scratch[0] * TWO_M1000;
}

/**
 * `expScaled32(src, dst, n, g)`: `dst[r] = fround(exp(g · src[r]))` for r in [0, n), src float64
 * and dst float32 (byte offsets); `expScaled64` the same into float64. Two values per step: the
 * caller leaves room for an even count (one value past an odd `n` is read and written).
 *
 * Per lane, fdlibm's steps with its branches as selects: both reductions (k = ±1 near ±ln2,
 * k = trunc(x/ln2 ± ½) beyond) and r = x below ½·ln2; one quotient q = r·c/(c − 2), as fdlibm's
 * r·c/(2 − c) is −q to the bit (so its lo − r·c/(2 − c) is lo + q); 2^k built in the exponent bits;
 * then tiny, 1, overflow, underflow and NaN arguments as fdlibm returns them.
 */
/** Sets of lanes per step of the main loop (four: about 1.6x faster than one, measured). */
const UNROLL = 4;

export function expWasm(name: 'expScaled32' | 'expScaled64'): WasmFunction {
  const f32 = name === 'expScaled32';
  const fn = new WasmFunction(name, ['i32', 'i32', 'i32', 'f64']);
  const [SRC, DST, N, G] = [0, 1, 2, 3];
  const [i, end, pairs, dp] = [fn.local('i32'), fn.local('i32'), fn.local('i32'), fn.local('i32')];
  const g = fn.local('v128');
  const names = ['x', 'ax', 'neg', 'kI', 'k', 'hi', 'lo', 'xr', 't', 'c', 'q', 'y', 'r', 'mC', 'mB', 'small', 'big'] as const;
  type Lanes = Record<(typeof names)[number], number>;
  /** {@link UNROLL} sets of lanes per step of the main loop: independent chains for the CPU to overlap. */
  const sets: Lanes[] = Array.from({ length: UNROLL }, () => Object.fromEntries(names.map((n) => [n, fn.local('v128')])) as Lanes);
  const C = (a: number): WasmFunction => fn.f64x2Const(a);
  /** fdlibm's steps on one set of lanes, each leaving the stack as it found it. */
  const steps: ((L: Lanes) => void)[] = [
    (L) => fn.get(L.x).f64x2Abs().set(L.ax),
    (L) => fn.get(L.x).v128Zero().f64x2Lt().set(L.neg),
    // k = trunc(x/ln2 ± ½), hi = x − k·ln2_hi, lo = k·ln2_lo (|x| ≥ 1.5·ln2)
    (L) => C(INV_LN2).get(L.x).f64x2Mul().f64x2Const(-HALF).f64x2Const(HALF).get(L.neg).v128Bitselect().f64x2Add().i32x4TruncSatF64x2Zero().set(L.kI),
    (L) => fn.get(L.kI).f64x2ConvertLowI32x4().set(L.t),
    (L) => fn.get(L.x).get(L.t).f64x2Const(LN2_HI).f64x2Mul().f64x2Sub().set(L.hi),
    (L) => fn.get(L.t).f64x2Const(LN2_LO).f64x2Mul().set(L.lo),
    (L) => fn.get(L.kI).i64x2ExtendLowI32x4().set(L.k),
    // |x| < 1.5·ln2: k = ±1, hi = x ∓ ln2_hi, lo = ±ln2_lo
    (L) => fn.get(L.ax).f64x2Const(ABS_ONE_STEP).f64x2Lt().set(L.mC),
    (L) => fn.get(L.x).f64x2Const(-LN2_HI).f64x2Const(LN2_HI).get(L.neg).v128Bitselect().f64x2Sub().get(L.hi).get(L.mC).v128Bitselect().set(L.hi),
    (L) => fn.f64x2Const(-LN2_LO).f64x2Const(LN2_LO).get(L.neg).v128Bitselect().get(L.lo).get(L.mC).v128Bitselect().set(L.lo),
    (L) => fn.i64x2Const(-1).i64x2Const(1).get(L.neg).v128Bitselect().get(L.k).get(L.mC).v128Bitselect().set(L.k),
    // |x| ≤ ½·ln2: r = x, k = 0; else r = hi − lo
    (L) => fn.get(L.ax).f64x2Const(ABS_REDUCE).f64x2Lt().set(L.mB),
    (L) => fn.get(L.x).get(L.hi).get(L.lo).f64x2Sub().get(L.mB).v128Bitselect().set(L.xr),
    (L) => fn.v128Zero().get(L.k).get(L.mB).v128Bitselect().set(L.k),
    // c = r − t·(P1 + t·(P2 + t·(P3 + t·(P4 + t·P5)))), t = r²
    (L) => fn.get(L.xr).get(L.xr).f64x2Mul().set(L.t),
    (L) => {
      fn.get(L.xr).get(L.t);
      C(P1).get(L.t);
      C(P2).get(L.t);
      C(P3).get(L.t);
      C(P4).get(L.t).f64x2Const(P5).f64x2Mul().f64x2Add();
      fn.f64x2Mul().f64x2Add().f64x2Mul().f64x2Add().f64x2Mul().f64x2Add().f64x2Mul().f64x2Sub().set(L.c);
    },
    // q = r·c/(c − 2)
    (L) => fn.get(L.xr).get(L.c).f64x2Mul().get(L.c).f64x2Const(2).f64x2Sub().f64x2Div().set(L.q),
    // k ≠ 0: y = 1 − ((lo + q) − hi), then (y·a)·b: a = 2^k and b = 1, or for k < −1021 a = 2^(k+1000)
    // and b = 2^−1000, or for k = 1024 a = 2 and b = 2^1023 (a lane multiplies by 1 rather than
    // compute an unused branch: a subnormal product costs a hundred cycles)
    (L) => C(1).get(L.lo).get(L.q).f64x2Add().get(L.hi).f64x2Sub().f64x2Sub().set(L.y),
    (L) => fn.get(L.k).i64x2Const(-1021).i64x2LtS().set(L.small),
    (L) => fn.get(L.k).i64x2Const(1024).i64x2Eq().set(L.big),
    (L) => {
      fn.get(L.y);
      C(2);
      fn.get(L.k).i64x2Const(1000).i64x2Add().get(L.k).get(L.small).v128Bitselect().i64x2Const(0x3ff).i64x2Add().i32Const(52).i64x2Shl();
      fn.get(L.big).v128Bitselect().f64x2Mul();
      C(TWO_1023);
      C(TWO_M1000).f64x2Const(1).get(L.small).v128Bitselect();
      fn.get(L.big).v128Bitselect().f64x2Mul().set(L.r);
    },
    // k = 0: 1 − (q − r)
    (L) => C(1).get(L.q).get(L.xr).f64x2Sub().f64x2Sub().get(L.r).get(L.mB).v128Bitselect().set(L.r),
    // |x| < 2^-28: 1 + x; x = 1: e; overflow: ∞; underflow: 0; NaN: x + x
    (L) => C(1).get(L.x).f64x2Add().get(L.r).get(L.ax).f64x2Const(ABS_TINY).f64x2Lt().v128Bitselect().set(L.r),
    (L) => C(Math.E).get(L.r).get(L.x).f64x2Const(1).f64x2Eq().v128Bitselect().set(L.r),
    (L) => C(Infinity).get(L.r).f64x2Const(O_THRESHOLD).get(L.x).f64x2Lt().v128Bitselect().set(L.r),
    (L) => fn.v128Zero().get(L.r).get(L.x).f64x2Const(U_THRESHOLD).f64x2Lt().v128Bitselect().set(L.r),
    (L) => fn.get(L.x).get(L.x).f64x2Add().get(L.r).get(L.x).get(L.x).f64x2Ne().v128Bitselect().set(L.r),
  ];
  const load = (L: Lanes, at: number): void => {
    fn.get(g).get(SRC).get(i).i32Add().v128Load(at).f64x2Mul().set(L.x);
  };
  const store = (L: Lanes, at: number): void => {
    if (f32) fn.get(dp).get(L.r).f32x4DemoteF64x2Zero().v128Store64Lane0(at / 2);
    else fn.get(DST).get(i).i32Add().get(L.r).v128Store(at);
  };
  fn.get(G).f64x2Splat().set(g);
  fn.get(DST).set(dp);
  // whole groups of four values (32 bytes of source), then pairs up to ⌈n/2⌉·16 bytes
  fn.get(N).i32Const(2 * UNROLL).i32DivU().i32Const(16 * UNROLL).i32Mul().set(end);
  fn.get(N).i32Const(1).i32Add().i32Const(-2).i32And().i32Const(8).i32Mul().set(pairs);
  fn.forLoop(i, { value: 0 }, end, 16 * UNROLL, () => {
    sets.forEach((L, u) => load(L, 16 * u));
    for (const step of steps) for (const L of sets) step(L);
    sets.forEach((L, u) => store(L, 16 * u));
    fn.get(dp).i32Const(8 * UNROLL).i32Add().set(dp);
  });
  fn.forLoop(i, { local: end }, pairs, 16, () => {
    load(sets[0], 0);
    for (const step of steps) step(sets[0]);
    store(sets[0], 0);
    fn.get(dp).i32Const(8).i32Add().set(dp);
  });
  return fn;
}
