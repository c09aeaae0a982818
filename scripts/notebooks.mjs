#!/usr/bin/env node
/**
 * Notebook tooling: a project-local tslab kernel, headless execution into reports/, Jupyter, and
 * output stripping. `npm start` = `node scripts/notebooks.mjs run`.
 *
 *   node scripts/notebooks.mjs run [names...] [--param KEY=VALUE ...] [--strict] [--jobs N]
 *                                  [--timeout S] [--total-timeout S] [--out DIR] [--no-build]
 *                                  [--executor node|nbclient] [--json FILE]
 *   node scripts/notebooks.mjs open [jupyter args...]
 *   node scripts/notebooks.mjs setup-kernel [--force]
 *   node scripts/notebooks.mjs strip [--check] [names...]
 *   node scripts/notebooks.mjs install-user-kernel
 *   node scripts/notebooks.mjs doctor
 *
 * `run` needs Node only: it starts the tslab kernel from its kernel spec and talks to it over
 * ZeroMQ (scripts/notebook/kernel.mjs, execute.mjs) and renders the HTML reports itself
 * (scripts/notebook/render.mjs). `--executor nbclient` runs the same notebooks with Jupyter's
 * nbclient and nbconvert instead (scripts/execute_notebook.py; needs Python), for comparison.
 * Before running, a notebook gets its parameters (scripts/notebook/parameters.mjs) and a last cell
 * that shows the run's provenance (src/report/provenance.ts).
 *
 * Nothing is written outside the project: the kernelspec lives in .jupyter/share/jupyter/kernels/
 * (registered with the project's own node_modules/.bin/tslab), and every Jupyter process gets
 * JUPYTER_PATH / JUPYTER_CONFIG_DIR / JUPYTER_DATA_DIR / JUPYTER_RUNTIME_DIR / IPYTHONDIR pointing
 * into .jupyter/. Only `install-user-kernel` registers the kernel in the per-user Jupyter dirs.
 *
 * The functions are exported for test/notebooks/*.test.ts, which run the same code as `npm start`.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { executeNotebook, formatExecutedNotebook } from './notebook/execute.mjs';
import { findKernelSpec, jupyterDataDirs, jupyterUserDataDir, killAllKernels } from './notebook/kernel.mjs';
import { ParameterError, findParameters, injectParameters, parseParamArgs, resolveParameters } from './notebook/parameters.mjs';
import { notebookTitle, renderNotebook } from './notebook/render.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const NOTEBOOKS_DIR = path.join(ROOT, 'notebooks');
export const REPORTS_DIR = path.join(ROOT, 'reports');
/** Project-local Jupyter home (git-ignored). */
export const LOCAL_JUPYTER = path.join(ROOT, '.jupyter');
export const KERNEL_NAME = 'tslab';
export const TSLAB_BIN = path.join(ROOT, 'node_modules', '.bin', process.platform === 'win32' ? 'tslab.cmd' : 'tslab');
/** The executors `run` can use: `node` (default, no Python) and `nbclient` (Jupyter's, for comparison). */
export const EXECUTORS = ['node', 'nbclient'];
/** Tags of the cell appended to every notebook run that shows the run's provenance. */
export const PROVENANCE_TAGS = ['provenance', 'remove-input'];
const EXECUTOR = path.join(ROOT, 'scripts', 'execute_notebook.py');
const TEMPLATE_DIR = path.join(ROOT, 'scripts', 'nbconvert-templates');
const KERNELS_DIR = path.join(LOCAL_JUPYTER, 'share', 'jupyter', 'kernels');
const KERNEL_JSON = path.join(KERNELS_DIR, KERNEL_NAME, 'kernel.json');

/** Python modules needed to execute notebooks (IPython: tslab's kernelspec installer imports it). */
export const RUN_MODULES = ['nbformat', 'nbclient', 'nbconvert', 'jupyter_client', 'IPython'];
/** ... and to open the Jupyter Notebook UI. */
export const OPEN_MODULES = [...RUN_MODULES, 'notebook'];

export const INSTALL_HELP = `Jupyter (with nbconvert and nbclient) was not found for any Python interpreter.
It is needed for \`npm run notebooks\` (editing in Jupyter) and \`--executor nbclient\`, not for \`npm start\`.
Install it, then run the command again:

  Debian / Ubuntu:
    sudo apt-get install -y --no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client

  Any system with pip (a virtual environment is fine; activate it first):
    pip install notebook nbconvert nbclient ipykernel

To use a specific interpreter, set NAL_PYTHON=/path/to/python3.`;

/** Matches a stderr text that reports a failure (warnings pass, but are listed). */
const STDERR_ERROR_RE = /\b(error|exception|uncaught|traceback|unhandled|fatal)\b/i;

// ---------------------------------------------------------------------------------------------
// environment

/** `true` when running in CI (env CI set to anything but "", "0" or "false"). */
export function isCI() {
  const v = (process.env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

const pythonCache = new Map();

/**
 * The first Python interpreter that has `modules`: python3 and python on PATH, then
 * /usr/bin/python3 (Debian's Jupyter packages install there); only $NAL_PYTHON when it is set.
 *
 * @returns `{ python, tried }` where `python` is the interpreter's absolute path (sys.executable)
 *   or null, and `tried` says what each candidate lacked
 */
export function findPython(modules = RUN_MODULES) {
  const key = modules.join(',');
  if (pythonCache.has(key)) return pythonCache.get(key);
  const candidates = process.env.NAL_PYTHON ? [process.env.NAL_PYTHON] : ['python3', 'python', '/usr/bin/python3', '/usr/local/bin/python3'];
  const probe = `import importlib.util, json, sys
mods = ${JSON.stringify(modules)}
print(json.dumps({"exe": sys.executable, "missing": [m for m in mods if importlib.util.find_spec(m) is None]}))`;
  const tried = [];
  let found = null;
  for (const cmd of [...new Set(candidates)]) {
    const r = spawnSync(cmd, ['-c', probe], { encoding: 'utf8', timeout: 30_000 });
    if (r.error || r.status !== 0) {
      tried.push({ cmd, problem: r.error ? r.error.code ?? String(r.error) : `exit ${r.status}` });
      continue;
    }
    try {
      const info = JSON.parse(r.stdout.trim().split('\n').pop());
      if (info.missing.length === 0) {
        found = info.exe;
        break;
      }
      tried.push({ cmd, problem: `lacks ${info.missing.join(', ')}` });
    } catch {
      tried.push({ cmd, problem: 'unreadable probe output' });
    }
  }
  const result = { python: found, tried };
  pythonCache.set(key, result);
  return result;
}

/**
 * Environment for every Jupyter/Python process: all Jupyter and IPython state under .jupyter/,
 * node and node_modules/.bin first on PATH (the kernel is a Node program).
 */
export function jupyterEnv(extra = {}) {
  const d = (p) => path.join(LOCAL_JUPYTER, p);
  const localShare = path.join(LOCAL_JUPYTER, 'share', 'jupyter');
  const env = {
    ...process.env,
    JUPYTER_PATH: [localShare, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    JUPYTER_CONFIG_DIR: d('config'),
    JUPYTER_DATA_DIR: d('data'),
    JUPYTER_RUNTIME_DIR: d('runtime'),
    IPYTHONDIR: d('ipython'),
    // jupyter_core >= 5: use the new platform dirs without the deprecation warning
    JUPYTER_PLATFORM_DIRS: '1',
    // ipykernel's debugger warns about frozen modules on every start
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PATH: [path.dirname(process.execPath), path.join(ROOT, 'node_modules', '.bin'), process.env.PATH].filter(Boolean).join(path.delimiter),
    ...extra,
  };
  // `pip install --user` packages stay visible when a test moves HOME to a scratch folder
  if (extra.HOME && !process.env.PYTHONUSERBASE) env.PYTHONUSERBASE = path.join(os.homedir(), '.local');
  return env;
}

function ensureLocalDirs() {
  for (const p of ['config', 'data', 'runtime', 'ipython', path.join('share', 'jupyter', 'kernels')]) {
    fs.mkdirSync(path.join(LOCAL_JUPYTER, p), { recursive: true });
  }
}

/**
 * The kernel specs tslab's own installer (`tslab install`) writes: "tslab" (TypeScript) and
 * "jslab" (JavaScript), started with `binary`.
 */
export function tslabKernelSpecs(binary = TSLAB_BIN) {
  const argv = [binary, 'kernel', '--config-path', '{connection_file}'];
  return {
    tslab: { argv, display_name: 'TypeScript', language: 'typescript' },
    jslab: { argv: [...argv, '--js'], display_name: 'JavaScript', language: 'javascript' },
  };
}

/** Writes the tslab and jslab kernel specs into `kernelsDir` (kernel.json, sorted keys, as Jupyter writes them). */
function writeKernelSpecs(kernelsDir) {
  for (const [name, spec] of Object.entries(tslabKernelSpecs())) {
    const dir = path.join(kernelsDir, name);
    fs.mkdirSync(dir, { recursive: true });
    const sorted = Object.fromEntries(Object.keys(spec).sort().map((k) => [k, spec[k]]));
    fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(sorted));
  }
}

/**
 * Registers the tslab kernelspec in .jupyter/ with the project's own tslab binary (no-op when it
 * is already registered with this checkout's path). Written by Node (the kernel.json that
 * `tslab install --prefix=.jupyter` writes), so no Python is needed; Jupyter finds it through
 * JUPYTER_PATH ({@link jupyterEnv}).
 *
 * @returns the kernel.json path
 */
export function setupKernel({ force = false, log = console.log } = {}) {
  if (!fs.existsSync(TSLAB_BIN)) {
    throw new UserError(`${path.relative(ROOT, TSLAB_BIN)} is missing: run \`npm install\` first.`);
  }
  if (!force && fs.existsSync(KERNEL_JSON)) {
    try {
      const spec = JSON.parse(fs.readFileSync(KERNEL_JSON, 'utf8'));
      if (spec.argv?.[0] === TSLAB_BIN) return KERNEL_JSON;
    } catch {
      /* reinstall */
    }
  }
  ensureLocalDirs();
  writeKernelSpecs(KERNELS_DIR);
  log(`tslab kernel registered in ${path.relative(ROOT, path.dirname(KERNEL_JSON))}/ (binary ${path.relative(ROOT, TSLAB_BIN)})`);
  return KERNEL_JSON;
}

function requirePython(modules) {
  const { python, tried } = findPython(modules);
  if (python) return python;
  const lines = tried.map((t) => `  ${t.cmd}: ${t.problem}`).join('\n');
  throw new UserError(`${INSTALL_HELP}\n\nInterpreters tried:\n${lines}`, 3);
}

/** An error whose message is for the user (printed without a stack). */
export class UserError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

// ---------------------------------------------------------------------------------------------
// build

function newestMtime(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let m = 0;
  for (const e of fs.readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, e)));
  return m;
}

/** Builds dist/ as `npm run build` does (tsc, then scripts/self-types.mjs) when dist/index.js is missing or older than src/, tsconfig.json or package.json. */
export function ensureBuilt({ log = console.log } = {}) {
  const out = path.join(ROOT, 'dist', 'index.js');
  const built = fs.statSync(out, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const sources = Math.max(newestMtime(path.join(ROOT, 'src')), newestMtime(path.join(ROOT, 'tsconfig.json')), newestMtime(path.join(ROOT, 'package.json')));
  if (built && built >= sources) return false;
  log(built ? 'dist/ is older than src/: building (tsc)...' : 'dist/ is missing: building (tsc)...');
  const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
  if (!fs.existsSync(tsc)) throw new UserError('node_modules/.bin/tsc is missing: run `npm install` first.');
  const r = spawnSync(tsc, ['-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new UserError('the TypeScript build failed (see above); the notebooks import dist/.');
  // the rest of `npm run build`: the types the notebooks' `import ... from 'network-anomaly-lab'` needs
  const selfTypes = path.join(ROOT, 'scripts', 'self-types.mjs');
  if (fs.existsSync(selfTypes)) {
    const t = spawnSync(process.execPath, [selfTypes], { cwd: ROOT, stdio: 'inherit' });
    if (t.status !== 0) throw new UserError('scripts/self-types.mjs failed (see above).');
  }
  // tsc leaves unchanged outputs alone on some versions: mark the build time explicitly
  const now = new Date();
  fs.utimesSync(out, now, now);
  return true;
}

// ---------------------------------------------------------------------------------------------
// notebooks

/**
 * The notebooks in notebooks/, sorted; `names` pick some by file name, with or without `.ipynb`,
 * or by a unique prefix such as `01`, or by the path of a notebook file anywhere (its kernel then
 * runs in the notebook's own folder, as Jupyter runs it).
 */
export function listNotebooks(names = []) {
  const all = fs.existsSync(NOTEBOOKS_DIR)
    ? fs.readdirSync(NOTEBOOKS_DIR).filter((f) => f.endsWith('.ipynb') && !f.startsWith('.')).sort()
    : [];
  if (names.length === 0) return all.map((f) => path.join(NOTEBOOKS_DIR, f));
  return names.map((n) => {
    if (n.endsWith('.ipynb') && (n.includes('/') || n.includes(path.sep)) && fs.statSync(n, { throwIfNoEntry: false })?.isFile()) return path.resolve(n);
    const base = path.basename(n).replace(/\.ipynb$/, '');
    const exact = all.find((f) => f === `${base}.ipynb`);
    const matches = exact ? [exact] : all.filter((f) => f.startsWith(base));
    if (matches.length !== 1) {
      throw new UserError(`${matches.length ? 'ambiguous' : 'no'} notebook "${n}" in notebooks/ (${all.join(', ') || 'none'})`, 2);
    }
    return path.join(NOTEBOOKS_DIR, matches[0]);
  });
}

export function readNotebook(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

const text = (v) => (Array.isArray(v) ? v.join('') : (v ?? ''));

/**
 * What a notebook declares in `metadata.nal`: `expectedCharts` (a count, or a list of chart titles
 * that must all appear), `allowStderr` (regular expressions of stderr lines that are fine) and
 * `requiresData` (datasets the project cannot ship, e.g. `["nsl-kdd"]`: without them the notebook
 * must still run, printing where to get the data, and its charts are not checked).
 */
export function notebookSpec(nb) {
  const nal = nb.metadata?.nal ?? {};
  const ec = nal.expectedCharts;
  const titles = Array.isArray(ec) ? ec.map(String) : null;
  const count = titles ? titles.length : Number.isInteger(ec) ? ec : null;
  const allowStderr = (nal.allowStderr ?? []).map((s) => new RegExp(s));
  const requiresData = (nal.requiresData ?? []).map(String);
  return { expectedCharts: count, expectedTitles: titles, allowStderr, requiresData };
}

/**
 * The datasets among `names` that are not on this machine, found with the library's own
 * `locateDataset` (dist/data/locate.js) as the notebook's kernel finds them: with its environment
 * (`NAL_DATA_DIR`) and its working folder, notebooks/.
 *
 * @param env extra environment of the kernel (merged over this process's)
 * @returns `[{ dataset, title, message }]` for each missing dataset (empty when all are present)
 */
export function missingData(names, env = {}) {
  if (!names?.length) return [];
  const file = path.join(ROOT, 'dist', 'data', 'locate.js');
  if (!fs.existsSync(file)) throw new UserError(`${path.relative(ROOT, file)} is missing: build the library first (npm run build).`);
  const { locateDataset, DATASET_SOURCES } = createRequire(import.meta.url)(file);
  return names
    .map((name) => ({ name, loc: locateDataset(name, { env: { ...process.env, ...env }, cwd: NOTEBOOKS_DIR, packageRoot: ROOT }) }))
    .filter(({ loc }) => !loc.found)
    .map(({ name, loc }) => ({ dataset: name, title: DATASET_SOURCES[name]?.title ?? name, message: loc.message }));
}

/** A chart container written by src/charts/display.ts (`showChart` / `chartHtml`). */
const CHART_DIV_RE = /<div\b[^>]*\bclass="[^"]*\bnal-chart\b[^"]*"[^>]*>/g;
/** The figure inlined in a chart's drawing script (`var fig = {...};`, JSON with `<` escaped). */
const CHART_FIG_RE = /\bvar fig = (\{[\s\S]*?\});\s*\n\s*var config\b/g;

function figureTitle(fig) {
  const t = fig?.layout?.title;
  return typeof t === 'string' ? t : (t?.text ?? '');
}

/**
 * The Plotly charts among a notebook's outputs: `application/vnd.plotly.v1+json` outputs, and the
 * chart containers (`<div class="nal-chart">`) the library's `showChart` writes into `text/html`
 * outputs, with the titles of their figures.
 *
 * @returns `{ count, titles }` (a title is "" when the chart has none or it cannot be read)
 */
export function findCharts(nb) {
  const titles = [];
  for (const cell of nb.cells ?? []) {
    for (const o of cell.outputs ?? []) {
      const data = o.data ?? {};
      const pj = data['application/vnd.plotly.v1+json'];
      if (pj) {
        titles.push(figureTitle(pj));
        continue;
      }
      const html = text(data['text/html']);
      if (!html.includes('nal-chart')) continue;
      const divs = html.match(CHART_DIV_RE) ?? [];
      const figs = [...html.matchAll(CHART_FIG_RE)].map((m) => {
        try {
          return figureTitle(JSON.parse(m[1]));
        } catch {
          return '';
        }
      });
      divs.forEach((_, k) => titles.push(decodeHtml(figs[k] ?? '').replace(/<[^>]*>/g, '')));
    }
  }
  return { count: titles.length, titles };
}

function decodeHtml(s) {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Checks an executed notebook: it ran to the end, no cell failed (error outputs, stderr that
 * reports an error, a rejected promise as a cell's value), and it shows the charts it declares in
 * `metadata.nal.expectedCharts`. A notebook that declares none (a user's own) has its charts
 * counted, not checked, unless `strict` (then the declaration is required). With `dataMissing`
 * (datasets of its `requiresData` that are absent) the charts are not checked: the notebook only
 * has to run without errors.
 *
 * @returns `{ errors: string[], warnings: string[], charts: { count, expected, titles }, dataMissing: string[] }`
 */
export function analyzeNotebook(nb, { dataMissing = [], strict = false } = {}) {
  const spec = notebookSpec(nb);
  const errors = [];
  const warnings = [];
  const exec = nb.metadata?.nal?.execution;
  const failed = exec?.failedCell;
  const described = failed != null && (nb.cells?.[failed]?.outputs ?? []).some((o) => o.output_type === 'error');
  if (exec && exec.status !== 'ok' && !described) errors.push(`execution ${exec.status}: ${exec.message ?? ''}`.trim());
  (nb.cells ?? []).forEach((cell, i) => {
    if (cell.cell_type !== 'code') return;
    const where = `cell #${i + 1}`;
    const allowedToFail = (cell.metadata?.tags ?? []).includes('raises-exception');
    // a failed cell's stderr is its error message and stack, already reported by its error output
    const hasError = (cell.outputs ?? []).some((o) => o.output_type === 'error');
    if (text(cell.source).trim() && cell.execution_count == null && (!exec || exec.status === 'ok')) {
      errors.push(`${where} did not run`);
    }
    for (const o of cell.outputs ?? []) {
      if (o.output_type === 'error' && !allowedToFail) {
        errors.push(`${where}: ${o.ename}: ${firstLine(o.evalue)}`);
      } else if (o.output_type === 'stream' && o.name === 'stderr' && !hasError) {
        for (const line of text(o.text).split('\n').filter((l) => l.trim())) {
          if (spec.allowStderr.some((re) => re.test(line))) continue;
          if (STDERR_ERROR_RE.test(line) && !allowedToFail) errors.push(`${where} stderr: ${line.trim()}`);
          else warnings.push(`${where} stderr: ${line.trim()}`);
        }
      } else if (o.output_type === 'stream' && o.name === 'stdout' && /<rejected>/.test(text(o.text))) {
        errors.push(`${where}: a rejected promise (await it): ${firstLine(text(o.text).split('<rejected>')[1])}`);
      }
    }
  });
  const charts = findCharts(nb);
  if (spec.expectedCharts == null) {
    if (strict) errors.push('metadata.nal.expectedCharts is missing (--strict: declare how many charts, or which chart titles, the notebook shows)');
  } else if (dataMissing.length) {
    // without its data the notebook prints where to get it and skips its analysis: no charts to check
  } else if (charts.count !== spec.expectedCharts) {
    errors.push(`expected ${spec.expectedCharts} charts, found ${charts.count}`);
  }
  if (spec.expectedTitles && !dataMissing.length) {
    const missing = spec.expectedTitles.filter((t) => !charts.titles.some((ct) => ct.includes(t)));
    if (missing.length) errors.push(`charts missing: ${missing.map((t) => JSON.stringify(t)).join(', ')}`);
  }
  // de-duplicate repeated stderr lines
  return {
    errors: [...new Set(errors)],
    warnings: [...new Set(warnings)],
    charts: { count: charts.count, expected: spec.expectedCharts, titles: charts.titles },
    dataMissing: [...dataMissing],
  };
}

function firstLine(s) {
  return String(s ?? '').trim().split('\n')[0];
}

/**
 * A notebook as it is run: its parameters resolved (`overrides` from `--param`), a cell tagged
 * `injected-parameters` after its parameters cell when any is overridden, and a last cell tagged
 * `provenance` / `remove-input` that shows the run's provenance (package, git commit, Node, TF.js
 * backend, seeds, parameters, data files with sha256, wall time; src/report/provenance.ts).
 *
 * @param nb the notebook as committed
 * @param opts.name its name (messages)
 * @param opts.file its file (the provenance's subject, relative to the project)
 * @param opts.overrides parsed `--param` values ({@link parseParamArgs})
 * @param opts.executor which executor runs it (shown in the provenance)
 * @returns `{ notebook, parameters }` where `parameters` are `[{ name, value, defaultValue, overridden }]`
 * @throws UserError for a parameter problem (an unknown name lists the notebook's parameters)
 */
export function prepareNotebook(nb, { name = 'notebook', file, overrides = [], executor = 'node' } = {}) {
  let found;
  let parameters;
  try {
    found = findParameters(nb, name);
    parameters = resolveParameters(found, overrides, name);
  } catch (e) {
    if (e instanceof ParameterError) throw new UserError(e.message, 2);
    throw e;
  }
  const notebook = injectParameters(nb, found, parameters);
  const provenance = path.join(ROOT, 'dist', 'report', 'provenance.js');
  const rel = file ? path.relative(ROOT, file) : '';
  const subject = !file ? `${name}.ipynb` : rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
  const args = { subject, parameters, extra: { executor: executor === 'node' ? 'Node (scripts/notebook)' : 'Jupyter nbclient + nbconvert' } };
  const cell = {
    cell_type: 'code',
    execution_count: null,
    metadata: { tags: [...PROVENANCE_TAGS] },
    outputs: [],
    source: `// Provenance of this run (added by npm start; not part of the notebook)\nvoid require(${JSON.stringify(provenance)}).showProvenance(${JSON.stringify(args)});\n`,
  };
  if (notebook.nbformat > 4 || (notebook.nbformat === 4 && (notebook.nbformat_minor ?? 0) >= 5)) {
    const ids = new Set(notebook.cells.map((c) => c.id));
    let id = 'nal-provenance';
    for (let k = 2; ids.has(id); k++) id = `nal-provenance-${k}`;
    cell.id = id;
  }
  notebook.cells.push(cell);
  return { notebook, parameters };
}

/**
 * Executes notebooks headlessly into `outDir` (executed .ipynb + self-contained .html each) and
 * checks them with {@link analyzeNotebook}.
 *
 * @param opts.names notebook names (all when empty)
 * @param opts.params `--param` values, `KEY=VALUE` each (VALUE JSON when it parses, else text);
 *   every named notebook must have the parameter
 * @param opts.strict require every notebook to declare its charts (`metadata.nal.expectedCharts`)
 * @param opts.executor `node` (default; $NAL_NOTEBOOK_EXECUTOR) or `nbclient` (Jupyter's nbclient and nbconvert; needs Python)
 * @param opts.jobs notebooks run at the same time (default $NAL_NOTEBOOK_JOBS, else 2 or the CPU count if lower)
 * @param opts.timeout seconds per cell (default 600)
 * @param opts.totalTimeout seconds per notebook (default 1800; the node executor only)
 * @param opts.env extra environment for the kernels and Jupyter processes (the tests move HOME)
 * @returns `{ ok, seconds, results: [{ name, notebook, ipynb, html, seconds, status, errors, warnings, charts, dataMissing, parameters }] }`;
 *   `dataMissing` lists the datasets a notebook requires (`metadata.nal.requiresData`) that are not
 *   on this machine: it ran without them and its charts were not checked
 */
export async function runNotebooks(opts = {}) {
  const log = opts.log ?? console.log;
  const outDir = path.resolve(opts.outDir ?? REPORTS_DIR);
  const files = listNotebooks(opts.names ?? []);
  if (files.length === 0) throw new UserError('no notebooks in notebooks/');
  const executor = opts.executor ?? (process.env.NAL_NOTEBOOK_EXECUTOR || 'node');
  if (!EXECUTORS.includes(executor)) throw new UserError(`unknown executor "${executor}" (one of ${EXECUTORS.join(', ')})`, 2);
  let overrides;
  try {
    overrides = parseParamArgs(opts.params ?? []);
  } catch (e) {
    if (e instanceof ParameterError) throw new UserError(e.message, 2);
    throw e;
  }
  // parameters are checked for every notebook before anything runs
  const prepared = files.map((file) => {
    const name = path.basename(file, '.ipynb');
    let nb;
    try {
      nb = readNotebook(file);
    } catch (e) {
      throw new UserError(`${path.relative(ROOT, file)}: not a readable notebook (${e.message})`);
    }
    return { file, name, ...prepareNotebook(nb, { name, file, overrides, executor }) };
  });
  const python = executor === 'nbclient' ? requirePython(RUN_MODULES) : null;
  if (opts.build !== false) ensureBuilt({ log });
  setupKernel({ log });
  fs.mkdirSync(outDir, { recursive: true });
  const cpus = os.availableParallelism?.() ?? os.cpus().length;
  const jobs = Math.max(1, Math.min(files.length, Number(opts.jobs ?? process.env.NAL_NOTEBOOK_JOBS ?? Math.min(2, cpus)) || 1));
  const timeout = Number(opts.timeout ?? 600);
  const totalTimeout = Number(opts.totalTimeout ?? 1800);
  const how = executor === 'node' ? '' : ' (Jupyter nbclient + nbconvert)';
  log(`Executing ${files.length} notebook${files.length > 1 ? 's' : ''} with the ${KERNEL_NAME} kernel${how} (${jobs} at a time) into ${path.relative(ROOT, outDir) || '.'}/`);
  const overridden = prepared[0].parameters.filter((p) => p.overridden);
  if (overridden.length) log(`Parameters: ${overridden.map((p) => `${p.name} = ${JSON.stringify(p.value)}`).join(', ')}`);

  const t0 = Date.now();
  const results = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < prepared.length) {
      const i = next++;
      const job = { ...prepared[i], outDir, timeout, totalTimeout, env: opts.env ?? {}, strict: Boolean(opts.strict) };
      results[i] = executor === 'node' ? await executeWithNode(job) : await executeWithNbclient({ ...job, python });
      log(formatResult(results[i]));
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const seconds = (Date.now() - t0) / 1000;
  const ok = results.every((r) => r.errors.length === 0);
  log(summary(results, seconds));
  return { ok, seconds, results };
}

/** The outcome of one executed notebook: its checks, and where its copies are. */
function resultOf(job, { seconds, status, failure }) {
  const base = {
    name: job.name,
    notebook: job.file,
    ipynb: path.join(job.outDir, `${job.name}.ipynb`),
    html: path.join(job.outDir, `${job.name}.html`),
    dataMissing: [],
    parameters: job.parameters,
  };
  if (failure || !fs.existsSync(base.ipynb)) {
    return { ...base, seconds, status: 'failed-to-run', errors: [failure ?? 'no executed notebook was written'], warnings: [], charts: { count: 0, expected: null, titles: [] } };
  }
  const executed = readNotebook(base.ipynb);
  let absent = [];
  const dataErrors = [];
  try {
    absent = missingData(notebookSpec(executed).requiresData, job.env);
  } catch (e) {
    dataErrors.push(`metadata.nal.requiresData: ${e.message}`);
  }
  const analysis = analyzeNotebook(executed, { dataMissing: absent.map((d) => d.dataset), strict: job.strict });
  return { ...base, seconds, status, ...analysis, errors: [...dataErrors, ...analysis.errors], dataMissingTitles: absent.map((d) => d.title) };
}

/** Runs one prepared notebook with the Node executor and renders its report. */
async function executeWithNode(job) {
  const t0 = Date.now();
  try {
    const spec = findKernelSpec(KERNEL_NAME, [path.join(LOCAL_JUPYTER, 'share', 'jupyter'), ...jupyterDataDirs()]);
    const env = jupyterEnv(job.env);
    const run = await executeNotebook(job.notebook, {
      spec,
      cwd: path.dirname(job.file),
      env,
      timeout: job.timeout,
      totalTimeout: job.totalTimeout,
      runtimeDir: path.join(LOCAL_JUPYTER, 'runtime'),
      // a failed notebook's report still ends with its provenance
      alwaysRun: ['provenance'],
    });
    fs.writeFileSync(path.join(job.outDir, `${job.name}.ipynb`), formatExecutedNotebook(run.notebook));
    fs.writeFileSync(path.join(job.outDir, `${job.name}.html`), renderNotebook(run.notebook, { title: notebookTitle(run.notebook, job.name) }));
    return resultOf(job, { seconds: run.seconds, status: run.status });
  } catch (e) {
    return resultOf(job, { seconds: (Date.now() - t0) / 1000, status: 'failed-to-run', failure: `the executor failed: ${e.stack ?? e}` });
  }
}

/** Runs one prepared notebook with Jupyter's nbclient and nbconvert (scripts/execute_notebook.py). */
function executeWithNbclient(job) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-run-'));
  const input = path.join(scratch, `${job.name}.ipynb`);
  fs.writeFileSync(input, formatNotebook(job.notebook));
  const args = [EXECUTOR, input, job.outDir, '--cwd', path.dirname(job.file), '--kernel', KERNEL_NAME, '--timeout', String(job.timeout), '--template-dir', TEMPLATE_DIR];
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(job.python, args, { cwd: ROOT, env: jupyterEnv(job.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('error', (e) => finish(null, e));
    child.on('close', (code) => finish(code));
    let done = false;
    function finish(code, spawnError) {
      if (done) return;
      done = true;
      fs.rmSync(scratch, { recursive: true, force: true });
      const line = out.split('\n').find((l) => l.startsWith('NAL_RESULT '));
      const exec = line ? JSON.parse(line.slice('NAL_RESULT '.length)) : null;
      const seconds = exec?.seconds ?? (Date.now() - t0) / 1000;
      if (!exec) {
        const why = spawnError ? String(spawnError) : `exit ${code}`;
        resolve(resultOf(job, { seconds, status: 'failed-to-run', failure: `the executor failed (${why}):\n${err.trim() || out.trim()}` }));
        return;
      }
      resolve(resultOf(job, { seconds, status: exec.status }));
    }
  });
}

function formatResult(r) {
  const mark = r.errors.length ? 'FAIL' : 'ok  ';
  const charts = r.charts.expected == null || r.dataMissing?.length ? `${r.charts.count} charts` : `${r.charts.count}/${r.charts.expected} charts`;
  const lines = [`  ${mark} ${r.name.padEnd(34)} ${r.seconds.toFixed(1).padStart(6)} s   ${charts.padEnd(12)} ${path.relative(ROOT, r.html)}`];
  if (r.dataMissing?.length) lines.push(`         ran without ${dataTitles(r)} (data missing): charts not checked; the notebook's first code cell says where to get the data`);
  for (const e of r.errors) lines.push(`         error: ${e}`);
  for (const w of r.warnings.slice(0, 5)) lines.push(`         warning: ${w}`);
  if (r.warnings.length > 5) lines.push(`         (${r.warnings.length - 5} more warnings)`);
  return lines.join('\n');
}

function dataTitles(r) {
  return (r.dataMissingTitles?.length ? r.dataMissingTitles : r.dataMissing).join(' and ');
}

function summary(results, seconds) {
  const failed = results.filter((r) => r.errors.length);
  const total = results.reduce((s, r) => s + r.seconds, 0);
  const withoutData = results.filter((r) => r.dataMissing?.length);
  return `${results.length - failed.length}/${results.length} notebooks ok, ${failed.length} failed; ${total.toFixed(1)} s in kernels, ${seconds.toFixed(1)} s wall.${
    withoutData.map((r) => `\n${r.name} ran without ${dataTitles(r)} (data missing; see its first code cell for where to get it).`).join('')
  }${failed.length ? `\nFailed: ${failed.map((r) => r.name).join(', ')} (the executed copies in reports/ show where).` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// stripping

/** A notebook with every output, execution count and execution metadata removed (a new object). */
export function stripNotebook(nb) {
  const out = structuredClone(nb);
  for (const cell of out.cells ?? []) {
    if (cell.cell_type === 'code') {
      cell.outputs = [];
      cell.execution_count = null;
    }
    if (cell.metadata) {
      delete cell.metadata.execution;
      delete cell.metadata.collapsed;
      delete cell.metadata.scrolled;
    }
    if (cell.cell_type !== 'markdown' && cell.cell_type !== 'raw') delete cell.attachments;
  }
  if (out.metadata) {
    delete out.metadata.widgets;
    if (out.metadata.nal) delete out.metadata.nal.execution;
  }
  return out;
}

/** Whether a notebook carries outputs or execution counts. */
export function notebookHasOutputs(nb) {
  return (nb.cells ?? []).some((c) => c.cell_type === 'code' && ((c.outputs ?? []).length > 0 || c.execution_count != null));
}

/** Notebook JSON as Jupyter writes it (sorted keys, one-space indent, trailing newline). */
export function formatNotebook(nb) {
  const sort = (v) =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
  return JSON.stringify(sort(nb), null, 1) + '\n';
}

/** Strips outputs from notebooks in place; with `check`, only reports which ones have outputs. */
export function stripNotebooks({ names = [], check = false, log = console.log } = {}) {
  const dirty = [];
  for (const file of listNotebooks(names)) {
    const raw = fs.readFileSync(file, 'utf8');
    const nb = JSON.parse(raw);
    const clean = formatNotebook(stripNotebook(nb));
    if (clean === raw) continue;
    dirty.push(file);
    if (!check) {
      fs.writeFileSync(file, clean);
      log(`stripped ${path.relative(ROOT, file)}`);
    } else {
      log(`${path.relative(ROOT, file)} has ${notebookHasOutputs(nb) ? 'outputs' : 'unnormalised metadata or formatting'}`);
    }
  }
  if (check && dirty.length) log('Run `npm run notebooks:strip` to clean them.');
  if (!check && dirty.length === 0) log('notebooks are clean');
  return dirty;
}

// ---------------------------------------------------------------------------------------------
// Jupyter UI and user registration

/** Opens the Jupyter Notebook UI on notebooks/ with the project-local tslab kernel. */
export function openNotebooks(extraArgs = []) {
  const python = requirePython(OPEN_MODULES);
  ensureBuilt();
  setupKernel();
  console.log('Starting Jupyter on notebooks/ (kernel "TypeScript" = tslab). Stop with Ctrl-C.');
  // containers and dev VMs often run as root, which Jupyter refuses without --allow-root
  const root = process.getuid?.() === 0 && !extraArgs.includes('--allow-root') ? ['--allow-root'] : [];
  const child = spawn(python, ['-m', 'notebook', `--notebook-dir=${NOTEBOOKS_DIR}`, ...root, ...extraArgs], {
    cwd: NOTEBOOKS_DIR,
    env: jupyterEnv(),
    stdio: 'inherit',
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

/**
 * Registers the tslab and jslab kernels in the per-user Jupyter data dir (e.g.
 * ~/.local/share/jupyter/kernels, what `tslab install --user` does), for VS Code or a Jupyter
 * started outside this project. Explicit only. Written by Node: no Python needed.
 *
 * @returns the kernels folder written to
 */
export function installUserKernel({ log = console.log } = {}) {
  if (!fs.existsSync(TSLAB_BIN)) throw new UserError('node_modules/.bin/tslab is missing: run `npm install` first.');
  const kernelsDir = path.join(jupyterUserDataDir(), 'kernels');
  writeKernelSpecs(kernelsDir);
  log(
    `Registered the "tslab" (TypeScript) and "jslab" (JavaScript) kernels for this user in ${kernelsDir}, using ${TSLAB_BIN}.\n` +
      `Remove them with: rm -r ${path.join(kernelsDir, 'tslab')} ${path.join(kernelsDir, 'jslab')}  (or: jupyter kernelspec uninstall tslab jslab)`,
  );
  return kernelsDir;
}

/** Prints what the notebook tooling found; exit status 0 when `npm start` can run. */
export function doctor() {
  const run = findPython(RUN_MODULES);
  const open = findPython(OPEN_MODULES);
  let zmq;
  try {
    zmq = `zeromq ${createRequire(import.meta.url)('zeromq/package.json').version}`;
  } catch (e) {
    zmq = null;
  }
  const ready = Boolean(zmq) && fs.existsSync(TSLAB_BIN);
  const rows = [
    ['node', process.version],
    ['tslab', fs.existsSync(TSLAB_BIN) ? TSLAB_BIN : 'missing (npm install)'],
    ['ZeroMQ binding (npm start)', zmq ?? 'missing (npm install)'],
    ['kernelspec', fs.existsSync(KERNEL_JSON) ? KERNEL_JSON : 'not registered yet (done on first run)'],
    ['python for `--executor nbclient`', run.python ?? `none (${run.tried.map((t) => `${t.cmd}: ${t.problem}`).join('; ')})`],
    ['python for `npm run notebooks`', open.python ?? `none (${open.tried.map((t) => `${t.cmd}: ${t.problem}`).join('; ')})`],
    ['chromium (browser test)', findChromium() ?? 'none'],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(34)} ${v}`);
  console.log(ready ? '\n`npm start` needs nothing more (Node only).' : '\n`npm start` cannot run yet: run `npm install`.');
  if (!open.python) console.log(`\nFor \`npm run notebooks\` (editing in Jupyter): ${INSTALL_HELP}`);
  return ready ? 0 : 3;
}

/** A Chromium/Chrome executable for the browser test: $NAL_CHROMIUM or a usual system path. */
export function findChromium() {
  const candidates = [process.env.NAL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  return candidates.find((p) => p && fs.existsSync(p)) ?? null;
}

// ---------------------------------------------------------------------------------------------
// CLI

const USAGE = `Usage: node scripts/notebooks.mjs <command>

  run [names...]        execute notebooks/ headlessly into reports/ (npm start; Node only)
      --param KEY=VALUE   set a parameter of the notebook's parameters cell (repeatable;
                          VALUE is JSON when it parses, else text)
      --strict            every notebook must declare its charts (metadata.nal.expectedCharts)
      --jobs N            notebooks at the same time (default 2, or 1 on one CPU; or $NAL_NOTEBOOK_JOBS)
      --timeout S         seconds per cell (default 600)
      --total-timeout S   seconds per notebook (default 1800)
      --out DIR           output folder (default reports/)
      --no-build          do not rebuild dist/ when stale
      --executor E        node (default) or nbclient (Jupyter's nbclient + nbconvert, needs Python;
                          for comparison); or $NAL_NOTEBOOK_EXECUTOR
      --json FILE         also write the outcome as JSON ({ ok, seconds, results: [...] })
  open [jupyter args]   Jupyter Notebook on notebooks/ with the tslab kernel (npm run notebooks)
  setup-kernel [--force]  register the tslab kernel in .jupyter/ (done by run/open)
  strip [--check] [names...]  remove outputs from notebooks/*.ipynb (--check: only report)
  install-user-kernel   register the tslab kernel for this user (VS Code, a global Jupyter)
  doctor                show which Node/Python/Jupyter/Chromium the tooling uses

  A name is a notebook's file name, with or without .ipynb, or a unique prefix such as 03.`;

/** Every value of a repeatable option (`--param A=1 --param=B=2`), removed from `args`. */
function takeOptions(args, name) {
  const values = [];
  for (let v = takeOption(args, name); v !== undefined; v = takeOption(args, name)) values.push(v);
  return values;
}

function takeOption(args, name) {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const [a] = args.splice(i, 1);
  if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
  const [v] = args.splice(i, 1);
  if (v === undefined) throw new UserError(`${name} needs a value`);
  return v;
}

function takeFlag(args, name) {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

/** Kernels run in their own process groups: a Ctrl-C (or a kill) of `run` ends them too. */
function stopKernelsOnSignals() {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      const n = killAllKernels();
      if (n) console.error(`\n${sig}: stopped ${n} running kernel${n > 1 ? 's' : ''}`);
      process.kill(process.pid, sig);
    });
  }
}

export async function main(argv) {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'run': {
      if (args.includes('--help') || args.includes('-h')) {
        console.log(USAGE);
        return 0;
      }
      const params = takeOptions(args, '--param');
      const jobs = takeOption(args, '--jobs');
      const timeout = takeOption(args, '--timeout');
      const totalTimeout = takeOption(args, '--total-timeout');
      const outDir = takeOption(args, '--out');
      const executor = takeOption(args, '--executor');
      const json = takeOption(args, '--json');
      const build = !takeFlag(args, '--no-build');
      const strict = takeFlag(args, '--strict');
      const unknown = args.find((a) => a.startsWith('-'));
      if (unknown) throw new UserError(`unknown option ${unknown}\n\n${USAGE}`, 2);
      for (const [flag, v] of [['--jobs', jobs], ['--timeout', timeout], ['--total-timeout', totalTimeout]]) {
        if (v !== undefined && !(Number(v) > 0)) throw new UserError(`${flag} must be a positive number, got ${JSON.stringify(v)}`, 2);
      }
      stopKernelsOnSignals();
      const run = await runNotebooks({ names: args, params, jobs, timeout, totalTimeout, outDir, build, executor, strict });
      if (json) fs.writeFileSync(path.resolve(json), JSON.stringify(run, null, 2) + '\n');
      return run.ok ? 0 : 1;
    }
    case 'open':
      return openNotebooks(args);
    case 'setup-kernel':
      setupKernel({ force: takeFlag(args, '--force') });
      return 0;
    case 'strip': {
      const check = takeFlag(args, '--check');
      const dirty = stripNotebooks({ names: args, check });
      return check && dirty.length ? 1 : 0;
    }
    case 'install-user-kernel':
      installUserKernel();
      return 0;
    case 'doctor':
      return doctor();
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return cmd ? 0 : 2;
    default:
      throw new UserError(`unknown command "${cmd}"\n\n${USAGE}`, 2);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      if (e instanceof UserError) {
        console.error(e.message);
        process.exit(e.exitCode);
      }
      console.error(e);
      process.exit(1);
    },
  );
}
