/**
 * The Node executor against Jupyter's: every notebook in notebooks/ executed by `npm start` (Node
 * only, support.ts) and by `--executor nbclient` (Jupyter's nbclient and nbconvert) must carry the
 * same outputs, ids and timings aside (compare.ts), and its two HTML reports the same visible
 * text. Needs Python with Jupyter for the second run; skips with a printed reason without it,
 * never in CI (CI=true).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparableNotebook, differences, maskRunDependent, visibleText } from './compare';
import { ensureReports, jupyterSkipReason, runner, withLock } from './support';
import type { RunManifest } from './support';
import type { NotebookResult } from '../../scripts/notebooks.mjs';

const names = runner.listNotebooks().map((f) => path.basename(f, '.ipynb'));

describe('the comparison', () => {
  it('masks ids and timings, keeps counts', () => {
    expect(maskRunDependent('<div id="nal-chart-1x2-a" class="nal-chart">')).toBe('<div id="nal-chart-ID" class="nal-chart">');
    expect(maskRunDependent('fit in 2.31 s, 45,000 rows/s, 12 ms per window, 3 of 4 detectors, F1 0.967')).toBe(
      'fit in # UNIT, # UNIT, # UNIT per window, 3 of 4 detectors, F1 #.#',
    );
    expect(maskRunDependent('reports/anomaly-report-2026-12-07T16-09-05-377Z.csv')).toBe('reports/anomaly-report-TIMESTAMP.csv');
    expect(maskRunDependent("the autoencoder took 59% of the detectors' fit time; 15% of the rows")).toBe("the autoencoder took #% of the detectors' fit time; 15% of the rows");
    const table = '<table><thead><tr><th>window</th><th>latency (ms)</th><th>rows/s</th></tr></thead><tbody><tr><td>7</td><td>553</td><td>2548</td></tr></tbody></table>';
    expect(maskRunDependent(table)).toContain('<td>7</td><td>TIMING</td><td>TIMING</td>');
    // a DataFrame's table: snake_case headers, an index column of <th> in every row, a feature called duration
    const frame =
      '<table><thead><tr><th></th><th>window</th><th>duration</th><th>latency_ms</th><th>rows_per_s</th><th>fit_seconds</th></tr></thead>' +
      '<tbody><tr><th>0</th><td>7</td><td>12</td><td>553</td><td>2548</td><td>3</td></tr></tbody></table>';
    expect(maskRunDependent(frame)).toContain('<tr><th>0</th><td>7</td><td>12</td><td>TIMING</td><td>TIMING</td><td>TIMING</td></tr>');
  });

  it('finds a missing output, another count or another order', () => {
    const nb = (outputs: object[], count = 1) => ({ nbformat: 4, metadata: {}, cells: [{ cell_type: 'code', source: 'x', metadata: {}, execution_count: count, outputs }] });
    const a = [
      { output_type: 'stream', name: 'stdout', text: '300 anomalies in 1.2 s\n' },
      { output_type: 'display_data', metadata: {}, data: { 'text/html': '<b>4/4</b>' } },
    ];
    expect(differences(comparableNotebook(nb(a)), comparableNotebook(nb([{ ...a[0], text: '300 anomalies in 0.9 s\n' }, a[1]])))).toEqual([]);
    expect(differences(comparableNotebook(nb(a)), comparableNotebook(nb([a[0]])))).toEqual(['cells[0].outputs: 2 vs 1 items']);
    expect(differences(comparableNotebook(nb(a)), comparableNotebook(nb([{ ...a[0], text: '299 anomalies in 1.2 s\n' }, a[1]])))[0]).toMatch(/cells\[0\]\.outputs\[0\]\.text: differ at character 0: "300 anomalies/);
    expect(differences(comparableNotebook(nb(a)), comparableNotebook(nb([a[1], a[0]]))).length).toBeGreaterThan(0);
    expect(differences(comparableNotebook(nb(a)), comparableNotebook(nb(a, 2)))).toEqual(['cells[0].execution_count: 1 vs 2']);
    expect(visibleText('<p>a <span class="k">b</span>c</p><script>var x = 1;</script><div>d&amp;e 0.51 s</div>')).toBe('a bc d&e # UNIT');
  });
});

if (jupyterSkipReason) console.warn(jupyterSkipReason);

describe.skipIf(jupyterSkipReason !== null)("the Node executor and Jupyter's nbclient + nbconvert give the same notebooks", () => {
  let node: RunManifest;
  let jupyter: { ok: boolean; results: NotebookResult[] };
  let tmp: string;

  beforeAll(async () => {
    node = await ensureReports();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-nbclient-'));
    const home = path.join(tmp, 'home');
    fs.mkdirSync(home);
    const lines: string[] = [];
    jupyter = await withLock(() => runner.runNotebooks({ executor: 'nbclient', outDir: path.join(tmp, 'out'), env: { HOME: home }, log: (l) => lines.push(l) }));
    console.log(lines.join('\n'));
  }, 30 * 60_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('both ran every notebook', () => {
    expect(node.results.map((r) => r.name)).toEqual(names);
    expect(jupyter.results.map((r) => r.name)).toEqual(names);
    expect(jupyter.results.filter((r) => r.errors.length).map((r) => `${r.name}: ${r.errors.join('; ')}`)).toEqual([]);
  });

  it.each(names)('%s: the same cells and outputs (ids and timings aside)', (name) => {
    const a = runner.readNotebook(node.results.find((r) => r.name === name)!.ipynb);
    const b = runner.readNotebook(jupyter.results.find((r) => r.name === name)!.ipynb);
    expect(differences(comparableNotebook(a), comparableNotebook(b))).toEqual([]);
    // the nbclient run is real: it has outputs to compare
    expect(b.cells.some((c: any) => (c.outputs ?? []).length > 0)).toBe(true);
  });

  it.each(names)('%s.html: the same visible text as nbconvert renders', (name) => {
    const a = visibleText(fs.readFileSync(node.results.find((r) => r.name === name)!.html, 'utf8'));
    const b = visibleText(fs.readFileSync(jupyter.results.find((r) => r.name === name)!.html, 'utf8'));
    expect(a.length).toBeGreaterThan(500);
    expect(differences(a, b)).toEqual([]);
  });
});
