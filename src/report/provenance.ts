/**
 * Provenance of a run: what produced a report, so it can be reproduced. The library records as it
 * goes (src/core/provenance.ts: the data files its loaders read, the seeds its random choices
 * started from) and {@link collectProvenance} adds the rest (package version, git commit, Node, the
 * TensorFlow.js backend, parameters, wall time). `npm start` ends every report with
 * {@link showProvenance}.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recordedDataFiles, recordedSeeds } from '../core/provenance';
import type { ProvenanceSeed } from '../core/provenance';
import { tfBackendName } from '../core/tf';

/** A notebook parameter as the run used it. */
export interface ProvenanceParameter {
  name: string;
  /** The value the run used. */
  value: unknown;
  /** The value in the notebook's parameters cell. */
  defaultValue?: unknown;
  /** Whether the run overrode the default (`npm start -- NAME --param NAME=VALUE`). */
  overridden?: boolean;
}

/** A data file read during the run. */
export interface ProvenanceFile {
  /** Absolute path. */
  path: string;
  /** Size in bytes when the provenance was collected (null when the file is gone). */
  bytes: number | null;
  /** SHA-256 of its content, hex (null when the file is gone). */
  sha256: string | null;
  /** What read it, e.g. `readTextFile` (every loader of CSV text) or `readCsvChunks`. */
  readBy: string[];
  /** Why there is no size or hash: `gone since it was read`, `not a regular file` (a FIFO), `unreadable (...)`. */
  note?: string;
}

/** Everything {@link collectProvenance} reports. */
export interface Provenance {
  /** What ran, e.g. the notebook's file name. */
  subject?: string;
  package: { name: string; version: string };
  /** The package's folder (data file paths inside it are shown relative to it). */
  root: string;
  /** The git commit of the package's checkout, when it is one and git is installed. */
  git?: { commit: string; dirty: boolean };
  node: string;
  platform: string;
  /** The TensorFlow.js backend (`wasm`, `tensorflow`, `cpu`), or `none` when TF.js was not loaded. */
  tfBackend: string;
  seeds: ProvenanceSeed[];
  parameters: ProvenanceParameter[];
  dataFiles: ProvenanceFile[];
  /** When the process started (ISO 8601). */
  startedAt: string;
  /** Seconds from the process start to the collection (for a notebook: kernel start to the last cell). */
  wallSeconds: number;
  /** Free-form extra facts (e.g. the executor), shown as they are. */
  extra?: Record<string, string>;
}

/** SHA-256 of a file, read in 1 MiB blocks (no whole copy in memory). */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** The package root: the folder of the package.json above this file. */
function packageRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return __dirname;
    dir = up;
  }
}

function packageInfo(root: string): { name: string; version: string } {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name?: string; version?: string };
    return { name: pkg.name ?? 'unknown', version: pkg.version ?? 'unknown' };
  } catch {
    return { name: 'network-anomaly-lab', version: 'unknown' };
  }
}

/** The git commit of `dir`'s checkout and whether tracked files differ from it; undefined when not in git. */
export function gitState(dir: string): { commit: string; dirty: boolean } | undefined {
  const git = (args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8', timeout: 10_000, windowsHide: true });
  const head = git(['rev-parse', 'HEAD']);
  if (head.error || head.status !== 0) return undefined;
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return { commit: head.stdout.trim(), dirty: status.status === 0 ? status.stdout.trim() !== '' : false };
}

/** Options of {@link collectProvenance}. */
export interface CollectProvenanceOptions {
  /** What ran, e.g. `02-training-the-ensemble.ipynb`. */
  subject?: string;
  /** The run's parameters. */
  parameters?: readonly ProvenanceParameter[];
  /** Extra facts to show. */
  extra?: Record<string, string>;
}

/**
 * Everything known about this run so far.
 * @example
 * ```ts
 * const p = collectProvenance({ parameters: [{ name: 'SEED', value: 42 }] });
 * p.dataFiles.map((f) => `${f.path} ${f.sha256}`);
 * ```
 */
export function collectProvenance(opts: CollectProvenanceOptions = {}): Provenance {
  const root = packageRoot();
  const dataFiles = recordedDataFiles().map(({ path: file, readBy }): ProvenanceFile => {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return { path: file, bytes: null, sha256: null, readBy, note: 'gone since it was read' };
    }
    // a FIFO or a device was read as a stream: its content cannot be read again (nor hashed)
    if (!st.isFile()) return { path: file, bytes: null, sha256: null, readBy, note: 'not a regular file' };
    try {
      return { path: file, bytes: st.size, sha256: sha256File(file), readBy };
    } catch (e) {
      return { path: file, bytes: null, sha256: null, readBy, note: `unreadable (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
    }
  });
  const uptime = process.uptime();
  return {
    subject: opts.subject,
    package: packageInfo(root),
    root,
    git: gitState(root),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${process.arch}`,
    tfBackend: tfBackendName(),
    seeds: recordedSeeds(),
    parameters: (opts.parameters ?? []).map((p) => ({ ...p })),
    dataFiles,
    startedAt: new Date(Date.now() - uptime * 1000).toISOString(),
    wallSeconds: Math.round(uptime * 10) / 10,
    extra: opts.extra ? { ...opts.extra } : undefined,
  };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function value(v: unknown): string {
  return v === undefined ? '' : JSON.stringify(v);
}

/** A path relative to the package folder when inside it, else as it is. */
function shown(p: Provenance, file: string): string {
  const rel = path.relative(p.root, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

function bytes(n: number | null): string {
  if (n == null) return 'missing';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let x = n / 1024;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return `${x.toFixed(1)} ${units[u]}`;
}

/** The facts of a provenance as `[label, text]` rows (the same in the HTML and text forms). */
function facts(p: Provenance): [string, string][] {
  const rows: [string, string][] = [];
  if (p.subject) rows.push(['run', p.subject]);
  rows.push(['package', `${p.package.name} ${p.package.version}`]);
  rows.push(['git commit', p.git ? `${p.git.commit}${p.git.dirty ? ' (with uncommitted changes)' : ''}` : 'none (not a git checkout, or git is not installed)']);
  rows.push(['Node.js', `${p.node} (${p.platform})`]);
  rows.push(['TensorFlow.js backend', p.tfBackend === 'none' ? 'not loaded' : p.tfBackend]);
  rows.push(['seeds', p.seeds.length ? p.seeds.map((s) => `${s.label} ${s.seed}${s.uses > 1 ? ` (x${s.uses})` : ''}`).join('; ') : 'none recorded']);
  for (const [k, v] of Object.entries(p.extra ?? {})) rows.push([k, v]);
  rows.push(['started', p.startedAt]);
  rows.push(['wall time', `${p.wallSeconds.toFixed(1)} s (since the process started; in a notebook, since its kernel started)`]);
  return rows;
}

/** A provenance as an HTML section (a heading and tables; inline styles, no script). */
export function provenanceHtml(p: Provenance): string {
  const td = 'style="text-align:left;padding:2px 10px 2px 0;vertical-align:top"';
  const th = 'style="text-align:left;padding:2px 10px 2px 0;border-bottom:1px solid #999"';
  const mono = 'style="text-align:left;padding:2px 10px 2px 0;vertical-align:top;font-family:Menlo,Consolas,monospace;font-size:11px;word-break:break-all"';
  const factRows = facts(p)
    .map(([k, v]) => `<tr><th ${td}>${esc(k)}</th><td ${td}>${esc(v)}</td></tr>`)
    .join('');
  const params = p.parameters.length
    ? `<table class="nal-provenance-parameters" style="border-collapse:collapse;margin:6px 0"><thead><tr><th ${th}>parameter</th><th ${th}>value</th><th ${th}>default</th></tr></thead><tbody>${p.parameters
        .map(
          (x) =>
            `<tr><td ${mono}>${esc(x.name)}</td><td ${mono}>${esc(value(x.value))}${x.overridden ? ' <b>(set for this run)</b>' : ''}</td><td ${mono}>${esc(value(x.defaultValue))}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p style="margin:6px 0">No parameters cell.</p>';
  const files = p.dataFiles.length
    ? `<table class="nal-provenance-files" style="border-collapse:collapse;margin:6px 0"><thead><tr><th ${th}>data file read</th><th ${th}>size</th><th ${th}>sha256</th></tr></thead><tbody>${p.dataFiles
        .map((f) => `<tr><td ${mono}>${esc(shown(p, f.path))}</td><td ${td}>${esc(f.note ?? bytes(f.bytes))}</td><td ${mono}>${esc(f.sha256 ?? '')}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p style="margin:6px 0">No data files read (generated data only).</p>';
  return `<section class="nal-provenance" style="border-top:1px solid #bbb;margin-top:12px;padding-top:6px;font-size:12px">
<h2 style="font-size:16px;font-weight:500;margin:4px 0 6px 0">Provenance</h2>
<table class="nal-provenance-facts" style="border-collapse:collapse;margin:6px 0"><tbody>${factRows}</tbody></table>
${params}
${files}
</section>`;
}

/** A provenance as plain text (one fact a line). */
export function provenanceText(p: Provenance): string {
  const lines = ['Provenance', ...facts(p).map(([k, v]) => `  ${k}: ${v}`)];
  lines.push(p.parameters.length ? '  parameters:' : '  parameters: none');
  for (const x of p.parameters) lines.push(`    ${x.name} = ${value(x.value)}${x.overridden ? ` (default ${value(x.defaultValue)})` : ''}`);
  lines.push(p.dataFiles.length ? '  data files read:' : '  data files read: none');
  for (const f of p.dataFiles) lines.push(`    ${shown(p, f.path)} ${f.sha256 ? `${bytes(f.bytes)} sha256 ${f.sha256}` : `(${f.note ?? 'no hash'})`}`);
  return lines.join('\n');
}

interface TslabDisplay {
  display: { html(s: string): void };
}

/**
 * Shows this run's provenance: as an HTML section in a tslab notebook, as text elsewhere.
 * @returns the provenance shown
 */
export function showProvenance(opts: CollectProvenanceOptions = {}): Provenance {
  const p = collectProvenance(opts);
  let tslab: TslabDisplay | undefined;
  if ((globalThis as { __tslab__?: unknown }).__tslab__ !== undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      tslab = require('tslab') as TslabDisplay;
    } catch {
      tslab = undefined;
    }
  }
  if (tslab) tslab.display.html(provenanceHtml(p));
  else console.log(provenanceText(p));
  return p;
}
