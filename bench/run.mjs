#!/usr/bin/env node
/**
 * `npm run bench`: fit and score timings of every detector and of the whole ensemble at 1k, 10k
 * and 100k training rows, scoring the 100,000-row file, with peak memory; with `--side-by-side`,
 * the scikit-learn / torch reference (../shared/reference/bench.py) is measured in the same run,
 * interleaved cell by cell, and every cell gets the ratio ours / reference.
 *
 * With --widths, the cells are real-width data instead (issue #13): NSL-KDD's 122 encoded columns
 * and ADBench datasets of 57 to 1,555 columns (bench/width-data.mjs prepares them once into
 * .tmp/bench-width/, so both sides read the same float64 rows), per detector and for the ensemble,
 * contamination 0.1; results/bench-widths.json and results/BENCH-WIDTHS.md.
 *
 * Every measurement runs in a fresh process (bench/cell.mjs for ours, bench/reference_cell.py for
 * the reference); times are medians over the repeats. Results: results/bench.json and
 * results/BENCH.md (results/bench-quick.* with --quick). Nothing here is a timed unit test.
 *
 * Usage: node bench/run.mjs [--side-by-side] [--quick] [--sizes 1000,10000,100000]
 *          [--widths] [--datasets spambase,mnist,nsl-kdd,musk,internetads]
 *          [--models isolationForest,oneClassSvm,localOutlierFactor,autoencoder,autoencoderEarlyStop,
 *                    ensemble,ensembleEarlyStop]  (default: all; with --widths: all but the early-stopping variants)
 *          [--repeats 1000:5,10000:3,100000:3 | N] [--cap 300 (1200 with --widths)] [--no-repeat-over 200]
 *          [--python /usr/bin/python3] [--reference-dir ../shared/reference] [--data-dir DIR]
 *          [--width-data-dir ../shared/datasets] [--score-rows N] [--out NAME]
 *          [--option detector.key=value ...]
 *        node bench/run.mjs --render results/bench-widths.json   (only rewrite its Markdown)
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, ROOT, dataSource } from './data.mjs';
import { DEFAULT_WIDTH_DATA_DIR, WIDTH_DATASETS, prepareWidthData } from './width-data.mjs';

const MODELS = ['isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder', 'autoencoderEarlyStop', 'ensemble', 'ensembleEarlyStop'];
const DETECTORS = MODELS.slice(0, 4);
const REF_NAME = {
  isolationForest: 'isolation_forest',
  oneClassSvm: 'one_class_svm',
  localOutlierFactor: 'lof',
  autoencoder: 'autoencoder',
  autoencoderEarlyStop: 'autoencoder',
};
const LABEL = {
  isolationForest: 'Isolation Forest',
  oneClassSvm: 'One-Class SVM',
  localOutlierFactor: 'LOF (k = 20)',
  autoencoder: 'Autoencoder',
  autoencoderEarlyStop: 'Autoencoder, early stopping',
  ensemble: 'Ensemble',
  ensembleEarlyStop: 'Ensemble, AE early stopping',
};
/** The issue's targets: ours / reference, fit + score (the autoencoder: fit and predict separately). */
const TARGETS = {
  isolationForest: { total: 0.4 },
  oneClassSvm: { total: 1.0 },
  localOutlierFactor: { total: 1.0 },
  autoencoder: { fit: 2.0, score: 1.0 },
  autoencoderEarlyStop: { fit: 1.0 },
  ensemble: { total: 0.5 },
  ensembleEarlyStop: { total: 0.5 },
};
const isEnsemble = (m) => m.startsWith('ensemble');

const { values: opt } = parseArgs({
  options: {
    'side-by-side': { type: 'boolean' },
    quick: { type: 'boolean' },
    sizes: { type: 'string' },
    widths: { type: 'boolean' },
    datasets: { type: 'string' },
    'width-data-dir': { type: 'string' },
    models: { type: 'string' },
    repeats: { type: 'string' },
    cap: { type: 'string' },
    'no-repeat-over': { type: 'string' },
    python: { type: 'string' },
    'reference-dir': { type: 'string' },
    'data-dir': { type: 'string' },
    'score-rows': { type: 'string' },
    out: { type: 'string' },
    option: { type: 'string', multiple: true },
    render: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  const src = fs.readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(src.slice(src.indexOf('/**') + 4, src.indexOf('*/')).replace(/^ \* ?/gm, '') + '\n');
  process.exit(0);
}

const quick = Boolean(opt.quick);
const sideBySide = Boolean(opt['side-by-side']);
const widths = Boolean(opt.widths);
// --widths measures the width datasets instead of the seed sizes (both when --sizes is given too)
const sizes = widths && !opt.sizes ? [] : (opt.sizes ?? (quick ? '1000' : '1000,10000,100000')).split(',').map(Number);
const datasets = widths ? (opt.datasets ?? Object.keys(WIDTH_DATASETS).join(',')).split(',') : [];
for (const d of datasets) if (!WIDTH_DATASETS[d]) fail(`unknown width dataset '${d}' (datasets: ${Object.keys(WIDTH_DATASETS).join(', ')})`);
const widthDataDir = opt['width-data-dir'] ?? DEFAULT_WIDTH_DATA_DIR;
const models = (opt.models ?? (widths ? MODELS.filter((m) => !m.endsWith('EarlyStop')) : MODELS).join(',')).split(',');
// the ensembles' reference is the sum of the four detectors' reference runs: measure those first
models.sort((a, b) => MODELS.indexOf(a) - MODELS.indexOf(b));
for (const m of models) if (!MODELS.includes(m)) fail(`unknown model '${m}' (models: ${MODELS.join(', ')})`);
const repeats = parseRepeats(opt.repeats ?? (quick ? '1' : '1000:5,10000:3,100000:3'));
/** Repeats of a width cell: --repeats N, else 3 (1 with --quick). */
const widthRepeats = /^\d+$/.test(opt.repeats ?? '') ? Number(opt.repeats) : quick ? 1 : 3;
// a phase past --cap seconds is stopped (the width cells' torch autoencoder can take 5-10 minutes)
const cap = Number(opt.cap ?? (widths ? 1200 : 300));
const noRepeatOver = Number(opt['no-repeat-over'] ?? 200);
const python = opt.python ?? '/usr/bin/python3';
const referenceDir = path.resolve(opt['reference-dir'] ?? path.join(ROOT, '../shared/reference'));
const dataDir = opt['data-dir'] ?? DEFAULT_DATA_DIR;
const scoreRows = opt['score-rows'] ? Number(opt['score-rows']) : undefined;
if (sideBySide && scoreRows && scoreRows !== 100000) fail('--score-rows cannot be combined with --side-by-side (the reference scores 100,000 rows).');
if (sideBySide && !fs.existsSync(path.join(referenceDir, 'bench.py'))) fail(`--side-by-side needs ${path.join(referenceDir, 'bench.py')}`);
const outName = opt.out ?? (widths ? (quick ? 'bench-widths-quick' : 'bench-widths') : quick ? 'bench-quick' : 'bench');
const oursOptions = opt.option ?? [];

if (!opt.render && !fs.existsSync(path.join(ROOT, 'dist/index.js'))) fail('dist/ is missing: run `npm run build` first.');

function fail(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

function parseRepeats(s) {
  if (/^\d+$/.test(s)) return () => Number(s);
  const m = new Map(s.split(',').map((kv) => kv.split(':').map(Number)));
  return (n) => m.get(n) ?? 1;
}

/** Run a command; resolve to its last stdout line parsed as JSON, or {error}. */
function runJson(cmd, args, timeoutS) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ error: `> ${timeoutS} s` });
      const last = out.trim().split('\n').pop();
      try {
        if (code !== 0) throw new Error(err.trim().split('\n').slice(-3).join(' | ') || `exit ${code}`);
        resolve(JSON.parse(last));
      } catch (e) {
        resolve({ error: String(e.message ?? e).slice(0, 300) });
      }
    });
  });
}

function ours(model, row) {
  const args = [path.join(ROOT, 'bench/cell.mjs'), '--model', model];
  if (row.kind === 'width') args.push('--width-data', row.dir);
  else args.push('--train', String(row.n), '--data-dir', dataDir);
  if (scoreRows && row.kind !== 'width') args.push('--score-rows', String(scoreRows));
  for (const o of oursOptions) {
    const [k, ...rest] = o.split('=');
    const [target, ...key] = k.split('.');
    // --option ensemble.x=1 applies to the ensemble cell only; --option isolationForest.nEstimators=200
    // applies to that detector's cell and to the ensemble's member
    if (target === model) args.push('--option', `${key.join('.')}=${rest.join('=')}`);
    else if (isEnsemble(model) && DETECTORS.includes(target)) args.push('--option', `${k}=${rest.join('=')}`);
  }
  return runJson(process.execPath, args, 2 * cap + 120);
}

function reference(refModel, row) {
  const data = row.kind === 'width' ? ['--width-data', row.dir] : ['--train', String(row.n)];
  return runJson(python, [path.join(ROOT, 'bench/reference_cell.py'), '--reference-dir', referenceDir, '--model', refModel, ...data, '--cap', String(cap)], 2 * cap + 300);
}

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (v.length === 0) return null;
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
};

/** Summary of the runs of one side of a cell. */
function summarize(runs) {
  const err = runs.find((r) => r.error || typeof r.fit !== 'number' || typeof r.score !== 'number');
  const ok = runs.filter((r) => typeof r.fit === 'number' && typeof r.score === 'number');
  const s = {
    fit: median(ok.map((r) => r.fit)),
    score: median(ok.map((r) => r.score)),
    total: median(ok.map((r) => r.fit + r.score)),
    maxRssMb: ok.length ? Math.max(...ok.map((r) => r.maxRssMb ?? 0)) : null,
    runs: runs.length,
    fitAll: runs.map((r) => r.fit ?? null),
    scoreAll: runs.map((r) => r.score ?? null),
  };
  if (err) s.error = err.error ?? `fit ${err.fit}, score ${err.score}`;
  const last = ok[ok.length - 1] ?? {};
  for (const k of ['rocAuc', 'flagged', 'backend', 'nSupportVectors', 'n_support_vectors', 'epochsRun', 'perDetectorRocAuc', 'weights', 'engine']) {
    if (last[k] !== undefined) s[k] = last[k];
  }
  return s;
}

function ratio(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null;
}

function log(msg) {
  process.stderr.write(msg + '\n');
}

function fmtS(x) {
  if (x === null || x === undefined) return 'n/a';
  return x < 10 ? `${x.toFixed(3)} s` : `${x.toFixed(1)} s`;
}

function fmtR(x) {
  return x === null || x === undefined ? '–' : `${x.toFixed(2)}x`;
}

function environment() {
  const cpu = (() => {
    try {
      return fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1];
    } catch {
      return undefined;
    }
  })();
  const env = {
    date: new Date().toISOString(),
    cpu: cpu ?? os.cpus()[0]?.model,
    cpus: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    tfBackend: undefined,
    loadavgStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    data: dataSource(dataDir),
  };
  if (sideBySide) {
    const r = spawnSync(python, ['-c', 'import json,sys,numpy,sklearn,torch; print(json.dumps({"python": sys.version.split()[0], "numpy": numpy.__version__, "sklearn": sklearn.__version__, "torch": torch.__version__}))'], { encoding: 'utf8' });
    try {
      env.reference = JSON.parse(r.stdout.trim());
    } catch {
      env.reference = { error: r.stderr.trim().split('\n').pop() };
      fail(`--side-by-side needs ${python} with numpy, scikit-learn, torch and pandas (${env.reference.error ?? 'not found'}).\n` +
        '  Debian/Ubuntu: sudo apt-get install -y python3-sklearn python3-torch python3-pandas\n' +
        '  (or pip install scikit-learn torch pandas, and --python PATH to that interpreter)');
    }
  }
  return env;
}

/** The Markdown file's name (without .md) for a results name. */
function mdNameOf(name) {
  return name === 'bench' ? 'BENCH' : name.startsWith('bench-widths') ? name.toUpperCase() : name.replace(/^bench/, 'BENCH');
}

/** The rows of the run: seed sizes and width datasets, each with what both sides need. */
function benchRows() {
  const rows = sizes.map((n) => ({ key: String(n), kind: 'size', n, repeats: repeats(n) }));
  for (const name of datasets) {
    const prepared = prepareWidthData(createRequire(import.meta.url)('../dist/index.js'), name, { dataDir: widthDataDir });
    if (prepared.missing) {
      log(`# ${name}: skipped, ${prepared.missing}`);
      continue;
    }
    rows.push({ key: name, kind: 'width', dir: prepared.dir, meta: prepared.meta, repeats: widthRepeats });
  }
  return rows;
}

async function main() {
  const env = environment();
  const rowsSpec = benchRows();
  log(`# bench: ${env.cpu}, ${env.cpus} cpus, node ${env.node}, load ${env.loadavgStart.join(' ')}${sideBySide ? `; reference ${JSON.stringify(env.reference)}` : ''}`);
  log(`# ${rowsSpec.map((r) => (r.kind === 'width' ? `${r.key} (${r.meta.cols} cols)` : r.key)).join(', ')}; models ${models.join(', ')}${sideBySide ? '; side by side, interleaved' : ''}`);
  const cells = [];
  const refCache = new Map(); // `${row}:${refModel}` -> summary (the ensemble reuses the detectors' reference runs)
  for (const row of rowsSpec) {
    const n = row.key;
    for (const model of models) {
      const reps = row.repeats;
      const mine = [];
      const refs = {};
      const refModels = sideBySide && !isEnsemble(model) ? (model.startsWith('autoencoder') ? ['autoencoder', 'autoencoder_1t'] : [REF_NAME[model]]) : [];
      // a reference measured already in this run (the autoencoder for its early-stopping variant) is reused
      for (const rm of [...refModels]) if (refCache.has(`${n}:${rm}`) && refCache.get(`${n}:${rm}`).fromRuns) refModels.splice(refModels.indexOf(rm), 1);
      for (const rm of refModels) refs[rm] = [];
      for (let r = 0; r < reps; r++) {
        const order = r % 2 === 0 ? ['ours', ...refModels] : [...refModels, 'ours'];
        let slow = false;
        for (const who of order) {
          const load = os.loadavg()[0];
          const res = who === 'ours' ? await ours(model, row) : await reference(who, row);
          res.load1 = Math.round(load * 100) / 100;
          (who === 'ours' ? mine : refs[who]).push(res);
          log(`${row.kind === 'width' ? row.key.padStart(11) : `n=${String(n).padStart(9)}`} ${(who === 'ours' ? `ours ${model}` : `ref  ${who}`).padEnd(28)} run ${r + 1}/${reps}: ` + (res.error ? `ERROR ${res.error}` : `fit ${fmtS(res.fit)}  score ${fmtS(res.score)}  peak ${res.maxRssMb} MB${res.rocAuc !== undefined ? `  auc ${res.rocAuc}` : ''}  load ${res.load1}`));
          if (res.error || res.fit + res.score > noRepeatOver) slow = true;
        }
        if (slow) break;
      }
      const cell = row.kind === 'width' ? { dataset: row.key, cols: row.meta.cols, trainRows: row.meta.trainRows, scoreRows: row.meta.scoreRows, model, ours: summarize(mine) } : { trainRows: row.n, model, ours: summarize(mine) };
      if (sideBySide) {
        if (isEnsemble(model)) {
          // the reference's ensemble time is the sum of its four models' medians (bench.py's own table)
          const parts = DETECTORS.map((d) => refCache.get(`${n}:${REF_NAME[d]}`) ?? null);
          if (parts.every((p) => p && typeof p.fit === 'number')) {
            cell.reference = {
              fit: parts.reduce((a, p) => a + p.fit, 0),
              score: parts.reduce((a, p) => a + p.score, 0),
              total: parts.reduce((a, p) => a + p.fit + p.score, 0),
              maxRssMb: Math.max(...parts.map((p) => p.maxRssMb ?? 0)),
              note: 'sum of the four reference models (autoencoder: torch, 2 threads; LOF k = 20)',
            };
            // and with the autoencoder's torch on one thread (on a busy machine two OpenMP threads can be far slower)
            const ae1 = refCache.get(`${n}:autoencoder_1t`);
            if (ae1 && typeof ae1.fit === 'number') {
              const others = parts.slice(0, 3);
              cell.reference1Thread = {
                fit: others.reduce((a, p) => a + p.fit, 0) + ae1.fit,
                score: others.reduce((a, p) => a + p.score, 0) + ae1.score,
                total: others.reduce((a, p) => a + p.fit + p.score, 0) + ae1.fit + ae1.score,
                maxRssMb: Math.max(...others.map((p) => p.maxRssMb ?? 0), ae1.maxRssMb ?? 0),
                note: 'sum of the four reference models, the autoencoder with 1 torch thread',
              };
            }
          } else cell.reference = { error: 'needs the four detectors measured at this size in the same run' };
        } else {
          for (const rm of refModels) refCache.set(`${n}:${rm}`, { ...summarize(refs[rm]), fromRuns: true });
          cell.reference = refCache.get(`${n}:${REF_NAME[model]}`);
          if (model.startsWith('autoencoder')) cell.reference1Thread = refCache.get(`${n}:autoencoder_1t`);
        }
        cell.ratio = {
          fit: ratio(cell.ours.fit, cell.reference.fit),
          score: ratio(cell.ours.score, cell.reference.score),
          total: ratio(cell.ours.total, cell.reference.total),
        };
        if (cell.reference1Thread) {
          cell.ratio1Thread = {
            fit: ratio(cell.ours.fit, cell.reference1Thread.fit),
            score: ratio(cell.ours.score, cell.reference1Thread.score),
            total: ratio(cell.ours.total, cell.reference1Thread.total),
          };
        }
      }
      cells.push(cell);
    }
  }
  env.loadavgEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  env.tfBackend = cells.find((c) => c.ours.backend && c.ours.backend !== 'none')?.ours.backend;
  const result = {
    options: { sizes, datasets: rowsSpec.filter((r) => r.kind === 'width').map((r) => r.key), widths: Object.fromEntries(rowsSpec.filter((r) => r.kind === 'width').map((r) => [r.key, { cols: r.meta.cols, trainRows: r.meta.trainRows, scoreRows: r.meta.scoreRows, scoreAnomalies: r.meta.scoreAnomalies, protocol: r.meta.protocol, label: r.meta.label }])), models, repeats: Object.fromEntries(sizes.map((n) => [n, repeats(n)])), widthRepeats, sideBySide, quick, cap, scoreRows: scoreRows ?? 100000, oursOptions },
    environment: env,
    cells,
  };
  const dir = path.join(ROOT, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const md = markdown(result);
  fs.writeFileSync(path.join(dir, `${outName}.json`), JSON.stringify(result, null, 1) + '\n');
  const mdName = mdNameOf(outName);
  fs.writeFileSync(path.join(dir, `${mdName}.md`), md);
  process.stdout.write(md);
  log(`# wrote results/${outName}.json and results/${mdName}.md`);
}

function markdown(result) {
  return result.options.datasets?.length ? widthMarkdown(result) : sizeMarkdown(result);
}

/** Width targets (issue #13): ours / reference. */
const WIDTH_TARGETS = [
  { model: 'ensemble', key: 'total', what: 'fit+score', limit: (cols) => (cols > 500 ? 1.0 : 0.5) },
  { model: 'localOutlierFactor', key: 'fit', what: 'fit', limit: () => 1.0 },
  { model: 'oneClassSvm', key: 'fit', what: 'fit', limit: () => 1.0 },
  { model: 'autoencoder', key: 'fit', what: 'fit', limit: () => 1.0 },
];

/** Ensemble cells of an older run lack the sum with the 1-thread torch autoencoder: add it from the detector cells. */
function withOneThreadSums(cells) {
  for (const c of cells) {
    if (!isEnsemble(c.model) || c.reference1Thread || !c.reference || c.reference.error) continue;
    const of = (m) => cells.find((x) => x.dataset === c.dataset && x.trainRows === c.trainRows && x.model === m);
    const others = ['isolationForest', 'oneClassSvm', 'localOutlierFactor'].map((m) => of(m)?.reference);
    const ae1 = of('autoencoder')?.reference1Thread;
    if (!ae1 || typeof ae1.fit !== 'number' || others.some((r) => !r || typeof r.fit !== 'number')) continue;
    c.reference1Thread = {
      fit: others.reduce((a, r) => a + r.fit, 0) + ae1.fit,
      score: others.reduce((a, r) => a + r.score, 0) + ae1.score,
      total: others.reduce((a, r) => a + r.fit + r.score, 0) + ae1.fit + ae1.score,
      maxRssMb: Math.max(...others.map((r) => r.maxRssMb ?? 0), ae1.maxRssMb ?? 0),
    };
    c.ratio1Thread = { fit: ratio(c.ours.fit, c.reference1Thread.fit), score: ratio(c.ours.score, c.reference1Thread.score), total: ratio(c.ours.total, c.reference1Thread.total) };
  }
  return cells;
}

function widthMarkdown({ options, environment: env, cells: rawCells }) {
  const cells = withOneThreadSums(rawCells);
  const L = [];
  const side = options.sideBySide;
  L.push(`# Benchmarks at realistic width${options.quick ? ' (quick smoke run)' : ''}`);
  L.push('');
  L.push(`Generated by \`npm run bench -- ${side ? '--side-by-side ' : ''}--widths${options.quick ? ' --quick' : ''}\` on ${env.date.slice(0, 10)}. Every measurement runs in a fresh process; times are medians over ${options.widthRepeats} run${options.widthRepeats > 1 ? 's' : ''} per cell (a cell whose first run takes more than ${noRepeatOver} s runs once). Both sides read the same float64 rows (bench/width-data.mjs); fit = training on the scaled rows (the ensemble: scaling included), score = scoring the scored rows. Contamination 0.1. Peak memory = the measuring process's maximum RSS.`);
  L.push('');
  L.push(`- Machine: ${env.cpu}, ${env.cpus} CPUs, ${env.memoryGb} GB; Node ${env.node}; TF.js backend ${env.tfBackend ?? 'n/a'}; load average ${env.loadavgStart.join(' ')} at the start, ${env.loadavgEnd.join(' ')} at the end.`);
  if (env.reference) L.push(`- Reference: scikit-learn ${env.reference.sklearn} and torch ${env.reference.torch} (python ${env.reference.python}, numpy ${env.reference.numpy}) with ../shared/reference/bench.py's settings, run by bench/reference_cell.py; measured interleaved with ours in the same run.`);
  L.push('- Per-detector cells use the reference\'s settings (LOF k = 20, autoencoder 30 epochs, batch 32, validation split 0.1); the ensemble cell uses the library defaults and is compared with the sum of the reference\'s four models (its autoencoder: torch with 2 threads; the ↳ rows: torch with 1 thread).');
  L.push('');
  for (const name of options.datasets) {
    const w = options.widths[name];
    L.push(`## ${w.label}: ${w.cols.toLocaleString('en-US')} columns, ${w.trainRows.toLocaleString('en-US')} training rows, ${w.scoreRows.toLocaleString('en-US')} scored (${w.scoreAnomalies.toLocaleString('en-US')} anomalies)`);
    L.push('');
    L.push(`${w.protocol[0].toUpperCase()}${w.protocol.slice(1)}.`);
    L.push('');
    if (side) {
      L.push('| model | fit ours | fit ref | ratio | score ours | score ref | ratio | fit+score ratio | peak MB ours / ref | ROC-AUC ours / ref |');
      L.push('|---|---|---|---|---|---|---|---|---|---|');
    } else {
      L.push('| model | fit | score | fit+score | peak MB | ROC-AUC |');
      L.push('|---|---|---|---|---|---|');
    }
    for (const c of cells.filter((x) => x.dataset === name)) {
      const o = c.ours;
      const auc = (v) => (v !== undefined && v !== null ? v.toFixed(4) : '–');
      const err = o.error ? ` (${o.error})` : '';
      if (side) {
        const r = c.reference ?? {};
        L.push(`| ${LABEL[c.model]}${err}${r.error ? ` (reference: ${r.error})` : ''} | ${fmtS(o.fit)} | ${fmtS(r.fit)} | ${fmtR(c.ratio?.fit)} | ${fmtS(o.score)} | ${fmtS(r.score)} | ${fmtR(c.ratio?.score)} | **${fmtR(c.ratio?.total)}** | ${o.maxRssMb ?? 'n/a'} / ${r.maxRssMb ?? 'n/a'} | ${auc(o.rocAuc)} / ${auc(r.rocAuc)} |`);
        if (c.reference1Thread) {
          const r1 = c.reference1Thread;
          L.push(`| ↳ vs torch 1 thread | | ${fmtS(r1.fit)} | ${fmtR(c.ratio1Thread?.fit)} | | ${fmtS(r1.score)} | ${fmtR(c.ratio1Thread?.score)} | ${fmtR(c.ratio1Thread?.total)} | / ${r1.maxRssMb ?? 'n/a'} | |`);
        }
      } else {
        L.push(`| ${LABEL[c.model]}${err} | ${fmtS(o.fit)} | ${fmtS(o.score)} | ${fmtS(o.total)} | ${o.maxRssMb ?? 'n/a'} | ${auc(o.rocAuc)} |`);
      }
    }
    L.push('');
  }
  if (side) {
    L.push('## Targets (ours / reference; below 1 = faster than the reference)');
    L.push('');
    L.push('| model | ' + options.datasets.map((d) => `${options.widths[d].label} (${options.widths[d].cols})`).join(' | ') + ' |');
    L.push('|---|' + options.datasets.map(() => '---|').join(''));
    for (const t of WIDTH_TARGETS) {
      if (!options.models.includes(t.model)) continue;
      const row = options.datasets.map((d) => {
        const c = cells.find((x) => x.dataset === d && x.model === t.model);
        const v = c?.ratio?.[t.key];
        const lim = t.limit(options.widths[d].cols);
        return v === null || v === undefined ? '–' : `${v.toFixed(2)}x ${v <= lim ? '✓' : '✗'} (≤ ${lim})`;
      });
      L.push(`| ${LABEL[t.model]} ${t.what} | ${row.join(' | ')} |`);
      if (t.model === 'ensemble') {
        const row1 = options.datasets.map((d) => {
          const v = cells.find((x) => x.dataset === d && x.model === 'ensemble')?.ratio1Thread?.total;
          const lim = t.limit(options.widths[d].cols);
          return v === null || v === undefined ? '–' : `${v.toFixed(2)}x ${v <= lim ? '✓' : '✗'}`;
        });
        L.push(`| ↳ against the reference with torch on 1 thread | ${row1.join(' | ')} |`);
      }
    }
    L.push('');
  }
  return L.join('\n');
}

function sizeMarkdown({ options, environment: env, cells }) {
  const L = [];
  L.push(`# Benchmarks${options.quick ? ' (quick smoke run)' : ''}`);
  L.push('');
  L.push(`Generated by \`npm run bench${options.sideBySide ? ' -- --side-by-side' : ''}${options.quick ? ' --quick' : ''}\` on ${env.date.slice(0, 10)}. Every measurement runs in a fresh process; times are medians over ${[...new Set(Object.values(options.repeats))].join('/')} runs per cell (training rows: runs = ${Object.entries(options.repeats).map(([n, r]) => `${Number(n).toLocaleString('en-US')}: ${r}`).join(', ')}). Fit = training on the scaled rows (the ensemble: scaling included), score = scoring ${options.scoreRows.toLocaleString('en-US')} rows. Peak memory = the measuring process's maximum RSS (ours includes the 100k rows as parsed CSV cells).`);
  L.push('');
  L.push(`- Machine: ${env.cpu}, ${env.cpus} CPUs, ${env.memoryGb} GB; Node ${env.node}; TF.js backend ${env.tfBackend ?? 'n/a'}; load average ${env.loadavgStart.join(' ')} at the start, ${env.loadavgEnd.join(' ')} at the end.`);
  if (env.reference) L.push(`- Reference: ../shared/reference/bench.py, python ${env.reference.python}, numpy ${env.reference.numpy}, scikit-learn ${env.reference.sklearn}, torch ${env.reference.torch}; measured interleaved with ours in the same run.`);
  L.push(`- Data: ${env.data}.`);
  L.push('- Per-detector cells use the reference\'s settings (contamination 0.15, LOF k = 20, autoencoder 30 epochs, batch 32, validation split 0.1); the ensemble cell uses the library defaults (since issue 12: Isolation Forest, kNN distance with k = 20, 50, 100, 200, HBOS and PCA, equal weights, score decision) and is compared with the sum of the reference\'s four models.');
  L.push('');
  const side = options.sideBySide;
  for (const n of options.sizes) {
    L.push(`## ${n.toLocaleString('en-US')} training rows`);
    L.push('');
    if (side) {
      L.push('| model | fit ours | fit ref | ratio | score ours | score ref | ratio | fit+score ratio | peak MB ours / ref | ROC-AUC ours |');
      L.push('|---|---|---|---|---|---|---|---|---|---|');
    } else {
      L.push('| model | fit | score | fit+score | peak MB | ROC-AUC | flagged |');
      L.push('|---|---|---|---|---|---|---|');
    }
    for (const c of cells.filter((x) => x.trainRows === n && !x.dataset)) {
      const o = c.ours;
      const auc = o.rocAuc !== undefined ? o.rocAuc.toFixed(4) : '–';
      const err = o.error ? ` (${o.error})` : '';
      if (side) {
        const r = c.reference ?? {};
        L.push(`| ${LABEL[c.model]}${err} | ${fmtS(o.fit)} | ${fmtS(r.fit)} | ${fmtR(c.ratio?.fit)} | ${fmtS(o.score)} | ${fmtS(r.score)} | ${fmtR(c.ratio?.score)} | **${fmtR(c.ratio?.total)}** | ${o.maxRssMb ?? 'n/a'} / ${r.maxRssMb ?? 'n/a'} | ${auc} |`);
        if (c.reference1Thread) {
          const r1 = c.reference1Thread;
          L.push(`| ↳ vs torch 1 thread | | ${fmtS(r1.fit)} | ${fmtR(c.ratio1Thread?.fit)} | | ${fmtS(r1.score)} | ${fmtR(c.ratio1Thread?.score)} | ${fmtR(c.ratio1Thread?.total)} | / ${r1.maxRssMb ?? 'n/a'} | |`);
        }
      } else {
        L.push(`| ${LABEL[c.model]}${err} | ${fmtS(o.fit)} | ${fmtS(o.score)} | ${fmtS(o.total)} | ${o.maxRssMb ?? 'n/a'} | ${auc} | ${o.flagged ?? '–'} |`);
      }
    }
    L.push('');
  }
  if (side) {
    L.push('## Targets (ours / reference; below 1 = faster than the reference)');
    L.push('');
    L.push('| model | target | ' + options.sizes.map((n) => `${n.toLocaleString('en-US')} rows`).join(' | ') + ' |');
    L.push('|---|---|' + options.sizes.map(() => '---|').join(''));
    for (const m of options.models) {
      const t = TARGETS[m];
      for (const [k, lim] of Object.entries(t)) {
        const what = k === 'total' ? 'fit+score' : k === 'fit' ? 'fit' : 'predict';
        const row = options.sizes.map((n) => {
          const c = cells.find((x) => x.trainRows === n && !x.dataset && x.model === m);
          const v = c?.ratio?.[k];
          return v === null || v === undefined ? '–' : `${v.toFixed(2)}x ${v <= lim ? '✓' : '✗'}`;
        });
        L.push(`| ${LABEL[m]} ${what} | ≤ ${lim}x | ${row.join(' | ')} |`);
      }
    }
    L.push('');
    L.push('The autoencoder is compared with torch at 2 threads (the reference ensemble\'s); the ↳ rows give the ratio to torch at 1 thread.');
    L.push('');
  }
  return L.join('\n');
}

/** --render FILE: only rewrite the Markdown of a results file. */
function renderOnly() {
  const result = JSON.parse(fs.readFileSync(opt.render, 'utf8'));
  const md = path.join(path.dirname(opt.render), `${mdNameOf(path.basename(opt.render, '.json'))}.md`);
  fs.writeFileSync(md, markdown(result));
  log(`# wrote ${md}`);
}

(opt.render ? Promise.resolve().then(renderOnly) : main()).catch((e) => {
  process.stderr.write(`bench: ${e?.stack ?? e}\n`);
  process.exit(1);
});
