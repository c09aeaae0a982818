/**
 * Scoring is a stateless filter over a saved model: `nal detect --data - --out -` run on N shards of
 * a file, the outputs concatenated, gives exactly the bytes of one run on the whole file. Two ways
 * to cut the file, as in README "Past one machine":
 * - shards that each keep the file's header line (what `split` plus a header gives): every output
 *   but the first loses its header line when concatenated;
 * - a batch engine's partitions (Spark's RDD.pipe feeds each its lines: the header line only in the
 *   first, some possibly empty): `--columns <header>` and `--no-output-header`, one header line
 *   written before the concatenated outputs.
 * The CLI runs in child processes (bundled from the TypeScript sources with esbuild, as in
 * test/stream/bounded-memory.test.ts), reading stdin.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';

const root = path.resolve(__dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-shards-'));
const env = { ...process.env, NODE_PATH: path.join(root, 'node_modules') };
/** Sized for a loaded 2-core machine (a child takes a few seconds alone); no verdict depends on time. */
const TIMEOUT_MS = 600_000;

let model: string;
let csv: string;

beforeAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: { nal: path.join(root, 'src/cli/main.ts') },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outdir: dir,
    logLevel: 'error',
  });
  csv = path.join(dir, 'traffic.csv');
  fs.writeFileSync(csv, trafficToCsv(generateTraffic({ rows: 2500, anomalyRatio: 0.15, seed: 21 })));
  // every detector, so each one's scoring is cut into shards
  const ens = await new AnomalyEnsemble({ seed: 5, autoencoder: { epochs: 3 } }).fit(generateTraffic({ rows: 800, anomalyRatio: 0.1, seed: 22 }));
  model = path.join(dir, 'model');
  await ens.save(model);
  ens.dispose();
}, TIMEOUT_MS);

/** Run `nal detect` with `input` on stdin; resolves to its stdout (bytes as a string) and exit code. */
function detect(input: string, extra: string[] = []): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, 'nal.js'), 'detect', '--data', '-', '--model', model, '--out', '-', '--quiet', ...extra], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => resolve({ code, out, err }));
    child.stdin.end(input);
  });
}

/** The file's data lines cut into shards of these sizes (in order). */
function cut(lines: string[], sizes: number[]): string[][] {
  const out: string[][] = [];
  let at = 0;
  for (const n of sizes) {
    out.push(lines.slice(at, at + n));
    at += n;
  }
  expect(at).toBe(lines.length);
  return out;
}

describe('nal detect over shards of a file', () => {
  it('concatenated, the shards\' outputs are the bytes of one run (each shard with the header line)', async () => {
    const text = fs.readFileSync(csv, 'utf8');
    const [header, ...rows] = text.trimEnd().split('\n');
    const one = await detect(text);
    expect(one.code, one.err).toBe(0);
    expect(one.out.split('\n').length).toBe(2502); // header, 2,500 rows, final newline
    const shards = cut(rows, [1, 600, 899, 1000]);
    const outs = await Promise.all(shards.map((s, i) => detect([header, ...s].join('\n') + '\n', i === 2 ? ['--chunk-size', '128'] : [])));
    for (const o of outs) expect(o.code, o.err).toBe(0);
    // the first output whole, the others without their header line
    const joined = outs.map((o, i) => (i === 0 ? o.out : o.out.slice(o.out.indexOf('\n') + 1))).join('');
    expect(joined).toBe(one.out);
  }, TIMEOUT_MS);

  it('as a batch engine\'s partitions (header in the first only, an empty one): --columns and --no-output-header', async () => {
    const text = fs.readFileSync(csv, 'utf8');
    const [header, ...rows] = text.trimEnd().split('\n');
    const one = await detect(text);
    expect(one.code, one.err).toBe(0);
    const outHeader = one.out.slice(0, one.out.indexOf('\n') + 1);
    const parts = cut(rows, [700, 0, 1, 1799]);
    parts[0].unshift(header); // the first partition starts with the file's header line
    const flags = ['--columns', header, '--no-output-header'];
    const outs = await Promise.all(parts.map((p) => detect(p.length ? p.join('\n') + '\n' : '', flags)));
    for (const o of outs) expect(o.code, o.err).toBe(0);
    expect(outs[1].out).toBe(''); // an empty partition: no rows, no output, no error
    expect(outHeader + outs.map((o) => o.out).join('')).toBe(one.out);
    // without --no-output-header an input without rows is still an error, as for a user's file
    const empty = await detect(header + '\n');
    expect(empty.code).not.toBe(0);
    expect(empty.err).toMatch(/header but no data rows/);
  }, TIMEOUT_MS);

  it('refuses --columns that are not a list of distinct names, or for a Zeek log, as a usage error', async () => {
    const bad = await detect('', ['--columns', 'a,,b']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--columns takes the input's column names/);
    // a Zeek log names its columns itself
    const zeek = await detect('', ['--dataset', 'zeek-conn', '--columns', 'a,b']);
    expect(zeek.code).toBe(2);
    expect(zeek.err).toMatch(/--columns is for CSV input; a Zeek log names its columns/);
  }, TIMEOUT_MS);
});
