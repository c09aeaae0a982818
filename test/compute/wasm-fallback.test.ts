/**
 * The WebAssembly kernels and their JavaScript twins give the same results to the bit: the whole
 * ensemble on wide rows (the kNN search by matrix products, the One-Class SVM's solver and scoring
 * tiles, the autoencoder's fused engine) with WebAssembly turned off (NAL_WASM=0) scores exactly
 * as with it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';

afterEach(() => {
  delete process.env.NAL_WASM;
});

function wideRows(n: number, d: number, seed: number): number[][] {
  const r = new Random(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, f) => r.standardNormal() + (i % 17 === 0 ? 3 * ((f % 3) - 1) : 0)));
}

describe('WebAssembly off (NAL_WASM=0)', () => {
  it('gives the same ensemble, every detector, to the bit on 40-column rows', async () => {
    const train = wideRows(700, 40, 1);
    const test = wideRows(300, 40, 2);
    const fit = async () => {
      const ens = await new AnomalyEnsemble({ seed: 3, contamination: 0.1, autoencoder: { epochs: 3 } }).fit(train);
      const r = ens.detect(test);
      const out = { train: ens.trainingResult, scores: r.scores, fused: r.ensembleScore };
      ens.dispose();
      return out;
    };
    const withWasm = await fit();
    process.env.NAL_WASM = '0';
    const without = await fit();
    for (const d of Object.keys(withWasm.scores)) {
      expect(Array.from(without.scores[d as keyof typeof without.scores]), d).toEqual(Array.from(withWasm.scores[d as keyof typeof withWasm.scores]));
      expect(Array.from(without.train.scores[d as keyof typeof without.scores]), d).toEqual(Array.from(withWasm.train.scores[d as keyof typeof withWasm.scores]));
    }
    expect(Array.from(without.fused)).toEqual(Array.from(withWasm.fused));
  }, 300_000);
});
