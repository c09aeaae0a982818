/**
 * Shared by the notebook tests: whether they can run here, and one notebook run per `vitest run`
 * whichever test file asks first (notebooks.test.ts and browser.test.ts run in parallel workers;
 * a lock folder and a manifest in reports/ make the second one wait for and reuse the first run).
 *
 * The run is `npm start` itself, in a child process whose PATH holds only `node`, `npm`, `sh` and
 * `git` (no `python3`, no `jupyter`; NAL_PYTHON points nowhere) and whose HOME is an empty scratch
 * folder, so the tests prove that the main job needs Node alone and writes nothing outside the
 * project.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as runner from '../../scripts/notebooks.mjs';
import type { NotebookResult } from '../../scripts/notebooks.mjs';
import { locateDataset } from '../../src/data/locate';

export { runner };

export const inCI = runner.isCI();
export const jupyter = runner.findPython(runner.RUN_MODULES);
export const chromiumPath = runner.findChromium();

/** Why the notebook tests skip here, or null when they run (they need Node and `npm install` only). In CI they never skip. */
export const notebookSkipReason: string | null =
  fs.existsSync(runner.TSLAB_BIN) || inCI ? null : `Skipping the notebook tests: ${path.relative(runner.ROOT, runner.TSLAB_BIN)} is missing (run \`npm install\`). They run in CI (CI=true).`;

/** Why the tests that compare with Jupyter's executor skip here, or null when they run. In CI they never skip. */
export const jupyterSkipReason: string | null =
  notebookSkipReason ??
  (jupyter.python || inCI
    ? null
    : `Skipping the comparison with Jupyter's executor (--executor nbclient): no Python with ${runner.RUN_MODULES.join(', ')} ` +
      `(tried ${jupyter.tried.map((t) => `${t.cmd}: ${t.problem}`).join('; ')}). It runs in CI (CI=true).\n${runner.INSTALL_HELP}`);

/** Why the browser test skips here, or null when it runs. In CI it never skips. */
export const browserSkipReason: string | null = notebookSkipReason
  ? 'Skipping the browser test of the HTML reports: the notebooks cannot run here (see the notebook tests).'
  : chromiumPath || inCI
    ? null
    : 'Skipping the browser test of the HTML reports: no Chromium found (/usr/bin/chromium, or set NAL_CHROMIUM). ' +
      'Debian/Ubuntu: sudo apt-get install -y chromium. It runs in CI (CI=true).';

/** NSL-KDD as notebook 07's kernel finds it (its working folder is notebooks/). */
export const nslKdd = locateDataset('nsl-kdd', { cwd: runner.NOTEBOOKS_DIR });

/**
 * Why the test of notebook 07 with NSL-KDD skips here, or null when it runs: it skips only when the
 * data is absent outside CI. In CI (CI=true) it runs, and fails when the data is absent.
 */
export const nslKddSkipReason: string | null =
  notebookSkipReason ??
  (nslKdd.found || inCI ? null : `Skipping notebook 07 with NSL-KDD: the data is not on this machine (CI has it).\n${nslKdd.message}`);

export interface RunManifest {
  runId: string;
  ok: boolean;
  seconds: number;
  results: NotebookResult[];
  /** Files the run created in the scratch HOME (should be none). */
  homeWrites: string[];
  /** The command that ran (`npm start -- --json FILE`). */
  command: string;
  /** Its exit status. */
  exitCode: number | null;
  /** What `python3`, `python` and `jupyter` resolve to on the run's PATH (null: not found). */
  onPath: Record<string, string | null>;
  /** Everything the run printed. */
  output: string;
  /** A message when the run failed to produce results. */
  failure?: string;
}

const MANIFEST = path.join(runner.REPORTS_DIR, '.test-run.json');
const LOCK = path.join(runner.REPORTS_DIR, '.test-run.lock');

/** Identifies this `vitest run`: the main vitest process (parent of the test workers) and its start time. */
function runId(): string {
  let start = '';
  try {
    start = fs.readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
  } catch {
    /* not Linux: the pid alone */
  }
  return `${process.ppid}:${start}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `fn` while no other notebook run of the tests (in any worker) is going on. */
export async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(runner.REPORTS_DIR, { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = 0;
      try {
        pid = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8')) || 0;
      } catch {
        /* being created or removed right now */
      }
      const since = fs.statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs;
      const stale = since !== undefined && ((pid && !alive(pid)) || (!pid && Date.now() - since > 10_000));
      if (stale) fs.rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...listFiles(p));
  }
  return out;
}

/** The first executable called `name` in the folders of `pathList`, or null. */
export function which(name: string, pathList: string): string | null {
  for (const dir of pathList.split(path.delimiter).filter(Boolean)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** npm's command line script: the running npm's, else the one installed beside node. */
function npmCli(): string | null {
  const candidates = [process.env.npm_execpath, path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')];
  return candidates.find((p) => p && /npm-cli\.js$/.test(p) && fs.existsSync(p)) ?? null;
}

/**
 * A folder holding only `node`, `npm` and `sh` (npm runs scripts with it), when found, and `git`
 * (for the provenance's commit): a PATH on which Python and Jupyter do not exist.
 */
export function nodeOnlyBin(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  const npm = npmCli();
  if (npm) fs.symlinkSync(npm, path.join(dir, 'npm'));
  for (const tool of ['sh', 'git']) {
    const found = which(tool, process.env.PATH ?? '') ?? (tool === 'sh' && fs.existsSync('/bin/sh') ? '/bin/sh' : null);
    if (found) fs.symlinkSync(found, path.join(dir, tool));
  }
  return dir;
}

/** Runs every notebook into reports/ once per `vitest run` (`npm start`, Node only) and returns the outcome. */
export function ensureReports(): Promise<RunManifest> {
  return withLock(async () => {
    const id = runId();
    const previous = fs.existsSync(MANIFEST) ? (JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as RunManifest) : null;
    if (previous?.runId === id) return previous;

    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-start-'));
    const home = path.join(scratch, 'home');
    fs.mkdirSync(home);
    const bin = nodeOnlyBin(path.join(scratch, 'bin'));
    const json = path.join(scratch, 'run.json');
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      HOME: home,
      PATH: bin,
      NAL_PYTHON: path.join(bin, 'python3-is-not-installed'),
      // npm's own logs and cache stay out of HOME
      npm_config_cache: path.join(scratch, 'npm-cache'),
      npm_config_logs_max: '0',
      npm_config_update_notifier: 'false',
    };
    delete env.JUPYTER_PATH;
    const npm = path.join(bin, 'npm');
    const [cmd, args, command] = fs.existsSync(npm)
      ? [npm, ['start', '--silent', '--', '--json', json], 'npm start -- --json FILE']
      : [path.join(bin, 'node'), [path.join(runner.ROOT, 'scripts', 'notebooks.mjs'), 'run', '--json', json], 'node scripts/notebooks.mjs run --json FILE (npm not found)'];
    const onPath = Object.fromEntries(['python3', 'python', 'jupyter'].map((t) => [t, which(t, env.PATH)]));
    let manifest: RunManifest;
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(cmd, args, { cwd: runner.ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (b) => (out += b));
        child.stderr.on('data', (b) => (out += b));
        child.on('error', (e) => resolve({ code: null, output: `${out}\n${e}` }));
        child.on('close', (c) => resolve({ code: c, output: out }));
      });
      const run = fs.existsSync(json) ? (JSON.parse(fs.readFileSync(json, 'utf8')) as { ok: boolean; seconds: number; results: NotebookResult[] }) : null;
      manifest = {
        runId: id,
        ok: Boolean(run?.ok) && code === 0,
        seconds: run?.seconds ?? 0,
        results: run?.results ?? [],
        homeWrites: listFiles(home),
        command,
        exitCode: code,
        onPath,
        output,
        failure: run ? undefined : `${command} wrote no results (exit ${code}):\n${output}`,
      };
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
    // the runner's summary, as `npm start` prints it
    console.log(manifest.output);
    fs.writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2));
    return manifest;
  });
}
