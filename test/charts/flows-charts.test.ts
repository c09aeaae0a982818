/** Flow charts: JSON snapshots of small hand-made inputs, and their checks. */
import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/capture/columns';
import { flaggedFlowsChart, flowsOverTimeChart, topTalkersChart } from '../../src/charts/flows';
import type { DetectionResult } from '../../src/ensemble/ensemble';

function flow(t: string, src: string, dst: string, dport: number, packets: number, bytes: number, duration: number): FlowRecord {
  const zero = Object.fromEntries(
    ['fwd_payload_bytes', 'bwd_payload_bytes', 'fwd_pkt_len_min', 'fwd_pkt_len_max', 'fwd_pkt_len_mean', 'fwd_pkt_len_std', 'bwd_pkt_len_min', 'bwd_pkt_len_max', 'bwd_pkt_len_mean', 'bwd_pkt_len_std', 'pkt_len_min', 'pkt_len_max', 'pkt_len_mean', 'pkt_len_std', 'bytes_per_s', 'packets_per_s', 'fwd_packets_per_s', 'bwd_packets_per_s', 'flow_iat_mean', 'flow_iat_std', 'flow_iat_min', 'flow_iat_max', 'fwd_iat_total', 'fwd_iat_mean', 'fwd_iat_std', 'fwd_iat_min', 'fwd_iat_max', 'bwd_iat_total', 'bwd_iat_mean', 'bwd_iat_std', 'bwd_iat_min', 'bwd_iat_max', 'syn_count', 'fin_count', 'rst_count', 'psh_count', 'ack_count', 'urg_count', 'fwd_header_bytes', 'bwd_header_bytes', 'fragments'].map((k) => [k, 0]),
  );
  return { ...(zero as object), timestamp: t, src_ip: src, src_port: 40000, dst_ip: dst, dst_port: dport, protocol: 'tcp', end_reason: 'fin', duration, fwd_packets: Math.ceil(packets / 2), bwd_packets: Math.floor(packets / 2), fwd_bytes: Math.round(bytes / 3), bwd_bytes: bytes - Math.round(bytes / 3), fwd_init_win: 64240, bwd_init_win: 65160 } as FlowRecord;
}

const flows = [
  flow('2024-03-04T09:00:01.000000Z', '10.0.0.1', '192.0.2.1', 443, 20, 30000, 1.5),
  flow('2024-03-04T09:00:40.500000Z', '10.0.0.2', '192.0.2.1', 443, 12, 9000, 0.4),
  flow('2024-03-04T09:02:10.000000Z', '10.0.0.1', '192.0.2.7', 80, 8, 2500, 0.2),
  flow('2024-03-04T09:03:00.000001Z', '198.51.100.23', '10.0.0.5', 22, 2, 114, 0.0002),
  flow('2024-03-04T09:03:00.001000Z', '198.51.100.23', '10.0.0.5', 23, 2, 114, 0),
  flow('2024-03-04T09:04:30.000000Z', '10.0.0.3', '10.0.0.2', 53, 2, 220, 0.01),
];
const result = {
  detectors: [],
  scores: {},
  votes: {},
  voteCount: Uint8Array.from([0, 0, 1, 4, 4, 0]),
  isAnomaly: Uint8Array.from([0, 0, 1, 1, 1, 0]),
  confidence: new Float64Array(6),
  severity: ['none', 'none', 'low', 'high', 'high', 'none'],
  ensembleScore: new Float64Array(6),
  ensembleThreshold: 1,
} as unknown as DetectionResult;

describe('flow charts', () => {
  it('flows over time, stacked by group', () => {
    const fig = flowsOverTimeChart(flows, ['normal', 'normal', 'normal', 'scan', 'scan', 'normal'], { bins: 5 });
    expect(fig.data.map((t) => [t.name, t.y])).toEqual([
      ['normal (4)', [2, 0, 1, 0, 1]],
      ['scan (2)', [0, 0, 0, 2, 0]],
    ]);
    expect(fig).toMatchSnapshot();
    expect(flowsOverTimeChart(flows).data).toHaveLength(1);
    expect(() => flowsOverTimeChart(flows, ['normal'])).toThrow(RangeError);
  });

  it('top talkers by flows and by bytes, flagged share stacked', () => {
    const fig = topTalkersChart(flows, result.isAnomaly, { top: 3 });
    expect(fig.data.map((t) => [t.name, t.y, t.x])).toEqual([
      ['not flagged', ['10.0.0.2', '198.51.100.23', '10.0.0.1'], [1, 0, 1]],
      ['flagged', ['10.0.0.2', '198.51.100.23', '10.0.0.1'], [0, 2, 1]],
    ]);
    expect(topTalkersChart(flows, undefined, { by: 'pair', measure: 'bytes', top: 2 })).toMatchSnapshot();
  });

  it('flows by duration and size, flagged by severity', () => {
    const fig = flaggedFlowsChart(flows, result);
    expect(fig.data.map((t) => [t.name, t.x])).toEqual([
      ['not flagged (3)', [1.5, 0.4, 0.01]],
      ['flagged, low (1)', [0.2]],
      ['flagged, high (2)', [0.0002, 0.000001]],
    ]);
    expect(fig.layout.title.text).toBe('Flows by duration and size: 3 of 6 flagged');
    expect(fig).toMatchSnapshot();
  });
});
