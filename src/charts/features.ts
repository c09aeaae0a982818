/**
 * Charts about features: a feature's distribution in normal vs anomalous rows, and feature
 * importances with their spread. Pure functions: they return a Plotly {@link Figure} and never
 * render.
 */
import type { DenseMatrix } from '../core/matrix';
import { SEED_FEATURE_UNITS } from '../data/schema';
import { formatCount, roundSig, roundTo, withUnit, type ChartOptions, type Figure, type Trace } from './figure';
import { baseLayout, CLASS_COLORS, UI_COLORS } from './palette';

/** Options of {@link featureDistributionChart}. */
export interface FeatureDistributionOptions extends ChartOptions {
  /** Number of equal-width bins of a continuous feature. @defaultValue 30 */
  bins?: number;
  /**
   * Unit for the axis title. @defaultValue the unit in {@link SEED_FEATURE_UNITS}, else none
   */
  unit?: string;
  /**
   * Where the flags come from, shown in the legend and title, e.g. `"label"` or `"ensemble"`.
   * @defaultValue none
   */
  flagSource?: string;
  /**
   * A feature with at most this many distinct integer values is drawn as one bar per value
   * (protocol codes, ports, flags). @defaultValue 12
   */
  maxCategories?: number;
}

/**
 * Overlaid histograms of one feature in normal and anomalous rows, each as a percentage of its own
 * class (anomalies are few, so counts would hide their shape). Bins are computed here, so the
 * figure holds bin heights, not every value. Features with few distinct integer values (codes,
 * ports) get one bar per value instead.
 * @param data - rows with feature names, e.g. {@link TrafficData}
 * @param feature - feature name or column index
 * @param flags - 1 = anomaly, 0 = normal per row: labels, or a result's `isAnomaly`
 * @throws RangeError for an unknown feature or flags of the wrong length
 * @example
 * ```ts
 * showChart(featureDistributionChart(data, 'packet_rate', r.isAnomaly, { flagSource: 'ensemble' }));
 * ```
 */
export function featureDistributionChart(
  data: { features: readonly string[]; X: DenseMatrix },
  feature: string | number,
  flags: ArrayLike<number>,
  opts: FeatureDistributionOptions = {},
): Figure {
  const j = typeof feature === 'number' ? feature : data.features.indexOf(feature);
  if (!Number.isInteger(j) || j < 0 || j >= data.X.cols) {
    throw new RangeError(`featureDistributionChart: unknown feature ${JSON.stringify(feature)}; the data has ${data.features.join(', ')}.`);
  }
  const name = data.features[j] ?? `x${j}`;
  const { rows, cols } = data.X;
  if (flags.length !== rows) throw new RangeError(`featureDistributionChart: ${flags.length} flags for ${rows} rows.`);
  const bins = opts.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`The 'bins' option of featureDistributionChart must be a positive integer. Got ${bins}.`);
  const maxCategories = opts.maxCategories ?? 12;
  const v = new Float64Array(rows);
  for (let i = 0; i < rows; i++) v[i] = data.X.data[i * cols + j];
  let nAnom = 0;
  for (let i = 0; i < rows; i++) if (flags[i]) nAnom++;
  const nClass = [rows - nAnom, nAnom];

  const distinct = new Set<number>();
  let integral = true;
  for (let i = 0; i < rows && distinct.size <= maxCategories; i++) {
    distinct.add(v[i]);
    if (!Number.isInteger(v[i])) integral = false;
  }
  const categorical = integral && distinct.size <= maxCategories;
  const source = opts.flagSource ? ` (${opts.flagSource})` : '';
  const classNames = [`Normal${source}, n=${formatCount(nClass[0])}`, `Anomaly${source}, n=${formatCount(nClass[1])}`];
  const colors = [CLASS_COLORS.normal, CLASS_COLORS.anomaly];
  const pct = (c: number, k: number) => (nClass[k] ? roundTo((c / nClass[k]) * 100, 3) : 0);
  const traces: Trace[] = [];
  let binNote = '';
  if (categorical) {
    const values = [...distinct].sort((a, b) => a - b);
    const pos = new Map(values.map((x, b) => [x, b]));
    const counts = [new Array<number>(values.length).fill(0), new Array<number>(values.length).fill(0)];
    for (let i = 0; i < rows; i++) counts[flags[i] ? 1 : 0][pos.get(v[i])!]++;
    for (const k of [0, 1]) {
      traces.push({
        type: 'bar',
        name: classNames[k],
        x: values.map(String),
        y: counts[k].map((c) => pct(c, k)),
        customdata: counts[k],
        marker: { color: colors[k] },
        hovertemplate: `${name} = %{x}: %{y:.1f}% of class (%{customdata} rows)<extra>${k ? 'anomaly' : 'normal'}</extra>`,
      });
    }
  } else {
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
    if (rows === 0) lo = hi = 0;
    const width = hi > lo ? (hi - lo) / bins : 1;
    const nb = hi > lo ? bins : 1;
    const counts = [new Array<number>(nb).fill(0), new Array<number>(nb).fill(0)];
    for (let i = 0; i < rows; i++) counts[flags[i] ? 1 : 0][Math.min(Math.floor((v[i] - lo) / width), nb - 1)]++;
    const centres = Array.from({ length: nb }, (_, b) => roundSig(lo + (b + 0.5) * width, 6));
    binNote = `, bins of ${roundSig(width, 3)}`;
    for (const k of [0, 1]) {
      traces.push({
        type: 'bar',
        name: classNames[k],
        x: centres,
        y: counts[k].map((c) => pct(c, k)),
        width: roundSig(width, 6),
        customdata: counts[k],
        marker: { color: colors[k], opacity: 0.6, line: { color: colors[k], width: 1 } },
        hovertemplate: `${name} ≈ %{x}: %{y:.1f}% of class (%{customdata} rows)<extra>${k ? 'anomaly' : 'normal'}</extra>`,
      });
    }
  }
  const unit = opts.unit ?? SEED_FEATURE_UNITS[name];
  const layout = baseLayout({
    title: opts.title ?? `Distribution of ${name}: normal vs anomalous rows${source}`,
    xTitle: withUnit(name, unit ? unit + binNote : binNote ? binNote.slice(2) : undefined),
    yTitle: 'Share of the class (% of rows)',
    height: opts.height,
  });
  layout.barmode = categorical ? 'group' : 'overlay';
  if (categorical) (layout.xaxis as Record<string, unknown>).type = 'category';
  (layout.yaxis as Record<string, unknown>).ticksuffix = '%';
  return { data: traces, layout };
}

/** One feature's importance: mean and standard deviation over repeats (e.g. permutations). */
export interface FeatureImportance {
  feature: string;
  mean: number;
  std: number;
}

/** Options of {@link featureImportanceChart}. */
export interface FeatureImportanceOptions extends ChartOptions {
  /** x-axis title (say what was measured and its unit). @defaultValue "Importance (mean ± std over repeats)" */
  xTitle?: string;
  /** Show only the most important features. @defaultValue all */
  top?: number;
}

/**
 * Horizontal bars of feature importances, most important on top, with ± one standard deviation as
 * error bars.
 * @example
 * ```ts
 * showChart(featureImportanceChart(imps, { xTitle: 'Drop in ROC-AUC when permuted' }));
 * ```
 */
export function featureImportanceChart(importances: readonly FeatureImportance[], opts: FeatureImportanceOptions = {}): Figure {
  const sorted = [...importances].sort((a, b) => b.mean - a.mean || a.feature.localeCompare(b.feature));
  const shown = opts.top !== undefined ? sorted.slice(0, opts.top) : sorted;
  const trace: Trace = {
    type: 'bar',
    orientation: 'h',
    name: 'Importance',
    y: shown.map((d) => d.feature),
    x: shown.map((d) => roundSig(d.mean, 4)),
    error_x: { type: 'data', array: shown.map((d) => roundSig(d.std, 4)), visible: true, color: UI_COLORS.threshold, thickness: 1.5, width: 4 },
    marker: { color: UI_COLORS.neutral },
    hovertemplate: '%{y}: %{x} ± %{error_x.array}<extra></extra>',
    showlegend: false,
  };
  const layout = baseLayout({
    title: opts.title ?? (opts.top !== undefined && sorted.length > shown.length ? `Feature importance (top ${shown.length} of ${sorted.length})` : 'Feature importance'),
    xTitle: opts.xTitle ?? 'Importance (mean ± std over repeats)',
    yTitle: 'Feature',
    height: opts.height ?? Math.max(300, 140 + 28 * shown.length),
  });
  const yaxis = layout.yaxis as Record<string, unknown>;
  yaxis.type = 'category';
  yaxis.autorange = 'reversed';
  yaxis.showgrid = false;
  return { data: [trace], layout };
}
