/**
 * The Node notebook executor (scripts/notebook/kernel.mjs, execute.mjs) against a fake kernel: a
 * real ZeroMQ kernel process (fake-kernel.mjs) whose cells are commands, so every message order,
 * display update, error, timeout and a kernel that dies can be produced on purpose. No Jupyter or
 * Python needed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeNotebook, formatExecutedNotebook, normalizeCellIds, splitLines, errorOutputFromStderr } from '../../scripts/notebook/execute.mjs';
import { decodeMessage, encodeMessage, findKernelSpec, KernelError, newMessage, sign } from '../../scripts/notebook/kernel.mjs';

const FAKE = path.join(__dirname, 'fake-kernel.mjs');

let dir: string;
let spec: ReturnType<typeof findKernelSpec>;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-fake-kernel-'));
  const kernelDir = path.join(dir, 'share', 'kernels', 'fake');
  fs.mkdirSync(kernelDir, { recursive: true });
  fs.writeFileSync(path.join(kernelDir, 'kernel.json'), JSON.stringify({ argv: [process.execPath, FAKE, '{connection_file}'], display_name: 'Fake', language: 'fake' }));
  spec = findKernelSpec('fake', [path.join(dir, 'share')]);
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const code = (source: string, tags: string[] = []) => ({ cell_type: 'code', execution_count: null, id: `c${Math.random().toString(36).slice(2, 8)}`, metadata: tags.length ? { tags } : {}, outputs: [], source });
const md = (source: string) => ({ cell_type: 'markdown', id: `m${Math.random().toString(36).slice(2, 8)}`, metadata: {}, source });
const notebook = (cells: object[]) => ({ nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'fake', display_name: 'Fake', language: 'fake' } }, cells });

function run(cells: object[], opts: Record<string, unknown> = {}) {
  return executeNotebook(notebook(cells), { spec, cwd: dir, runtimeDir: path.join(dir, 'runtime'), timeout: 20, interruptGrace: 2, ...opts });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function gone(pid: number, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

describe('Jupyter messages', () => {
  it('are signed with HMAC-SHA256 over header, parent, metadata and content, and verified', () => {
    const msg = newMessage('execute_request', { code: '1' }, { session: 's' });
    const frames = encodeMessage('secret', msg, [Buffer.from('id')]);
    expect(frames[1].toString()).toBe('<IDS|MSG>');
    expect(frames[2]).toBe(sign('secret', frames.slice(3, 7) as string[]));
    expect(frames[2]).toMatch(/^[0-9a-f]{64}$/);
    const back = decodeMessage('secret', frames.map((f) => Buffer.from(f)));
    expect(back.identities.map(String)).toEqual(['id']);
    expect(back.header.msg_id).toBe(msg.header.msg_id);
    expect(back.header.version).toBe('5.3');
    expect(back.content).toEqual({ code: '1' });
    // a changed content or another key fails the check
    const tampered = [...frames];
    tampered[6] = JSON.stringify({ code: '2' });
    expect(() => decodeMessage('secret', tampered.map((f) => Buffer.from(f)))).toThrow(KernelError);
    expect(() => decodeMessage('other', frames.map((f) => Buffer.from(f)))).toThrow(/invalid HMAC/);
  });

  it('finds a kernel spec in the first folder that has it, and says where it looked otherwise', () => {
    expect(spec.argv[1]).toBe(FAKE);
    expect(spec.interrupt_mode).toBe('signal');
    expect(() => findKernelSpec('nope', [path.join(dir, 'share')])).toThrow(/no kernel spec "nope" in .*share.kernels/);
  });
});

describe('executeNotebook with a fake kernel', () => {
  it('runs code cells in order and records every output as nbclient does', async () => {
    const r = await run([
      md('# Title'),
      code('print one\nprint two\nresult 42'),
      code('   '),
      code('stderr careful\ndisplay d1 <b>first</b>\ndisplay - <i>no id</i>'),
      code('update d1 <b>second</b>\nprint after'),
    ]);
    expect(r.status).toBe('ok');
    expect(r.failedCell).toBeNull();
    const nb = r.notebook as any;
    expect(nb.metadata.language_info.name).toBe('fake');
    expect(nb.metadata.nal.execution).toMatchObject({ status: 'ok', message: null, failedCell: null });
    expect(nb.cells[0]).toEqual(md('# Title') && nb.cells[0]);
    expect(nb.cells[1].execution_count).toBe(1);
    expect(nb.cells[1].outputs).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'one\n' },
      { output_type: 'stream', name: 'stdout', text: 'two\n' },
      { output_type: 'execute_result', data: { 'text/plain': '42' }, metadata: {}, execution_count: 1 },
    ]);
    // a blank cell is not executed and does not take a number
    expect(nb.cells[2].execution_count).toBeNull();
    expect(nb.cells[3].execution_count).toBe(2);
    expect(nb.cells[3].outputs.map((o: any) => o.output_type)).toEqual(['stream', 'display_data', 'display_data']);
    // the update in the next cell replaced the data of the output with that display id, in place
    expect(nb.cells[3].outputs[1].data['text/html']).toBe('<b>second</b>');
    expect(nb.cells[3].outputs[2].data['text/html']).toBe('<i>no id</i>');
    expect(nb.cells[4].outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'after\n' }]);
    expect(Object.keys(nb.cells[1].metadata.execution).sort()).toEqual(['iopub.status.busy', 'iopub.status.idle', 'shell.execute_reply']);
    // no transient keys in the written outputs
    expect(JSON.stringify(nb)).not.toContain('transient');
  }, 60_000);

  it('handles a reply before the outputs, clear_output (now and at the next output), late and badly signed messages', async () => {
    const r = await run([code('reply-first\nprint a\nprint b'), code('print x\nclear wait\nprint y\nclear\nprint z\nlate too-late\nbadsig forged'), code('print next')]);
    expect(r.status).toBe('ok');
    const nb = r.notebook as any;
    expect(nb.cells[0].outputs.map((o: any) => o.text)).toEqual(['a\n', 'b\n']);
    expect(nb.cells[1].outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'z\n' }]);
    // output that arrives after a cell finished is not attributed to the next one
    expect(nb.cells[2].outputs).toEqual([{ output_type: 'stream', name: 'stdout', text: 'next\n' }]);
  }, 60_000);

  it('stops at a failing cell, keeps its error output and does not run the rest', async () => {
    const r = await run([code('print ok'), code('print before\nerror ValueError bad value'), code('print never')]);
    expect(r.status).toBe('error');
    expect(r.failedCell).toBe(1);
    expect(r.message).toBe('cell #2 failed');
    const nb = r.notebook as any;
    expect(nb.cells[1].outputs.at(-1)).toMatchObject({ output_type: 'error', ename: 'ValueError', evalue: 'bad value' });
    expect(nb.cells[1].outputs.filter((o: any) => o.output_type === 'error')).toHaveLength(1);
    expect(nb.cells[2].execution_count).toBeNull();
    expect(nb.cells[2].outputs).toEqual([]);
  }, 60_000);

  it('still runs cells tagged with one of alwaysRun after a failure', async () => {
    const r = await run([code('error Bad thing'), code('print skipped'), code('print provenance', ['provenance'])], { alwaysRun: ['provenance'] });
    expect(r.status).toBe('error');
    expect(r.failedCell).toBe(0);
    const nb = r.notebook as any;
    expect(nb.cells[1].execution_count).toBeNull();
    expect(nb.cells[2].execution_count).toBe(2);
    expect(nb.cells[2].outputs[0].text).toBe('provenance\n');
  }, 60_000);

  it("gives a cell that failed only on stderr (tslab's way) a standard error output", async () => {
    const r = await run([code('fail TypeError: x is not a function'), code('print never')]);
    expect(r.status).toBe('error');
    const err = (r.notebook as any).cells[0].outputs.at(-1);
    expect(err).toMatchObject({ output_type: 'error', ename: 'TypeError', evalue: 'x is not a function' });
    expect(err.traceback).toEqual(['TypeError: x is not a function', '    at fake-kernel']);
  }, 60_000);

  it('goes on after a cell tagged raises-exception', async () => {
    const r = await run([code('error Oops expected', ['raises-exception']), code('print still running')]);
    expect(r.status).toBe('ok');
    const nb = r.notebook as any;
    expect(nb.cells[0].outputs[0]).toMatchObject({ output_type: 'error', ename: 'Oops' });
    expect(nb.cells[1].outputs[0].text).toBe('still running\n');
  }, 60_000);

  it('interrupts a cell that runs past its timeout, then stops the notebook', async () => {
    const t0 = Date.now();
    const r = await run([code('print started\nsleep 30000'), code('print never')], { timeout: 1 });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.status).toBe('timeout');
    expect(r.failedCell).toBe(0);
    expect(r.message).toBe('cell #1 ran longer than 1 s');
    const outs = (r.notebook as any).cells[0].outputs;
    expect(outs[0].text).toBe('started\n');
    // the kernel's own report of the interrupt, then the timeout as the cell's error
    expect(outs.some((o: any) => o.output_type === 'stream' && o.text.includes('KeyboardInterrupt'))).toBe(true);
    expect(outs.at(-1)).toMatchObject({ output_type: 'error', ename: 'CellTimeoutError', evalue: 'cell #1 ran longer than 1 s' });
  }, 60_000);

  it('kills a kernel that ignores the interrupt, with every process it started', async () => {
    const runtime = path.join(dir, 'runtime');
    const r = await run([code('child\nhang')], { timeout: 1, interruptGrace: 1 });
    expect(r.status).toBe('timeout');
    expect(r.message).toMatch(/did not stop when interrupted, so the kernel was killed/);
    // the child the kernel started (its own process group) is gone too: no orphans
    const childPid = Number(/child (\d+)/.exec((r.notebook as any).cells[0].outputs[0].text)![1]);
    expect(await gone(childPid)).toBe(true);
    // connection files are removed
    expect(fs.existsSync(runtime) ? fs.readdirSync(runtime) : []).toEqual([]);
  }, 60_000);

  it('enforces a total time limit across cells', async () => {
    const r = await run([code('sleep 800'), code('sleep 800'), code('sleep 800'), code('print never')], { totalTimeout: 1.5 });
    expect(r.status).toBe('timeout');
    expect(r.message).toMatch(/the notebook ran longer than 1\.5 s \(total limit\)/);
    expect((r.notebook as any).cells[3].execution_count).toBeNull();
  }, 60_000);

  it('reports a kernel that dies in a cell, with its exit code and last output', async () => {
    const r = await run([code('print before\ndie 3'), code('print never')]);
    expect(r.status).toBe('dead-kernel');
    expect(r.failedCell).toBe(0);
    expect(r.message).toMatch(/^the kernel died in cell #1: the kernel exited \(exit code 3\)/);
    const outs = (r.notebook as any).cells[0].outputs;
    expect(outs[0].text).toBe('before\n');
    expect(outs.at(-1)).toMatchObject({ output_type: 'error', ename: 'DeadKernelError' });
  }, 60_000);

  it('reports a kernel that cannot start', async () => {
    const bad = { ...spec, argv: [path.join(dir, 'no-such-kernel'), '{connection_file}'] };
    const r = await executeNotebook(notebook([code('print x')]), { spec: bad, cwd: dir, runtimeDir: path.join(dir, 'runtime'), startupTimeout: 5 });
    expect(r.status).toBe('failed-to-run');
    expect(r.message).toMatch(/could not start the kernel .*no-such-kernel|the kernel exited while starting/);
    const crash = { ...spec, argv: [process.execPath, '-e', 'console.error("boom at start"); process.exit(7)', '{connection_file}'] };
    const r2 = await executeNotebook(notebook([code('print x')]), { spec: crash, cwd: dir, runtimeDir: path.join(dir, 'runtime'), startupTimeout: 10 });
    expect(r2.status).toBe('failed-to-run');
    expect(r2.message).toMatch(/exited while starting \(exit code 7\)[\s\S]*boom at start/);
  }, 60_000);

  it('shuts the kernel down at the end (no process left, connection file removed)', async () => {
    const r = await run([code('child')]);
    expect(r.status).toBe('ok');
    const childPid = Number(/child (\d+)/.exec((r.notebook as any).cells[0].outputs[0].text)![1]);
    expect(await gone(childPid)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'runtime'))).toEqual([]);
  }, 60_000);
});

describe('the executed notebook file', () => {
  it("is written as nbformat writes it: sorted keys, one-space indent, text split into lines", () => {
    const nb = notebook([
      { ...code('a\nb'), execution_count: 1, outputs: [{ output_type: 'stream', name: 'stdout', text: 'x\ny\n' }, { output_type: 'display_data', data: { 'text/html': '<p>\n</p>', 'application/json': { a: 1 } }, metadata: {} }] },
    ]);
    const text = formatExecutedNotebook(nb);
    const back = JSON.parse(text);
    expect(back.cells[0].source).toEqual(['a\n', 'b']);
    expect(back.cells[0].outputs[0].text).toEqual(['x\n', 'y\n']);
    expect(back.cells[0].outputs[1].data['text/html']).toEqual(['<p>\n', '</p>']);
    expect(back.cells[0].outputs[1].data['application/json']).toEqual({ a: 1 });
    expect(text.startsWith('{\n "cells": [\n  {\n   "cell_type": "code",')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('gives every cell of an nbformat 4.5 notebook an id, the same on every run', () => {
    const make = () => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: 'a', id: 'keep' }, { cell_type: 'code', source: 'b' }, { cell_type: 'markdown', source: 'c', id: 'keep' }, { cell_type: 'code', source: 'd', id: 'bad id!' }] });
    const a = make();
    expect(normalizeCellIds(a)).toBe(3);
    const ids = a.cells.map((c: any) => c.id);
    expect(ids[0]).toBe('keep');
    expect(new Set(ids).size).toBe(4);
    for (const id of ids.slice(1)) expect(id).toMatch(/^[0-9a-f]{8}$/);
    const b = make();
    normalizeCellIds(b);
    expect(b.cells.map((c: any) => c.id)).toEqual(ids);
    const old = { nbformat: 4, nbformat_minor: 4, metadata: {}, cells: [{ cell_type: 'code', source: 'a' }] };
    expect(normalizeCellIds(old)).toBe(0);
    expect('id' in old.cells[0]).toBe(false);
  });

  it("splits lines like Python's str.splitlines(True)", () => {
    expect(splitLines('a\nb\r\nc\rd\n')).toEqual(['a\n', 'b\r\n', 'c\r', 'd\n']);
    expect(splitLines('')).toEqual([]);
    expect(splitLines('x')).toEqual(['x']);
    expect(splitLines('p\u2028q')).toEqual(['p\u2028', 'q']);
  });

  it('reads TypeScript compile errors from stderr', () => {
    const cell = { cell_type: 'code', outputs: [{ output_type: 'stream', name: 'stderr', text: '2:7 - Type \'string\' is not assignable to type \'number\'.\n' }] };
    expect(errorOutputFromStderr(cell, 'error', 'cell #1 failed')).toMatchObject({ ename: 'CompileError', evalue: "2:7 - Type 'string' is not assignable to type 'number'." });
  });
});
