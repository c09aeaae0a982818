/**
 * The feedback-loop experiment of bench/feedback-experiment.mjs with reduced settings (autoencoder
 * 5 epochs instead of 30) on the seed 10k data (our generator reproduces seed_network_traffic_10k.csv):
 * after 3 rounds of 50 reviewed detections, held-out false positives fall by at least 50% and
 * recall stays within 2 points.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic } from '../../src/data/generator';
import { runFeedbackExperiment, type FeedbackExperimentReport } from '../../src/feedback/experiment';
import { feedbackStats, loadFeedback } from '../../src/feedback/store';

describe('feedback experiment (seed 10k data, reduced settings)', () => {
  let rep: FeedbackExperimentReport;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nal-fbexp-')), 'feedback.jsonl');

  beforeAll(async () => {
    const data = generateTraffic({ rows: 10000, anomalyRatio: 0.15, seed: 43 });
    rep = await runFeedbackExperiment(data, { seed: 42, ensemble: { autoencoder: { epochs: 5 } }, feedbackFile: file });
  }, 300_000);

  it('cuts held-out false positives by at least 50% after 3 rounds while recall stays within 2 points', () => {
    const [first, , , last] = rep.rounds.map((r) => r.heldOut);
    expect(rep.rounds).toHaveLength(4);
    expect(first.fp).toBeGreaterThanOrEqual(10);
    expect(last.fp).toBeLessThanOrEqual(first.fp / 2);
    expect(rep.falsePositiveReduction).toBeGreaterThanOrEqual(0.5);
    expect(last.recall).toBeGreaterThanOrEqual(first.recall - 0.02);
    expect(rep.recallChange).toBeCloseTo(last.recall - first.recall, 12);
  });

  it('the operator labels 50 detections per round, stored in the feedback file; the held-out split is never reviewed', () => {
    expect(rep.splits).toEqual({ train: 5000, review: 2500, heldOut: 2500, heldOutAnomalies: rep.rounds[0].heldOut.tp + rep.rounds[0].heldOut.fn });
    for (const r of rep.rounds.slice(1)) expect(r.newLabels.tp + r.newLabels.fp).toBe(50);
    const s = feedbackStats(loadFeedback(file));
    expect(s.records).toBe(150);
    expect(s.rows).toBe(150);
    expect(s.tp + s.fp).toBe(150);
    expect(s.fn).toBe(0);
    const last = rep.rounds[3];
    expect(last.labels).toEqual({ tp: s.tp, fp: s.fp, fn: 0 });
    expect(last.removedFromTraining).toBe(s.tp);
    expect(last.addedToTraining).toBe(9 * s.fp);
    expect(rep.rounds[1].learnedWeights).toBe(true);
  });
});
