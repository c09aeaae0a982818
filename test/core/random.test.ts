import { describe, expect, it } from 'vitest';
import { Random, checkSeed, toCdf } from '../../src/core/random';
import { log } from '../../src/core/log';

describe('Random (MT19937, numpy legacy draws)', () => {
  it('matches numpy RandomState(42) draw for draw', () => {
    // /usr/bin/python3: r = np.random.RandomState(42); r.random_sample(), r.normal(0,1) x2,
    // r.exponential(2), r.randint(1024, 65535), r.choice([0,1,2], p=[.7,.25,.05])
    const r = new Random(42);
    expect(r.random()).toBe(0.3745401188473625);
    expect(r.normal(0, 1)).toBe(-1.1118801180469204);
    expect(r.normal(0, 1)).toBe(0.31890218468938336);
    expect(r.exponential(2)).toBe(0.33919258382921036);
    expect(r.randint(1024, 65535)).toBe(38218);
    expect(r.choiceIndex(toCdf([0.7, 0.25, 0.05]))).toBe(0);
  });

  it('same seed, same stream; different seed, different stream', () => {
    const a = new Random(7);
    const b = new Random(7);
    const c = new Random(8);
    const xa = Array.from({ length: 50 }, () => a.nextUint32());
    const xb = Array.from({ length: 50 }, () => b.nextUint32());
    const xc = Array.from({ length: 50 }, () => c.nextUint32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  it('getState/fromState: a restored generator continues identically (also after structured cloning)', () => {
    for (const skip of [0, 1, 311, 623, 624, 625, 1500]) {
      const a = new Random(123);
      for (let i = 0; i < skip; i++) a.nextUint32();
      a.standardNormal(); // leaves a cached gaussian
      const b = Random.fromState(structuredClone(a.getState()));
      const c = Random.fromState(a.getState());
      const draw = (r: Random) => [r.standardNormal(), r.standardNormal(), r.random(), r.int(1000), ...r.fillRandom(new Float64Array(700)), r.nextUint32()];
      const xa = draw(a);
      expect(draw(b)).toEqual(xa);
      expect(draw(c)).toEqual(xa);
    }
    // a fresh generator's state (twist pending) round-trips too, and the state is a copy
    const f = new Random(9);
    const s = f.getState();
    const g = Random.fromState(s);
    s.mt.fill(0);
    expect(g.nextUint32()).toBe(new Random(9).nextUint32());
    expect(() => Random.fromState({ mt: new Uint32Array(3), mti: 0, hasGauss: false, gauss: 0 })).toThrow(RangeError);
  });

  it('fillRandom gives exactly the draws of random(), across twists and odd word offsets', () => {
    for (const skip of [0, 1, 310, 311, 312, 622, 623, 624, 1000]) {
      const a = new Random(5);
      const b = new Random(5);
      for (let i = 0; i < skip; i++) a.nextUint32(), b.nextUint32();
      const out = new Float64Array(1600);
      a.fillRandom(out, 1500);
      a.fillRandom(out.subarray(1500), 100);
      for (let i = 0; i < 1600; i++) expect(out[i]).toBe(b.random());
      expect(a.nextUint32()).toBe(b.nextUint32());
    }
  });

  it('randint stays in range and sampleIndices draws distinct indices', () => {
    const r = new Random(1);
    for (let i = 0; i < 1000; i++) {
      const v = r.randint(5, 9);
      expect(v).toBeGreaterThanOrEqual(5);
      expect(v).toBeLessThan(9);
    }
    const s = r.sampleIndices(100, 30);
    expect(new Set(s).size).toBe(30);
    expect(Math.max(...s)).toBeLessThan(100);
  });

  it('refuses seeds that are not 32-bit unsigned integers', () => {
    for (const bad of [1.5, -1, 2 ** 32, NaN, '3' as unknown as number]) {
      expect(() => new Random(bad)).toThrow(RangeError);
      expect(() => checkSeed(bad)).toThrow(/must be an integer in \[0, 4294967295\]/);
    }
  });
});

describe('correctly rounded log', () => {
  it('agrees with Math.log to within one ulp and is exact on powers of two', () => {
    const r = new Random(3);
    for (let i = 0; i < 2000; i++) {
      const x = r.random() * 10 ** (r.int(20) - 10);
      if (x === 0) continue;
      const a = log(x);
      const b = Math.log(x);
      expect(Math.abs(a - b)).toBeLessThanOrEqual(Math.abs(b) * 2.3e-16 + 1e-300);
    }
    expect(log(1)).toBe(0);
    expect(log(8)).toBe(3 * Math.LN2);
    expect(log(0)).toBe(-Infinity);
    expect(Number.isNaN(log(-1))).toBe(true);
  });
});
