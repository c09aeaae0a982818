/**
 * The `nal` subcommands: generate, train, detect, evaluate, feedback, flows. Option names and JSON keys are a
 * contract other tools drive the project through; keep them stable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataValidationError } from '../core/errors';
import type { DetectorName } from '../core/detector';
import { atomicWriteStream, checkModelFolderWritable, checkOutputPath, lockModelFolder } from '../core/persistence';
import type { Contamination } from '../core/threshold';
import { encodeTraffic, loadTraffic, type TrafficData } from '../data/csv';
import type { TrafficEncoder } from '../data/encoder';
import { drawSeed } from '../core/random';
import { DATASETS, resolveDatasetSchema, SEED_SCHEMA, type DatasetSchema } from '../data/schema';
import { generateTrafficCsv } from '../data/generator';
import { sampleRows, splitTraffic, subsetRows } from '../data/split';
import { AnomalyEnsemble, DEFAULT_DETECTORS, DEFAULT_LOF_NEIGHBORS, DETECTOR_NAMES, MODEL_FORMAT, resolveEnsembleOptions, type EnsembleOptions, type FitProgress } from '../ensemble/ensemble';
import { evaluateDetection, type EvaluationReport } from '../ensemble/evaluate';
import { detectCsvStream, detectCsvToFile, modelSchema, skippedRowsFileFor, writeDetectionCsv, type StreamSummary } from '../stream/detect-stream';
import { SkippedRowsFile, writeSkippedRows, type BadRowPolicy, type SkippedRow } from '../data/bad-rows';
import { writeFlowsCsv } from '../capture/export';
import { DEFAULT_FLOW_OPTIONS, type CaptureFlowSummary, type FlowOptions } from '../capture/flows';
import { linkTypeName } from '../capture/pcap';
import { DEFAULT_CHUNK_SIZE, DEFAULT_MAX_LINE_BYTES, MAX_CHUNK_SIZE } from '../stream/csv-reader';
import { runProgram, UsageError, type CommandSpec, type Ctx, type OptionSpec, type Program, type ProgramIo, type Values } from './program';
import { readManifest } from '../core/persistence';
import { MAX_FP_WEIGHT, retrainWithFeedback } from '../feedback/retrain';
import {
  appendFeedback,
  checkFeedbackRecord,
  FEEDBACK_LABELS,
  feedbackLog,
  feedbackPath,
  feedbackStats,
  labelRows,
  loadFeedback,
  type FeedbackLabel,
  type FeedbackLog,
  type FeedbackRecord,
} from '../feedback/store';

export { UsageError } from './program';

/** Largest --rows of generate. */
export const MAX_GENERATE_ROWS = 1_000_000_000;
/** Largest --lof-k and --knn-k (the neighbour lists take rows x k memory). */
export const MAX_LOF_K = 10_000;
/** Largest --epochs. */
export const MAX_EPOCHS = 100_000;

/** The bad-rows options of train, detect and evaluate. */
const BAD_ROWS_HELP = `  --bad-rows error|skip     rows with a cell that cannot be encoded (Infinity, NaN, empty, text): error
                            (default) names the first and says how many; skip leaves them out and lists
                            them with their reasons in a side file
  --skipped-rows FILE       that side file (default: beside --out as NAME.skipped.csv for detect, else
                            DATA.skipped.csv in the current folder, DATA being the data file's name)`;

/** Data options shared by train, detect and evaluate. */
const DATA_HELP = `Data options:
  --dataset D               file layout: ${Object.keys(DATASETS).join(', ')} (default seed), or a JSON
                            description file (features, categorical, label, normalLabels, header, columns);
                            flows = nal flows output, zeek-conn = Zeek conn.log (TSV or JSON lines),
                            cicflowmeter = CICFlowMeter / CIC-IDS CSVs
  --normal-only             train on the rows labelled normal only
  --train-sample N          train on a seeded random sample of N training rows (after --normal-only)
  --max-line-bytes N        refuse a line longer than N bytes (default ${DEFAULT_MAX_LINE_BYTES.toLocaleString('en-US')})
${BAD_ROWS_HELP}`;

/** Model options shared by train and evaluate. */
const MODEL_HELP = `Model options:
  --contamination C|auto    expected share of anomalies in (0, 0.5], or auto (default 0.15)
  --seed S                  integer in [0, 4294967295]; the same seed gives the same model
  --preset default|seed     start from a named configuration (seed = the original app)
  --decision vote|score     anomaly by majority vote or by the fused score
  --min-votes K             votes needed with --decision vote (default half the detectors, rounded up)
  --detectors a,b,...       which detectors, from ${DETECTOR_NAMES.join(',')}
                            (default ${DEFAULT_DETECTORS.join(',')})
  --knn-k K[,K...]          neighbours of kNN distance (1 to ${MAX_LOF_K.toLocaleString('en-US')}); several: each k-th
                            distance over its training median, averaged (default ${DEFAULT_LOF_NEIGHBORS.join(',')})
  --lof-k K[,K...]          neighbours of the Local Outlier Factor (1 to ${MAX_LOF_K.toLocaleString('en-US')}); several:
                            the mean of their LOFs (default ${DEFAULT_LOF_NEIGHBORS.join(',')})
  --epochs N                autoencoder epochs (1 to ${MAX_EPOCHS.toLocaleString('en-US')})`;

const MODEL_OPTIONS: OptionSpec = {
  preset: { type: 'string' },
  decision: { type: 'string' },
  'min-votes': { type: 'string' },
  detectors: { type: 'string' },
  'lof-k': { type: 'string' },
  'knn-k': { type: 'string' },
  epochs: { type: 'string' },
  contamination: { type: 'string' },
  seed: { type: 'string' },
  'normal-only': { type: 'boolean' },
  dataset: { type: 'string' },
  'train-sample': { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'bad-rows': { type: 'string' },
  'skipped-rows': { type: 'string' },
};

/** `nal flows`: synopsis, options and what comes out. */
const FLOWS_HELP = `flows --pcap FILE|- [--out FILE|-] [--idle-timeout S] [--active-timeout S] [--close-wait S]

  --pcap FILE|-             classic pcap (either byte order, micro- or nanosecond timestamps) or pcapng
                            (several interfaces); .gz files are read directly; - reads stdin
                            (tcpdump -w - | nal flows --pcap -). Link types: Ethernet (802.1Q/QinQ VLAN
                            tags, PPPoE), Linux cooked SLL and SLL2 (-i any), raw IP, BSD loopback.
  --out FILE|-              where the CSV goes (default -: stdout); a file is written to a temporary
                            file and renamed into place at the end, so a failure leaves no partial output
  --idle-timeout S          a flow without packets for S seconds ends (default ${DEFAULT_FLOW_OPTIONS.idleTimeout})
  --active-timeout S        a flow ends S seconds after its first packet even when still active; its next
                            packet starts a new flow (default ${DEFAULT_FLOW_OPTIONS.activeTimeout})
  --close-wait S            a TCP flow closed by FIN from both sides or by RST keeps counting its late
                            packets (the last ACK, retransmissions) for S seconds; a SYN always starts
                            a new flow (default ${DEFAULT_FLOW_OPTIONS.closeWait})

One row per flow, keyed by the 5-tuple (addresses, ports, protocol), the first packet's sender as
the source: identifiers (timestamp, src_ip, src_port, dst_ip, dst_port, protocol, end_reason) and
CICFlowMeter-style features (duration; packet, byte and payload counts per direction; payload
length min/max/mean/std; bytes/s and packets/s; inter-arrival times; TCP flag counts; header bytes;
initial windows). Every column is defined in docs/FLOWS.md. Memory holds the active flows only.
Then: nal train --dataset flows --data flows.csv --contamination auto --model DIR; nal detect --model DIR ...

Ctrl-C (SIGINT) or SIGTERM stops at once, removes the unfinished output and exits 130 / 143.`;

/** Every `nal` command. A new subcommand plugs in here with its own usage text and options. */
export const COMMANDS: CommandSpec[] = [
  {
    name: 'generate',
    summary: 'write seeded synthetic traffic (the seed data\'s distributions) to a CSV file',
    help: `generate --rows N [--anomaly-ratio R] [--seed S] --out FILE|-

  --rows N                  rows to write (1 to ${MAX_GENERATE_ROWS.toLocaleString('en-US')}); streamed to disk in bounded memory
  --anomaly-ratio R         share of anomalies in [0, 1) (default 0.15)
  --seed S                  integer in [0, 4294967295] (default 42); the same seed gives the same file
  --out FILE|-              the CSV written (replaced at the end, so an interrupted run leaves the old
                            file); - writes to stdout`,
    options: { rows: { type: 'string' }, 'anomaly-ratio': { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } },
    interruptible: true,
    run: (v, ctx) => cmdGenerate(v, ctx),
  },
  {
    name: 'train',
    summary: 'fit the ensemble on a CSV file and save it to a model folder (or retrain it with feedback)',
    help: `train --data FILE [--dataset D] [--normal-only] [--train-sample N]
      [--contamination C|auto] [--seed S] [model options] --model DIR
train --data FILE --model DIR --feedback F [--fp-weight N] [--keep-weights] [--skip-bad-lines]

  --data FILE               the training rows (CSV, .gz read directly)
  --model DIR               the model folder: created, or replaced whole by the new model when it holds
                            one; a folder with anything else in it is refused. Locked while training.

${DATA_HELP}

${MODEL_HELP}

Retraining with operator labels (from nal feedback add):
  --feedback F              confirmed anomalies leave the training rows, confirmed false positives
                            join them --fp-weight times, thresholds are recalibrated, fusion weights
                            are learned from the labels (not with --keep-weights); an existing model
                            in DIR gives the options and seed
  --fp-weight N             copies of each confirmed false positive (1 to ${MAX_FP_WEIGHT.toLocaleString('en-US')}, default 10)
  --keep-weights            keep the model's fusion weights
  --skip-bad-lines          skip unreadable lines of the feedback file (with a warning) instead of failing`,
    options: {
      ...MODEL_OPTIONS,
      data: { type: 'string' },
      model: { type: 'string' },
      feedback: { type: 'string' },
      'fp-weight': { type: 'string' },
      'keep-weights': { type: 'boolean' },
      'skip-bad-lines': { type: 'boolean' },
    },
    run: (v, ctx) => cmdTrain(v, ctx),
  },
  {
    name: 'detect',
    summary: 'score a CSV file (or stdin) with a saved model, streamed in bounded memory',
    help: `detect --data FILE|- [--dataset D] --model DIR --out FILE|- [--chunk-size N] [--bad-rows error|skip]
       [--columns A,B,...] [--no-output-header]

  --data FILE|-             the rows to score; - reads stdin (any size, streamed)
  --model DIR               a model folder written by nal train
  --out FILE|-              the scored CSV: every input column, then row_id, each detector's score and
                            vote, votes, is_anomaly, confidence, severity, ensemble_score; - writes to
                            stdout. A file is replaced only when the run succeeds, and never one read.
  --chunk-size N            rows scored together (1 to ${MAX_CHUNK_SIZE.toLocaleString('en-US')}, default ${DEFAULT_CHUNK_SIZE})
  --dataset D               file layout (default: the one the model was trained with)
  --max-line-bytes N        refuse a line longer than N bytes (default ${DEFAULT_MAX_LINE_BYTES.toLocaleString('en-US')})
  --columns A,B,...         the input's column names, for input without a header line (a shard of a
                            file); a first line equal to them is taken as the header
  --no-output-header        no header line in the output, and an input without rows gives none: the
                            outputs of a file's shards, concatenated after one header line, are the
                            output of the whole file (README, "Past one machine")
${BAD_ROWS_HELP}

Ctrl-C (SIGINT) or SIGTERM stops at once, removes the unfinished output and exits 130 / 143.`,
    options: {
      data: { type: 'string' },
      dataset: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string' },
      'chunk-size': { type: 'string' },
      'max-line-bytes': { type: 'string' },
      columns: { type: 'string' },
      'no-output-header': { type: 'boolean' },
      'bad-rows': { type: 'string' },
      'skipped-rows': { type: 'string' },
    },
    interruptible: true,
    run: (v, ctx) => cmdDetect(v, ctx),
  },
  {
    name: 'evaluate',
    summary: 'train and score in one run and print accuracy, precision, recall, F1, ROC-AUC, PR-AUC per model',
    help: `evaluate --data FILE [--dataset D] [--train FILE] [--normal-only] [--train-fraction F [--stratify]]
         [--train-sample N] [--contamination C|auto] [--seed S] [model options] [--json]

  --data FILE               labelled rows to evaluate on (and to train on, without --train/--train-fraction)
  --train FILE              train on another file
  --train-fraction F        train on a seeded share F in (0, 1) of the rows (of the normal rows with
                            --normal-only) and evaluate on all the others
  --stratify                with --train-fraction: take the share of each label class (ADBench split: the rows
                            of scikit-learn's train_test_split(stratify=y, random_state=seed))
  --json                    print {"models": {...}, "seconds": {"fit", "score"}, ...} instead of a table
                            (with --bad-rows skip also "skippedRows": [{file, rows, sideFile}])

${DATA_HELP}

${MODEL_HELP}`,
    options: { ...MODEL_OPTIONS, data: { type: 'string' }, train: { type: 'string' }, 'train-fraction': { type: 'string' }, stratify: { type: 'boolean' }, json: { type: 'boolean' } },
    run: (v, ctx) => cmdEvaluate(v, ctx),
  },
  {
    name: 'feedback add',
    summary: 'label detected rows by their row_id: tp (real anomaly), fp (false positive), fn (missed anomaly)',
    help: `feedback add --model DIR --data FILE --row-id ID[,ID...] --label tp|fp|fn [--note TEXT] [--file F]

  --model DIR               the model whose detections were reviewed
  --data FILE               the file the ids come from (the --data of nal detect)
  --row-id ID[,ID...]       ids from the row_id column of nal detect output (repeatable)
  --label tp|fp|fn          tp: a real anomaly; fp: normal traffic the model flagged; fn: a missed anomaly
  --note TEXT               a note kept with the labels
  --file F                  the feedback log (default DIR/feedback.jsonl; append-only JSON lines). It must
                            be a feedback log already, or new; everything is checked before anything is added.
  --dataset D               file layout (default: the model's)
  --max-line-bytes N        refuse a line of --data longer than N bytes (default ${DEFAULT_MAX_LINE_BYTES.toLocaleString('en-US')})
  --skip-bad-lines          tolerate unreadable lines already in the log (with a warning)`,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      dataset: { type: 'string' },
      'row-id': { type: 'string', multiple: true },
      label: { type: 'string' },
      note: { type: 'string' },
      file: { type: 'string' },
      'skip-bad-lines': { type: 'boolean' },
      'max-line-bytes': { type: 'string' },
    },
    run: (v, ctx) => feedbackAdd(v, ctx),
  },
  {
    name: 'feedback stats',
    summary: 'count the labels in force, relabelled rows and skipped lines of a feedback log',
    help: `feedback stats --model DIR | --file F [--json] [--skip-bad-lines]

  --model DIR               read DIR/feedback.jsonl
  --file F                  read another feedback log
  --json                    print {file, records, rows, tp, fp, fn, withFeatures, conflicts, skippedLines,
                            first, last, relabelled, skipped}
  --skip-bad-lines          skip unreadable lines (with a warning) instead of failing`,
    options: { model: { type: 'string' }, file: { type: 'string' }, json: { type: 'boolean' }, 'skip-bad-lines': { type: 'boolean' } },
    run: (v, ctx) => feedbackShow(v, ctx),
  },
  {
    name: 'flows',
    summary: 'turn a packet capture (pcap, pcapng) into one CSV row per bidirectional flow',
    help: FLOWS_HELP,
    options: { pcap: { type: 'string' }, out: { type: 'string' }, 'idle-timeout': { type: 'string' }, 'active-timeout': { type: 'string' }, 'close-wait': { type: 'string' } },
    interruptible: true,
    run: (v, ctx) => cmdFlows(v, ctx),
  },
];

/** The `nal` program. */
export const NAL: Program = {
  name: 'nal',
  description: 'network-anomaly-lab command line',
  commands: COMMANDS,
  epilogue: `Errors print one line on stderr; exit codes: 0 done, 1 error, 2 usage mistake, 130/143 interrupted.`,
};

/** Run the CLI; resolves to the exit code. Never throws: errors become one stderr line. */
export async function runCli(argv: string[], io: ProgramIo = {}): Promise<number> {
  return runProgram(NAL, argv, io);
}

function required(v: Values, name: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new UsageError(`--${name} is required (see nal --help).`);
  return x;
}

/**
 * An integer option in [min, max]. Written in decimal digits (an optional exponent such as 1e6 is
 * accepted); hexadecimal, binary and octal literals are refused, as in data files.
 */
function intOpt(v: Values, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  const n = typeof x === 'string' && /^\s*[+]?\d+(\.\d*)?(e[+]?\d+)?\s*$/i.test(x) ? Number(x) : NaN;
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${x}'.`);
  if (n > max) throw new UsageError(`--${name} must be at most ${max.toLocaleString('en-US')}, got '${x}'.`);
  return n;
}

/** A decimal number (no hexadecimal, binary or octal literal, no Infinity). */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

function numOpt(v: Values, name: string): number | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  const n = typeof x === 'string' && DECIMAL.test(x) ? Number(x) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${x}'.`);
  return n;
}

function seedOpt(v: Values): number | undefined {
  const x = v.seed;
  if (x === undefined) return undefined;
  const n = Number(x);
  if (typeof x !== 'string' || !/^\d+$/.test(x.trim()) || n > 0xffffffff) {
    throw new UsageError(`--seed must be an integer in [0, 4294967295], got '${x}'.`);
  }
  return n;
}

function contaminationOpt(v: Values): Contamination | undefined {
  const x = v.contamination;
  if (x === undefined) return undefined;
  if (x === 'auto') return 'auto';
  const n = typeof x === 'string' && DECIMAL.test(x) ? Number(x) : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 0.5) {
    throw new UsageError(`--contamination must be a number in (0, 0.5] or 'auto', got '${x}'.`);
  }
  return n;
}

/**
 * A warning on stderr (unless --quiet) for detector flags that the ensemble will not use: `--epochs`
 * without the autoencoder among the detectors, `--lof-k` without LOF, `--knn-k` without kNN (the
 * default detectors have neither the autoencoder nor LOF since issue 12). `train --feedback` checks
 * the base model's detectors (with the flags' overrides), without the preset advice.
 */
function warnUnusedDetectorFlags(v: Values, opts: EnsembleOptions, ctx: Ctx, presetAdvice = true): void {
  if (v.quiet) return;
  const detectors = resolveEnsembleOptions(opts).detectors;
  const unused = ([['epochs', 'autoencoder'], ['lof-k', 'localOutlierFactor'], ['knn-k', 'knn']] as const).filter(([flag, d]) => v[flag] !== undefined && !detectors.includes(d));
  if (unused.length === 0) return;
  const flags = unused.map(([flag]) => `--${flag}`).join(' and ');
  const missing = unused.map(([, d]) => d);
  // the seed preset has both, but only helps when neither --detectors nor --preset chose the detectors
  const preset = presetAdvice && v.detectors === undefined && v.preset === undefined ? " or use --preset seed (the seed app's four detectors and 2-of-4 vote)" : '';
  ctx.stderr.write(`warning: ${flags} ${unused.length > 1 ? 'apply' : 'applies'} to ${missing.join(' and ')}, which ${unused.length > 1 ? 'are' : 'is'} not among the detectors (${detectors.join(',')}); add ${unused.length > 1 ? 'them' : 'it'} with --detectors ${[...detectors, ...missing].join(',')}${preset}.\n`);
}

/** A neighbour count or comma-separated list of them (`--lof-k`, `--knn-k`), each in [1, MAX_LOF_K]. */
function neighboursOpt(v: Values, flag: 'lof-k' | 'knn-k'): number | number[] | undefined {
  const raw = v[flag];
  if (typeof raw !== 'string') return undefined;
  const ks = raw.split(',').map((x) => intOpt({ [flag]: x }, flag, 1, MAX_LOF_K)!);
  return ks.length === 1 ? ks[0] : ks;
}

/** Ensemble options from command-line flags. */
export function ensembleOptionsFromFlags(v: Values): EnsembleOptions {
  const o: EnsembleOptions = {};
  if (v.preset !== undefined) {
    if (v.preset !== 'default' && v.preset !== 'seed') throw new UsageError(`--preset must be 'default' or 'seed', got '${v.preset}'.`);
    o.preset = v.preset;
  }
  if (v.decision !== undefined) {
    if (v.decision !== 'vote' && v.decision !== 'score') throw new UsageError(`--decision must be 'vote' or 'score', got '${v.decision}'.`);
    o.decision = v.decision;
  }
  const c = contaminationOpt(v);
  if (c !== undefined) o.contamination = c;
  const seed = seedOpt(v);
  if (seed !== undefined) o.seed = seed;
  const mv = intOpt(v, 'min-votes', 1);
  if (mv !== undefined) o.minVotes = mv;
  if (typeof v.detectors === 'string') {
    const list = v.detectors.split(',').map((s) => s.trim()).filter(Boolean) as DetectorName[];
    const bad = list.filter((d) => !DETECTOR_NAMES.includes(d));
    if (bad.length || list.length === 0) throw new UsageError(`--detectors takes names from ${DETECTOR_NAMES.join(',')}, got '${v.detectors}'.`);
    o.detectors = list;
  }
  // one k, or several: --lof-k 20 or --lof-k 20,50,100,200 (their LOFs averaged), --knn-k likewise
  const lofK = neighboursOpt(v, 'lof-k');
  if (lofK !== undefined) o.localOutlierFactor = { nNeighbors: lofK };
  const knnK = neighboursOpt(v, 'knn-k');
  if (knnK !== undefined) o.knn = { nNeighbors: knnK };
  const epochs = intOpt(v, 'epochs', 1, MAX_EPOCHS);
  if (epochs !== undefined) o.autoencoder = { epochs };
  return o;
}

function progressReporter(v: Values, ctx: Ctx): ((p: FitProgress) => void) | undefined {
  if (v.quiet) return undefined;
  const tty = (ctx.stderr as NodeJS.WriteStream).isTTY === true;
  return (p) => {
    if (p.stage === 'detector-end') {
      if (tty) ctx.stderr.write('\r\x1b[K');
      ctx.stderr.write(`  fitted ${p.detector} in ${p.seconds.toFixed(2)} s\n`);
    } else if (p.stage === 'epoch' && tty) {
      const w = 24;
      const done = Math.round((w * p.epoch) / p.epochs);
      ctx.stderr.write(`\r\x1b[K  autoencoder [${'#'.repeat(done)}${'.'.repeat(w - done)}] epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`);
    }
  };
}

async function cmdGenerate(v: Values, ctx: Ctx): Promise<number> {
  const out = required(v, 'out');
  const rows = intOpt(v, 'rows', 1, MAX_GENERATE_ROWS);
  if (rows === undefined) throw new UsageError('--rows is required (see nal --help).');
  const ratio = numOpt(v, 'anomaly-ratio') ?? 0.15;
  const seed = seedOpt(v) ?? 42;
  // streamed to a temporary file block by block (any number of rows in bounded memory), renamed into place at the end
  const pieces = (async function* () {
    for (const text of generateTrafficCsv({ rows, anomalyRatio: ratio, seed })) {
      if (text) yield text;
      await new Promise<void>((r) => setImmediate(r)); // let an interrupt in between blocks
    }
  })();
  if (out === '-') await writeAll(ctx.stdout, pieces, ctx.signal);
  else await atomicWriteStream(out, pieces, { signal: ctx.signal });
  const nA = Math.floor(rows * ratio);
  if (!v.quiet) ctx.stderr.write(`wrote ${out}: ${rows} rows, ${nA} anomalies\n`);
  return 0;
}

/** Write pieces of text to a stream, honouring back-pressure; a stream that fails or closes ends it with its error. */
async function writeAll(out: NodeJS.WritableStream, pieces: AsyncIterable<string>, signal: AbortSignal): Promise<void> {
  const w = out as NodeJS.WritableStream & NodeJS.EventEmitter;
  let failed: unknown;
  const onError = (e: unknown) => (failed ??= e);
  w.on('error', onError);
  try {
    for await (const p of pieces) {
      signal.throwIfAborted();
      if (failed) throw failed;
      if (!out.write(p)) {
        await new Promise<void>((resolve, reject) => {
          const done = (e?: unknown) => {
            w.off('drain', onDrain);
            w.off('error', done);
            w.off('close', onClose);
            if (e) reject(e);
            else resolve();
          };
          const onDrain = () => done();
          const onClose = () => done(Object.assign(new Error('the output was closed'), { code: 'EPIPE' }));
          w.once('drain', onDrain);
          w.once('error', done);
          w.once('close', onClose);
        });
      }
    }
    if (failed) throw failed;
  } catch (e) {
    failed ??= e;
    throw e;
  } finally {
    w.off('error', onError);
    // a stream that failed (a reader gone: EPIPE) may still report it; it is no news then
    if (failed) w.on('error', () => undefined);
  }
}

function normalRows(data: TrafficData, file: string): TrafficData {
  if (!data.labels) throw new UsageError(`--normal-only needs a 'label' column, and ${file} has none.`);
  const idx: number[] = [];
  data.labels.forEach((l, i) => {
    if (l === 0) idx.push(i);
  });
  if (idx.length === 0) throw new UsageError(`--normal-only: ${file} has no normal (label 0) rows.`);
  return subsetRows(data, idx);
}

function printWarnings(data: TrafficData, v: Values, ctx: Ctx): void {
  if (v.quiet) return;
  for (const w of data.warnings) ctx.stderr.write(`warning: ${w}\n`);
}

/** The file layout named by --dataset (default: the seed traffic). */
function datasetOpt(v: Values): DatasetSchema {
  return typeof v.dataset === 'string' ? resolveDatasetSchema(v.dataset) : SEED_SCHEMA;
}

/** --bad-rows error|skip. */
function badRowsOpt(v: Values): BadRowPolicy {
  const x = v['bad-rows'];
  if (x === undefined) {
    if (v['skipped-rows'] !== undefined) throw new UsageError('--skipped-rows needs --bad-rows skip.');
    return 'error';
  }
  if (x !== 'error' && x !== 'skip') throw new UsageError(`--bad-rows must be 'error' or 'skip', got '${x}'.`);
  if (x === 'error' && v['skipped-rows'] !== undefined) throw new UsageError('--skipped-rows needs --bad-rows skip.');
  return x;
}

/** The side file of the rows of `dataFile` skipped by --bad-rows skip: --skipped-rows, else NAME.skipped.csv here. */
function skippedRowsPath(v: Values, dataFile: string, role?: 'train'): string {
  const given = v['skipped-rows'];
  if (typeof given === 'string' && given !== '') return role === 'train' ? given.replace(/(\.csv)?$/i, '.train$1') : given;
  const base = path.basename(dataFile === '-' ? 'stdin' : dataFile).replace(/\.gz$/i, '').replace(/\.(csv|txt|log|json|jsonl)$/i, '');
  return `${base}.skipped.csv`;
}

/** Skipped rows: written to their side file, said on stderr. */
function reportSkipped(data: TrafficData, file: string, sideFile: string, v: Values, ctx: Ctx): { file: string; rows: number; sideFile: string } | undefined {
  const rows = data.skippedRows;
  if (!rows?.length) return undefined;
  writeSkippedRows(sideFile, data.header, rows);
  if (!v.quiet) {
    const f = rows[0];
    ctx.stderr.write(`note: ${rows.length} row${rows.length === 1 ? '' : 's'} of ${file} cannot be encoded and ${rows.length === 1 ? 'was' : 'were'} skipped (first: row ${f.row}, column '${f.column}': ${f.reason}); listed in ${sideFile}\n`);
  }
  return { file, rows: rows.length, sideFile };
}

/**
 * Read a data file with the --dataset layout (and a model's encoder when given), with the
 * --bad-rows policy: skipped rows go to their side file (`skipped` collects what was written).
 */
function readData(file: string, schema: DatasetSchema, v: Values, ctx: Ctx, encoder?: TrafficEncoder, role?: 'train', skipped?: object[]): TrafficData {
  const data = loadTraffic(file, { schema, encoder, maxLineBytes: maxLineOpt(v), badRows: badRowsOpt(v) });
  printWarnings(data, v, ctx);
  const said = reportSkipped(data, file, skippedRowsPath(v, file, role), v, ctx);
  if (said) skipped?.push(said);
  return data;
}

/**
 * The training rows: the normal rows with --normal-only, then a seeded sample of --train-sample
 * rows; categorical columns are then encoded with categories learned from these rows only.
 */
function trainingRows(data: TrafficData, file: string, v: Values, seed: number, ctx: Ctx): TrafficData {
  let train = v['normal-only'] ? normalRows(data, file) : data;
  const n = intOpt(v, 'train-sample', 1);
  if (n !== undefined) {
    if (n >= train.X.rows && !v.quiet) ctx.stderr.write(`note: --train-sample ${n} >= ${train.X.rows} training rows; using them all\n`);
    train = sampleRows(train, n, seed);
  }
  return encodeTraffic(train);
}

async function cmdTrain(v: Values, ctx: Ctx): Promise<number> {
  if (v.feedback !== undefined) return trainWithFeedback(v, ctx);
  if (v['fp-weight'] !== undefined || v['keep-weights']) throw new UsageError(`--${v['fp-weight'] !== undefined ? 'fp-weight' : 'keep-weights'} needs --feedback FILE.`);
  const file = required(v, 'data');
  const modelDir = required(v, 'model');
  const opts = ensembleOptionsFromFlags(v);
  warnUnusedDetectorFlags(v, opts, ctx);
  // the seed is drawn here when not given, so that the training sample is reproducible too
  const seed = opts.seed ?? drawSeed();
  return holdingModelFolder(modelDir, () => trainNew(v, ctx, file, modelDir, { ...opts, seed }));
}

/** The training of `train`, run while the model folder is locked. */
async function trainNew(v: Values, ctx: Ctx, file: string, modelDir: string, opts: EnsembleOptions & { seed: number }): Promise<number> {
  const data = trainingRows(readData(file, datasetOpt(v), v, ctx), file, v, opts.seed, ctx);
  const t0 = performance.now();
  const ens = await new AnomalyEnsemble({ ...opts, onProgress: progressReporter(v, ctx) }).fit(data);
  const seconds = (performance.now() - t0) / 1000;
  await ens.save(modelDir, {
    trainedOn: path.basename(file),
    normalOnly: Boolean(v['normal-only']),
    ...(v['train-sample'] !== undefined ? { trainSample: data.X.rows } : {}),
  });
  const flagged = ens.trainingResult.isAnomaly.reduce((a, b) => a + b, 0);
  if (!v.quiet) {
    ctx.stderr.write(
      `trained on ${data.X.rows} rows in ${seconds.toFixed(1)} s (seed ${ens.seed}); ${flagged} training rows flagged; model saved to ${modelDir}\n`,
    );
  }
  ens.dispose();
  return 0;
}

async function cmdDetect(v: Values, ctx: Ctx): Promise<number> {
  const file = required(v, 'data');
  const modelDir = required(v, 'model');
  const out = required(v, 'out');
  const chunkSize = intOpt(v, 'chunk-size', 1, MAX_CHUNK_SIZE);
  const maxLineBytes = maxLineOpt(v);
  // the output must not be what this run reads: the data, or anything in the model folder
  if (out !== '-') checkOutputPath(out, [...(file === '-' ? [] : [{ file, what: '--data' }]), { file: modelDir, what: 'the model folder', folder: true }]);
  const ens = await AnomalyEnsemble.load(modelDir);
  try {
    // the layout: --dataset, else the one the model was trained with, else the model's feature names;
    // --columns: the input has no header line (a shard), these are its columns
    let schema = typeof v.dataset === 'string' ? datasetOpt(v) : modelSchema(ens);
    if (typeof v.columns === 'string') {
      if (schema.format === 'zeek') {
        throw new UsageError(`--columns is for CSV input; a Zeek log names its columns in its #fields line (layout '${schema.name}').`);
      }
      const columns = v.columns.split(',').map((c) => c.trim());
      if (columns.some((c) => c === '') || new Set(columns).size !== columns.length) {
        throw new UsageError(`--columns takes the input's column names, comma-separated, each once; got '${v.columns}'.`);
      }
      schema = { ...schema, header: false, columns };
    }
    // --no-output-header: a shard's output, to be concatenated after one header line
    const shard = v['no-output-header'] === true;
    // streamed: chunk by chunk in bounded memory, written progressively (to a temporary file
    // renamed into place at the end, so a failure leaves no partial output)
    const progress = v.quiet ? undefined : streamProgress(ctx);
    const badRows = badRowsOpt(v);
    const sidePath = typeof v['skipped-rows'] === 'string' ? v['skipped-rows'] : out === '-' ? skippedRowsPath(v, file) : skippedRowsFileFor(out);
    // stdout: the side file is written here as rows are skipped; a file: by detectCsvToFile
    const side = badRows === 'skip' && out === '-' ? new SkippedRowsFile(sidePath) : undefined;
    const opts = {
      schema,
      chunkSize,
      maxLineBytes,
      badRows,
      skippedRowsFile: sidePath,
      onSkippedRows: side ? (rows: SkippedRow[], header: readonly string[]) => side.add(header, rows) : undefined,
      file: file === '-' ? 'stdin' : file,
      onWarning: (w: string) => {
        if (v.quiet) return;
        progress?.clear();
        ctx.stderr.write(`warning: ${w}\n`);
      },
      onBytes: progress?.bytes,
      onChunk: progress?.rows,
      // Ctrl-C / SIGTERM stop reading at once (even a read waiting on stdin) and remove the temporary output
      signal: ctx.signal,
      allowEmpty: shard,
      header: !shard,
    };
    if (progress && file !== '-') progress.size(fileSize(file));
    let summary: StreamSummary;
    try {
      if (out === '-') {
        summary = await writeDetectionCsv(detectCsvStream(ens, file, opts), ctx.stdout, opts.onChunk, ctx.signal, { header: !shard });
        if (side) {
          side.commit();
          summary.skipped = side.count;
          if (side.count) summary.skippedRowsFile = side.file;
        }
      } else summary = await detectCsvToFile(ens, file, out, opts);
    } catch (e) {
      side?.discard();
      throw e;
    } finally {
      progress?.clear();
    }
    const n = summary.anomalies;
    if (!v.quiet) {
      const skippedNote = summary.skipped ? `; ${summary.skipped} row${summary.skipped === 1 ? '' : 's'} that cannot be encoded skipped, listed in ${summary.skippedRowsFile}` : '';
      ctx.stderr.write(`scored ${summary.rows} rows: ${n} anomalies (${((100 * n) / Math.max(1, summary.rows)).toFixed(1)}%); wrote ${out === '-' ? 'stdout' : out}${skippedNote}\n`);
    }
  } finally {
    ens.dispose();
  }
  return 0;
}

/**
 * Run a training that writes `dir`, holding the folder's lock throughout: a folder that is not a
 * model of ours, or that another run is writing, is refused before any work is done, and no other
 * run can write the folder meanwhile. A folder created here and left empty (the run failed) is
 * removed again.
 */
async function holdingModelFolder(dir: string, run: () => Promise<number>): Promise<number> {
  checkModelFolderWritable(dir, { format: MODEL_FORMAT });
  const existed = fs.existsSync(dir);
  const lock = lockModelFolder(dir);
  try {
    return await run();
  } finally {
    lock.release();
    if (!existed) {
      try {
        fs.rmdirSync(dir); // only when empty
      } catch {
        // the model was saved there
      }
    }
  }
}

/** --max-line-bytes (default DEFAULT_MAX_LINE_BYTES). */
function maxLineOpt(v: Values): number | undefined {
  return intOpt(v, 'max-line-bytes', 16, 1 << 29);
}

function fileSize(file: string): number | undefined {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** A one-line progress indicator for streamed detection, on stderr when it is a terminal. */
function streamProgress(ctx: Ctx): { bytes: (n: number) => void; rows: (s: StreamSummary) => void; size: (n?: number) => void; clear: () => void } | undefined {
  if ((ctx.stderr as NodeJS.WriteStream).isTTY !== true) return undefined;
  let total: number | undefined;
  let read = 0;
  let shown = false;
  let last = 0;
  const t0 = performance.now();
  return {
    size: (n) => (total = n),
    bytes: (n) => (read += n),
    rows: (s) => {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      const rate = s.rows / Math.max(1e-3, (now - t0) / 1000);
      const pct = total ? ` (${Math.min(100, (100 * read) / total).toFixed(0)}% of the file)` : '';
      ctx.stderr.write(`\r\x1b[K  scored ${s.rows.toLocaleString('en-US')} rows${pct}, ${s.anomalies.toLocaleString('en-US')} anomalies, ${Math.round(rate).toLocaleString('en-US')} rows/s`);
      shown = true;
    },
    clear: () => {
      if (shown) ctx.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

async function cmdEvaluate(v: Values, ctx: Ctx): Promise<number> {
  const file = required(v, 'data');
  const opts = ensembleOptionsFromFlags(v);
  warnUnusedDetectorFlags(v, opts, ctx);
  const seed = opts.seed ?? 42;
  opts.seed = seed;
  const schema = datasetOpt(v);
  const skipped: object[] = [];
  let evalData = readData(file, schema, v, ctx, undefined, undefined, skipped);
  if (!evalData.labels) throw new UsageError(`evaluate needs a '${schema.label ?? 'label'}' column, and ${file} has none.`);
  let train: TrafficData;
  const frac = numOpt(v, 'train-fraction');
  if (v.stratify && frac === undefined) throw new UsageError('--stratify needs --train-fraction.');
  if (v.stratify && v['normal-only']) throw new UsageError('--stratify and --normal-only cannot be combined.');
  if (typeof v.train === 'string') {
    if (frac !== undefined) throw new UsageError('--train-fraction and --train cannot be combined.');
    train = trainingRows(readData(v.train, schema, v, ctx, undefined, 'train', skipped), v.train, v, seed, ctx);
  } else if (frac !== undefined) {
    if (!(frac > 0 && frac < 1)) throw new UsageError(`--train-fraction must be in (0, 1), got ${frac}.`);
    // a seeded share of the (normal) rows trains; every other row is evaluated
    const split = splitTraffic(evalData, frac, seed, { normalOnly: Boolean(v['normal-only']), stratify: Boolean(v.stratify) });
    train = trainingRows(split.train, file, { ...v, 'normal-only': false }, seed, ctx);
    evalData = split.test;
  } else {
    train = trainingRows(evalData, file, v, seed, ctx);
  }
  if (train.encoder) {
    // evaluated rows are encoded with the categories of the training rows
    const said = new Set(evalData.warnings);
    evalData = encodeTraffic(evalData, train.encoder);
    printWarnings({ ...evalData, warnings: evalData.warnings.filter((w) => !said.has(w)) }, v, ctx);
  }
  const report: EvaluationReport = await evaluateDetection(train, evalData, { ...opts, onProgress: v.json ? undefined : progressReporter(v, ctx) });
  if (v.json) {
    ctx.stdout.write(JSON.stringify(v['bad-rows'] === 'skip' ? { ...report, skippedRows: skipped } : report, null, 2) + '\n');
  } else {
    ctx.stdout.write(formatReport(report) + '\n');
  }
  return 0;
}

function formatReport(r: EvaluationReport): string {
  const lines = [
    `trained on ${r.trainRows} rows, evaluated ${r.evalRows} rows; fit ${r.seconds.fit.toFixed(2)} s, score ${r.seconds.score.toFixed(2)} s`,
    'model                 acc     prec    recall  f1      roc-auc pr-auc  tp     fp     fn     tn',
  ];
  for (const [name, m] of Object.entries(r.models)) {
    const f = (x: number) => (Number.isNaN(x) ? '  n/a ' : x.toFixed(4)).padEnd(8);
    lines.push(
      `${name.padEnd(22)}${f(m.accuracy)}${f(m.precision)}${f(m.recall)}${f(m.f1)}${f(m.rocAuc)}${f(m.prAuc)}${String(m.tp).padEnd(7)}${String(m.fp).padEnd(7)}${String(m.fn).padEnd(7)}${m.tn}`,
    );
  }
  return lines.join('\n');
}


// -------------------------------------------------------------------------------------------------
// feedback: operator labels and retraining with them
// -------------------------------------------------------------------------------------------------

/** The feedback file: --file, else DIR/feedback.jsonl of --model. */
function feedbackFileOpt(v: Values): string {
  if (typeof v.file === 'string' && v.file !== '') return v.file;
  if (typeof v.model === 'string' && v.model !== '') return feedbackPath(v.model);
  throw new UsageError('--model DIR or --file F is required (see nal --help).');
}

function printFeedbackWarnings(log: FeedbackLog, v: Values, ctx: Ctx): void {
  if (v.quiet) return;
  for (const w of log.warnings) ctx.stderr.write(`warning: ${w}\n`);
}

function countsLine(log: FeedbackLog): string {
  const s = feedbackStats(log);
  return `labels in force: ${s.tp} tp, ${s.fp} fp, ${s.fn} fn (${s.rows} rows, ${s.records} records${s.conflicts ? `, ${s.conflicts} relabelled` : ''})`;
}

async function feedbackAdd(v: Values, ctx: Ctx): Promise<number> {
  const modelDir = required(v, 'model');
  const dataFile = required(v, 'data');
  const label = required(v, 'label');
  if (!FEEDBACK_LABELS.includes(label as FeedbackLabel)) throw new UsageError(`--label must be one of ${FEEDBACK_LABELS.join(', ')}, got '${label}'.`);
  const raw = (v['row-id'] as unknown as string[] | undefined) ?? [];
  const ids = raw.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  if (ids.length === 0) throw new UsageError('--row-id is required: ids from the row_id column of nal detect output (see nal --help).');
  const file = feedbackFileOpt(v);
  // everything is checked before anything is appended: the log must be a feedback log (or new)
  // and not the data file, every id must be in the data, every record valid
  checkOutputPath(file, [{ file: dataFile, what: '--data' }]);
  const log = loadFeedback(file, { missingOk: true, skipBadLines: Boolean(v['skip-bad-lines']) });
  const ens = await AnomalyEnsemble.load(modelDir);
  let records: FeedbackRecord[];
  try {
    // read the rows as detect does, so that their ids and feature values are the model's
    const schema = typeof v.dataset === 'string' ? datasetOpt(v) : modelSchema(ens);
    const data = readData(dataFile, schema, v, ctx, ens.encoder);
    records = labelRows(data, { rowIds: ids }, label as FeedbackLabel, { model: ens, ...(typeof v.note === 'string' ? { note: v.note } : {}) });
    for (const [k, r] of records.entries()) checkFeedbackRecord(r, { record: k + 1 });
  } finally {
    ens.dispose();
  }
  appendFeedback(file, records);
  printFeedbackWarnings(log, v, ctx);
  if (!v.quiet) ctx.stderr.write(`added ${ids.length} ${label} label${ids.length === 1 ? '' : 's'} to ${file}; ${countsLine(feedbackLog([...log.records, ...records]))}\n`);
  return 0;
}

async function feedbackShow(v: Values, ctx: Ctx): Promise<number> {
  const file = feedbackFileOpt(v);
  const log = loadFeedback(file, { skipBadLines: Boolean(v['skip-bad-lines']) });
  printFeedbackWarnings(log, v, ctx);
  const s = feedbackStats(log);
  if (v.json) {
    ctx.stdout.write(JSON.stringify({ file, ...s, relabelled: log.conflicts, skipped: log.warnings }, null, 2) + '\n');
  } else {
    const lines = [
      `${file}: ${s.records} records, ${s.rows} rows labelled${s.first ? ` (${s.first} to ${s.last})` : ''}`,
      `  tp ${s.tp}   fp ${s.fp}   fn ${s.fn}   (labels in force; ${s.withFeatures} with feature values)`,
    ];
    if (s.conflicts) lines.push(`  ${s.conflicts} relabelled (the later label wins): ${log.conflicts.slice(0, 5).map((c) => `${c.row_id} ${c.previous}->${c.label}`).join(', ')}${s.conflicts > 5 ? ', ...' : ''}`);
    if (s.skippedLines) lines.push(`  ${s.skippedLines} line${s.skippedLines === 1 ? '' : 's'} skipped (see the warnings)`);
    ctx.stdout.write(lines.join('\n') + '\n');
  }
  return 0;
}

/**
 * `nal train --feedback F`: retrain with operator labels (see retrainWithFeedback). A model already
 * in --model is the base: its options and seed are kept unless flags override them, and the
 * feedback bookkeeping in its manifest (the contamination before any feedback, the records used)
 * carries over.
 */
async function trainWithFeedback(v: Values, ctx: Ctx): Promise<number> {
  const file = required(v, 'data');
  const modelDir = required(v, 'model');
  const fbFile = required(v, 'feedback');
  const fpWeight = intOpt(v, 'fp-weight', 1, MAX_FP_WEIGHT);
  const opts = ensembleOptionsFromFlags(v);
  const log = loadFeedback(fbFile, { skipBadLines: Boolean(v['skip-bad-lines']) });
  if (log.records.length === 0) {
    throw new DataValidationError(`has no feedback labels${log.warnings.length ? ` (${log.warnings.length} line${log.warnings.length === 1 ? '' : 's'} skipped)` : ''}; label rows with nal feedback add first.`, { file: fbFile });
  }
  printFeedbackWarnings(log, v, ctx);
  return holdingModelFolder(modelDir, () => retrainHeld(v, ctx, file, modelDir, fbFile, fpWeight, opts, log));
}

async function retrainHeld(
  v: Values,
  ctx: Ctx,
  file: string,
  modelDir: string,
  fbFile: string,
  fpWeight: number | undefined,
  opts: EnsembleOptions,
  log: FeedbackLog,
): Promise<number> {
  const hasBase = fs.existsSync(path.join(modelDir, 'manifest.json'));
  const base = hasBase ? await AnomalyEnsemble.load(modelDir) : undefined;
  try {
    warnUnusedDetectorFlags(v, base ? { ...base.options, ...opts } : opts, ctx, !base);
    const prev = hasBase ? ((readManifest(modelDir).metadata as Record<string, any> | undefined)?.feedback as Record<string, any> | undefined) : undefined;
    const seed = opts.seed ?? base?.seed ?? drawSeed();
    opts.seed = seed;
    const schema = typeof v.dataset === 'string' || !base ? datasetOpt(v) : modelSchema(base);
    const data = trainingRows(readData(file, schema, v, ctx), file, v, seed, ctx);
    const sameFile = prev && typeof prev.file === 'string' && prev.file === path.resolve(fbFile);
    const t0 = performance.now();
    const res = await retrainWithFeedback(data, log, {
      base,
      options: opts,
      contamination: opts.contamination ?? prev?.contamination,
      baseFeedbackRecords: sameFile && Number.isInteger(prev!.records) ? Math.min(prev!.records, log.records.length) : 0,
      fpWeight,
      weights: v['keep-weights'] ? 'keep' : 'feedback',
      onProgress: progressReporter(v, ctx),
    });
    const seconds = (performance.now() - t0) / 1000;
    const ts = res.trainingSet;
    await res.ensemble.save(modelDir, {
      trainedOn: path.basename(file),
      normalOnly: Boolean(v['normal-only']),
      ...(v['train-sample'] !== undefined ? { trainSample: data.X.rows } : {}),
      feedback: {
        file: path.resolve(fbFile),
        records: res.feedbackRecords,
        contamination: res.contamination.before,
        adjustedContamination: res.contamination.after,
        removed: ts.removed,
        falsePositives: ts.falsePositives,
        added: ts.added,
        ignored: ts.ignored.length,
        learnedWeights: res.learnedWeights ? { auc: res.learnedWeights.auc, positives: res.learnedWeights.positives, negatives: res.learnedWeights.negatives } : null,
      },
    });
    if (!v.quiet) {
      for (const x of ts.ignored.slice(0, 5)) ctx.stderr.write(`warning: ${x.label} label of row ${x.row_id} not used: ${x.reason}\n`);
      if (ts.ignored.length > 5) ctx.stderr.write(`warning: ${ts.ignored.length - 5} more labels not used\n`);
      const c = (x: Contamination) => (typeof x === 'number' ? String(Number(x.toPrecision(4))) : x);
      const weights = res.learnedWeights
        ? `fusion weights learned from ${res.learnedWeights.positives} tp/fn and ${res.learnedWeights.negatives} fp labels`
        : 'fusion weights kept';
      ctx.stderr.write(
        `retrained with feedback in ${seconds.toFixed(1)} s (seed ${res.ensemble.seed}): ${ts.removed} confirmed anomalies left the ${ts.originalRows} training rows, ` +
          `${ts.falsePositives} confirmed false positives joined them (${ts.added} rows added), contamination ${c(res.contamination.before)} -> ${c(res.contamination.after)}; ` +
          `${weights}; ${res.falsePositivesStillFlagged} of ${ts.falsePositives} confirmed false positives still flagged; model saved to ${modelDir}\n`,
      );
    }
    res.ensemble.dispose();
  } finally {
    base?.dispose();
  }
  return 0;
}

// -------------------------------------------------------------------------------------------------
// flows: packet captures to flow rows
// -------------------------------------------------------------------------------------------------

function secondsOpt(v: Values, name: string): number | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  const n = Number(x);
  if (typeof x !== 'string' || x.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number of seconds, got '${x}'.`);
  return n;
}

/** `nal flows --pcap FILE [--out FILE]`. */
async function cmdFlows(v: Values, ctx: Ctx): Promise<number> {
  const pcap = required(v, 'pcap');
  const out = typeof v.out === 'string' && v.out !== '' ? v.out : '-';
  const timeouts: FlowOptions = {
    idleTimeout: secondsOpt(v, 'idle-timeout'),
    activeTimeout: secondsOpt(v, 'active-timeout'),
    closeWait: secondsOpt(v, 'close-wait'),
  };
  // the output must not be the capture read
  if (out !== '-') checkOutputPath(out, pcap === '-' ? [] : [{ file: pcap, what: '--pcap' }]);
  const summary: CaptureFlowSummary = await writeFlowsCsv(pcap, out === '-' ? ctx.stdout : out, {
    ...timeouts,
    file: pcap === '-' ? 'stdin' : pcap,
    // Ctrl-C / SIGTERM stop between batches and remove the temporary output
    signal: ctx.signal,
    onWarning: (w) => {
      if (!v.quiet) ctx.stderr.write(`warning: ${w}\n`);
    },
  });
  if (!v.quiet) ctx.stderr.write(flowSummaryLine(summary, pcap === '-' ? 'stdin' : pcap, out === '-' ? 'stdout' : out) + '\n');
  return 0;
}

function flowSummaryLine(s: CaptureFlowSummary, from: string, to: string): string {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const c = s.capture;
  const links = [...new Set(c.interfaces.map((i) => linkTypeName(i.linkType).replace(/ \(\d+\)$/, '')))].join(', ');
  const what = `${c.format ?? 'capture'}, ${c.interfaces.length > 1 ? `${c.interfaces.length} interfaces: ` : ''}${links}`;
  const skipped = Object.entries(s.skipped).filter(([, k]) => k > 0);
  const names: Record<string, string> = { 'non-ip': 'not IP', 'link-type': 'unsupported link type', truncated: 'headers cut short', malformed: 'malformed headers' };
  const skip = skipped.length ? `; ${fmt(skipped.reduce((a, [, k]) => a + k, 0))} packets in no flow (${skipped.map(([r, k]) => `${fmt(k)} ${names[r] ?? r}`).join(', ')})` : '';
  const span = s.first ? `; ${s.first} to ${s.last}` : '';
  return `read ${fmt(s.packets)} packets from ${from} (${what}${span}): ${fmt(s.flows)} flows written to ${to}${skip}`;
}
