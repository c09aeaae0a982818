/**
 * Charts of detection quality against labels: the confusion matrix, ROC curves and
 * precision-recall curves of every detector and the ensemble. Pure functions: they return a
 * Plotly {@link Figure} and never render.
 */
import type { DetectorName } from '../core/detector';
import type { DetectionResult } from '../ensemble/ensemble';
import { averagePrecision, prCurve, rates, rocAuc, rocCurve, type Confusion, type CurvePoint } from '../metrics/classification';
import { downsample, formatCount, formatPercent, modelLabel, roundTo, type ChartOptions, type Figure, type Trace } from './figure';
import { baseLayout, DETECTOR_COLORS, HEATMAP_COLORSCALE, UI_COLORS } from './palette';

/**
 * Confusion matrix heatmap: actual class down, predicted class across, each cell annotated with its
 * name (TN, FP, FN, TP), count and share of its actual class; colour = that share.
 * @param confusion - counts, e.g. from {@link confusion} or {@link DetectionMetrics}
 * @param title - replaces the default title (which states precision, recall and F1); or options
 * @example
 * ```ts
 * showChart(confusionMatrixChart(confusion(data.labels!, r.isAnomaly), 'Ensemble on the test rows'));
 * ```
 */
export function confusionMatrixChart(confusion: Confusion, title?: string | ChartOptions): Figure {
  const opts: ChartOptions = typeof title === 'string' ? { title } : (title ?? {});
  const { tp, fp, fn, tn } = confusion;
  const classes = ['Normal', 'Anomaly'];
  const counts = [
    [tn, fp],
    [fn, tp],
  ];
  const names = [
    ['TN', 'FP'],
    ['FN', 'TP'],
  ];
  const shares = counts.map((r) => {
    const s = r[0] + r[1];
    return r.map((c) => (s ? roundTo((c / s) * 100, 2) : null));
  });
  const annotations: Record<string, unknown>[] = [];
  for (let a = 0; a < 2; a++) {
    for (let b = 0; b < 2; b++) {
      const share = shares[a][b];
      annotations.push({
        x: classes[b], y: classes[a], xref: 'x', yref: 'y', showarrow: false,
        text: `<b>${names[a][b]}</b><br>${formatCount(counts[a][b])}<br>${share === null ? 'n/a' : share.toFixed(1) + '%'}`,
        font: { size: 13, color: share !== null && share > 60 ? '#FFFFFF' : UI_COLORS.text },
      });
    }
  }
  const r = rates(confusion);
  const n = tp + fp + fn + tn;
  const layout = baseLayout({
    title: opts.title ?? `Confusion matrix (${formatCount(n)} rows): precision ${formatPercent(r.precision)}, recall ${formatPercent(r.recall)}, F1 ${r.f1.toFixed(3)}`,
    xTitle: 'Predicted class',
    yTitle: 'Actual class (label)',
    height: opts.height ?? 420,
  });
  layout.annotations = annotations;
  const yaxis = layout.yaxis as Record<string, unknown>;
  yaxis.autorange = 'reversed';
  yaxis.showgrid = false;
  (layout.xaxis as Record<string, unknown>).showgrid = false;
  (layout.xaxis as Record<string, unknown>).side = 'bottom';
  const trace: Trace = {
    type: 'heatmap',
    name: 'Confusion',
    x: classes,
    y: classes,
    z: shares,
    customdata: counts,
    zmin: 0,
    zmax: 100,
    colorscale: HEATMAP_COLORSCALE.map(([p, c]) => [p, c]),
    colorbar: { title: { text: 'Share of actual class (%)' }, ticksuffix: '%' },
    hovertemplate: 'actual %{y}, predicted %{x}: %{customdata} rows (%{z:.1f}% of actual)<extra></extra>',
    xgap: 2,
    ygap: 2,
  };
  return { data: [trace], layout };
}

/** Options of {@link rocCurveChart} and {@link prCurveChart}. */
export interface CurveChartOptions extends ChartOptions {
  /** Most points drawn per curve (curves have a point per distinct score). @defaultValue 500 */
  maxPoints?: number;
}

type Model = DetectorName | 'ensemble';

function modelScores(result: DetectionResult): [Model, ArrayLike<number>][] {
  return [...result.detectors.map((d): [Model, ArrayLike<number>] => [d, result.scores[d]!]), ['ensemble', result.ensembleScore]];
}

function checkLabels(labels: ArrayLike<number>, result: DetectionResult, what: string): void {
  if (labels.length !== result.isAnomaly.length) throw new RangeError(`${what}: ${labels.length} labels for ${result.isAnomaly.length} rows.`);
}

function curveTrace(model: Model, name: string, pts: CurvePoint[], maxPoints: number, extra: Record<string, unknown> = {}): Trace {
  const p = downsample(pts, maxPoints);
  return {
    type: 'scatter',
    mode: 'lines',
    name,
    x: p.map((q) => roundTo(q.x, 4)),
    y: p.map((q) => roundTo(q.y, 4)),
    line: { color: DETECTOR_COLORS[model], width: model === 'ensemble' ? 3 : 2 },
    hovertemplate: `${modelLabel(model)}<br>%{xaxis.title.text}: %{x:.3f}<br>%{yaxis.title.text}: %{y:.3f}<extra></extra>`,
    ...extra,
  };
}

function unitAxes(layout: Record<string, unknown>): void {
  (layout.xaxis as Record<string, unknown>).range = [-0.01, 1.01];
  (layout.yaxis as Record<string, unknown>).range = [-0.01, 1.02];
}

const aucText = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

/**
 * ROC curves of each detector's score and of the ensemble score, with ROC-AUC in the legend and
 * the chance diagonal. Curves are downsampled to `maxPoints` points.
 * @param labels - 1 = anomaly, 0 = normal, one per row of `result`
 * @throws RangeError when labels and results differ in length
 * @example
 * ```ts
 * showChart(rocCurveChart(data.labels!, ens.detect(data)));
 * ```
 */
export function rocCurveChart(labels: ArrayLike<number>, result: DetectionResult, opts: CurveChartOptions = {}): Figure {
  checkLabels(labels, result, 'rocCurveChart');
  const maxPoints = opts.maxPoints ?? 500;
  const traces: Trace[] = modelScores(result).map(([m, s]) =>
    curveTrace(m, `${modelLabel(m)} (AUC ${aucText(rocAuc(labels, s))})`, rocCurve(labels, s), maxPoints),
  );
  traces.push({
    type: 'scatter',
    mode: 'lines',
    name: 'Chance (AUC 0.500)',
    x: [0, 1],
    y: [0, 1],
    line: { color: UI_COLORS.reference, width: 1.5, dash: 'dash' },
    hoverinfo: 'skip',
  });
  const layout = baseLayout({
    title: opts.title ?? `ROC curves per model (${formatCount(result.isAnomaly.length)} labelled rows)`,
    xTitle: 'False positive rate (share of normal rows flagged)',
    yTitle: 'True positive rate (recall)',
    height: opts.height ?? 480,
  });
  unitAxes(layout);
  layout.legend = { ...(layout.legend as object), x: 0.98, xanchor: 'right', y: 0.02, yanchor: 'bottom' };
  return { data: traces, layout };
}

/**
 * Precision-recall curves of each detector's score and of the ensemble score, with average
 * precision (PR-AUC) in the legend and the prevalence (a random ranking's precision) as a dashed
 * line. Drawn as steps, the shape average precision integrates. Curves are downsampled to
 * `maxPoints` points.
 * @param labels - 1 = anomaly, 0 = normal, one per row of `result`
 * @throws RangeError when labels and results differ in length
 * @example
 * ```ts
 * showChart(prCurveChart(data.labels!, ens.detect(data)));
 * ```
 */
export function prCurveChart(labels: ArrayLike<number>, result: DetectionResult, opts: CurveChartOptions = {}): Figure {
  checkLabels(labels, result, 'prCurveChart');
  const maxPoints = opts.maxPoints ?? 500;
  let pos = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]) pos++;
  const prevalence = labels.length ? pos / labels.length : NaN;
  const traces: Trace[] = modelScores(result).map(([m, s]) => {
    const pts: CurvePoint[] = [{ threshold: Infinity, x: 0, y: 1 }, ...prCurve(labels, s)];
    return curveTrace(m, `${modelLabel(m)} (AP ${aucText(averagePrecision(labels, s))})`, pts, maxPoints, {
      line: { color: DETECTOR_COLORS[m], width: m === 'ensemble' ? 3 : 2, shape: 'vh' },
    });
  });
  traces.push({
    type: 'scatter',
    mode: 'lines',
    name: `Chance (prevalence ${aucText(prevalence)})`,
    x: [0, 1],
    y: [roundTo(prevalence, 4), roundTo(prevalence, 4)],
    line: { color: UI_COLORS.reference, width: 1.5, dash: 'dash' },
    hoverinfo: 'skip',
  });
  const layout = baseLayout({
    title: opts.title ?? `Precision-recall curves per model (${formatCount(pos)} anomalies in ${formatCount(labels.length)} rows)`,
    xTitle: 'Recall (share of anomalies flagged)',
    yTitle: 'Precision (flagged rows that are anomalies)',
    height: opts.height ?? 480,
  });
  unitAxes(layout);
  return { data: traces, layout };
}
