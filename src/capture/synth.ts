/**
 * A seeded packet synthesizer: a small office network's traffic, packet by packet, with known
 * ground truth, to try the capture-to-detection workflow without a capture of one's own and to
 * test it. Normal traffic: web sessions (HTTP and TLS, keep-alive requests, responses sent in
 * congestion-window flights and acknowledged every second segment), DNS lookups over UDP (IPv4
 * and IPv6), a few interactive SSH sessions and a monitoring host's pings. Attacks, all in the
 * later part of the capture (after `attackAfter` of it): a SYN port scan, a password-guessing
 * burst against SSH and a slow bulk upload to an outside host. Same seed, same packets.
 *
 * Packets come out in time order from {@link synthesizePackets} (a generator: memory holds only
 * the sessions in progress), or are written to a pcap/pcapng file by {@link synthesizeCapture}.
 * {@link labelFlows} gives each flow of the capture its session's label.
 */
import { recordSeed } from '../core/provenance';
import { checkSeed, Random } from '../core/random';
import { CaptureWriter, addressBytes, type CaptureWriterOptions, type PacketSpec } from './writer';
import type { FlowRecord } from './flows';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { isSpecialFile, tempPathFor } from '../core/persistence';

/** Kinds of synthesized sessions. */
export type SessionKind = 'web' | 'dns' | 'ssh' | 'ping' | 'scan' | 'bruteforce' | 'upload';

/** The attacks among the {@link SessionKind}s; every other kind is normal traffic. */
export const ATTACK_KINDS: readonly SessionKind[] = ['scan', 'bruteforce', 'upload'];

/** One synthesized conversation (a TCP connection, a DNS lookup, a scan probe, a ping series). */
export interface SynthSession {
  kind: SessionKind;
  /** `normal`, or the attack's kind. */
  label: string;
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** `tcp`, `udp` or `icmp`. */
  protocol: string;
  /** Milliseconds since the epoch of its first and last packet. */
  startMs: number;
  endMs: number;
  /** Packets it sent, both directions. */
  packets: number;
}

/** Options of {@link synthesizePackets}. */
export interface SynthOptions {
  /** Seed of every random choice. @defaultValue 42 */
  seed?: number;
  /** Length of the capture in minutes. @defaultValue 20 */
  minutes?: number;
  /** First packet's time (ISO 8601). @defaultValue "2024-03-04T09:00:00Z" */
  start?: string;
  /** New web sessions per second (Poisson). @defaultValue 1.5 */
  webPerSecond?: number;
  /** DNS lookups per second (Poisson). @defaultValue 2 */
  dnsPerSecond?: number;
  /** Interactive SSH sessions per hour. @defaultValue 30 */
  sshPerHour?: number;
  /** Share of web sessions and lookups over IPv6. @defaultValue 0.2 */
  ipv6Share?: number;
  /** Attacks start after this share of the capture (the part before is normal traffic only). @defaultValue 0.55 */
  attackAfter?: number;
  /** Which attacks to include. @defaultValue all three */
  attacks?: { scan?: boolean; bruteForce?: boolean; upload?: boolean };
  /** Ports probed by the scan. @defaultValue 1024 */
  scanPorts?: number;
  /** Password-guessing connections. @defaultValue 200 */
  bruteForceAttempts?: number;
  /** Upload rate (kB/s) and length (minutes) of the slow bulk upload. @defaultValue 20 kB/s for 8 minutes */
  uploadKBps?: number;
  uploadMinutes?: number;
  /** A share of DNS answers over IPv4 is large and sent as IP fragments. @defaultValue 0 */
  fragmentedDnsShare?: number;
}

const MSS = 1448;
const US = 1e6;

interface Pending {
  t: number;
  seq: number;
  spec: PacketSpec;
}

/** Min-heap of packets by time, ties in insertion order. */
class PacketHeap {
  private items: Pending[] = [];
  private seq = 0;
  get size(): number {
    return this.items.length;
  }
  peek(): Pending | undefined {
    return this.items[0];
  }
  push(t: number, spec: PacketSpec): void {
    const a = this.items;
    const x = { t, seq: this.seq++, spec };
    let i = a.length;
    a.push(x);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[p], x)) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = x;
  }
  pop(): Pending {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      const n = a.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && less(a[r], a[l]) ? r : l;
        if (less(last, a[c])) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

function less(a: Pending, b: Pending): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}

interface Endpoint {
  addr: Uint8Array;
  text: string;
  port: number;
}

/** Collects one session's packets (times in microseconds since the capture's start). */
class SessionOut {
  readonly packets: { t: number; spec: PacketSpec }[] = [];
  first = Infinity;
  last = -Infinity;
  constructor(private readonly epoch: number) {}
  add(t: number, spec: Omit<PacketSpec, 'seconds' | 'nanoseconds'>): void {
    const tt = Math.max(0, Math.round(t));
    const sec = Math.floor(tt / US);
    this.packets.push({ t: tt, spec: { ...spec, seconds: this.epoch + sec, nanoseconds: (tt - sec * US) * 1000 } as PacketSpec });
    if (tt < this.first) this.first = tt;
    if (tt > this.last) this.last = tt;
  }
}

/**
 * A TCP connection seen from a capture point on the local network: `near` packets are seen when
 * sent, the far side's when they arrive. Tracks sequence numbers; data goes in MSS segments sent
 * in congestion-window flights (10 segments, doubling each round trip), the receiver
 * acknowledging every second segment.
 */
class Tcp {
  t: number;
  private seqC: number;
  private seqS: number;
  constructor(
    private readonly out: SessionOut,
    private readonly rng: Random,
    readonly c: Endpoint,
    readonly s: Endpoint,
    private readonly rtt: number,
    private readonly clientNear: boolean,
    start: number,
    private readonly winC = 64240,
    private readonly winS = 65160,
  ) {
    this.t = start;
    this.seqC = rng.int(0x7fffffff);
    this.seqS = rng.int(0x7fffffff);
  }

  private pkt(fromClient: boolean, t: number, flags: number, payload: number, window?: number): void {
    const [a, b] = fromClient ? [this.c, this.s] : [this.s, this.c];
    const seq = fromClient ? this.seqC : this.seqS;
    const ack = fromClient ? this.seqS : this.seqC;
    this.out.add(t, {
      src: a.addr,
      dst: b.addr,
      protocol: 6,
      srcPort: a.port,
      dstPort: b.port,
      tcpFlags: flags,
      seq,
      ack: flags & 0x10 ? ack : 0,
      window: window ?? (fromClient ? 502 : 509),
      payload,
    });
    const adv = payload + (flags & 0x03 ? 1 : 0);
    if (fromClient) this.seqC = (this.seqC + adv) >>> 0;
    else this.seqS = (this.seqS + adv) >>> 0;
  }

  /** Small jitter in microseconds (processing time of a host). */
  private j(median = 60): number {
    return median * Math.exp(0.5 * this.rng.standardNormal());
  }

  /** Time for the other side's reaction to be seen, after one side's packet seen at `t`. */
  private reply(fromClient: boolean, extra = 0): number {
    // a far host's answer comes a round trip later; a near host's right away
    const farAnswers = fromClient ? this.clientNear : !this.clientNear;
    return (farAnswers ? this.rtt : 0) + this.j() + extra;
  }

  handshake(synWindow?: number): void {
    this.pkt(true, this.t, 0x02, 0, synWindow ?? this.winC);
    this.t += this.reply(true);
    this.pkt(false, this.t, 0x12, 0, this.winS);
    this.t += this.reply(false);
    this.pkt(true, this.t, 0x10, 0);
  }

  /** `bytes` of data from one side after `delay` microseconds; returns when the last ACK is seen. */
  send(fromClient: boolean, bytes: number, delay = 0): void {
    this.t += delay;
    let left = Math.max(0, Math.round(bytes));
    let cwnd = 10;
    let flightStart = this.t;
    let lastAck = this.t;
    const tx = 1448 * 8 / 50; // microseconds per segment at 50 Mbit/s
    while (left > 0) {
      let t = flightStart;
      for (let k = 0; k < cwnd && left > 0; k++) {
        const n = Math.min(MSS, left);
        left -= n;
        this.pkt(fromClient, t, left === 0 ? 0x18 : 0x10, n);
        // the receiver acknowledges every second segment and the last one
        if (k % 2 === 1 || left === 0) {
          const ackAt = t + this.reply(fromClient, 40);
          this.pkt(!fromClient, ackAt, 0x10, 0);
          lastAck = Math.max(lastAck, ackAt);
        }
        t += tx * (0.8 + 0.4 * this.rng.random());
      }
      flightStart += this.rtt + this.j();
      cwnd = Math.min(cwnd * 2, 256);
    }
    this.t = lastAck;
  }

  /** One message of `bytes` (a request, a protocol message) without waiting for ACKs beyond the next message. */
  message(fromClient: boolean, bytes: number, delay = 0): void {
    this.t += delay;
    let left = Math.round(bytes);
    while (left > 0) {
      const n = Math.min(MSS, left);
      left -= n;
      this.pkt(fromClient, this.t, 0x18, n);
      this.t += 20;
    }
  }

  /** An ACK from one side `delay` after now. */
  ack(fromClient: boolean, delay: number): void {
    this.t += delay;
    this.pkt(fromClient, this.t, 0x10, 0);
  }

  close(clientFirst: boolean, delay = 0): void {
    this.t += delay;
    this.pkt(clientFirst, this.t, 0x11, 0);
    this.t += this.reply(clientFirst);
    this.pkt(!clientFirst, this.t, 0x11, 0);
    this.t += this.reply(!clientFirst);
    this.pkt(clientFirst, this.t, 0x10, 0);
  }

  reset(fromClient: boolean, delay = 0): void {
    this.t += delay;
    this.pkt(fromClient, this.t, 0x14, 0);
  }
}

interface SessionPlan {
  kind: SessionKind;
  start: number; // microseconds since the capture's start
  seed: number;
  v6: boolean;
  client: number;
  /** scan: the port probed; brute force: the attempt. */
  index?: number;
  /** scan: the scanner's source port (the same for every probe). */
  port?: number;
}

/**
 * Initial TCP windows by operating system, as the hosts' first SYN carries them: clients run
 * Windows or Linux (64,240), macOS or iOS (65,535) or an older Linux or Android (29,200), six,
 * three and one in ten; the web servers vary likewise.
 */
function clientWindow(client: number): number {
  const k = client % 10;
  return k < 6 ? 64240 : k < 9 ? 65535 : 29200;
}

function serverWindow(server: number): number {
  return [65160, 65535, 29200, 64240][server % 4];
}

/** The hosts of the synthesized office network. */
const NET = {
  clients: 50,
  client4: (i: number) => `10.1.0.${20 + i}`,
  client6: (i: number) => `fd00:1::${(0x20 + i).toString(16)}`,
  resolver4: '10.1.0.2',
  resolver6: 'fd00:1::2',
  sshServer: '10.1.0.5',
  gateway: '10.1.0.1',
  monitor: '10.1.0.3',
  web4: (i: number) => `192.0.2.${10 + i}`,
  web6: (i: number) => `2001:db8:80::${(0x10 + i).toString(16)}`,
  webServers: 40,
  scanner: '198.51.100.23',
  bruteForcer: '198.51.100.77',
  uploader: 22, // client index of 10.1.0.42
  uploadTarget: '203.0.113.99',
};

/**
 * Synthesize a capture's packets in time order.
 * @param onSession - receives each session's ground truth when it is planned (in start order)
 * @example
 * ```ts
 * const sessions: SynthSession[] = [];
 * let n = 0;
 * for (const p of synthesizePackets({ seed: 7, minutes: 5 }, (s) => sessions.push(s))) n++;
 * ```
 */
export function* synthesizePackets(opts: SynthOptions = {}, onSession?: (s: SynthSession) => void): Generator<PacketSpec> {
  const seed = checkSeed(opts.seed ?? 42, 'synthesizePackets');
  recordSeed('synthesizePackets', seed);
  const minutes = opts.minutes ?? 20;
  if (!(minutes > 0)) throw new RangeError(`The 'minutes' option of synthesizePackets must be a positive number. Got ${minutes}.`);
  const startMs = Date.parse(opts.start ?? '2024-03-04T09:00:00Z');
  if (!Number.isFinite(startMs)) throw new RangeError(`The 'start' option of synthesizePackets must be an ISO 8601 time. Got ${JSON.stringify(opts.start)}.`);
  const epoch = Math.floor(startMs / 1000);
  const T = minutes * 60 * US;
  const rng = new Random(seed);
  const plans: SessionPlan[] = [];
  const ipv6Share = opts.ipv6Share ?? 0.2;
  const poisson = (perSecond: number, kind: SessionKind, v6Share: number) => {
    if (!(perSecond > 0)) return;
    for (let t = rng.exponential(US / perSecond); t < T; t += rng.exponential(US / perSecond)) {
      plans.push({ kind, start: t, seed: rng.nextSeed(), v6: rng.random() < v6Share, client: rng.int(NET.clients) });
    }
  };
  poisson(opts.webPerSecond ?? 1.5, 'web', ipv6Share);
  poisson(opts.dnsPerSecond ?? 2, 'dns', ipv6Share);
  poisson((opts.sshPerHour ?? 30) / 3600, 'ssh', 0);
  plans.push({ kind: 'ping', start: rng.random() * 10 * US, seed: rng.nextSeed(), v6: false, client: -1 });
  const attacks = { scan: true, bruteForce: true, upload: true, ...opts.attacks };
  const after = (opts.attackAfter ?? 0.55) * T;
  const window = (length: number) => after + rng.random() * Math.max(0, T * 0.95 - after - length);
  if (attacks.scan) {
    const ports = opts.scanPorts ?? 1024;
    const order = rng.permutation(Math.max(ports, 1024));
    let t = window(2 * US);
    const port = 40000 + rng.int(20000);
    for (let k = 0; k < ports; k++) {
      plans.push({ kind: 'scan', start: t, seed: rng.nextSeed(), v6: false, client: -1, index: order[k] + 1, port });
      t += 200 + rng.random() * 800;
    }
  }
  if (attacks.bruteForce) {
    const n = opts.bruteForceAttempts ?? 200;
    const threads = 4;
    const start = window(((n / threads) * 8 + 10) * US);
    const next = [0, 1, 2, 3].map((k) => start + k * 0.3 * US);
    for (let k = 0; k < n; k++) {
      const th = k % threads;
      plans.push({ kind: 'bruteforce', start: next[th], seed: rng.nextSeed(), v6: false, client: -1, index: k });
      // one attempt (three passwords, about 2 s of PAM delay each) before the thread's next connection
      next[th] += (6.8 + rng.random() * 1.2) * US;
    }
  }
  if (attacks.upload) plans.push({ kind: 'upload', start: window((opts.uploadMinutes ?? 8) * 60 * US), seed: rng.nextSeed(), v6: false, client: NET.uploader });
  plans.sort((a, b) => a.start - b.start || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));

  const heap = new PacketHeap();
  const ports = new PortAllocator(rng.nextSeed());
  for (const plan of plans) {
    while (heap.size && heap.peek()!.t <= plan.start) yield heap.pop().spec;
    const out = new SessionOut(epoch);
    const meta = buildSession(plan, out, ports, opts, T);
    if (out.packets.length === 0) continue;
    for (const p of out.packets) heap.push(p.t, p.spec);
    onSession?.({
      ...meta,
      label: ATTACK_KINDS.includes(plan.kind) ? plan.kind : 'normal',
      kind: plan.kind,
      startMs: epoch * 1000 + out.first / 1000,
      endMs: epoch * 1000 + out.last / 1000,
      packets: out.packets.length,
    });
  }
  while (heap.size) yield heap.pop().spec;
}

/** Ephemeral ports: sequential per client for TCP (as Linux hands them out), random for DNS. */
class PortAllocator {
  private readonly rng: Random;
  private readonly next = new Map<string, number>();
  private readonly recent = new Map<string, number>();
  constructor(seed: number) {
    this.rng = new Random(seed);
  }
  tcp(host: string): number {
    let p = this.next.get(host) ?? 32768 + this.rng.int(20000);
    p = p >= 60999 ? 32768 : p + 1 + this.rng.int(3);
    this.next.set(host, p);
    return p;
  }
  udp(host: string, t: number): number {
    for (;;) {
      const p = 1024 + this.rng.int(64511);
      const k = `${host}|${p}`;
      const last = this.recent.get(k);
      if (last === undefined || t - last > 600 * US) {
        this.recent.set(k, t);
        return p;
      }
    }
  }
}

function lognormal(rng: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * rng.standardNormal());
}

function ep(text: string, port: number): Endpoint {
  return { addr: addressBytes(text), text, port };
}

function buildSession(plan: SessionPlan, out: SessionOut, ports: PortAllocator, opts: SynthOptions, T: number): Omit<SynthSession, 'label' | 'kind' | 'startMs' | 'endMs' | 'packets'> {
  const rng = new Random(plan.seed);
  const meta = (c: Endpoint, s: Endpoint, protocol: string) => ({ src: c.text, srcPort: c.port, dst: s.text, dstPort: s.port, protocol });
  switch (plan.kind) {
    case 'web': {
      const host = plan.v6 ? NET.client6(plan.client) : NET.client4(plan.client);
      // a few popular servers get most sessions (Zipf-like)
      const server = Math.min(NET.webServers - 1, Math.floor(Math.exp(rng.random() * Math.log(NET.webServers + 1)) - 1));
      const tls = rng.random() < 0.8;
      const c = ep(host, ports.tcp(host));
      const s = ep(plan.v6 ? NET.web6(server) : NET.web4(server), tls ? 443 : 80);
      const rtt = Math.min(300e3, lognormal(rng, 30e3, 0.6));
      const tcp = new Tcp(out, rng, c, s, rtt, true, plan.start, clientWindow(plan.client), serverWindow(server));
      tcp.handshake();
      if (tls) {
        tcp.message(true, 517, 100);
        tcp.send(false, 2800 + rng.int(2400), rtt + lognormal(rng, 2e3, 0.5));
        tcp.message(true, 80 + rng.int(60), lognormal(rng, 1e3, 0.5));
        tcp.message(false, 51 + rng.int(200), rtt);
      }
      const requests = 1 + Math.min(7, Math.floor(rng.exponential(1.5)));
      for (let k = 0; k < requests; k++) {
        if (k > 0) tcp.t += Math.min(30 * US, lognormal(rng, 0.4 * US, 1.2));
        tcp.message(true, Math.min(3000, lognormal(rng, 450, 0.5)), 200);
        tcp.send(false, Math.max(200, Math.min(8e6, lognormal(rng, 6000, 1.6))), rtt + lognormal(rng, 15e3, 1));
      }
      const end = rng.random();
      if (end < 0.75) tcp.close(true, lognormal(rng, 0.5 * US, 1));
      else if (end < 0.95) tcp.close(false, (5 + 10 * rng.random()) * US);
      else tcp.reset(true, lognormal(rng, 0.3 * US, 1));
      return meta(c, s, 'tcp');
    }
    case 'dns': {
      const host = plan.v6 ? NET.client6(plan.client) : NET.client4(plan.client);
      const c = ep(host, ports.udp(host, plan.start));
      const s = ep(plan.v6 ? NET.resolver6 : NET.resolver4, 53);
      const q = 17 + 10 + rng.int(30) + 4;
      out.add(plan.start, { src: c.addr, dst: s.addr, protocol: 17, srcPort: c.port, dstPort: 53, payload: q, ipId: rng.int(65536) });
      if (rng.random() < 0.02) return meta(c, s, 'udp'); // no answer
      const delay = rng.random() < 0.8 ? 500 + rng.random() * 2500 : lognormal(rng, 40e3, 0.6);
      const fragShare = opts.fragmentedDnsShare ?? 0;
      if (!plan.v6 && fragShare > 0 && rng.random() < fragShare) {
        // a large answer (DNSSEC, many records) in IP fragments of at most 1480 payload bytes
        const total = 2000 + rng.int(2500);
        const id = rng.int(65536);
        let off = 0;
        let t = plan.start + delay;
        while (off < total + 8) {
          const n = Math.min(1480, total + 8 - off);
          const more = off + n < total + 8;
          out.add(t, {
            src: s.addr, dst: c.addr, protocol: 17, srcPort: 53, dstPort: c.port, ipId: id,
            payload: off === 0 ? n - 8 : n, fragment: { offset: off, more, datagramPayload: total },
          });
          off += n;
          t += 15;
        }
        return meta(c, s, 'udp');
      }
      out.add(plan.start + delay, { src: s.addr, dst: c.addr, protocol: 17, srcPort: 53, dstPort: c.port, payload: q + 16 + rng.int(180), ipId: rng.int(65536) });
      return meta(c, s, 'udp');
    }
    case 'ssh': {
      // an administrator's interactive session on the office's server
      const host = NET.client4(plan.client);
      const c = ep(host, ports.tcp(host));
      const s = ep(NET.sshServer, 22);
      const tcp = new Tcp(out, rng, c, s, 400, true, plan.start, clientWindow(plan.client));
      tcp.handshake();
      sshKeyExchange(tcp, rng);
      // public-key authentication succeeds
      tcp.message(true, 100 + rng.int(40), 500);
      tcp.message(false, 36 + rng.int(20), 300);
      tcp.message(true, 500 + rng.int(200), 300);
      tcp.message(false, 36, 2000);
      const end = Math.min(T, plan.start + lognormal(rng, 4 * 60 * US, 0.8));
      while (tcp.t < end) {
        tcp.t += Math.min(60 * US, lognormal(rng, 0.25 * US, 1.3));
        tcp.message(true, 36 + 16 * rng.int(3), 0);
        tcp.message(false, rng.random() < 0.85 ? 36 + 16 * rng.int(3) : 100 + rng.int(3000), 300 + rng.random() * 3000);
        tcp.ack(true, 40);
      }
      tcp.close(true, 200e3);
      return meta(c, s, 'tcp');
    }
    case 'ping': {
      const c = ep(NET.monitor, 8);
      const s = ep(NET.gateway, 0);
      const id = 1 + rng.int(65535);
      for (let t = plan.start, k = 1; t < T; t += 10 * US + rng.random() * 2000, k++) {
        out.add(t, { src: c.addr, dst: s.addr, protocol: 1, icmpType: 8, icmpCode: 0, icmpId: id, icmpSeq: k, payload: 56 });
        out.add(t + 150 + rng.random() * 200, { src: s.addr, dst: c.addr, protocol: 1, icmpType: 0, icmpCode: 0, icmpId: id, icmpSeq: k, payload: 56 });
      }
      return meta(c, s, 'icmp');
    }
    case 'scan': {
      // nmap -sS: one source port for every probe, a 1024-byte window, an MSS option
      const srcPort = plan.port!;
      const c = ep(NET.scanner, srcPort);
      const s = ep(NET.sshServer, plan.index!);
      const open = plan.index === 22 || plan.index === 80 || plan.index === 443;
      out.add(plan.start, { src: c.addr, dst: s.addr, protocol: 6, srcPort, dstPort: s.port, tcpFlags: 0x02, seq: rng.int(0x7fffffff), window: 1024, payload: 0 });
      const t = plan.start + 60 + rng.random() * 100;
      if (open) {
        out.add(t, { src: s.addr, dst: c.addr, protocol: 6, srcPort: s.port, dstPort: srcPort, tcpFlags: 0x12, seq: rng.int(0x7fffffff), ack: 1, window: 65160, payload: 0 });
        out.add(t + 45e3, { src: c.addr, dst: s.addr, protocol: 6, srcPort, dstPort: s.port, tcpFlags: 0x04, seq: 1, window: 0, payload: 0 });
      } else {
        out.add(t, { src: s.addr, dst: c.addr, protocol: 6, srcPort: s.port, dstPort: srcPort, tcpFlags: 0x14, seq: 0, ack: 1, window: 0, payload: 0 });
      }
      return meta(c, s, 'tcp');
    }
    case 'bruteforce': {
      const c = ep(NET.bruteForcer, ports.tcp(NET.bruteForcer));
      const s = ep(NET.sshServer, 22);
      const tcp = new Tcp(out, rng, c, s, 45e3, false, plan.start, 29200, 65160);
      tcp.handshake();
      sshKeyExchange(tcp, rng);
      tcp.message(true, 52, 45e3);
      tcp.message(false, 52, 200);
      // three passwords, each refused after the PAM delay
      for (let k = 0; k < 3; k++) {
        tcp.message(true, 84 + 16 * rng.int(3), 45e3 + rng.random() * 20e3);
        tcp.ack(false, 40);
        tcp.message(false, 52, (2 + rng.random() * 0.4) * US);
      }
      tcp.message(false, 68, 2000);
      tcp.close(false, 100);
      return meta(c, s, 'tcp');
    }
    case 'upload': {
      const host = NET.client4(plan.client);
      const c = ep(host, ports.tcp(host));
      const s = ep(NET.uploadTarget, 443);
      const rtt = 60e3;
      const tcp = new Tcp(out, rng, c, s, rtt, true, plan.start, clientWindow(plan.client));
      tcp.handshake();
      tcp.message(true, 517, 100);
      tcp.send(false, 3500, rtt + 3000);
      tcp.message(true, 126, 1000);
      tcp.message(false, 51, rtt);
      const rate = (opts.uploadKBps ?? 20) * 1000;
      const end = Math.min(T, plan.start + (opts.uploadMinutes ?? 8) * 60 * US);
      const gap = (MSS / rate) * US;
      let k = 0;
      while (tcp.t < end) {
        tcp.message(true, MSS, gap * (0.7 + 0.6 * rng.random()));
        if (++k % 2 === 0) {
          const t = tcp.t;
          tcp.ack(false, rtt);
          tcp.t = t;
        }
      }
      tcp.close(true, 1000);
      return meta(c, s, 'tcp');
    }
  }
}

/** The SSH version and key exchange (banners, KEXINIT both ways, ECDH, NEWKEYS). */
function sshKeyExchange(tcp: Tcp, rng: Random): void {
  tcp.message(false, 21 + rng.int(20), 1000);
  tcp.message(true, 21 + rng.int(20), 2000);
  tcp.message(true, 1400 + rng.int(200), 300);
  tcp.message(false, 1000 + rng.int(100), 500);
  tcp.message(true, 48, 2000);
  tcp.message(false, 500 + rng.int(200), 3000);
  tcp.message(true, 16, 2000);
}

/** Options of {@link synthesizeCapture}: the synthesizer's and the capture file's. */
export interface SynthCaptureOptions extends SynthOptions, CaptureWriterOptions {}

/** What {@link synthesizeCapture} wrote. */
export interface SynthCapture {
  file: string;
  packets: number;
  bytes: number;
  sessions: SynthSession[];
}

/**
 * Synthesize a capture and write it to `file` (pcap or pcapng as `opts.format` says, gzipped
 * when the name ends in `.gz`), streaming, atomically (a temporary file renamed into place).
 * @example
 * ```ts
 * const { sessions } = await synthesizeCapture('capture.pcap', { seed: 7, minutes: 20 });
 * const { flows } = await loadCaptureFlows('capture.pcap');
 * const labels = labelFlows(flows, sessions); // 'normal', 'scan', 'bruteforce', 'upload'
 * ```
 */
export async function synthesizeCapture(file: string, opts: SynthCaptureOptions = {}): Promise<SynthCapture> {
  const sessions: SynthSession[] = [];
  const writer = new CaptureWriter(opts);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const special = isSpecialFile(file);
  const tmp = special ? file : tempPathFor(file);
  const fileStream = fs.createWriteStream(tmp, { flags: special ? 'w' : 'wx', highWaterMark: 1 << 20 });
  const gz = file.endsWith('.gz') ? zlib.createGzip() : undefined;
  const out: NodeJS.WritableStream = gz ?? fileStream;
  if (gz) gz.pipe(fileStream);
  let packets = 0;
  let bytes = 0;
  const write = async (b: Buffer) => {
    bytes += b.length;
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  try {
    await write(writer.header());
    let batch: Buffer[] = [];
    let size = 0;
    for (const p of synthesizePackets(opts, (s) => sessions.push(s))) {
      const b = writer.packet(p);
      batch.push(b);
      size += b.length;
      packets++;
      if (size >= 1 << 20) {
        await write(Buffer.concat(batch));
        batch = [];
        size = 0;
      }
    }
    if (batch.length) await write(Buffer.concat(batch));
    await new Promise<void>((resolve, reject) => {
      fileStream.once('error', reject);
      fileStream.once('finish', () => resolve());
      out.end();
    });
    if (!special) fs.renameSync(tmp, file);
  } catch (e) {
    fileStream.destroy();
    if (!special) fs.rmSync(tmp, { force: true });
    throw e;
  }
  return { file, packets, bytes, sessions };
}

/**
 * The label of each flow: its session's (`normal`, `scan`, `bruteforce`, `upload`), or with
 * `by: "kind"` the session's kind (`web`, `dns`, `ssh`, `ping`, ...). A flow is matched to the
 * session with the same addresses, ports and protocol (in either direction) that was under way
 * when the flow started; a flow that matches none (a capture of other traffic) gets `unknown`.
 * @example
 * ```ts
 * const { sessions } = await synthesizeCapture('c.pcap', { seed: 1 });
 * const { flows } = await loadCaptureFlows('c.pcap');
 * labelFlows(flows, sessions);                 // ['normal', ..., 'scan', ...]
 * labelFlows(flows, sessions, { by: 'kind' }); // ['web', 'dns', ..., 'scan', ...]
 * ```
 */
export function labelFlows(flows: readonly FlowRecord[], sessions: readonly SynthSession[], opts: { by?: 'label' | 'kind' } = {}): string[] {
  const by = opts.by ?? 'label';
  const index = new Map<string, SynthSession[]>();
  const keyOf = (a: string, ap: number, b: string, bp: number, proto: string) => {
    const x = `${a}|${ap}`;
    const y = `${b}|${bp}`;
    return x < y ? `${proto}|${x}|${y}` : `${proto}|${y}|${x}`;
  };
  for (const s of sessions) {
    // ICMP flows are keyed by the message type and its counterpart, as decodePacket does
    const k = s.protocol === 'icmp' ? keyOf(s.src, 8, s.dst, 0, 'icmp') : keyOf(s.src, s.srcPort, s.dst, s.dstPort, s.protocol);
    const list = index.get(k);
    if (list) list.push(s);
    else index.set(k, [s]);
  }
  return flows.map((f) => {
    const list = index.get(keyOf(f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.protocol));
    if (!list) return 'unknown';
    const t = Date.parse(f.timestamp);
    let best: SynthSession | undefined;
    let bestGap = Infinity;
    for (const s of list) {
      const gap = t < s.startMs - 1 ? s.startMs - t : t > s.endMs + 1 ? t - s.endMs : 0;
      if (gap < bestGap) {
        best = s;
        bestGap = gap;
      }
    }
    return best ? (by === 'kind' ? best.kind : best.label) : 'unknown';
  });
}
