/**
 * The columns of a flow row (`nal flows`, {@link captureFlows}): names, order and types. Defined
 * one by one in docs/FLOWS.md. No imports, so that dataset descriptions can name the columns.
 */

/** Why a flow ended. */
export type FlowEndReason = 'fin' | 'rst' | 'idle' | 'active' | 'end';

/**
 * One flow: the keys are the CSV columns ({@link FLOW_COLUMNS}, defined in docs/FLOWS.md). Times in
 * seconds, lengths in bytes.
 */
export interface FlowRecord {
  timestamp: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  protocol: string;
  end_reason: FlowEndReason;
  duration: number;
  fwd_packets: number;
  bwd_packets: number;
  fwd_bytes: number;
  bwd_bytes: number;
  fwd_payload_bytes: number;
  bwd_payload_bytes: number;
  fwd_pkt_len_min: number;
  fwd_pkt_len_max: number;
  fwd_pkt_len_mean: number;
  fwd_pkt_len_std: number;
  bwd_pkt_len_min: number;
  bwd_pkt_len_max: number;
  bwd_pkt_len_mean: number;
  bwd_pkt_len_std: number;
  pkt_len_min: number;
  pkt_len_max: number;
  pkt_len_mean: number;
  pkt_len_std: number;
  bytes_per_s: number;
  packets_per_s: number;
  fwd_packets_per_s: number;
  bwd_packets_per_s: number;
  flow_iat_mean: number;
  flow_iat_std: number;
  flow_iat_min: number;
  flow_iat_max: number;
  fwd_iat_total: number;
  fwd_iat_mean: number;
  fwd_iat_std: number;
  fwd_iat_min: number;
  fwd_iat_max: number;
  bwd_iat_total: number;
  bwd_iat_mean: number;
  bwd_iat_std: number;
  bwd_iat_min: number;
  bwd_iat_max: number;
  syn_count: number;
  fin_count: number;
  rst_count: number;
  psh_count: number;
  ack_count: number;
  urg_count: number;
  fwd_header_bytes: number;
  bwd_header_bytes: number;
  fwd_init_win: number;
  bwd_init_win: number;
  fragments: number;
}

/** The identifying columns of a flow row: who talked to whom, when, and why the flow ended. */
export const FLOW_IDENTIFIERS = ['timestamp', 'src_ip', 'src_port', 'dst_ip', 'dst_port', 'protocol', 'end_reason'] as const;

/** Every column of a flow row, in CSV order (identifiers first, then the features). */
export const FLOW_COLUMNS: readonly (keyof FlowRecord)[] = [
  ...FLOW_IDENTIFIERS,
  'duration',
  'fwd_packets',
  'bwd_packets',
  'fwd_bytes',
  'bwd_bytes',
  'fwd_payload_bytes',
  'bwd_payload_bytes',
  'fwd_pkt_len_min',
  'fwd_pkt_len_max',
  'fwd_pkt_len_mean',
  'fwd_pkt_len_std',
  'bwd_pkt_len_min',
  'bwd_pkt_len_max',
  'bwd_pkt_len_mean',
  'bwd_pkt_len_std',
  'pkt_len_min',
  'pkt_len_max',
  'pkt_len_mean',
  'pkt_len_std',
  'bytes_per_s',
  'packets_per_s',
  'fwd_packets_per_s',
  'bwd_packets_per_s',
  'flow_iat_mean',
  'flow_iat_std',
  'flow_iat_min',
  'flow_iat_max',
  'fwd_iat_total',
  'fwd_iat_mean',
  'fwd_iat_std',
  'fwd_iat_min',
  'fwd_iat_max',
  'bwd_iat_total',
  'bwd_iat_mean',
  'bwd_iat_std',
  'bwd_iat_min',
  'bwd_iat_max',
  'syn_count',
  'fin_count',
  'rst_count',
  'psh_count',
  'ack_count',
  'urg_count',
  'fwd_header_bytes',
  'bwd_header_bytes',
  'fwd_init_win',
  'bwd_init_win',
  'fragments',
];

