#!/usr/bin/env node
/**
 * One benchmark measurement in a fresh process (spawned by bench/run.mjs): load the training rows
 * and the 100,000 scored rows, scale them (not timed, as in ../shared/reference/bench.py), fit one
 * detector or the whole ensemble, score, and print one JSON line:
 *   {"fit": s, "score": s, "maxRssMb": MB, "rocAuc": ..., "flagged": ..., "backend": ...}
 *
 * Usage: node bench/cell.mjs --model M (--train N [--score-rows R] | --width-data DIR)
 *          [--contamination C] [--option key=value ...]
 *   M: isolationForest | oneClassSvm | localOutlierFactor | autoencoder | autoencoderEarlyStop |
 *      ensemble | ensembleEarlyStop
 *   Per-detector cells use the reference's settings (contamination 0.15, IF seed 42, LOF k = 20,
 *   AE 30 epochs, batch 32, validation split 0.1); the ensemble uses the library defaults. The
 *   *EarlyStop variants turn on the autoencoder's early stopping (validation loss, patience 3).
 *   --width-data DIR: a real-width dataset prepared by bench/width-data.mjs (its training rows and
 *   scored rows, float64), contamination 0.1 unless --contamination says otherwise.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { loadBenchData } from './data.mjs';
import { loadWidthData } from './width-data.mjs';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    train: { type: 'string' },
    'score-rows': { type: 'string' },
    'data-dir': { type: 'string' },
    'width-data': { type: 'string' },
    contamination: { type: 'string' },
    option: { type: 'string', multiple: true },
  },
});

/** `--option lof.nNeighbors=200` style overrides, parsed as JSON values when they parse. */
function overrides() {
  const o = {};
  for (const kv of values.option ?? []) {
    const i = kv.indexOf('=');
    const key = kv.slice(0, i);
    let v = kv.slice(i + 1);
    try {
      v = JSON.parse(v);
    } catch {
      /* a string */
    }
    const path = key.split('.');
    let t = o;
    for (const p of path.slice(0, -1)) t = t[p] ??= {};
    t[path[path.length - 1]] = v;
  }
  return o;
}

const SEED = 42;

/** The cell's rows: the seed traffic (TrafficData) or a prepared width dataset (matrices and feature names). */
function loadCellData(nTrain) {
  if (values['width-data']) {
    const w = loadWidthData(values['width-data']);
    return { train: { X: w.train, features: w.features }, score: { X: w.score, labels: w.labels }, width: true };
  }
  return loadBenchData(lib, nTrain, { dataDir: values['data-dir'], scoreRows: values['score-rows'] ? Number(values['score-rows']) : undefined });
}

async function main() {
  const variant = values.model;
  const earlyStop = variant.endsWith('EarlyStop');
  const model = earlyStop ? variant.slice(0, -'EarlyStop'.length) : variant;
  const nTrain = Number(values.train);
  const { train, score, width } = loadCellData(nTrain);
  const C = values.contamination ? Number(values.contamination) : width ? 0.1 : 0.15;
  const extra = overrides();
  // load the native parts before timing, as the reference imports scikit-learn and torch before its
  // clock starts: TF.js (and its wasm backend) and the library's WebAssembly kernels
  if (model === 'autoencoder' || model === 'ensemble') await lib.loadTf();
  lib.loadKernels();
  let fitS;
  let scoreS;
  let scores;
  let flags;
  const info = {};
  if (model === 'ensemble') {
    const t0 = performance.now();
    const opts = { contamination: C, seed: SEED, ...extra };
    if (earlyStop) opts.autoencoder = { earlyStoppingPatience: 3, ...opts.autoencoder };
    // a width dataset is a matrix with its feature names; the seed traffic is TrafficData
    const ens = width ? await new lib.AnomalyEnsemble(opts).fit(train.X, train.features) : await new lib.AnomalyEnsemble(opts).fit(train);
    fitS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const r = width ? ens.detect(score.X) : ens.detect(score);
    scoreS = (performance.now() - t1) / 1000;
    scores = r.ensembleScore;
    flags = r.isAnomaly;
    info.weights = ens.weights;
    if (ens.detector && r.detectors.includes('autoencoder')) info.epochsRun = ens.detector('autoencoder').history?.loss?.length;
    info.perDetectorRocAuc = Object.fromEntries(r.detectors.map((d) => [d, round(lib.rocAuc(score.labels, r.scores[d]), 5)]));
    ens.dispose();
  } else {
    const scaler = new lib.StandardScaler().fit(train.X);
    const Xtr = scaler.transform(train.X);
    const Xsc = scaler.transform(score.X);
    const common = { contamination: C, seed: SEED };
    const make = {
      isolationForest: () => new lib.IsolationForest({ ...common, ...extra }),
      oneClassSvm: () => new lib.OneClassSvm({ ...common, ...extra }),
      localOutlierFactor: () => new lib.LocalOutlierFactor({ nNeighbors: 20, ...common, ...extra }),
      autoencoder: () => new lib.Autoencoder({ ...common, ...(earlyStop ? { earlyStoppingPatience: 3 } : {}), ...extra }),
    }[model];
    if (!make) throw new Error(`unknown model '${model}'`);
    const det = make();
    const t0 = performance.now();
    await det.fit(Xtr);
    fitS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    scores = det.anomalyScore(Xsc);
    flags = det.flag(scores);
    scoreS = (performance.now() - t1) / 1000;
    if (model === 'oneClassSvm') info.nSupportVectors = det.nSupportVectors;
    if (model === 'autoencoder') {
      info.epochsRun = det.history?.loss?.length;
      // the default engine ('auto': 'fused' unless the native tfjs-node backend is active)
      const e = det.options.engine;
      info.engine = require('../dist/detectors/autoencoder.js').resolveEngine(e, lib.tfBackendName());
    }
    det.dispose();
  }
  let flagged = 0;
  for (let i = 0; i < flags.length; i++) flagged += flags[i];
  const out = {
    fit: fitS,
    score: scoreS,
    maxRssMb: round(peakRssKb() / 1024, 1),
    rocAuc: score.labels ? round(lib.rocAuc(score.labels, scores), 5) : undefined,
    flagged,
    backend: lib.tfBackendName(),
    ...info,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

/**
 * This process's peak resident size in KiB: VmHWM of /proc/self/status on Linux. getrusage's
 * maxRSS (`process.resourceUsage()`) is not used there: Linux carries the high-water mark of the
 * pre-exec copy of the parent (the bench runner, which may hold hundreds of MB) into the child,
 * so a small cell would report the runner's size.
 */
function peakRssKb() {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'));
    if (m) return Number(m[1]);
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS;
}

function round(x, d) {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

main().catch((e) => {
  process.stderr.write(`${e?.stack ?? e}\n`);
  process.exit(1);
});
