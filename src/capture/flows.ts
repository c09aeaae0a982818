/**
 * Bidirectional flows from packets, in the style of CICFlowMeter: one row per flow keyed by the
 * 5-tuple (addresses, ports, protocol), the first packet's sender as its source. A flow ends when
 * TCP closes it (FIN from both sides, or RST), after an idle timeout or an active timeout, or at
 * the end of the capture. {@link FlowMeter} holds only the flows still active; {@link captureFlows}
 * streams a capture file into flow rows in bounded memory. Column definitions: docs/FLOWS.md and
 * {@link FLOW_COLUMNS}.
 */
import { DataValidationError } from '../core/errors';
import { FLOW_COLUMNS, type FlowEndReason, type FlowRecord } from './columns';
import { decodePacket, DecodedPacket, ipv4String, ipv6String, protocolName, type SkipReason } from './decode';
import { CaptureParser, isSupportedLinkType, linkTypeName, openCapture, type CaptureInfo, type CaptureSource, type PacketView } from './pcap';

/** Options of {@link FlowMeter} and {@link captureFlows}. */
export interface FlowOptions {
  /**
   * Seconds without a packet after which a flow ends (`end_reason` `idle`); the next packet of
   * the same 5-tuple starts a new flow. @defaultValue 120
   */
  idleTimeout?: number;
  /**
   * Seconds after its first packet at which a flow that is still active ends (`end_reason`
   * `active`); its next packet starts a new flow. @defaultValue 3600
   */
  activeTimeout?: number;
  /**
   * Seconds a TCP flow closed by FIN from both sides or by RST keeps counting late packets of the
   * same connection (the last ACK, a retransmitted FIN, a second RST) before it is written. A SYN
   * always starts a new flow. Without this, the final ACK of every connection would become a
   * one-packet flow of its own (a known artefact of CICFlowMeter). @defaultValue 2
   */
  closeWait?: number;
}

export { FLOW_COLUMNS, FLOW_IDENTIFIERS } from './columns';
export type { FlowEndReason, FlowRecord } from './columns';

/** Defaults of {@link FlowOptions}, in seconds. */
export const DEFAULT_FLOW_OPTIONS: Readonly<Required<FlowOptions>> = { idleTimeout: 120, activeTimeout: 3600, closeWait: 2 };

/** Running count, mean, variance (Welford), minimum, maximum and sum of one quantity. */
class RunningStats {
  n = 0;
  mean = 0;
  m2 = 0;
  min = 0;
  max = 0;
  sum = 0;

  add(x: number): void {
    const n = ++this.n;
    if (n === 1) {
      this.min = x;
      this.max = x;
    } else {
      if (x < this.min) this.min = x;
      if (x > this.max) this.max = x;
    }
    this.sum += x;
    const d = x - this.mean;
    this.mean += d / n;
    this.m2 += d * (x - this.mean);
  }

  /** Sample standard deviation (n - 1), 0 below two values. */
  std(): number {
    return this.n > 1 ? Math.sqrt(Math.max(0, this.m2 / (this.n - 1))) : 0;
  }
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;
const URG = 0x20;

/** One active flow. Times are nanoseconds since the meter's base second. */
class Flow {
  /** The canonical key: IPv4 in numbers (`ka`, `kb`, `kpa`, `kpb`, `protocol`), IPv6 in `key6`. */
  ka = 0;
  kb = 0;
  kpa = 0;
  kpb = 0;
  key6 = '';
  /** Hash bucket (IPv4) and the next flow of the same bucket. */
  bucket = 0;
  next: Flow | undefined = undefined;
  /** Creation order, for writing flows oldest first. */
  seq = 0;
  /** Set when the flow has been written. */
  ended = false;
  /** The flow's source is the first endpoint of the canonical key. */
  readonly srcIsA: boolean;
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly protocol: number;
  readonly startSeconds: number;
  readonly startNanoseconds: number;
  readonly start: number;
  last: number;
  fwdLast = -1;
  bwdLast = -1;
  fwdPackets = 0;
  bwdPackets = 0;
  fwdBytes = 0;
  bwdBytes = 0;
  readonly fwdLen = new RunningStats();
  readonly bwdLen = new RunningStats();
  readonly allLen = new RunningStats();
  readonly flowIat = new RunningStats();
  readonly fwdIat = new RunningStats();
  readonly bwdIat = new RunningStats();
  syn = 0;
  fin = 0;
  rst = 0;
  psh = 0;
  ack = 0;
  urg = 0;
  fwdHeader = 0;
  bwdHeader = 0;
  fwdInitWin = -1;
  bwdInitWin = -1;
  fragments = 0;
  finFwd = false;
  finBwd = false;
  /** Set when TCP closed the flow. */
  closed: 'fin' | 'rst' | undefined = undefined;

  constructor(srcIsA: boolean, src: string, dst: string, srcPort: number, dstPort: number, protocol: number, sec: number, ns: number, t: number) {
    this.srcIsA = srcIsA;
    this.src = src;
    this.dst = dst;
    this.srcPort = srcPort;
    this.dstPort = dstPort;
    this.protocol = protocol;
    this.startSeconds = sec;
    this.startNanoseconds = ns;
    this.start = t;
    this.last = t;
  }

  add(fwd: boolean, t: number, wire: number, pk: DecodedPacket): void {
    const payload = pk.payloadBytes;
    if (t > this.last) {
      if (this.fwdPackets + this.bwdPackets > 0) this.flowIat.add(t - this.last);
      this.last = t;
    } else if (this.fwdPackets + this.bwdPackets > 0) this.flowIat.add(0); // out of order: no negative gaps
    if (fwd) {
      if (this.fwdLast >= 0) this.fwdIat.add(t > this.fwdLast ? t - this.fwdLast : 0);
      if (t > this.fwdLast) this.fwdLast = t;
      this.fwdPackets++;
      this.fwdBytes += wire;
      this.fwdLen.add(payload);
      this.fwdHeader += pk.headerBytes;
      if (this.fwdInitWin < 0 && pk.window >= 0) this.fwdInitWin = pk.window;
    } else {
      if (this.bwdLast >= 0) this.bwdIat.add(t > this.bwdLast ? t - this.bwdLast : 0);
      if (t > this.bwdLast) this.bwdLast = t;
      this.bwdPackets++;
      this.bwdBytes += wire;
      this.bwdLen.add(payload);
      this.bwdHeader += pk.headerBytes;
      if (this.bwdInitWin < 0 && pk.window >= 0) this.bwdInitWin = pk.window;
    }
    this.allLen.add(payload);
    if (pk.fragment !== 0) this.fragments++;
    const f = pk.tcpFlags;
    if (f !== 0) {
      if (f & SYN) this.syn++;
      if (f & FIN) {
        this.fin++;
        if (fwd) this.finFwd = true;
        else this.finBwd = true;
        if (this.finFwd && this.finBwd && !this.closed) this.closed = 'fin';
      }
      if (f & RST) {
        this.rst++;
        this.closed ??= 'rst';
      }
      if (f & PSH) this.psh++;
      if (f & ACK) this.ack++;
      if (f & URG) this.urg++;
    }
  }

  record(reason: FlowEndReason): FlowRecord {
    const dur = this.last - this.start; // ns
    const secs = dur / 1e9;
    const pk = this.fwdPackets + this.bwdPackets;
    const rate = (x: number) => (dur > 0 ? round6(x / secs) : 0);
    return {
      timestamp: isoTime(this.startSeconds, this.startNanoseconds),
      src_ip: this.src,
      src_port: this.srcPort,
      dst_ip: this.dst,
      dst_port: this.dstPort,
      protocol: protocolName(this.protocol),
      end_reason: reason,
      duration: nsToSeconds(dur),
      fwd_packets: this.fwdPackets,
      bwd_packets: this.bwdPackets,
      fwd_bytes: this.fwdBytes,
      bwd_bytes: this.bwdBytes,
      fwd_payload_bytes: this.fwdLen.sum,
      bwd_payload_bytes: this.bwdLen.sum,
      fwd_pkt_len_min: this.fwdLen.min,
      fwd_pkt_len_max: this.fwdLen.max,
      fwd_pkt_len_mean: round6(this.fwdLen.mean),
      fwd_pkt_len_std: round6(this.fwdLen.std()),
      bwd_pkt_len_min: this.bwdLen.min,
      bwd_pkt_len_max: this.bwdLen.max,
      bwd_pkt_len_mean: round6(this.bwdLen.mean),
      bwd_pkt_len_std: round6(this.bwdLen.std()),
      pkt_len_min: this.allLen.min,
      pkt_len_max: this.allLen.max,
      pkt_len_mean: round6(this.allLen.mean),
      pkt_len_std: round6(this.allLen.std()),
      bytes_per_s: rate(this.fwdBytes + this.bwdBytes),
      packets_per_s: rate(pk),
      fwd_packets_per_s: rate(this.fwdPackets),
      bwd_packets_per_s: rate(this.bwdPackets),
      flow_iat_mean: nsToSeconds(this.flowIat.mean),
      flow_iat_std: nsToSeconds(this.flowIat.std()),
      flow_iat_min: nsToSeconds(this.flowIat.min),
      flow_iat_max: nsToSeconds(this.flowIat.max),
      fwd_iat_total: nsToSeconds(this.fwdIat.sum),
      fwd_iat_mean: nsToSeconds(this.fwdIat.mean),
      fwd_iat_std: nsToSeconds(this.fwdIat.std()),
      fwd_iat_min: nsToSeconds(this.fwdIat.min),
      fwd_iat_max: nsToSeconds(this.fwdIat.max),
      bwd_iat_total: nsToSeconds(this.bwdIat.sum),
      bwd_iat_mean: nsToSeconds(this.bwdIat.mean),
      bwd_iat_std: nsToSeconds(this.bwdIat.std()),
      bwd_iat_min: nsToSeconds(this.bwdIat.min),
      bwd_iat_max: nsToSeconds(this.bwdIat.max),
      syn_count: this.syn,
      fin_count: this.fin,
      rst_count: this.rst,
      psh_count: this.psh,
      ack_count: this.ack,
      urg_count: this.urg,
      fwd_header_bytes: this.fwdHeader,
      bwd_header_bytes: this.bwdHeader,
      fwd_init_win: this.fwdInitWin,
      bwd_init_win: this.bwdInitWin,
      fragments: this.fragments,
    };
  }
}

/** Seconds of a nanosecond count, rounded to the nanosecond. */
function nsToSeconds(ns: number): number {
  return Math.round(ns) / 1e9;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** ISO 8601 UTC time with microseconds (nanoseconds when the time has them). */
export function isoTime(seconds: number, nanoseconds: number): string {
  const day = new Date(seconds * 1000).toISOString().slice(0, 19);
  const frac = nanoseconds % 1000 === 0 ? String(nanoseconds / 1000).padStart(6, '0') : String(nanoseconds).padStart(9, '0');
  return `${day}.${frac}Z`;
}

/** Packets a {@link FlowMeter} could not use, by reason. */
export type SkippedPackets = Record<SkipReason, number>;

/** Counts of a {@link FlowMeter}'s work. */
export interface FlowMeterStats {
  /** Packets given to the meter. */
  packets: number;
  /** Packets counted into flows. */
  flowPackets: number;
  /** Flows written. */
  flows: number;
  /** Packets not counted into any flow, by reason: not IP (ARP, LLDP, ...), an unsupported link type, headers cut short, malformed headers. */
  skipped: SkippedPackets;
  /** Unsupported link types seen (pcapng interfaces), with their packet counts. */
  linkTypes: Record<string, number>;
  /** Later IP fragments whose first fragment was not seen (counted in a flow with ports 0). */
  orphanFragments: number;
  /** Most flows held at once. */
  peakActiveFlows: number;
  /** Time of the first and the last packet (ISO 8601), when there were packets. */
  first?: string;
  last?: string;
}

/**
 * The active flows by canonical key. IPv4 keys are hashed into small integers (chained on
 * collision), so looking a packet's flow up allocates nothing; IPv6 keys are strings.
 */
class FlowTable {
  private readonly v4 = new Map<number, Flow>();
  private readonly v6 = new Map<string, Flow>();
  size = 0;

  static hash4(a: number, b: number, pa: number, pb: number, proto: number): number {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0xc2b2ae35, 0x27d4eb2f);
    h ^= Math.imul((pa << 16) ^ pb ^ (proto << 8), 0x165667b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h & 0x3fffffff;
  }

  get4(h: number, a: number, b: number, pa: number, pb: number, proto: number): Flow | undefined {
    let f = this.v4.get(h);
    while (f !== undefined && !(f.ka === a && f.kb === b && f.kpa === pa && f.kpb === pb && f.protocol === proto)) f = f.next;
    return f;
  }

  get6(key: string): Flow | undefined {
    return this.v6.get(key);
  }

  add(f: Flow): void {
    if (f.key6) this.v6.set(f.key6, f);
    else {
      f.next = this.v4.get(f.bucket);
      this.v4.set(f.bucket, f);
    }
    this.size++;
  }

  remove(f: Flow): void {
    if (f.key6) this.v6.delete(f.key6);
    else {
      const head = this.v4.get(f.bucket);
      if (head === f) {
        if (f.next) this.v4.set(f.bucket, f.next);
        else this.v4.delete(f.bucket);
      } else {
        let p = head;
        while (p !== undefined && p.next !== f) p = p.next;
        if (p) p.next = f.next;
      }
      f.next = undefined;
    }
    this.size--;
  }

  /** The flows for which `pick` holds, oldest first. */
  select(pick: (f: Flow) => boolean): Flow[] {
    const out: Flow[] = [];
    for (const head of this.v4.values()) for (let f: Flow | undefined = head; f !== undefined; f = f.next) if (pick(f)) out.push(f);
    for (const f of this.v6.values()) if (pick(f)) out.push(f);
    return out.sort((x, y) => x.seq - y.seq);
  }
}

interface FragmentEntry {
  key: string;
  flow: Flow;
  fwd: boolean;
  seen: number;
}

/**
 * Turns packets into bidirectional flows. Feed it packets in capture order with {@link add}
 * (for example from a {@link CaptureParser}); every finished flow goes to `onFlow` as it ends;
 * {@link finish} ends the flows still active. Memory: the active flows only (flows idle for
 * longer than the idle timeout are written out at least once per second of capture time).
 *
 * @example
 * ```ts
 * const flows: FlowRecord[] = [];
 * const meter = new FlowMeter((f) => flows.push(f), { idleTimeout: 60 });
 * await forEachPacket('capture.pcap', (p) => meter.add(p));
 * meter.finish();
 * ```
 */
export class FlowMeter {
  /** What was counted so far. */
  readonly stats: FlowMeterStats = {
    packets: 0,
    flowPackets: 0,
    flows: 0,
    skipped: { 'non-ip': 0, 'link-type': 0, truncated: 0, malformed: 0 },
    linkTypes: {},
    orphanFragments: 0,
    peakActiveFlows: 0,
  };
  private readonly onFlow: (f: FlowRecord) => void;
  private readonly idleNs: number;
  private readonly activeNs: number;
  private readonly closeNs: number;
  private readonly flows = new FlowTable();
  private created = 0;
  private readonly fragments = new Map<string, FragmentEntry>();
  private readonly pk = new DecodedPacket();
  private readonly words = new Array<number>(19);
  private base = -1;
  private now = 0;
  private nextSweep = 0;
  private firstSec = 0;
  private firstNs = 0;
  private lastSec = 0;
  private lastNs = 0;

  /**
   * @param onFlow - receives every flow as it ends
   * @param opts - timeouts, see {@link FlowOptions}
   * @throws RangeError for a timeout that is not a positive number
   */
  constructor(onFlow: (f: FlowRecord) => void, opts: FlowOptions = {}) {
    this.onFlow = onFlow;
    const o = { ...DEFAULT_FLOW_OPTIONS, ...definedOnly(opts) };
    for (const k of ['idleTimeout', 'activeTimeout', 'closeWait'] as const) {
      const v = o[k];
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
        throw new RangeError(`The '${k}' option of FlowMeter must be a positive number of seconds. Got ${JSON.stringify(v)}.`);
      }
    }
    this.idleNs = o.idleTimeout * 1e9;
    this.activeNs = o.activeTimeout * 1e9;
    this.closeNs = o.closeWait * 1e9;
  }

  /** Flows held now. */
  get activeFlows(): number {
    return this.flows.size;
  }

  /** Count one packet (as read by a {@link CaptureParser}). */
  add(p: PacketView): void {
    const st = this.stats;
    st.packets++;
    const pk = this.pk;
    if (!decodePacket(p.data, p.start, p.capturedLength, p.linkType, pk)) {
      st.skipped[pk.skip]++;
      if (pk.skip === 'link-type' && !isSupportedLinkType(p.linkType)) {
        const name = linkTypeName(p.linkType);
        st.linkTypes[name] = (st.linkTypes[name] ?? 0) + 1;
      }
      return;
    }
    if (this.base < 0) {
      this.base = p.seconds;
      this.firstSec = p.seconds;
      this.firstNs = p.nanoseconds;
    }
    this.lastSec = p.seconds;
    this.lastNs = p.nanoseconds;
    const t = (p.seconds - this.base) * 1e9 + p.nanoseconds;
    if (t > this.now) this.now = t;
    if (this.now >= this.nextSweep) this.sweep();
    st.flowPackets++;

    if (pk.fragment === 2) {
      const fe = this.fragments.get(this.fragmentKey(pk));
      if (fe) {
        fe.seen = this.now;
        if (!pk.moreFragments) this.fragments.delete(fe.key);
        if (!fe.flow.ended) {
          fe.flow.add(fe.fwd, t, p.originalLength, pk);
          return;
        }
        // the flow has ended meanwhile: the fragment starts a flow of its own below
      } else st.orphanFragments++;
    }
    let aIsSrc: boolean;
    let flow: Flow | undefined;
    let h = 0;
    let key6 = '';
    if (pk.ipVersion === 4) {
      const a = pk.src4;
      const b = pk.dst4;
      aIsSrc = a < b || (a === b && pk.srcPort <= pk.dstPort);
      if (aIsSrc) {
        h = FlowTable.hash4(a, b, pk.srcPort, pk.dstPort, pk.protocol);
        flow = this.flows.get4(h, a, b, pk.srcPort, pk.dstPort, pk.protocol);
      } else {
        h = FlowTable.hash4(b, a, pk.dstPort, pk.srcPort, pk.protocol);
        flow = this.flows.get4(h, b, a, pk.dstPort, pk.srcPort, pk.protocol);
      }
    } else {
      const d = pk.data;
      let cmp = 0;
      for (let i = 0; i < 16 && cmp === 0; i++) cmp = d[pk.src6 + i] - d[pk.dst6 + i];
      aIsSrc = cmp < 0 || (cmp === 0 && pk.srcPort <= pk.dstPort);
      const w = this.words;
      const x = aIsSrc ? pk.src6 : pk.dst6;
      const y = aIsSrc ? pk.dst6 : pk.src6;
      for (let i = 0; i < 8; i++) {
        w[i] = (d[x + 2 * i] << 8) | d[x + 2 * i + 1];
        w[8 + i] = (d[y + 2 * i] << 8) | d[y + 2 * i + 1];
      }
      w[16] = aIsSrc ? pk.srcPort : pk.dstPort;
      w[17] = aIsSrc ? pk.dstPort : pk.srcPort;
      w[18] = pk.protocol;
      key6 = String.fromCharCode.apply(null, w);
      flow = this.flows.get6(key6);
    }

    if (flow !== undefined) {
      const gap = t - flow.last;
      let reason: FlowEndReason | undefined;
      if (flow.closed !== undefined) {
        // a closed TCP connection keeps its late packets, but a SYN (or a long silence) starts anew
        if (pk.tcpFlags & SYN || gap > this.closeNs) reason = flow.closed;
      } else if (gap > this.idleNs) reason = 'idle';
      else if (t - flow.start > this.activeNs) reason = 'active';
      if (reason !== undefined) {
        this.end(flow, reason);
        flow = undefined;
      }
    }
    if (flow === undefined) {
      const v4 = pk.ipVersion === 4;
      const src = v4 ? ipv4String(pk.src4) : ipv6String(pk.data, pk.src6);
      const dst = v4 ? ipv4String(pk.dst4) : ipv6String(pk.data, pk.dst6);
      flow = new Flow(aIsSrc, src, dst, pk.srcPort, pk.dstPort, pk.protocol, p.seconds, p.nanoseconds, t);
      flow.seq = this.created++;
      if (v4) {
        flow.ka = aIsSrc ? pk.src4 : pk.dst4;
        flow.kb = aIsSrc ? pk.dst4 : pk.src4;
        flow.kpa = aIsSrc ? pk.srcPort : pk.dstPort;
        flow.kpb = aIsSrc ? pk.dstPort : pk.srcPort;
        flow.bucket = h;
      } else flow.key6 = key6;
      this.flows.add(flow);
      if (this.flows.size > st.peakActiveFlows) st.peakActiveFlows = this.flows.size;
    }
    flow.add(aIsSrc === flow.srcIsA, t, p.originalLength, pk);
    if (pk.fragment === 1) {
      const fk = this.fragmentKey(pk);
      this.fragments.set(fk, { key: fk, flow, fwd: aIsSrc === flow.srcIsA, seen: this.now });
    }
  }

  /** End every active flow (`end_reason` `end`), oldest first, and report the totals. */
  finish(): FlowMeterStats {
    for (const f of this.flows.select(() => true)) this.end(f, f.closed ?? 'end');
    this.fragments.clear();
    if (this.base >= 0) {
      this.stats.first = isoTime(this.firstSec, this.firstNs);
      this.stats.last = isoTime(this.lastSec, this.lastNs);
    }
    return this.stats;
  }

  private end(flow: Flow, reason: FlowEndReason): void {
    this.flows.remove(flow);
    flow.ended = true;
    this.stats.flows++;
    this.onFlow(flow.record(reason));
  }

  /** Write out flows that have been idle past their timeout, once per second of capture time. */
  private sweep(): void {
    const now = this.now;
    this.nextSweep = now + 1e9;
    const expired = this.flows.select((f) => (f.closed !== undefined ? now - f.last > this.closeNs : now - f.last > this.idleNs));
    for (const f of expired) this.end(f, f.closed ?? 'idle');
    // fragments of a datagram arrive together; a minute is far beyond any reassembly timeout
    for (const fe of this.fragments.values()) if (now - fe.seen > 60e9) this.fragments.delete(fe.key);
  }

  private fragmentKey(pk: DecodedPacket): string {
    if (pk.ipVersion === 4) {
      return String.fromCharCode(0xfffe, pk.src4 >>> 16, pk.src4 & 0xffff, pk.dst4 >>> 16, pk.dst4 & 0xffff, pk.fragmentId, pk.protocol);
    }
    const d = pk.data;
    let s = '\uffff';
    for (let i = 0; i < 16; i += 2) s += String.fromCharCode((d[pk.src6 + i] << 8) | d[pk.src6 + i + 1], (d[pk.dst6 + i] << 8) | d[pk.dst6 + i + 1]);
    return s + String.fromCharCode(pk.fragmentId >>> 16, pk.fragmentId & 0xffff);
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Totals of {@link captureFlows} (the generator's return value) and {@link writeFlowsCsv}. */
export interface CaptureFlowSummary extends FlowMeterStats {
  /** What the capture file held (format, interfaces, packets, bytes). */
  capture: CaptureInfo;
  /** Messages about tolerated problems (also given to `onWarning`). */
  warnings: string[];
}

/** Options of {@link captureFlows}. */
export interface CaptureFlowOptions extends FlowOptions {
  /** Name for messages (default: the path, `stdin` for `"-"`). */
  file?: string;
  /** Tolerated problems: a truncated last packet, packets of unsupported link types. */
  onWarning?: (message: string) => void;
  /** Raw bytes read (for progress). */
  onBytes?: (bytes: number) => void;
  /** Stops the reading when aborted (also while waiting on stdin): the generator rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Read a capture (classic pcap or pcapng; a path, `.gz`, `"-"` for stdin, or a stream) and yield
 * its flows as they end, in bounded memory. The generator's return value is the
 * {@link CaptureFlowSummary}.
 *
 * @example
 * ```ts
 * for await (const flow of captureFlows('capture.pcapng', { idleTimeout: 60 })) {
 *   console.log(flow.src_ip, flow.dst_ip, flow.dst_port, flow.fwd_packets + flow.bwd_packets);
 * }
 * ```
 * @throws DataValidationError for a missing file, a file that is not a capture, a corrupt record
 *   (naming its byte offset), or a capture whose packets are all of unsupported link types
 */
export async function* captureFlows(source: CaptureSource, opts: CaptureFlowOptions = {}): AsyncGenerator<FlowRecord, CaptureFlowSummary> {
  const file = opts.file ?? (typeof source === 'string' ? (source === '-' ? 'stdin' : source) : undefined);
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  const opened = await openCapture(source, opts);
  const done: FlowRecord[] = [];
  const meter = new FlowMeter((f) => done.push(f), opts);
  const parser = new CaptureParser((p) => meter.add(p), { file: opened.file, gzip: opened.gzip, onWarning: warn });
  for await (const c of opened.chunks) {
    parser.push(c);
    if (done.length) {
      for (const f of done) yield f;
      done.length = 0;
    }
  }
  parser.end();
  const stats = meter.finish();
  for (const f of done) yield f;
  done.length = 0;
  const unsupported = Object.entries(stats.linkTypes);
  if (unsupported.length) {
    const what = unsupported.map(([n, k]) => `${k} on ${n}`).join(', ');
    if (stats.flowPackets === 0 && stats.packets === stats.skipped['link-type']) {
      throw new DataValidationError(`every packet is on an interface of an unsupported link type (${what}); supported: Ethernet with VLAN tags, Linux cooked SLL and SLL2, raw IP, BSD/OpenBSD loopback.`, { file: opened.file });
    }
    warn(`${file ? file + ': ' : ''}packets of unsupported link types skipped: ${what}.`);
  }
  return { ...stats, capture: parser.info, warnings };
}

/**
 * One flow as a CSV line (no newline), in {@link FLOW_COLUMNS} order. No cell of a flow needs
 * quoting (times, addresses, protocol names and numbers hold no comma, quote or line break), so
 * this is the cells joined by commas: {@link csvLine} of {@link flowCells}, in about 60% of its time.
 */
export function flowCsvLine(f: FlowRecord): string {
  const cells = new Array<string | number>(FLOW_COLUMNS.length);
  for (let j = 0; j < cells.length; j++) cells[j] = f[FLOW_COLUMNS[j]];
  return cells.join(',');
}

/** One flow as CSV cells, in {@link FLOW_COLUMNS} order. */
export function flowCells(f: FlowRecord): string[] {
  const out = new Array<string>(FLOW_COLUMNS.length);
  for (let j = 0; j < FLOW_COLUMNS.length; j++) out[j] = String(f[FLOW_COLUMNS[j]]);
  return out;
}
