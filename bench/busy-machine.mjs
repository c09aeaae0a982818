#!/usr/bin/env node
/**
 * Threads on a busy machine (issue #13): with the other cores kept busy by CPU-bound processes,
 * is the default thread count slower than one thread? Times `nal train` and `nal detect` as a user
 * runs them, with the default threads and with NAL_THREADS=1, interleaved (alternating which goes
 * first), while `--busy` processes spin (default: the machine's cores less one), and writes
 * results/busy-machine.json and results/BUSY-MACHINE.md with the medians and the ratio
 * default / one thread (target: at most 1.05).
 *
 * Usage: npm run build && node bench/busy-machine.mjs [--rows 10000] [--repeats 3] [--busy N]
 *          [--data FILE] [--width DATASET]   (--width nsl-kdd: the NSL-KDD width data instead)
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './data.mjs';

const { values: opt } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000' },
    repeats: { type: 'string', default: '3' },
    busy: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string', default: 'busy-machine' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  const src = fs.readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write(src.slice(src.indexOf('/**') + 4, src.indexOf('*/')).replace(/^ \* ?/gm, '') + '\n');
  process.exit(0);
}
const CLI = path.join(ROOT, 'dist/cli/main.js');
if (!fs.existsSync(CLI)) {
  process.stderr.write('busy-machine: dist/ is missing: run `npm run build` first.\n');
  process.exit(2);
}
const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
const busy = opt.busy !== undefined ? Number(opt.busy) : Math.max(1, cores - 1);
const repeats = Number(opt.repeats);
const rows = Number(opt.rows);
const work = path.join(ROOT, '.tmp', 'busy-machine');
fs.mkdirSync(work, { recursive: true });

function log(msg) {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** The training file: --data, the shared seed file of that size, or one generated with seed 43. */
function dataFile() {
  if (opt.data) return path.resolve(opt.data);
  const shared = path.resolve(ROOT, '../shared/datasets/seed-sample/seed_network_traffic_10k.csv');
  if (rows === 10000 && fs.existsSync(shared)) return shared;
  const file = path.join(work, `traffic-${rows}.csv`);
  if (!fs.existsSync(file)) spawnSync(process.execPath, [CLI, 'generate', '--rows', String(rows), '--anomaly-ratio', '0.15', '--seed', '43', '--out', file], { stdio: 'inherit' });
  return file;
}

/** CPU-bound processes that spin until killed. */
function startBurners(n) {
  const procs = [];
  for (let i = 0; i < n; i++) procs.push(spawn(process.execPath, ['-e', 'let x = 0; for (;;) { x = (x * 1103515245 + 12345) % 2147483648; }'], { stdio: 'ignore' }));
  const stop = () => procs.forEach((p) => p.kill('SIGKILL'));
  process.on('exit', stop);
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  return stop;
}

/** Run the CLI; resolve to wall seconds. */
function timed(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    child.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`nal ${args[0]} exited ${code}: ${err.trim().split('\n').pop()}`))));
  });
}

const median = (xs) => {
  const v = xs.slice().sort((a, b) => a - b);
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
};

async function main() {
  const file = dataFile();
  const loadStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  log(`data ${file}; ${busy} busy process(es) on ${cores} cores; ${repeats} runs each; load ${loadStart.join(' ')}`);
  const stop = startBurners(busy);
  await new Promise((r) => setTimeout(r, 1000));
  const configs = { default: {}, one: { NAL_THREADS: '1' } };
  const times = { default: { train: [], detect: [] }, one: { train: [], detect: [] } };
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? ['default', 'one'] : ['one', 'default'];
    for (const who of order) {
      const model = path.join(work, `model-${who}`);
      const out = path.join(work, `scored-${who}.csv`);
      const train = await timed(['train', '--data', file, '--model', model, '--seed', '42'], configs[who]);
      const detect = await timed(['detect', '--data', file, '--model', model, '--out', out], configs[who]);
      times[who].train.push(train);
      times[who].detect.push(detect);
      log(`run ${r + 1}/${repeats} ${who.padEnd(7)} train ${train.toFixed(2)} s  detect ${detect.toFixed(2)} s  load ${os.loadavg()[0].toFixed(2)}`);
    }
  }
  stop();
  const res = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model,
    cores,
    busy,
    node: process.version,
    data: file,
    repeats,
    loadStart,
    loadEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    times,
    medians: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, { train: median(v.train), detect: median(v.detect) }])),
  };
  res.ratio = {
    train: res.medians.default.train / res.medians.one.train,
    detect: res.medians.default.detect / res.medians.one.detect,
    total: (res.medians.default.train + res.medians.default.detect) / (res.medians.one.train + res.medians.one.detect),
  };
  // each repeat runs the two back to back: the median of the per-repeat ratios follows a load that
  // drifts over the run better than the ratio of the medians does
  const paired = (f) => median(times.default.train.map((_, r) => f('default', r) / f('one', r)));
  res.pairedRatio = {
    train: paired((w, r) => times[w].train[r]),
    detect: paired((w, r) => times[w].detect[r]),
    total: paired((w, r) => times[w].train[r] + times[w].detect[r]),
  };
  const L = [];
  L.push('# Threads on a busy machine');
  L.push('');
  L.push(`Generated by \`node bench/busy-machine.mjs\` on ${res.date.slice(0, 10)}: \`nal train\` and \`nal detect\` on ${path.basename(file)}, ${busy} CPU-bound process(es) spinning beside them on ${cores} cores (${res.cpu}, Node ${res.node}), default threads against \`NAL_THREADS=1\`, ${repeats} runs each, interleaved; medians. Load average ${res.loadStart.join(' ')} at the start (before the busy processes), ${res.loadEnd.join(' ')} at the end.`);
  L.push('');
  L.push('| command | default threads | NAL_THREADS=1 | ratio of the medians (target ≤ 1.05) | median of the per-run ratios |');
  L.push('|---|---|---|---|---|');
  for (const k of ['train', 'detect']) L.push(`| nal ${k} | ${res.medians.default[k].toFixed(2)} s | ${res.medians.one[k].toFixed(2)} s | **${res.ratio[k].toFixed(2)}x** | ${res.pairedRatio[k].toFixed(2)}x |`);
  L.push(`| both | ${(res.medians.default.train + res.medians.default.detect).toFixed(2)} s | ${(res.medians.one.train + res.medians.one.detect).toFixed(2)} s | **${res.ratio.total.toFixed(2)}x** | ${res.pairedRatio.total.toFixed(2)}x |`);
  L.push('');
  L.push('A run is `nal train` then `nal detect` with one setting, then with the other (which goes first alternates); the per-run ratio compares the two of one repeat, run back to back.');
  L.push('');
  L.push(`Runs (s): default train ${times.default.train.map((x) => x.toFixed(2)).join(', ')}; detect ${times.default.detect.map((x) => x.toFixed(2)).join(', ')}; one thread train ${times.one.train.map((x) => x.toFixed(2)).join(', ')}; detect ${times.one.detect.map((x) => x.toFixed(2)).join(', ')}.`);
  L.push('');
  const dir = path.join(ROOT, 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${opt.out}.json`), JSON.stringify(res, null, 1) + '\n');
  fs.writeFileSync(path.join(dir, `${opt.out.toUpperCase()}.md`), L.join('\n'));
  process.stdout.write(L.join('\n'));
}

main().catch((e) => {
  process.stderr.write(`busy-machine: ${e?.stack ?? e}\n`);
  process.exit(1);
});
