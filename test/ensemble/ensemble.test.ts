import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureMismatchError, ModelFormatError, NotFittedError } from '../../src/core/errors';
import { generateTraffic } from '../../src/data/generator';
import { subsetRows } from '../../src/data/split';
import { AnomalyEnsemble, DEFAULT_DETECTORS, DEFAULT_LOF_NEIGHBORS, SEED_DETECTORS, type DetectionResult } from '../../src/ensemble/ensemble';
import { fuseScores, normalizeScores, topMeanScores } from '../../src/ensemble/combine';

const data = generateTraffic({ rows: 600, anomalyRatio: 0.1, seed: 3 });
const FAST = { autoencoder: { epochs: 3 } } as const;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'nal-ens-'));

function expectSameResult(a: DetectionResult, b: DetectionResult): void {
  expect(b.detectors).toEqual(a.detectors);
  for (const d of a.detectors) {
    expect(Array.from(b.scores[d]!)).toEqual(Array.from(a.scores[d]!));
    expect(Array.from(b.votes[d]!)).toEqual(Array.from(a.votes[d]!));
  }
  expect(Array.from(b.ensembleScore)).toEqual(Array.from(a.ensembleScore));
  expect(Array.from(b.isAnomaly)).toEqual(Array.from(a.isAnomaly));
  expect(b.severity).toEqual(a.severity);
}

describe('AnomalyEnsemble', () => {
  let ens: AnomalyEnsemble;
  let r: DetectionResult;
  // the default's detectors and the seed's four: every kind of saved detector state (LOF's ks, the autoencoder's files)
  let wide: AnomalyEnsemble;
  let rw: DetectionResult;
  const progress: string[] = [];

  beforeAll(async () => {
    ens = await new AnomalyEnsemble({ seed: 5, decision: 'vote', ...FAST, onProgress: (p) => progress.push(p.stage) }).fit(data);
    r = ens.detect(data);
    wide = await new AnomalyEnsemble({ seed: 5, detectors: [...new Set([...DEFAULT_DETECTORS, ...SEED_DETECTORS])], ...FAST }).fit(data);
    rw = wide.detect(data);
  });

  it('gives every detector score and vote, votes, decision, confidence, severity and ensemble score per row', () => {
    expect(r.detectors).toEqual([...DEFAULT_DETECTORS]);
    expect(r.detectors).toEqual(['isolationForest', 'knn', 'hbos', 'pca']);
    const n = data.X.rows;
    for (const d of DEFAULT_DETECTORS) {
      expect(r.scores[d]!.length).toBe(n);
      expect(r.votes[d]!.length).toBe(n);
    }
    // four detectors: the seed's 2-of-4 majority; severity 2 votes low, 3 medium, 4 high
    for (let i = 0; i < n; i++) {
      const v = DEFAULT_DETECTORS.reduce((a, d) => a + r.votes[d]![i], 0);
      expect(r.voteCount[i]).toBe(v);
      expect(r.isAnomaly[i]).toBe(v >= 2 ? 1 : 0);
      expect(r.confidence[i]).toBeGreaterThanOrEqual(0.5);
      expect(r.severity[i]).toBe(v < 2 ? 'none' : v === 2 ? 'low' : v === 3 ? 'medium' : 'high');
    }
    expect(progress.filter((s) => s === 'detector-end').length).toBe(4);
    expect(progress.filter((s) => s === 'epoch').length).toBe(0);
  });

  it('finds the seed anomalies', () => {
    let tp = 0;
    for (let i = 0; i < data.X.rows; i++) if (r.isAnomaly[i] && data.labels![i]) tp++;
    expect(tp).toBeGreaterThanOrEqual(55);
  });

  it('scores a single row exactly as inside a batch', () => {
    const one = subsetRows(data, [0]);
    const r1 = ens.detect(one);
    expect(r1.ensembleScore[0]).toBe(r.ensembleScore[0]);
    expect(r1.isAnomaly[0]).toBe(r.isAnomaly[0]);
  });

  it('is reproducible for a seed', async () => {
    const again = await new AnomalyEnsemble({ seed: 5, decision: 'vote', ...FAST }).fit(data);
    expectSameResult(r, again.detect(data));
  });

  it('saves and loads with bit-identical results, and a second save keeps the folder clean', async () => {
    const dir = tmp();
    await ens.save(dir);
    expectSameResult(r, (await AnomalyEnsemble.load(dir)).detect(data));
    await wide.save(dir);
    const loaded = await AnomalyEnsemble.load(dir);
    expectSameResult(rw, loaded.detect(data));
    expect(loaded.featureNames).toEqual(data.features);
    await loaded.save(dir);
    const again = await AnomalyEnsemble.load(dir);
    expectSameResult(rw, again.detect(data));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    expect(manifest.formatVersion).toBe(2);
    const lof = manifest.detectors.find((d: any) => d.name === 'localOutlierFactor');
    expect(lof.params.ks).toEqual([...DEFAULT_LOF_NEIGHBORS]);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('autoencoder.')).length).toBe(1);
    const ae = manifest.detectors.find((d: any) => d.name === 'autoencoder');
    expect(Object.keys(ae.files).sort()).toEqual(['model.json', 'weights.bin']);
  });

  it('refuses newer format versions, unknown detectors, corrupted and missing files', async () => {
    const dir = tmp();
    await wide.save(dir);
    const mf = path.join(dir, 'manifest.json');
    const orig = fs.readFileSync(mf, 'utf8');
    const m = JSON.parse(orig);
    fs.writeFileSync(mf, JSON.stringify({ ...m, formatVersion: 99 }));
    await expect(AnomalyEnsemble.load(dir)).rejects.toThrow(/format version 99 .* reads up to 2/);
    fs.writeFileSync(mf, JSON.stringify({ ...m, detectors: [{ ...m.detectors[0], className: 'Evil' }] }));
    await expect(AnomalyEnsemble.load(dir)).rejects.toThrow(/unknown detector 'Evil'/);
    fs.writeFileSync(mf, orig.slice(0, orig.length / 2));
    await expect(AnomalyEnsemble.load(dir)).rejects.toThrow(ModelFormatError);
    fs.writeFileSync(mf, orig);
    const ae = m.detectors.find((d: any) => d.name === 'autoencoder');
    const w = path.join(dir, ae.files['weights.bin'].file);
    const bytes = fs.readFileSync(w);
    fs.writeFileSync(w, bytes.subarray(0, 100));
    await expect(AnomalyEnsemble.load(dir)).rejects.toThrow(/weights.bin: has 100 bytes/);
    fs.rmSync(w);
    await expect(AnomalyEnsemble.load(dir)).rejects.toThrow(/weights.bin: is missing/);
  });

  it('loads model folders of format version 1 (before issue 12: one LOF k, no ks) with the same results', async () => {
    const old = await new AnomalyEnsemble({ preset: 'seed', seed: 2, ...FAST }).fit(data);
    const want = old.detect(data);
    const dir = tmp();
    await old.save(dir);
    const mf = path.join(dir, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
    for (const d of m.detectors) if (d.name === 'localOutlierFactor') delete d.params.ks;
    delete m.options.agreementFloor; // format 1 had none: its weights came from agreement alone
    fs.writeFileSync(mf, JSON.stringify({ ...m, formatVersion: 1 }));
    const loaded = await AnomalyEnsemble.load(dir);
    expectSameResult(want, loaded.detect(data));
    expect(loaded.options.agreementFloor).toBe(0);
    old.dispose();
  });

  it('takes any detectors, the new ones included, and saves and loads them bit-identically', async () => {
    const e = await new AnomalyEnsemble({ seed: 4, detectors: ['knn', 'ecod', 'pca', 'isolationForest'], knn: { nNeighbors: 10 } }).fit(data);
    const res = e.detect(data);
    expect(res.detectors).toEqual(['isolationForest', 'knn', 'ecod', 'pca']);
    const dir = tmp();
    await e.save(dir);
    expectSameResult(res, (await AnomalyEnsemble.load(dir)).detect(data));
  });

  it('a model saved with the previous default (six detectors, agreement weights) keeps its options when loaded', async () => {
    const previous = { seed: 5, detectors: ['isolationForest', 'oneClassSvm', 'localOutlierFactor', 'autoencoder', 'copod', 'hbos'], weights: 'agreement', ...FAST } as const;
    const e = await new AnomalyEnsemble({ ...previous, detectors: [...previous.detectors] }).fit(data);
    const res = e.detect(data);
    const dir = tmp();
    await e.save(dir);
    const loaded = await AnomalyEnsemble.load(dir);
    // the saved options, not today's defaults
    expect(loaded.options).toEqual(e.options);
    expect(loaded.options.detectors).toEqual([...previous.detectors]);
    expect(loaded.options.detectors).not.toEqual([...DEFAULT_DETECTORS]);
    expect(loaded.options.weights).toBe('agreement');
    expect(loaded.weights).toEqual(e.weights);
    expectSameResult(res, loaded.detect(data));
    e.dispose();
    loaded.dispose();
  });

  it('the default detectors train on a handful of rows (kNN\'s k capped at the rows - 1) with finite scores', async () => {
    for (const n of [3, 5, 12]) {
      const few = subsetRows(data, Array.from({ length: n }, (_, i) => i));
      const e = await new AnomalyEnsemble({ seed: 1 }).fit(few);
      expect(e.options.detectors).toEqual([...DEFAULT_DETECTORS]);
      const r = e.detect(data);
      for (const d of r.detectors) for (const v of r.scores[d]!) expect(Number.isFinite(v), `${n} rows, ${d}`).toBe(true);
      for (const v of r.ensembleScore) expect(Number.isFinite(v), `${n} rows`).toBe(true);
      e.dispose();
    }
  });

  it('refuses rows with other features, naming them', () => {
    const other = { ...data, features: data.features.map((f) => (f === 'flag' ? 'flags' : f)) };
    expect(() => ens.detect(other)).toThrow(FeatureMismatchError);
    expect(() => ens.detect(other)).toThrow(/missing flag; unexpected flags/);
    expect(() => ens.detect({ rows: 1, cols: 9, data: new Float64Array(9) })).toThrow(/fitted with 10 features, got 9/);
  });

  it('throws NotFittedError before fit', () => {
    expect(() => new AnomalyEnsemble().detect(data)).toThrow(NotFittedError);
  });

  it('the seed preset is the original configuration; options are validated', () => {
    const seed = new AnomalyEnsemble({ preset: 'seed' });
    expect(seed.options.detectors).toEqual([...SEED_DETECTORS]);
    expect(seed.options.localOutlierFactor.nNeighbors).toBe(20);
    expect(seed.options.minVotes).toBe(2);
    expect(seed.options.contamination).toBe(0.15);
    expect(seed.options.weights).toBe('equal');
    expect(seed.options.fusion).toBe('mean');
    expect(seed.options.normalization).toBe('robust');
    const def = new AnomalyEnsemble();
    expect(def.options.detectors).toEqual([...DEFAULT_DETECTORS]);
    expect(def.options.localOutlierFactor.nNeighbors).toEqual([20, 50, 100, 200]);
    expect(def.options.minVotes).toBe(2);
    expect(def.options.weights).toBe('equal');
    expect(() => new AnomalyEnsemble({ minVotes: 5 })).toThrow(/'minVotes' option of AnomalyEnsemble must be an integer in \[1, 4\]/);
    expect(() => new AnomalyEnsemble({ preset: 'seed', minVotes: 5 })).toThrow(/must be an integer in \[1, 4\]/);
    expect(() => new AnomalyEnsemble({ detectors: ['isolationForest', 'lof' as never] })).toThrow(/detectors/);
    expect(() => new AnomalyEnsemble({ contamination: 0.7 })).toThrow(/contamination/);
    expect(() => new AnomalyEnsemble({ seed: -1 })).toThrow(/seed/);
    expect(() => new AnomalyEnsemble({ detectors: [] })).toThrow(/detectors/);
  });

  it('fuses with fusion "top" by the top third of the normalised scores, and decides on the fused score', async () => {
    expect(new AnomalyEnsemble().options.fusion).toBe('mean');
    expect(new AnomalyEnsemble().options.weights).toBe('equal');
    const def = await new AnomalyEnsemble({ seed: 5, fusion: 'top', ...FAST }).fit(data);
    expect(def.options.fusion).toBe('top');
    expect(def.options.weights).toBe('equal');
    expect(def.options.decision).toBe('score');
    for (const d of DEFAULT_DETECTORS) expect(def.weights[d]).toBeCloseTo(1 / 4, 15);
    const res = def.detect(data);
    for (let i = 0; i < data.X.rows; i++) expect(res.isAnomaly[i]).toBe(res.ensembleScore[i] > res.ensembleThreshold ? 1 : 0);
    // the ensemble score: per row the mean of the 2 highest of the 4 robust-log scores
    const cols = DEFAULT_DETECTORS.map((d) => normalizeScores(res.scores[d]!, def.stats(d), 'robust-log'));
    expect(Array.from(res.ensembleScore)).toEqual(Array.from(topMeanScores(cols, 2)));
    // weights apply to the weighted mean only
    expect(() => new AnomalyEnsemble({ fusion: 'top', weights: 'agreement' })).toThrow(/The 'weights' option of AnomalyEnsemble must be "equal" with fusion "top"/);
    expect(() => new AnomalyEnsemble({ fusion: 'max' as never })).toThrow(/'fusion' option of AnomalyEnsemble must be "top" or "mean"/);
  });

  it('learns agreement weights without labels with fusion "mean", summing to 1, none below half its equal share', async () => {
    // weights given without a fusion mean the weighted mean (so a model saved before the top fusion loads as it was)
    const agree = await new AnomalyEnsemble({ seed: 5, weights: 'agreement', ...FAST }).fit(data);
    expect(agree.options.fusion).toBe('mean');
    const w = agree.weights;
    expect(Object.values(w).reduce((a, b) => a + b!, 0)).toBeCloseTo(1, 12);
    for (const d of DEFAULT_DETECTORS) expect(w[d]).toBeGreaterThanOrEqual(0.5 / 4 - 1e-12);
    const res = agree.detect(data);
    const cols = DEFAULT_DETECTORS.map((d) => normalizeScores(res.scores[d]!, agree.stats(d), 'robust-log'));
    const fused = fuseScores(cols, DEFAULT_DETECTORS.map((d) => w[d]!));
    for (let i = 0; i < data.X.rows; i++) expect(res.ensembleScore[i]).toBeCloseTo(fused[i], 12);
    // agreementFloor 0: agreement alone (before issue 12); the default mixes in half equal weights
    const alone = await new AnomalyEnsemble({ seed: 5, fusion: 'mean', weights: 'agreement', agreementFloor: 0, ...FAST }).fit(data);
    for (const d of DEFAULT_DETECTORS) expect(agree.weights[d]).toBeCloseTo(0.5 * alone.weights[d]! + 0.5 / 4, 12);
    expect(() => new AnomalyEnsemble({ agreementFloor: 2 })).toThrow(/The 'agreementFloor' option of AnomalyEnsemble must be a number in \[0, 1\]. Got 2./);
    // the default: equal weights, the plain mean of the normalised scores
    const eq = await new AnomalyEnsemble({ seed: 5, ...FAST }).fit(data);
    expect(eq.options.fusion).toBe('mean');
    expect(eq.options.weights).toBe('equal');
    for (const d of DEFAULT_DETECTORS) expect(eq.weights[d]).toBeCloseTo(1 / 4, 15);
    const eres = eq.detect(data);
    const ecols = DEFAULT_DETECTORS.map((d) => normalizeScores(eres.scores[d]!, eq.stats(d), 'robust-log'));
    const emean = fuseScores(ecols);
    for (let i = 0; i < data.X.rows; i++) expect(eres.ensembleScore[i]).toBeCloseTo(emean[i], 12);
  });

  it('a subset of detectors and a score decision work', async () => {
    const e = await new AnomalyEnsemble({ seed: 1, detectors: ['isolationForest', 'localOutlierFactor'], decision: 'score' }).fit(data);
    const res = e.detect(data);
    expect(res.detectors).toEqual(['isolationForest', 'localOutlierFactor']);
    for (let i = 0; i < data.X.rows; i++) expect(res.isAnomaly[i]).toBe(res.ensembleScore[i] > res.ensembleThreshold ? 1 : 0);
  });
});
