/**
 * Flows out: CSV text and files (written progressively to a temporary file renamed into place),
 * and {@link TrafficData} for the detectors (with the built-in `flows` description). DataFrames:
 * `flowsToDataFrame` in src/frames.
 */
import { once } from 'node:events';
import { atomicWriteStream } from '../core/persistence';
import { csvLine, parseTraffic, type LoadOptions, type TrafficData } from '../data/csv';
import { FLOWS_SCHEMA } from '../data/schema';
import { captureFlows, flowCells, flowCsvLine, FLOW_COLUMNS, type CaptureFlowOptions, type CaptureFlowSummary, type FlowRecord } from './flows';
import type { CaptureSource } from './pcap';

/**
 * Flows as CSV text: the header ({@link FLOW_COLUMNS}, then `label` when labels are given) and one
 * line per flow.
 * @param labels - a label per flow (for example from {@link labelFlows}), written as a `label` column
 * @example
 * ```ts
 * fs.writeFileSync('flows.csv', flowsToCsv(flows, labelFlows(flows, sessions)));
 * ```
 */
export function flowsToCsv(flows: readonly FlowRecord[], labels?: readonly string[]): string {
  if (labels && labels.length !== flows.length) throw new RangeError(`flowsToCsv: ${labels.length} labels for ${flows.length} flows.`);
  const lines = [csvLine(labels ? [...FLOW_COLUMNS, 'label'] : [...FLOW_COLUMNS])];
  flows.forEach((f, i) => lines.push(csvLine(labels ? [...flowCells(f), labels[i]] : flowCells(f))));
  return lines.join('\n') + '\n';
}

/** Options of {@link writeFlowsCsv}. */
export interface WriteFlowsOptions extends CaptureFlowOptions {
  /** Called after each batch of rows is written, with the flows written so far. */
  onFlows?: (flows: number) => void;
}

/**
 * Read a capture and write its flows as CSV: to a file (written to a temporary file beside it and
 * renamed into place at the end, so a failure leaves no partial output and an earlier file
 * untouched), or to a writable stream (`process.stdout`), honouring back-pressure.
 * @returns the capture's summary (packets, flows, what was skipped, warnings)
 * @example
 * ```ts
 * const s = await writeFlowsCsv('capture.pcapng.gz', 'flows.csv', { idleTimeout: 60 });
 * console.log(`${s.packets} packets, ${s.flows} flows`);
 * ```
 * @throws DataValidationError as {@link captureFlows}
 */
export async function writeFlowsCsv(source: CaptureSource, out: string | NodeJS.WritableStream, opts: WriteFlowsOptions = {}): Promise<CaptureFlowSummary> {
  if (typeof out !== 'string') return pipeFlows(captureFlows(source, opts), out, opts);
  let summary: CaptureFlowSummary | undefined;
  const pieces = (async function* () {
    const flows = captureFlows(source, opts);
    let text = csvLine([...FLOW_COLUMNS]) + '\n';
    let n = 0;
    let pending = 0;
    for (;;) {
      const r = await flows.next();
      if (r.done) {
        summary = r.value;
        break;
      }
      text += flowCsvLine(r.value) + '\n';
      n++;
      if (++pending >= 4096) {
        yield text;
        text = '';
        pending = 0;
        opts.onFlows?.(n);
      }
    }
    yield text;
    opts.onFlows?.(n);
  })();
  // a temporary file beside `out`, renamed into place at the end (removed on failure or interrupt)
  await atomicWriteStream(out, pieces, { signal: opts.signal });
  return summary!;
}

async function pipeFlows(flows: AsyncGenerator<FlowRecord, CaptureFlowSummary>, out: NodeJS.WritableStream, opts: WriteFlowsOptions): Promise<CaptureFlowSummary> {
  let text = csvLine([...FLOW_COLUMNS]) + '\n';
  let n = 0;
  let pending = 0;
  const flush = async () => {
    opts.signal?.throwIfAborted();
    if (!out.write(text)) await once(out as unknown as NodeJS.EventEmitter, 'drain');
    text = '';
    pending = 0;
    opts.onFlows?.(n);
  };
  for (;;) {
    const r = await flows.next();
    if (r.done) {
      await flush();
      return r.value;
    }
    text += flowCsvLine(r.value) + '\n';
    n++;
    if (++pending >= 4096) await flush();
  }
}

/**
 * Read a whole capture into memory: its flows, in the order they ended, and the summary. For
 * captures too large for memory use {@link captureFlows} or {@link writeFlowsCsv}.
 * @example
 * ```ts
 * const { flows, summary } = await loadCaptureFlows('capture.pcap');
 * const data = flowsToTraffic(flows); // the `flows` description: 49 features, protocol one-hot
 * ```
 */
export async function loadCaptureFlows(source: CaptureSource, opts: CaptureFlowOptions = {}): Promise<{ flows: FlowRecord[]; summary: CaptureFlowSummary }> {
  const flows: FlowRecord[] = [];
  const it = captureFlows(source, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return { flows, summary: r.value };
    flows.push(r.value);
  }
}

/**
 * Flows as {@link TrafficData} for the detectors, read with the built-in `flows` description
 * ({@link FLOWS_SCHEMA}: the identifiers are not features, `protocol` is one-hot encoded) exactly
 * as `loadTraffic` reads a `nal flows` CSV.
 * @param labels - optional label per flow (`normal` / `benign` are normal, anything else an anomaly)
 * @param opts - another schema, or a model's encoder (`ens.encoder`) for flows to be scored
 * @example
 * ```ts
 * const ens = await new AnomalyEnsemble({ contamination: 'auto' }).fit(flowsToTraffic(monday));
 * const r = ens.detect(flowsToTraffic(tuesday, undefined, { encoder: ens.encoder }));
 * ```
 */
export function flowsToTraffic(flows: readonly FlowRecord[], labels?: readonly string[], opts: LoadOptions = {}): TrafficData {
  if (labels && labels.length !== flows.length) throw new RangeError(`flowsToTraffic: ${labels.length} labels for ${flows.length} flows.`);
  const header = labels ? [...FLOW_COLUMNS, 'label'] : [...FLOW_COLUMNS];
  const records = flows.map((f, i) => (labels ? [...flowCells(f), labels[i]] : flowCells(f)));
  return parseTraffic({ header, records, warnings: [] }, { schema: FLOWS_SCHEMA, ...opts });
}
