import { describe, expect, it } from 'vitest';
import type { DenseMatrix } from '../../src/core/matrix';
import { Random } from '../../src/core/random';
import { LocalOutlierFactor } from '../../src/detectors/local-outlier-factor';
import { rocAuc } from '../../src/metrics/classification';

function blob(n: number, d: number, seed: number, shift = 0): DenseMatrix {
  const rng = new Random(seed);
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.standardNormal() + (i % d < 3 ? shift : 0);
  return { rows: n, cols: d, data };
}

describe('LocalOutlierFactor maxTrainRows', () => {
  it('indexes a seeded subsample; every training row still gets a score; ranking stays close to exact', async () => {
    const train = blob(3000, 8, 1);
    const exact = await new LocalOutlierFactor({ nNeighbors: 20, seed: 3 }).fit(train);
    const sub = await new LocalOutlierFactor({ nNeighbors: 20, maxTrainRows: 1000, seed: 3 }).fit(train);
    const again = await new LocalOutlierFactor({ nNeighbors: 20, maxTrainRows: 1000, seed: 3 }).fit(train);
    expect(sub.exportSnapshot().params.nTrain).toBe(1000);
    expect(sub.trainingScores).toHaveLength(3000);
    expect(Array.from(again.trainingScores)).toEqual(Array.from(sub.trainingScores));
    // a test set with 300 shifted rows: the subsampled index ranks them about as well
    const normal = blob(1000, 8, 2);
    const odd = blob(300, 8, 4, 3);
    const test: DenseMatrix = { rows: 1300, cols: 8, data: Float64Array.from([...normal.data, ...odd.data]) };
    const labels = Uint8Array.from({ length: 1300 }, (_, i) => (i >= 1000 ? 1 : 0));
    const aucExact = rocAuc(labels, exact.anomalyScore(test));
    const aucSub = rocAuc(labels, sub.anomalyScore(test));
    expect(Math.abs(aucExact - aucSub)).toBeLessThan(0.01);
    // no subsampling at or below the cap
    const small = await new LocalOutlierFactor({ nNeighbors: 20, maxTrainRows: 3000, seed: 3 }).fit(train);
    expect(Array.from(small.trainingScores)).toEqual(Array.from(exact.trainingScores));
  });

  it('validates maxTrainRows', () => {
    expect(() => new LocalOutlierFactor({ nNeighbors: 20, maxTrainRows: 20 })).toThrow(
      "The 'maxTrainRows' option of LocalOutlierFactor must be 0 (no limit) or an integer > nNeighbors (20). Got 20.",
    );
    expect(() => new LocalOutlierFactor({ maxTrainRows: -1 })).toThrow(RangeError);
    expect(() => new LocalOutlierFactor({ maxTrainRows: 1.5 })).toThrow(RangeError);
  });
});
