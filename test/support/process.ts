/**
 * The `nal` CLI in a real child process, for what only a process can show: signals, exit codes,
 * closed pipes, concurrent writers, memory. The CLI is bundled from the TypeScript sources with
 * esbuild (vitest's own bundler) once per test file, npm packages left external, so the tests do
 * not depend on a fresh `dist/`.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');
/** Environment for the bundled CLI: resolves npm packages from this repository. */
export const childEnv = { ...process.env, NODE_PATH: path.join(root, 'node_modules'), NAL_THREADS: '1' };

let bundled: Promise<string> | undefined;

/** Path of the bundled CLI (built on first use). */
export function nalScript(): Promise<string> {
  bundled ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-cli-bundle-'));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const esbuild = require('esbuild') as typeof import('esbuild');
    await esbuild.build({
      entryPoints: { nal: path.join(root, 'src/cli/main.ts') },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      packages: 'external',
      keepNames: true, // class names are saved in model manifests
      outdir: dir,
      logLevel: 'error',
    });
    return path.join(dir, 'nal.js');
  })();
  return bundled;
}

/** Children still running when the test process ends (a test that failed half-way) are killed. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** A finished child: exit code or signal, output, and how long it ran. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
}

/** Start `nal ...args` in a child process. */
export async function startNal(args: string[], opts: SpawnOptions = {}): Promise<ChildProcess & { done: Promise<ChildResult> }> {
  const script = await nalScript();
  const t0 = Date.now();
  const child = spawn(process.execPath, [script, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  running.add(child);
  child.on('exit', () => running.delete(child));
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const done = new Promise<ChildResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err, ms: Date.now() - t0 })));
  return Object.assign(child, { done });
}

/** Run `nal ...args` in a child process to the end. */
export async function runNal(args: string[], opts: SpawnOptions = {}): Promise<ChildResult> {
  return (await startNal(args, opts)).done;
}

/**
 * Run `nal ...args` in a child and report its peak resident memory (`process.resourceUsage()`
 * at exit, through a preloaded script), optionally under a V8 heap cap.
 */
export async function runNalMeasured(args: string[], opts: SpawnOptions & { heapMb?: number } = {}): Promise<ChildResult & { maxRssMb: number }> {
  const script = await nalScript();
  const rssFile = path.join(path.dirname(script), `rss-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  const preload = path.join(path.dirname(script), 'report-rss.js');
  if (!fs.existsSync(preload)) {
    fs.writeFileSync(preload, "process.on('exit', () => require('fs').writeFileSync(process.env.NAL_TEST_RSS_FILE, String(process.resourceUsage().maxRSS)));\n");
  }
  const t0 = Date.now();
  const node = [...(opts.heapMb ? [`--max-old-space-size=${opts.heapMb}`] : []), '-r', preload, script, ...args];
  const child = spawn(process.execPath, node, { stdio: ['ignore', 'pipe', 'pipe'], ...opts, env: { ...childEnv, NAL_TEST_RSS_FILE: rssFile } });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const r = await new Promise<ChildResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err, ms: Date.now() - t0 })));
  const kb = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : NaN;
  fs.rmSync(rssFile, { force: true });
  return { ...r, maxRssMb: kb / 1024 };
}

/** Resolves once `text` has appeared in what the child wrote to stderr (or it ended). */
export function stderrShows(child: ChildProcess, text: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let seen = '';
    const on = (d: Buffer) => {
      seen += d;
      if (text.test(seen)) {
        child.stderr?.off('data', on);
        resolve();
      }
    };
    child.stderr?.on('data', on);
    child.on('close', () => resolve());
  });
}

/** Temporary files of ours (`.<name>.tmp-<pid>-...`) anywhere under `dir`. */
export function tempFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tmp-\d+-/.test(e.name)) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** SHA-256 of every file under a folder (names and contents), to show it unchanged. */
export function folderHash(dir: string): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const h = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      if (st.isDirectory()) walk(p);
      else h.update(path.relative(dir, p)).update(st.isFile() ? fs.readFileSync(p) : 'special');
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** Resolves once `cond()` holds (polled every 25 ms); rejects after `ms`. */
export async function waitUntil(cond: () => boolean, ms = 60_000, what = 'a condition'): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether a temporary file of ours for `name` (`.name.tmp-<pid>-...`) exists in `dir`: a writer has started. */
export function writing(dir: string, name: string): boolean {
  return fs.readdirSync(dir).some((f) => f.startsWith(`.${name}.tmp-`));
}

/**
 * Whether a thread of process `pid` waits in a FIFO's open for a writer (Linux: its wchan is
 * `wait_for_partner`); undefined where /proc cannot tell.
 */
export function waitsOnFifo(pid: number): boolean | undefined {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).some((t) => {
      try {
        return fs.readFileSync(`/proc/${pid}/task/${t}/wchan`, 'utf8').includes('wait_for_partner');
      } catch {
        return false;
      }
    });
  } catch {
    return undefined;
  }
}
