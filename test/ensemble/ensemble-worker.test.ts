/**
 * The ensemble trains the autoencoder's fused engine in a worker thread, concurrently with the
 * other detectors, only when running from the compiled `dist/` (the worker script is JavaScript
 * next to the compiled module). These tests run small scripts with `node` against `dist/` and
 * compare a concurrent fit (NAL_THREADS=2) with a sequential one (NAL_THREADS=1): the weights,
 * training scores, history and progress events must be bit-identical. Without `dist/` they skip
 * with a printed reason, except in CI (CI set), where `npm run build` must have run first.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const distMissing = !fs.existsSync(path.join(DIST, 'index.js'));
const skipReason = distMissing && !process.env.CI ? 'dist/ is absent (run `npm run build` to test the worker-thread fit)' : null;
if (skipReason) console.log(`ensemble-worker tests skipped: ${skipReason}`);

/**
 * Time limits sized for a loaded 2-core machine (other processes busy on both cores: a script that
 * takes 10 s alone can take ten times longer); none of the verdicts depends on a time.
 */
const SCRIPT_TIMEOUT_MS = 480_000;
const TEST_TIMEOUT_MS = 2 * SCRIPT_TIMEOUT_MS + 60_000;

/**
 * Run `source` with node (cwd: the repository) and parse its last stdout line as JSON. The child is
 * awaited asynchronously: a synchronous spawn would block this test worker's event loop for as long
 * as the script runs (minutes on a loaded machine), and vitest's calls to the worker time out.
 */
function runNode(source: string, env: Record<string, string>): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', source], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), SCRIPT_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        const why = signal === 'SIGKILL' ? `killed after ${SCRIPT_TIMEOUT_MS / 1000} s` : `exited with ${code} (${signal ?? ''})`;
        reject(new Error(`node ${why}:\n${stderr}\n${stdout}`));
        return;
      }
      const lines = stdout.trim().split('\n');
      try {
        resolve(JSON.parse(lines[lines.length - 1]));
      } catch (e) {
        reject(new Error(`the script's last line is not JSON (${(e as Error).message}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/**
 * The detectors of the ensembles below: the default's (Isolation Forest, kNN, HBOS, PCA, without an
 * autoencoder) and the seed's four, so the autoencoder trains in its worker while Isolation Forest,
 * the One-Class SVM and LOF fit, and kNN, HBOS and PCA fit after it.
 */
const DETECTORS = "[...new Set([...lib.DEFAULT_DETECTORS, ...lib.SEED_DETECTORS])]";

/** Fit two small ensembles (plain, and with early stopping) and print hashes of everything fitted. */
const FIT_SCRIPT = `
const lib = require('./dist/index.js');
const fused = require('./dist/detectors/autoencoder-fused.js');
const crypto = require('node:crypto');
const hash = (a) => crypto.createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
(async () => {
  const data = lib.generateTraffic({ rows: 1200, anomalyRatio: 0.1, seed: 3 });
  const out = [];
  let fitEnd = 0;
  const parallel = require('./dist/compute/parallel.js');
  const threadsSeen = new Set();
  for (const autoencoder of [{ epochs: 5 }, { epochs: 12, earlyStoppingPatience: 1, learningRate: 0.01 }]) {
    const events = [];
    const epochs = [];
    const ens = await new lib.AnomalyEnsemble({
      seed: 11,
      detectors: ${DETECTORS},
      autoencoder: { ...autoencoder, onEpochEnd: (i) => epochs.push(i.epoch) },
      onProgress: (p) => {
        if (p.stage === 'detector-start') threadsSeen.add(p.detector + ' ' + parallel.threadCount());
        events.push(p.stage === 'epoch' ? 'epoch ' + p.epoch + ' ' + p.loss + ' ' + p.valLoss : p.stage + ' ' + p.detector + ' ' + p.index);
      },
    }).fit(data);
    fitEnd = Date.now();
    const ae = ens.detector('autoencoder');
    out.push({
      weights: ae.model.getWeights().map((t) => hash(t.dataSync())),
      aeScores: hash(ae.trainingScores),
      aeThreshold: ae.threshold,
      history: ae.history,
      scores: Object.fromEntries(ens.options.detectors.map((n) => [n, hash(ens.detector(n).trainingScores)])),
      ensembleScore: hash(ens.trainingResult.ensembleScore),
      ensembleThreshold: ens.ensembleThreshold,
      events,
      epochs,
    });
  }
  const threadsAfter = parallel.threadCount();
  process.on('exit', () => console.log(JSON.stringify({ workerRuns: fused.fusedWorkerStats.runs, exitMs: Date.now() - fitEnd, threadsSeen: [...threadsSeen], threadsAfter, out })));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe.skipIf(skipReason !== null)('AnomalyEnsemble.fit with the autoencoder in a worker thread (dist/)', () => {
  it('gives bit-identical results to the sequential fit, fires every epoch in order, and lets node exit', async () => {
    if (!fs.existsSync(path.join(DIST, 'detectors', 'autoencoder-worker.js'))) {
      throw new Error('dist/ has no detectors/autoencoder-worker.js: it is stale, run `npm run build`.');
    }
    const concurrent = await runNode(FIT_SCRIPT, { NAL_THREADS: '2' });
    const sequential = await runNode(FIT_SCRIPT, { NAL_THREADS: '1' });
    expect(concurrent.workerRuns).toBe(2);
    expect(sequential.workerRuns).toBe(0);
    // while the autoencoder trains (beside the others), kernels leave its core free; released after
    // (kNN, HBOS and PCA come after the autoencoder in the ensemble's order, with both threads again)
    expect(concurrent.threadsSeen).toEqual(['isolationForest 1', 'oneClassSvm 1', 'localOutlierFactor 1', 'autoencoder 1', 'knn 2', 'hbos 2', 'pca 2']);
    expect(concurrent.threadsAfter).toBe(2);
    expect(concurrent.out).toEqual(sequential.out);
    const [plain, early] = concurrent.out;
    expect(Object.keys(plain.scores)).toEqual(['isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder', 'knn', 'hbos', 'pca']);
    expect(plain.epochs).toEqual([1, 2, 3, 4, 5]);
    expect(plain.history.loss).toHaveLength(5);
    // the events keep the sequential order: three detectors, then the autoencoder's start, epochs, end
    expect(plain.events[6]).toBe('detector-start autoencoder 3');
    expect(plain.events.slice(7, 12).every((e: string) => e.startsWith('epoch '))).toBe(true);
    expect(plain.events[12]).toBe('detector-end autoencoder 3');
    // early stopping stopped before the last epoch (and restored the best weights, compared above)
    expect(early.history.loss.length).toBe(early.epochs.length);
    expect(early.epochs.length).toBeLessThan(12);
    // no handle left behind: the process exited on its own after the fit (a worker or timer keeping
    // it alive would have run into the script's time limit and failed runNode); how soon is not
    // checked, as it depends on the machine's load
    expect(concurrent.exitMs).toBeGreaterThanOrEqual(0);
  }, TEST_TIMEOUT_MS);

  it('trains a standalone autoencoder on two threads (a helper sharing every step) to the same bits as on one', async () => {
    const script = `
const lib = require('./dist/index.js');
const fused = require('./dist/detectors/autoencoder-fused.js');
const crypto = require('node:crypto');
const hash = (a) => crypto.createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
(async () => {
  const data = lib.generateTraffic({ rows: 3000, anomalyRatio: 0.1, seed: 4 });
  const X = new lib.StandardScaler().fit(data.X).transform(data.X);
  const out = [];
  // 2,700 training rows x 40 epochs: above the threshold for two threads; the second with an odd batch size
  for (const opts of [{ epochs: 40 }, { epochs: 40, batchSize: 33, dropout: 0 }]) {
    const epochs = [];
    const ae = await new lib.Autoencoder({ seed: 5, ...opts, onEpochEnd: (i) => epochs.push(i.epoch) }).fit(X);
    out.push({ weights: ae.model.getWeights().map((t) => hash(t.dataSync())), scores: hash(ae.trainingScores), history: ae.history, epochs });
    ae.dispose();
  }
  console.log(JSON.stringify({ stats: fused.fusedWorkerStats, out }));
})().catch((e) => { console.error(e); process.exit(1); });
`;
    // NAL_AE_HELPER=always: every step shared, whatever the machine's load (by default the steps
    // are shared only while that measures faster; the weights are the same either way)
    const two = await runNode(script, { NAL_THREADS: '2', NAL_AE_HELPER: 'always' });
    const one = await runNode(script, { NAL_THREADS: '1' });
    expect(two.stats.runs).toBe(2);
    expect(two.stats.helpers).toBe(2);
    expect(two.stats.splitSteps).toBeGreaterThan(2 * 40 * 40); // most of the 2 x 40 x 82-85 steps were shared
    expect(one.stats).toEqual({ runs: 0, helpers: 0, splitSteps: 0 });
    expect(two.out).toEqual(one.out);
    expect(two.out[0].epochs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  }, TEST_TIMEOUT_MS);

  it('rejects with the same error as the in-thread loop (worker error, and a throwing onEpochEnd)', async () => {
    const script = `
const lib = require('./dist/index.js');
const fused = require('./dist/detectors/autoencoder-fused.js');
const { Random } = require('./dist/core/random.js');
(async () => {
  const r = new Random(1);
  const input = {
    sizes: [4, 3, 4], params: new Float64Array(5), xf: new Float32Array(40), order: Int32Array.from({ length: 10 }, (_, i) => i),
    valX: new Float32Array(0), nVal: 0, shuffleState: r.getState(), dropoutState: r.getState(),
    epochs: 2, batchSize: 4, learningRate: 1e-3, dropout: 0, dropoutUnits: [], patience: 0,
  };
  const msg = async (p) => { try { await p; return 'no error'; } catch (e) { return e.constructor.name + ': ' + e.message; } };
  const inThread = await msg(fused.trainFusedLoop(input, () => {}));
  const run = fused.startFusedWorker(input, () => {});
  const inWorker = run ? await msg(run.result) : 'no worker';
  const data = lib.generateTraffic({ rows: 600, anomalyRatio: 0.1, seed: 3 });
  const boom = (i) => { if (i.epoch === 2) throw new RangeError('stop at epoch 2'); };
  const ensemble = await msg(new lib.AnomalyEnsemble({ seed: 1, detectors: ${DETECTORS}, autoencoder: { epochs: 4, onEpochEnd: boom } }).fit(data));
  console.log(JSON.stringify({ inThread, inWorker, ensemble, workerRuns: fused.fusedWorkerStats.runs }));
})();
`;
    const got = await runNode(script, { NAL_THREADS: '2' });
    expect(got.inThread).toBe('Error: Autoencoder: the fused engine and the TF.js model disagree on the weights.');
    expect(got.inWorker).toBe(got.inThread);
    expect(got.ensemble).toBe('RangeError: stop at epoch 2');
    expect(got.workerRuns).toBe(2);
  }, SCRIPT_TIMEOUT_MS + 60_000);
});
