/**
 * Small hand-made files in the formats of the real datasets (no ../shared needed): NSL-KDD rows
 * (no header, 41 features, attack name, difficulty) and ODDS/ADBench http/smtp rows.
 */
import { NSL_KDD_FEATURES } from '../../src/data/schema';

const CATEGORICAL = new Set(['protocol_type', 'service', 'flag']);

/** One NSL-KDD line: categorical values given, numeric features derived from `v`. */
export function nslLine(protocol: string, service: string, flag: string, label: string, v: number, difficulty = 20): string {
  const cells = NSL_KDD_FEATURES.map((f, j) => {
    if (f === 'protocol_type') return protocol;
    if (f === 'service') return service;
    if (f === 'flag') return flag;
    if (f === 'num_outbound_cmds') return '0'; // always 0 in NSL-KDD
    if (f.endsWith('_rate')) return (((v * 7 + j) % 100) / 100).toFixed(2);
    return String((v * 13 + j * 5) % 50);
  });
  return [...cells, label, String(difficulty)].join(',');
}

const SERVICES = ['http', 'private', 'smtp', 'ftp_data', 'domain_u'];
const FLAGS = ['SF', 'S0', 'REJ'];

/**
 * `n` NSL-KDD lines (LF endings, trailing newline): every 6th row an attack ('neptune' or
 * 'satan', flag S0), the others 'normal'. `extraService` puts a service into the last row that the first
 * rows lack.
 */
export function nslText(n = 30, opts: { extraService?: string; offset?: number } = {}): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = i + (opts.offset ?? 0);
    const attack = k % 6 === 5;
    const service = opts.extraService && i === n - 1 ? opts.extraService : SERVICES[k % SERVICES.length];
    const proto = service === 'domain_u' ? 'udp' : k % 7 === 6 ? 'icmp' : 'tcp';
    lines.push(nslLine(proto, service, attack ? 'S0' : FLAGS[k % 2 === 0 ? 0 : 2], attack ? (k % 2 ? 'neptune' : 'satan') : 'normal', k));
  }
  return lines.join('\n') + '\n';
}

/** ODDS/ADBench http-format CSV: header, three log-scaled features, 0/1 label. */
export function oddsText(n = 40): string {
  const lines = ['log_duration,log_src_bytes,log_dst_bytes,label'];
  for (let i = 0; i < n; i++) {
    const anomaly = i % 10 === 9;
    const f = (x: number) => String(Math.log(x + 0.1));
    lines.push([f(anomaly ? 50 + i : 0), f(anomaly ? 9000 + i : 200 + (i % 7) * 10), f(anomaly ? 10 : 3000 + (i % 5) * 100), anomaly ? '1' : '0'].join(','));
  }
  return lines.join('\n') + '\n';
}
