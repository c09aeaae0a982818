/**
 * Model folders under hostile conditions: concurrent writers, a writer killed at random moments,
 * a --model that is not a model folder, tampered manifests and parts that are not regular files.
 * Nothing saved before is ever lost, and every refusal is one line naming the file.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lockModelFolder, LOCK_FILE } from '../../src/core/persistence';
import { Random } from '../../src/core/random';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';
import { nal } from '../support/cli';
import { folderHash, runNal, startNal, stderrShows, tempFilesUnder } from '../support/process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-folder-'));
const csv = path.join(dir, 'train.csv');
const model = path.join(dir, 'model');
const TRAIN = ['--epochs', '2', '--detectors', 'isolationForest,localOutlierFactor,autoencoder', '--quiet'];
let modelHash = '';

/** A pid that is certainly not running: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const manifestOf = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'manifest.json'), 'utf8'));
const writeManifest = (d: string, m: unknown) => fs.writeFileSync(path.join(d, 'manifest.json'), JSON.stringify(m, null, 2));
const copyModel = (name: string) => {
  const d = path.join(dir, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.cpSync(model, d, { recursive: true });
  return d;
};
const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  fs.writeFileSync(csv, trafficToCsv(generateTraffic({ rows: 300, anomalyRatio: 0.1, seed: 3 })));
  const r = await nal('train', '--data', csv, '--model', model, '--seed', '1', ...TRAIN);
  expect(r.code, r.err).toBe(0);
  modelHash = folderHash(model);
});

describe('one writer at a time', () => {
  it('a train into a folder another process has locked is refused with the holder PID, and the folder is unchanged', async () => {
    const lock = lockModelFolder(model);
    try {
      const r = await runNal(['train', '--data', csv, '--model', model, '--seed', '2', ...TRAIN]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(new RegExp(`model folder in use by PID ${process.pid}\\b`));
      expect(r.err.trim().split('\n')).toHaveLength(1);
    } finally {
      lock.release();
    }
    expect(fs.existsSync(path.join(model, LOCK_FILE))).toBe(false);
    expect(folderHash(model)).toBe(modelHash);
  });

  it('the lock is re-entrant within a process; a save into a folder another live process has locked is refused', async () => {
    const ens = await AnomalyEnsemble.load(model);
    const lock = lockModelFolder(model);
    try {
      // a train holds its folder and then saves into it
      await ens.save(model, { again: true });
      expect(manifestOf(model).metadata).toEqual({ again: true });
    } finally {
      lock.release();
    }
    expect(fs.existsSync(path.join(model, LOCK_FILE))).toBe(false);
    const d = copyModel('held-by-other');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid: sleeper.pid, host: os.hostname(), since: new Date().toISOString(), command: 'nal train' }) + '\n');
      const before = folderHash(d);
      await expect(ens.save(d)).rejects.toThrow(new RegExp(`model folder in use by PID ${sleeper.pid} \\(nal train since`));
      expect(folderHash(d)).toBe(before);
    } finally {
      sleeper.kill('SIGKILL');
      ens.dispose();
    }
    const r = await nal('train', '--data', csv, '--model', model, '--seed', '1', ...TRAIN);
    expect(r.code).toBe(0);
    modelHash = folderHash(model);
  });

  it('a lock left by a killed process is taken over', async () => {
    const d = copyModel('stale-lock');
    const pid = deadPid();
    fs.writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid, host: os.hostname(), since: new Date().toISOString(), command: 'nal train' }) + '\n');
    const r = await runNal(['train', '--data', csv, '--model', d, '--seed', '2', ...TRAIN]);
    expect(r.code, r.err).toBe(0);
    expect(fs.existsSync(path.join(d, LOCK_FILE))).toBe(false);
    (await AnomalyEnsemble.load(d)).dispose();
  });

  it('a lock held on another machine (a shared folder) is not taken over: the message says how to clear it', async () => {
    const d = copyModel('other-host');
    fs.writeFileSync(path.join(d, LOCK_FILE), JSON.stringify({ pid: deadPid(), host: 'elsewhere.example', since: new Date().toISOString(), command: 'nal train' }) + '\n');
    const r = await nal('train', '--data', csv, '--model', d, ...TRAIN);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/model folder in use by PID \d+ \(nal train since [\d:]+ UTC\) on elsewhere\.example; if nothing runs there any more, remove .*\.lock/);
  });

  it('two trains started together into one folder never leave a broken folder (3 rounds from empty, 2 over a model)', async () => {
    for (let round = 0; round < 5; round++) {
      const d = path.join(dir, `race-${round}`);
      if (round >= 3) fs.cpSync(model, d, { recursive: true });
      const [a, b] = await Promise.all([
        runNal(['train', '--data', csv, '--model', d, '--seed', '11', ...TRAIN]),
        runNal(['train', '--data', csv, '--model', d, '--seed', '12', ...TRAIN]),
      ]);
      for (const r of [a, b]) {
        // each either finished or was refused because the other held the folder; nothing else
        if (r.code !== 0) expect(r.err).toMatch(/model folder in use by PID \d+/);
      }
      expect(a.code === 0 || b.code === 0).toBe(true);
      const ens = await AnomalyEnsemble.load(d);
      expect([11, 12]).toContain(ens.options.seed);
      ens.dispose();
      expect(tempFilesUnder(d)).toEqual([]);
      expect(fs.existsSync(path.join(d, LOCK_FILE))).toBe(false);
    }
  }, 120_000);

  it('a train killed (SIGKILL) at random moments leaves a loadable model (the earlier or the new one), and the next train takes over its lock', async () => {
    const d = copyModel('killed');
    const rng = new Random(5);
    const outcome = { before: 0, after: 0 };
    for (let k = 0; k < 8; k++) {
      const before = folderHash(d);
      const child = await startNal(['train', '--data', csv, '--model', d, '--seed', String(20 + k), ...TRAIN]);
      await new Promise((r) => setTimeout(r, 150 + rng.int(2500)));
      child.kill('SIGKILL');
      await child.done;
      const ens = await AnomalyEnsemble.load(d); // whole, whichever it is
      ens.dispose();
      fs.rmSync(path.join(d, LOCK_FILE), { force: true }); // (a lock left behind is taken over: tested above)
      const same = tempFilesUnder(d).length === 0 && folderHash(d) === before;
      outcome[same ? 'before' : 'after']++;
    }
    const r = await runNal(['train', '--data', csv, '--model', d, '--seed', '30', ...TRAIN]);
    expect(r.code, r.err).toBe(0);
    expect(tempFilesUnder(d)).toEqual([]);
    expect(fs.existsSync(path.join(d, LOCK_FILE))).toBe(false);
    console.log(`killed train: ${outcome.before} of 8 kills left the folder as it was, ${outcome.after} came during or after the save`);
  }, 120_000);

  it('SIGINT stops a train at once (the signal\'s default action: exit status 130 in a shell) and the model is unchanged', async () => {
    const d = copyModel('interrupted');
    const before = folderHash(d);
    // 100,000 epochs: minutes of training, so only the signal can end it
    const child = await startNal(['train', '--data', csv, '--model', d, '--seed', '9', '--epochs', '100000', '--detectors', 'isolationForest,autoencoder']);
    await stderrShows(child, /fitted isolationForest/);
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await child.done;
    console.log(`train stopped ${Date.now() - t0} ms after SIGINT`);
    expect(r.signal === 'SIGINT' || r.code === 130).toBe(true);
    // the model is unchanged; the stopped run's lock file is left, and taken over by the next run
    fs.rmSync(path.join(d, LOCK_FILE), { force: true });
    expect(folderHash(d)).toBe(before);
  }, 60_000);

  it('the lock a stopped train left is taken over by the next one', async () => {
    const d = copyModel('interrupted-lock');
    const child = await startNal(['train', '--data', csv, '--model', d, '--seed', '9', '--epochs', '100000', '--detectors', 'isolationForest,autoencoder']);
    await stderrShows(child, /fitted isolationForest/);
    expect(fs.existsSync(path.join(d, LOCK_FILE))).toBe(true);
    child.kill('SIGTERM');
    await child.done;
    const again = await runNal(['train', '--data', csv, '--model', d, '--seed', '9', ...TRAIN]);
    expect(again.code, again.err).toBe(0);
    expect(fs.existsSync(path.join(d, LOCK_FILE))).toBe(false);
  }, 60_000);
});

describe('a --model that is not a model folder is refused before anything is touched', () => {
  const cases: [string, (d: string) => void, RegExp][] = [
    ['a folder of other files', (d) => fs.writeFileSync(path.join(d, 'data.csv'), 'a,b\n1,2\n'), /is not empty and is not a model folder \(it holds data\.csv\)/],
    ['a manifest.json of something else', (d) => fs.writeFileSync(path.join(d, 'manifest.json'), '{"name": "my-app"}\n'), /holds a manifest\.json that is not a network-anomaly-lab\/ensemble model/],
    [
      'a <name>.<16 hex> folder of other files',
      (d) => {
        fs.mkdirSync(path.join(d, 'backup.0123456789abcdef'));
        fs.writeFileSync(path.join(d, 'backup.0123456789abcdef', 'notes.txt'), 'keep me');
      },
      /it holds backup\.0123456789abcdef\//,
    ],
    ['a sub-folder', (d) => fs.mkdirSync(path.join(d, 'photos')), /it holds photos\//],
  ];
  it.each(cases)('%s', async (name, setup, message) => {
    const d = path.join(dir, `foreign-${name.replace(/\W+/g, '-')}`);
    fs.mkdirSync(d, { recursive: true });
    setup(d);
    const before = folderHash(d);
    const r = await nal('train', '--data', csv, '--model', d, ...TRAIN);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(folderHash(d)).toBe(before);
    // feedback retraining refuses it the same way
    const fb = path.join(dir, 'one-label.jsonl');
    fs.writeFileSync(fb, JSON.stringify({ row_id: '0123456789abcdef', label: 'fp', at: '2025-01-01T00:00:00Z' }) + '\n');
    const r2 = await nal('train', '--data', csv, '--model', d, '--feedback', fb, ...TRAIN);
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(message);
    expect(folderHash(d)).toBe(before);
  });

  it('a file given as --model is refused', async () => {
    const before = fs.readFileSync(csv);
    const r = await nal('train', '--data', csv, '--model', csv, ...TRAIN);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/train\.csv: is a file, not a folder/);
    expect(fs.readFileSync(csv)).toEqual(before);
  });

  it('a failed train into a new folder leaves no folder behind; one of ours with temp files of a killed run is reused and cleaned', async () => {
    const d = path.join(dir, 'never');
    const r = await nal('train', '--data', path.join(dir, 'missing.csv'), '--model', d, ...TRAIN);
    expect(r.code).toBe(1);
    expect(fs.existsSync(d)).toBe(false);
    const ours = copyModel('leftovers');
    const stale = `.manifest.json.tmp-${deadPid()}-abc-0`;
    fs.writeFileSync(path.join(ours, stale), 'half a manifest');
    const ok = await nal('train', '--data', csv, '--model', ours, '--seed', '3', ...TRAIN);
    expect(ok.code, ok.err).toBe(0);
    expect(fs.existsSync(path.join(ours, stale))).toBe(false);
  });
});

describe('every number of a manifest is checked before use', () => {
  const m0 = () => manifestOf(model);
  const det = (m: any, name: string) => m.detectors.find((x: any) => x.name === name);
  const cases: [string, (m: any) => unknown, RegExp][] = [
    ['a threshold that is text', (m) => ({ ...m, ensembleThreshold: 'high' }), /invalid ensembleThreshold "high"/],
    ['a threshold of 1e999 (Infinity)', (m) => ({ ...m, ensembleThreshold: '__1e999__' }), /invalid ensembleThreshold null|invalid ensembleThreshold/],
    ['an IQR of 0', (m) => ({ ...m, stats: { ...m.stats, isolationForest: { ...m.stats.isolationForest, iqr: 0 } } }), /stats\.isolationForest\.iqr 0 .* must be > 0/],
    ['a median of null', (m) => ({ ...m, stats: { ...m.stats, autoencoder: { ...m.stats.autoencoder, median: null } } }), /invalid stats\.autoencoder\.median null/],
    ['a negative fusion weight', (m) => ({ ...m, weights: { ...m.weights, autoencoder: -1 } }), /invalid weights\.autoencoder -1/],
    ['fusion weights that sum to 0', (m) => ({ ...m, weights: Object.fromEntries(Object.keys(m.weights).map((k) => [k, 0])) }), /fusion weights that sum to 0/],
    ['a scaler scale of 0', (m) => ({ ...m, scaler: { ...m.scaler, scale: [0, ...m.scaler.scale.slice(1)] } }), /scale\[0\] is 0, not a finite number > 0/],
    ['a scaler mean that is text', (m) => ({ ...m, scaler: { ...m.scaler, mean: ['x', ...m.scaler.mean.slice(1)] } }), /mean\[0\] is "x"/],
    ['a scaler of another width', (m) => ({ ...m, scaler: { mean: m.scaler.mean.slice(1), scale: m.scaler.scale.slice(1) } }), /scaler has 9 columns/],
    ['a duplicated feature name', (m) => ({ ...m, featureNames: [m.featureNames[0], ...m.featureNames.slice(0, -1)] }), /lists a feature name twice/],
    ['no feature names', (m) => ({ ...m, featureNames: [] }), /invalid featureNames/],
    ['a detector listed twice', (m) => ({ ...m, detectors: [...m.detectors, m.detectors[0]] }), /lists detector 'isolationForest' twice/],
    ['a part of 10^15 bytes', (m) => { det(m, 'isolationForest').arrays.split.bytes = 1e15; return m; }, /invalid size 1000000000000000/],
    ['a part path out of the folder', (m) => { det(m, 'isolationForest').arrays.split.file = '../../etc/passwd'; return m; }, /invalid part path "\.\.\/\.\.\/etc\/passwd"/],
    ['an absolute part path', (m) => { det(m, 'isolationForest').arrays.split.file = '/etc/passwd'; return m; }, /invalid part path "\/etc\/passwd"/],
    ['a checksum that is not hex', (m) => { det(m, 'isolationForest').arrays.split.sha256 = 'zz'; return m; }, /invalid sha256 "zz"/],
    ['an unknown dtype', (m) => { det(m, 'isolationForest').arrays.split.dtype = 'float128'; return m; }, /unknown dtype "float128"/],
    ['a negative seed', (m) => ({ ...m, seed: -1 }), /invalid seed -1/],
    ['zero training rows', (m) => ({ ...m, nTrainRows: 0 }), /invalid nTrainRows 0/],
    ['a detector threshold that is text', (m) => { det(m, 'localOutlierFactor').params.base.threshold = 'high'; return m; }, /threshold "high" is not a finite number/],
    ['a detector width of 10^9', (m) => { det(m, 'isolationForest').params.base.nFeatures = 1e9; return m; }, /nFeatures 1000000000 is not an integer in \[1, 10000000\]/],
    ['an invalid contamination option', (m) => ({ ...m, options: { ...m.options, contamination: 7 } }), /invalid options: The 'contamination' option/],
    [
      'options naming other detectors',
      (m) => ({ ...m, options: { ...m.options, detectors: ['isolationForest', 'oneClassSvm', 'localOutlierFactor'] } }),
      /lists detectors isolationForest, localOutlierFactor, autoencoder but its options name isolationForest, oneClassSvm, localOutlierFactor/,
    ],
  ];
  it.each(cases)('%s', async (name, mutate, message) => {
    const d = copyModel(`tamper-${name.replace(/\W+/g, '-')}`);
    const text = JSON.stringify(mutate(m0()), null, 2).replace('"__1e999__"', '1e999');
    fs.writeFileSync(path.join(d, 'manifest.json'), text);
    await expect(AnomalyEnsemble.load(d)).rejects.toThrow(message);
    const out = path.join(dir, 'tamper-out.csv');
    const r = await nal('detect', '--data', csv, '--model', d, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/manifest\.json/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('a float part holding NaN (checksum updated to match) is refused by name', async () => {
    const d = copyModel('nan-part');
    const m = manifestOf(d);
    const e = det(m, 'isolationForest').arrays.split;
    const f = path.join(d, e.file);
    const b = fs.readFileSync(f);
    b.writeDoubleLE(NaN, 8);
    fs.writeFileSync(f, b);
    e.sha256 = sha(b);
    writeManifest(d, m);
    await expect(AnomalyEnsemble.load(d)).rejects.toThrow(/split\.bin: holds a non-finite value \(NaN\) at index 1/);
  });

  it('autoencoder weights that are NaN (checksums updated) are refused', async () => {
    const d = copyModel('nan-weights');
    const m = manifestOf(d);
    const ae = det(m, 'autoencoder');
    const e = ae.files['weights.bin'];
    const f = path.join(d, e.file);
    const b = fs.readFileSync(f);
    for (let k = 0; k < b.length; k += 4) b.writeFloatLE(NaN, k);
    fs.writeFileSync(f, b);
    e.sha256 = sha(b);
    delete ae.params.weightsCrc32;
    writeManifest(d, m);
    await expect(AnomalyEnsemble.load(d)).rejects.toThrow(/manifest\.json: detector 'autoencoder': weights\.bin: contains non-finite weights/);
  });
});

describe('only regular files inside the folder are read', () => {
  const splitOf = (d: string) => path.join(d, manifestOf(d).detectors[0].arrays.split.file);

  it('a part that is a symlink to /dev/zero is refused without reading it', async () => {
    const d = copyModel('devzero');
    const f = splitOf(d);
    fs.rmSync(f);
    fs.symlinkSync('/dev/zero', f);
    const before = process.memoryUsage().rss;
    await expect(AnomalyEnsemble.load(d)).rejects.toThrow(/split\.bin: is a symbolic link; model files must be regular files/);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 2 ** 20);
  });

  it('a part that is a FIFO is refused at once (no hang)', async () => {
    const d = copyModel('fifo');
    const f = splitOf(d);
    fs.rmSync(f);
    const mk = spawnSync('mkfifo', [f]);
    if (mk.status !== 0) {
      console.log('skipped the FIFO case: mkfifo is not available here');
      return;
    }
    const r = await runNal(['detect', '--data', csv, '--model', d, '--out', path.join(dir, 'fifo-out.csv')], { timeout: 20_000 });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/split\.bin: is not a regular file \(a FIFO\)/);
  });

  it('a part symlinked to an identical file outside the folder, a symlinked part folder and a symlinked manifest are refused', async () => {
    const d = copyModel('outside');
    const f = splitOf(d);
    const outside = path.join(dir, 'outside-split.bin');
    fs.copyFileSync(f, outside);
    fs.rmSync(f);
    fs.symlinkSync(outside, f);
    await expect(AnomalyEnsemble.load(d)).rejects.toThrow(/split\.bin: is a symbolic link/);

    const d2 = copyModel('outside-folder');
    const partDir = path.dirname(splitOf(d2));
    const moved = path.join(dir, 'moved-part-folder');
    fs.rmSync(moved, { recursive: true, force: true });
    fs.renameSync(partDir, moved);
    fs.symlinkSync(moved, partDir);
    await expect(AnomalyEnsemble.load(d2)).rejects.toThrow(/isolationForest\.[0-9a-f]{16}: is a symbolic link/);

    const d3 = copyModel('outside-manifest');
    const elsewhere = path.join(dir, 'elsewhere-manifest.json');
    fs.renameSync(path.join(d3, 'manifest.json'), elsewhere);
    fs.symlinkSync(elsewhere, path.join(d3, 'manifest.json'));
    await expect(AnomalyEnsemble.load(d3)).rejects.toThrow(/manifest\.json: is a symbolic link/);
  });

  it('a manifest larger than 64 MiB is refused before it is read', async () => {
    const d = copyModel('huge-manifest');
    const f = path.join(d, 'manifest.json');
    const fd = fs.openSync(f, 'r+');
    fs.ftruncateSync(fd, 100 * 2 ** 20); // sparse: no disk used
    fs.closeSync(fd);
    await expect(AnomalyEnsemble.load(d)).rejects.toThrow(/manifest\.json: has 104857600 bytes, more than the 67108864/);
  });
});
