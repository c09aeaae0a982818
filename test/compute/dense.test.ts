/**
 * The dense distance kernels: the WebAssembly tile equals its JavaScript twin to the bit, both
 * equal the plain expansion (‖q‖² + ‖x‖²) − 2 q·x summed in feature order, and the expansion stays
 * within expansionMargin of the direct sum of squared differences.
 */
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { boundFilter32Js, denseKernels, distanceTileJs, EXPANSION32_ABSOLUTE, EXPANSION_ABSOLUTE, expansionMargin, expansionMargin32, packPanels, packPanels32, squaredNorms, squaredNorms32 } from '../../src/compute/dense';
import { kernelArena } from '../../src/compute/wasm';

function rows(n: number, d: number, seed: number, scale = 1): Float64Array {
  const rng = new Random(seed);
  const a = new Float64Array(n * d);
  for (let i = 0; i < a.length; i++) a[i] = rng.standardNormal() * scale;
  return a;
}

/** Lay out queries, panels and norms in `F` as the kernels expect; returns the offsets. */
function layout(F: Float64Array, Q: Float64Array, nq4: number, X: Float64Array, n: number, d: number) {
  const panels = Math.ceil(n / 4);
  const qAt = 0;
  const panAt = qAt + nq4 * d;
  const qnAt = panAt + panels * 4 * d;
  const xnAt = qnAt + nq4;
  const outAt = xnAt + panels * 4;
  F.set(Q, qAt);
  packPanels(X, 0, n, d, F, panAt);
  squaredNorms(F.subarray(qAt), nq4, d, F.subarray(qnAt, qnAt + nq4));
  F.set(squaredNorms(X, n, d), xnAt);
  return { qAt, panAt, qnAt, xnAt, outAt, panels, outStride: panels * 4 };
}

describe('dense distance tiles', () => {
  it.each([
    [1, 5, 3],
    [7, 9, 4],
    [57, 13, 8],
    [122, 30, 12],
  ])('the WebAssembly tile equals the JavaScript twin and the plain expansion to the bit (d=%i, n=%i, queries=%i)', (d, n, nq) => {
    const X = rows(n, d, d);
    const Q = rows(nq, d, 100 + d);
    const panels = Math.ceil(n / 4);
    const size = nq * d + panels * 4 * d + nq + panels * 4 + nq * panels * 4;
    const js = new Float64Array(size);
    const L = layout(js, Q, nq, X, n, d);
    distanceTileJs(js, L.qAt, nq, d, L.panAt, L.panels, L.qnAt, L.xnAt, L.outAt, L.outStride);
    // the plain formula, pair by pair
    const qn = squaredNorms(Q, nq, d);
    const xn = squaredNorms(X, n, d);
    for (let q = 0; q < nq; q++) {
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let f = 0; f < d; f++) dot += Q[q * d + f] * X[j * d + f];
        expect(js[L.outAt + q * L.outStride + j]).toBe(qn[q] + xn[j] - 2 * dot);
      }
    }
    // Node >= 20 has WebAssembly SIMD and shared memory: the kernels must be there
    const kernels = denseKernels();
    expect(kernels).toBeDefined();
    const arena = kernelArena(kernels!);
    arena.reset();
    const at = arena.alloc(size * 8);
    const F = arena.f64(at, size);
    const L2 = layout(F, Q, nq, X, n, d);
    const b = at; // byte offset of F[0]
    arena.exports.distanceTile(b + L2.qAt * 8, nq, d, b + L2.panAt * 8, L2.panels, b + L2.qnAt * 8, b + L2.xnAt * 8, b + L2.outAt * 8, L2.outStride * 8);
    expect(Array.from(F.subarray(L2.outAt, L2.outAt + nq * L2.outStride))).toEqual(Array.from(js.subarray(L.outAt, L.outAt + nq * L.outStride)));
  });

  it('stays within expansionMargin of the direct sum of squared differences, near and far, small and large', () => {
    for (const [scale, offset] of [
      [1, 0],
      [1e-3, 5],
      [1e6, 0],
      [1, 1e4],
    ]) {
      const d = 40;
      const X = rows(60, d, 3, scale).map((v) => v + offset);
      // queries: near copies of index rows (tiny distances against large norms) and unrelated rows
      const Q = new Float64Array(8 * d);
      for (let i = 0; i < 4 * d; i++) Q[i] = X[i] * (1 + 1e-9);
      Q.set(rows(4, d, 9, scale).map((v) => v + offset), 4 * d);
      const qn = squaredNorms(Q, 8, d);
      const xn = squaredNorms(X, 60, d);
      const c = expansionMargin(d);
      for (let q = 0; q < 8; q++) {
        for (let j = 0; j < 60; j++) {
          let dot = 0;
          let s = 0;
          for (let f = 0; f < d; f++) {
            dot += Q[q * d + f] * X[j * d + f];
            const t = X[j * d + f] - Q[q * d + f];
            s += t * t;
          }
          const A = qn[q] + xn[j] - 2 * dot;
          expect(Math.abs(A - s)).toBeLessThanOrEqual(c * (qn[q] + xn[j]) + EXPANSION_ABSOLUTE);
        }
      }
    }
  });

  it.each([
    [1, 9, 4, Infinity],
    [30, 17, 8, Infinity],
    [122, 40, 12, Infinity],
    [57, 33, 8, 100],
  ])('the float32 bound filter: WebAssembly and JavaScript keep the same rows and bounds, within expansionMargin32 (d=%i, n=%i, queries=%i, bound %s)', (d, n, nq, boundValue) => {
    const X = rows(n, d, 7 * d);
    const Q = rows(nq, d, 70 + d);
    const panels = Math.ceil(n / 8);
    const qAt = 0;
    const panAt = nq * d;
    const qnAt = panAt + panels * 8 * d;
    const xnAt = qnAt + nq;
    const cxnAt = xnAt + panels * 8;
    const boundAt = cxnAt + panels * 8;
    const cntAt = boundAt + nq;
    const scrAt = (cntAt + nq + 3) & ~3;
    const loAt = scrAt + 8;
    const ixAt = loAt + nq * n;
    const size = ixAt + nq * n;
    const fill = (F: Float32Array, I: Int32Array): void => {
      F.fill(0);
      F.set(Q, qAt);
      packPanels32(X, 0, n, d, F, panAt);
      squaredNorms32(F, qAt, nq, d, F, qnAt);
      const row = new Float32Array(d);
      for (let j = 0; j < n; j++) {
        row.set(X.subarray(j * d, j * d + d));
        squaredNorms32(row, 0, 1, d, F, xnAt + j);
        F[cxnAt + j] = 0.01 * (j % 3);
      }
      for (let q = 0; q < nq; q++) F[boundAt + q] = boundValue;
      I.fill(0, cntAt, cntAt + nq);
    };
    const js = new Float32Array(new SharedArrayBuffer(size * 4));
    const jsI = new Int32Array(js.buffer);
    fill(js, jsI);
    boundFilter32Js(js, jsI, qAt, nq, d, panAt, panels, qnAt, xnAt, cxnAt, boundAt, loAt, ixAt, cntAt, n, 0, n);
    // the WebAssembly kernel: its twin's lists to the bit
    const arena = kernelArena(denseKernels()!);
    arena.reset();
    const at = arena.alloc(size * 4);
    const F = new Float32Array(arena.memory.buffer as SharedArrayBuffer, at, size);
    const I = new Int32Array(arena.memory.buffer as SharedArrayBuffer, at, size);
    fill(F, I);
    arena.exports.boundFilter32(at + qAt * 4, nq, d, at + panAt * 4, panels, at + qnAt * 4, at + xnAt * 4, at + cxnAt * 4, at + boundAt * 4, at + loAt * 4, at + ixAt * 4, at + cntAt * 4, n * 4, 0, n, at + scrAt * 4);
    const qn = squaredNorms(Q, nq, d);
    const xn = squaredNorms(X, n, d);
    let kept = 0;
    for (let q = 0; q < nq; q++) {
      const c = jsI[cntAt + q];
      expect(I[cntAt + q]).toBe(c);
      expect(Array.from(I.subarray(ixAt + q * n, ixAt + q * n + c))).toEqual(Array.from(jsI.subarray(ixAt + q * n, ixAt + q * n + c)));
      expect(Array.from(F.subarray(loAt + q * n, loAt + q * n + c))).toEqual(Array.from(js.subarray(loAt + q * n, loAt + q * n + c)));
      kept += c;
      for (let t = 0; t < c; t++) {
        const j = jsI[ixAt + q * n + t];
        let s = 0;
        for (let f = 0; f < d; f++) {
          const u = X[j * d + f] - Q[q * d + f];
          s += u * u;
        }
        // lo + cxn is the float32 expansion A32: within expansionMargin32 of the direct sum
        const A32 = js[loAt + q * n + t] + js[cxnAt + j];
        expect(Math.abs(A32 - s)).toBeLessThanOrEqual(expansionMargin32(d) * (qn[q] + xn[j]) + EXPANSION32_ABSOLUTE);
      }
    }
    if (boundValue === Infinity) expect(kept).toBe(nq * n);
    else expect(kept).toBeLessThan(nq * n);
  });

  it('the float32 bound filter keeps every row clearly under the bound and none clearly over it', () => {
    const d = 122;
    const n = 300;
    const nq = 8;
    const X = rows(n, d, 41);
    const Q = rows(nq, d, 42);
    const panels = Math.ceil(n / 8);
    const panAt = nq * d;
    const qnAt = panAt + panels * 8 * d;
    const xnAt = qnAt + nq;
    const cxnAt = xnAt + panels * 8;
    const boundAt = cxnAt + panels * 8;
    const cntAt = boundAt + nq;
    const scrAt = (cntAt + nq + 3) & ~3;
    const loAt = scrAt + 8;
    const ixAt = loAt + nq * n;
    const size = ixAt + nq * n;
    const arena = kernelArena(denseKernels()!);
    arena.reset();
    const at = arena.alloc(size * 4);
    const F = new Float32Array(arena.memory.buffer as SharedArrayBuffer, at, size);
    const I = new Int32Array(arena.memory.buffer as SharedArrayBuffer, at, size);
    F.fill(0);
    F.set(Q, 0);
    packPanels32(X, 0, n, d, F, panAt);
    squaredNorms32(F, 0, nq, d, F, qnAt);
    const row = new Float32Array(d);
    for (let j = 0; j < n; j++) {
      row.set(X.subarray(j * d, j * d + d));
      squaredNorms32(row, 0, 1, d, F, xnAt + j);
    }
    const bound = 200; // about the median squared distance of these rows
    for (let q = 0; q < nq; q++) F[boundAt + q] = bound;
    arena.exports.boundFilter32(at, nq, d, at + panAt * 4, panels, at + qnAt * 4, at + xnAt * 4, at + cxnAt * 4, at + boundAt * 4, at + loAt * 4, at + ixAt * 4, at + cntAt * 4, n * 4, 0, n, at + scrAt * 4);
    const qn = squaredNorms(Q, nq, d);
    const xn = squaredNorms(X, n, d);
    for (let q = 0; q < nq; q++) {
      const kept = new Set(Array.from(I.subarray(ixAt + q * n, ixAt + q * n + I[cntAt + q])));
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let f = 0; f < d; f++) {
          const u = X[j * d + f] - Q[q * d + f];
          s += u * u;
        }
        const margin = expansionMargin32(d) * (qn[q] + xn[j]) + EXPANSION32_ABSOLUTE;
        // a row clearly below the bound is kept, one clearly above is not
        if (s < bound - margin) expect(kept.has(j)).toBe(true);
        if (s > bound + margin) expect(kept.has(j)).toBe(false);
      }
    }
  });
});

