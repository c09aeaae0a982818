/**
 * The benchmark's real-width data (issue #13): NSL-KDD with its 122 encoded columns and ADBench
 * datasets across widths, encoded once by the library and written as raw little-endian float64
 * matrices, so that our cells (bench/cell.mjs) and the reference's (bench/reference_cell.py) read
 * exactly the same numbers without either side's parsing being timed.
 *
 * - nsl-kdd: the reference's protocol d (shared/reference/evaluate.py): the one-hot categories of
 *   the whole of KDDTrain+ (122 columns), a seeded sample (seed 42) of 20,000 of its normal rows
 *   trains, KDDTest+ (22,544 rows) is scored; read with the built-in `nsl-kdd` description (its
 *   log scaling of the numeric columns included).
 * - ADBench (../shared/datasets/adbench-classical): SpamBase 57, mnist 100, musk 166 and
 *   InternetAds 1,555 columns; ADBench's protocol: a stratified 70/30 split, seed 0 (the rows of
 *   scikit-learn's train_test_split), the 70% trains without labels, the 30% is scored.
 *
 * Files: `<cache>/<name>/{train,score}.f64` (rows x cols, row-major), `labels.u8` (the scored rows'
 * labels) and `meta.json`; rebuilt when the source file or this module's version changes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './data.mjs';

/** Bump when the encoding or the split changes: cached files of another version are rebuilt. */
const VERSION = 2;

export const DEFAULT_WIDTH_DATA_DIR = path.resolve(ROOT, '../shared/datasets');
export const DEFAULT_WIDTH_CACHE = path.join(ROOT, '.tmp', 'bench-width');

/** The width datasets, narrowest first. `file`: relative to the data folder. */
export const WIDTH_DATASETS = {
  spambase: { label: 'SpamBase', file: 'adbench-classical/SpamBase.csv.gz', kind: 'adbench' },
  mnist: { label: 'mnist', file: 'adbench-classical/mnist.csv.gz', kind: 'adbench' },
  'nsl-kdd': { label: 'NSL-KDD', kind: 'nsl-kdd' },
  musk: { label: 'musk', file: 'adbench-classical/musk.csv.gz', kind: 'adbench' },
  internetads: { label: 'InternetAds', file: 'adbench-classical/InternetAds.csv.gz', kind: 'adbench' },
};

/** The ADBench CSV exports: f0..fN feature columns and a 0/1 `label`. */
const ADBENCH_SCHEMA = { name: 'adbench', features: 'rest', label: 'label', normalLabels: ['0'] };

/**
 * Where a dataset's source files are, or a message saying what is missing and where to get it.
 * @returns {{ files: string[] } | { missing: string }}
 */
export function widthSource(lib, name, dataDir = DEFAULT_WIDTH_DATA_DIR) {
  const spec = WIDTH_DATASETS[name];
  if (!spec) throw new Error(`unknown width dataset '${name}' (datasets: ${Object.keys(WIDTH_DATASETS).join(', ')})`);
  if (spec.kind === 'nsl-kdd') {
    const where = lib.locateDataset('nsl-kdd', { env: { NAL_DATA_DIR: path.join(dataDir) } });
    if (!where.found) return { missing: where.message };
    return { files: [where.files.train, where.files.test] };
  }
  const file = path.join(dataDir, spec.file);
  if (!fs.existsSync(file)) {
    return { missing: `${file} is missing: it is ADBench's Classical dataset (github.com/Minqi824/ADBench, adbench/datasets/Classical) exported to CSV (f0..fN, label); see ../shared/datasets/adbench-classical/PROVENANCE.md.` };
  }
  return { files: [file] };
}

/**
 * Encode dataset `name` into the cache (unless it is there already, for the same source files).
 * @returns the folder holding train.f64, score.f64, labels.u8 and meta.json, or `{ missing }`
 */
export function prepareWidthData(lib, name, { dataDir = DEFAULT_WIDTH_DATA_DIR, cacheDir = DEFAULT_WIDTH_CACHE } = {}) {
  const src = widthSource(lib, name, dataDir);
  if (src.missing) return { missing: src.missing };
  const dir = path.join(cacheDir, name);
  const stamp = { version: VERSION, sources: src.files.map((f) => ({ file: path.resolve(f), size: fs.statSync(f).size, mtimeMs: Math.round(fs.statSync(f).mtimeMs) })) };
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    if (JSON.stringify(meta.stamp) === JSON.stringify(stamp)) return { dir, meta };
  }
  let train;
  let test;
  let protocol;
  if (WIDTH_DATASETS[name].kind === 'nsl-kdd') {
    // the reference's protocol d: categories of the whole of KDDTrain+ (122 columns), 20,000 of its normal rows
    const full = lib.loadTraffic(src.files[0], { schema: lib.NSL_KDD_SCHEMA });
    const normal = [];
    full.labels.forEach((l, i) => l === 0 && normal.push(i));
    train = lib.sampleRows(lib.subsetRows(full, normal), 20000, 42);
    test = lib.loadTraffic(src.files[1], { schema: lib.NSL_KDD_SCHEMA, encoder: full.encoder });
    protocol = "the reference's protocol d: one-hot categories of all of KDDTrain+, a seeded sample (seed 42) of 20,000 of its normal rows trains, KDDTest+ is scored; the nsl-kdd description's log scaling";
  } else {
    const all = lib.loadTraffic(src.files[0], { schema: ADBENCH_SCHEMA });
    ({ train, test } = lib.splitTraffic(all, 0.7, 0, { stratify: true }));
    protocol = "ADBench's stratified 70/30 split (seed 0, scikit-learn's rows): the 70% trains without labels, the 30% is scored";
  }
  fs.mkdirSync(dir, { recursive: true });
  writeF64(path.join(dir, 'train.f64'), train.X);
  writeF64(path.join(dir, 'score.f64'), test.X);
  fs.writeFileSync(path.join(dir, 'labels.u8'), Buffer.from(test.labels.buffer, test.labels.byteOffset, test.labels.byteLength));
  const meta = {
    stamp,
    name,
    label: WIDTH_DATASETS[name].label,
    protocol,
    cols: train.X.cols,
    trainRows: train.X.rows,
    scoreRows: test.X.rows,
    scoreAnomalies: test.labels.reduce((a, b) => a + b, 0),
    features: train.features,
  };
  fs.writeFileSync(metaFile, JSON.stringify(meta) + '\n');
  return { dir, meta };
}

function writeF64(file, X) {
  const a = X.data.subarray(0, X.rows * X.cols);
  fs.writeFileSync(file, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
}

function readF64(file, rows, cols) {
  const buf = fs.readFileSync(file);
  if (buf.length !== rows * cols * 8) throw new Error(`${file}: expected ${rows} x ${cols} float64 values, got ${buf.length} bytes`);
  const data = new Float64Array(rows * cols);
  new Uint8Array(data.buffer).set(buf);
  return { rows, cols, data };
}

/** A prepared dataset: raw (unscaled) training and scored rows, the scored rows' labels, feature names. */
export function loadWidthData(dir) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const train = readF64(path.join(dir, 'train.f64'), meta.trainRows, meta.cols);
  const score = readF64(path.join(dir, 'score.f64'), meta.scoreRows, meta.cols);
  const labels = new Uint8Array(fs.readFileSync(path.join(dir, 'labels.u8')));
  return { meta, train, score, labels, features: meta.features };
}
