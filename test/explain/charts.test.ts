import { describe, expect, it } from 'vitest';
import { explanationChart, feedbackRoundsChart, importanceByModelChart } from '../../src/charts/explain';
import type { RowExplanation } from '../../src/explain/explain';
import type { PermutationImportance } from '../../src/explain/permutation';
import type { FeedbackRound } from '../../src/feedback/experiment';

const explanation: RowExplanation = {
  row: 17,
  rowId: '0123456789abcdef',
  isAnomaly: true,
  decision: 'score',
  ensembleScore: 4.25,
  ensembleThreshold: 1.5,
  voteCount: 3,
  nDetectors: 4,
  minVotes: 2,
  severity: 'medium',
  confidence: 0.75,
  detectors: [
    { detector: 'isolationForest', label: 'Isolation Forest', score: 0.71, threshold: 0.55, vote: 1, margin: 3.2, normalizedScore: 5, weight: 0.5, contribution: 2.5 },
    { detector: 'oneClassSvm', label: 'One-Class SVM', score: -0.1, threshold: 0, vote: 0, margin: -0.4, normalizedScore: 0.5, weight: 0.1, contribution: 0.05 },
    { detector: 'localOutlierFactor', label: 'Local Outlier Factor', score: 2.1, threshold: 1.3, vote: 1, margin: 2, normalizedScore: 4, weight: 0.2, contribution: 0.8 },
    { detector: 'autoencoder', label: 'Autoencoder', score: 0.9, threshold: 0.2, vote: 1, margin: 4.5, normalizedScore: 4.5, weight: 0.2, contribution: 0.9 },
  ],
  features: [
    { feature: 'error_rate', index: 9, value: 15.2, reference: 0.5, z: 49.1, percentile: 100, unusual: true, reconstructionError: 0.05, reconstructionShare: 0.55 },
    { feature: 'dst_port', index: 7, value: 31000, reference: 80, z: 12.3, percentile: 99.9, unusual: true, reconstructionError: 0.03, reconstructionShare: 0.33 },
    { feature: 'packet_size', index: 0, value: 530, reference: 512, z: 0.2, percentile: 57, unusual: false, reconstructionError: 0.011, reconstructionShare: 0.12 },
  ],
  unusualZ: 3,
  zScale: 'robust',
  topFeature: 'error_rate',
  topReconstructionFeature: 'error_rate',
  summary: 'Row 17: anomaly.',
};

const stat = (feature: string, mean: number) => ({ feature, mean, std: mean / 10, values: [mean * 0.9, mean * 1.1] });
const imp: PermutationImportance = {
  features: ['a', 'b', 'c'],
  nRows: 1000,
  nRepeats: 2,
  seed: 0,
  seconds: 1,
  models: {
    ensemble: { scoreDrop: [stat('a', 0.1), stat('b', 2), stat('c', 1)], scoreChange: [stat('a', 0.2), stat('b', 1), stat('c', 0.5)], flagged: 50 },
    isolationForest: { scoreDrop: [stat('a', 0.3), stat('b', 1.5), stat('c', 0.7)], scoreChange: [stat('a', 0.2), stat('b', 1), stat('c', 0.5)], flagged: 40 },
  },
};

const round = (k: number, fp: number, recall: number): FeedbackRound => ({
  round: k,
  newLabels: { tp: 40, fp: 10 },
  labels: { tp: 40 * k, fp: 10 * k, fn: 0 },
  trainRows: 7500,
  removedFromTraining: 40 * k,
  addedToTraining: 100 * k,
  contamination: 0.15,
  weights: { isolationForest: 1 },
  learnedWeights: k > 0,
  falsePositivesStillFlagged: 0,
  heldOut: { rows: 2500, tp: 350, fp, fn: 17, tn: 2100, precision: 0.9, recall, f1: 0.9, rocAuc: 0.99 },
  review: { rows: 2500, tp: 350, fp, fn: 17, tn: 2100, precision: 0.9, recall, f1: 0.9, rocAuc: 0.99 },
  fitSeconds: 1,
});

describe('explanation charts', () => {
  it('explanationChart: detector margins, feature z-scores and reconstruction shares in three panels', () => {
    const fig = explanationChart(explanation);
    expect(fig.data.map((t) => t.name)).toEqual(['Detector votes anomaly', 'Detector votes normal', 'Feature z-score vs training', "Share of the autoencoder's error"]);
    expect(fig.data[2].y).toEqual(['error_rate', 'dst_port', 'packet_size']);
    expect(fig.data[3].x).toEqual([55, 33, 12]);
    expect(fig.layout.title.text).toContain('Row 17: anomaly');
    expect(JSON.parse(JSON.stringify(fig))).toEqual(fig);
    expect(fig).toMatchSnapshot();
    expect(explanationChart(explanation, { top: 1 }).data[2].y).toEqual(['error_rate']);
  });

  it('importanceByModelChart: grouped bars per model, ordered by the ensemble', () => {
    const fig = importanceByModelChart(imp);
    expect(fig.data.map((t) => t.name)).toEqual(['Ensemble', 'Isolation Forest']);
    expect(fig.data[0].y).toEqual(['b', 'c', 'a']);
    expect(() => importanceByModelChart(imp, { measure: 'aucDrop' })).toThrow(/needs labels/);
    expect(fig).toMatchSnapshot();
  });

  it('feedbackRoundsChart: false positives and recall per round', () => {
    const fig = feedbackRoundsChart([round(0, 22, 0.94), round(1, 7, 0.98), round(2, 3, 0.978), round(3, 3, 0.97)]);
    expect(fig.data[0].x).toEqual(['before feedback', 'round 1', 'round 2', 'round 3']);
    expect(fig.data[0].y).toEqual([22, 7, 3, 3]);
    expect(fig.data[1].y).toEqual([94, 98, 97.8, 97]);
    expect(fig).toMatchSnapshot();
  });
});
