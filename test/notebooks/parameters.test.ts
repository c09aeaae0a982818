/**
 * Notebook parameters (scripts/notebook/parameters.mjs, papermill's convention) and how the runner
 * prepares a notebook (scripts/notebooks.mjs prepareNotebook): parsing the parameters cell,
 * `--param KEY=VALUE`, the injected cell and the provenance cell. The run with a real kernel is in
 * tslab.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  findParameters,
  injectParameters,
  parseParamArgs,
  parseParameterLine,
  ParameterError,
  resolveParameters,
} from '../../scripts/notebook/parameters.mjs';
import { runner } from './support';

const cell = (source: string | string[], tags: string[] = [], type = 'code') => ({ cell_type: type, id: `c${String(source).length}`, metadata: { tags }, source, outputs: [], execution_count: null });
const nb = (cells: object[]) => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells });
const PARAMS = cell(['// what a run can change\n', 'const SEED = 42; // the seed\n', '\n', 'const ROWS = 2000;\n', 'const LABEL = "a;b // not a comment";\n', 'const RATIO = 0.15;\n', 'const DETECTORS = ["isolationForest", "localOutlierFactor"];\n', 'const LIMIT = null;'], ['parameters']);

describe('the parameters cell', () => {
  it('reads `const NAME = <JSON literal>;` lines with their comments', () => {
    expect(parseParameterLine('const SEED = 42; // the seed')).toEqual({ name: 'SEED', value: 42, literal: '42', comment: 'the seed' });
    expect(parseParameterLine('const X = {"a": [1, 2]};')).toEqual({ name: 'X', value: { a: [1, 2] }, literal: '{"a": [1, 2]}', comment: '' });
    expect(parseParameterLine('const S = "x;y"; // ;')).toMatchObject({ value: 'x;y', comment: ';' });
    expect(parseParameterLine("const S = 'single';")).toBeNull();
    expect(parseParameterLine('const N: number = 1;')).toBeNull();
    expect(parseParameterLine('let N = 1;')).toBeNull();
    const found = findParameters(nb([cell('# Title', [], 'markdown'), PARAMS]), 'demo')!;
    expect(found.index).toBe(1);
    expect(found.parameters.map((p) => [p.name, p.value, p.line])).toEqual([
      ['SEED', 42, 2],
      ['ROWS', 2000, 4],
      ['LABEL', 'a;b // not a comment', 5],
      ['RATIO', 0.15, 6],
      ['DETECTORS', ['isolationForest', 'localOutlierFactor'], 7],
      ['LIMIT', null, 8],
    ]);
  });

  it('is optional; two of them, a non-code one or a line of other code are errors naming cell and line', () => {
    expect(findParameters(nb([cell('const A = 1;')]))).toBeNull();
    expect(() => findParameters(nb([cell('const A = 1;', ['parameters']), cell('const B = 1;', ['parameters'])]), 'demo')).toThrow(
      /demo: 2 cells are tagged "parameters" \(cells #1, #2\)/,
    );
    expect(() => findParameters(nb([cell('const A = 1;', ['parameters'], 'markdown')]), 'demo')).toThrow(/cell #1 is tagged "parameters" but is a markdown cell/);
    expect(() => findParameters(nb([cell('const A = 1;\nconst B = f(A);', ['parameters'])]), 'demo')).toThrow(
      /demo: cell #1 \(parameters\), line 2: expected `const NAME = <JSON literal>;`.*got: const B = f\(A\);/,
    );
    expect(() => findParameters(nb([cell("const A = 'x';", ['parameters'])]), 'demo')).toThrow(/"double-quoted strings"/);
    expect(() => findParameters(nb([cell('const A = 1;\nconst A = 2;', ['parameters'])]), 'demo')).toThrow(/A is declared twice/);
  });
});

describe('--param KEY=VALUE', () => {
  it('takes VALUE as JSON when it parses, else as text', () => {
    expect(parseParamArgs(['SEED=7', 'RATIO=0.2', 'FLAG=true', 'NAME=plain text', 'LIST=[1,2]', 'Q="quoted"', 'EMPTY='])).toEqual([
      { name: 'SEED', value: 7, raw: '7' },
      { name: 'RATIO', value: 0.2, raw: '0.2' },
      { name: 'FLAG', value: true, raw: 'true' },
      { name: 'NAME', value: 'plain text', raw: 'plain text' },
      { name: 'LIST', value: [1, 2], raw: '[1,2]' },
      { name: 'Q', value: 'quoted', raw: '"quoted"' },
      { name: 'EMPTY', value: '', raw: '' },
    ]);
    expect(() => parseParamArgs(['SEED'])).toThrow(/--param SEED: expected KEY=VALUE/);
    expect(() => parseParamArgs(['1X=2'])).toThrow(/"1X" is not a parameter name/);
    expect(() => parseParamArgs(['A=1', 'A=2'])).toThrow(/--param A is given twice/);
  });

  it('overrides defaults; an unknown name lists the parameters, a value of another type is refused', () => {
    const found = findParameters(nb([cell('# T', [], 'markdown'), PARAMS]), 'demo')!;
    const resolved = resolveParameters(found, parseParamArgs(['ROWS=500', 'LABEL=42', 'LIMIT=3']), 'demo');
    expect(resolved.find((p) => p.name === 'ROWS')).toEqual({ name: 'ROWS', value: 500, defaultValue: 2000, overridden: true });
    // a string parameter keeps the text even when it parses as JSON
    expect(resolved.find((p) => p.name === 'LABEL')).toMatchObject({ value: '42', overridden: true });
    // a null default accepts any value
    expect(resolved.find((p) => p.name === 'LIMIT')).toMatchObject({ value: 3, overridden: true });
    expect(resolved.find((p) => p.name === 'SEED')).toEqual({ name: 'SEED', value: 42, defaultValue: 42, overridden: false });
    expect(() => resolveParameters(found, parseParamArgs(['ROWZ=1']), 'demo')).toThrow(
      'demo has no parameter ROWZ; its parameters (cell #2): SEED = 42, ROWS = 2000, LABEL = "a;b // not a comment", RATIO = 0.15, DETECTORS = ["isolationForest", "localOutlierFactor"], LIMIT = null',
    );
    expect(() => resolveParameters(found, parseParamArgs(['ROWS=many']), 'demo')).toThrow('--param ROWS=many: ROWS is a number in demo (2000), got a string');
    expect(() => resolveParameters(found, parseParamArgs(['DETECTORS="lof"']), 'demo')).toThrow(/DETECTORS is a array in demo/);
    expect(() => resolveParameters(null, parseParamArgs(['SEED=1']), 'demo')).toThrow(/demo has no parameters cell \(a code cell tagged "parameters"/);
    expect(resolveParameters(null, [], 'demo')).toEqual([]);
  });

  it('injects a cell tagged injected-parameters right after the parameters cell, redeclaring only what changed', () => {
    const book = nb([cell('# T', [], 'markdown'), PARAMS, cell('use(ROWS)')]);
    const found = findParameters(book, 'demo')!;
    const out = injectParameters(book, found, resolveParameters(found, parseParamArgs(['ROWS=500', 'LABEL=x y']), 'demo'));
    expect(out.cells).toHaveLength(4);
    expect(out.cells[2]).toMatchObject({ cell_type: 'code', id: 'injected-parameters', metadata: { tags: ['injected-parameters'] }, outputs: [], execution_count: null });
    expect(out.cells[2].source).toBe('// Injected parameters (npm start -- NAME --param KEY=VALUE)\nconst ROWS = 500;\nconst LABEL = "x y";\n');
    expect(book.cells).toHaveLength(3);
    // nothing changed, nothing injected
    expect(injectParameters(book, found, resolveParameters(found, [], 'demo')).cells).toHaveLength(3);
  });
});

describe('prepareNotebook (what npm start runs)', () => {
  it('adds the parameters and a last cell that shows the provenance, its input hidden in the report', () => {
    const book = nb([cell('# T', [], 'markdown'), PARAMS, cell('use(ROWS)'), cell('The end.', [], 'markdown')]);
    const { notebook, parameters } = runner.prepareNotebook(book, { name: 'demo', overrides: parseParamArgs(['SEED=7']) });
    expect(parameters.map((p) => [p.name, p.value, p.overridden])).toEqual([
      ['SEED', 7, true],
      ['ROWS', 2000, false],
      ['LABEL', 'a;b // not a comment', false],
      ['RATIO', 0.15, false],
      ['DETECTORS', ['isolationForest', 'localOutlierFactor'], false],
      ['LIMIT', null, false],
    ]);
    const last = notebook.cells.at(-1);
    expect(last.metadata.tags).toEqual(['provenance', 'remove-input']);
    expect(last.id).toBe('nal-provenance');
    expect(last.source).toContain('showProvenance(');
    expect(last.source).toContain('"name":"SEED","value":7,"defaultValue":42,"overridden":true');
    expect(notebook.cells.map((c: any) => c.metadata.tags?.[0] ?? c.cell_type)).toEqual(['markdown', 'parameters', 'injected-parameters', 'code', 'markdown', 'provenance']);
  });

  it('turns parameter problems into usage errors (exit status 2)', async () => {
    const files = runner.listNotebooks();
    const withParams = files.map((f) => [f, findParameters(runner.readNotebook(f))] as const).find(([, p]) => p);
    const target = withParams?.[0] ?? files[0];
    let err: unknown;
    try {
      await runner.runNotebooks({ names: [target], params: ['NO_SUCH_PARAMETER=1'], log: () => {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(runner.UserError);
    expect((err as InstanceType<typeof runner.UserError>).exitCode).toBe(2);
    expect(String((err as Error).message)).toMatch(withParams ? /has no parameter NO_SUCH_PARAMETER; its parameters \(cell #\d+\): / : /has no parameters cell/);
    expect(() => parseParamArgs(['=1'])).toThrow(ParameterError);
  });
});
