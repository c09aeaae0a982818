/**
 * The `nal` subcommands: generate, train, detect, evaluate. Option names and JSON keys are a
 * contract other tools drive the project through; keep them stable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AnomalyLabError } from '../core/errors';
import type { DetectorName } from '../core/detector';
import { atomicWriteFile } from '../core/persistence';
import type { Contamination } from '../core/threshold';
import { loadTraffic, type TrafficData } from '../data/csv';
import { generateTraffic, trafficToCsv } from '../data/generator';
import { splitTraffic, subsetRows } from '../data/split';
import { AnomalyEnsemble, DETECTOR_NAMES, type EnsembleOptions, type FitProgress } from '../ensemble/ensemble';
import { evaluateDetection, type EvaluationReport } from '../ensemble/evaluate';
import { detectionToCsv } from '../ensemble/output';

const USAGE = `nal: network-anomaly-lab command line

Usage:
  nal generate --rows N [--anomaly-ratio R] [--seed S] --out FILE
  nal train    --data FILE [--normal-only] [--contamination C|auto] [--seed S] --model DIR
  nal detect   --data FILE --model DIR --out FILE
  nal evaluate --data FILE [--train FILE] [--normal-only] [--train-fraction F]
               [--contamination C|auto] [--seed S] [--json]

Model options (train, evaluate):
  --preset default|seed     start from a named configuration (seed = the original app)
  --decision vote|score     anomaly by majority vote or by the fused score
  --min-votes K             votes needed with --decision vote (default 2 of 4)
  --detectors a,b,...       subset of ${DETECTOR_NAMES.join(',')}
  --lof-k K                 neighbours of the Local Outlier Factor
  --epochs N                autoencoder epochs

Common: --debug (stack traces), --quiet (no progress), --help`;

type Values = Record<string, string | boolean | undefined>;

const MODEL_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  preset: { type: 'string' },
  decision: { type: 'string' },
  'min-votes': { type: 'string' },
  detectors: { type: 'string' },
  'lof-k': { type: 'string' },
  epochs: { type: 'string' },
  contamination: { type: 'string' },
  seed: { type: 'string' },
  'normal-only': { type: 'boolean' },
};
const COMMON: NonNullable<ParseArgsConfig['options']> = {
  debug: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/** A usage mistake: printed as one line. */
export class UsageError extends Error {}

/** Run the CLI; resolves to the exit code. Never throws: errors become one stderr line. */
export async function runCli(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const debug = argv.includes('--debug');
  try {
    const [cmd, ...rest] = argv;
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      stdout.write(USAGE + '\n');
      return cmd ? 0 : 2;
    }
    const ctx = { stdout, stderr };
    switch (cmd) {
      case 'generate':
        return await cmdGenerate(parse(rest, { rows: { type: 'string' }, 'anomaly-ratio': { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } }), ctx);
      case 'train':
        return await cmdTrain(parse(rest, { ...MODEL_OPTIONS, data: { type: 'string' }, model: { type: 'string' } }), ctx);
      case 'detect':
        return await cmdDetect(parse(rest, { data: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } }), ctx);
      case 'evaluate':
        return await cmdEvaluate(
          parse(rest, { ...MODEL_OPTIONS, data: { type: 'string' }, train: { type: 'string' }, 'train-fraction': { type: 'string' }, json: { type: 'boolean' } }),
          ctx,
        );
      default:
        throw new UsageError(`unknown command '${cmd}' (commands: generate, train, detect, evaluate; see nal --help).`);
    }
  } catch (e) {
    const err = e as Error;
    const known = err instanceof AnomalyLabError || err instanceof UsageError || err instanceof RangeError || err instanceof TypeError;
    const msg = known ? err.message : `unexpected error: ${err?.message ?? String(err)}`;
    stderr.write(`nal: ${msg.split('\n')[0]}\n`);
    if (debug && err?.stack) stderr.write(err.stack + '\n');
    return err instanceof UsageError ? 2 : 1;
  }
}

function parse(args: string[], options: NonNullable<ParseArgsConfig['options']>): Values {
  try {
    const { values } = parseArgs({ args, options: { ...options, ...COMMON }, strict: true, allowPositionals: false });
    if (values.help) {
      throw new UsageError(USAGE);
    }
    return values as Values;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const msg = (e as Error).message;
    const ambiguous = /^Option '(--[\w-]+)' argument is ambiguous/.exec(msg);
    if (ambiguous) {
      throw new UsageError(`${ambiguous[1]} got a value that starts with '-'; write ${ambiguous[1]}=VALUE if you mean it (see nal --help).`);
    }
    throw new UsageError(`${msg.split('\n')[0].replace(/\. To specify.*$/s, '')} (see nal --help).`);
  }
}

function required(v: Values, name: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new UsageError(`--${name} is required (see nal --help).`);
  return x;
}

function intOpt(v: Values, name: string, min: number): number | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  const n = Number(x);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${x}'.`);
  return n;
}

function numOpt(v: Values, name: string): number | undefined {
  const x = v[name];
  if (x === undefined) return undefined;
  const n = Number(x);
  if (typeof x !== 'string' || x.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${x}'.`);
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
  const n = Number(x);
  if (typeof x !== 'string' || x.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 0.5) {
    throw new UsageError(`--contamination must be a number in (0, 0.5] or 'auto', got '${x}'.`);
  }
  return n;
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
  const k = intOpt(v, 'lof-k', 1);
  if (k !== undefined) o.localOutlierFactor = { nNeighbors: k };
  const epochs = intOpt(v, 'epochs', 1);
  if (epochs !== undefined) o.autoencoder = { epochs };
  return o;
}

interface Ctx {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
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
  const rows = intOpt(v, 'rows', 1);
  if (rows === undefined) throw new UsageError('--rows is required (see nal --help).');
  const ratio = numOpt(v, 'anomaly-ratio');
  const t = generateTraffic({ rows, anomalyRatio: ratio ?? 0.15, seed: seedOpt(v) ?? 42 });
  ensureParent(out);
  atomicWriteFile(out, trafficToCsv(t));
  const nA = t.labels!.reduce((a, b) => a + b, 0);
  if (!v.quiet) ctx.stderr.write(`wrote ${out}: ${rows} rows, ${nA} anomalies\n`);
  return 0;
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

async function cmdTrain(v: Values, ctx: Ctx): Promise<number> {
  const file = required(v, 'data');
  const modelDir = required(v, 'model');
  const opts = ensembleOptionsFromFlags(v);
  let data = loadTraffic(file);
  printWarnings(data, v, ctx);
  if (v['normal-only']) data = normalRows(data, file);
  const t0 = performance.now();
  const ens = await new AnomalyEnsemble({ ...opts, onProgress: progressReporter(v, ctx) }).fit(data);
  const seconds = (performance.now() - t0) / 1000;
  await ens.save(modelDir, { trainedOn: path.basename(file), normalOnly: Boolean(v['normal-only']) });
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
  const ens = await AnomalyEnsemble.load(modelDir);
  const data = loadTraffic(file, { schema: { name: 'model', features: ens.featureNames, label: 'label', timestamp: 'timestamp' } });
  printWarnings(data, v, ctx);
  const r = ens.detect(data);
  ensureParent(out);
  atomicWriteFile(out, detectionToCsv(data, r));
  const n = r.isAnomaly.reduce((a, b) => a + b, 0);
  if (!v.quiet) ctx.stderr.write(`scored ${data.X.rows} rows: ${n} anomalies (${((100 * n) / data.X.rows).toFixed(1)}%); wrote ${out}\n`);
  ens.dispose();
  return 0;
}

async function cmdEvaluate(v: Values, ctx: Ctx): Promise<number> {
  const file = required(v, 'data');
  const opts = ensembleOptionsFromFlags(v);
  const seed = opts.seed ?? 42;
  opts.seed = seed;
  let evalData = loadTraffic(file);
  printWarnings(evalData, v, ctx);
  if (!evalData.labels) throw new UsageError(`evaluate needs a 'label' column, and ${file} has none.`);
  let train: TrafficData;
  const frac = numOpt(v, 'train-fraction');
  if (typeof v.train === 'string') {
    if (frac !== undefined) throw new UsageError('--train-fraction and --train cannot be combined.');
    train = loadTraffic(v.train);
    printWarnings(train, v, ctx);
    if (v['normal-only']) train = normalRows(train, v.train);
  } else if (frac !== undefined) {
    if (!(frac > 0 && frac < 1)) throw new UsageError(`--train-fraction must be in (0, 1), got ${frac}.`);
    // a seeded share of the (normal) rows trains; every other row is evaluated
    ({ train, test: evalData } = splitTraffic(evalData, frac, seed, { normalOnly: Boolean(v['normal-only']) }));
  } else {
    train = v['normal-only'] ? normalRows(evalData, file) : evalData;
  }
  const report: EvaluationReport = await evaluateDetection(train, evalData, { ...opts, onProgress: v.json ? undefined : progressReporter(v, ctx) });
  if (v.json) {
    ctx.stdout.write(JSON.stringify(report, null, 2) + '\n');
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

function ensureParent(file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) fs.mkdirSync(dir, { recursive: true });
}
