#!/usr/bin/env node
/**
 * `nal`: the command-line interface. Errors print one line to stderr and exit non-zero; `--debug`
 * adds the stack trace.
 *
 * Process-level conventions live here:
 * - SIGINT / SIGTERM during a command that streams (detect, generate) abort it at once, even
 *   while it waits for input; it removes what it had started to write and exits 130 / 143. If it
 *   has not stopped within 700 ms, or on a second signal, the temporary files and locks are
 *   removed here and the process exits with that code. A signal after the command has returned (its
 *   output already renamed into place) ends the process with the command's own status. Other commands keep the signals' default
 *   action (they stop at once; their writes are atomic).
 * - A closed stdout (`nal detect --out - | head`) ends the run quietly with status 0.
 */
import { runCleanups } from '../core/cleanup';
import { InterruptedError } from '../core/errors';
import { interruptCode, isBrokenPipe } from './program';
import { runCli } from './commands';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const GRACE_MS = 700;

let controller: AbortController | undefined;
let handler: ((sig: NodeJS.Signals) => void) | undefined;
/** Set once the command has returned (its output is committed or it failed on its own). */
let released = false;
/** The command's exit status, once known. */
let finalCode: number | undefined;

/** Stop now: remove temporary files and locks, say why, exit. */
function exitNow(code: number, message?: string): never {
  runCleanups();
  if (message) {
    try {
      process.stderr.write(message);
    } catch {
      // stderr may be gone too
    }
  }
  process.exit(code);
}

const interrupts = {
  trap(): AbortSignal {
    controller = new AbortController();
    let first: NodeJS.Signals | undefined;
    handler = (sig) => {
      // the command has returned (its output renamed into place, or its own error): a signal while
      // the process winds down ends it with the command's own status, not as an interrupted run
      if (released) exitNow(finalCode ?? 0);
      if (first) exitNow(interruptCode(sig), `nal: interrupted by ${sig} again; stopped.\n`);
      first = sig;
      controller!.abort(new InterruptedError(sig, 'nothing written'));
      // a command that finished before it saw the abort keeps its status
      setTimeout(() => (released ? exitNow(finalCode ?? 0) : exitNow(interruptCode(sig), `nal: interrupted by ${sig}; nothing written.\n`)), GRACE_MS).unref();
    };
    for (const s of SIGNALS) process.on(s, handler);
    return controller.signal;
  },
  release(): void {
    // the handler stays until the process exits (see above): the default action would kill the
    // process, and its status would say "interrupted" about a run whose output is complete
    released = true;
  },
};

// a reader that stopped reading our output is not an error: end quietly
process.stdout.on('error', (e) => {
  if (isBrokenPipe(e)) exitNow(0);
  exitNow(1, `nal: cannot write the output (${(e as NodeJS.ErrnoException).code ?? e.message}).\n`);
});
process.stderr.on('error', () => undefined);
process.on('exit', () => runCleanups());

runCli(process.argv.slice(2), { interrupts }).then(
  (code) => {
    finalCode = code;
    // an interrupted run may leave reads pending (a FIFO nobody writes): do not wait for them
    if (code >= 128) exitNow(code);
    process.exitCode = code;
  },
  (e) => {
    finalCode = 1;
    process.stderr.write(`nal: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
