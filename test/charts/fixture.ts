/**
 * A small deterministic detection result built by hand (no detector is fitted): 40 rows, every
 * fifth one a labelled anomaly, four detectors with hand-made scores and a threshold of 1.2 each.
 */
import type { DetectorName } from '../../src/core/detector';
import type { TrafficData } from '../../src/data/csv';
import { confidence, countVotes, majorityVote, scoreStats, severity, type ScoreStats } from '../../src/ensemble/combine';
import type { DetectionResult } from '../../src/ensemble/ensemble';

/** A tiny linear congruential generator: the same numbers on every machine. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

export const DETECTORS: DetectorName[] = ['isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder'];
export const THRESHOLD = 1.2;

/** Labels, a result and per-detector stats over `n` rows. */
export function makeResult(n = 40, seed = 7): { labels: Uint8Array; result: DetectionResult; stats: Record<DetectorName, ScoreStats> } {
  const rnd = lcg(seed);
  const labels = Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 1 : 0));
  // how strongly each detector reacts to a labelled anomaly (the autoencoder misses some)
  const gain: Record<DetectorName, number> = { isolationForest: 1.6, oneClassSvm: 1.2, localOutlierFactor: 1.4, autoencoder: 0.9 };
  const scores = {} as Record<DetectorName, Float64Array>;
  const votes = {} as Record<DetectorName, Uint8Array>;
  const stats = {} as Record<DetectorName, ScoreStats>;
  for (const d of DETECTORS) {
    scores[d] = Float64Array.from(labels, (y) => r3(rnd() * 1.4 + y * gain[d] * (0.5 + rnd())));
    votes[d] = Uint8Array.from(scores[d], (s) => (s > THRESHOLD ? 1 : 0));
    stats[d] = scoreStats(scores[d], THRESHOLD);
  }
  const voteCount = countVotes(DETECTORS.map((d) => votes[d]));
  const isAnomaly = majorityVote(voteCount, 2);
  const ensembleScore = Float64Array.from({ length: n }, (_, i) => r3(DETECTORS.reduce((a, d) => a + scores[d][i], 0) / DETECTORS.length - THRESHOLD));
  const result: DetectionResult = {
    detectors: [...DETECTORS],
    scores,
    votes,
    voteCount,
    isAnomaly,
    confidence: confidence(voteCount, isAnomaly, DETECTORS.length),
    severity: severity(voteCount, isAnomaly, DETECTORS.length),
    ensembleScore,
    ensembleThreshold: 0.15,
  };
  return { labels, result, stats };
}

/** Traffic rows matching {@link makeResult}: three seed features, a timestamp every 3 minutes. */
export function makeTraffic(labels: Uint8Array, seed = 11): TrafficData {
  const rnd = lcg(seed);
  const n = labels.length;
  const features = ['packet_size', 'duration', 'protocol_type'];
  const data = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = Math.round(480 + rnd() * 80 + labels[i] * (300 + rnd() * 400));
    data[i * 3 + 1] = r3(0.2 + rnd() * 3 + labels[i] * 5);
    data[i * 3 + 2] = labels[i] ? 2 : Math.floor(rnd() * 2);
  }
  const t0 = Date.UTC(2025, 0, 1, 0, 0, 0);
  const timestamps = Array.from({ length: n }, (_, i) => new Date(t0 + i * 180_000).toISOString().slice(0, 19).replace('T', ' '));
  return {
    features,
    X: { rows: n, cols: 3, data },
    labels,
    timestamps,
    header: ['timestamp', ...features, 'label'],
    records: [],
    warnings: [],
  };
}
