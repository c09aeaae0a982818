/**
 * The {@link Figure} type every chart builder returns (a plain Plotly figure spec, no dependency on
 * Plotly's types) and the small helpers the builders share: rounding of long float arrays,
 * curve downsampling, axis titles with units and timestamp parsing.
 */
import type { DetectorName } from '../core/detector';
import { DETECTOR_LABELS } from '../ensemble/ensemble';

/** One Plotly trace: `type` plus any Plotly trace attribute. */
export interface Trace {
  type: string;
  name?: string;
  [attribute: string]: unknown;
}

/** A Plotly layout: always has a title; any other Plotly layout attribute. */
export interface Layout {
  title: { text: string; [attribute: string]: unknown };
  [attribute: string]: unknown;
}

/**
 * A Plotly figure spec as chart builders return it: JSON-ready (plain arrays, no typed arrays),
 * never rendered. Pass it to {@link showChart} in a notebook, or to `Plotly.newPlot(div, fig.data,
 * fig.layout)` in a page.
 */
export interface Figure {
  data: Trace[];
  layout: Layout;
}

/** Options most chart builders take. */
export interface ChartOptions {
  /** Replaces the default title. */
  title?: string;
  /** Figure height in pixels. @defaultValue 420 */
  height?: number;
}

/** Label of a model in charts: the detector's name, or `"Ensemble"`. */
export function modelLabel(name: DetectorName | 'ensemble'): string {
  return name === 'ensemble' ? 'Ensemble' : DETECTOR_LABELS[name];
}

/**
 * Round to `digits` significant digits (for long score arrays: smaller JSON, the same picture).
 * Non-finite values become `null`, which Plotly draws as a gap.
 */
export function roundSig(v: number, digits = 4): number | null {
  if (!Number.isFinite(v)) return null;
  if (v === 0) return 0;
  return Number(v.toPrecision(digits));
}

/** Round to `decimals` decimal places (for rates in [0, 1] and percentages). Non-finite -> `null`. */
export function roundTo(v: number, decimals = 4): number | null {
  if (!Number.isFinite(v)) return null;
  const f = 10 ** decimals;
  const r = Math.round(v * f) / f;
  return r === 0 ? 0 : r; // no -0 in snapshots
}

/** A plain array of values rounded to `digits` significant digits. */
export function sigArray(values: ArrayLike<number>, digits = 4): (number | null)[] {
  return Array.from(values, (v) => roundSig(v, digits));
}

/**
 * At most `maxPoints` points of a curve, evenly spaced by index, first and last always kept.
 * Curves with one point per distinct score can have as many points as rows; 500 points draw the
 * same line.
 */
export function downsample<T>(points: readonly T[], maxPoints = 500): T[] {
  if (points.length <= maxPoints || maxPoints < 2) return [...points];
  const out: T[] = [];
  const step = (points.length - 1) / (maxPoints - 1);
  let last = -1;
  for (let k = 0; k < maxPoints; k++) {
    const i = Math.round(k * step);
    if (i !== last) out.push(points[i]);
    last = i;
  }
  return out;
}

/** `"name (unit)"`, or just the name when the unit is unknown. */
export function withUnit(name: string, unit?: string): string {
  return unit ? `${name} (${unit})` : name;
}

/**
 * Milliseconds since the epoch of a timestamp written as `YYYY-MM-DD HH:MM:SS` (or any ISO 8601
 * form). Times without a zone are read as UTC, so charts do not depend on the machine's time zone.
 * NaN when it does not parse.
 */
export function parseTimestamp(s: string): number {
  const t = s.trim();
  const iso = t.includes('T') ? t : t.replace(' ', 'T');
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/i.test(iso);
  const isDateOnly = /^\d{4}-\d\d-\d\d$/.test(iso);
  return Date.parse(hasZone || isDateOnly ? iso : iso + 'Z');
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) of milliseconds since the epoch: the form Plotly reads as a date. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Thousands separators, no locale dependence: 12345 -> "12,345". */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A share as a percentage with one decimal: 0.1234 -> "12.3%". */
export function formatPercent(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : 'n/a';
}
