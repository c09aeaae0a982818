/**
 * Charts of an ensemble's detection results ({@link DetectionResult}): the score timeline,
 * anomalies over time, severity distribution, confidence per severity, detector agreement,
 * per-model comparison and one row's vote breakdown. Pure functions: they return a Plotly
 * {@link Figure} and never render.
 */
import type { DetectorName } from '../core/detector';
import type { ScoreStats, Severity } from '../ensemble/combine';
import { DETECTOR_LABELS, type DetectionResult } from '../ensemble/ensemble';
import {
  formatCount,
  modelLabel,
  formatPercent,
  formatTimestamp,
  parseTimestamp,
  roundSig,
  roundTo,
  type ChartOptions,
  type Figure,
  type Trace,
} from './figure';
import { baseLayout, CLASS_COLORS, DETECTOR_COLORS, HEATMAP_COLORSCALE, SEVERITY_COLORS, SEVERITY_ORDER, UI_COLORS } from './palette';

/** Rows' timestamps, when the data has them (a {@link TrafficData} fits). */
export interface TimestampSource {
  timestamps?: readonly string[];
}

function rowCount(result: DetectionResult): number {
  return result.isAnomaly.length;
}

function countAnomalies(result: DetectionResult): number {
  let k = 0;
  for (let i = 0; i < result.isAnomaly.length; i++) if (result.isAnomaly[i]) k++;
  return k;
}

function timestampsOf(result: DetectionResult, data?: TimestampSource): readonly string[] | undefined {
  const ts = data?.timestamps;
  return ts && ts.length === rowCount(result) ? ts : undefined;
}

/** The vote counts (out of `n` detectors) that give an anomaly each severity, as words. */
export function severityVoteRange(severity: Severity, n: number): string {
  if (severity === 'none') return 'normal rows';
  const half = Math.floor(n / 2);
  const [lo, hi] = severity === 'low' ? [1, half] : severity === 'medium' ? [half + 1, n - 1] : [n, n];
  if (hi < lo) return `no vote count with ${n} detectors`;
  const range = lo === hi ? `${lo}` : severity === 'low' ? `≤ ${hi}` : `${lo}-${hi}`;
  return `${range} of ${n} votes`;
}

/** Options of {@link timelineChart}. */
export interface TimelineOptions extends ChartOptions {
  /**
   * Draw with WebGL (`scattergl`): much faster for large data, but needs WebGL where the report is
   * opened. `"auto"` uses it above 5,000 rows. @defaultValue "auto"
   */
  webgl?: boolean | 'auto';
}

/**
 * The ensemble score of every row over time: normal rows faint, anomalies coloured by severity,
 * the ensemble-score threshold as a dashed line.
 * @param result - from {@link AnomalyEnsemble.detect}
 * @param data - the scored rows; their timestamps become the x axis (the row index when absent)
 * @example
 * ```ts
 * showChart(timelineChart(ens.detect(data), data));
 * ```
 */
export function timelineChart(result: DetectionResult, data?: TimestampSource, opts: TimelineOptions = {}): Figure {
  const n = rowCount(result);
  const ts = timestampsOf(result, data);
  const xOf = (i: number): string | number => (ts ? ts[i] : i);
  const gl = opts.webgl === true || ((opts.webgl ?? 'auto') === 'auto' && n > 5000);
  const type = gl ? 'scattergl' : 'scatter';
  const k = result.detectors.length;

  const normal: number[] = [];
  const bySeverity = new Map<Severity, number[]>();
  for (let i = 0; i < n; i++) {
    if (!result.isAnomaly[i]) normal.push(i);
    else {
      const s = result.severity[i] === 'none' ? 'low' : result.severity[i];
      if (!bySeverity.has(s)) bySeverity.set(s, []);
      bySeverity.get(s)!.push(i);
    }
  }
  const score = (i: number) => roundSig(result.ensembleScore[i], 4);
  const xHover = ts ? '%{x}' : 'row %{x}';
  const data_: Trace[] = [
    {
      type,
      mode: 'markers',
      name: `Normal (${formatCount(normal.length)})`,
      x: normal.map(xOf),
      y: normal.map(score),
      marker: { color: CLASS_COLORS.normal, size: 4, opacity: 0.35 },
      hovertemplate: `${xHover}<br>score %{y}<extra>normal</extra>`,
    },
  ];
  for (const s of SEVERITY_ORDER) {
    const rows = bySeverity.get(s);
    if (!rows) continue;
    data_.push({
      type,
      mode: 'markers',
      name: `Anomaly, ${s} (${formatCount(rows.length)})`,
      x: rows.map(xOf),
      y: rows.map(score),
      customdata: rows.map((i) => [i, result.voteCount[i]]),
      marker: { color: SEVERITY_COLORS[s], size: 7, opacity: 0.9, line: { color: '#FFFFFF', width: 0.5 } },
      hovertemplate: `${xHover}<br>row %{customdata[0]}<br>score %{y}<br>%{customdata[1]} of ${k} votes<extra>${s}</extra>`,
    });
  }
  const anomalies = n - normal.length;
  const t = result.ensembleThreshold;
  if (Number.isFinite(t)) {
    // legend entry of the threshold line (drawn as a layout shape across the whole plot)
    data_.push({
      type,
      mode: 'lines',
      name: `Ensemble threshold (${roundSig(t, 3)})`,
      x: [null],
      y: [null],
      line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' },
      hoverinfo: 'skip',
    });
  }
  const layout = baseLayout({
    title: opts.title ?? `Ensemble score over ${ts ? 'time' : 'rows'}: ${formatCount(anomalies)} anomalies in ${formatCount(n)} rows (${formatPercent(n ? anomalies / n : NaN)})`,
    xTitle: ts ? 'Time (timestamp of the row)' : 'Row index (file order)',
    yTitle: 'Ensemble score (normalised units)',
    height: opts.height,
  });
  layout.title.subtitle = { text: 'higher = more anomalous; colour = severity of flagged rows; dashed line = score threshold' };
  layout.margin = { l: 70, r: 30, t: 80, b: 60 };
  if (ts) (layout.xaxis as Record<string, unknown>).type = 'date';
  if (Number.isFinite(t)) {
    layout.shapes = [
      { type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: roundSig(t, 6), y1: roundSig(t, 6), line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' } },
    ];
  }
  return { data: data_, layout };
}

const NICE_TIME_BINS_MS: readonly [number, string][] = [
  [1_000, '1 s'], [5_000, '5 s'], [10_000, '10 s'], [15_000, '15 s'], [30_000, '30 s'],
  [60_000, '1 min'], [120_000, '2 min'], [300_000, '5 min'], [600_000, '10 min'], [900_000, '15 min'], [1_800_000, '30 min'],
  [3_600_000, '1 h'], [7_200_000, '2 h'], [10_800_000, '3 h'], [21_600_000, '6 h'], [43_200_000, '12 h'],
  [86_400_000, '1 day'], [172_800_000, '2 days'], [604_800_000, '7 days'],
];

/** A "nice" bin width (1 min, 5 min, 1 h, ...) at least `rawMs` wide. */
function niceTimeBin(rawMs: number): [number, string] {
  for (const b of NICE_TIME_BINS_MS) if (b[0] >= rawMs) return b;
  const days = Math.ceil(rawMs / 86_400_000);
  return [days * 86_400_000, `${days} days`];
}

/** Options of {@link severityOverTimeChart}. */
export interface SeverityOverTimeOptions extends ChartOptions {
  /**
   * About how many bins to split the time range into; the bin width is rounded up to a round
   * duration (1 min, 5 min, 1 h, ...) or, without timestamps, a whole number of rows.
   * @defaultValue 24
   */
  bins?: number;
}

/**
 * Anomalies per time bin, stacked by severity. Without timestamps (or when one does not parse),
 * bins are runs of consecutive rows.
 * @param result - from {@link AnomalyEnsemble.detect}
 * @param data - the scored rows; their timestamps (read as UTC) set the bins
 * @example
 * ```ts
 * showChart(severityOverTimeChart(r, data, { bins: 48 }));
 * ```
 */
export function severityOverTimeChart(result: DetectionResult, data?: TimestampSource, opts: SeverityOverTimeOptions = {}): Figure {
  const n = rowCount(result);
  const target = opts.bins ?? 24;
  if (!Number.isInteger(target) || target < 1) throw new RangeError(`The 'bins' option of severityOverTimeChart must be a positive integer. Got ${target}.`);
  const ts = timestampsOf(result, data);
  let pos: Float64Array | undefined;
  if (ts) {
    pos = Float64Array.from(ts, parseTimestamp);
    if (pos.some((v) => Number.isNaN(v))) pos = undefined;
  }
  const isTime = pos !== undefined;
  if (!pos) pos = Float64Array.from({ length: n }, (_, i) => i);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of pos) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (n === 0) lo = hi = 0;
  let width: number;
  let widthLabel: string;
  if (isTime) {
    [width, widthLabel] = niceTimeBin(Math.max((hi - lo) / target, 1));
  } else {
    width = Math.max(1, Math.ceil(n / target));
    widthLabel = `${formatCount(width)} row${width > 1 ? 's' : ''}`;
  }
  const start = isTime ? Math.floor(lo / width) * width : 0;
  const nBins = Math.floor((hi - start) / width) + 1;
  const levels = SEVERITY_ORDER.filter((s) => s !== 'none');
  const counts = new Map(levels.map((s) => [s, new Array<number>(nBins).fill(0)]));
  const totals = new Array<number>(nBins).fill(0);
  for (let i = 0; i < n; i++) {
    const b = Math.floor((pos[i] - start) / width);
    totals[b]++;
    if (!result.isAnomaly[i]) continue;
    const s = result.severity[i] === 'none' ? 'low' : result.severity[i];
    counts.get(s)![b]++;
  }
  const starts = Array.from({ length: nBins }, (_, b) => start + b * width);
  const x = isTime ? starts.map(formatTimestamp) : starts;
  const data_: Trace[] = levels.map((s) => ({
    type: 'bar',
    name: s,
    x,
    y: counts.get(s)!,
    width,
    offset: 0,
    customdata: totals,
    marker: { color: SEVERITY_COLORS[s], line: { color: '#FFFFFF', width: 0.5 } },
    hovertemplate: `${isTime ? '%{x}' : 'rows from %{x}'}<br>%{y} ${s} of %{customdata} rows<extra>${s}</extra>`,
  }));
  const anomalies = countAnomalies(result);
  const layout = baseLayout({
    title: opts.title ?? `Anomalies over ${isTime ? 'time' : 'rows'} by severity (${formatCount(anomalies)} of ${formatCount(n)} rows)`,
    xTitle: isTime ? `Time (bins of ${widthLabel})` : `Row index (bins of ${widthLabel})`,
    yTitle: 'Anomalies per bin (rows)',
    height: opts.height,
  });
  layout.barmode = 'stack';
  layout.bargap = 0;
  layout.legend = { ...(layout.legend as object), title: { text: 'Severity' }, traceorder: 'reversed' };
  if (isTime) (layout.xaxis as Record<string, unknown>).type = 'date';
  return { data: data_, layout };
}

/** Options of {@link severityDistributionChart}. */
export interface SeverityDistributionOptions extends ChartOptions {
  /** Also show the normal rows (`none`), which usually dwarf the rest. @defaultValue false */
  includeNone?: boolean;
}

/**
 * How many rows fall in each severity, one bar per level in the severity colours.
 * @example
 * ```ts
 * showChart(severityDistributionChart(ens.detect(data)));
 * ```
 */
export function severityDistributionChart(result: DetectionResult, opts: SeverityDistributionOptions = {}): Figure {
  const n = rowCount(result);
  const k = result.detectors.length;
  const levels = SEVERITY_ORDER.filter((s) => opts.includeNone || s !== 'none');
  const count = new Map<Severity, number>(SEVERITY_ORDER.map((s) => [s, 0]));
  for (let i = 0; i < n; i++) count.set(result.severity[i], count.get(result.severity[i])! + 1);
  const y = levels.map((s) => count.get(s)!);
  const anomalies = countAnomalies(result);
  const trace: Trace = {
    type: 'bar',
    name: 'Rows',
    x: levels,
    y,
    text: y.map((c) => `${formatCount(c)} (${formatPercent(n ? c / n : NaN)})`),
    textposition: 'outside',
    cliponaxis: false,
    customdata: levels.map((s) => severityVoteRange(s, k)),
    marker: { color: levels.map((s) => SEVERITY_COLORS[s]) },
    hovertemplate: '%{x}: %{y} rows<br>%{customdata}<extra></extra>',
    showlegend: false,
  };
  const layout = baseLayout({
    title: opts.title ?? `Severity of the ${formatCount(anomalies)} anomalies in ${formatCount(n)} rows`,
    xTitle: `Severity (detectors voting anomaly, of ${k})`,
    yTitle: 'Rows (count)',
    height: opts.height,
  });
  const xaxis = layout.xaxis as Record<string, unknown>;
  xaxis.type = 'category';
  xaxis.tickvals = levels;
  xaxis.ticktext = levels.map((s) => `${s}<br><span style="font-size:10px">${severityVoteRange(s, k)}</span>`);
  return { data: [trace], layout };
}

/** Linear-interpolated quantile of sorted values (numpy's default). */
function quantile(sorted: Float64Array, p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Box plot of confidence (share of detectors agreeing with the decision) per severity. Quartiles
 * are computed here and passed to Plotly, so the figure stays small for any number of rows;
 * whiskers run to the minimum and maximum.
 * @example
 * ```ts
 * showChart(confidenceSeverityChart(ens.detect(data)));
 * ```
 */
export function confidenceSeverityChart(result: DetectionResult, opts: ChartOptions = {}): Figure {
  const bySeverity = new Map<Severity, number[]>();
  for (let i = 0; i < rowCount(result); i++) {
    const s = result.severity[i];
    if (!bySeverity.has(s)) bySeverity.set(s, []);
    bySeverity.get(s)!.push(result.confidence[i] * 100);
  }
  const data_: Trace[] = [];
  for (const s of SEVERITY_ORDER) {
    const v = bySeverity.get(s);
    if (!v) continue;
    const sorted = Float64Array.from(v).sort();
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const r = (x: number) => roundTo(x, 2);
    data_.push({
      type: 'box',
      orientation: 'v',
      name: `${s} (n=${formatCount(v.length)})`,
      x: [s],
      q1: [r(quantile(sorted, 0.25))],
      median: [r(quantile(sorted, 0.5))],
      q3: [r(quantile(sorted, 0.75))],
      lowerfence: [r(sorted[0])],
      upperfence: [r(sorted[sorted.length - 1])],
      mean: [r(mean)],
      boxmean: true,
      marker: { color: SEVERITY_COLORS[s] },
      line: { color: s === 'none' ? UI_COLORS.neutral : SEVERITY_COLORS[s] },
      fillcolor: SEVERITY_COLORS[s],
      opacity: 0.85,
    });
  }
  const layout = baseLayout({
    title: opts.title ?? 'Confidence per severity: share of detectors agreeing with the decision',
    xTitle: 'Severity',
    yTitle: 'Confidence (% of detectors agreeing)',
    height: opts.height,
  });
  const xaxis = layout.xaxis as Record<string, unknown>;
  xaxis.type = 'category';
  xaxis.categoryorder = 'array';
  xaxis.categoryarray = [...SEVERITY_ORDER];
  (layout.yaxis as Record<string, unknown>).range = [0, 105];
  (layout.yaxis as Record<string, unknown>).ticksuffix = '%';
  return { data: data_, layout };
}

/**
 * Heatmap of how often two detectors vote the same (both anomaly or both normal), as a share of
 * rows, with the ensemble decision as the last row and column. Each cell is annotated.
 * @example
 * ```ts
 * showChart(agreementChart(ens.detect(data)));
 * ```
 */
export function agreementChart(result: DetectionResult, opts: ChartOptions = {}): Figure {
  const n = rowCount(result);
  const names: (DetectorName | 'ensemble')[] = [...result.detectors, 'ensemble'];
  const flags = names.map((m) => (m === 'ensemble' ? result.isAnomaly : result.votes[m]!));
  const labels = names.map(modelLabel);
  const z: (number | null)[][] = names.map((_, a) =>
    names.map((__, b) => {
      if (n === 0) return null;
      let same = 0;
      const fa = flags[a];
      const fb = flags[b];
      for (let i = 0; i < n; i++) if (!fa[i] === !fb[i]) same++;
      return roundTo((same / n) * 100, 2);
    }),
  );
  const zmin = 50;
  const annotations: Record<string, unknown>[] = [];
  z.forEach((rowValues, a) =>
    rowValues.forEach((v, b) =>
      annotations.push({
        x: labels[b], y: labels[a], xref: 'x', yref: 'y', showarrow: false,
        text: v === null ? 'n/a' : `${v.toFixed(1)}%`,
        font: { size: 12, color: v !== null && v > 80 ? '#FFFFFF' : UI_COLORS.text },
      }),
    ),
  );
  const trace: Trace = {
    type: 'heatmap',
    name: 'Agreement',
    x: labels,
    y: labels,
    z,
    zmin,
    zmax: 100,
    colorscale: HEATMAP_COLORSCALE.map(([p, c]) => [p, c]),
    colorbar: { title: { text: 'Same vote (% of rows)' }, ticksuffix: '%' },
    hovertemplate: '%{y} and %{x}: same vote on %{z:.1f}% of rows<extra></extra>',
    xgap: 2,
    ygap: 2,
  };
  const layout = baseLayout({
    title: opts.title ?? `Detector agreement: rows where two models vote the same (${formatCount(n)} rows)`,
    xTitle: 'Model',
    yTitle: 'Model',
    height: opts.height ?? 460,
  });
  layout.annotations = annotations;
  (layout.yaxis as Record<string, unknown>).autorange = 'reversed';
  (layout.xaxis as Record<string, unknown>).showgrid = false;
  (layout.yaxis as Record<string, unknown>).showgrid = false;
  return { data: [trace], layout };
}

/**
 * Anomalies flagged by each detector and by the ensemble. With labels, each bar is split into true
 * positives (solid) and false positives (hatched), and a dashed line marks the labelled anomalies.
 * @param labels - 1 = anomaly, 0 = normal, one per row (optional)
 * @throws RangeError when labels and results differ in length
 * @example
 * ```ts
 * showChart(detectorComparisonChart(r, data.labels));
 * ```
 */
export function detectorComparisonChart(result: DetectionResult, labels?: ArrayLike<number>, opts: ChartOptions = {}): Figure {
  const n = rowCount(result);
  if (labels && labels.length !== n) throw new RangeError(`detectorComparisonChart: ${labels.length} labels for ${n} rows.`);
  const models: (DetectorName | 'ensemble')[] = [...result.detectors, 'ensemble'];
  const x = models.map(modelLabel);
  const colors = models.map((m) => DETECTOR_COLORS[m]);
  const flagsOf = (m: DetectorName | 'ensemble') => (m === 'ensemble' ? result.isAnomaly : result.votes[m]!);
  const title = opts.title;
  if (!labels) {
    const y = models.map((m) => {
      const f = flagsOf(m);
      let c = 0;
      for (let i = 0; i < n; i++) if (f[i]) c++;
      return c;
    });
    const layout = baseLayout({
      title: title ?? `Anomalies flagged per model (${formatCount(n)} rows)`,
      xTitle: 'Model',
      yTitle: 'Rows flagged (count)',
      height: opts.height,
    });
    return {
      data: [
        {
          type: 'bar',
          name: 'Rows flagged',
          x,
          y,
          text: y.map((c) => `${formatCount(c)} (${formatPercent(n ? c / n : NaN)})`),
          textposition: 'outside',
          cliponaxis: false,
          marker: { color: colors },
          hovertemplate: '%{x}: %{y} rows flagged<extra></extra>',
          showlegend: false,
        },
      ],
      layout,
    };
  }
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i]) positives++;
  const tp: number[] = [];
  const fp: number[] = [];
  const pr: [number | null, number | null][] = [];
  for (const m of models) {
    const f = flagsOf(m);
    let t = 0;
    let p = 0;
    for (let i = 0; i < n; i++) {
      if (!f[i]) continue;
      if (labels[i]) t++;
      else p++;
    }
    tp.push(t);
    fp.push(p);
    pr.push([roundTo(t + p ? t / (t + p) : 0, 4), roundTo(positives ? t / positives : 0, 4)]);
  }
  const layout = baseLayout({
    title: title ?? `Anomalies flagged per model against ${formatCount(positives)} labelled anomalies (${formatCount(n)} rows)`,
    xTitle: 'Model',
    yTitle: 'Rows flagged (count)',
    height: opts.height,
  });
  layout.barmode = 'stack';
  layout.shapes = [
    { type: 'line', xref: 'paper', x0: 0, x1: 1, yref: 'y', y0: positives, y1: positives, line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' } },
  ];
  return {
    data: [
      {
        type: 'bar',
        name: 'True positives (solid)',
        x,
        y: tp,
        customdata: pr,
        marker: { color: colors, line: { color: colors, width: 1 } },
        hovertemplate: '%{x}: %{y} true positives<br>precision %{customdata[0]:.1%}, recall %{customdata[1]:.1%}<extra></extra>',
      },
      {
        type: 'bar',
        name: 'False positives (hatched)',
        x,
        y: fp,
        customdata: pr,
        marker: { color: 'rgba(255,255,255,0)', line: { color: colors, width: 1 }, pattern: { shape: '/', fgcolor: colors, size: 6, solidity: 0.4 } },
        hovertemplate: '%{x}: %{y} false positives<br>precision %{customdata[0]:.1%}, recall %{customdata[1]:.1%}<extra></extra>',
      },
      {
        // legend entry of the dashed line (a layout shape across the whole plot)
        type: 'scatter',
        mode: 'lines',
        name: `Labelled anomalies (${formatCount(positives)})`,
        x: [null],
        y: [null],
        line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' },
        hoverinfo: 'skip',
      },
    ],
    layout,
  };
}

/** Training-score statistics per detector: a record, or a function such as `(d) => ens.stats(d)`. */
export type StatsSource = Partial<Record<DetectorName, ScoreStats>> | ((name: DetectorName) => ScoreStats);

/** Options of {@link voteBreakdownChart}. */
export interface VoteBreakdownOptions extends ChartOptions {
  /**
   * The scale of the distance to the threshold: the training scores' IQR (`robust`) or standard
   * deviation (`zscore`). Use the ensemble's normalisation. @defaultValue "robust"
   */
  normalization?: 'robust' | 'zscore';
}

/**
 * One row's votes: each detector's score relative to its threshold, coloured by its vote, with
 * the row's decision, vote count, severity and confidence in the title.
 *
 * With `stats` (each detector's training-score statistics, which hold its threshold) the bars show
 * (score - threshold) / IQR, so a bar right of 0 is a vote for anomaly. Without them the bars show
 * the percentile of the row's score among the rows of `result`.
 * @param row - 0-based row index into `result`
 * @param stats - e.g. `(d) => ens.stats(d)`
 * @throws RangeError when `row` is not a row of `result`
 * @example
 * ```ts
 * showChart(voteBreakdownChart(r, 17, (d) => ens.stats(d)));
 * ```
 */
export function voteBreakdownChart(result: DetectionResult, row: number, stats?: StatsSource, opts: VoteBreakdownOptions = {}): Figure {
  const n = rowCount(result);
  if (!Number.isInteger(row) || row < 0 || row >= n) throw new RangeError(`voteBreakdownChart: row must be an integer in [0, ${n - 1}]. Got ${row}.`);
  const dets = result.detectors;
  const statOf = (d: DetectorName): ScoreStats | undefined => {
    if (!stats) return undefined;
    if (typeof stats === 'function') return stats(d);
    return stats[d];
  };
  const all = dets.map(statOf);
  const relative = all.every((s) => s !== undefined);
  const robust = (opts.normalization ?? 'robust') === 'robust';
  const value = (d: DetectorName, k: number): number => {
    const s = result.scores[d]![row];
    if (relative) {
      const st = all[k]!;
      return (s - st.threshold) / (robust ? st.iqr : st.std);
    }
    const col = result.scores[d]!;
    let le = 0;
    for (let i = 0; i < col.length; i++) if (col[i] <= s) le++;
    return (le / col.length) * 100;
  };
  const labels = dets.map((d) => DETECTOR_LABELS[d]);
  const traces: Trace[] = [];
  for (const voted of [1, 0]) {
    const idx = dets.map((d, k) => k).filter((k) => (result.votes[dets[k]]![row] ? 1 : 0) === voted);
    if (!idx.length) continue;
    traces.push({
      type: 'bar',
      orientation: 'h',
      name: voted ? 'Votes anomaly' : 'Votes normal',
      y: idx.map((k) => labels[k]),
      x: idx.map((k) => roundSig(value(dets[k], k), 4)),
      customdata: idx.map((k) => [roundSig(result.scores[dets[k]]![row], 6), relative ? roundSig(all[k]!.threshold, 6) : null]),
      marker: {
        color: voted ? CLASS_COLORS.anomaly : CLASS_COLORS.normal,
        line: { color: idx.map((k) => DETECTOR_COLORS[dets[k]]), width: 3 },
      },
      hovertemplate: relative
        ? '%{y}: score %{customdata[0]}, threshold %{customdata[1]}<extra></extra>'
        : '%{y}: score %{customdata[0]} (percentile %{x:.1f})<extra></extra>',
    });
  }
  const votes = result.voteCount[row];
  const decision = result.isAnomaly[row] ? 'anomaly' : 'normal';
  const layout = baseLayout({
    title:
      opts.title ??
      `Row ${row}: ${decision}, ${votes} of ${dets.length} detectors vote anomaly, severity ${result.severity[row]}, confidence ${formatPercent(result.confidence[row])}`,
    xTitle: relative
      ? `Score minus threshold (training ${robust ? 'IQR' : 'std'} units; > 0 votes anomaly)`
      : 'Score percentile among these rows (%)',
    yTitle: 'Detector',
    height: opts.height ?? 320,
  });
  layout.title.subtitle = {
    text: `ensemble score ${roundSig(result.ensembleScore[row], 4)} (threshold ${roundSig(result.ensembleThreshold, 4)})`,
  };
  layout.margin = { l: 70, r: 30, t: 80, b: 60 };
  const yaxis = layout.yaxis as Record<string, unknown>;
  yaxis.type = 'category';
  yaxis.categoryorder = 'array';
  yaxis.categoryarray = [...labels].reverse();
  if (relative) {
    layout.shapes = [{ type: 'line', xref: 'x', x0: 0, x1: 0, yref: 'paper', y0: 0, y1: 1, line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' } }];
  } else {
    (layout.xaxis as Record<string, unknown>).range = [0, 100];
  }
  layout.barmode = 'overlay';
  return { data: traces, layout };
}

