/**
 * Column descriptions. A {@link DatasetSchema} says which columns of a CSV are features (numeric or
 * categorical), which is the label and which label values mean normal, and whether the file has a
 * header. Built in: the seed traffic ({@link SEED_SCHEMA}), NSL-KDD ({@link NSL_KDD_SCHEMA}), the
 * ODDS/ADBench KDD'99 http and smtp CSVs ({@link ODDS_SCHEMA}), flow rows of `nal flows`
 * ({@link FLOWS_SCHEMA}), Zeek conn.log ({@link ZEEK_CONN_SCHEMA}) and CICFlowMeter / CIC-IDS CSVs
 * ({@link CICFLOWMETER_SCHEMA}); any other labelled CSV plugs in through a description file read
 * by {@link loadDatasetSchema}.
 */
import * as fs from 'node:fs';
import { FLOW_COLUMNS, FLOW_IDENTIFIERS } from '../capture/columns';
import { DataValidationError } from '../core/errors';
import { recordDataFile } from '../core/provenance';

/** The 10 features of the seed traffic data, in model order. */
export const SEED_FEATURES = [
  'packet_size',
  'duration',
  'src_bytes',
  'dst_bytes',
  'protocol_type',
  'flag',
  'src_port',
  'dst_port',
  'packet_rate',
  'error_rate',
] as const;

/** Units of the seed features, for axis labels. */
export const SEED_FEATURE_UNITS: Readonly<Record<string, string>> = {
  packet_size: 'bytes',
  duration: 's',
  src_bytes: 'bytes',
  dst_bytes: 'bytes',
  protocol_type: 'code (0 TCP, 1 UDP, 2 ICMP)',
  flag: 'code',
  src_port: 'port',
  dst_port: 'port',
  packet_rate: 'packets/s',
  error_rate: '%',
};

/** Which columns of a CSV are what. */
export interface DatasetSchema {
  /** A short name shown in messages, e.g. `"seed"`. */
  name: string;
  /**
   * Feature columns, in model order, all required; or `"rest"`: every column that is not the
   * label, the timestamp or in {@link ignore}, in file order.
   */
  features: readonly string[] | 'rest';
  /**
   * Features holding categories (text such as `tcp`, or codes). They are one-hot encoded with the
   * categories learned from the training rows (see {@link TrafficEncoder}); a category not seen in
   * training encodes as all zeros and is counted in a warning. @defaultValue none
   */
  categorical?: readonly string[];
  /** The label column (optional in the file unless {@link requireLabel}). @defaultValue "label" */
  label?: string;
  /**
   * Label values that mean "normal"; every other value is an anomaly. When omitted the label must
   * be 0 (normal) or 1 (anomaly).
   */
  normalLabels?: readonly string[];
  /** Timestamp column (optional in the file). @defaultValue "timestamp" */
  timestamp?: string;
  /** Fail when the label column is absent. @defaultValue false */
  requireLabel?: boolean;
  /**
   * Whether the first line is a header. With `false`, {@link columns} names the columns; a first
   * line equal to those names is still recognised as a header and skipped. @defaultValue true
   */
  header?: boolean;
  /** Names of all columns, in file order, for files without a header. */
  columns?: readonly string[];
  /** Columns that are neither features, label nor timestamp, dropped without a warning. */
  ignore?: readonly string[];
  /**
   * Numeric features replaced by ln(1 + x) before scaling (values must be above -1): a list, or
   * `"numeric"` for every numeric feature. For heavy-tailed counts and byte totals, whose raw
   * values let a few huge rows dominate the scaler and every distance. The columns keep their
   * names. @defaultValue none
   */
  log1p?: readonly string[] | 'numeric';
  /**
   * How the file is written: `csv`, or `zeek`: a Zeek log, tab-separated with its `#fields`
   * header lines or in JSON lines (see {@link parseZeekLog}; an unset numeric field is an empty
   * cell). @defaultValue "csv"
   */
  format?: 'csv' | 'zeek';
  /**
   * A column name that appears twice in the header: an error, or `rename`: the second becomes
   * `name.1`, the third `name.2` (pandas' convention; CIC-IDS2017's CSVs repeat `Fwd Header
   * Length`). @defaultValue "error"
   */
  duplicateColumns?: 'error' | 'rename';
  /**
   * Values for empty cells of numeric features, per column: such a cell reads as this number
   * instead of making its row one that cannot be encoded (Zeek leaves `duration` and the byte
   * counts unset when it did not measure them, e.g. for a connection that was never answered).
   */
  fill?: Readonly<Record<string, number>>;
}

/** The seed traffic schema: 10 features, optional `label` (0/1) and `timestamp`. */
export const SEED_SCHEMA: DatasetSchema = {
  name: 'seed',
  features: SEED_FEATURES,
  label: 'label',
  timestamp: 'timestamp',
};

/** The 41 NSL-KDD (KDD'99) features, in file order. */
export const NSL_KDD_FEATURES = [
  'duration', 'protocol_type', 'service', 'flag', 'src_bytes', 'dst_bytes', 'land', 'wrong_fragment',
  'urgent', 'hot', 'num_failed_logins', 'logged_in', 'num_compromised', 'root_shell', 'su_attempted',
  'num_root', 'num_file_creations', 'num_shells', 'num_access_files', 'num_outbound_cmds',
  'is_host_login', 'is_guest_login', 'count', 'srv_count', 'serror_rate', 'srv_serror_rate',
  'rerror_rate', 'srv_rerror_rate', 'same_srv_rate', 'diff_srv_rate', 'srv_diff_host_rate',
  'dst_host_count', 'dst_host_srv_count', 'dst_host_same_srv_rate', 'dst_host_diff_srv_rate',
  'dst_host_same_src_port_rate', 'dst_host_srv_diff_host_rate', 'dst_host_serror_rate',
  'dst_host_srv_serror_rate', 'dst_host_rerror_rate', 'dst_host_srv_rerror_rate',
] as const;

/**
 * NSL-KDD (Tavallaee et al. 2009: KDDTrain+.txt, KDDTest+.txt, KDDTrain+_20Percent.txt,
 * KDDTest-21.txt): no header, 43 fields per row = 41 features, the attack name (`normal` for
 * normal traffic) and the difficulty level (ignored). protocol_type, service and flag are
 * categorical, so the model sees 38 numeric columns plus one column per category. The numeric
 * columns are log-scaled (ln(1 + x)): byte totals and durations span nine orders of magnitude,
 * and on KDDTest+ log scaling lifts the One-Class SVM's ROC-AUC from 0.944 to 0.965 and the
 * autoencoder's from 0.953 to 0.965 (bench/real-data.mjs, results/REAL_DATA.md).
 */
export const NSL_KDD_SCHEMA: DatasetSchema = {
  name: 'nsl-kdd',
  header: false,
  columns: [...NSL_KDD_FEATURES, 'label', 'difficulty'],
  features: NSL_KDD_FEATURES,
  categorical: ['protocol_type', 'service', 'flag'],
  label: 'label',
  normalLabels: ['normal'],
  ignore: ['difficulty'],
  log1p: 'numeric',
};

/**
 * The KDD'99 http and smtp subsets as exported from ODDS / ADBench (`16_http.npz`,
 * `34_smtp.npz`): header `log_duration,log_src_bytes,log_dst_bytes,label`, features ln(x + 0.1),
 * label 1 = attack.
 */
export const ODDS_SCHEMA: DatasetSchema = {
  name: 'odds',
  features: ['log_duration', 'log_src_bytes', 'log_dst_bytes'],
  label: 'label',
};

/** The features of a `nal flows` row: every column but the identifiers, plus `protocol`. */
export const FLOW_FEATURES: readonly string[] = ['protocol', ...FLOW_COLUMNS.filter((c) => !(FLOW_IDENTIFIERS as readonly string[]).includes(c))];

/**
 * Our own flow rows (`nal flows`, {@link captureFlows}; columns in docs/FLOWS.md): the
 * identifiers (addresses, ports, end reason) are not features, `timestamp` is the flow's start,
 * `protocol` is one-hot encoded, and the counts, byte totals, lengths, rates and times, which are
 * never negative and span many orders of magnitude, are log-scaled (the initial windows, -1 when
 * absent, are not). An optional `label` column: `normal`, `benign` or `0` are normal, anything
 * else an anomaly.
 */
export const FLOWS_SCHEMA: DatasetSchema = {
  name: 'flows',
  features: FLOW_FEATURES,
  categorical: ['protocol'],
  label: 'label',
  normalLabels: ['normal', 'benign', 'Benign', 'BENIGN', '0'],
  timestamp: 'timestamp',
  ignore: FLOW_IDENTIFIERS.filter((c) => c !== 'timestamp' && c !== 'protocol'),
  log1p: FLOW_FEATURES.filter((c) => c !== 'protocol' && c !== 'fwd_init_win' && c !== 'bwd_init_win'),
};

/** The numeric features of a Zeek conn.log (Zeek leaves them unset, `-`, when it did not measure them). */
const ZEEK_COUNTS = ['duration', 'orig_bytes', 'resp_bytes', 'missed_bytes', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes'];

/**
 * Zeek's conn.log (https://docs.zeek.org/en/master/logs/conn.html), tab-separated with its
 * `#fields` header or as JSON lines: the connection's protocol, service and state (categorical)
 * and its duration, byte and packet counts per direction (log-scaled; unset, as Zeek writes them
 * for connections it could not measure, read as 0). The identifiers (uid, addresses, ports), the
 * history string and the local flags are not features. An optional `label` column (IoT-23's
 * labelled logs): `Benign` / `benign` / `normal` are normal; `detailed-label` is ignored.
 */
export const ZEEK_CONN_SCHEMA: DatasetSchema = {
  name: 'zeek-conn',
  format: 'zeek',
  features: ['proto', 'service', 'conn_state', ...ZEEK_COUNTS],
  categorical: ['proto', 'service', 'conn_state'],
  label: 'label',
  normalLabels: ['Benign', 'benign', 'BENIGN', 'normal', 'Normal'],
  timestamp: 'ts',
  ignore: [
    'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'local_orig', 'local_resp', 'history', 'tunnel_parents',
    'orig_l2_addr', 'resp_l2_addr', 'vlan', 'inner_vlan', 'community_id', 'ip_proto', 'detailed-label',
  ],
  fill: Object.fromEntries(ZEEK_COUNTS.map((c) => [c, 0])),
  log1p: ZEEK_COUNTS,
};

/**
 * CICFlowMeter exports and the CIC-IDS2017 / CSE-CIC-IDS2018 / CIC-DDoS2019 CSVs: every column is a
 * feature except the identifiers (flow id, addresses, ports, protocol, timestamp) and the label
 * `Label` (`BENIGN` / `Benign` is normal). Both the original column names (CIC-IDS2017's, with
 * leading spaces, which are trimmed, and `Fwd Header Length` twice: the repeat becomes `Fwd Header
 * Length.1` and is left out) and the corrected ones of later CICFlowMeter versions and of the
 * corrected CIC-IDS2017 (`Src IP`, `Dst Port`, `Tot Fwd Pkts`, ...) are read. These exports hold
 * `Infinity` and `NaN` in the rate columns of flows with a zero duration: such rows need
 * `--bad-rows skip` (or `badRows: "skip"`), which leaves them out and lists them.
 */
export const CICFLOWMETER_SCHEMA: DatasetSchema = {
  name: 'cicflowmeter',
  features: 'rest',
  label: 'Label',
  normalLabels: ['BENIGN', 'Benign', 'benign'],
  timestamp: 'Timestamp',
  duplicateColumns: 'rename',
  ignore: [
    'Flow ID', 'Source IP', 'Src IP', 'Source Port', 'Src Port', 'Destination IP', 'Dst IP', 'Destination Port', 'Dst Port', 'Protocol',
    'Fwd Header Length.1', 'id', 'Attempted Category', 'Unnamed: 0', 'SimillarHTTP', 'Inbound',
  ],
};

/** Built-in descriptions by name (`--dataset NAME`). */
export const DATASETS: Readonly<Record<string, DatasetSchema>> = {
  seed: SEED_SCHEMA,
  'nsl-kdd': NSL_KDD_SCHEMA,
  odds: ODDS_SCHEMA,
  flows: FLOWS_SCHEMA,
  'zeek-conn': ZEEK_CONN_SCHEMA,
  cicflowmeter: CICFLOWMETER_SCHEMA,
};

const SCHEMA_KEYS = ['name', 'features', 'categorical', 'label', 'normalLabels', 'timestamp', 'requireLabel', 'header', 'columns', 'ignore', 'log1p', 'format', 'duplicateColumns', 'fill'];

/**
 * Check a description (from JSON or code) and return it typed.
 * @param raw - the parsed object
 * @param file - where it came from, for messages
 * @throws DataValidationError naming the file and the field that is wrong
 */
export function checkDatasetSchema(raw: unknown, file?: string): DatasetSchema {
  const fail = (msg: string): never => {
    throw new DataValidationError(`dataset description: ${msg}`, { file });
  };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('expected a JSON object.');
  const o = raw as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !SCHEMA_KEYS.includes(k));
  if (unknown.length) fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (known: ${SCHEMA_KEYS.join(', ')}).`);
  const strList = (k: string, nonEmpty: boolean): string[] | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '') || (nonEmpty && v.length === 0)) {
      fail(`'${k}' must be a ${nonEmpty ? 'non-empty ' : ''}list of column names.`);
    }
    const dup = (v as string[]).find((s, i) => (v as string[]).indexOf(s) !== i);
    if (dup !== undefined) fail(`'${k}' names '${dup}' twice.`);
    return v as string[];
  };
  const str = (k: string): string | undefined => {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'string' || v === '')) fail(`'${k}' must be a non-empty string.`);
    return v as string | undefined;
  };
  const bool = (k: string): boolean | undefined => {
    const v = o[k];
    if (v !== undefined && typeof v !== 'boolean') fail(`'${k}' must be true or false.`);
    return v as boolean | undefined;
  };
  const name = str('name') ?? 'custom';
  let features: DatasetSchema['features'];
  if (o.features === 'rest') features = 'rest';
  else if (o.features === undefined) fail(`'features' is required: a list of column names or "rest".`);
  else features = strList('features', true)!;
  const categorical = strList('categorical', false);
  const columns = strList('columns', true);
  const ignore = strList('ignore', false);
  let normalLabels: string[] | undefined;
  if (o.normalLabels !== undefined) {
    const v = o.normalLabels;
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'string' && typeof x !== 'number')) {
      fail(`'normalLabels' must be a non-empty list of label values.`);
    }
    normalLabels = (v as (string | number)[]).map(String);
  }
  let log1p: DatasetSchema['log1p'];
  if (o.log1p === 'numeric') log1p = 'numeric';
  else if (o.log1p !== undefined) log1p = strList('log1p', false);
  const oneOf = <T extends string>(k: string, values: readonly T[]): T | undefined => {
    const v = o[k];
    if (v !== undefined && !values.includes(v as T)) fail(`'${k}' must be ${values.map((x) => `"${x}"`).join(' or ')}.`);
    return v as T | undefined;
  };
  const format = oneOf('format', ['csv', 'zeek'] as const);
  const duplicateColumns = oneOf('duplicateColumns', ['error', 'rename'] as const);
  let fill: Record<string, number> | undefined;
  if (o.fill !== undefined) {
    const v = o.fill;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.entries(v).some(([k, x]) => k === '' || typeof x !== 'number' || !Number.isFinite(x))) {
      fail(`'fill' must map column names to finite numbers, e.g. {"duration": 0}.`);
    }
    fill = { ...(v as Record<string, number>) };
  }
  const schema: DatasetSchema = {
    name,
    features: features!,
    categorical,
    label: str('label'),
    normalLabels,
    timestamp: str('timestamp'),
    requireLabel: bool('requireLabel'),
    header: bool('header'),
    columns,
    ignore,
    log1p,
    format,
    duplicateColumns,
    fill,
  };
  for (const k of Object.keys(schema) as (keyof DatasetSchema)[]) if (schema[k] === undefined) delete schema[k];
  if (schema.header === false && !schema.columns) fail(`'header' is false, so 'columns' must name every column.`);
  if (schema.format === 'zeek' && (schema.header === false || schema.columns)) fail(`a Zeek log names its columns in its #fields line; leave out 'header' and 'columns'.`);
  if (schema.columns) {
    const have = new Set(schema.columns);
    const named = [
      ...(Array.isArray(schema.features) ? schema.features : []),
      ...(schema.categorical ?? []),
      ...(schema.ignore ?? []),
      ...(Array.isArray(schema.log1p) ? schema.log1p : []),
    ].filter((c) => !have.has(c));
    if (named.length) fail(`${named.map((c) => `'${c}'`).join(', ')} ${named.length > 1 ? 'are' : 'is'} not among 'columns'.`);
  }
  if (schema.categorical && Array.isArray(schema.features)) {
    const feats = new Set(schema.features);
    const stray = schema.categorical.filter((c) => !feats.has(c));
    if (stray.length) fail(`categorical column${stray.length > 1 ? 's' : ''} ${stray.map((c) => `'${c}'`).join(', ')} ${stray.length > 1 ? 'are' : 'is'} not among 'features'.`);
  }
  if (Array.isArray(schema.log1p) && schema.categorical) {
    const both = schema.log1p.filter((c) => schema.categorical!.includes(c));
    if (both.length) fail(`'${both[0]}' cannot be both categorical and log-scaled.`);
  }
  const label = schema.label ?? 'label';
  if (Array.isArray(schema.features) && schema.features.includes(label)) fail(`the label column '${label}' cannot also be a feature.`);
  return schema;
}

/**
 * Read a dataset description from a JSON file, e.g.
 * `{"name": "mine", "features": "rest", "categorical": ["proto"], "label": "class", "normalLabels": ["benign"]}`.
 * @throws DataValidationError for a missing file, invalid JSON or an invalid description
 */
export function loadDatasetSchema(file: string): DatasetSchema {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataValidationError(code === 'ENOENT' ? 'dataset description not found.' : `cannot read dataset description (${code}).`, { file });
  }
  recordDataFile(file, 'loadDatasetSchema');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DataValidationError(`dataset description is not valid JSON (${(e as Error).message}).`, { file });
  }
  return checkDatasetSchema(raw, file);
}

/**
 * A built-in description by name (`seed`, `nsl-kdd`, `odds`) or a description file's path.
 * @throws DataValidationError for an unknown name that is not a readable description file
 */
export function resolveDatasetSchema(nameOrFile: string): DatasetSchema {
  const builtIn = DATASETS[nameOrFile];
  if (builtIn) return builtIn;
  if (!nameOrFile.endsWith('.json') && !fs.existsSync(nameOrFile)) {
    throw new DataValidationError(
      `unknown dataset '${nameOrFile}': use one of ${Object.keys(DATASETS).join(', ')} or the path of a JSON description file.`,
    );
  }
  return loadDatasetSchema(nameOrFile);
}
