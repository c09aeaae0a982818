/**
 * A synthetic stand-in for network-flow datasets nobody here has (CICFlowMeter or Zeek exports,
 * UNSW-NB15): wide, heavy-tailed flow records described only by a dataset description (features
 * "rest", three categorical columns, a label with its normal value). Written for the quality
 * benchmark's "data not tuned on" check (bench/quality.mjs) and never used to choose a default.
 *
 *   import { generateFlows } from './flows.mjs';
 *   const { csv, description } = generateFlows(nal, { rows: 20000, attackShare: 0.1, seed: 1 });
 *
 * Normal traffic is a mixture of service profiles (web, TLS, DNS, SSH sessions, bulk transfers,
 * NTP, mail) with log-normal and Pareto byte, packet and time columns whose scale spans several
 * orders of magnitude, per-flow counts and rates derived from them, TCP flag counts, header lengths
 * and window sizes (-1 when unknown, as CICFlowMeter writes), idle/active times that are mostly 0,
 * and host-level counters (connections to the same host or service in a window). Attacks come in
 * classes of different shape: SYN flood and UDP flood (dense, global), port scan (tiny flows to
 * many ports), SSH/FTP brute force (small sessions that look like logins, a local anomaly), slow
 * HTTP DoS (long, nearly empty connections), exfiltration over TLS (huge uploads), and botnet
 * beacons (small, regular flows to an odd port). A few scored rows carry a negative header length,
 * as some exporters write.
 */

const SERVICES = ['http', 'https', 'dns', 'ssh', 'ftp', 'smtp', 'ntp', 'imap', 'rdp', 'other'];
const STATES = ['SF', 'S0', 'REJ', 'RSTO', 'RSTR', 'SH', 'S1', 'OTH'];

/** Feature columns in file order (besides flow_id, Label). */
export const FLOW_COLUMNS = [
  'proto', 'service', 'conn_state', 'dst_port', 'duration',
  'fwd_packets', 'bwd_packets', 'fwd_bytes', 'bwd_bytes',
  'fwd_pkt_len_mean', 'bwd_pkt_len_mean', 'fwd_pkt_len_max', 'bwd_pkt_len_max',
  'flow_bytes_s', 'flow_packets_s', 'iat_mean', 'iat_std', 'iat_max',
  'fwd_iat_mean', 'bwd_iat_mean', 'syn_count', 'fin_count', 'rst_count', 'psh_count', 'ack_count', 'urg_count',
  'fwd_header_len', 'bwd_header_len', 'init_win_fwd', 'init_win_bwd',
  'active_mean', 'idle_mean', 'down_up_ratio', 'ttl', 'same_host_count', 'same_srv_rate',
  'diff_srv_rate', 'dst_host_count', 'dst_host_srv_count', 'serror_rate', 'rerror_rate',
];

/** The dataset description a user would write for these files. */
export const FLOW_DESCRIPTION = {
  name: 'flows',
  features: 'rest',
  categorical: ['proto', 'service', 'conn_state'],
  label: 'Label',
  normalLabels: ['BENIGN'],
  ignore: ['flow_id'],
};

/**
 * Generate flow records.
 * @param nal - the library (for its seeded generator)
 * @param opts.rows - number of rows
 * @param opts.attackShare - share of attack rows in [0, 1)
 * @param opts.seed - seed of every draw
 * @param opts.negativeHeaders - share of rows whose fwd_header_len is written negative (an exporter bug)
 * @returns the CSV text (header `flow_id, ...features, Label`) and the description
 */
export function generateFlows(nal, { rows, attackShare, seed, negativeHeaders = 0 }) {
  const rng = new nal.Random(seed);
  const u = () => rng.random();
  const normal = (m, s) => rng.normal(m, s);
  const logn = (mu, sigma) => Math.exp(normal(mu, sigma));
  const pareto = (scale, alpha) => scale / Math.pow(1 - u(), 1 / alpha);
  const int = (n) => rng.int(n);
  const pick = (values, p) => {
    let r = u();
    for (let i = 0; i < values.length; i++) {
      r -= p[i];
      if (r < 0) return values[i];
    }
    return values[values.length - 1];
  };
  const poisson = (lambda) => {
    // Knuth for small lambda, normal approximation above
    if (lambda > 30) return Math.max(0, Math.round(normal(lambda, Math.sqrt(lambda))));
    const L = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= u();
    } while (p > L);
    return k - 1;
  };

  /** A flow from its essentials; everything else is derived. */
  const flow = (f) => {
    const dur = Math.max(f.duration, 1e-6);
    const fp = Math.max(1, Math.round(f.fwdPackets));
    const bp = Math.max(0, Math.round(f.bwdPackets));
    const fb = Math.max(0, Math.round(f.fwdBytes));
    const bb = bp === 0 ? 0 : Math.max(0, Math.round(f.bwdBytes));
    const pk = fp + bp;
    const iatMean = pk > 1 ? dur / (pk - 1) : 0;
    const iatStd = iatMean * (f.iatCv ?? 1.2) * (0.5 + u());
    const fwdMean = fb / fp;
    const bwdMean = bp ? bb / bp : 0;
    const tcp = f.proto === 'tcp';
    const syn = tcp ? (f.syn ?? 1 + (u() < 0.02 ? 1 : 0)) : 0;
    const fin = tcp ? (f.fin ?? (f.state === 'SF' ? 2 : 0)) : 0;
    const rst = tcp ? (f.rst ?? (f.state === 'RSTO' || f.state === 'RSTR' || f.state === 'REJ' ? 1 : 0)) : 0;
    const psh = tcp ? (f.psh ?? Math.round(pk * (0.2 + 0.3 * u()))) : 0;
    const ack = tcp ? (f.ack ?? Math.max(0, pk - 1)) : 0;
    const hdr = tcp ? 20 + 12 * (u() < 0.8 ? 1 : 0) : f.proto === 'udp' ? 8 : 8;
    const idle = u() < (f.idleShare ?? 0.15) ? logn(Math.log(Math.max(dur, 1e-3) * 0.6), 0.8) : 0;
    const active = idle > 0 ? Math.max(0, dur - idle) : 0;
    return [
      f.proto,
      f.service,
      f.state,
      f.port,
      dur,
      fp,
      bp,
      fb,
      bb,
      fwdMean,
      bwdMean,
      fb > 0 ? Math.min(1500, Math.round(fwdMean * (1 + u()))) : 0,
      bb > 0 ? Math.min(1500, Math.round(bwdMean * (1 + u()))) : 0,
      (fb + bb) / dur,
      pk / dur,
      iatMean,
      iatStd,
      iatMean * (1 + 3 * u()),
      fp > 1 ? dur / (fp - 1) : 0,
      bp > 1 ? dur / (bp - 1) : 0,
      syn,
      fin,
      rst,
      psh,
      ack,
      tcp && u() < 0.001 ? 1 : 0,
      fp * hdr,
      bp * hdr,
      tcp ? (f.winFwd ?? pick([8192, 29200, 64240, 65535], [0.2, 0.3, 0.35, 0.15])) : -1,
      tcp && bp > 0 ? (f.winBwd ?? pick([-1, 28960, 65160, 65535], [0.1, 0.3, 0.4, 0.2])) : -1,
      active,
      idle,
      fb > 0 ? Math.round(bb / fb) : 0,
      f.ttl ?? pick([64, 128, 255], [0.6, 0.35, 0.05]),
      Math.max(1, Math.round(f.sameHost ?? logn(1, 0.9))),
      f.sameSrvRate ?? Math.min(1, Math.max(0, normal(0.85, 0.12))),
      f.diffSrvRate ?? Math.min(1, Math.max(0, Math.abs(normal(0.05, 0.06)))),
      Math.min(255, Math.max(1, Math.round(f.dstHost ?? logn(3.5, 1)))),
      Math.min(255, Math.max(1, Math.round(f.dstHostSrv ?? logn(3, 1.1)))),
      f.serror ?? Math.min(1, Math.abs(normal(0, 0.02))),
      f.rerror ?? Math.min(1, Math.abs(normal(0, 0.03))),
    ];
  };

  const NORMAL_PROFILES = [
    // [weight, make]
    [0.3, () => { const pk = pareto(4, 1.3); return flow({ proto: 'tcp', service: 'http', state: pick(['SF', 'RSTO', 'S1'], [0.9, 0.07, 0.03]), port: 80, duration: logn(-0.5, 1.5), fwdPackets: pk, bwdPackets: pk * (1 + u()), fwdBytes: pk * logn(5.5, 0.6), bwdBytes: pk * (1 + u()) * logn(6.6, 0.5) }); }],
    [0.25, () => { const pk = pareto(6, 1.2); return flow({ proto: 'tcp', service: 'https', state: pick(['SF', 'RSTO', 'S1'], [0.92, 0.05, 0.03]), port: 443, duration: logn(0, 1.6), fwdPackets: pk, bwdPackets: pk * (1.2 + u()), fwdBytes: pk * logn(5.8, 0.5), bwdBytes: pk * (1.2 + u()) * logn(6.8, 0.4) }); }],
    [0.2, () => flow({ proto: 'udp', service: 'dns', state: 'SF', port: 53, duration: logn(-4, 1), fwdPackets: 1, bwdPackets: 1, fwdBytes: logn(4, 0.2), bwdBytes: logn(4.8, 0.5), idleShare: 0, sameHost: logn(2, 1) })],
    [0.06, () => { const pk = pareto(20, 1.1); return flow({ proto: 'tcp', service: 'ssh', state: 'SF', port: 22, duration: logn(4, 1.5), fwdPackets: pk, bwdPackets: pk * (0.9 + 0.3 * u()), fwdBytes: pk * logn(4.6, 0.4), bwdBytes: pk * logn(5, 0.5), idleShare: 0.6, iatCv: 3 }); }],
    [0.05, () => { const pk = pareto(200, 1.05); return flow({ proto: 'tcp', service: pick(['ftp', 'https', 'http'], [0.2, 0.5, 0.3]), state: 'SF', port: pick([21, 443, 80], [0.2, 0.5, 0.3]), duration: logn(2.5, 1.2), fwdPackets: pk * 0.4, bwdPackets: pk, fwdBytes: pk * 0.4 * 60, bwdBytes: pk * logn(7.2, 0.1) }); }],
    [0.05, () => flow({ proto: 'udp', service: 'ntp', state: 'SF', port: 123, duration: logn(-3, 0.5), fwdPackets: 1, bwdPackets: 1, fwdBytes: 48, bwdBytes: 48, idleShare: 0, sameHost: 1 + int(3) })],
    [0.05, () => { const pk = pareto(10, 1.4); return flow({ proto: 'tcp', service: pick(['smtp', 'imap'], [0.5, 0.5]), state: 'SF', port: pick([25, 993], [0.5, 0.5]), duration: logn(0.5, 1), fwdPackets: pk, bwdPackets: pk * 0.8, fwdBytes: pk * logn(6, 0.8), bwdBytes: pk * 0.8 * logn(4.5, 0.4) }); }],
    [0.03, () => { const pk = pareto(50, 1.2); return flow({ proto: 'tcp', service: 'rdp', state: 'SF', port: 3389, duration: logn(5, 1), fwdPackets: pk, bwdPackets: pk * 2, fwdBytes: pk * logn(4.5, 0.3), bwdBytes: pk * 2 * logn(6.5, 0.5), idleShare: 0.5 }); }],
    [0.01, () => flow({ proto: 'icmp', service: 'other', state: 'OTH', port: 0, duration: logn(-2, 1), fwdPackets: 1 + int(4), bwdPackets: 1 + int(4), fwdBytes: 64 * (1 + int(4)), bwdBytes: 64 * (1 + int(4)) })],
  ];

  const ATTACKS = [
    // [label, weight, make]
    ['DoS-SYN', 0.25, () => flow({ proto: 'tcp', service: pick(['http', 'https'], [0.6, 0.4]), state: 'S0', port: pick([80, 443], [0.6, 0.4]), duration: logn(-7, 1), fwdPackets: 1 + (u() < 0.1 ? 1 : 0), bwdPackets: 0, fwdBytes: 0, bwdBytes: 0, syn: 1, fin: 0, psh: 0, ack: 0, sameHost: logn(5, 0.3), sameSrvRate: 1, dstHost: 255, dstHostSrv: 255, serror: Math.min(1, normal(0.98, 0.02)), idleShare: 0, ttl: pick([64, 255], [0.5, 0.5]) })],
    ['DoS-UDP', 0.1, () => flow({ proto: 'udp', service: 'other', state: 'S0', port: 1024 + int(60000), duration: logn(-6, 0.5), fwdPackets: 1, bwdPackets: 0, fwdBytes: logn(7, 0.05), bwdBytes: 0, sameHost: logn(5.5, 0.2), dstHost: 255, idleShare: 0 })],
    ['PortScan', 0.2, () => flow({ proto: 'tcp', service: 'other', state: pick(['REJ', 'S0', 'RSTR'], [0.6, 0.3, 0.1]), port: int(65536), duration: logn(-8, 1), fwdPackets: 1, bwdPackets: u() < 0.6 ? 1 : 0, fwdBytes: 0, bwdBytes: 0, syn: 1, fin: 0, psh: 0, ack: 0, winFwd: 1024, sameHost: logn(4, 0.5), sameSrvRate: Math.min(1, Math.abs(normal(0.05, 0.05))), diffSrvRate: Math.min(1, normal(0.9, 0.05)), dstHost: logn(5, 0.4), dstHostSrv: 1 + int(3), rerror: Math.min(1, normal(0.7, 0.2)), idleShare: 0 })],
    ['BruteForce-SSH', 0.15, () => { const pk = 18 + int(8); return flow({ proto: 'tcp', service: 'ssh', state: 'SF', port: 22, duration: logn(0.8, 0.3), fwdPackets: pk, bwdPackets: pk - 2, fwdBytes: pk * logn(4.7, 0.05), bwdBytes: (pk - 2) * logn(5, 0.05), sameHost: logn(3.5, 0.3), sameSrvRate: 1, dstHostSrv: logn(4.5, 0.3), idleShare: 0, iatCv: 0.3 }); }],
    ['BruteForce-FTP', 0.08, () => { const pk = 9 + int(4); return flow({ proto: 'tcp', service: 'ftp', state: pick(['SF', 'RSTO'], [0.7, 0.3]), port: 21, duration: logn(0, 0.3), fwdPackets: pk, bwdPackets: pk, fwdBytes: pk * 20, bwdBytes: pk * logn(4, 0.1), sameHost: logn(3, 0.3), sameSrvRate: 1, idleShare: 0, iatCv: 0.3 }); }],
    ['DoS-Slowloris', 0.07, () => flow({ proto: 'tcp', service: 'http', state: pick(['S1', 'SF'], [0.7, 0.3]), port: 80, duration: logn(4.5, 0.4), fwdPackets: 5 + int(20), bwdPackets: 1 + int(3), fwdBytes: (5 + int(20)) * 10, bwdBytes: 0, psh: 0, sameHost: logn(3.5, 0.4), sameSrvRate: 1, idleShare: 0.9, iatCv: 0.1 })],
    ['Exfiltration', 0.05, () => { const pk = logn(9, 0.6); return flow({ proto: 'tcp', service: 'https', state: 'SF', port: 443, duration: logn(5.5, 0.6), fwdPackets: pk, bwdPackets: pk * 0.3, fwdBytes: pk * logn(7.25, 0.03), bwdBytes: pk * 0.3 * 60, dstHost: 1, dstHostSrv: 1, sameHost: 1 }); }],
    ['Botnet', 0.1, () => flow({ proto: 'tcp', service: 'other', state: 'SF', port: pick([6667, 8080, 4444], [0.4, 0.4, 0.2]), duration: logn(-1, 0.1), fwdPackets: 4, bwdPackets: 3, fwdBytes: 4 * logn(4.2, 0.02), bwdBytes: 3 * logn(4.4, 0.02), iatCv: 0.05, sameHost: 1 + int(2), dstHost: 1 + int(3), idleShare: 0, ttl: 128 })],
  ];
  const normalCdf = [];
  let acc = 0;
  for (const [w] of NORMAL_PROFILES) normalCdf.push((acc += w));
  const attackCdf = [];
  acc = 0;
  for (const [, w] of ATTACKS) attackCdf.push((acc += w));
  const pickCdf = (cdf) => {
    const r = u() * cdf[cdf.length - 1];
    for (let i = 0; i < cdf.length; i++) if (r < cdf[i]) return i;
    return cdf.length - 1;
  };

  const lines = [['flow_id', ...FLOW_COLUMNS, 'Label'].join(',')];
  const fmt = (v) => (typeof v === 'string' ? v : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(8))));
  for (let i = 0; i < rows; i++) {
    const attack = u() < attackShare;
    let cells;
    let label;
    if (attack) {
      const k = pickCdf(attackCdf);
      label = ATTACKS[k][0];
      cells = ATTACKS[k][2]();
    } else {
      label = 'BENIGN';
      cells = NORMAL_PROFILES[pickCdf(normalCdf)][1]();
    }
    if (negativeHeaders > 0 && u() < negativeHeaders) cells[26] = -cells[26] - 1;
    lines.push([`f${seed}-${i}`, ...cells.map(fmt), label].join(','));
  }
  return { csv: lines.join('\n') + '\n', description: FLOW_DESCRIPTION };
}
