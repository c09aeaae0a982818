#!/usr/bin/env node
/**
 * LOF / kNN microbenchmark: one measurement per process, one JSON line on stdout.
 *
 *   node bench/knn-lof.mjs [--train 10000] [--score-rows 100000] [--k 20] [--dist DIR] [--method auto|brute|tree]
 *
 * Fits LocalOutlierFactor({ nNeighbors: k }) on the scaled training rows of the seed data
 * (bench/data.mjs: ../shared/datasets/seed-sample, else the generated rows) and scores the 100,000
 * scored rows, as bench/cell.mjs's localOutlierFactor cell does (data loading and scaling not timed).
 * `--dist` points at another build of the library (for a before/after comparison in one run:
 * compile the old sources with `tsc --outDir DIR`, run with NODE_PATH=node_modules).
 * `--method` forces the neighbour search (NAL_KNN_METHOD, read by knnSearch; no effect on builds
 * without it). `NAL_THREADS` sets the threads as everywhere. Never a unit test.
 *
 * Example (median of 3, ours before/after and scikit-learn, interleaved):
 *   for r in 1 2 3; do for k in 20 200; do
 *     node bench/knn-lof.mjs --k $k --dist /tmp/nal-before; node bench/knn-lof.mjs --k $k; done; done
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadBenchData, ROOT } from './data.mjs';

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '10000' },
    'score-rows': { type: 'string' },
    k: { type: 'string', default: '20' },
    dist: { type: 'string' },
    method: { type: 'string' },
    'data-dir': { type: 'string' },
  },
});

if (values.method) process.env.NAL_KNN_METHOD = values.method;
const require = createRequire(import.meta.url);
const distDir = path.resolve(values.dist ?? path.join(ROOT, 'dist'));
const lib = require(path.join(distDir, 'index.js'));

const nTrain = Number(values.train);
const k = Number(values.k);
const { train, score } = loadBenchData(lib, nTrain, {
  dataDir: values['data-dir'],
  scoreRows: values['score-rows'] ? Number(values['score-rows']) : undefined,
});
const scaler = new lib.StandardScaler().fit(train.X);
const Xtr = scaler.transform(train.X);
const Xsc = scaler.transform(score.X);

const t0 = performance.now();
const lof = await new lib.LocalOutlierFactor({ nNeighbors: k, contamination: 0.15, seed: 42 }).fit(Xtr);
const fit = (performance.now() - t0) / 1000;
const t1 = performance.now();
const scores = lof.anomalyScore(Xsc);
const scoreS = (performance.now() - t1) / 1000;
// a checksum of the scores, to see that builds and methods agree to the bit
let h = 0;
const bits = new Uint32Array(scores.buffer, scores.byteOffset, scores.length * 2);
for (let i = 0; i < bits.length; i++) h = (Math.imul(h, 31) + bits[i]) | 0;
process.stdout.write(
  JSON.stringify({
    dist: values.dist ? distDir : 'dist',
    method: values.method ?? 'default',
    train: nTrain,
    scored: Xsc.rows,
    k,
    fit: +fit.toFixed(3),
    score: +scoreS.toFixed(3),
    total: +(fit + scoreS).toFixed(3),
    checksum: h >>> 0,
    rocAuc: score.labels ? +lib.rocAuc(score.labels, scores).toFixed(5) : undefined,
  }) + '\n',
);
