#!/usr/bin/env node
/**
 * The autoencoder's training engines side by side in one process: fit time and ROC-AUC (on the
 * 100,000 scored rows) of `engine: 'fused'` and `engine: 'tfjs'` with the reference's settings
 * (30 epochs, batch 32, validation split 0.1, contamination 0.15, seed 42), alternating which goes
 * first, plus (with --torch) the reference's torch autoencoder with 1 thread, timed by
 * ../shared/reference/bench.py's own `measure()` (a fresh Python process per run).
 *
 * Usage: npm run build && node bench/autoencoder-engines.mjs [--train 10000] [--epochs 30]
 *          [--repeats 1] [--engines fused,tfjs] [--seeds 42] [--torch] [--python /usr/bin/python3]
 * Several --seeds (e.g. 42,0,1,2) show the seed-to-seed spread of the ROC-AUC, against which the
 * engines' difference is judged (their trajectories drift apart by float32 rounding over 8,000 steps).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadBenchData, ROOT } from './data.mjs';

const require = createRequire(import.meta.url);
const lib = require('../dist/index.js');

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '10000' },
    epochs: { type: 'string', default: '30' },
    repeats: { type: 'string', default: '1' },
    engines: { type: 'string', default: 'fused,tfjs' },
    seeds: { type: 'string', default: '42' },
    torch: { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
    'data-dir': { type: 'string' },
  },
});

const nTrain = Number(values.train);
const epochs = Number(values.epochs);
const engines = values.engines.split(',');
const seeds = values.seeds.split(',').map(Number);
const { train, score } = loadBenchData(lib, nTrain, { dataDir: values['data-dir'] });
const scaler = new lib.StandardScaler().fit(train.X);
const Xtr = scaler.transform(train.X);
const Xsc = scaler.transform(score.X);
await lib.loadTf();

const results = Object.fromEntries(engines.map((e) => [e, []]));
for (let r = 0; r < Number(values.repeats); r++) {
  const order = r % 2 ? engines.slice().reverse() : engines;
  for (const engine of order) for (const seed of seeds) {
    const ae = new lib.Autoencoder({ contamination: 0.15, seed, epochs, engine });
    const t0 = performance.now();
    await ae.fit(Xtr);
    const fit = (performance.now() - t0) / 1000;
    const auc = score.labels ? lib.rocAuc(score.labels, ae.anomalyScore(Xsc)) : undefined;
    const h = ae.history;
    results[engine].push({ seed, fit, rocAuc: auc, loss: h.loss.at(-1), valLoss: h.valLoss.at(-1) });
    console.log(`${engine.padEnd(6)} seed ${String(seed).padEnd(3)} fit ${fit.toFixed(3)} s  ROC-AUC ${auc?.toFixed(5)}  final loss ${h.loss.at(-1)?.toFixed(5)} val ${h.valLoss.at(-1)?.toFixed(5)}`);
    ae.dispose();
  }
  if (values.torch) {
    const refDir = path.resolve(ROOT, '../shared/reference');
    if (!fs.existsSync(path.join(refDir, 'bench.py'))) {
      console.log('torch: ../shared/reference/bench.py not found, skipped');
    } else {
      const out = execFileSync(values.python, [path.join(ROOT, 'bench/reference_cell.py'), '--reference-dir', refDir, '--model', 'autoencoder_1t', '--train', String(nTrain)], { encoding: 'utf8' });
      const res = JSON.parse(out.trim().split('\n').at(-1));
      (results.torch1t ??= []).push({ fit: res.fit });
      console.log(`torch1t fit ${res.fit.toFixed(3)} s (30 epochs, 1 thread)`);
    }
  }
}

const median = (a) => {
  const s = a.slice().sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v.map((x) => x.fit))]));
console.log(`\nmedian fit (${nTrain} rows, ${epochs} epochs, backend ${lib.tfBackendName()}):`, med);
if (med.fused && med.tfjs) console.log(`fused / tfjs: ${(med.fused / med.tfjs).toFixed(3)}x`);
if (med.fused && med.torch1t) console.log(`fused / torch (1 thread): ${(med.fused / med.torch1t).toFixed(3)}x`);
if (med.tfjs && med.torch1t) console.log(`tfjs / torch (1 thread): ${(med.tfjs / med.torch1t).toFixed(3)}x`);
for (const engine of engines) {
  const aucs = results[engine].map((x) => x.rocAuc).filter((x) => x !== undefined);
  if (!aucs.length) continue;
  const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
  const sd = Math.sqrt(aucs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, aucs.length - 1));
  console.log(`${engine} ROC-AUC over seeds ${seeds.join(',')}: mean ${mean.toFixed(5)} sd ${sd.toFixed(5)} (n = ${aucs.length})`);
}
