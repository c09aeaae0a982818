/**
 * Colours and base styling shared by every chart, so the same detector, severity and class have
 * the same colour in every notebook and report. Detector colours follow the Okabe-Ito palette
 * (distinguishable with colour-vision deficiencies; the detectors added later take Paul Tol's muted colours); severities run from yellow to dark red.
 */
import type { DetectorName } from '../core/detector';
import type { Severity } from '../ensemble/combine';
import type { Layout } from './figure';

/** Colour of each detector, and of the fused ensemble, in every chart. */
export const DETECTOR_COLORS: Readonly<Record<DetectorName | 'ensemble', string>> = {
  isolationForest: '#0072B2',
  oneClassSvm: '#E69F00',
  localOutlierFactor: '#009E73',
  autoencoder: '#CC79A7',
  knn: '#56B4E9',
  ecod: '#D55E00',
  copod: '#999933',
  hbos: '#882255',
  pca: '#44AA99',
  ensemble: '#222222',
};

/** Colour of each severity level (`none` = normal rows), in every chart. */
export const SEVERITY_COLORS: Readonly<Record<Severity, string>> = {
  none: '#B8C0CC',
  low: '#F4C542',
  medium: '#F07B28',
  high: '#B2182B',
};

/** Severity levels from none to high: the order of axes, legends and stacks. */
export const SEVERITY_ORDER: readonly Severity[] = ['none', 'low', 'medium', 'high'];

/** Colour of normal and anomalous rows (labels or decisions), in every chart. */
export const CLASS_COLORS: Readonly<{ normal: string; anomaly: string }> = {
  normal: '#6C8EBF',
  anomaly: '#D62728',
};

/** Colours of chart furniture: threshold and reference lines, grid, text, neutral bars. */
export const UI_COLORS: Readonly<{ threshold: string; reference: string; grid: string; axis: string; text: string; neutral: string }> = {
  threshold: '#444444',
  reference: '#9A9A9A',
  grid: '#E5E5E5',
  axis: '#9E9E9E',
  text: '#2A2A2A',
  neutral: '#5B6B7F',
};

/** Sequential colour scale (white to dark blue) of heatmaps: agreement and confusion matrices. */
export const HEATMAP_COLORSCALE: readonly (readonly [number, string])[] = [
  [0, '#F7FBFF'],
  [0.5, '#6BAED6'],
  [1, '#08306B'],
];

/** Font of every chart. */
export const CHART_FONT = {
  family: 'Inter, "Helvetica Neue", Helvetica, Arial, sans-serif',
  size: 12,
  color: UI_COLORS.text,
} as const;

/** Options of {@link baseLayout}. */
export interface BaseLayoutOptions {
  /** Chart title. */
  title: string;
  /** x-axis title (with its unit). */
  xTitle: string;
  /** y-axis title (with its unit). */
  yTitle: string;
  /** Figure height in pixels. @defaultValue 420 */
  height?: number;
}

/** Axis styling shared by every chart. */
export function axisStyle(title: string): Record<string, unknown> {
  return {
    title: { text: title },
    showline: true,
    linecolor: UI_COLORS.axis,
    gridcolor: UI_COLORS.grid,
    zerolinecolor: UI_COLORS.axis,
    ticks: 'outside',
    tickcolor: UI_COLORS.axis,
    automargin: true,
  };
}

/**
 * The layout every chart starts from: plain white styling without a Plotly template, the shared
 * font, left-aligned title, titled axes, margins that leave room for axis titles.
 * @example
 * ```ts
 * const layout = { ...baseLayout({ title: 'Scores', xTitle: 'Row', yTitle: 'Score' }), barmode: 'stack' };
 * ```
 */
export function baseLayout(o: BaseLayoutOptions): Layout {
  return {
    title: { text: o.title, x: 0.01, xanchor: 'left', font: { size: 16 } },
    font: { ...CHART_FONT },
    paper_bgcolor: '#FFFFFF',
    plot_bgcolor: '#FFFFFF',
    margin: { l: 70, r: 30, t: 60, b: 60 },
    height: o.height ?? 420,
    xaxis: axisStyle(o.xTitle),
    yaxis: axisStyle(o.yTitle),
    legend: { bgcolor: 'rgba(255,255,255,0.85)', bordercolor: UI_COLORS.grid, borderwidth: 1 },
    hovermode: 'closest',
  };
}
