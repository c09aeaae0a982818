import { describe, expect, it } from 'vitest';
import { DETECTOR_LABELS } from '../../src/ensemble/ensemble';
import { confusion } from '../../src/metrics/classification';
import { agreementChart, confidenceSeverityChart, detectorComparisonChart, severityDistributionChart, severityOverTimeChart, timelineChart, voteBreakdownChart } from '../../src/charts/detection';
import { confusionMatrixChart, prCurveChart, rocCurveChart } from '../../src/charts/evaluation';
import { featureDistributionChart, featureImportanceChart } from '../../src/charts/features';
import { downsample, parseTimestamp, type Figure, type Trace } from '../../src/charts/figure';
import { CLASS_COLORS, DETECTOR_COLORS, SEVERITY_COLORS } from '../../src/charts/palette';
import { lossCurveChart } from '../../src/charts/training';
import { StreamHistory, streamChart } from '../../src/charts/stream';
import { selectDetection } from '../../src/ensemble/select';
import { DETECTORS, makeResult, makeTraffic } from './fixture';

const { labels, result, stats } = makeResult();
const data = makeTraffic(labels);
const noTimestamps = { ...data, timestamps: undefined };
/** A row where the detectors disagree (some vote anomaly, some normal). */
const mixedRow = Array.from(result.voteCount).findIndex((v) => v === 2 || v === 3);

const importances = [
  { feature: 'duration', mean: 0.081, std: 0.012 },
  { feature: 'packet_size', mean: 0.214, std: 0.031 },
  { feature: 'protocol_type', mean: 0.0042, std: 0.0061 },
];
/** The fixture streamed in windows of 8 rows (the last one 4): a history of the latest `maxRows` rows. */
function streamed(opts: { maxRows?: number; maxWindows?: number; time?: boolean } = {}): StreamHistory {
  const h = new StreamHistory({ maxRows: opts.maxRows ?? 30, maxWindows: opts.maxWindows });
  const n = result.isAnomaly.length;
  for (let start = 0, w = 0; start < n; start += 8, w++) {
    const idx = Array.from({ length: Math.min(8, n - start) }, (_, i) => start + i);
    h.add({ start, rows: idx.length, result: selectDetection(result, idx) }, { ms: 2 + w * 0.25, timestamps: opts.time === false ? undefined : data.timestamps!.slice(start, start + idx.length) });
  }
  return h;
}

const history = { loss: [0.98, 0.61, 0.44, 0.39, 0.37, 0.368], valLoss: [1.02, 0.66, 0.5, 0.47, 0.48, 0.49] };

/** Every builder on the fixture, by name: what the snapshots and the checks below run over. */
const figures: Record<string, () => Figure> = {
  timeline: () => timelineChart(result, data),
  timelineByRow: () => timelineChart(result, noTimestamps),
  severityOverTime: () => severityOverTimeChart(result, data, { bins: 6 }),
  severityOverRows: () => severityOverTimeChart(result, undefined, { bins: 8 }),
  severityDistribution: () => severityDistributionChart(result),
  severityDistributionWithNone: () => severityDistributionChart(result, { includeNone: true }),
  confidenceSeverity: () => confidenceSeverityChart(result),
  agreement: () => agreementChart(result),
  detectorComparison: () => detectorComparisonChart(result),
  detectorComparisonLabelled: () => detectorComparisonChart(result, labels),
  voteBreakdown: () => voteBreakdownChart(result, mixedRow, stats),
  voteBreakdownStatsFunction: () => voteBreakdownChart(result, mixedRow, (d) => stats[d]),
  voteBreakdownPercentile: () => voteBreakdownChart(result, 3),
  featureDistributionContinuous: () => featureDistributionChart(data, 'packet_size', labels, { bins: 10, flagSource: 'label' }),
  featureDistributionCategorical: () => featureDistributionChart(data, 'protocol_type', result.isAnomaly, { flagSource: 'ensemble' }),
  confusionMatrix: () => confusionMatrixChart(confusion(labels, result.isAnomaly)),
  roc: () => rocCurveChart(labels, result),
  pr: () => prCurveChart(labels, result),
  featureImportance: () => featureImportanceChart(importances),
  lossCurve: () => lossCurveChart(history),
  stream: () => streamChart(streamed()),
  streamByRow: () => streamChart(streamed({ time: false, maxRows: 12, maxWindows: 3 })),
  streamEmpty: () => streamChart(new StreamHistory()),
};

function containsTypedArray(v: unknown): boolean {
  if (ArrayBuffer.isView(v)) return true;
  if (Array.isArray(v)) return v.some(containsTypedArray);
  if (v && typeof v === 'object') return Object.values(v).some(containsTypedArray);
  return false;
}

const axisTitle = (layout: Record<string, unknown>, axis: string) =>
  ((layout[axis] as { title?: { text?: string } } | undefined)?.title?.text ?? '') as string;

describe('chart builders', () => {
  describe.each(Object.entries(figures))('%s', (_name, build) => {
    const fig = build();

    it('matches its JSON snapshot', () => {
      expect(fig).toMatchSnapshot();
    });

    it('is plain JSON (no typed arrays, nothing lost in a round trip)', () => {
      expect(containsTypedArray(fig)).toBe(false);
      expect(JSON.parse(JSON.stringify(fig))).toStrictEqual(fig);
    });

    it('has a title and titled axes', () => {
      expect(fig.layout.title.text.length).toBeGreaterThan(5);
      expect(axisTitle(fig.layout, 'xaxis').length).toBeGreaterThan(2);
      expect(axisTitle(fig.layout, 'yaxis').length).toBeGreaterThan(2);
      expect(fig.data.length).toBeGreaterThan(0);
      for (const t of fig.data) expect(typeof t.type).toBe('string');
    });
  });

  it('gives each detector the same colour in every figure', () => {
    const seen = new Map<string, Set<string>>();
    const note = (label: string, color: unknown) => {
      if (typeof color !== 'string') return;
      if (!seen.has(label)) seen.set(label, new Set());
      seen.get(label)!.add(color);
    };
    const labelOf = { ...DETECTOR_LABELS, ensemble: 'Ensemble' } as Record<string, string>;
    // curves: one trace per model, coloured by line
    for (const fig of [figures.roc(), figures.pr()]) {
      for (const t of fig.data) {
        const model = Object.keys(labelOf).find((m) => t.name?.startsWith(labelOf[m] + ' ('));
        if (model) note(model, (t.line as { color: string }).color);
      }
    }
    // bars: one bar per model, coloured by marker
    for (const fig of [figures.detectorComparison(), figures.detectorComparisonLabelled()]) {
      for (const t of fig.data.filter((d) => d.type === 'bar')) {
        const x = t.x as string[];
        const colors = ((t.marker as { color: string | string[] }).color as string[] | string) ?? [];
        const lineColors = (t.marker as { line?: { color: string[] } }).line?.color ?? [];
        x.forEach((label, k) => {
          const model = Object.keys(labelOf).find((m) => labelOf[m] === label)!;
          if (Array.isArray(colors)) note(model, colors[k]);
          if (Array.isArray(lineColors)) note(model, lineColors[k]);
        });
      }
    }
    // the per-sample breakdown outlines each detector's bar in its colour
    for (const t of figures.voteBreakdown().data) {
      (t.y as string[]).forEach((label, k) => {
        const model = Object.keys(labelOf).find((m) => labelOf[m] === label)!;
        note(model, ((t.marker as { line: { color: string[] } }).line.color as string[])[k]);
      });
    }
    note('autoencoder', ((figures.lossCurve().data[0] as Trace).line as { color: string }).color);
    for (const m of [...DETECTORS, 'ensemble'] as const) {
      expect([...(seen.get(m) ?? [])], m).toEqual([DETECTOR_COLORS[m]]);
    }
  });

  it('colours severities and classes from the shared palettes', () => {
    const timeline = figures.timeline();
    expect((timeline.data[0].marker as { color: string }).color).toBe(CLASS_COLORS.normal);
    expect(timeline.data[timeline.data.length - 1].name).toBe('Ensemble threshold (0.15)');
    for (const t of timeline.data.slice(1, -1)) {
      const sev = /Anomaly, (\w+)/.exec(t.name!)![1] as keyof typeof SEVERITY_COLORS;
      expect((t.marker as { color: string }).color).toBe(SEVERITY_COLORS[sev]);
    }
    const dist = figures.severityDistributionWithNone().data[0];
    expect((dist.marker as { color: string[] }).color).toEqual((dist.x as string[]).map((s) => SEVERITY_COLORS[s as keyof typeof SEVERITY_COLORS]));
    for (const t of figures.severityOverTime().data) {
      expect((t.marker as { color: string }).color).toBe(SEVERITY_COLORS[t.name as keyof typeof SEVERITY_COLORS]);
    }
    const feat = figures.featureDistributionContinuous().data;
    expect(feat.map((t) => (t.marker as { color: string }).color)).toEqual([CLASS_COLORS.normal, CLASS_COLORS.anomaly]);
  });

  it('puts AUC in the ROC legend and AP in the PR legend', () => {
    const roc = figures.roc();
    expect(roc.data.map((t) => t.name)).toEqual([
      expect.stringMatching(/^Isolation Forest \(AUC \d\.\d{3}\)$/),
      expect.stringMatching(/^One-Class SVM \(AUC /),
      expect.stringMatching(/^Local Outlier Factor \(AUC /),
      expect.stringMatching(/^Autoencoder \(AUC /),
      expect.stringMatching(/^Ensemble \(AUC /),
      'Chance (AUC 0.500)',
    ]);
    expect(figures.pr().data[0].name).toMatch(/^Isolation Forest \(AP \d\.\d{3}\)$/);
  });

  it('downsamples long ROC and PR curves to at most ~500 points', () => {
    const big = makeResult(3000, 3);
    // spread scores so every row is a distinct threshold
    for (const d of DETECTORS) big.result.scores[d] = big.result.scores[d]!.map((s, i) => s + i * 1e-7);
    for (const fig of [rocCurveChart(big.labels, big.result), prCurveChart(big.labels, big.result)]) {
      for (const t of fig.data) expect((t.x as number[]).length).toBeLessThanOrEqual(500);
      const first = fig.data[0].x as number[];
      expect(first.length).toBeGreaterThan(400);
    }
    expect(downsample([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4)).toEqual([1, 4, 7, 10]);
  });

  it('counts anomalies per time bin by severity', () => {
    const fig = figures.severityOverTime();
    const total = fig.data.reduce((a, t) => a + (t.y as number[]).reduce((b, c) => b + c, 0), 0);
    expect(total).toBe(result.isAnomaly.reduce((a, b) => a + b, 0));
    expect(axisTitle(fig.layout, 'xaxis')).toBe('Time (bins of 30 min)');
    expect((fig.data[0].x as string[])[0]).toBe('2025-01-01 00:00:00');
  });

  it('explains the row in the vote breakdown title', () => {
    const i = mixedRow;
    expect(i).toBeGreaterThanOrEqual(0);
    const fig = figures.voteBreakdown();
    expect(fig.data.map((t) => t.name)).toEqual(['Votes anomaly', 'Votes normal']);
    expect(fig.layout.title.text).toContain(`Row ${i}: ${result.isAnomaly[i] ? 'anomaly' : 'normal'}, ${result.voteCount[i]} of 4`);
    expect(fig.layout.title.text).toContain(`severity ${result.severity[i]}`);
    expect(() => voteBreakdownChart(result, 40)).toThrow(RangeError);
    // a bar right of 0 is a vote for anomaly
    for (const t of fig.data) for (const v of t.x as number[]) expect(v > 0).toBe(t.name === 'Votes anomaly');
  });

  it('takes units from the seed schema and refuses unknown features', () => {
    expect(axisTitle(figures.featureDistributionContinuous().layout, 'xaxis')).toMatch(/^packet_size \(bytes, bins of /);
    expect(axisTitle(figures.featureDistributionCategorical().layout, 'xaxis')).toBe('protocol_type (code (0 TCP, 1 UDP, 2 ICMP))');
    expect(() => featureDistributionChart(data, 'nope', labels)).toThrow(/unknown feature "nope"/);
    expect(() => featureDistributionChart(data, 0, labels.subarray(1))).toThrow(RangeError);
  });

  it('sorts feature importances, most important on top', () => {
    const t = figures.featureImportance().data[0];
    expect(t.y).toEqual(['packet_size', 'duration', 'protocol_type']);
    expect(featureImportanceChart(importances, { top: 2, xTitle: 'Drop in AUC' }).layout.title.text).toBe('Feature importance (top 2 of 3)');
  });

  it('reads timestamps as UTC', () => {
    expect(parseTimestamp('2025-01-01 00:03:00')).toBe(Date.UTC(2025, 0, 1, 0, 3, 0));
    expect(Number.isNaN(parseTimestamp('yesterday'))).toBe(true);
  });

  it('keeps the latest rows and windows of a stream, and totals over all of it', () => {
    const h = streamed({ maxRows: 12, maxWindows: 3 });
    const n = result.isAnomaly.length;
    expect(h.points.map((p) => p.row)).toEqual(Array.from({ length: 12 }, (_, i) => n - 12 + i));
    expect(h.windows.map((w) => w.window)).toEqual([3, 4, 5]);
    expect(h.windows.map((w) => w.start)).toEqual([16, 24, 32]);
    expect(h.totals.windows).toBe(5);
    expect(h.totals.rows).toBe(n);
    const flagged = result.isAnomaly.reduce((a, b) => a + b, 0);
    expect(h.totals.anomalies).toBe(flagged);
    expect(h.totals.low + h.totals.medium + h.totals.high).toBe(flagged);
    expect(h.totals.ms).toBeCloseTo(2 + 2.25 + 2.5 + 2.75 + 3);
    expect(h.threshold).toBe(result.ensembleThreshold);
    expect(h.detectors).toBe(4);
    for (const w of h.windows) expect(w.low + w.medium + w.high).toBe(w.anomalies);
    expect(h.windows[2]).toMatchObject({ rows: 8, from: data.timestamps![32], to: data.timestamps![39], ms: 3 });
    expect(() => h.add({ start: 40, rows: 2, result: selectDetection(result, [0, 1]) }, { timestamps: ['x'] })).toThrow(RangeError);
    expect(() => new StreamHistory({ maxRows: 0 })).toThrow(RangeError);
  });

  it('draws the stream in two panels: latest scores on top, anomalies per window below', () => {
    const h = streamed({ maxRows: 12, maxWindows: 3, time: false });
    const fig = streamChart(h);
    const top = fig.data.filter((t) => t.yaxis === 'y' && t.mode === 'markers');
    const bars = fig.data.filter((t) => t.type === 'bar');
    expect(top.map((t) => t.name)).toEqual(['Normal', 'Anomaly, high', 'Anomaly, medium', 'Anomaly, low']);
    // every kept row once, at its index in the stream
    expect(top.flatMap((t) => t.x as number[]).sort((a, b) => a - b)).toEqual(h.points.map((p) => p.row));
    expect(bars.map((t) => [t.name, t.xaxis, t.yaxis])).toEqual([
      ['low per window', 'x2', 'y2'],
      ['medium per window', 'x2', 'y2'],
      ['high per window', 'x2', 'y2'],
    ]);
    for (const t of bars) expect(t.x).toEqual([3, 4, 5]);
    const perWindow = [0, 1, 2].map((k) => bars.reduce((a, t) => a + (t.y as number[])[k], 0));
    expect(perWindow).toEqual(h.windows.map((w) => w.anomalies));
    expect(fig.layout.title.text).toContain(`${h.totals.anomalies} anomalies in 40 rows`);
    expect(fig.layout.title.subtitle).toMatchObject({ text: expect.stringContaining('latest 3 of 5 windows') });
    expect((fig.layout.shapes as { y0: number }[])[0].y0).toBe(0.15);
    for (const t of top.slice(1)) expect((t.marker as { color: string }).color).toBe(SEVERITY_COLORS[/Anomaly, (\w+)/.exec(t.name!)![1] as 'low']);
    // timestamps make the top x axis a date axis
    expect((streamChart(streamed()).layout.xaxis as { type?: string }).type).toBe('date');
  });
});
