/**
 * The live chart of a detection stream: {@link StreamHistory} keeps what it draws (the latest
 * rows and one small summary per window, both bounded), {@link streamChart} turns that into a
 * Plotly figure. Redraw it after every window with {@link createLiveChart} to watch a stream in a
 * notebook.
 */
import type { Severity } from '../ensemble/combine';
import type { DetectionResult } from '../ensemble/ensemble';
import { formatCount, formatPercent, roundSig, type ChartOptions, type Figure, type Trace } from './figure';
import { axisStyle, baseLayout, CLASS_COLORS, SEVERITY_COLORS, UI_COLORS } from './palette';

/** Severities of anomalies, from low to high. */
const LEVELS = ['low', 'medium', 'high'] as const;
type Level = (typeof LEVELS)[number];

/** One scored window of a stream. */
export interface StreamWindow {
  /** 1-based number of the window in the stream. */
  window: number;
  /** 0-based index of the window's first row in the stream. */
  start: number;
  /** Rows in the window. */
  rows: number;
  /** Rows flagged as anomalies. */
  anomalies: number;
  /** Anomalies of low severity. */
  low: number;
  /** Anomalies of medium severity. */
  medium: number;
  /** Anomalies of high severity. */
  high: number;
  /** Highest ensemble score in the window (NaN for an empty window). */
  maxScore: number;
  /** Timestamp of the window's first and last rows, when given. */
  from?: string;
  to?: string;
  /** Detection latency of the window in milliseconds, when measured. */
  ms?: number;
}

/** One of the latest rows of a stream, as the live chart draws it. */
export interface StreamPoint {
  /** 0-based index of the row in the stream. */
  row: number;
  /** The row's timestamp, when given. */
  time?: string;
  /** Ensemble score. */
  score: number;
  /** `none` for normal rows. */
  severity: Severity;
  /** Detectors voting anomaly. */
  votes: number;
}

/** Totals of a stream so far. */
export interface StreamTotals {
  windows: number;
  rows: number;
  anomalies: number;
  low: number;
  medium: number;
  high: number;
  /** Sum of the measured window latencies (ms). */
  ms: number;
}

/** What {@link streamChart} draws: a {@link StreamHistory}, or the same fields as plain data. */
export interface StreamState {
  /** The latest rows, oldest first. */
  readonly points: readonly StreamPoint[];
  /** The latest windows, oldest first. */
  readonly windows: readonly StreamWindow[];
  /** Totals over the whole stream. */
  readonly totals: Readonly<StreamTotals>;
  /** The ensemble-score threshold (NaN before the first window). */
  readonly threshold: number;
  /** Number of detectors in the ensemble. */
  readonly detectors: number;
}

/** Options of {@link StreamHistory}. */
export interface StreamHistoryOptions {
  /** Latest rows kept for the score panel. @defaultValue 1000 */
  maxRows?: number;
  /** Latest windows kept for the per-window panel. @defaultValue 60 */
  maxWindows?: number;
}

/** What {@link StreamHistory.add} needs of a window: a {@link DetectionChunk} fits. */
export interface ScoredWindow {
  /** 0-based index of the window's first row in the stream. */
  start: number;
  /** Rows in the window. */
  rows: number;
  result: DetectionResult;
}

/**
 * The recent history of a detection stream, in bounded memory: the last `maxRows` rows (score,
 * severity, votes) and the last `maxWindows` window summaries, plus totals over the whole stream.
 *
 * @example
 * ```ts
 * const history = new StreamHistory({ maxRows: 1500 });
 * const live = createLiveChart();
 * for await (const chunk of detectStream(ens, rows, { chunkSize: 200 })) {
 *   history.add(chunk);
 *   live.update(streamChart(history));
 * }
 * live.done();
 * ```
 */
export class StreamHistory implements StreamState {
  readonly maxRows: number;
  readonly maxWindows: number;
  readonly points: StreamPoint[] = [];
  readonly windows: StreamWindow[] = [];
  readonly totals: StreamTotals = { windows: 0, rows: 0, anomalies: 0, low: 0, medium: 0, high: 0, ms: 0 };
  threshold = NaN;
  detectors = 0;

  /** @throws RangeError when `maxRows` or `maxWindows` is not a positive integer */
  constructor(opts: StreamHistoryOptions = {}) {
    this.maxRows = opts.maxRows ?? 1000;
    this.maxWindows = opts.maxWindows ?? 60;
    for (const [k, v] of [['maxRows', this.maxRows], ['maxWindows', this.maxWindows]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`StreamHistory: ${k} must be a positive integer. Got ${v}.`);
    }
  }

  /**
   * Record one scored window.
   * @param info - the window's detection latency (`ms`) and its rows' timestamps, when known
   * @returns the window's summary
   * @throws RangeError when `timestamps` does not have one entry per row
   */
  add(chunk: ScoredWindow, info: { ms?: number; timestamps?: readonly string[] } = {}): StreamWindow {
    const r = chunk.result;
    const n = chunk.rows;
    const ts = info.timestamps;
    if (ts && ts.length !== n) throw new RangeError(`StreamHistory.add: ${ts.length} timestamps for a window of ${n} rows.`);
    if (r.ensembleScore.length !== n || r.isAnomaly.length !== n || r.severity.length !== n) {
      throw new RangeError(`StreamHistory.add: the result has ${r.ensembleScore.length} scores for a window of ${n} rows.`);
    }
    const w: StreamWindow = { window: this.totals.windows + 1, start: chunk.start, rows: n, anomalies: 0, low: 0, medium: 0, high: 0, maxScore: -Infinity };
    for (let i = 0; i < n; i++) {
      const score = r.ensembleScore[i];
      if (score > w.maxScore) w.maxScore = score;
      let sev: Severity = r.severity[i];
      if (r.isAnomaly[i]) {
        if (sev === 'none') sev = 'low';
        w.anomalies++;
        w[sev as Level]++;
      } else sev = 'none';
      const p: StreamPoint = { row: chunk.start + i, score, severity: sev, votes: r.voteCount[i] };
      if (ts) p.time = ts[i];
      this.points.push(p);
    }
    if (ts && n > 0) {
      w.from = ts[0];
      w.to = ts[n - 1];
    }
    if (info.ms !== undefined) w.ms = info.ms;
    if (n === 0) w.maxScore = NaN; // an empty window has no score
    if (this.points.length > this.maxRows) this.points.splice(0, this.points.length - this.maxRows);
    this.windows.push(w);
    if (this.windows.length > this.maxWindows) this.windows.splice(0, this.windows.length - this.maxWindows);
    const t = this.totals;
    t.windows++;
    t.rows += n;
    t.anomalies += w.anomalies;
    for (const s of LEVELS) t[s] += w[s];
    t.ms += info.ms ?? 0;
    this.threshold = r.ensembleThreshold;
    this.detectors = r.detectors.length;
    return w;
  }
}

/** Options of {@link streamChart}. */
export interface StreamChartOptions extends ChartOptions {
  /** Figure height in pixels. @defaultValue 560 */
  height?: number;
}

/**
 * The live view of a detection stream, in two panels. Top: the ensemble score of the latest rows
 * (normal rows faint, anomalies coloured by severity, the threshold dashed), over their timestamps
 * when given, else their index in the stream. Bottom: anomalies per window, stacked by severity,
 * for the latest windows. The title counts the whole stream so far.
 * @param state - a {@link StreamHistory}
 * @example
 * ```ts
 * history.add(chunk, { ms });
 * live.update(streamChart(history));
 * ```
 */
export function streamChart(state: StreamState, opts: StreamChartOptions = {}): Figure {
  const pts = state.points;
  const wins = state.windows;
  const t = state.totals;
  const hasTime = pts.length > 0 && pts.every((p) => p.time !== undefined);
  const xOf = (p: StreamPoint): string | number => (hasTime ? p.time! : p.row);
  const xHover = hasTime ? '%{x}<br>row %{customdata[0]}' : 'row %{x}';
  const k = state.detectors;
  const score = (p: StreamPoint) => roundSig(p.score, 4);

  const normal = pts.filter((p) => p.severity === 'none');
  const data: Trace[] = [
    {
      type: 'scatter',
      mode: 'markers',
      name: 'Normal',
      x: normal.map(xOf),
      y: normal.map(score),
      customdata: normal.map((p) => [p.row, p.votes]),
      marker: { color: CLASS_COLORS.normal, size: 4, opacity: 0.4 },
      hovertemplate: `${xHover}<br>score %{y}<extra>normal</extra>`,
      xaxis: 'x',
      yaxis: 'y',
    },
  ];
  for (const s of [...LEVELS].reverse()) {
    const rows = pts.filter((p) => p.severity === s);
    data.push({
      type: 'scatter',
      mode: 'markers',
      name: `Anomaly, ${s}`,
      legendgroup: s,
      x: rows.map(xOf),
      y: rows.map(score),
      customdata: rows.map((p) => [p.row, p.votes]),
      marker: { color: SEVERITY_COLORS[s], size: 7, opacity: 0.9, line: { color: '#FFFFFF', width: 0.5 } },
      hovertemplate: `${xHover}<br>score %{y}<br>%{customdata[1]} of ${k} votes<extra>${s}</extra>`,
      xaxis: 'x',
      yaxis: 'y',
    });
  }
  const thr = state.threshold;
  if (Number.isFinite(thr)) {
    data.push({
      type: 'scatter',
      mode: 'lines',
      name: `Threshold (${roundSig(thr, 3)})`,
      x: [null],
      y: [null],
      line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' },
      hoverinfo: 'skip',
      xaxis: 'x',
      yaxis: 'y',
    });
  }
  const wx = wins.map((w) => w.window);
  const winInfo = wins.map((w) => [w.start, w.start + w.rows - 1, w.anomalies, w.rows, w.ms === undefined ? 'n/a' : w.ms.toFixed(1)]);
  for (const s of LEVELS) {
    data.push({
      type: 'bar',
      name: `${s} per window`,
      legendgroup: s,
      showlegend: false,
      x: wx,
      y: wins.map((w) => w[s]),
      customdata: winInfo,
      marker: { color: SEVERITY_COLORS[s], line: { color: '#FFFFFF', width: 0.5 } },
      hovertemplate: `window %{x}: rows %{customdata[0]}-%{customdata[1]}<br>%{y} ${s} of %{customdata[2]} anomalies in %{customdata[3]} rows<br>scored in %{customdata[4]} ms<extra>${s}</extra>`,
      xaxis: 'x2',
      yaxis: 'y2',
    });
  }

  const rowsShown = pts.length ? `${formatCount(pts.length)} latest rows` : 'no rows yet';
  const windowsShown = wins.length < t.windows ? `latest ${formatCount(wins.length)} of ${formatCount(t.windows)} windows` : `${formatCount(t.windows)} window${t.windows === 1 ? '' : 's'}`;
  const layout = baseLayout({
    title:
      opts.title ??
      `Live detection: ${formatCount(t.anomalies)} anomalies in ${formatCount(t.rows)} rows (${formatPercent(t.rows ? t.anomalies / t.rows : NaN)}), ${formatCount(t.windows)} window${t.windows === 1 ? '' : 's'}`,
    xTitle: hasTime ? `Time (timestamp of the row; ${rowsShown})` : `Row of the stream (${rowsShown})`,
    yTitle: 'Ensemble score',
    height: opts.height ?? 560,
  });
  layout.title.subtitle = { text: `top: the latest rows, colour = severity, dashed = threshold; bottom: anomalies per window (${windowsShown})` };
  layout.margin = { l: 70, r: 30, t: 80, b: 60 };
  layout.xaxis = { ...(layout.xaxis as object), anchor: 'y', ...(hasTime ? { type: 'date' } : {}) };
  layout.yaxis = { ...(layout.yaxis as object), domain: [0.42, 1], anchor: 'x' };
  layout.xaxis2 = { ...axisStyle('Window (in arrival order)'), anchor: 'y2', ...(wins.length ? {} : { range: [0.5, 1.5] }) };
  layout.yaxis2 = { ...axisStyle('Anomalies'), domain: [0, 0.26], anchor: 'x2', rangemode: 'tozero' };
  layout.barmode = 'stack';
  layout.bargap = 0.15;
  if (Number.isFinite(thr)) {
    layout.shapes = [
      { type: 'line', xref: 'x domain', x0: 0, x1: 1, yref: 'y', y0: roundSig(thr, 6), y1: roundSig(thr, 6), line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' } },
    ];
  }
  return { data, layout };
}
