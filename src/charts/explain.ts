/**
 * Charts of explanations and of the feedback loop: one row's explanation (detector margins,
 * unusual feature values, reconstruction-error shares), permutation importance per model, and
 * held-out false positives and recall per feedback round. Pure functions: they return a Plotly
 * {@link Figure} and never render.
 */
import type { DetectorName } from '../core/detector';
import type { RowExplanation } from '../explain/explain';
import type { PermutationImportance } from '../explain/permutation';
import type { FeedbackRound } from '../feedback/experiment';
import { formatPercent, modelLabel, roundSig, type ChartOptions, type Figure, type Trace } from './figure';
import { axisStyle, baseLayout, CLASS_COLORS, DETECTOR_COLORS, UI_COLORS } from './palette';

/** Options of {@link explanationChart}. */
export interface ExplanationChartOptions extends ChartOptions {
  /** Show only the most unusual features. @defaultValue all */
  top?: number;
}

/**
 * One row's explanation in three panels: each detector's score minus its threshold (in units of
 * its training-score spread; right of 0 votes anomaly), each feature's z-score against the
 * training data (beyond the dashed lines is unusual), and each feature's share of the
 * autoencoder's reconstruction error. The title gives the decision, ensemble score and severity.
 * @param e - from {@link explainRow}
 * @example
 * ```ts
 * showChart(explanationChart(explainRow(ens, data, 17, { profile })));
 * ```
 */
export function explanationChart(e: RowExplanation, opts: ExplanationChartOptions = {}): Figure {
  const feats = opts.top !== undefined ? e.features.slice(0, opts.top) : e.features;
  const featNames = feats.map((f) => f.feature);
  const hasAe = feats.some((f) => f.reconstructionShare !== undefined);
  const traces: Trace[] = [];
  // panel 1: detectors
  for (const voted of [1, 0]) {
    const ds = e.detectors.filter((d) => (d.vote ? 1 : 0) === voted);
    if (!ds.length) continue;
    traces.push({
      type: 'bar',
      orientation: 'h',
      name: voted ? 'Detector votes anomaly' : 'Detector votes normal',
      y: ds.map((d) => d.label),
      x: ds.map((d) => roundSig(d.margin, 4)),
      customdata: ds.map((d) => [roundSig(d.score, 5), roundSig(d.threshold, 5), roundSig(d.weight, 3)]),
      marker: { color: voted ? CLASS_COLORS.anomaly : CLASS_COLORS.normal, line: { color: ds.map((d) => DETECTOR_COLORS[d.detector]), width: 3 } },
      hovertemplate: '%{y}: score %{customdata[0]}, threshold %{customdata[1]}, fusion weight %{customdata[2]}<extra></extra>',
      xaxis: 'x',
      yaxis: 'y',
    });
  }
  // panel 2: unusual values
  traces.push({
    type: 'bar',
    orientation: 'h',
    name: 'Feature z-score vs training',
    y: featNames,
    x: feats.map((f) => roundSig(f.z, 4)),
    customdata: feats.map((f) => [roundSig(f.value, 6), roundSig(f.reference, 6), f.percentile === undefined ? null : roundSig(f.percentile, 4)]),
    marker: { color: feats.map((f) => (f.unusual ? CLASS_COLORS.anomaly : UI_COLORS.neutral)) },
    hovertemplate:
      feats.some((f) => f.percentile !== undefined)
        ? '%{y} = %{customdata[0]} (training median %{customdata[1]}, percentile %{customdata[2]}): z %{x}<extra></extra>'
        : '%{y} = %{customdata[0]} (training mean %{customdata[1]}): z %{x}<extra></extra>',
    xaxis: 'x2',
    yaxis: 'y2',
  });
  // panel 3: reconstruction error shares
  if (hasAe) {
    traces.push({
      type: 'bar',
      orientation: 'h',
      name: "Share of the autoencoder's error",
      y: featNames,
      x: feats.map((f) => roundSig(100 * (f.reconstructionShare ?? 0), 4)),
      customdata: feats.map((f) => roundSig(f.reconstructionError ?? 0, 4)),
      marker: { color: DETECTOR_COLORS.autoencoder },
      hovertemplate: '%{y}: %{x:.1f}% of the reconstruction error (adds %{customdata} to the score)<extra></extra>',
      xaxis: 'x3',
      yaxis: 'y3',
    });
  }
  const verdict = e.isAnomaly ? 'anomaly' : 'normal';
  const layout = baseLayout({
    title:
      opts.title ??
      `Row ${e.row}: ${verdict}, ensemble score ${roundSig(e.ensembleScore, 4)} (threshold ${roundSig(e.ensembleThreshold, 4)}), ${e.voteCount} of ${e.nDetectors} votes, severity ${e.severity}`,
    xTitle: 'Score minus threshold (training spread units)',
    yTitle: 'Detector',
    height: opts.height ?? Math.max(380, 160 + 26 * Math.max(featNames.length, e.detectors.length)),
  });
  layout.title.subtitle = { text: `row id ${e.rowId}; confidence ${formatPercent(e.confidence)}; most unusual: ${e.topFeature}` };
  layout.margin = { l: 70, r: 30, t: 90, b: 60 };
  const split = hasAe ? [0, 0.26, 0.37, 0.68, 0.79, 1] : [0, 0.38, 0.52, 1];
  const xaxis = layout.xaxis as Record<string, unknown>;
  xaxis.domain = [split[0], split[1]];
  xaxis.zeroline = true;
  const yaxis = layout.yaxis as Record<string, unknown>;
  Object.assign(yaxis, { type: 'category', categoryorder: 'array', categoryarray: e.detectors.map((d) => d.label).reverse(), anchor: 'x', showgrid: false });
  layout.xaxis2 = { ...axisStyle(`${e.zScale === 'robust' ? 'Robust z' : 'z'}-score vs training (|z| > ${e.unusualZ} unusual)`), domain: [split[2], split[3]], anchor: 'y2', zeroline: true };
  layout.yaxis2 = { ...axisStyle('Feature'), type: 'category', categoryorder: 'array', categoryarray: [...featNames].reverse(), anchor: 'x2', showgrid: false };
  const shapes: Record<string, unknown>[] = [
    { type: 'line', xref: 'x', yref: 'y domain', x0: 0, x1: 0, y0: 0, y1: 1, line: { color: UI_COLORS.threshold, width: 1.5, dash: 'dash' } },
  ];
  for (const z of [-e.unusualZ, e.unusualZ]) shapes.push({ type: 'line', xref: 'x2', yref: 'y2 domain', x0: z, x1: z, y0: 0, y1: 1, line: { color: UI_COLORS.reference, width: 1, dash: 'dot' } });
  if (hasAe) {
    layout.xaxis3 = { ...axisStyle('Share of reconstruction error (%)'), domain: [split[4], split[5]], anchor: 'y3', rangemode: 'tozero' };
    layout.yaxis3 = { ...axisStyle(''), type: 'category', categoryorder: 'array', categoryarray: [...featNames].reverse(), anchor: 'x3', showticklabels: false, showgrid: false };
  }
  layout.shapes = shapes;
  layout.showlegend = false;
  layout.barmode = 'overlay';
  return { data: traces, layout };
}

/** Options of {@link importanceByModelChart}. */
export interface ImportanceByModelOptions extends ChartOptions {
  /** `"scoreDrop"`, `"scoreChange"` (no labels needed) or `"aucDrop"`. @defaultValue "scoreDrop" */
  measure?: 'scoreDrop' | 'scoreChange' | 'aucDrop';
  /** Models to show. @defaultValue the ensemble and every detector */
  models?: readonly ('ensemble' | DetectorName)[];
}

/**
 * Permutation importance of every feature for the ensemble and each detector, as grouped
 * horizontal bars (± one standard deviation over repeats), features ordered by the ensemble's
 * importance. Each model's scores are in its own training-spread units, so compare the order
 * within a model more than bar lengths across models.
 * @throws RangeError when `aucDrop` was not computed (no labels)
 * @example
 * ```ts
 * showChart(importanceByModelChart(permutationImportance(ens, test, { seed: 42 }), { measure: 'aucDrop' }));
 * ```
 */
export function importanceByModelChart(imp: PermutationImportance, opts: ImportanceByModelOptions = {}): Figure {
  const measure = opts.measure ?? 'scoreDrop';
  const models = (opts.models ?? (Object.keys(imp.models) as ('ensemble' | DetectorName)[])).filter((m) => imp.models[m]);
  if (measure === 'aucDrop' && !models.some((m) => imp.models[m]!.aucDrop)) {
    throw new RangeError('importanceByModelChart: no ROC-AUC drop was computed (permutationImportance needs labels of both classes).');
  }
  const order = models.includes('ensemble') ? 'ensemble' : models[0];
  const ref = imp.models[order]![measure] ?? imp.models[order]!.scoreChange;
  const features = ref
    .map((s, j) => ({ s, j }))
    .sort((a, b) => b.s.mean - a.s.mean || a.j - b.j)
    .map((x) => x.s.feature);
  const traces: Trace[] = models.map((m) => {
    const stats = imp.models[m]![measure]!;
    const byName = new Map(stats.map((s) => [s.feature, s]));
    return {
      type: 'bar',
      orientation: 'h',
      name: modelLabel(m),
      y: features,
      x: features.map((f) => roundSig(byName.get(f)!.mean, 4)),
      error_x: { type: 'data', array: features.map((f) => roundSig(byName.get(f)!.std, 4)), visible: true, color: UI_COLORS.threshold, thickness: 1, width: 2 },
      marker: { color: DETECTOR_COLORS[m] },
      hovertemplate: `${modelLabel(m)}, %{y}: %{x} ± %{error_x.array}<extra></extra>`,
    };
  });
  const layout = baseLayout({
    title: opts.title ?? `Permutation importance per model (${imp.nRows.toLocaleString('en-US')} rows, ${imp.nRepeats} repeats)`,
    xTitle:
      measure === 'aucDrop'
        ? 'Drop in ROC-AUC when the feature is permuted'
        : measure === 'scoreDrop'
          ? "Drop of the flagged rows' scores when permuted (training spread units; < 0: they rise)"
          : 'Mean |score change| when permuted (training spread units)',
    yTitle: 'Feature',
    height: opts.height ?? Math.max(360, 140 + features.length * (10 + 8 * models.length)),
  });
  layout.barmode = 'group';
  const yaxis = layout.yaxis as Record<string, unknown>;
  yaxis.type = 'category';
  yaxis.autorange = 'reversed';
  yaxis.showgrid = false;
  return { data: traces, layout };
}

/**
 * The feedback loop per round: held-out false positives (bars, left axis) and recall (line, right
 * axis); round 0 is the model before any feedback.
 * @param rounds - `runFeedbackExperiment(...).rounds`
 * @example
 * ```ts
 * showChart(feedbackRoundsChart(report.rounds));
 * ```
 */
export function feedbackRoundsChart(rounds: readonly FeedbackRound[], opts: ChartOptions = {}): Figure {
  const x = rounds.map((r) => (r.round === 0 ? 'before feedback' : `round ${r.round}`));
  const traces: Trace[] = [
    {
      type: 'bar',
      name: 'False positives (held-out)',
      x,
      y: rounds.map((r) => r.heldOut.fp),
      customdata: rounds.map((r) => [r.labels.tp, r.labels.fp]),
      marker: { color: CLASS_COLORS.normal },
      hovertemplate: '%{x}: %{y} false positives (labels so far: %{customdata[0]} tp, %{customdata[1]} fp)<extra></extra>',
    },
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Recall (held-out)',
      x,
      y: rounds.map((r) => roundSig(100 * r.heldOut.recall, 4)),
      yaxis: 'y2',
      line: { color: DETECTOR_COLORS.ensemble, width: 2 },
      marker: { size: 8 },
      hovertemplate: '%{x}: recall %{y:.1f}%<extra></extra>',
    },
  ];
  const layout = baseLayout({
    title: opts.title ?? 'Operator feedback: held-out false positives and recall per round',
    xTitle: 'Feedback round',
    yTitle: 'False positives (rows)',
    height: opts.height,
  });
  (layout.xaxis as Record<string, unknown>).type = 'category';
  (layout.yaxis as Record<string, unknown>).rangemode = 'tozero';
  const lo = Math.min(...rounds.map((r) => 100 * r.heldOut.recall));
  layout.yaxis2 = { ...axisStyle('Recall (%)'), overlaying: 'y', side: 'right', range: [Math.max(0, Math.floor(lo - 5)), 100.5], showgrid: false, ticksuffix: '%' };
  layout.margin = { l: 70, r: 70, t: 60, b: 60 };
  layout.legend = { ...(layout.legend as Record<string, unknown>), orientation: 'h', x: 0, y: -0.2 };
  return { data: traces, layout };
}
