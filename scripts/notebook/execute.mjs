/**
 * Executes a notebook headlessly in Node: starts its kernel (kernel.mjs), runs the code cells in
 * order and records their outputs the way nbclient does, so the executed notebook is what
 * `jupyter nbconvert --execute` writes:
 *
 * - each iopub message of a cell becomes an output (`stream`, `display_data`, `execute_result`,
 *   `error`; `clear_output` clears, with `wait` at the next output); `update_display_data`
 *   replaces the data of every earlier output with that display id, in any cell;
 * - code cells are numbered 1, 2, ... in execution order; blank cells are skipped;
 * - cells of an nbformat 4.5 notebook without an id get one ({@link normalizeCellIds});
 * - `metadata.language_info` comes from the kernel; each executed cell gets
 *   `metadata.execution` timestamps (iopub busy/idle, shell reply);
 * - execution stops at the first failing cell unless it is tagged `raises-exception` (later cells
 *   tagged with one of `alwaysRun` still run, e.g. the provenance section).
 *
 * tslab reports a failed cell only as stderr text and an execute_reply with status "error" (never
 * an `error` output), so a failed cell (also one allowed to fail) gets a standard `error` output
 * made from that text, as scripts/execute_notebook.py does: Jupyter tools, the HTML report and the
 * runner's checks all see it.
 * `metadata.nal.execution` records `{ status, message, failedCell, seconds }`; status is `ok`,
 * `error`, `timeout`, `dead-kernel` or `failed-to-run`.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { KernelError, startKernel } from './kernel.mjs';

const text = (v) => (Array.isArray(v) ? v.join('') : (v ?? ''));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Cell label as the messages write it: `#3` for cells[2]. */
export function cellLabel(index) {
  return index == null ? '?' : `#${index + 1}`;
}

/**
 * The nbformat output made from an iopub message (nbformat's `output_from_msg`), or null for a
 * message that is not an output.
 */
export function outputFromMessage(msg) {
  const c = msg.content ?? {};
  switch (msg.msg_type) {
    case 'execute_result':
      return { output_type: 'execute_result', data: c.data ?? {}, metadata: c.metadata ?? {}, execution_count: c.execution_count ?? null };
    case 'display_data':
      return { output_type: 'display_data', data: c.data ?? {}, metadata: c.metadata ?? {} };
    case 'stream':
      return { output_type: 'stream', name: c.name ?? 'stdout', text: c.text ?? '' };
    case 'error':
      return { output_type: 'error', ename: c.ename ?? '', evalue: c.evalue ?? '', traceback: c.traceback ?? [] };
    default:
      return null;
  }
}

/**
 * The `error` output of a failed cell, built from what tslab wrote to stderr (the exception's
 * `Name: message` line, or the TypeScript diagnostics `line:col - text`), or null when the cell
 * already has one.
 */
export function errorOutputFromStderr(cell, status, message) {
  if (cell.cell_type !== 'code') return null;
  const outputs = cell.outputs ?? [];
  if (outputs.some((o) => o.output_type === 'error')) return null;
  const stderr = outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map((o) => text(o.text)).join('');
  let ename = 'ExecutionError';
  let evalue = message || status;
  const m = stderr.match(/^(?:UncaughtException: )?((?:[A-Za-z_$][\w$]*)?(?:Error|Exception))(?::[ \t]*(.*))?$/m);
  const special = { timeout: 'CellTimeoutError', 'dead-kernel': 'DeadKernelError' }[status];
  if (special) {
    // an interrupted cell's "Error: Interrupted asynchronously" is the consequence, not the cause
    ename = special;
  } else if (m) {
    ename = m[1];
    evalue = (m[2] ?? '').trim();
  } else if (status === 'error' && /^\d+:\d+ - /m.test(stderr)) {
    ename = 'CompileError';
    evalue = stderr
      .split('\n')
      .filter((l) => /^\d+:\d+ - /.test(l))
      .join('; ');
  }
  const lines = stderr.split('\n').filter((l) => l);
  return { output_type: 'error', ename, evalue, traceback: lines.length ? lines : [evalue] };
}

/**
 * Gives every cell of an nbformat 4.5+ notebook an id, as nbformat's schema requires (nbformat
 * adds missing ones when it reads a notebook, and renames duplicates): a missing or repeated id
 * becomes 8 hex digits of the SHA-256 of the cell's position and source, so a run writes the same
 * ids every time. Older notebooks (4.0-4.4) have no ids and get none. In place.
 * @returns the number of ids added or changed
 */
export function normalizeCellIds(nb) {
  if (!(nb.nbformat > 4 || (nb.nbformat === 4 && (nb.nbformat_minor ?? 0) >= 5))) return 0;
  const seen = new Set();
  let changed = 0;
  (nb.cells ?? []).forEach((cell, i) => {
    const valid = typeof cell.id === 'string' && /^[a-zA-Z0-9-_]{1,64}$/.test(cell.id) && !seen.has(cell.id);
    if (!valid) {
      let id;
      for (let k = 0; !id || seen.has(id); k++) id = createHash('sha256').update(`${i}:${k}:${text(cell.source)}`).digest('hex').slice(0, 8);
      cell.id = id;
      changed++;
    }
    seen.add(cell.id);
  });
  return changed;
}

/**
 * Executes a notebook and returns the executed copy (the input is not changed).
 *
 * @param {object} nb an nbformat 4 notebook (parsed JSON; sources as strings or lists)
 * @param {object} opts
 * @param {ReturnType<import('./kernel.mjs').findKernelSpec>} opts.spec the kernel to start
 * @param {string} opts.cwd the kernel's working folder (the notebook's own folder, as Jupyter does)
 * @param {NodeJS.ProcessEnv} [opts.env] the kernel's environment
 * @param {number} [opts.timeout] seconds a cell may run (default 600; 0 = no limit)
 * @param {number} [opts.totalTimeout] seconds the whole notebook may run (default none)
 * @param {number} [opts.startupTimeout] seconds the kernel has to start (default 60)
 * @param {number} [opts.interruptGrace] seconds a timed-out cell gets to stop after the interrupt,
 *   before the kernel is killed (default 5)
 * @param {string} [opts.runtimeDir] folder of the connection file
 * @param {string[]} [opts.alwaysRun] tags of cells that still run after a cell failed or was
 *   interrupted (while the kernel lives), e.g. the provenance section
 * @param {(event: { type: 'cell', index: number, count: number, total: number } ) => void} [opts.onCell]
 * @param {(line: string) => void} [opts.log]
 * @returns {Promise<{ notebook: object, status: string, message: string|null, failedCell: number|null, seconds: number, kernelPid: number|null }>}
 *   `kernelPid`: the kernel's process id (shut down by now), null when it did not start
 */
export async function executeNotebook(nb, opts) {
  const out = structuredClone(nb);
  normalizeCellIds(out);
  const timeoutMs = (opts.timeout ?? 600) > 0 ? (opts.timeout ?? 600) * 1000 : Infinity;
  const totalMs = opts.totalTimeout > 0 ? opts.totalTimeout * 1000 : Infinity;
  const graceMs = (opts.interruptGrace ?? 5) * 1000;
  const t0 = Date.now();
  let status = 'ok';
  let message = null;
  let failedCell = null;
  let kernel = null;

  try {
    kernel = await startKernel({
      spec: opts.spec,
      cwd: opts.cwd,
      env: opts.env,
      runtimeDir: opts.runtimeDir,
      startupTimeoutMs: (opts.startupTimeout ?? 60) * 1000,
      log: opts.log,
    });
    if (kernel.info?.language_info) {
      out.metadata ??= {};
      out.metadata.language_info = kernel.info.language_info;
    }
    const run = new CellRunner(out, kernel);
    const code = out.cells.map((c, i) => [c, i]).filter(([c]) => c.cell_type === 'code' && text(c.source).trim());
    let count = 0;
    let afterError = false;
    for (const [cell, index] of code) {
      const left = totalMs - (Date.now() - t0);
      const limit = Math.min(timeoutMs, left);
      if (limit <= 0) {
        status = 'timeout';
        failedCell = index;
        message = `the notebook ran longer than ${opts.totalTimeout} s (total limit) before cell ${cellLabel(index)}`;
        break;
      }
      // tslab aborts every request it receives within 200 ms of a failed cell
      if (afterError) await sleep(300);
      opts.onCell?.({ type: 'cell', index, count: count + 1, total: code.length });
      const allowErrors = (cell.metadata?.tags ?? []).includes('raises-exception');
      const r = await run.execute(cell, index, { limitMs: limit, graceMs, allowErrors, executionCount: ++count });
      afterError = r.replyStatus === 'error';
      if (r.outcome === 'ok') {
        // a cell allowed to fail (raises-exception) that failed gets its error output too
        if (afterError) {
          const err = errorOutputFromStderr(cell, 'error', `cell ${cellLabel(index)} failed`);
          if (err) cell.outputs.push(err);
        }
        continue;
      }
      failedCell = index;
      if (r.outcome === 'error') {
        status = 'error';
        message = `cell ${cellLabel(index)} failed`;
      } else if (r.outcome === 'aborted') {
        status = 'error';
        message = `the kernel aborted cell ${cellLabel(index)} (status "${r.replyStatus}")`;
      } else if (r.outcome === 'timeout') {
        status = 'timeout';
        message =
          limit === timeoutMs
            ? `cell ${cellLabel(index)} ran longer than ${opts.timeout ?? 600} s`
            : `the notebook ran longer than ${opts.totalTimeout} s (total limit) in cell ${cellLabel(index)}`;
        if (!r.stopped) message += '; it did not stop when interrupted, so the kernel was killed';
      } else if (r.outcome === 'dead') {
        status = 'dead-kernel';
        message = `the kernel died in cell ${cellLabel(index)}: ${r.error.message}${tailNote(r.error.stderr)}`;
      }
      break;
    }
    // cells that run even after a failure (the provenance section), while the kernel lives
    const always = opts.alwaysRun ?? [];
    if (failedCell != null && always.length && !kernel.exited && !kernel.closed) {
      for (const [cell, index] of code) {
        if (index <= failedCell || !(cell.metadata?.tags ?? []).some((t) => always.includes(t))) continue;
        await sleep(300);
        const r = await run.execute(cell, index, { limitMs: Math.min(timeoutMs, 60_000), graceMs, allowErrors: true, executionCount: ++count });
        if (r.outcome !== 'ok' || kernel.exited) break;
      }
    }
  } catch (e) {
    status = 'failed-to-run';
    message = e instanceof KernelError ? `${e.message}${tailNote(e.stderr)}` : `${e.name ?? 'Error'}: ${e.message}`;
  } finally {
    await kernel?.shutdown();
  }
  const seconds = (Date.now() - t0) / 1000;

  if (failedCell != null) {
    const cell = out.cells[failedCell];
    const err = errorOutputFromStderr(cell, status, message);
    if (err) (cell.outputs ??= []).push(err);
  }
  out.metadata ??= {};
  out.metadata.nal = { ...(out.metadata.nal ?? {}), execution: { status, message, failedCell, seconds: Math.round(seconds * 100) / 100 } };
  return { notebook: out, status, message, failedCell, seconds, kernelPid: kernel?.child?.pid ?? null };
}

function tailNote(stderr) {
  const lines = String(stderr ?? '')
    .trim()
    .split('\n')
    .filter(Boolean)
    .slice(-15);
  return lines.length ? `\nlast kernel output:\n${lines.join('\n')}` : '';
}

/** Runs cells of one notebook in one kernel and records their outputs (nbclient's semantics). */
class CellRunner {
  constructor(nb, kernel) {
    this.nb = nb;
    this.kernel = kernel;
    /** display id -> cell index -> output indices */
    this.displays = new Map();
  }

  /**
   * @returns {Promise<{ outcome: 'ok'|'error'|'aborted'|'timeout'|'dead', replyStatus?: string, stopped?: boolean, error?: KernelError }>}
   */
  execute(cell, index, { limitMs, graceMs, allowErrors, executionCount }) {
    const kernel = this.kernel;
    cell.outputs = [];
    cell.metadata ??= {};
    cell.metadata.execution = {};
    const exec = cell.metadata.execution;
    let clearPending = false;
    let reply = null;
    let idle = false;
    let msgId;

    return new Promise((resolve) => {
      let settled = false;
      let timer;
      const finish = (result) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (msgId) kernel.forget(msgId);
        cell.execution_count = executionCount;
        resolve(result);
      };
      let timedOut = false;
      const maybeDone = () => {
        if (!reply || !idle) return;
        const st = reply.content?.status;
        if (timedOut) finish({ outcome: 'timeout', stopped: true, replyStatus: st });
        else if (st === 'ok') finish({ outcome: 'ok', replyStatus: st });
        else if (st === 'error') finish({ outcome: allowErrors ? 'ok' : 'error', replyStatus: st });
        else finish({ outcome: 'aborted', replyStatus: st });
      };
      const onIopub = (msg) => {
        // as nbclient: a cell's output ends with its idle status (later messages are dropped)
        if (idle) return;
        const c = msg.content ?? {};
        const type = msg.msg_type;
        const displayId = c.transient?.display_id;
        if (displayId && (type === 'display_data' || type === 'execute_result' || type === 'update_display_data')) this.updateDisplay(displayId, msg);
        if (type === 'status') {
          if (c.execution_state === 'busy') exec['iopub.status.busy'] = msg.header.date;
          if (c.execution_state === 'idle') {
            exec['iopub.status.idle'] = msg.header.date;
            idle = true;
            maybeDone();
          }
          return;
        }
        if (type === 'execute_input') {
          exec['iopub.execute_input'] = msg.header.date;
          return;
        }
        if (type === 'clear_output') {
          if (c.wait) clearPending = true;
          else {
            cell.outputs = [];
            this.forgetDisplays(index);
          }
          return;
        }
        if (type === 'update_display_data' || type.startsWith('comm')) return;
        const output = outputFromMessage(msg);
        if (!output) return;
        if (clearPending) {
          cell.outputs = [];
          this.forgetDisplays(index);
          clearPending = false;
        }
        if (displayId) {
          const byCell = this.displays.get(displayId) ?? new Map();
          this.displays.set(displayId, byCell);
          const list = byCell.get(index) ?? [];
          byCell.set(index, list);
          list.push(cell.outputs.length);
        }
        cell.outputs.push(output);
      };
      const onReply = (msg) => {
        reply = msg;
        exec['shell.execute_reply'] = msg.header.date;
        // nbclient waits up to 4 s for the idle status after the reply
        if (!idle) setTimeout(() => ((idle = true), maybeDone()), 4000).unref?.();
        maybeDone();
      };
      const onDead = (error) => finish(timedOut ? { outcome: 'timeout', stopped: false } : { outcome: 'dead', error });

      const onTimeout = async () => {
        if (settled) return;
        timedOut = true;
        // interrupt, give the cell a moment to stop and report, then kill a kernel that is stuck
        await kernel.interrupt();
        const until = Date.now() + graceMs;
        while (!settled && Date.now() < until) await sleep(50);
        if (settled) return;
        const stopped = Boolean(reply);
        if (!stopped) await kernel.shutdown({ now: true });
        finish({ outcome: 'timeout', stopped, replyStatus: reply?.content?.status });
      };

      kernel
        .request(
          'shell',
          'execute_request',
          { code: text(cell.source), silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: !allowErrors },
          { onReply, onIopub, onDead },
        )
        .then(
          (id) => {
            msgId = id;
            if (Number.isFinite(limitMs)) timer = setTimeout(onTimeout, limitMs);
          },
          (error) => finish({ outcome: 'dead', error: error instanceof KernelError ? error : new KernelError(error.message, 'dead') }),
        );
    });
  }

  /** nbclient's `_update_display_id`: every recorded output with this display id gets the new data. */
  updateDisplay(displayId, msg) {
    const byCell = this.displays.get(displayId);
    if (!byCell) return;
    const c = msg.content ?? {};
    for (const [cellIndex, indices] of byCell) {
      const outputs = this.nb.cells[cellIndex].outputs ?? [];
      for (const i of indices) {
        if (!outputs[i]) continue;
        outputs[i].data = c.data ?? {};
        outputs[i].metadata = c.metadata ?? {};
      }
    }
  }

  forgetDisplays(cellIndex) {
    for (const byCell of this.displays.values()) byCell.delete(cellIndex);
  }
}

/**
 * The notebook as nbformat writes it: sorted keys, one-space indent, multi-line text split into
 * lists of lines (sources, stream text, text/* and SVG/JavaScript data), transient keys dropped,
 * trailing newline.
 */
export function formatExecutedNotebook(nb) {
  const copy = structuredClone(nb);
  for (const key of ['orig_nbformat', 'orig_nbformat_minor', 'signature']) delete copy.metadata?.[key];
  for (const cell of copy.cells ?? []) {
    if (cell.metadata) delete cell.metadata.trusted;
    cell.source = splitLines(text(cell.source));
    for (const att of Object.values(cell.attachments ?? {})) splitBundle(att);
    if (cell.cell_type !== 'code') continue;
    for (const o of cell.outputs ?? []) {
      if (o.output_type === 'execute_result' || o.output_type === 'display_data') splitBundle(o.data ?? {});
      else if (o.output_type === 'stream') o.text = splitLines(text(o.text));
    }
  }
  const sort = (v) =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v;
  return JSON.stringify(sort(copy), null, 1) + '\n';
}

/** Python's `str.splitlines(True)`: the lines of `s` with their line ends (no line for ''). */
export function splitLines(s) {
  if (typeof s !== 'string') return s;
  return s.match(/[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])|[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+$/g) ?? [];
}

const isJsonMime = (k) => k === 'application/json' || (k.startsWith('application/') && k.endsWith('+json'));

/** nbformat's rejoin (on read) then split (on write) of a mime bundle, in place. */
function splitBundle(data) {
  for (const [k, v] of Object.entries(data)) {
    const joined = !isJsonMime(k) && Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join('') : v;
    data[k] = typeof joined === 'string' && (k.startsWith('text/') || k === 'application/javascript' || k === 'image/svg+xml') ? splitLines(joined) : joined;
  }
}

/** Where a notebook's kernel runs: its own folder, as Jupyter starts it. */
export function notebookCwd(file) {
  return path.dirname(path.resolve(file));
}
