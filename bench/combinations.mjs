#!/usr/bin/env node
/**
 * Other ways to combine the same fitted detectors, evaluated offline from the scores that
 * `node bench/quality.mjs --dump-scores DIR` saved (every detector's training and test scores and
 * training-score statistics per dataset and seed): no refitting, seconds per candidate.
 *
 *   node bench/combinations.mjs DIR [--datasets a,b,c] [--json FILE]
 *
 * Per candidate (normalisation x fusion x member set): the mean ROC-AUC over the datasets (each the
 * mean over its seeds), the best member's mean, the largest shortfall to the dataset's best member
 * and how many datasets fall short by more than 0.05, and the F1 of the threshold the candidate's
 * training scores give (contamination "auto"; 0.1 for NSL-KDD). Labels are used only to score.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nal = require(path.join(root, 'dist/index.js'));

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { datasets: { type: 'string' }, json: { type: 'string' }, md: { type: 'string' }, candidates: { type: 'string' } },
});
const dir = positionals[0];
if (!dir) {
  console.error('usage: node bench/combinations.mjs DIR [--datasets a,b] [--json FILE]');
  process.exit(2);
}

const f64 = (b) => {
  const buf = Buffer.from(b, 'base64');
  return new Float64Array(buf.buffer, buf.byteOffset, buf.length / 8);
};
const runs = [];
for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
  const j = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const m = /^(.*)-(\d+)$/.exec(j.name);
  const dataset = m[1];
  if (args.datasets && !args.datasets.split(',').includes(dataset)) continue;
  const det = {};
  for (const [d, v] of Object.entries(j.detectors)) det[d] = { train: f64(v.train), test: f64(v.test), stats: v.stats };
  runs.push({ dataset, seed: Number(m[2]), labels: Uint8Array.from(Buffer.from(j.labels, 'base64')), det });
}

// ---- normalisations: fitted on a detector's training scores, applied to any scores ----------
function ecdfOf(train) {
  const s = Float64Array.from(train).sort();
  const n = s.length;
  const lower = (x) => {
    let lo = 0, hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (s[mid] < x) lo = mid + 1; else hi = mid; }
    return lo;
  };
  const upper = (x) => {
    let lo = 0, hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (s[mid] <= x) lo = mid + 1; else hi = mid; }
    return lo;
  };
  return { s, n, cdf: (x) => (lower(x) + upper(x)) / (2 * n) };
}
const NORMS = {
  'robust-log': (d) => (x) => nal.normalizeScores(x, d.stats, 'robust-log'),
  zscore: (d) => (x) => nal.normalizeScores(x, d.stats, 'zscore'),
  quantile: (d) => {
    const e = ecdfOf(d.train);
    return (x) => Float64Array.from(x, (v) => e.cdf(v));
  },
  // the training quantile, and above the training maximum 1 + ln(1 + excess / (max - median))
  'quantile-tail': (d) => {
    const e = ecdfOf(d.train);
    const max = e.s[e.n - 1];
    const med = nal.quantileSorted(e.s, 0.5);
    const scale = Math.max(max - med, 1e-12);
    return (x) => Float64Array.from(x, (v) => (v > max ? 1 + Math.log1p((v - max) / scale) : e.cdf(v)));
  },
};

// ---- fusions of k normalised columns -------------------------------------------------------
const rowwise = (fn) => (cols) => {
  const n = cols[0].length, k = cols.length;
  const out = new Float64Array(n);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) row[j] = cols[j][i];
    row.sort();
    out[i] = fn(row);
  }
  return out;
};
const topMean = (t) => rowwise((r) => { const k = r.length, m = Math.min(t, k); let s = 0; for (let j = k - m; j < k; j++) s += r[j]; return s / m; });
const topHalf = rowwise((r) => { const k = r.length, m = Math.ceil(k / 2); let s = 0; for (let j = k - m; j < k; j++) s += r[j]; return s / m; });
const FUSIONS = {
  mean: { fuse: (cols) => nal.fuseScores(cols) },
  median: { fuse: rowwise((r) => { const k = r.length; return k % 2 ? r[(k - 1) / 2] : (r[k / 2 - 1] + r[k / 2]) / 2; }) },
  max: { fuse: rowwise((r) => r[r.length - 1]) },
  meanmax: { fuse: rowwise((r) => { const k = r.length; let s = 0; for (let j = 0; j < k; j++) s += r[j]; return (s / k + r[k - 1]) / 2; }) },
  'mean+top2': { fuse: rowwise((r) => { const k = r.length; let s = 0; for (let j = 0; j < k; j++) s += r[j]; return (s / k + (r[k - 1] + r[k - 2]) / 2) / 2; }) },
  top2: { fuse: topMean(2) },
  topthird: { fuse: rowwise((r) => { const k = r.length, m = Math.ceil(k / 3); let s = 0; for (let j = k - m; j < k; j++) s += r[j]; return s / m; }) },
  top3: { fuse: topMean(3) },
  tophalf: { fuse: topHalf },
  trimmed: { fuse: rowwise((r) => { const k = r.length; if (k <= 2) return r.reduce((a, b) => a + b, 0) / k; let s = 0; for (let j = 1; j < k - 1; j++) s += r[j]; return s / (k - 2); }) },
  'agree-0.5': { weights: (tr) => nal.agreementWeights(tr, nal.AGREEMENT_POWER, 0.5) },
  'agree-0': { weights: (tr) => nal.agreementWeights(tr, nal.AGREEMENT_POWER, 0) },
  // weights from each column's Pearson correlation with the mean column (a pseudo ground truth), with a floor
  'pseudo-0.5': { weights: (_tr, ntr) => pseudoWeights(ntr, 0.5) },
};
function pseudoWeights(cols, floor) {
  const n = cols[0].length, k = cols.length;
  const m = nal.fuseScores(cols);
  const corr = cols.map((c) => Math.max(0, pearson(c, m)));
  const s = corr.reduce((a, b) => a + b, 0);
  return corr.map((c) => (1 - floor) * (s > 0 ? c / s : 1 / k) + floor / k);
}
function pearson(a, b) {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]; mb += b[i]; }
  ma /= n; mb /= n;
  let s = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) { const x = a[i] - ma, y = b[i] - mb; s += x * y; va += x * x; vb += y * y; }
  return va > 0 && vb > 0 ? s / Math.sqrt(va * vb) : 0;
}

const SIX = ['isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder', 'copod', 'hbos'];
const SEED4 = ['isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder'];
const SETS = {
  six: SIX,
  'six+knn': [...SIX, 'knn'],
  'seed4+knn': [...SEED4, 'knn'],
  'seed4+knn+copod': [...SEED4, 'knn', 'copod'],
  'seed4+knn+hbos': [...SEED4, 'knn', 'hbos'],
  seed4: SEED4,
  // the four detectors with the highest mean ROC-AUC on the tuning half, alone and with LOF
  top4: ['isolationForest', 'knn', 'hbos', 'pca'],
  'top4+lof': ['isolationForest', 'knn', 'hbos', 'pca', 'localOutlierFactor'],
  'top4+seed4': ['isolationForest', 'knn', 'hbos', 'pca', 'oneClassSvm', 'localOutlierFactor', 'autoencoder'],
};

// normalised columns and member ROC-AUCs are shared by the candidates: computed once per run
function normalised(run, norm, d) {
  run.cache ??= {};
  const key = `${norm}/${d}`;
  if (!run.cache[key]) {
    const f = NORMS[norm](run.det[d]);
    run.cache[key] = { train: f(run.det[d].train), test: f(run.det[d].test) };
  }
  return run.cache[key];
}
function memberAucOf(run, d) {
  run.auc ??= {};
  return (run.auc[d] ??= nal.rocAuc(run.labels, run.det[d].test));
}

function evalRun(run, members, norm, fusion) {
  const dets = members.filter((d) => run.det[d]);
  const ntr = dets.map((d) => normalised(run, norm, d).train);
  const nte = dets.map((d) => normalised(run, norm, d).test);
  const F = FUSIONS[fusion];
  let ftr, fte;
  if (F.weights) {
    run.weights ??= {};
    const wkey = `${fusion}/${norm}/${dets.join()}`;
    const w = (run.weights[wkey] ??= F.weights(dets.map((d) => run.det[d].train), ntr));
    ftr = nal.fuseScores(ntr, w);
    fte = nal.fuseScores(nte, w);
  } else {
    ftr = F.fuse(ntr);
    fte = F.fuse(nte);
  }
  const thr = nal.calibrateThreshold(ftr, run.dataset === 'nsl-kdd' ? 0.1 : 'auto');
  const flags = Uint8Array.from(fte, (x) => (x > thr ? 1 : 0));
  const m = nal.detectionMetrics(run.labels, flags, fte);
  const memberAuc = Object.fromEntries(dets.map((d) => [d, memberAucOf(run, d)]));
  return { rocAuc: m.rocAuc, f1: m.f1, memberAuc };
}

const datasets = [...new Set(runs.map((r) => r.dataset))];
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const results = [];
const wanted = args.candidates ? new Set(args.candidates.split(',')) : undefined;
for (const [setName, members] of Object.entries(SETS)) {
  for (const norm of Object.keys(NORMS)) {
    for (const fusion of Object.keys(FUSIONS)) {
      const key = `${setName}/${norm}/${fusion}`;
      if (wanted && !wanted.has(key)) continue;
      const per = {};
      for (const ds of datasets) {
        const rs = runs.filter((r) => r.dataset === ds).map((r) => evalRun(r, members, norm, fusion));
        const memberMeans = {};
        for (const d of Object.keys(rs[0].memberAuc)) memberMeans[d] = mean(rs.map((r) => r.memberAuc[d]));
        const best = Object.entries(memberMeans).sort((a, b) => b[1] - a[1])[0];
        per[ds] = { rocAuc: mean(rs.map((r) => r.rocAuc)), f1: mean(rs.map((r) => r.f1)), best: best[0], bestAuc: best[1], memberMeans };
      }
      const ad = datasets.filter((d) => !['http', 'smtp', 'nsl-kdd'].includes(d));
      const shortfalls = ad.map((d) => [d, per[d].bestAuc - per[d].rocAuc]).sort((a, b) => b[1] - a[1]);
      const memberNames = Object.keys(per[ad[0]]?.memberMeans ?? {});
      const memberOverall = memberNames.map((m) => [m, mean(ad.map((d) => per[d].memberMeans[m] ?? NaN))]).sort((a, b) => b[1] - a[1]);
      results.push({
        key,
        meanAuc: mean(ad.map((d) => per[d].rocAuc)),
        meanF1: mean(ad.map((d) => per[d].f1)),
        bestMember: memberOverall[0],
        worst: shortfalls[0],
        over005: shortfalls.filter((s) => s[1] > 0.05).length,
        http: per.http?.rocAuc,
        smtp: per.smtp?.rocAuc,
        nsl: per['nsl-kdd'] ? [per['nsl-kdd'].rocAuc, per['nsl-kdd'].f1] : undefined,
        per,
      });
    }
  }
}
results.sort((a, b) => b.meanAuc - a.meanAuc);
const fx = (x, p = 4) => (x === undefined ? '-' : x.toFixed(p));
console.log(`${runs.length} runs, ${datasets.length} datasets: ${datasets.join(', ')}`);
console.log('candidate | mean ROC-AUC | mean F1 | best member mean | worst shortfall | >0.05 | http | smtp | NSL AUC/F1');
for (const r of results) {
  console.log(`${r.key} | ${fx(r.meanAuc)} | ${fx(r.meanF1, 3)} | ${r.bestMember[0]} ${fx(r.bestMember[1])} | ${fx(r.worst[1], 3)} ${r.worst[0]} | ${r.over005} | ${fx(r.http)} | ${fx(r.smtp)} | ${r.nsl ? fx(r.nsl[0]) + '/' + fx(r.nsl[1], 3) : '-'}`);
}
if (args.json) fs.writeFileSync(args.json, JSON.stringify(results.map(({ per, ...r }) => ({ ...r, per: Object.fromEntries(Object.entries(per).map(([d, v]) => [d, { rocAuc: v.rocAuc, f1: v.f1, best: v.best, bestAuc: v.bestAuc }])) })), null, 1));
if (args.md) {
  const ad = datasets.filter((d) => !['http', 'smtp', 'nsl-kdd'].includes(d));
  const L = [
    '# Combinations of the same fitted detectors (issue 12)',
    '',
    `Written by \`node bench/combinations.mjs ${process.argv.slice(2).join(' ')}\` from the scores \`node bench/quality.mjs --dump-scores\` saved (${runs.length} runs; seeds 0-2, NSL-KDD model seed 42${(() => { const few = ad.filter((d) => runs.filter((r) => r.dataset === d).length < 3); return few.length ? `; ${few.map((d) => `${d}: seed${runs.filter((r) => r.dataset === d).length > 1 ? 's' : ''} ${runs.filter((r) => r.dataset === d).map((r) => r.seed).join(', ')} only`).join('; ')}` : ''; })()}). Datasets: ${ad.join(', ')} (the tuning half of adbench-classical${ad.length < 15 ? ', not all of it' : ''}), and http, smtp, NSL-KDD as the no-regression checks. The held-out half was not evaluated here. Every candidate combines the same fitted detectors, so only the combination differs; ROC-AUC is the mean over a dataset's seeds, then over the datasets. "Best member" is the best single detector of the candidate's member set.`,
    '',
    'Member sets: top4 = Isolation Forest, kNN distance (k = 20, 50, 100, 200), HBOS, PCA (the default: the four detectors with the highest mean ROC-AUC alone on the tuning half); top4+lof = those and LOF; top4+seed4 = those and the seed\'s four; six = Isolation Forest, One-Class SVM, LOF, autoencoder, COPOD, HBOS (the default before); seed4 = the seed\'s four; knn = kNN distance. Normalisations (training-score statistics): robust-log (the default), zscore ((s - mean) / std), quantile (the training-score ECDF). Fusions: mean (equal weights: the default), agree-0.5 (agreement weights with the floor 0.5: the default before), agree-0 (agreement alone, before issue 12), topthird (per row the mean of the ceil(k/3) highest), top3, max, mean+top2 (mean of the mean and the top-2 mean), trimmed (the lowest and highest left out), median, pseudo-0.5 (weights from the correlation with the mean column, floor 0.5).',
    '',
    `| candidate (member set / normalisation / fusion) | mean ROC-AUC (${results[0] ? datasets.filter((d) => !['http', 'smtp', 'nsl-kdd'].includes(d)).length : 0} datasets) | mean F1 | best member's mean | largest shortfall to a dataset's best member | datasets short by > 0.05 | http | smtp | NSL-KDD ROC-AUC / F1 |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    L.push(`| ${r.key} | ${fx(r.meanAuc)} | ${fx(r.meanF1, 3)} | ${fx(r.bestMember[1])} (${r.bestMember[0]}) | ${fx(r.worst[1], 3)} (${r.worst[0]}) | ${r.over005} | ${fx(r.http)} | ${fx(r.smtp)} | ${r.nsl ? fx(r.nsl[0]) + ' / ' + fx(r.nsl[1], 3) : '–'} |`);
  }
  fs.writeFileSync(args.md, L.join('\n') + '\n');
}
