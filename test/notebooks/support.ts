/**
 * Shared by the notebook tests: whether they can run here, and one notebook run per `vitest run`
 * whichever test file asks first (notebooks.test.ts and browser.test.ts run in parallel workers;
 * a lock folder and a manifest in reports/ make the second one wait for and reuse the first run).
 *
 * The run is the same code as `npm start` (scripts/notebooks.mjs), with HOME moved to an empty
 * scratch folder so the tests can prove that nothing is written outside the project.
 */
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

/** Why the notebook tests skip here, or null when they run. In CI they never skip. */
export const notebookSkipReason: string | null =
  jupyter.python || inCI
    ? null
    : `Skipping the notebook tests: no Python with ${runner.RUN_MODULES.join(', ')} ` +
      `(tried ${jupyter.tried.map((t) => `${t.cmd}: ${t.problem}`).join('; ')}). They run in CI (CI=true).\n${runner.INSTALL_HELP}`;

/** Why the browser test skips here, or null when it runs. In CI it never skips. */
export const browserSkipReason: string | null = notebookSkipReason
  ? 'Skipping the browser test of the HTML reports: Jupyter, which produces them, is missing (see the notebook tests).'
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
  /** A message when the run threw (no Jupyter in CI, build failure). */
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

/** Runs every notebook into reports/ once per `vitest run` and returns the outcome. */
export function ensureReports(): Promise<RunManifest> {
  return withLock(async () => {
    const id = runId();
    const previous = fs.existsSync(MANIFEST) ? (JSON.parse(fs.readFileSync(MANIFEST, 'utf8')) as RunManifest) : null;
    if (previous?.runId === id) return previous;

    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-home-'));
    const lines: string[] = [];
    let manifest: RunManifest;
    try {
      const run = await runner.runNotebooks({ env: { HOME: home }, log: (l) => lines.push(l) });
      manifest = { runId: id, ok: run.ok, seconds: run.seconds, results: run.results, homeWrites: listFiles(home) };
    } catch (e) {
      manifest = { runId: id, ok: false, seconds: 0, results: [], homeWrites: listFiles(home), failure: (e as Error).message };
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
    // the runner's summary, as `npm start` prints it
    console.log(lines.join('\n'));
    fs.writeFileSync(MANIFEST, JSON.stringify(manifest, null, 2));
    return manifest;
  });
}
