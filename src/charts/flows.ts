/**
 * Charts of network flows (rows of `nal flows`, {@link FlowRecord}): flows over time stacked by a
 * group (a label, or the detection), the top talkers by flows or bytes with the flagged share, and
 * the flows by duration and size with the flagged ones by severity. Pure functions: they return a
 * Plotly {@link Figure} and never render.
 */
import type { FlowRecord } from '../capture/columns';
import type { DetectionResult } from '../ensemble/ensemble';
import { formatCount, formatTimestamp, parseTimestamp, roundSig, type ChartOptions, type Figure, type Trace } from './figure';
import { baseLayout, CLASS_COLORS, SEVERITY_COLORS, SEVERITY_ORDER, UI_COLORS } from './palette';

/** Colours of groups other than `normal` / `flagged`, in order (Okabe-Ito, then greys). */
const GROUP_COLORS = ['#D55E00', '#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#F0E442', '#000000', '#999999'];

/** Round bin widths of time axes, in milliseconds, with their names. */
const TIME_BINS: readonly [number, string][] = [
  [1_000, '1 s'],
  [5_000, '5 s'],
  [10_000, '10 s'],
  [30_000, '30 s'],
  [60_000, '1 min'],
  [300_000, '5 min'],
  [600_000, '10 min'],
  [1_800_000, '30 min'],
  [3_600_000, '1 h'],
  [21_600_000, '6 h'],
  [86_400_000, '1 day'],
];

function timeBin(rawMs: number): [number, string] {
  for (const b of TIME_BINS) if (b[0] >= rawMs) return b;
  const days = Math.ceil(rawMs / 86_400_000);
  return [days * 86_400_000, `${days} days`];
}

/** The colour of a group: `normal` and `flagged` (or `anomaly`) in the class colours, others in turn. */
function groupColor(group: string, k: number): string {
  if (group === 'normal' || group === 'not flagged') return CLASS_COLORS.normal;
  if (group === 'flagged' || group === 'anomaly') return CLASS_COLORS.anomaly;
  return GROUP_COLORS[k % GROUP_COLORS.length];
}

/** Options of {@link flowsOverTimeChart}. */
export interface FlowsOverTimeOptions extends ChartOptions {
  /** About how many time bins; the width is rounded up to a round duration. @defaultValue 30 */
  bins?: number;
  /** Order of the groups in the stack (first at the bottom). @defaultValue `normal` first, then by size */
  order?: readonly string[];
}

/**
 * Flows started per time bin, stacked by group: a label per flow (`normal`, `scan`, ...) or the
 * detection (`flagged` / `not flagged`).
 * @param flows - the flows
 * @param groups - one group name per flow; all `flows` when omitted
 * @example
 * ```ts
 * showChart(flowsOverTimeChart(flows, result.isAnomaly.map((a) => (a ? 'flagged' : 'not flagged'))));
 * ```
 * @throws RangeError when `groups` has another length than `flows`
 */
export function flowsOverTimeChart(flows: readonly FlowRecord[], groups?: readonly string[], opts: FlowsOverTimeOptions = {}): Figure {
  if (groups && groups.length !== flows.length) throw new RangeError(`flowsOverTimeChart: ${groups.length} groups for ${flows.length} flows.`);
  const target = opts.bins ?? 30;
  if (!Number.isInteger(target) || target < 1) throw new RangeError(`The 'bins' option of flowsOverTimeChart must be a positive integer. Got ${target}.`);
  const t = flows.map((f) => parseTimestamp(f.timestamp));
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of t) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (flows.length === 0) lo = hi = 0;
  const [width, widthLabel] = timeBin(Math.max((hi - lo) / target, 1));
  const start = Math.floor(lo / width) * width;
  const nBins = Math.floor((hi - start) / width) + 1;
  const g = groups ?? flows.map(() => 'flows');
  const sizes = new Map<string, number>();
  for (const x of g) sizes.set(x, (sizes.get(x) ?? 0) + 1);
  const names = opts.order
    ? [...opts.order.filter((x) => sizes.has(x)), ...[...sizes.keys()].filter((x) => !opts.order!.includes(x))]
    : [...sizes.keys()].sort((a, b) => (a === 'normal' || a === 'not flagged' ? -1 : b === 'normal' || b === 'not flagged' ? 1 : sizes.get(b)! - sizes.get(a)! || (a < b ? -1 : 1)));
  const counts = new Map(names.map((n) => [n, new Array<number>(nBins).fill(0)]));
  for (let i = 0; i < flows.length; i++) counts.get(g[i])![Math.floor((t[i] - start) / width)]++;
  const x = Array.from({ length: nBins }, (_, b) => formatTimestamp(start + b * width));
  const data: Trace[] = names.map((name, k) => ({
    type: 'bar',
    name: `${name} (${formatCount(sizes.get(name)!)})`,
    x,
    y: counts.get(name)!,
    width,
    offset: 0,
    marker: { color: groupColor(name, k), line: { color: '#FFFFFF', width: 0.5 } },
    hovertemplate: `%{x}<br>%{y} flows<extra>${name}</extra>`,
  }));
  const layout = baseLayout({
    title: opts.title ?? `Flows over time (${formatCount(flows.length)} flows)`,
    xTitle: `Flow start time (bins of ${widthLabel})`,
    yTitle: 'Flows started per bin',
    height: opts.height,
  });
  layout.barmode = 'stack';
  layout.bargap = 0;
  (layout.xaxis as Record<string, unknown>).type = 'date';
  layout.legend = { ...(layout.legend as object), traceorder: 'normal' };
  return { data, layout };
}

/** Options of {@link topTalkersChart}. */
export interface TopTalkersOptions extends ChartOptions {
  /** Who talks: the source address, the destination address, or the pair. @defaultValue "src_ip" */
  by?: 'src_ip' | 'dst_ip' | 'pair';
  /** What is counted: flows, or bytes of both directions. @defaultValue "flows" */
  measure?: 'flows' | 'bytes';
  /** How many talkers. @defaultValue 10 */
  top?: number;
}

/**
 * The hosts (or host pairs) with the most flows or bytes, as horizontal bars split into the
 * flagged and the other flows when `flagged` is given.
 * @param flagged - 1 for a flagged flow (e.g. `result.isAnomaly`), per flow
 * @example
 * ```ts
 * showChart(topTalkersChart(flows, result.isAnomaly, { by: 'src_ip', measure: 'flows' }));
 * ```
 */
export function topTalkersChart(flows: readonly FlowRecord[], flagged?: ArrayLike<number>, opts: TopTalkersOptions = {}): Figure {
  if (flagged && flagged.length !== flows.length) throw new RangeError(`topTalkersChart: ${flagged.length} flags for ${flows.length} flows.`);
  const by = opts.by ?? 'src_ip';
  const measure = opts.measure ?? 'flows';
  const top = opts.top ?? 10;
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`The 'top' option of topTalkersChart must be a positive integer. Got ${top}.`);
  const key = (f: FlowRecord) => (by === 'pair' ? `${f.src_ip} → ${f.dst_ip}` : f[by]);
  const totals = new Map<string, { all: number; flagged: number }>();
  flows.forEach((f, i) => {
    const v = measure === 'flows' ? 1 : f.fwd_bytes + f.bwd_bytes;
    const e = totals.get(key(f)) ?? { all: 0, flagged: 0 };
    e.all += v;
    if (flagged?.[i]) e.flagged += v;
    totals.set(key(f), e);
  });
  const rows = [...totals.entries()].sort((a, b) => b[1].all - a[1].all || (a[0] < b[0] ? -1 : 1)).slice(0, top).reverse();
  const y = rows.map(([k]) => k);
  const unit = measure === 'flows' ? 'flows' : 'bytes';
  const data: Trace[] = [
    {
      type: 'bar',
      orientation: 'h',
      name: flagged ? 'not flagged' : unit,
      y,
      x: rows.map(([, e]) => e.all - e.flagged),
      marker: { color: flagged ? CLASS_COLORS.normal : UI_COLORS.neutral },
      hovertemplate: `%{y}: %{x} ${unit}${flagged ? ' not flagged' : ''}<extra></extra>`,
    },
  ];
  if (flagged) {
    data.push({
      type: 'bar',
      orientation: 'h',
      name: 'flagged',
      y,
      x: rows.map(([, e]) => e.flagged),
      marker: { color: CLASS_COLORS.anomaly },
      hovertemplate: `%{y}: %{x} ${unit} flagged<extra></extra>`,
    });
  }
  const who = by === 'pair' ? 'host pairs' : by === 'src_ip' ? 'sources' : 'destinations';
  const layout = baseLayout({
    title: opts.title ?? `Top ${rows.length} ${who} by ${measure === 'flows' ? 'flows' : 'bytes'}`,
    xTitle: measure === 'flows' ? 'Flows' : 'Bytes (both directions)',
    yTitle: by === 'pair' ? 'Source → destination' : by === 'src_ip' ? 'Source address' : 'Destination address',
    height: opts.height ?? Math.max(320, 60 + 28 * rows.length),
  });
  layout.barmode = 'stack';
  if (measure === 'bytes') (layout.xaxis as Record<string, unknown>).type = 'log';
  return { data, layout };
}

/**
 * Every flow by its duration and its bytes (both axes logarithmic; a flow of one packet sits at
 * the left edge), the flows the ensemble did not flag faint, the flagged ones by severity. Hover
 * shows the 5-tuple.
 * @param result - the ensemble's detection of these flows
 * @example
 * ```ts
 * showChart(flaggedFlowsChart(flows, ens.detect(flowsToTraffic(flows, undefined, { encoder: ens.encoder }))));
 * ```
 */
export function flaggedFlowsChart(flows: readonly FlowRecord[], result: DetectionResult, opts: ChartOptions = {}): Figure {
  if (result.isAnomaly.length !== flows.length) throw new RangeError(`flaggedFlowsChart: ${result.isAnomaly.length} results for ${flows.length} flows.`);
  // a zero duration would fall off a log axis: put it at a microsecond
  const dur = (f: FlowRecord) => Math.max(f.duration, 1e-6);
  const text = (f: FlowRecord) => `${f.protocol} ${f.src_ip}:${f.src_port} → ${f.dst_ip}:${f.dst_port}, ${f.fwd_packets + f.bwd_packets} packets`;
  const data: Trace[] = [];
  for (const s of SEVERITY_ORDER) {
    const idx = flows.map((_, i) => i).filter((i) => (s === 'none' ? !result.isAnomaly[i] : result.isAnomaly[i] && (result.severity[i] === 'none' ? 'low' : result.severity[i]) === s));
    if (idx.length === 0) continue;
    data.push({
      type: idx.length > 5000 ? 'scattergl' : 'scatter',
      mode: 'markers',
      name: s === 'none' ? `not flagged (${formatCount(idx.length)})` : `flagged, ${s} (${formatCount(idx.length)})`,
      x: idx.map((i) => roundSig(dur(flows[i]), 4)),
      y: idx.map((i) => flows[i].fwd_bytes + flows[i].bwd_bytes),
      text: idx.map((i) => text(flows[i])),
      marker: { color: SEVERITY_COLORS[s], size: s === 'none' ? 5 : 7, opacity: s === 'none' ? 0.45 : 0.9 },
      hovertemplate: '%{text}<br>%{x} s, %{y} bytes<extra></extra>',
    });
  }
  let flaggedCount = 0;
  for (let i = 0; i < flows.length; i++) flaggedCount += result.isAnomaly[i];
  const layout = baseLayout({
    title: opts.title ?? `Flows by duration and size: ${formatCount(flaggedCount)} of ${formatCount(flows.length)} flagged`,
    xTitle: 'Duration (s, log scale)',
    yTitle: 'Bytes, both directions (log scale)',
    height: opts.height,
  });
  (layout.xaxis as Record<string, unknown>).type = 'log';
  (layout.yaxis as Record<string, unknown>).type = 'log';
  return { data, layout };
}
