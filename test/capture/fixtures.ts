/** Captures for the capture tests: synthesized packets written in any layout, and packets built by hand. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCaptureFlows } from '../../src/capture/export';
import type { CaptureFlowOptions, FlowRecord } from '../../src/capture/flows';
import { synthesizePackets, type SynthOptions, type SynthSession } from '../../src/capture/synth';
import { addressBytes, CaptureWriter, writeCaptureFile, type CaptureWriterOptions, type PacketSpec } from '../../src/capture/writer';

/** A fresh temporary folder. */
export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nal-${name}-`));
}

/** A small synthesized capture's packets (2 minutes, every kind of traffic, attacks early) and its sessions. */
export function smallCapture(opts: SynthOptions = {}): { packets: PacketSpec[]; sessions: SynthSession[] } {
  const sessions: SynthSession[] = [];
  const packets = [
    ...synthesizePackets(
      {
        seed: 5,
        minutes: 2,
        webPerSecond: 0.5,
        dnsPerSecond: 1,
        sshPerHour: 60,
        attackAfter: 0.2,
        scanPorts: 40,
        bruteForceAttempts: 6,
        uploadKBps: 5,
        uploadMinutes: 0.3,
        ...opts,
      },
      (s) => sessions.push(s),
    ),
  ];
  return { packets, sessions };
}

/** Write packets and read the flows back. */
export async function flowsOf(
  dir: string,
  name: string,
  packets: readonly PacketSpec[],
  writer: CaptureWriterOptions = {},
  flowOpts: CaptureFlowOptions = {},
  interfaceOf?: (i: number) => number,
): Promise<{ file: string; flows: FlowRecord[]; warnings: string[] }> {
  const file = path.join(dir, name);
  writeCaptureFile(file, packets, writer, interfaceOf);
  const warnings: string[] = [];
  const { flows } = await loadCaptureFlows(file, { ...flowOpts, onWarning: (w) => warnings.push(w) });
  return { file, flows, warnings };
}

/** Capture bytes of packets (header first). */
export function captureBytes(packets: readonly PacketSpec[], opts: CaptureWriterOptions = {}): Buffer {
  const w = new CaptureWriter(opts);
  return Buffer.concat([w.header(), ...packets.map((p) => w.packet(p))]);
}

const T0 = 1_700_000_000;

/** A packet at `ms` milliseconds after a fixed second, between two IPv4 hosts. */
export function pkt(ms: number, fields: Partial<PacketSpec> & { from?: string; to?: string }): PacketSpec {
  const { from = '10.0.0.1', to = '10.0.0.2', ...rest } = fields;
  const us = Math.round(ms * 1000);
  return {
    seconds: T0 + Math.floor(us / 1e6),
    nanoseconds: (us % 1e6) * 1000,
    src: addressBytes(from),
    dst: addressBytes(to),
    protocol: 6,
    srcPort: 40000,
    dstPort: 80,
    payload: 0,
    ...rest,
  };
}

/** The same TCP packet from the other side (addresses and ports swapped). */
export function reply(ms: number, p: Partial<PacketSpec> & { from?: string; to?: string } = {}): PacketSpec {
  return pkt(ms, { from: '10.0.0.2', to: '10.0.0.1', srcPort: 80, dstPort: 40000, ...p });
}

/** Flows as plain rows without the given columns. */
export function without(flows: readonly FlowRecord[], cols: readonly string[]): Record<string, unknown>[] {
  return flows.map((f) => Object.fromEntries(Object.entries(f).filter(([k]) => !cols.includes(k))));
}

/** Environment for child processes running bundled sources (npm packages from node_modules). */
export const nodeEnv = { ...process.env, NODE_PATH: path.resolve(__dirname, '../../node_modules') };

/** Bundle the `nal` CLI from the TypeScript sources into `dir/nal.js` (npm packages left external). */
export async function buildNal(dir: string): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: { nal: path.resolve(__dirname, '../../src/cli/main.ts') },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outdir: dir,
    logLevel: 'error',
  });
  return path.join(dir, 'nal.js');
}

/** Whether the tests run in CI (where tshark and tcpdump are installed and nothing may skip). */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** The path of a command on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** One conversation of tshark's `-z conv,tcp` / `-z conv,udp` statistics. */
export interface TsharkConversation {
  protocol: 'tcp' | 'udp';
  a: string;
  aPort: number;
  b: string;
  bPort: number;
  /** Frames and bytes from B to A (`<-`) and from A to B (`->`). */
  framesToA: number;
  bytesToA: number;
  framesToB: number;
  bytesToB: number;
  /** The unit tshark truncated each byte count to (1 for `bytes`, 1000 for `kB`, ...). */
  unitToA: number;
  unitToB: number;
  relativeStart: number;
  duration: number;
}

const UNITS: Record<string, number> = { bytes: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/**
 * Run `tshark -q -z conv,tcp -z conv,udp` on a capture and parse its tables. tshark prints byte
 * counts from 10,000 up in kB (and MB, GB), truncated: `unitToA` / `unitToB` say by how much.
 */
export function tsharkConversations(file: string): TsharkConversation[] {
  const r = require('node:child_process').spawnSync('tshark', ['-n', '-r', file, '-q', '-z', 'conv,tcp', '-z', 'conv,udp'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  const out: TsharkConversation[] = [];
  let protocol: 'tcp' | 'udp' | undefined;
  for (const line of (r.stdout as string).split('\n')) {
    if (/^TCP Conversations/.test(line)) protocol = 'tcp';
    else if (/^UDP Conversations/.test(line)) protocol = 'udp';
    const m = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d,]+)\s+(bytes|kB|MB|GB)\s+(\d+)\s+([\d,]+)\s+(bytes|kB|MB|GB)\s+\d+\s+[\d,]+\s+(?:bytes|kB|MB|GB)\s+([\d.]+)\s+([\d.]+)\s*$/.exec(line);
    if (!m || !protocol) continue;
    const split = (ep: string) => {
      const k = ep.lastIndexOf(':');
      return [ep.slice(0, k), Number(ep.slice(k + 1))] as const;
    };
    const [a, aPort] = split(m[1]);
    const [b, bPort] = split(m[2]);
    out.push({
      protocol,
      a,
      aPort,
      b,
      bPort,
      framesToA: Number(m[3]),
      bytesToA: Number(m[4].replace(/,/g, '')) * UNITS[m[5]],
      unitToA: UNITS[m[5]],
      framesToB: Number(m[6]),
      bytesToB: Number(m[7].replace(/,/g, '')) * UNITS[m[8]],
      unitToB: UNITS[m[8]],
      relativeStart: Number(m[9]),
      duration: Number(m[10]),
    });
  }
  return out;
}

/** Compare flows with tshark's conversations: one flow per conversation, frames exact, bytes to tshark's truncation, times to its digits. */
export function compareWithTshark(flows: readonly FlowRecord[], convs: readonly TsharkConversation[]): { compared: number; mismatches: string[] } {
  const key = (proto: string, a: string, ap: number, b: string, bp: number) => {
    const x = `${a}|${ap}`;
    const y = `${b}|${bp}`;
    return x < y ? `${proto} ${x} ${y}` : `${proto} ${y} ${x}`;
  };
  const mine = new Map<string, FlowRecord[]>();
  for (const f of flows) {
    if (f.protocol !== 'tcp' && f.protocol !== 'udp') continue;
    const k = key(f.protocol, f.src_ip, f.src_port, f.dst_ip, f.dst_port);
    mine.set(k, [...(mine.get(k) ?? []), f]);
  }
  const first = flows.reduce((t, f) => Math.min(t, Date.parse(f.timestamp) / 1000 + fractionBeyondMs(f.timestamp)), Infinity);
  const mismatches: string[] = [];
  let compared = 0;
  const seen = new Set<string>();
  for (const c of convs) {
    const k = key(c.protocol, c.a, c.aPort, c.b, c.bPort);
    seen.add(k);
    const list = mine.get(k);
    if (!list || list.length !== 1) {
      mismatches.push(`${k}: ${list ? list.length : 0} flows for one tshark conversation`);
      continue;
    }
    const f = list[0];
    const aIsSrc = f.src_ip === c.a && f.src_port === c.aPort;
    const [toB, toA, bytesToB, bytesToA] = aIsSrc ? [f.fwd_packets, f.bwd_packets, f.fwd_bytes, f.bwd_bytes] : [f.bwd_packets, f.fwd_packets, f.bwd_bytes, f.fwd_bytes];
    // tshark truncates: 105,718 bytes is "105 kB"
    const near = (x: number, y: number, unit: number) => Math.floor(x / unit) * unit === y;
    const start = Date.parse(f.timestamp) / 1000 + fractionBeyondMs(f.timestamp) - first;
    const problems = [
      toB !== c.framesToB && `frames A->B ${toB} vs ${c.framesToB}`,
      toA !== c.framesToA && `frames B->A ${toA} vs ${c.framesToA}`,
      !near(bytesToB, c.bytesToB, c.unitToB) && `bytes A->B ${bytesToB} vs ${c.bytesToB}`,
      !near(bytesToA, c.bytesToA, c.unitToA) && `bytes B->A ${bytesToA} vs ${c.bytesToA}`,
      Math.abs(f.duration - c.duration) > 0.00005 + 1e-9 && `duration ${f.duration} vs ${c.duration}`,
      Math.abs(start - c.relativeStart) > 1e-6 && `start ${start} vs ${c.relativeStart}`,
    ].filter(Boolean);
    if (problems.length) mismatches.push(`${k}: ${problems.join(', ')}`);
    compared++;
  }
  for (const k of mine.keys()) if (!seen.has(k)) mismatches.push(`${k}: a flow tshark does not list`);
  return { compared, mismatches };
}

/** Sub-millisecond part (seconds) of an ISO time with micro- or nanoseconds. */
function fractionBeyondMs(iso: string): number {
  const m = /\.(\d+)Z$/.exec(iso);
  if (!m) return 0;
  const digits = m[1].padEnd(9, '0');
  return Number(digits.slice(3)) / 1e9;
}

/**
 * Exact frames and bytes per direction of every TCP and UDP 5-tuple, summed from tshark's own
 * dissection of each frame (`-T fields -e frame.len -e ip.src ...`): key `proto src|port dst|port`.
 */
export function tsharkFrameTotals(file: string): Map<string, { frames: number; bytes: number }> {
  const fields = ['frame.len', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport'];
  const args = ['-n', '-r', file, '-T', 'fields', '-E', 'separator=;', ...fields.flatMap((f) => ['-e', f]), 'tcp or udp'];
  const r = require('node:child_process').spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 29 });
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  const out = new Map<string, { frames: number; bytes: number }>();
  for (const line of (r.stdout as string).split('\n')) {
    if (!line) continue;
    const [len, s4, s6, d4, d6, tsp, tdp, usp, udp] = line.split(';');
    const proto = tsp ? 'tcp' : 'udp';
    const k = `${proto} ${s4 || s6}|${tsp || usp} ${d4 || d6}|${tdp || udp}`;
    const e = out.get(k) ?? { frames: 0, bytes: 0 };
    e.frames++;
    e.bytes += Number(len);
    out.set(k, e);
  }
  return out;
}
