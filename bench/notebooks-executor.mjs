#!/usr/bin/env node
/**
 * `npm start` wall time with the Node executor against Jupyter's nbclient + nbconvert, measured in
 * the same session and interleaved: each repeat runs both, alternating which goes first, every run
 * a fresh `node scripts/notebooks.mjs run --no-build` process timed from spawn to exit (kernel
 * starts, Python's start-up and the HTML rendering included). Each run writes into its own scratch
 * folder, so reports/ is left alone.
 *
 *   npm run build && node bench/notebooks-executor.mjs [--repeats 3] [--jobs 2] [names...]
 *   node bench/notebooks-executor.mjs --tiny --repeats 7
 *
 * `--tiny` runs a one-cell notebook instead (`console.log(1 + 1)`): what is left is each
 * executor's fixed cost per run (kernel start and shutdown, Python's start-up, the HTML report).
 *
 * Writes results/notebooks-executor.json and results/NOTEBOOKS_EXECUTOR.md (with `--tiny`:
 * results/notebooks-executor-tiny.json and a section of its own in the same .md). Needs Python with
 * Jupyter for the nbclient side. Nothing asserts on a time: run it on a quiet machine.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, v] = args.splice(i, 2);
  return v;
};
if (args.includes('--help')) {
  console.log('node bench/notebooks-executor.mjs [--repeats N] [--jobs N] [names...]');
  process.exit(0);
}
const tinyIndex = args.indexOf('--tiny');
const tiny = tinyIndex >= 0;
if (tiny) args.splice(tinyIndex, 1);
const repeats = Number(option('--repeats', '3'));
const jobs = option('--jobs', '2');
const names = args;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-bench-executor-'));
if (tiny) {
  const file = path.join(scratch, 'tiny.ipynb');
  fs.writeFileSync(
    file,
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
      cells: [
        { cell_type: 'markdown', id: 'a', metadata: {}, source: '# Tiny' },
        { cell_type: 'code', id: 'b', metadata: {}, execution_count: null, outputs: [], source: 'console.log(1 + 1);' },
      ],
    }),
  );
  names.splice(0, names.length, file);
}
const EXECUTORS = ['node', 'nbclient'];

function runOnce(executor, outDir) {
  const json = path.join(outDir, 'run.json');
  const argv = [path.join(ROOT, 'scripts', 'notebooks.mjs'), 'run', ...names, '--no-build', '--executor', executor, '--jobs', jobs, '--out', outDir, '--json', json];
  const load = os.loadavg()[0];
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const run = fs.existsSync(json) ? JSON.parse(fs.readFileSync(json, 'utf8')) : null;
      resolve({
        executor,
        ok: code === 0 && Boolean(run?.ok),
        wall,
        kernelSeconds: run ? run.results.reduce((s, r) => s + r.seconds, 0) : null,
        perNotebook: run ? Object.fromEntries(run.results.map((r) => [r.name, r.seconds])) : {},
        loadBefore: load,
        loadAfter: os.loadavg()[0],
        output: code === 0 ? undefined : out.slice(-2000),
      });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const runs = [];
try {
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? EXECUTORS : [...EXECUTORS].reverse();
    for (const executor of order) {
      const res = await runOnce(executor, path.join(scratch, `${executor}-${r}`));
      runs.push({ repeat: r, ...res });
      console.log(`repeat ${r + 1}/${repeats} ${executor.padEnd(8)} ${res.ok ? 'ok  ' : 'FAIL'} ${res.wall.toFixed(1).padStart(6)} s wall, ${res.kernelSeconds?.toFixed(1) ?? '?'} s in kernels, load ${res.loadBefore.toFixed(1)} -> ${res.loadAfter.toFixed(1)}`);
      if (!res.ok) console.log(res.output);
    }
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

const by = (e) => runs.filter((x) => x.executor === e && x.ok);
const summary = Object.fromEntries(EXECUTORS.map((e) => [e, { runs: by(e).length, medianWall: by(e).length ? median(by(e).map((x) => x.wall)) : null, walls: by(e).map((x) => x.wall) }]));
const pairs = [...Array(repeats).keys()]
  .map((r) => {
    const n = runs.find((x) => x.repeat === r && x.executor === 'node' && x.ok);
    const j = runs.find((x) => x.repeat === r && x.executor === 'nbclient' && x.ok);
    return n && j ? n.wall / j.wall : null;
  })
  .filter((x) => x != null);
const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  notebooks: names.length ? names : 'all',
  jobs: Number(jobs),
  repeats,
  runs,
  summary,
  ratioNodeOverNbclient: { perRepeat: pairs, median: pairs.length ? median(pairs) : null },
};
fs.mkdirSync(path.join(ROOT, 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'results', tiny ? 'notebooks-executor-tiny.json' : 'notebooks-executor.json'), JSON.stringify(result, null, 2) + '\n');
const heading = tiny ? '## Fixed cost per run: a one-cell notebook' : '# `npm start` wall time: Node executor vs nbclient + nbconvert';
const what = tiny ? 'a one-cell notebook (`console.log(1 + 1)`)' : `notebooks: ${Array.isArray(result.notebooks) ? result.notebooks.join(', ') : 'all'}, ${jobs} at a time`;
const md = [
  heading,
  '',
  `${result.date}, ${result.machine}, load average ${os.loadavg()[0].toFixed(1)} at the end; ${what}; ${repeats} repeats, interleaved (alternating which runs first). Produced by \`node bench/notebooks-executor.mjs${tiny ? ' --tiny' : ''}\`.`,
  '',
  '| repeat | executor | wall (s) | in kernels (s) | load before -> after |',
  '|---|---|---|---|---|',
  ...runs.map((x) => `| ${x.repeat + 1} | ${x.executor} | ${x.ok ? x.wall.toFixed(1) : 'failed'} | ${x.kernelSeconds?.toFixed(1) ?? ''} | ${x.loadBefore.toFixed(1)} -> ${x.loadAfter.toFixed(1)} |`),
  '',
  `Median wall: Node ${summary.node.medianWall?.toFixed(1) ?? '?'} s, nbclient ${summary.nbclient.medianWall?.toFixed(1) ?? '?'} s; Node / nbclient per repeat ${pairs.map((p) => p.toFixed(2)).join(', ')} (median ${result.ratioNodeOverNbclient.median?.toFixed(2) ?? '?'}).`,
  '',
];
const mdFile = path.join(ROOT, 'results', 'NOTEBOOKS_EXECUTOR.md');
if (tiny) {
  // the tiny section follows the full run's, replacing an earlier tiny section
  const before = fs.existsSync(mdFile) ? fs.readFileSync(mdFile, 'utf8').split(`\n${heading}\n`)[0].trimEnd() : '';
  fs.writeFileSync(mdFile, `${before ? `${before}\n\n` : ''}${md.join('\n')}`);
} else {
  const old = fs.existsSync(mdFile) ? fs.readFileSync(mdFile, 'utf8') : '';
  const tinySection = old.includes('\n## Fixed cost per run') ? old.slice(old.indexOf('\n## Fixed cost per run')) : '';
  fs.writeFileSync(mdFile, md.join('\n') + tinySection);
}
console.log(md.slice(-2).join('\n'));
