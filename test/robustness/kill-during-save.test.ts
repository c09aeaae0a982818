/**
 * Durability: a process killed with SIGKILL in the middle of saving a model, many times, never
 * leaves a folder that fails to load, and what loads is one of the two complete models.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic } from '../../src/data/generator';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';
import { Random } from '../../src/core/random';

const ROOT = path.join(__dirname, '../..');
const VITE_NODE = path.join(ROOT, 'node_modules/.bin/vite-node');
const KILLS = 12;

function runUntilReadyThenKill(args: string[], delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(VITE_NODE, [path.join(__dirname, 'fixtures/save-loop.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let killed = false;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      if (!killed && String(d).includes('ready')) {
        killed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('SIGKILL in the middle of saving a model', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-kill-'));
  const data = generateTraffic({ rows: 300, anomalyRatio: 0.1, seed: 4 });
  const expected: Float64Array[] = [];

  beforeAll(async () => {
    for (const seed of [1, 2]) {
      const ens = await new AnomalyEnsemble({ seed, autoencoder: { epochs: 2 } }).fit(data);
      await ens.save(path.join(dir, `m${seed}`));
      expected.push(ens.detect(data).ensembleScore);
      ens.dispose();
    }
  });

  it(`leaves a loadable model every time (${KILLS} kills at random moments)`, async () => {
    const target = path.join(dir, 'target');
    const rng = new Random(99);
    let sawEach = [false, false];
    for (let k = 0; k < KILLS; k++) {
      await runUntilReadyThenKill([path.join(dir, 'm1'), path.join(dir, 'm2'), target], 20 + rng.int(400));
      if (!fs.existsSync(path.join(target, 'manifest.json'))) continue; // killed before the first save committed
      const loaded = await AnomalyEnsemble.load(target);
      const got = Array.from(loaded.detect(data).ensembleScore);
      const which = expected.findIndex((e) => Array.from(e).every((v, i) => v === got[i]));
      expect(which).toBeGreaterThanOrEqual(0);
      sawEach[which] = true;
      loaded.dispose();
    }
    expect(sawEach.some(Boolean)).toBe(true);
  }, 180_000);
});
