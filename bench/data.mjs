/**
 * The benchmark data: the reference's files when ../shared/datasets/seed-sample is there (1,000,
 * 10,000 and 100,000 rows, seeds 42, 43, 44), else the same rows made by our generator (it makes
 * the seed's draws in the same order, so the files and the generated rows are the same data).
 * Scoring always uses the 100,000-row file, as the reference does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..');
export const DEFAULT_DATA_DIR = path.resolve(ROOT, '../shared/datasets/seed-sample');

const FILES = {
  1000: ['sample_network_traffic.csv', 42],
  10000: ['seed_network_traffic_10k.csv', 43],
  100000: ['seed_network_traffic_100k.csv.gz', 44],
};
export const SCORE_ROWS = 100000;

/** Training rows of size n (one of the reference's sizes, or any n: generated with seed 45). */
export function loadRows(lib, n, dataDir = DEFAULT_DATA_DIR) {
  const spec = FILES[n];
  if (spec) {
    const file = path.join(dataDir, spec[0]);
    if (fs.existsSync(file)) return lib.loadTraffic(file);
    const local = path.join(ROOT, 'data', spec[0]);
    if (fs.existsSync(local)) return lib.loadTraffic(local);
    return lib.generateTraffic({ rows: n, anomalyRatio: 0.15, seed: spec[1] });
  }
  return lib.generateTraffic({ rows: n, anomalyRatio: 0.15, seed: 45 });
}

/** Where the data comes from, for the report. */
export function dataSource(dataDir = DEFAULT_DATA_DIR) {
  return fs.existsSync(path.join(dataDir, FILES[100000][0])) ? dataDir : 'generated (nal generate, seeds 42/43/44)';
}

/**
 * Training rows and scored rows. `scoreRows` below 100,000 takes evenly spaced rows of the 100k
 * file (it is in time order with all anomalies first, so a prefix would be all anomalies).
 */
export function loadBenchData(lib, nTrain, { dataDir, scoreRows } = {}) {
  const train = loadRows(lib, nTrain, dataDir ?? DEFAULT_DATA_DIR);
  let score = nTrain === SCORE_ROWS ? train : loadRows(lib, SCORE_ROWS, dataDir ?? DEFAULT_DATA_DIR);
  if (scoreRows && scoreRows < score.X.rows) {
    const idx = Array.from({ length: scoreRows }, (_, i) => Math.floor((i * score.X.rows) / scoreRows));
    score = lib.subsetRows(score, idx);
  }
  return { train, score };
}
