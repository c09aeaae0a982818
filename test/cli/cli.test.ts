import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECTORS, SEED_DETECTORS } from '../../src/ensemble/ensemble';
import { nal } from '../support/cli';



const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-cli-'));
const csv = path.join(dir, 'traffic.csv');
const model = path.join(dir, 'model');

describe('nal CLI', () => {
  it('generate writes a seeded CSV', async () => {
    const r = await nal('generate', '--rows', '400', '--anomaly-ratio', '0.1', '--seed', '7', '--out', csv);
    expect(r.code).toBe(0);
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines.length).toBe(401);
    expect(lines[0]).toBe('timestamp,packet_size,duration,src_bytes,dst_bytes,protocol_type,flag,src_port,dst_port,packet_rate,error_rate,label');
  });

  it('train saves a model, detect writes every input column and the result columns', async () => {
    // the default detectors, and (in a second model) the seed's four beside them: the One-Class SVM,
    // LOF and the autoencoder (its --epochs) saved, loaded and scored through the CLI
    const wide = [...new Set([...DEFAULT_DETECTORS, ...SEED_DETECTORS])];
    const wideModel = path.join(dir, 'model-wide');
    for (const [m, detectors, extra] of [
      [model, DEFAULT_DETECTORS, []],
      [wideModel, wide, ['--detectors', wide.join(',')]],
    ] as const) {
      const t = await nal('train', '--data', csv, '--seed', '3', '--epochs', '2', ...extra, '--model', m, '--quiet');
      expect(t.code).toBe(0);
      expect(fs.existsSync(path.join(m, 'manifest.json'))).toBe(true);
      const manifest = JSON.parse(fs.readFileSync(path.join(m, 'manifest.json'), 'utf8'));
      expect(manifest.detectors.map((x: any) => x.name).sort()).toEqual([...detectors].sort());
      const out = path.join(dir, 'scored.csv');
      const d = await nal('detect', '--data', csv, '--model', m, '--out', out, '--quiet');
      expect(d.code).toBe(0);
      const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
      expect(lines.length).toBe(401);
      const header = lines[0].split(',');
      expect(header.slice(0, 12)).toEqual(fs.readFileSync(csv, 'utf8').split('\n')[0].split(','));
      for (const c of [...detectors.flatMap((x) => [`${x}_score`, `${x}_vote`]), 'votes', 'is_anomaly', 'confidence', 'severity', 'ensemble_score']) {
        expect(header, m).toContain(c);
      }
      // no columns of detectors the model does not have
      expect(header.filter((c) => c.endsWith('_score') && c !== 'ensemble_score').length, m).toBe(detectors.length);
    }
  });

  it('evaluate --json prints metrics per model and timings', async () => {
    const r = await nal('evaluate', '--data', csv, '--contamination', '0.1', '--seed', '1', '--epochs', '2', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // the default ensemble: Isolation Forest, kNN distance, HBOS and PCA, with equal weights
    expect(Object.keys(j.models).sort()).toEqual(['ensemble', 'hbos', 'isolationForest', 'knn', 'pca']);
    expect(j.options.detectors).toEqual([...DEFAULT_DETECTORS]);
    expect(j.options.weights).toBe('equal');
    expect(j.options.fusion).toBe('mean');
    expect(j.options.minVotes).toBe(2);
    // --epochs without the autoencoder among the detectors: said once on stderr, the run goes on
    expect(r.err).toContain("warning: --epochs applies to autoencoder, which is not among the detectors (isolationForest,knn,hbos,pca); add it with --detectors isolationForest,knn,hbos,pca,autoencoder or use --preset seed (the seed app's four detectors and 2-of-4 vote).");
    // both flags unused, detectors chosen explicitly: one warning, no preset advice; --quiet: none
    const both = await nal('evaluate', '--data', csv, '--seed', '1', '--detectors', 'isolationForest,hbos', '--epochs', '2', '--lof-k', '5', '--json');
    expect(both.err).toContain('warning: --epochs and --lof-k apply to autoencoder and localOutlierFactor, which are not among the detectors (isolationForest,hbos); add them with --detectors isolationForest,hbos,autoencoder,localOutlierFactor.\n');
    expect(both.err.match(/warning/g)).toHaveLength(1);
    expect((await nal('evaluate', '--data', csv, '--seed', '1', '--epochs', '2', '--quiet', '--json')).err).not.toContain('warning');
    // --knn-k sets the default member kNN's neighbours: one k, or several
    const k5 = await nal('evaluate', '--data', csv, '--seed', '1', '--knn-k', '5', '--json');
    expect(k5.err).not.toContain('warning');
    expect(JSON.parse(k5.out).options.knn.nNeighbors).toBe(5);
    expect(JSON.parse((await nal('evaluate', '--data', csv, '--seed', '1', '--knn-k', '5,10', '--json')).out).options.knn.nNeighbors).toEqual([5, 10]);
    const withSeed = await nal('evaluate', '--data', csv, '--preset', 'seed', '--seed', '1', '--epochs', '2', '--json');
    expect(withSeed.err).not.toContain('warning');
    const seed = JSON.parse(withSeed.out);
    expect(Object.keys(seed.models).sort()).toEqual(['autoencoder', 'ensemble', 'isolationForest', 'localOutlierFactor', 'oneClassSvm']);
    for (const m of Object.values(j.models) as any[]) {
      expect(Object.keys(m).sort()).toEqual(['accuracy', 'f1', 'fn', 'fp', 'prAuc', 'precision', 'recall', 'rocAuc', 'tn', 'tp']);
    }
    expect(j.seconds.fit).toBeGreaterThan(0);
    expect(j.seconds.score).toBeGreaterThan(0);
    expect(j.models.ensemble.rocAuc).toBeGreaterThan(0.95);
  });

  it('evaluate --normal-only --train-fraction trains on a seeded share of normal rows', async () => {
    const r = await nal('evaluate', '--data', csv, '--normal-only', '--train-fraction', '0.7', '--contamination', 'auto', '--seed', '2', '--detectors', 'isolationForest,localOutlierFactor', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.trainRows).toBe(Math.round(0.7 * 360));
    expect(j.evalRows).toBe(400 - j.trainRows);
  });

  it('--detectors takes the new detectors, --lof-k one k or several', async () => {
    const r = await nal('evaluate', '--data', csv, '--seed', '3', '--detectors', 'knn,ecod,pca,localOutlierFactor', '--lof-k', '5,10,30', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j.models).sort()).toEqual(['ecod', 'ensemble', 'knn', 'localOutlierFactor', 'pca']);
    expect(j.options.localOutlierFactor.nNeighbors).toEqual([5, 10, 30]);
    const bad = await nal('evaluate', '--data', csv, '--lof-k', '5,x');
    expect(bad.code).toBe(2);
    expect(bad.err).toBe("nal: --lof-k must be an integer >= 1, got 'x'.\n");
    const unknown = await nal('evaluate', '--data', csv, '--detectors', 'knn,lof');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/--detectors takes names from isolationForest,oneClassSvm,localOutlierFactor,autoencoder,knn,ecod,copod,hbos,pca, got 'knn,lof'/);
  });

  it('errors are one line on stderr with a non-zero exit, stack only with --debug', async () => {
    const missing = await nal('train', '--model', model);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('nal: --data is required (see nal train --help).\n');
    const nofile = await nal('detect', '--data', path.join(dir, 'nope.csv'), '--model', model, '--out', path.join(dir, 'x.csv'));
    expect(nofile.code).toBe(1);
    expect(nofile.err.trim().split('\n')).toHaveLength(1);
    expect(nofile.err).toMatch(/nope.csv: file not found/);
    expect(fs.existsSync(path.join(dir, 'x.csv'))).toBe(false);
    const dbg = await nal('detect', '--data', path.join(dir, 'nope.csv'), '--model', model, '--out', path.join(dir, 'x.csv'), '--debug');
    expect(dbg.err).toMatch(/\n\s+at /);
    const badC = await nal('train', '--data', csv, '--model', model, '--contamination', '0.9');
    expect(badC.code).toBe(2);
    expect(badC.err).toMatch(/--contamination must be a number in \(0, 0.5\] or 'auto'/);
    const unknown = await nal('frobnicate');
    expect(unknown.code).toBe(2);
    const nomodel = await nal('detect', '--data', csv, '--model', path.join(dir, 'none'), '--out', path.join(dir, 'y.csv'));
    expect(nomodel.err).toMatch(/model folder not found/);
  });
});
