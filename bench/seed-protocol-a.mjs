#!/usr/bin/env node
/**
 * Seed protocol a over seeds 0-4 (train and score the committed 1,000-row sample, contamination
 * 0.15), for the default and the seed preset: the check that a change of ensemble defaults keeps
 * the seed data's quality (ensemble F1 >= 0.95 on average). `npm run build` first.
 *
 *   node bench/seed-protocol-a.mjs
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nal = require(path.join(root, 'dist/index.js'));
const out = {};
for (const preset of ['default', 'seed']) {
  for (const seed of [0, 1, 2, 3, 4]) {
    const d = nal.loadTraffic(path.join(root, 'data/sample_network_traffic.csv'));
    const { report, ensemble } = await nal.evaluateWithModel(d, d, { contamination: 0.15, seed, preset });
    ensemble.dispose();
    for (const [k, m] of Object.entries(report.models)) (out[`${preset} ${k}`] ??= []).push(m);
  }
}
const stat = (ms, key) => {
  const v = ms.map((m) => m[key]);
  const mu = v.reduce((a, b) => a + b) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mu) ** 2, 0) / (v.length - 1));
  return `${mu.toFixed(4)} ± ${sd.toFixed(4)}`;
};
for (const [k, ms] of Object.entries(out)) {
  console.log(k.padEnd(30), 'f1', stat(ms, 'f1'), 'accuracy', stat(ms, 'accuracy'), 'roc-auc', stat(ms, 'rocAuc'));
}
