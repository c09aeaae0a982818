/**
 * Column descriptions. The seed's 10 traffic features are the default; any labelled CSV plugs in
 * through a {@link DatasetSchema} naming its feature, label and timestamp columns.
 */

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
  /** Numeric feature columns, in model order. All are required. */
  features: readonly string[];
  /** The label column (optional in the file unless {@link requireLabel}). @defaultValue "label" */
  label?: string;
  /**
   * Label values that mean "normal". When omitted the label must be 0 (normal) or 1 (anomaly).
   */
  normalLabels?: readonly string[];
  /** Timestamp column (optional in the file). @defaultValue "timestamp" */
  timestamp?: string;
  /** Fail when the label column is absent. @defaultValue false */
  requireLabel?: boolean;
}

/** The seed traffic schema: 10 features, optional `label` (0/1) and `timestamp`. */
export const SEED_SCHEMA: DatasetSchema = {
  name: 'seed',
  features: SEED_FEATURES,
  label: 'label',
  timestamp: 'timestamp',
};
