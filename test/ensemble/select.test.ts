import { describe, expect, it } from 'vitest';
import { generateTraffic } from '../../src/data/generator';
import { subsetRows } from '../../src/data/split';
import { detectionToCsv } from '../../src/ensemble/output';
import { selectDetection } from '../../src/ensemble/select';
import { makeResult } from '../charts/fixture';

describe('selectDetection', () => {
  const { result } = makeResult(40);

  it('takes the given rows of every column, in the given order', () => {
    const idx = [7, 0, 39, 7];
    const s = selectDetection(result, idx);
    expect(s.detectors).toEqual(result.detectors);
    expect(s.ensembleThreshold).toBe(result.ensembleThreshold);
    for (const d of result.detectors) {
      expect(Array.from(s.scores[d]!)).toEqual(idx.map((i) => result.scores[d]![i]));
      expect(Array.from(s.votes[d]!)).toEqual(idx.map((i) => result.votes[d]![i]));
    }
    expect(Array.from(s.voteCount)).toEqual(idx.map((i) => result.voteCount[i]));
    expect(Array.from(s.isAnomaly)).toEqual(idx.map((i) => result.isAnomaly[i]));
    expect(Array.from(s.confidence)).toEqual(idx.map((i) => result.confidence[i]));
    expect(s.severity).toEqual(idx.map((i) => result.severity[i]));
    expect(Array.from(s.ensembleScore)).toEqual(idx.map((i) => result.ensembleScore[i]));
    expect(selectDetection(result, []).isAnomaly).toHaveLength(0);
  });

  it('with subsetRows gives the CSV lines of those rows', () => {
    const data = generateTraffic({ rows: 40, seed: 3 });
    const flagged = [...result.isAnomaly.keys()].filter((i) => result.isAnomaly[i]);
    expect(flagged.length).toBeGreaterThan(0);
    const all = detectionToCsv(result, data).trimEnd().split('\n');
    const some = detectionToCsv(selectDetection(result, flagged), subsetRows(data, flagged)).trimEnd().split('\n');
    expect(some).toEqual([all[0], ...flagged.map((i) => all[i + 1])]);
  });

  it('refuses rows outside the result', () => {
    expect(() => selectDetection(result, [40])).toThrow(RangeError);
    expect(() => selectDetection(result, [-1])).toThrow(RangeError);
    expect(() => selectDetection(result, [1.5])).toThrow(RangeError);
  });
});
