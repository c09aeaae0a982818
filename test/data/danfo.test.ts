import { describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { dataFrameToTraffic, detectionToDataFrame, trafficToDataFrame } from '../../src/data/danfo';
import { generateTraffic } from '../../src/data/generator';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';

describe('danfo.js DataFrames', () => {
  const data = generateTraffic({ rows: 120, anomalyRatio: 0.1, seed: 2 });

  it('round-trips traffic through a DataFrame', () => {
    const df = trafficToDataFrame(data);
    expect(df.shape).toEqual([120, 12]);
    expect(df.columns).toEqual(data.header);
    const back = dataFrameToTraffic(df);
    expect(back.X.rows).toBe(120);
    // danfo stores float32 columns; values come back within float32 precision
    for (let k = 0; k < back.X.data.length; k++) {
      expect(back.X.data[k]).toBeCloseTo(data.X.data[k], Math.abs(data.X.data[k]) > 1000 ? 1 : 3);
    }
    expect(Array.from(back.labels!)).toEqual(Array.from(data.labels!));
  });

  it('returns detection results as a DataFrame and validates input frames', async () => {
    const ens = await new AnomalyEnsemble({ seed: 1, detectors: ['isolationForest', 'localOutlierFactor'] }).fit(data);
    const df = detectionToDataFrame(ens.detect(data), data);
    expect(df.shape[0]).toBe(120);
    for (const c of ['is_anomaly', 'severity', 'ensemble_score', 'isolationForest_score', 'packet_size']) expect(df.columns).toContain(c);
    expect(() => dataFrameToTraffic({})).toThrow(DataValidationError);
    const dfd = require('danfojs-node');
    const bad = new dfd.DataFrame({ packet_size: [1, 2] });
    expect(() => dataFrameToTraffic(bad)).toThrow(/missing required columns 'duration'/);
  });
});
