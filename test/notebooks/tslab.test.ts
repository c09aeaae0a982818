/**
 * The Node executor with the real tslab kernel, on small notebooks of the test's own: a run through
 * the same code as `npm start -- FILE --param KEY=VALUE` (parameters injected, display updates, a
 * data file read, the provenance section, the executed notebook valid against nbformat's schema),
 * failing cells (a thrown error, a TypeScript compile error), and timeouts (an awaited promise the
 * interrupt stops, a busy loop that gets the kernel killed). Needs only Node; the schema check uses
 * Python's nbformat and skips with a printed reason without it (never in CI).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeNotebook } from '../../scripts/notebook/execute.mjs';
import { findKernelSpec } from '../../scripts/notebook/kernel.mjs';
import { inCI, runner, withLock } from './support';
import type { NotebookResult } from '../../scripts/notebooks.mjs';

const nbformatPython = runner.findPython(['nbformat']).python;
const schemaSkipReason =
  nbformatPython || inCI ? null : "Skipping the nbformat schema check of executed notebooks: no Python with nbformat (Debian: apt-get install python3-nbformat). It runs in CI (CI=true).";
if (schemaSkipReason) console.warn(schemaSkipReason);

/** Errors of nbformat's validator for a notebook file (empty when valid). */
function nbformatErrors(file: string): string {
  const r = spawnSync(nbformatPython ?? 'python3', ['-c', 'import sys, nbformat\nnb = nbformat.read(sys.argv[1], as_version=4)\nnbformat.validate(nb)\nprint("valid", nb.nbformat, nb.nbformat_minor)', file], {
    encoding: 'utf8',
  });
  return r.status === 0 && r.stdout.startsWith('valid 4') ? '' : `${r.error ?? ''}${r.stdout}${r.stderr}`;
}

const code = (id: string, source: string, tags: string[] = []) => ({ cell_type: 'code', execution_count: null, id, metadata: tags.length ? { tags } : {}, outputs: [], source });
const md = (id: string, source: string) => ({ cell_type: 'markdown', id, metadata: {}, source });
const notebook = (cells: object[]) => ({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
  cells,
});
const LIB = JSON.stringify(path.join(runner.ROOT, 'dist', 'index'));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-tslab-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('npm start -- FILE --param KEY=VALUE with tslab', () => {
  let result: NotebookResult;
  let csv: string;
  let lines: string[];

  beforeAll(async () => {
    csv = path.join(tmp, 'traffic.csv');
    const file = path.join(tmp, 'params-demo.ipynb');
    fs.writeFileSync(
      file,
      JSON.stringify(
        notebook([
          md('t', '# Parameters demo\nA notebook of the test\'s own.'),
          code('p', 'const SEED = 42; // the seed\nconst ROWS = 200;\nconst LABEL = "base";\nconst RATIO = 0.1;', ['parameters']),
          code(
            'g',
            `import * as nal from ${LIB};\nimport * as fs from 'fs';\nconst data = nal.generateTraffic({ rows: ROWS, anomalyRatio: RATIO, seed: SEED });\nfs.writeFileSync(${JSON.stringify(csv)}, nal.trafficToCsv(data));\nconst back = nal.loadTraffic(${JSON.stringify(csv)});\nconsole.log(\`\${LABEL}: \${back.X.rows} rows, seed \${SEED}\`);`,
          ),
          code('d', "import * as tslab from 'tslab';\nconst d = tslab.newDisplay();\nd.html('<b>step 1</b>');\nd.html('<b>step 2 of 2</b>');\nconsole.log('shown');"),
          code('c', "nal.showChart({ data: [{ type: 'bar', x: ['a', 'b'], y: [ROWS, 2 * ROWS] }], layout: { title: { text: 'A chart nobody declared' } } });"),
          md('e', 'The end.'),
        ]),
      ),
    );
    lines = [];
    const run = await withLock(() =>
      runner.runNotebooks({ names: [file], params: ['ROWS=300', 'LABEL=changed'], outDir: path.join(tmp, 'out'), env: { HOME: tmp }, log: (l) => lines.push(l) }),
    );
    result = run.results[0];
  }, 5 * 60_000);

  it('runs the notebook with the given values, after its parameters cell', () => {
    expect(result.errors).toEqual([]);
    // a user's notebook declares no charts: they are counted, not checked
    expect(result.charts).toMatchObject({ count: 1, expected: null, titles: ['A chart nobody declared'] });
    expect(result.status).toBe('ok');
    expect(lines.join('\n')).toContain('Parameters: ROWS = 300, LABEL = "changed"');
    const nb = runner.readNotebook(result.ipynb);
    const injected = nb.cells[2];
    expect(injected.metadata.tags).toEqual(['injected-parameters']);
    expect([injected.source].flat().join('')).toBe('// Injected parameters (npm start -- NAME --param KEY=VALUE)\nconst ROWS = 300;\nconst LABEL = "changed";\n');
    expect(injected.execution_count).toBe(2);
    expect([nb.cells[3].outputs[0].text].flat().join('')).toBe('changed: 300 rows, seed 42\n');
    // a display updated in place: one output, its last content
    const shown = nb.cells[4].outputs.filter((o: any) => o.output_type === 'display_data');
    expect(shown).toHaveLength(1);
    expect([shown[0].data['text/html']].flat().join('')).toBe('<b>step 2 of 2</b>');
  });

  it('ends the report with its provenance: package, commit, Node, backend, seeds, parameters, data files with sha256, wall time', () => {
    const nb = runner.readNotebook(result.ipynb);
    const last = nb.cells.at(-1);
    expect(last.metadata.tags).toEqual(['provenance', 'remove-input']);
    const html = [last.outputs[0].data['text/html']].flat().join('');
    const pkg = JSON.parse(fs.readFileSync(path.join(runner.ROOT, 'package.json'), 'utf8'));
    expect(html).toContain(`${pkg.name} ${pkg.version}`);
    expect(html).toContain(process.version);
    expect(html).toMatch(/TensorFlow.js backend<\/th><td[^>]*>not loaded</);
    expect(html).toContain('generateTraffic 42');
    expect(html).toMatch(/ROWS<\/td><td[^>]*>300 <b>\(set for this run\)<\/b><\/td><td[^>]*>200</);
    expect(html).toMatch(/SEED<\/td><td[^>]*>42<\/td>/);
    const sha = createHash('sha256').update(fs.readFileSync(csv)).digest('hex');
    expect(html).toContain(csv);
    expect(html).toContain(sha);
    expect(html).toMatch(/wall time<\/th><td[^>]*>\d+\.\d s \(since the process started; in a notebook, since its kernel started\)</);
    const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: runner.ROOT, encoding: 'utf8' });
    if (git.status === 0) expect(html).toContain(git.stdout.trim());
    // the report shows the section, not the code that made it
    const page = fs.readFileSync(result.html, 'utf8');
    expect(page).toContain('<h2 style="font-size:16px;font-weight:500;margin:4px 0 6px 0">Provenance</h2>');
    expect(page).not.toContain('showProvenance');
    expect(page.lastIndexOf('nal-provenance')).toBeGreaterThan(page.lastIndexOf('The end.'));
  });

  it.skipIf(schemaSkipReason !== null)('writes an executed notebook that is valid against nbformat 4', () => {
    expect(nbformatErrors(result.ipynb)).toBe('');
  });
});

describe('failing and stuck cells with tslab', () => {
  const spec = () => findKernelSpec(runner.KERNEL_NAME, [path.join(runner.LOCAL_JUPYTER, 'share', 'jupyter')]);
  const exec = (cells: object[], opts: Record<string, unknown> = {}) =>
    withLock(async () => {
      runner.setupKernel({ log: () => {} });
      return executeNotebook(notebook(cells), { spec: spec(), cwd: tmp, env: runner.jupyterEnv({ HOME: tmp }), timeout: 120, interruptGrace: 3, ...opts });
    });

  it('records a thrown error, goes on after a raises-exception cell, and stops at a compile error', async () => {
    const r = await exec([
      code('a', "throw new RangeError('expected failure');", ['raises-exception']),
      code('b', 'const n: number = "text";'),
      code('c', "console.log('never');"),
    ]);
    expect(r.status).toBe('error');
    expect(r.failedCell).toBe(1);
    const nb = r.notebook as any;
    expect(nb.cells[0].outputs.at(-1)).toMatchObject({ output_type: 'error', ename: 'RangeError', evalue: 'expected failure' });
    expect(nb.cells[1].outputs.at(-1)).toMatchObject({ output_type: 'error', ename: 'CompileError' });
    expect(nb.cells[1].outputs.at(-1).evalue).toBe("1:7 - Type 'string' is not assignable to type 'number'.");
    expect(nb.cells[2].execution_count).toBeNull();
    const file = path.join(tmp, 'failed.ipynb');
    fs.writeFileSync(file, (await import('../../scripts/notebook/execute.mjs')).formatExecutedNotebook(nb));
    if (!schemaSkipReason) expect(nbformatErrors(file)).toBe('');
  }, 3 * 60_000);

  it('interrupts an awaited promise that outlives the cell timeout (the kernel stops it)', async () => {
    const r = await exec([code('a', "console.log('waiting');\nawait new Promise((resolve) => setTimeout(resolve, 120_000));"), code('b', "console.log('never');")], { timeout: 3 });
    expect(r.status).toBe('timeout');
    expect(r.message).toBe('cell #1 ran longer than 3 s');
    const outs = (r.notebook as any).cells[0].outputs;
    expect(outs.some((o: any) => o.output_type === 'stream' && /Interrupted asynchronously/.test([o.text].flat().join('')))).toBe(true);
    expect(outs.at(-1)).toMatchObject({ output_type: 'error', ename: 'CellTimeoutError' });
  }, 3 * 60_000);

  it('interrupts a synchronous busy loop (tslab runs cells with breakOnSigint)', async () => {
    const r = await exec([code('a', "console.log('spinning');\nwhile (true) {}")], { timeout: 3 });
    expect(r.status).toBe('timeout');
    expect(r.message).toBe('cell #1 ran longer than 3 s');
    const outs = (r.notebook as any).cells[0].outputs;
    expect(outs.some((o: any) => o.output_type === 'stream' && /interrupted by `SIGINT`/.test([o.text].flat().join('')))).toBe(true);
  }, 3 * 60_000);

  it('kills the kernel when a busy loop after an await ignores the interrupt', async () => {
    const t0 = Date.now();
    const r = await exec([code('a', "console.log('spinning');\nawait null;\nwhile (true) {}")], { timeout: 3, interruptGrace: 2 });
    expect(r.status).toBe('timeout');
    expect(r.message).toBe('cell #1 ran longer than 3 s; it did not stop when interrupted, so the kernel was killed');
    expect(Date.now() - t0).toBeLessThan(90_000);
    // the kernel process is gone (its whole process group was killed)
    expect(r.kernelPid).toBeGreaterThan(0);
    let alive = true;
    try {
      process.kill(r.kernelPid!, 0);
    } catch {
      alive = false;
    }
    expect(alive).toBe(false);
  }, 3 * 60_000);
});
