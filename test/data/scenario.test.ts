import { describe, expect, it } from 'vitest';
import { anomalyBursts } from '../../src/data/scenario';
import { generateTraffic } from '../../src/data/generator';

describe('anomalyBursts', () => {
  const data = generateTraffic({ rows: 600, anomalyRatio: 0.15, seed: 7 });
  const rowKey = (d: typeof data, i: number) => Array.from(d.X.data.subarray(i * d.X.cols, (i + 1) * d.X.cols)).join(',');

  it('keeps every row once and the timestamp sequence, and splits the anomalies into separate bursts', () => {
    const b = anomalyBursts(data, { bursts: 3, seed: 1 });
    expect(b.X.rows).toBe(data.X.rows);
    expect(b.timestamps).toEqual(data.timestamps);
    const before = new Map<string, number>();
    for (let i = 0; i < data.X.rows; i++) before.set(rowKey(data, i), data.labels![i]);
    const after = new Set<string>();
    for (let i = 0; i < b.X.rows; i++) {
      const k = rowKey(b, i);
      expect(before.get(k)).toBe(b.labels![i]); // labels travel with their rows
      after.add(k);
    }
    expect(after.size).toBe(before.size);
    // the anomalies form exactly 3 runs, none at the very start or end
    const runs: [number, number][] = [];
    for (let i = 0; i < b.labels!.length; i++) {
      if (b.labels![i] && (i === 0 || !b.labels![i - 1])) runs.push([i, i]);
      if (b.labels![i]) runs[runs.length - 1][1] = i;
    }
    expect(runs).toHaveLength(3);
    expect(runs.map(([s, e]) => e - s + 1)).toEqual([30, 30, 30]);
    expect(runs[0][0]).toBeGreaterThan(0);
    expect(runs[2][1]).toBeLessThan(b.labels!.length - 1);
  });

  it('rewrites the timestamp cell of each record and leaves the input untouched', () => {
    const copy = data.records.map((r) => r.slice());
    const b = anomalyBursts(data, { bursts: 2 });
    b.records.forEach((rec, i) => {
      expect(rec[0]).toBe(data.timestamps![i]);
      expect(rec.slice(1, -1).map(Number)).toEqual(rowKey(b, i).split(',').map(Number));
      expect(rec[rec.length - 1]).toBe(String(b.labels![i]));
    });
    expect(data.records).toEqual(copy);
  });

  it('is seeded', () => {
    const a = anomalyBursts(data, { seed: 3 });
    expect(Array.from(anomalyBursts(data, { seed: 3 }).labels!)).toEqual(Array.from(a.labels!));
    expect(Array.from(anomalyBursts(data, { seed: 4 }).labels!)).not.toEqual(Array.from(a.labels!));
  });

  it('refuses unlabelled data and bad burst counts', () => {
    expect(() => anomalyBursts({ ...data, labels: undefined })).toThrow(/no labels/);
    expect(() => anomalyBursts(data, { bursts: 0 })).toThrow(RangeError);
    expect(() => anomalyBursts(data, { bursts: 1.5 })).toThrow(RangeError);
  });
});
