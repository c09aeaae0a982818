/** Per-row detection output: CSV lines and plain row objects for tables. */
import type { DetectorName } from '../core/detector';
import { csvLine, type TrafficData } from '../data/csv';
import type { Severity } from './combine';
import type { DetectionResult } from './ensemble';

/** Column names added after the input columns, in order. */
export function resultColumns(r: Pick<DetectionResult, 'detectors'>): string[] {
  const cols: string[] = [];
  for (const d of r.detectors) cols.push(`${d}_score`, `${d}_vote`);
  cols.push('votes', 'is_anomaly', 'confidence', 'severity', 'ensemble_score');
  return cols;
}

/** The result columns of row `i` as strings. */
export function resultFields(r: DetectionResult, i: number): string[] {
  const f: string[] = [];
  for (const d of r.detectors) f.push(String(r.scores[d]![i]), String(r.votes[d]![i]));
  f.push(String(r.voteCount[i]), String(r.isAnomaly[i]), String(r.confidence[i]), r.severity[i], String(r.ensembleScore[i]));
  return f;
}

/** CSV text: every input column of every row, then the result columns. */
export function detectionToCsv(data: TrafficData, r: DetectionResult): string {
  const lines = [csvLine([...data.header, ...resultColumns(r)])];
  for (let i = 0; i < data.records.length; i++) lines.push(csvLine([...data.records[i], ...resultFields(r, i)]));
  return lines.join('\n') + '\n';
}

/** One detected row as a plain object (for danfo DataFrames and tables). */
export interface DetectionRow {
  row: number;
  timestamp?: string;
  votes: number;
  is_anomaly: number;
  confidence: number;
  severity: Severity;
  ensemble_score: number;
  [key: string]: string | number | undefined;
}

/** Rows as plain objects: feature values, per-detector scores and votes, and the ensemble columns. */
export function detectionRows(data: TrafficData | undefined, r: DetectionResult): DetectionRow[] {
  const n = r.isAnomaly.length;
  const out: DetectionRow[] = new Array(n);
  const d = data?.X.cols ?? 0;
  for (let i = 0; i < n; i++) {
    const row: DetectionRow = {
      row: i,
      votes: r.voteCount[i],
      is_anomaly: r.isAnomaly[i],
      confidence: r.confidence[i],
      severity: r.severity[i],
      ensemble_score: r.ensembleScore[i],
    };
    if (data?.timestamps) row.timestamp = data.timestamps[i];
    if (data) for (let j = 0; j < d; j++) row[data.features[j]] = data.X.data[i * d + j];
    if (data?.labels) row.label = data.labels[i];
    for (const det of r.detectors as DetectorName[]) {
      row[`${det}_score`] = r.scores[det]![i];
      row[`${det}_vote`] = r.votes[det]![i];
    }
    out[i] = row;
  }
  return out;
}
