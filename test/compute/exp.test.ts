/**
 * fdlibm's exp, in JavaScript and in WebAssembly SIMD lanes, gives `Math.exp`'s bits: on the
 * arguments the RBF kernels see (−γ·d², from 0 down past the underflow), around every branch
 * boundary of the algorithm, and on the special values.
 */
import { describe, expect, it } from 'vitest';
import { fdlibmExp } from '../../src/compute/exp';
import { denseKernels } from '../../src/compute/dense';
import { kernelArena } from '../../src/compute/wasm';
import { Random } from '../../src/core/random';

/** Arguments: random ones over several ranges, each branch boundary and its neighbours, special values. */
function argumentsToCheck(): Float64Array {
  const r = new Random(7);
  const xs: number[] = [];
  for (let i = 0; i < 60_000; i++) xs.push(-r.random() * 40);
  for (let i = 0; i < 20_000; i++) xs.push(-r.random() * 800);
  for (let i = 0; i < 20_000; i++) xs.push((r.random() - 0.5) * 1500);
  for (let i = 0; i < 20_000; i++) xs.push((r.random() - 0.5) * 4);
  for (let i = 0; i < 10_000; i++) xs.push((r.random() - 0.5) * 2e-8);
  const v = new DataView(new ArrayBuffer(8));
  const near = (x: number): number[] => {
    v.setFloat64(0, x);
    const bits = v.getBigUint64(0);
    const out: number[] = [];
    for (let d = -3n; d <= 3n; d++) {
      v.setBigUint64(0, bits + d);
      out.push(v.getFloat64(0), -v.getFloat64(0));
    }
    return out;
  };
  const edge = (hi: number): number => {
    v.setUint32(0, hi);
    v.setUint32(4, 0);
    return v.getFloat64(0);
  };
  for (const b of [edge(0x3fd62e42), edge(0x3fd62e43), edge(0x3ff0a2b2), edge(0x3e300000), edge(0x40862e42), 0.5 * Math.LN2, 1.5 * Math.LN2, 1, Math.LN2, 709.782712893384, 745.1332191019411, 708.39, 707.7, 744.44])
    xs.push(...near(b));
  // k at −1021 / −1022 (the 2^-1000 rescaling) and at 1024
  for (let x = -709.2; x > -709.5; x -= 0.001) xs.push(x);
  for (let x = 709.0; x < 709.79; x += 0.003) xs.push(x);
  xs.push(0, -0, Infinity, -Infinity, NaN, 1e-320, -1e-320, Number.MIN_VALUE, -Number.MAX_VALUE, Number.MAX_VALUE);
  return Float64Array.from(xs);
}

describe('exp', () => {
  const xs = argumentsToCheck();

  it('fdlibmExp equals Math.exp to the bit', () => {
    let bad = 0;
    for (const x of xs) if (!Object.is(fdlibmExp(x), Math.exp(x))) bad++;
    expect(bad).toBe(0);
  });

  const kernels = denseKernels();
  it.skipIf(!kernels)('expScaled64 and expScaled32 equal Math.exp (and its fround) to the bit, scaled by g', () => {
    const arena = kernelArena(kernels!, 'exp-test');
    for (const g of [1, -0.37, 1e-3]) {
      arena.reset();
      const n = xs.length; // odd or even: one value past the end is read and written
      const src = arena.alloc(8 * (n + 1));
      const d64 = arena.alloc(8 * (n + 1));
      const d32 = arena.alloc(4 * (n + 2));
      new Float64Array(arena.memory.buffer as SharedArrayBuffer, src, n).set(xs);
      arena.exports.expScaled64(src, d64, n, g);
      arena.exports.expScaled32(src, d32, n, g);
      const out64 = new Float64Array(arena.memory.buffer as SharedArrayBuffer, d64, n);
      const out32 = new Float32Array(arena.memory.buffer as SharedArrayBuffer, d32, n);
      let bad64 = 0;
      let bad32 = 0;
      for (let i = 0; i < n; i++) {
        const want = Math.exp(g * xs[i]);
        if (!Object.is(out64[i], want)) bad64++;
        if (!Object.is(out32[i], Math.fround(want))) bad32++;
      }
      expect([bad64, bad32]).toEqual([0, 0]);
    }
  });

  it.skipIf(!kernels)('handles every length: groups of eight values, then pairs, writing at most one value past the end', () => {
    const arena = kernelArena(kernels!, 'exp-test');
    for (let n = 0; n <= 19; n++) {
      arena.reset();
      const src = arena.alloc(8 * 24);
      const d32 = arena.alloc(4 * 24);
      const d64 = arena.alloc(8 * 24);
      const buf = arena.memory.buffer as SharedArrayBuffer;
      new Float64Array(buf, src, 24).set(Array.from({ length: 24 }, (_, i) => -i / 3));
      new Float32Array(buf, d32, 24).fill(-1);
      new Float64Array(buf, d64, 24).fill(-1);
      arena.exports.expScaled32(src, d32, n, 1.5);
      arena.exports.expScaled64(src, d64, n, 1.5);
      const out32 = Array.from(new Float32Array(buf, d32, 24));
      const out64 = Array.from(new Float64Array(buf, d64, 24));
      const written = n + (n % 2); // an odd count writes one value past the end
      for (let i = 0; i < 24; i++) {
        const want = Math.exp(1.5 * (-i / 3));
        expect(out64[i]).toBe(i < written ? want : -1);
        expect(out32[i]).toBe(i < written ? Math.fround(want) : -1);
      }
    }
  });
});
