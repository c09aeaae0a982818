/**
 * Per-row explanations of an {@link AnomalyEnsemble} decision: each detector's vote and its score
 * against its threshold, the ensemble score, decision and severity, and per feature how unusual
 * the value is compared with the training data and how much it adds to the autoencoder's
 * reconstruction error. Deterministic: no randomness is involved.
 */
import type { DetectorName } from '../core/detector';
import type { Autoencoder } from '../detectors/autoencoder';
import { normalizeScores, topCount, type Severity } from '../ensemble/combine';
import { DETECTOR_LABELS, type AnomalyEnsemble, type DetectionResult } from '../ensemble/ensemble';
import { rowIdsAt } from '../ensemble/output';
import { modelRows, type ExplainInput } from './rows';
import { robustZ, trainingPercentile, type FeatureProfile } from './profile';

/** One detector's part in a row's decision. */
export interface DetectorExplanation {
  detector: DetectorName;
  /** Human-readable name. */
  label: string;
  /** The detector's anomaly score of the row (higher = more anomalous). */
  score: number;
  /** The detector's threshold, calibrated on its training scores. */
  threshold: number;
  /** 1 when `score > threshold`. */
  vote: number;
  /**
   * (score - threshold) in units of the spread of the detector's training scores (standard
   * deviation with the ensemble's `zscore` normalisation, else IQR): > 0 is a vote for anomaly.
   */
  margin: number;
  /** The score on the ensemble's common scale ({@link normalizeScores} with the ensemble's normalisation). */
  normalizedScore: number;
  /**
   * The detector's fusion weight for this row (the weights sum to 1): with `fusion: "mean"` the
   * ensemble's weight; with `fusion: "top"` 1/m for the m detectors whose normalised scores are
   * the row's highest (the ones averaged; ties to the earlier detector), 0 for the others.
   */
  weight: number;
  /** weight x normalizedScore: the detector's share of the ensemble score (they sum to it). */
  contribution: number;
}

/** How one feature value of a row compares with training traffic. */
export interface FeatureContribution {
  feature: string;
  /** Column index in the model's feature order. */
  index: number;
  value: number;
  /** Training median (with a profile) or training mean (without). */
  reference: number;
  /**
   * Signed z-score of the value against the training data: robust with a profile
   * ((value - median) / (IQR / 1.349)), else the standardised value (value - mean) / std from the
   * model's scaler. |z| > {@link ExplainOptions.unusualZ} counts as unusual.
   */
  z: number;
  /** Percentile of the value among training values (0-100); only with a profile. */
  percentile?: number;
  /** Whether |z| exceeds {@link ExplainOptions.unusualZ}. */
  unusual: boolean;
  /**
   * The feature's part of the autoencoder's score: its squared reconstruction error divided by the
   * number of features (these sum to the autoencoder score). Absent without an autoencoder.
   */
  reconstructionError?: number;
  /** The feature's share (0-1) of the row's reconstruction error. Absent without an autoencoder. */
  reconstructionShare?: number;
}

/** Why the ensemble decided what it did about one row. */
export interface RowExplanation {
  /** Row index in the data explained. */
  row: number;
  /** Stable id of the row (see {@link rowId}). */
  rowId: string;
  isAnomaly: boolean;
  /** How the decision is made: fused score vs threshold, or majority vote. */
  decision: 'score' | 'vote';
  ensembleScore: number;
  ensembleThreshold: number;
  voteCount: number;
  nDetectors: number;
  /** Votes needed with `decision: "vote"`. */
  minVotes: number;
  severity: Severity;
  confidence: number;
  detectors: DetectorExplanation[];
  /** Every feature, most unusual (largest |z|) first. */
  features: FeatureContribution[];
  /** |z| above which a value counts as unusual. */
  unusualZ: number;
  /** Whether z-scores are robust (from a {@link FeatureProfile}) or from the model's scaler. */
  zScale: 'robust' | 'scaler';
  /** The most unusual feature (largest |z|). */
  topFeature: string;
  /** The feature with the largest share of the reconstruction error, when there is an autoencoder. */
  topReconstructionFeature?: string;
  /** One or two sentences for reports. */
  summary: string;
}

/** Options of {@link explainRows}. */
export interface ExplainOptions {
  /**
   * Training-data summary from {@link featureProfile}: robust z-scores and percentiles. Without
   * it, z-scores come from the model's scaler (training mean and standard deviation).
   */
  profile?: FeatureProfile;
  /** |z| above which a value counts as unusual. @defaultValue 3 */
  unusualZ?: number;
}

/**
 * Explain rows of `data` (indices into it): detector votes and margins, the ensemble score and
 * decision, and per-feature contributions. Rows are scored exactly as {@link AnomalyEnsemble.detect}
 * scores them.
 * @param ens - a fitted (or loaded) ensemble
 * @param data - traffic with the model's features, or a matrix in the model's feature order
 * @param rows - row indices to explain
 * @returns one {@link RowExplanation} per requested row, in order
 * @throws RangeError for a row index outside the data; FeatureMismatchError for other features
 * @remarks Cost: one scoring pass over the requested rows, plus one autoencoder reconstruction.
 * @example
 * ```ts
 * const [e] = explainRows(ens, data, [17], { profile: featureProfile(train) });
 * e.topFeature;          // 'error_rate'
 * showTable(explanationTable(e));
 * ```
 */
export function explainRows(
  ens: AnomalyEnsemble,
  data: ExplainInput,
  rows: readonly number[],
  opts: ExplainOptions = {},
): RowExplanation[] {
  const n = data.X.rows;
  for (const i of rows) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`explainRows: row must be an integer in [0, ${n - 1}]. Got ${i}.`);
  }
  const unusualZ = opts.unusualZ ?? 3;
  if (!(unusualZ > 0)) throw new RangeError(`The 'unusualZ' option of explainRows must be a positive number. Got ${unusualZ}.`);
  const names = ens.featureNames;
  const profile = opts.profile;
  if (profile && (profile.features.length !== names.length || profile.features.some((f, j) => f !== names[j]))) {
    throw new RangeError(`explainRows: the profile's features (${profile.features.join(', ')}) differ from the model's (${names.join(', ')}).`);
  }
  const { X, Xs } = modelRows(ens, data, rows);
  const r = ens.detectScaled(Xs);
  const ids = rowIdsAt(data, rows);
  const ae = r.detectors.includes('autoencoder') ? (ens.detector('autoencoder') as Autoencoder).reconstructionErrors(Xs) : undefined;
  const method = ens.options.normalization;
  const normalized = new Map(r.detectors.map((det) => [det, normalizeScores(r.scores[det]!, ens.stats(det), method)]));
  const weights = ens.weights;
  const top = ens.options.fusion === 'top' ? topCount(r.detectors.length) : 0;
  const d = names.length;
  const out: RowExplanation[] = [];
  for (let k = 0; k < rows.length; k++) {
    // with the top fusion: the detectors averaged for this row
    const averaged = new Set(
      [...r.detectors]
        .sort((a, b) => normalized.get(b)![k] - normalized.get(a)![k] || r.detectors.indexOf(a) - r.detectors.indexOf(b))
        .slice(0, top),
    );
    const detectors = r.detectors.map((det): DetectorExplanation => {
      const st = ens.stats(det);
      const score = r.scores[det]![k];
      const spread = method === 'zscore' ? st.std : st.iqr;
      const normalizedScore = normalized.get(det)![k];
      const weight = top ? (averaged.has(det) ? 1 / top : 0) : (weights[det] ?? 0);
      return {
        detector: det,
        label: DETECTOR_LABELS[det],
        score,
        threshold: ens.detector(det).threshold,
        vote: r.votes[det]![k],
        margin: (score - ens.detector(det).threshold) / spread,
        normalizedScore,
        weight,
        contribution: weight * normalizedScore,
      };
    });
    let aeTotal = 0;
    if (ae) for (let j = 0; j < d; j++) aeTotal += ae.data[k * d + j];
    const features: FeatureContribution[] = names.map((feature, j) => {
      const value = X.data[k * d + j];
      const z = profile ? robustZ(profile, j, value) : Xs.data[k * d + j];
      const c: FeatureContribution = {
        feature,
        index: j,
        value,
        reference: profile ? profile.median[j] : ens.scaler.mean[j],
        z,
        unusual: Math.abs(z) > unusualZ,
      };
      if (profile) c.percentile = trainingPercentile(profile, j, value);
      if (ae) {
        const e = ae.data[k * d + j];
        c.reconstructionError = e / d;
        c.reconstructionShare = aeTotal > 0 ? e / aeTotal : 0;
      }
      return c;
    });
    features.sort((a, b) => Math.abs(b.z) - Math.abs(a.z) || a.index - b.index);
    const topRecon = ae ? [...features].sort((a, b) => b.reconstructionShare! - a.reconstructionShare! || a.index - b.index)[0].feature : undefined;
    const e: RowExplanation = {
      row: rows[k],
      rowId: ids[k],
      isAnomaly: r.isAnomaly[k] === 1,
      decision: ens.options.decision,
      ensembleScore: r.ensembleScore[k],
      ensembleThreshold: r.ensembleThreshold,
      voteCount: r.voteCount[k],
      nDetectors: r.detectors.length,
      minVotes: ens.options.minVotes,
      severity: r.severity[k],
      confidence: r.confidence[k],
      detectors,
      features,
      unusualZ,
      zScale: profile ? 'robust' : 'scaler',
      topFeature: features[0].feature,
      ...(topRecon !== undefined ? { topReconstructionFeature: topRecon } : {}),
      summary: '',
    };
    e.summary = summarize(e, unusualZ, profile !== undefined);
    out.push(e);
  }
  return out;
}

/**
 * Explain one row; see {@link explainRows}.
 * @example
 * ```ts
 * explainRow(ens, data, 17).summary;
 * ```
 */
export function explainRow(
  ens: AnomalyEnsemble,
  data: ExplainInput,
  row: number,
  opts: ExplainOptions = {},
): RowExplanation {
  return explainRows(ens, data, [row], opts)[0];
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

function summarize(e: RowExplanation, unusualZ: number, robust: boolean): string {
  const verdict = e.isAnomaly ? 'anomaly' : 'normal';
  const rule =
    e.decision === 'score'
      ? `ensemble score ${fmt(e.ensembleScore)} ${e.ensembleScore > e.ensembleThreshold ? '>' : '<='} threshold ${fmt(e.ensembleThreshold)}`
      : `${e.voteCount} of ${e.nDetectors} votes, ${e.minVotes} needed`;
  const voters = e.detectors.filter((d) => d.vote).map((d) => d.label);
  const votes = voters.length ? `${voters.length} of ${e.nDetectors} detectors vote anomaly (${voters.join(', ')})` : 'no detector votes anomaly';
  const unusual = e.features.filter((f) => f.unusual).slice(0, 3);
  const unit = robust ? 'robust SDs' : 'SDs';
  const feats = unusual.length
    ? `Most unusual: ${unusual.map((f) => `${f.feature} = ${fmt(f.value)} (${fmt(Math.abs(f.z))} ${unit} ${f.z > 0 ? 'above' : 'below'} training)`).join('; ')}.`
    : `No feature is beyond ${unusualZ} ${unit} of training; the largest deviation is ${e.topFeature} (z ${fmt(e.features[0].z)}).`;
  const recon = e.topReconstructionFeature
    ? ` ${e.topReconstructionFeature} has the largest share of the autoencoder's reconstruction error (${Math.round(100 * e.features.find((f) => f.feature === e.topReconstructionFeature)!.reconstructionShare!)}%).`
    : '';
  return `Row ${e.row}: ${verdict} (${rule}; severity ${e.severity}); ${votes}. ${feats}${recon}`;
}

/** One line per feature of an explanation, for {@link showTable} and DataFrames. */
export interface ExplanationTableRow {
  feature: string;
  value: number;
  reference: number;
  z: number;
  percentile?: number;
  unusual: boolean;
  reconstruction_share?: number;
  [key: string]: string | number | boolean | undefined;
}

/**
 * An explanation's features as table rows (most unusual first), numbers rounded for display.
 * @example
 * ```ts
 * showTable(explanationTable(explainRow(ens, data, 17)), { caption: 'Row 17' });
 * ```
 */
export function explanationTable(e: RowExplanation): ExplanationTableRow[] {
  const r4 = (v: number) => Number(v.toPrecision(4));
  return e.features.map((f) => {
    const row: ExplanationTableRow = { feature: f.feature, value: r4(f.value), reference: r4(f.reference), z: r4(f.z), unusual: f.unusual };
    if (f.percentile !== undefined) row.percentile = r4(f.percentile);
    if (f.reconstructionShare !== undefined) row.reconstruction_share = r4(f.reconstructionShare);
    return row;
  });
}

/**
 * An explanation's detectors as table rows: vote, score, threshold, margin, weight and the share
 * of the ensemble score.
 */
export function detectorTable(e: RowExplanation): Record<string, string | number>[] {
  const r4 = (v: number) => Number(v.toPrecision(4));
  return e.detectors.map((d) => ({
    detector: d.label,
    vote: d.vote,
    score: r4(d.score),
    threshold: r4(d.threshold),
    margin: r4(d.margin),
    weight: r4(d.weight),
    contribution: r4(d.contribution),
  }));
}

/** Indices of the rows a result flags, highest ensemble score first (ties by index): what to explain or review first. */
export function flaggedRows(r: DetectionResult): number[] {
  const idx: number[] = [];
  for (let i = 0; i < r.isAnomaly.length; i++) if (r.isAnomaly[i]) idx.push(i);
  return idx.sort((a, b) => r.ensembleScore[b] - r.ensembleScore[a] || a - b);
}
