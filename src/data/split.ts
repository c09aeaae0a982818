/** Row subsets, seeded samples and seeded splits of {@link TrafficData}. */
import { takeRows } from '../core/matrix';
import { recordSeed } from '../core/provenance';
import { Random } from '../core/random';
import type { TrafficData } from './csv';

/** The rows at `indices` (in that order), every column kept. */
export function subsetRows(data: TrafficData, indices: ArrayLike<number>): TrafficData {
  const idx = Array.from(indices);
  return {
    features: data.features,
    X: takeRows(data.X, idx),
    labels: data.labels ? Uint8Array.from(idx, (i) => data.labels![i]) : undefined,
    timestamps: data.timestamps ? idx.map((i) => data.timestamps![i]) : undefined,
    header: data.header,
    records: idx.map((i) => data.records[i]),
    warnings: data.warnings,
    schema: data.schema,
    encoder: data.encoder,
    file: data.file,
  };
}

/**
 * A seeded random sample of `n` rows without replacement, in file order. All rows when `n` is
 * at least the row count.
 * @throws RangeError when `n` is not a positive integer
 */
export function sampleRows(data: TrafficData, n: number, seed: number): TrafficData {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`sampleRows: n must be a positive integer, got ${n}.`);
  if (n >= data.X.rows) return data;
  recordSeed('sampleRows', seed);
  const pick = Array.from(new Random(seed).sampleIndices(data.X.rows, n)).sort((a, b) => a - b);
  return subsetRows(data, pick);
}

/**
 * Seeded split into two parts: a share `fraction` of the rows goes to `train`, every other row to
 * `test`. Row order is kept within each part.
 * - default: the rows scikit-learn's `train_test_split(X, train_size=fraction, random_state=seed)`
 *   puts in each part (`ShuffleSplit`: floor(fraction · n) training rows).
 * - `stratify`: the rows of `train_test_split(X, y, train_size=fraction, stratify=y,
 *   random_state=seed)` (`StratifiedShuffleSplit`: each class split in proportion, the rounding
 *   settled as scikit-learn's `_approximate_mode` does), ADBench's stratified 70/30 split; the
 *   labels only steer the split.
 * - `normalOnly`: only rows with label 0 can go to `train` (round(fraction · normal rows) of
 *   them, a seeded sample); every anomaly is tested.
 *
 * The two scikit-learn cases choose exactly the same rows for the same seed (the library's
 * {@link Random} is numpy's legacy `RandomState`), so a split here and in Python can be compared
 * row for row; scikit-learn returns them shuffled, here they stay in file order.
 */
export function splitTraffic(
  data: TrafficData,
  fraction: number,
  seed: number,
  opts: { normalOnly?: boolean; stratify?: boolean } = {},
): { train: TrafficData; test: TrafficData } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`splitTraffic: fraction must be in (0, 1), got ${fraction}.`);
  if ((opts.normalOnly || opts.stratify) && !data.labels) throw new RangeError(`splitTraffic: ${opts.normalOnly ? 'normalOnly' : 'stratify'} needs labels.`);
  if (opts.normalOnly && opts.stratify) throw new RangeError('splitTraffic: normalOnly and stratify cannot be combined.');
  const n = data.X.rows;
  const inTrain = new Uint8Array(n);
  recordSeed('splitTraffic', seed);
  const rng = new Random(seed);
  if (opts.normalOnly) {
    const pool: number[] = [];
    for (let i = 0; i < n; i++) if (data.labels![i] === 0) pool.push(i);
    for (const k of rng.sampleIndices(pool.length, Math.round(fraction * pool.length))) inTrain[pool[k]] = 1;
  } else {
    const nTrain = Math.floor(fraction * n);
    if (nTrain < 1 || nTrain >= n) throw new RangeError(`splitTraffic: a fraction of ${fraction} of ${n} rows leaves one part empty.`);
    const train = opts.stratify ? stratifiedTrainRows(data.labels!, nTrain, rng) : shuffleTrainRows(n, nTrain, rng);
    for (const i of train) inTrain[i] = 1;
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < n; i++) (inTrain[i] ? train : test).push(i);
  return { train: subsetRows(data, train), test: subsetRows(data, test) };
}

/** scikit-learn `ShuffleSplit` (train_size given): the test rows come first in one permutation. */
function shuffleTrainRows(n: number, nTrain: number, rng: Random): Int32Array {
  return rng.permutation(n).subarray(n - nTrain);
}

/** scikit-learn `StratifiedShuffleSplit._iter_indices` (1.x), the training rows of its first split. */
function stratifiedTrainRows(labels: ArrayLike<number>, nTrain: number, rng: Random): number[] {
  const n = labels.length;
  const classes = Array.from(new Set(Array.from(labels))).sort((a, b) => a - b);
  const members = classes.map((c) => {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (labels[i] === c) rows.push(i);
    return rows;
  });
  const counts = members.map((m) => m.length);
  const nTest = n - nTrain;
  // scikit-learn's own refusals (StratifiedShuffleSplit), so that no split is returned that Python would not give
  const least = Math.min(...counts);
  if (least < 2) throw new RangeError(`splitTraffic: stratify needs at least 2 rows of every label; label ${classes[counts.indexOf(least)]} has ${least}.`);
  if (nTrain < classes.length || nTest < classes.length) {
    throw new RangeError(`splitTraffic: a stratified split needs at least ${classes.length} rows (one per label) in each part; got ${nTrain} training and ${nTest} test rows.`);
  }
  const nI = approximateMode(counts, nTrain, rng);
  approximateMode(counts.map((c, i) => c - nI[i]), nTest, rng); // test counts: drawn for the RNG stream only
  const train: number[] = [];
  for (let c = 0; c < classes.length; c++) {
    const perm = rng.permutation(counts[c]);
    for (let j = 0; j < nI[c]; j++) train.push(members[c][perm[j]]);
  }
  return train;
}

/**
 * scikit-learn `_approximate_mode`: `draws` split over classes in proportion to `counts`, the floor
 * of each share plus one more for the classes with the largest remainders (ties broken at random).
 */
function approximateMode(counts: number[], draws: number, rng: Random): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const continuous = counts.map((c) => (c / total) * draws);
  const floored = continuous.map(Math.floor);
  let need = draws - floored.reduce((a, b) => a + b, 0);
  if (need > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]);
    const values = Array.from(new Set(remainder)).sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, need);
      const chosen = rng.permutation(inds.length).subarray(0, addNow); // RandomState.choice(replace=False)
      for (const k of chosen) floored[inds[k]] += 1;
      need -= addNow;
      if (need === 0) break;
    }
  }
  return floored;
}
