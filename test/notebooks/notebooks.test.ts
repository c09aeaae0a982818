/**
 * Notebooks: the committed files are clean (no outputs) and well-formed, and every notebook
 * executes headlessly through `npm start` without errors, showing the charts its metadata
 * declares, with Node alone: the run's PATH has no Python and no Jupyter (support.ts). Needs
 * `npm install` only; never skips in CI (CI=true).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findParameters, parseParamArgs } from '../../scripts/notebook/parameters.mjs';
import { chartHtml as renderChart } from '../../src/charts/display';
import { DEFAULT_DETECTORS, DETECTOR_LABELS } from '../../src/ensemble/ensemble';
import { ensureReports, jupyter, notebookSkipReason, nslKdd, nslKddSkipReason, runner, withLock } from './support';
import type { RunManifest } from './support';

const files = runner.listNotebooks();
const names = files.map((f) => path.basename(f, '.ipynb'));

describe('committed notebooks', () => {
  it('there are notebooks', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(names)('%s carries no outputs (npm run notebooks:strip)', (name) => {
    const file = path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`);
    const nb = runner.readNotebook(file);
    expect(runner.notebookHasOutputs(nb)).toBe(false);
    // stripped and formatted as the strip tool writes it: no outputs, counts or execution metadata
    expect(fs.readFileSync(file, 'utf8')).toBe(runner.formatNotebook(runner.stripNotebook(nb)));
  });

  it.each(names)('%s is an nbformat 4 tslab notebook over the library, imported by name', (name) => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`));
    expect(nb.nbformat).toBe(4);
    expect(nb.metadata.kernelspec).toMatchObject({ name: runner.KERNEL_NAME, language: 'typescript' });
    expect(runner.notebookSpec(nb).expectedCharts).toBeGreaterThan(0);
    const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => [c.source].flat().join(''));
    const all = code.join('\n');
    expect(all).toContain("import * as nal from 'network-anomaly-lab';");
    expect(all).not.toMatch(/from '\.\.\/(dist|src)\//);
    // SEED in the first code cell: the parameters cell (below)
    expect(code[0]).toMatch(/^const SEED = \d+;/);
    // tells a story and concludes: starts with a title, ends with a markdown conclusion
    expect(nb.cells[0].cell_type).toBe('markdown');
    expect([nb.cells[0].source].flat().join('')).toMatch(/^# /);
    expect(nb.cells[nb.cells.length - 1].cell_type).toBe('markdown');
  });

  // the contract of `npm start -- NAME --param KEY=VALUE` (papermill's convention): one code cell tagged
  // "parameters", holding only lines `const NAME = <JSON literal>;`, each with an optional `// comment`
  it.each(names)('%s has one parameters cell: only `const NAME = <JSON literal>;` lines', (name) => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`));
    const tagged = nb.cells.filter((c) => (c.metadata?.tags ?? []).includes('parameters'));
    expect(tagged).toHaveLength(1);
    expect(tagged[0].cell_type).toBe('code');
    expect(nb.cells.find((c) => c.cell_type === 'code')).toBe(tagged[0]);
    const lines = [tagged[0].source].flat().join('').split('\n');
    const params: Record<string, unknown> = {};
    for (const line of lines) {
      const m = /^const ([A-Z][A-Z0-9_]*) = (.+?);(?:\s*\/\/.*)?$/.exec(line);
      expect(m, `not a parameter line: ${JSON.stringify(line)}`).not.toBeNull();
      expect(() => (params[m![1]] = JSON.parse(m![2])), `${m![1]}: ${m![2]} is not a JSON literal`).not.toThrow();
    }
    expect(Object.keys(params)).toContain('SEED');
    expect(Number.isInteger(params.SEED)).toBe(true);
    // no parameter is declared again further down
    const rest = nb.cells.filter((c) => c !== tagged[0] && c.cell_type === 'code').map((c) => [c.source].flat().join('')).join('\n');
    for (const k of Object.keys(params)) expect(rest).not.toMatch(new RegExp(`\\b(const|let|var) ${k}\\b`));
  });

  // danfo all the way through: notebooks 02-08 show their tables as DataFrames, not hand-built rows
  it.each(names.filter((n) => !n.startsWith('01') && !n.startsWith('09')))('%s shows its tables as danfo DataFrames', (name) => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`));
    const all = nb.cells.filter((c) => c.cell_type === 'code').map((c) => [c.source].flat().join('')).join('\n');
    expect(all).toMatch(/nal\.(toDataFrame|detectionToDataFrame|metricsToDataFrame|importanceToDataFrame|feedbackRoundsToDataFrame|streamWindowsToDataFrame)\(/);
    expect(all).toContain('nal.show(');
    expect(all).not.toContain('nal.showTable(');
  });

  it('03 writes its CSV report to its own folder, replaced on every run (no timestamped copies)', () => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, '03-detection-and-model-comparison.ipynb'));
    const all = nb.cells.filter((c) => c.cell_type === 'code').map((c) => [c.source].flat().join('')).join('\n');
    expect(all).not.toMatch(/toISOString|Date\.now|new Date\(/);
    expect(all).toContain("path.join(OUT_DIR, 'anomalies.csv')");
    expect(all).toContain("path.resolve('../reports/03-detection-and-model-comparison')");
  });
});

describe('parameters cells as `npm start -- NAME --param KEY=VALUE` reads them', () => {
  it.each(names)('%s: the runner reads its parameters and can set SEED', (name) => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`));
    const found = findParameters(nb, name)!;
    expect(found.parameters.map((p) => p.name)).toContain('SEED');
    const same = runner.prepareNotebook(nb, { name, overrides: [] });
    expect(same.notebook.cells.filter((c: any) => (c.metadata?.tags ?? []).includes('injected-parameters'))).toEqual([]);
    const { notebook, parameters } = runner.prepareNotebook(nb, { name, overrides: parseParamArgs(['SEED=7']) });
    const injected = notebook.cells[found.index + 1];
    expect(injected.metadata.tags).toEqual(['injected-parameters']);
    expect(injected.source).toContain('const SEED = 7;');
    expect(parameters.find((p) => p.name === 'SEED')).toMatchObject({ value: 7, overridden: true });
  });
});

if (notebookSkipReason) console.warn(notebookSkipReason);

const nbformatPython = runner.findPython(['nbformat']).python;
const nbformatSkipReason =
  nbformatPython || runner.isCI() ? null : 'Skipping the nbformat schema check of the executed notebooks: no Python with nbformat (Debian: apt-get install python3-nbformat). It runs in CI (CI=true).';
if (nbformatSkipReason && !notebookSkipReason) console.warn(nbformatSkipReason);

describe.skipIf(notebookSkipReason !== null)('notebooks execute headlessly (npm start)', () => {
  let run: RunManifest;

  beforeAll(async () => {
    run = await ensureReports();
  }, 20 * 60_000);

  it('the runner ran', () => {
    expect(run.failure ?? null).toBeNull();
    expect(run.results.map((r) => r.name)).toEqual(names);
  });

  it('`npm start` needs neither Python nor Jupyter (they are not on its PATH)', () => {
    expect(run.command).toMatch(/^npm start|^node scripts\/notebooks\.mjs run/);
    expect(run.onPath).toEqual({ python3: null, python: null, jupyter: null });
    expect(run.exitCode).toBe(0);
    expect(run.ok).toBe(true);
    expect(run.output).toMatch(new RegExp(`${names.length}/${names.length} notebooks ok, 0 failed`));
  });

  it.each(names)('%s ends with its provenance and lists its parameters', (name) => {
    const r = run.results.find((x) => x.name === name)!;
    const executed = runner.readNotebook(r.ipynb);
    const last = executed.cells.at(-1);
    expect(last.metadata.tags).toEqual(['provenance', 'remove-input']);
    const html = [last.outputs?.[0]?.data?.['text/html']].flat().join('');
    expect(html).toContain('<h2 style="font-size:16px;font-weight:500;margin:4px 0 6px 0">Provenance</h2>');
    expect(html).toContain(`notebooks/${name}.ipynb`);
    for (const p of r.parameters) expect(html).toContain(`>${p.name}</td>`);
    expect(fs.readFileSync(r.html, 'utf8')).not.toContain('showProvenance');
  });

  it.each(names)('%s runs without errors and shows its charts', (name) => {
    const r = run.results.find((x) => x.name === name);
    expect(r, `no result for ${name}`).toBeDefined();
    expect(r!.errors).toEqual([]);
    expect(r!.status).toBe('ok');
    expect(fs.existsSync(r!.ipynb)).toBe(true);
    expect(fs.existsSync(r!.html)).toBe(true);
    // the executed copy is checked independently of the runner's own verdict
    const executed = runner.readNotebook(r!.ipynb);
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === 'error')).toEqual([]);
    // a notebook whose dataset is absent here (metadata.nal.requiresData) runs without charts;
    // notebook 07's own tests below say when that is allowed
    if (r!.dataMissing.length) return;
    expect(r!.charts.count).toBe(r!.charts.expected);
    expect(runner.findCharts(executed).count).toBe(runner.notebookSpec(executed).expectedCharts);
  });

  it.skipIf(nbformatSkipReason !== null)('writes executed notebooks that are valid against nbformat 4', () => {
    const files = run.results.map((r) => r.ipynb);
    const check = spawnSync(
      nbformatPython ?? 'python3',
      ['-c', 'import sys, nbformat\nfor f in sys.argv[1:]:\n    nbformat.validate(nbformat.read(f, as_version=4))\n    print("valid", f)', ...files],
      { encoding: 'utf8' },
    );
    expect(check.stderr).toBe('');
    expect(check.stdout.trim().split('\n')).toEqual(files.map((f) => `valid ${f}`));
  });

  it('writes nothing outside the project ($HOME stays empty)', () => {
    expect(run.homeWrites).toEqual([]);
  });
});

/** Everything a notebook printed or displayed as text (streams, text/plain, text/html). */
function outputText(nb: { cells: any[] }): string {
  const t = (v: unknown) => (Array.isArray(v) ? v.join('') : String(v ?? ''));
  return nb.cells
    .flatMap((c) => c.outputs ?? [])
    .map((o: any) => (o.output_type === 'stream' ? t(o.text) : [t(o.data?.['text/plain']), t(o.data?.['text/html'])].join('\n')))
    .join('\n');
}

const NB07 = '07-real-traffic-nsl-kdd';
const SKIPPED_07 = 'skipped: NSL-KDD not found (where to get it: the output of the cell after the parameters)';
if (nslKddSkipReason && !notebookSkipReason) console.warn(nslKddSkipReason);

describe('07-real-traffic-nsl-kdd: real traffic, with and without the data', () => {
  it('declares NSL-KDD as required data and finds it with locateDataset', () => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${NB07}.ipynb`));
    expect(runner.notebookSpec(nb).requiresData).toEqual(['nsl-kdd']);
    const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => [c.source].flat().join(''));
    expect(code[1]).toMatch(/nal\.locateDataset\('nsl-kdd'\)/);
    // every cell after the parameters and the lookup checks for the data first
    for (const c of code.slice(2)) expect(c).toContain('if (!HAVE_DATA) skipped();');
  });

  it('quotes no result numbers in its prose: what a run measures is printed by its cells', () => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${NB07}.ipynb`));
    const prose = nb.cells.slice(1).filter((c) => c.cell_type === 'markdown').map((c) => [c.source].flat().join(''));
    for (const md of prose) expect(md, md.slice(0, 80)).not.toMatch(/\b[01]\.\d{3,}\b/); // no ROC-AUC, F1 or precision of a run
    // the sections that read the results say they need the data
    expect(prose.filter((md) => md.includes('**When the data is present**')).length).toBeGreaterThanOrEqual(6);
  });

  // the shared run of every notebook (npm start) ran 07 with the data found as its kernel finds it
  it.skipIf(nslKddSkipReason !== null)(
    'runs with NSL-KDD (../shared/datasets/nsl-kdd; required in CI) and shows every chart',
    async () => {
      expect(nslKdd.found, nslKdd.message).toBe(true);
      const run = await ensureReports();
      const r = run.results.find((x) => x.name === NB07);
      expect(r, `no result for ${NB07}`).toBeDefined();
      expect(r!.dataMissing).toEqual([]);
      expect(r!.errors).toEqual([]);
      expect(r!.charts.count).toBe(r!.charts.expected);
      const text = outputText(runner.readNotebook(r!.ipynb));
      expect(text).toContain(`NSL-KDD found in ${nslKdd.dir}`);
      expect(text).not.toContain(SKIPPED_07);
      // the comparison table covers every detector of the default ensemble and the ensemble, and feedback was measured
      for (const m of [...DEFAULT_DETECTORS.map((d) => DETECTOR_LABELS[d]), 'Ensemble']) expect(text).toContain(m);
      const fb = text.match(/held-out false positives (\d+) -> (\d+)/);
      expect(fb, 'the feedback round reports held-out false positives').not.toBeNull();
      expect(Number(fb![2])).toBeLessThan(Number(fb![1]));
    },
    20 * 60_000,
  );

  it.skipIf(notebookSkipReason !== null)(
    'runs without NSL-KDD (NAL_DATA_DIR = an empty folder): no error, says where to get the data, skips the rest',
    async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-nb07-'));
      const [home, empty, out] = ['home', 'data', 'out'].map((d) => path.join(tmp, d));
      for (const d of [home, empty, out]) fs.mkdirSync(d);
      const lines: string[] = [];
      try {
        const run = await withLock(() => runner.runNotebooks({ names: [NB07], outDir: out, env: { HOME: home, NAL_DATA_DIR: empty }, log: (l) => lines.push(l) }));
        const r = run.results[0];
        expect(r.errors).toEqual([]);
        expect(r.status).toBe('ok');
        expect(run.ok).toBe(true);
        expect(r.dataMissing).toEqual(['nsl-kdd']);
        expect(r.charts.count).toBe(0);
        expect(lines.join('\n')).toMatch(/07-real-traffic-nsl-kdd ran without NSL-KDD \(data missing/);
        const executed = runner.readNotebook(r.ipynb);
        const text = outputText(executed);
        expect(text).toContain('NSL-KDD was not found');
        expect(text).toContain(path.join(empty, 'nsl-kdd'));
        expect(text).toContain('https://www.unb.ca/cic/datasets/nsl.html');
        expect(text).toContain('data/external/nsl-kdd');
        // one "skipped" line from every code cell after the parameters and the lookup
        const codeCells = executed.cells.filter((c) => c.cell_type === 'code' && !(c.metadata?.tags ?? []).includes('provenance'));
        expect(text.split('\n').filter((l) => l === SKIPPED_07)).toHaveLength(codeCells.length - 2);
        expect(fs.readFileSync(r.html, 'utf8')).toContain('NSL-KDD was not found');
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    },
    5 * 60_000,
  );
});

describe('runner checks', () => {
  const code = (source: string, outputs: any[]) => ({ cell_type: 'code', source, metadata: {}, execution_count: 1, outputs });
  const nb = (cells: any[], nal: any = { expectedCharts: 1 }) => ({ nbformat: 4, nbformat_minor: 5, metadata: { nal }, cells });
  // exactly what showChart writes (the runner counts these containers and reads their titles)
  const chartHtml = (title: string) => renderChart({ data: [{ type: 'bar', x: [1], y: [2] }], layout: { title: { text: title } } });
  const chart = { output_type: 'display_data', metadata: {}, data: { 'text/html': chartHtml('Packet size') } };

  it('passes a clean notebook with its chart', () => {
    const a = runner.analyzeNotebook(nb([code('1', [chart])]));
    expect(a.errors).toEqual([]);
    expect(a.charts.titles).toEqual(['Packet size']);
  });

  it('counts every chart of an output and reads titles with markup and quotes', () => {
    const html = chartHtml('Rate <b>"fast"</b> & </script>') + chartHtml('Second');
    const out = { output_type: 'display_data', metadata: {}, data: { 'text/html': html.split(/(?<=\n)/) } };
    expect(runner.findCharts(nb([code('1', [out])])).titles).toEqual(['Rate "fast" & ', 'Second']);
  });

  it('fails on error outputs, stderr errors, rejected promises and missing charts', () => {
    const a = runner.analyzeNotebook(
      nb([
        code('a', [{ output_type: 'error', ename: 'TypeError', evalue: 'x is undefined', traceback: [] }]),
        code('b', [{ output_type: 'stream', name: 'stderr', text: 'UncaughtException: Error: later\n' }]),
        code('c', [{ output_type: 'stream', name: 'stdout', text: 'Promise {\n  <rejected> Error: no\n' }]),
      ]),
    );
    expect(a.errors).toHaveLength(4);
    expect(a.errors.join('\n')).toMatch(/expected 1 charts, found 0/);
  });

  it('lists harmless stderr as warnings, honours allowStderr and chart titles', () => {
    const a = runner.analyzeNotebook(
      nb([code('1', [chart, { output_type: 'stream', name: 'stderr', text: 'a deprecation notice\nknown Error line\n' }])], {
        expectedCharts: ['Packet size'],
        allowStderr: ['^known Error'],
      }),
    );
    expect(a.errors).toEqual([]);
    expect(a.warnings).toEqual(['cell #1 stderr: a deprecation notice']);
    const b = runner.analyzeNotebook(nb([code('1', [chart])], { expectedCharts: ['Duration'] }));
    expect(b.errors.join('\n')).toMatch(/charts missing: "Duration"/);
  });

  it.each(['open', 'run --executor nbclient'])('`%s` without Jupyter says how to install it and exits non-zero', (cmd) => {
    const r = spawnSync(process.execPath, [path.join(runner.ROOT, 'scripts', 'notebooks.mjs'), ...cmd.split(' ')], {
      env: { ...process.env, NAL_PYTHON: '/nonexistent/python3' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('apt-get install -y --no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client');
    expect(r.stderr).toContain('pip install notebook nbconvert nbclient ipykernel');
  });

  it('registers the kernel for this user without Python (install-user-kernel), where Jupyter finds it', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-user-kernel-'));
    try {
      const env: Record<string, string> = { ...(process.env as Record<string, string>), HOME: home, NAL_PYTHON: '/nonexistent/python3' };
      for (const k of ['JUPYTER_DATA_DIR', 'XDG_DATA_HOME', 'JUPYTER_PATH']) delete env[k];
      const r = spawnSync(process.execPath, [path.join(runner.ROOT, 'scripts', 'notebooks.mjs'), 'install-user-kernel'], { env, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const dir = process.platform === 'darwin' ? path.join(home, 'Library', 'Jupyter') : path.join(home, '.local', 'share', 'jupyter');
      const spec = JSON.parse(fs.readFileSync(path.join(dir, 'kernels', 'tslab', 'kernel.json'), 'utf8'));
      expect(spec).toEqual(runner.tslabKernelSpecs().tslab);
      expect(spec.argv).toEqual([runner.TSLAB_BIN, 'kernel', '--config-path', '{connection_file}']);
      expect(fs.existsSync(path.join(dir, 'kernels', 'jslab', 'kernel.json'))).toBe(true);
      expect(r.stdout).toContain(path.join(dir, 'kernels'));
      if (jupyter.python) {
        const list = spawnSync(jupyter.python, ['-m', 'jupyter', 'kernelspec', 'list', '--json'], { env: { ...env, PYDEVD_DISABLE_FILE_VALIDATION: '1' }, encoding: 'utf8' });
        expect(JSON.parse(list.stdout).kernelspecs.tslab.resource_dir).toBe(path.join(dir, 'kernels', 'tslab'));
      }
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('does not check the charts of a notebook whose required data is missing', () => {
    const spec = { expectedCharts: ['Packet size'], requiresData: ['nsl-kdd'] };
    expect(runner.notebookSpec(nb([], spec)).requiresData).toEqual(['nsl-kdd']);
    const without = runner.analyzeNotebook(nb([code('1', [])], spec), { dataMissing: ['nsl-kdd'] });
    expect(without.errors).toEqual([]);
    expect(without.dataMissing).toEqual(['nsl-kdd']);
    // with the data, the charts are required as usual
    expect(runner.analyzeNotebook(nb([code('1', [])], spec)).errors.join('\n')).toMatch(/expected 1 charts, found 0/);
    // missingData asks the library's locateDataset with the kernel's environment
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-nodata-'));
    try {
      const missing = runner.missingData(['nsl-kdd'], { NAL_DATA_DIR: empty });
      expect(missing.map((m) => [m.dataset, m.title])).toEqual([['nsl-kdd', 'NSL-KDD']]);
      expect(missing[0].message).toContain(path.join(empty, 'nsl-kdd'));
      expect(runner.missingData([], { NAL_DATA_DIR: empty })).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it("counts a user's notebook's charts without a declaration; --strict requires it", () => {
    const undeclared = runner.analyzeNotebook(nb([code('1', [chart])], {}));
    expect(undeclared.errors).toEqual([]);
    expect(undeclared.charts).toMatchObject({ count: 1, expected: null });
    expect(runner.analyzeNotebook(nb([code('1', [])], {}), { strict: true }).errors.join('\n')).toMatch(/expectedCharts is missing \(--strict/);
    // a declared count is checked with or without --strict
    expect(runner.analyzeNotebook(nb([code('1', [])], { expectedCharts: 2 })).errors.join('\n')).toMatch(/expected 2 charts, found 0/);
  });

  it('strips outputs, counts and execution metadata', () => {
    const dirty = nb([{ ...code('1', [chart]), metadata: { execution: { a: 1 }, tags: ['x'] } }], { expectedCharts: 1, execution: { status: 'ok' } });
    const clean = runner.stripNotebook(dirty);
    expect(runner.notebookHasOutputs(dirty)).toBe(true);
    expect(runner.notebookHasOutputs(clean)).toBe(false);
    expect(clean.cells[0].metadata).toEqual({ tags: ['x'] });
    expect(clean.metadata.nal).toEqual({ expectedCharts: 1 });
  });
});
