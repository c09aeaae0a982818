/**
 * Seeded random numbers. {@link Random} is the Mersenne Twister (MT19937) with numpy's legacy
 * `RandomState` draws (`random_sample`, `normal`, `exponential`, `choice(p=...)`, `randint`), so the
 * traffic generator reproduces the reference generator's stream for the same seed. Every stochastic
 * part of the library takes a seed and builds its own `Random`; there is no global generator.
 */

import { log } from './log';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** Largest seed accepted: seeds are unsigned 32-bit integers, as numpy's `RandomState`. */
export const MAX_SEED = 0xffffffff;

/** Throw a `RangeError` unless `seed` is an integer in [0, 2^32 - 1]. */
export function checkSeed(seed: unknown, owner = 'seed'): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(
      `The 'seed' option of ${owner} must be an integer in [0, ${MAX_SEED}]. Got ${JSON.stringify(seed)}.`,
    );
  }
  return seed;
}

/** Exact state of a {@link Random} (see {@link Random.getState}). */
export interface RandomState {
  /** The 624 MT19937 words. */
  mt: Uint32Array;
  /** Index of the next word (624: twist before the next draw). */
  mti: number;
  /** Whether a second normal draw is cached, and its value. */
  hasGauss: boolean;
  gauss: number;
}

/**
 * MT19937 with numpy-legacy distributions.
 * @example
 * ```ts
 * const rng = new Random(42);
 * rng.random(); // 0.3745401188473625, as np.random.RandomState(42).random_sample()
 * ```
 */
export class Random {
  private readonly mt = new Uint32Array(N);
  private mti = N + 1;
  private hasGauss = false;
  private gauss = 0;

  constructor(seed: number) {
    checkSeed(seed, 'Random');
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      // 1812433253 * prev + i, in 32-bit arithmetic
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      // branch-free (-(y & 1) & MATRIX_A): the low bit is a coin flip, so a branch mispredicts half the time
      let kk = 0;
      let y: number;
      for (; kk < N - M; kk++) {
        y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
      }
      for (; kk < N - 1; kk++) {
        y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
      }
      y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (-(y & 1) & MATRIX_A);
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits (numpy `random_sample`). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

  /**
   * Fill `out[0..n)` with uniform doubles in [0, 1): exactly the values of `n` calls of
   * {@link random}, in order, without a call per draw (for bulk draws such as dropout masks).
   */
  fillRandom(out: Float64Array, n: number = out.length): Float64Array {
    const mt = this.mt;
    let k = 0;
    while (k < n) {
      if (this.mti >= N - 1) {
        out[k++] = this.random(); // crosses a twist: the plain path
        continue;
      }
      // draws that stay inside the current block of 624 words
      let mti = this.mti;
      const end = Math.min(n, k + ((N - mti) >> 1));
      for (; k < end; k++) {
        let a = mt[mti++];
        a ^= a >>> 11;
        a ^= (a << 7) & 0x9d2c5680;
        a ^= (a << 15) & 0xefc60000;
        a ^= a >>> 18;
        let b = mt[mti++];
        b ^= b >>> 11;
        b ^= (b << 7) & 0x9d2c5680;
        b ^= (b << 15) & 0xefc60000;
        b ^= b >>> 18;
        out[k] = ((a >>> 5) * 67108864.0 + (b >>> 6)) / 9007199254740992.0;
      }
      this.mti = mti;
    }
    return out;
  }

  /** Standard normal draw: Marsaglia's polar method with a cached pair (numpy legacy `gauss`). */
  standardNormal(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const g = this.gauss;
      this.gauss = 0;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2.0 * this.random() - 1.0;
      x2 = 2.0 * this.random() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    const f = Math.sqrt((-2.0 * log(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /** Normal draw with mean `loc` and standard deviation `scale`. */
  normal(loc: number, scale: number): number {
    return loc + scale * this.standardNormal();
  }

  /** Exponential draw with the given scale (mean), numpy legacy `exponential`. */
  exponential(scale: number): number {
    return scale * -log(1.0 - this.random());
  }

  /**
   * Integer in [low, high) (numpy legacy `randint`: masked rejection sampling on 32-bit draws).
   * Requires high - low <= 2^32.
   */
  randint(low: number, high: number): number {
    const range = high - low - 1;
    if (range < 0) throw new RangeError(`randint: empty range [${low}, ${high}).`);
    if (range === 0) return low;
    if (range > 0xffffffff) throw new RangeError('randint: range above 2^32 is not supported.');
    let mask = range;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    if (range === 0xffffffff) return low + this.nextUint32();
    do {
      v = (this.nextUint32() & mask) >>> 0;
    } while (v > range);
    return low + v;
  }

  /** Integer in [0, n): shorthand for `randint(0, n)`. */
  int(n: number): number {
    return this.randint(0, n);
  }

  /**
   * Index drawn with probabilities `cdf` (a cumulative distribution normalised to end at 1),
   * as numpy's `choice(a, p=p)`: `searchsorted(cdf, u, side='right')`.
   */
  choiceIndex(cdf: ArrayLike<number>): number {
    const u = this.random();
    let lo = 0;
    let hi = cdf.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] <= u) lo = mid + 1;
      else hi = mid;
    }
    return Math.min(lo, cdf.length - 1);
  }

  /** In-place Fisher-Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** `k` distinct indices from 0..n-1 (partial Fisher-Yates), in draw order. */
  sampleIndices(n: number, k: number): Int32Array {
    if (k > n) throw new RangeError(`sampleIndices: cannot draw ${k} of ${n} without replacement.`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p.slice(0, k);
  }

  /**
   * The generator's exact state (the MT19937 words, the position in them and the cached gaussian),
   * as plain data that survives structured cloning (e.g. a `postMessage` to a worker thread):
   * {@link Random.fromState} continues the stream exactly where this generator stands.
   */
  getState(): RandomState {
    return { mt: this.mt.slice(), mti: this.mti, hasGauss: this.hasGauss, gauss: this.gauss };
  }

  /** A generator continuing exactly from a state taken with {@link Random.getState}. */
  static fromState(state: RandomState): Random {
    if (!state || !(state.mt instanceof Uint32Array) || state.mt.length !== N || !Number.isInteger(state.mti) || state.mti < 0 || state.mti > N + 1) {
      throw new RangeError('Random.fromState: not a state from Random.getState().');
    }
    const r = new Random(0);
    r.mt.set(state.mt);
    r.mti = state.mti;
    r.hasGauss = state.hasGauss === true;
    r.gauss = state.gauss;
    return r;
  }

  /** A new seed drawn from this generator, for a sub-component (a tree, a repeat, a fold). */
  nextSeed(): number {
    return this.nextUint32();
  }
}

/** Cumulative, normalised distribution for {@link Random.choiceIndex} (numpy: `cumsum`, `/= cdf[-1]`). */
export function toCdf(p: readonly number[]): Float64Array {
  const cdf = new Float64Array(p.length);
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    s += p[i];
    cdf[i] = s;
  }
  const last = cdf[p.length - 1];
  for (let i = 0; i < p.length; i++) cdf[i] /= last;
  return cdf;
}

/**
 * A fresh seed for a caller who gave none. Derived from the high-resolution clock and process id,
 * never from the unseeded global generator; the fitted model records it so the run can be reproduced.
 */
export function drawSeed(): number {
  const t = process.hrtime.bigint();
  const mixed = Number((t ^ (t >> 29n) ^ BigInt(process.pid) * 2654435761n) & 0xffffffffn);
  return mixed >>> 0;
}
