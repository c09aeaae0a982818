#!/usr/bin/env node
/**
 * `nal`: the command-line interface. Errors print one line to stderr and exit non-zero; `--debug`
 * adds the stack trace.
 */
import { runCli } from './commands';

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`nal: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
