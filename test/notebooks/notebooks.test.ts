/**
 * Notebooks: the committed files are clean (no outputs) and well-formed, and every notebook
 * executes headlessly through the same runner as `npm start` without errors, showing the charts
 * its metadata declares. The execution part needs Jupyter; it skips with a printed reason on a
 * machine without it, and never skips in CI (CI=true).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chartHtml as renderChart } from '../../src/charts/display';
import { ensureReports, notebookSkipReason, runner } from './support';
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

  it.each(names)('%s is an nbformat 4 tslab notebook over the built library', (name) => {
    const nb = runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`));
    expect(nb.nbformat).toBe(4);
    expect(nb.metadata.kernelspec).toMatchObject({ name: runner.KERNEL_NAME, language: 'typescript' });
    expect(runner.notebookSpec(nb).expectedCharts).toBeGreaterThan(0);
    const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => [c.source].flat().join(''));
    const all = code.join('\n');
    expect(all).toMatch(/from '\.\.\/dist\/index'/);
    expect(all).not.toMatch(/from '\.\.\/src\//);
    expect(code[0]).toMatch(/\bconst SEED = \d+/);
    // tells a story and concludes: starts with a title, ends with a markdown conclusion
    expect(nb.cells[0].cell_type).toBe('markdown');
    expect([nb.cells[0].source].flat().join('')).toMatch(/^# /);
    expect(nb.cells[nb.cells.length - 1].cell_type).toBe('markdown');
  });
});

if (notebookSkipReason) console.warn(notebookSkipReason);

describe.skipIf(notebookSkipReason !== null)('notebooks execute headlessly (npm start)', () => {
  let run: RunManifest;

  beforeAll(async () => {
    run = await ensureReports();
  }, 20 * 60_000);

  it('the runner ran', () => {
    expect(run.failure ?? null).toBeNull();
    expect(run.results.map((r) => r.name)).toEqual(names);
  });

  it.each(names)('%s runs without errors and shows its charts', (name) => {
    const r = run.results.find((x) => x.name === name);
    expect(r, `no result for ${name}`).toBeDefined();
    expect(r!.errors).toEqual([]);
    expect(r!.status).toBe('ok');
    expect(r!.charts.count).toBe(r!.charts.expected);
    expect(fs.existsSync(r!.ipynb)).toBe(true);
    expect(fs.existsSync(r!.html)).toBe(true);
    // the executed copy is checked independently of the runner's own verdict
    const executed = runner.readNotebook(r!.ipynb);
    const outputs = executed.cells.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === 'error')).toEqual([]);
    expect(runner.findCharts(executed).count).toBe(runner.notebookSpec(executed).expectedCharts);
  });

  it('writes nothing outside the project ($HOME stays empty)', () => {
    expect(run.homeWrites).toEqual([]);
  });
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

  it.each(['run', 'open'])('`%s` without Jupyter says how to install it and exits non-zero', (cmd) => {
    const r = spawnSync(process.execPath, [path.join(runner.ROOT, 'scripts', 'notebooks.mjs'), cmd], {
      env: { ...process.env, NAL_PYTHON: '/nonexistent/python3' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('apt-get install -y --no-install-recommends jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client');
    expect(r.stderr).toContain('pip install notebook nbconvert nbclient ipykernel');
  });

  it('requires the chart declaration', () => {
    expect(runner.analyzeNotebook(nb([code('1', [])], {})).errors.join('\n')).toMatch(/expectedCharts is missing/);
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
