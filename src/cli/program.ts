/**
 * The command-line machinery shared by every `nal` subcommand: a table of commands, each with its
 * own usage text and options (a new subcommand plugs in by adding one {@link CommandSpec}),
 * `--help` per command, `--version`, "did you mean" for a mistyped command or option, one-line
 * errors with the conventional exit codes, and interrupts (SIGINT/SIGTERM) handed to the commands
 * that stream as an `AbortSignal`.
 *
 * Exit codes: 0 success (also when stdout is closed early, as by `| head`), 1 an error, 2 a usage
 * mistake, 130 / 143 interrupted by SIGINT / SIGTERM.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AnomalyLabError, InterruptedError } from '../core/errors';
import { packageInfo } from '../ensemble/ensemble';

/** Option declarations of a command (node:util `parseArgs` format). */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parsed option values. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/** A usage mistake: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** What a command runs with. */
export interface Ctx {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /**
   * Aborted when the user interrupts (SIGINT/SIGTERM) a command that declared `interruptible`;
   * the command stops what it reads, removes what it had started to write, and rejects with the
   * signal's reason (an {@link InterruptedError}). Never aborted for other commands.
   */
  signal: AbortSignal;
}

/** One subcommand of `nal`. */
export interface CommandSpec {
  /** The words that name it: `train`, `feedback add`. */
  name: string;
  /** One line for the command list of `nal --help`. */
  summary: string;
  /** Its usage: synopsis lines then option descriptions, printed by `nal <name> --help`. */
  help: string;
  /** Options it accepts (`--debug`, `--quiet` and `--help` are added). */
  options: OptionSpec;
  /**
   * Whether the command handles SIGINT/SIGTERM itself through {@link Ctx.signal} (commands that
   * stream and write as they go). Others are stopped by the signal's default action at once
   * (their writes are atomic, so nothing is left half-done).
   */
  interruptible?: boolean;
  run(values: Values, ctx: Ctx): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: OptionSpec = {
  debug: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COMMON_HELP = `Common options: --quiet (no progress or warnings), --debug (stack traces), --help (this text)`;

/** How the program is invoked from {@link runProgram}. */
export interface ProgramIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /**
   * Interrupts: `trap()` is called before an interruptible command runs and returns the signal
   * it watches; `release()` after it. Without it (the library's and the tests' in-process runs)
   * a command's signal is never aborted.
   */
  interrupts?: { trap(): AbortSignal; release(): void };
}

/** The program: its name, a one-line description, the commands and extra help at the end. */
export interface Program {
  name: string;
  description: string;
  commands: readonly CommandSpec[];
  /** Sections printed after the command list of the overview. */
  epilogue: string;
}

/** Overview usage: every command's synopsis. */
export function overviewHelp(p: Program): string {
  const lines = [`${p.name}: ${p.description}`, '', 'Usage:'];
  for (const c of p.commands) {
    for (const l of synopsisOf(c, p.name)) lines.push(`  ${l}`);
  }
  lines.push('', `Run '${p.name} <command> --help' for a command's options; '${p.name} --version' prints the version.`);
  if (p.epilogue) lines.push('', p.epilogue);
  lines.push('', COMMON_HELP);
  return lines.join('\n');
}

/**
 * The synopsis lines of a command: the lines of its help up to the first blank line, each
 * starting with the command's name prefixed by the program's (continuations indented to match).
 */
function synopsisOf(c: CommandSpec, programName = 'nal'): string[] {
  const out: string[] = [];
  for (const l of c.help.split('\n')) {
    if (l.trim() === '') break;
    out.push(l.startsWith(c.name.split(' ')[0]) ? `${programName} ${l}` : `${' '.repeat(programName.length + 1)}${l}`);
  }
  return out;
}

/** Full help of one command. */
export function commandHelp(p: Program, c: CommandSpec): string {
  const synopsis = synopsisOf(c, p.name);
  const rest = c.help.split('\n').slice(synopsis.length);
  return `${p.name} ${c.name}: ${c.summary}\n\nUsage:\n${[...synopsis.map((l) => `  ${l}`), ...rest].join('\n')}\n\n${COMMON_HELP}`;
}

/**
 * The closest candidate to a mistyped word (Damerau-Levenshtein distance at most 2, and at most
 * a third of the word's length plus one), or a candidate it is a unique prefix of.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best !== undefined && bestD <= Math.min(2, Math.floor(word.length / 3) + 1)) return best;
  const prefixed = candidates.filter((c) => word.length >= 2 && c.startsWith(word));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

/** Optimal string alignment distance (insertions, deletions, substitutions, transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[m][n];
}

/** Parse a command's arguments strictly; mistakes become {@link UsageError}s with a suggestion. */
export function parseCommandArgs(p: Program, c: CommandSpec, args: string[]): Values {
  const options = { ...c.options, ...COMMON_OPTIONS };
  const see = `see ${p.name} ${c.name} --help`;
  try {
    const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
    return values as Values;
  } catch (e) {
    const msg = (e as Error).message;
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(msg);
    if (ambiguous) {
      throw new UsageError(`${ambiguous[1]} got a value that starts with '-'; write ${ambiguous[1]}=VALUE if you mean it (${see}).`);
    }
    const unknown = /^Unknown option '(-{1,2})([^'=]*)/.exec(msg);
    if (unknown) {
      const near = suggest(unknown[2], Object.keys(options));
      const hint = near ? `did you mean --${near}? ` : '';
      throw new UsageError(`Unknown option '${unknown[1]}${unknown[2]}' (${hint}${see}).`);
    }
    const positional = /^Unexpected argument '([^']*)'/.exec(msg);
    if (positional) {
      throw new UsageError(`Unexpected argument '${positional[1]}': every value follows an option (${see}).`);
    }
    throw new UsageError(`${msg.split('\n')[0].replace(/\. To specify.*$/s, '')} (${see}).`);
  }
}

/** The exit code of an interrupt by `signal` (128 + its number). */
export function interruptCode(signal: string | undefined): number {
  return signal === 'SIGTERM' ? 143 : signal === 'SIGHUP' ? 129 : 130;
}

/** Whether an error is a closed pipe on our output (a reader such as `head` that stopped reading). */
export function isBrokenPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE' || (e as NodeJS.ErrnoException | undefined)?.code === 'ERR_STREAM_DESTROYED';
}

const NEVER = new AbortController().signal;

/**
 * Run a program on `argv`; resolves to the exit code. Never throws: errors become one stderr line
 * (`name: message`), with the stack under `--debug`.
 */
export async function runProgram(p: Program, argv: string[], io: ProgramIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const debug = argv.includes('--debug');
  let trapped = false;
  let current: CommandSpec | undefined;
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      stderr.write(overviewHelp(p) + '\n');
      return 2;
    }
    if (first === '--help' || first === '-h') {
      stdout.write(overviewHelp(p) + '\n');
      return 0;
    }
    if (first === '--version' || first === '-V') {
      stdout.write(`${p.name} ${packageInfo().version}\n`);
      return 0;
    }
    if (first === 'help') {
      const target = rest.length ? findCommand(p, rest) : undefined;
      const group = !target && rest.length ? groupHelp(p, rest[0]) : undefined;
      if (rest.length && !target && !group) throw unknownCommand(p, rest);
      stdout.write((target ? commandHelp(p, target.command) : group ?? overviewHelp(p)) + '\n');
      return 0;
    }
    const found = findCommand(p, argv);
    if (!found) {
      const group = groupHelp(p, first);
      if (group && (rest[0] === '--help' || rest[0] === '-h')) {
        stdout.write(group + '\n');
        return 0;
      }
      if (group && (rest.length === 0 || rest[0].startsWith('-'))) {
        throw new UsageError(`${p.name} ${first} needs a subcommand: ${subcommandsOf(p, first).join(' or ')} (see ${p.name} ${first} --help).`);
      }
      throw unknownCommand(p, argv);
    }
    const { command, args } = found;
    current = command;
    if (args.includes('--help') || args.includes('-h')) {
      stdout.write(commandHelp(p, command) + '\n');
      return 0;
    }
    const values = parseCommandArgs(p, command, args);
    let signal = NEVER;
    if (command.interruptible && io.interrupts) {
      signal = io.interrupts.trap();
      trapped = true;
    }
    return await command.run(values, { stdout, stderr, signal });
  } catch (e) {
    const err = e as Error;
    if (err instanceof InterruptedError) {
      stderr.write(`${p.name}: ${err.message}\n`);
      return interruptCode(err.signal);
    }
    // a reader that closed our stdout (`nal detect --out - | head`): not an error of ours
    if (isBrokenPipe(err)) return 0;
    const known = err instanceof AnomalyLabError || err instanceof UsageError || err instanceof RangeError || err instanceof TypeError;
    let msg = known ? err.message : `unexpected error: ${err?.message ?? String(err)}`;
    // point a usage mistake at the command's own help
    if (err instanceof UsageError && current) msg = msg.replace(`(see ${p.name} --help)`, `(see ${p.name} ${current.name} --help)`);
    stderr.write(`${p.name}: ${msg.split('\n')[0]}\n`);
    if (debug && err?.stack) stderr.write(err.stack + '\n');
    return err instanceof UsageError ? 2 : 1;
  } finally {
    if (trapped) io.interrupts!.release();
  }
}

/** The command named by the first one or two words of `argv`. */
function findCommand(p: Program, argv: string[]): { command: CommandSpec; args: string[] } | undefined {
  const two = argv.length >= 2 ? `${argv[0]} ${argv[1]}` : undefined;
  const byTwo = two ? p.commands.find((c) => c.name === two) : undefined;
  if (byTwo) return { command: byTwo, args: argv.slice(2) };
  const byOne = p.commands.find((c) => c.name === argv[0]);
  return byOne ? { command: byOne, args: argv.slice(1) } : undefined;
}

function subcommandsOf(p: Program, group: string): string[] {
  return p.commands.filter((c) => c.name.startsWith(group + ' ')).map((c) => c.name.slice(group.length + 1));
}

/** Help of a command group (`nal feedback`): its subcommands' synopses. */
function groupHelp(p: Program, group: string): string | undefined {
  const subs = p.commands.filter((c) => c.name.startsWith(group + ' '));
  if (subs.length === 0) return undefined;
  const lines = [`${p.name} ${group}: ${subs.map((c) => c.name.slice(group.length + 1)).join(', ')}`, '', 'Usage:'];
  for (const c of subs) for (const l of synopsisOf(c, p.name)) lines.push(`  ${l}`);
  lines.push('', `Run '${p.name} ${group} <subcommand> --help' for its options.`);
  return lines.join('\n');
}

function unknownCommand(p: Program, argv: string[]): UsageError {
  const words = p.commands.map((c) => c.name);
  const tops = [...new Set(words.map((w) => w.split(' ')[0]))];
  const [first, second] = argv;
  if (tops.includes(first) && second !== undefined) {
    // a known group with an unknown subcommand
    const subs = subcommandsOf(p, first);
    const near = suggest(second, subs);
    return new UsageError(`${p.name} ${first} needs a subcommand: ${subs.join(' or ')}, got '${second}'${near ? ` (did you mean '${first} ${near}'?)` : ''} (see ${p.name} ${first} --help).`);
  }
  const near = suggest(first, tops);
  return new UsageError(`unknown command '${first}'${near ? ` (did you mean '${near}'?)` : ''}; commands: ${tops.join(', ')} (see ${p.name} --help).`);
}
