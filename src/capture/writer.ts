/**
 * Writing packet captures: IPv4/IPv6 packets with TCP, UDP or ICMP headers built from a
 * {@link PacketSpec} (checksums filled in, payload bytes zero), framed for a link type (Ethernet
 * with optional VLAN tags, Linux cooked SLL and SLL2, raw IP, BSD loopback) and written as classic
 * pcap or pcapng in either byte order, with micro- or nanosecond timestamps. The packet
 * synthesizer writes its captures with it; tests write the same packets in every layout.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { atomicWriteFile } from '../core/persistence';

/** One packet to write, described by its headers. */
export interface PacketSpec {
  /** Whole seconds since 1970-01-01 UTC. */
  seconds: number;
  /** Nanoseconds within the second. */
  nanoseconds: number;
  /** Source and destination addresses: 4 bytes (IPv4) or 16 bytes (IPv6). */
  src: Uint8Array;
  dst: Uint8Array;
  /** IP protocol: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 (others: an empty header). */
  protocol: number;
  srcPort?: number;
  dstPort?: number;
  /** TCP flags byte (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32). */
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  /** TCP window. @defaultValue 64240 */
  window?: number;
  /** ICMP type, code and the echo identifier / sequence. */
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  icmpSeq?: number;
  /** Payload bytes after the transport header (written as zeros). */
  payload: number;
  /** IPv4 identification (and the IPv6 fragment id). */
  ipId?: number;
  ttl?: number;
  /**
   * This packet is an IP fragment: `offset` in bytes of the original payload (a multiple of 8),
   * `more` when fragments follow. A fragment with offset 0 carries the transport header; later
   * ones carry `payload` bytes of the original datagram only.
   */
  fragment?: {
    offset: number;
    more: boolean;
    /** The whole datagram's transport payload (the first fragment's UDP length field holds it). */
    datagramPayload?: number;
  };
}

/** Options of {@link CaptureWriter}. */
export interface CaptureWriterOptions {
  /** @defaultValue "pcap" */
  format?: 'pcap' | 'pcapng';
  /** @defaultValue "little" */
  byteOrder?: 'little' | 'big';
  /** Timestamp resolution. @defaultValue "micro" */
  resolution?: 'micro' | 'nano';
  /** Link type of the (first) interface. @defaultValue 1 (Ethernet) */
  linkType?: number;
  /** 802.1Q VLAN ids tagged onto Ethernet frames (two ids: QinQ, the outer one 802.1ad). */
  vlan?: readonly number[];
  /** Bytes of each packet kept (the rest is cut; the original length is recorded). @defaultValue 262144 */
  snapLength?: number;
  /**
   * pcapng only: more interfaces, each with its own link type and resolution; packet `i` goes to
   * interface `interfaceOf(i)`. @defaultValue one interface
   */
  interfaces?: readonly { linkType: number; resolution?: 'micro' | 'nano'; vlan?: readonly number[] }[];
  /** pcapng only: which packet block to write. @defaultValue "enhanced" */
  packetBlock?: 'enhanced' | 'simple' | 'obsolete';
}

interface Iface {
  linkType: number;
  resolution: 'micro' | 'nano';
  vlan: readonly number[];
}

/**
 * Serialises packets into capture bytes: {@link header} once, then {@link packet} per packet.
 * @example
 * ```ts
 * const w = new CaptureWriter({ format: 'pcapng' });
 * const parts = [w.header(), ...specs.map((s) => w.packet(s))];
 * ```
 */
export class CaptureWriter {
  private readonly le: boolean;
  private readonly format: 'pcap' | 'pcapng';
  private readonly snap: number;
  private readonly ifaces: Iface[];
  private readonly block: 'enhanced' | 'simple' | 'obsolete';

  constructor(opts: CaptureWriterOptions = {}) {
    this.le = (opts.byteOrder ?? 'little') === 'little';
    this.format = opts.format ?? 'pcap';
    this.snap = opts.snapLength ?? 262144;
    this.block = opts.packetBlock ?? 'enhanced';
    const first: Iface = { linkType: opts.linkType ?? 1, resolution: opts.resolution ?? 'micro', vlan: opts.vlan ?? [] };
    this.ifaces = opts.interfaces?.length
      ? opts.interfaces.map((i) => ({ linkType: i.linkType, resolution: i.resolution ?? 'micro', vlan: i.vlan ?? [] }))
      : [first];
    if (this.format === 'pcap' && this.ifaces.length > 1) throw new RangeError('CaptureWriter: classic pcap has one interface; use format "pcapng" for several.');
    if (this.format === 'pcap' && this.block !== 'enhanced') throw new RangeError('CaptureWriter: packetBlock applies to pcapng only.');
  }

  /** The file header (pcap) or section header and interface description blocks (pcapng). */
  header(): Buffer {
    if (this.format === 'pcap') {
      const b = Buffer.alloc(24);
      const nano = this.ifaces[0].resolution === 'nano';
      this.w32(b, 0, nano ? 0xa1b23c4d : 0xa1b2c3d4);
      this.w16(b, 4, 2);
      this.w16(b, 6, 4);
      this.w32(b, 16, this.snap);
      this.w32(b, 20, this.ifaces[0].linkType);
      return b;
    }
    const shb = Buffer.alloc(28);
    this.w32(shb, 0, 0x0a0d0d0a);
    this.w32(shb, 4, 28);
    this.w32(shb, 8, 0x1a2b3c4d);
    this.w16(shb, 12, 1);
    this.w16(shb, 14, 0);
    this.w32(shb, 16, 0xffffffff); // section length unknown (-1)
    this.w32(shb, 20, 0xffffffff);
    this.w32(shb, 24, 28);
    const idbs = this.ifaces.map((itf) => {
      // options: if_tsresol (9) for nanoseconds, then opt_endofopt
      const opts = itf.resolution === 'nano' ? 12 : 0;
      const len = 20 + opts + (opts ? 4 : 0);
      const b = Buffer.alloc(len);
      this.w32(b, 0, 1);
      this.w32(b, 4, len);
      this.w16(b, 8, itf.linkType);
      this.w32(b, 12, this.snap);
      if (opts) {
        this.w16(b, 16, 9);
        this.w16(b, 18, 1);
        b[20] = 9;
        // 3 bytes padding, then opt_endofopt (0, 0)
      }
      this.w32(b, len - 4, len);
      return b;
    });
    return Buffer.concat([shb, ...idbs]);
  }

  /** One packet's record (pcap) or block (pcapng), on interface `iface`. */
  packet(spec: PacketSpec, iface = 0): Buffer {
    const itf = this.ifaces[iface];
    if (!itf) throw new RangeError(`CaptureWriter: no interface ${iface}.`);
    const ip = buildIpPacket(spec);
    const frame = frameFor(itf.linkType, ip, spec, itf.vlan);
    const incl = Math.min(frame.length, this.snap);
    if (this.format === 'pcap') {
      const b = Buffer.alloc(16 + incl);
      const nano = itf.resolution === 'nano';
      this.w32(b, 0, spec.seconds);
      this.w32(b, 4, nano ? spec.nanoseconds : Math.floor(spec.nanoseconds / 1000));
      this.w32(b, 8, incl);
      this.w32(b, 12, frame.length);
      frame.copy(b, 16, 0, incl);
      return b;
    }
    const pad = (4 - (incl % 4)) % 4;
    if (this.block === 'simple') {
      const len = 16 + incl + pad;
      const b = Buffer.alloc(len);
      this.w32(b, 0, 3);
      this.w32(b, 4, len);
      this.w32(b, 8, frame.length);
      frame.copy(b, 12, 0, incl);
      this.w32(b, len - 4, len);
      return b;
    }
    const len = 32 + incl + pad;
    const b = Buffer.alloc(len);
    const units = itf.resolution === 'nano' ? BigInt(spec.seconds) * 1000000000n + BigInt(spec.nanoseconds) : BigInt(spec.seconds) * 1000000n + BigInt(Math.floor(spec.nanoseconds / 1000));
    this.w32(b, 0, this.block === 'obsolete' ? 2 : 6);
    this.w32(b, 4, len);
    if (this.block === 'obsolete') {
      this.w16(b, 8, iface);
      this.w16(b, 10, 0);
    } else this.w32(b, 8, iface);
    this.w32(b, 12, Number(units >> 32n));
    this.w32(b, 16, Number(units & 0xffffffffn));
    this.w32(b, 20, incl);
    this.w32(b, 24, frame.length);
    frame.copy(b, 28, 0, incl);
    this.w32(b, len - 4, len);
    return b;
  }

  private w16(b: Buffer, o: number, v: number): void {
    if (this.le) b.writeUInt16LE(v, o);
    else b.writeUInt16BE(v, o);
  }

  private w32(b: Buffer, o: number, v: number): void {
    if (this.le) b.writeUInt32LE(v >>> 0, o);
    else b.writeUInt32BE(v >>> 0, o);
  }
}

/**
 * Write packets to a capture file (gzipped when the name ends in `.gz`), atomically (a temporary
 * file renamed into place).
 * @param interfaceOf - pcapng with several interfaces: the interface of packet `i`
 * @returns the number of packets written
 */
export function writeCaptureFile(file: string, packets: Iterable<PacketSpec>, opts: CaptureWriterOptions = {}, interfaceOf?: (i: number) => number): number {
  const w = new CaptureWriter(opts);
  const parts: Buffer[] = [w.header()];
  let i = 0;
  for (const p of packets) parts.push(w.packet(p, interfaceOf ? interfaceOf(i) : 0)), i++;
  let bytes: Buffer = Buffer.concat(parts);
  if (file.endsWith('.gz')) bytes = zlib.gzipSync(bytes);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  atomicWriteFile(file, bytes);
  return i;
}

/** The IP packet (header, transport header, zero payload) of a spec. */
export function buildIpPacket(s: PacketSpec): Buffer {
  const v6 = s.src.length === 16;
  const frag = s.fragment;
  const later = frag !== undefined && frag.offset > 0;
  const thl = later ? 0 : s.protocol === 6 ? tcpHeaderLength(s) : transportHeaderLength(s.protocol);
  const l4len = thl + s.payload;
  const ipHl = v6 ? 40 + (frag ? 8 : 0) : 20;
  const b = Buffer.alloc(ipHl + l4len);
  if (v6) {
    b[0] = 0x60;
    b.writeUInt16BE(l4len + (frag ? 8 : 0), 4);
    b[6] = frag ? 44 : s.protocol;
    b[7] = s.ttl ?? 64;
    b.set(s.src, 8);
    b.set(s.dst, 24);
    if (frag) {
      b[40] = s.protocol;
      b.writeUInt16BE((frag.offset & ~7) | (frag.more ? 1 : 0), 42);
      b.writeUInt32BE((s.ipId ?? 0) >>> 0, 44);
    }
  } else {
    b[0] = 0x45;
    b.writeUInt16BE(20 + l4len, 2);
    b.writeUInt16BE((s.ipId ?? 0) & 0xffff, 4);
    b.writeUInt16BE(frag ? (frag.more ? 0x2000 : 0) | ((frag.offset >> 3) & 0x1fff) : 0x4000, 6);
    b[8] = s.ttl ?? 64;
    b[9] = s.protocol;
    b.set(s.src, 12);
    b.set(s.dst, 16);
    b.writeUInt16BE(checksum(b, 0, 20, 0), 10);
  }
  if (later) return b;
  const t = ipHl;
  if (s.protocol === 6) {
    b.writeUInt16BE(s.srcPort ?? 0, t);
    b.writeUInt16BE(s.dstPort ?? 0, t + 2);
    b.writeUInt32BE((s.seq ?? 0) >>> 0, t + 4);
    b.writeUInt32BE((s.ack ?? 0) >>> 0, t + 8);
    b[t + 12] = (thl / 4) << 4;
    b[t + 13] = s.tcpFlags ?? 0x10;
    b.writeUInt16BE(s.window ?? 64240, t + 14);
    if (thl > 20) {
      // options of a SYN: MSS 1460, then NOPs/end
      b[t + 20] = 2;
      b[t + 21] = 4;
      b.writeUInt16BE(1460, t + 22);
    }
  } else if (s.protocol === 17) {
    b.writeUInt16BE(s.srcPort ?? 0, t);
    b.writeUInt16BE(s.dstPort ?? 0, t + 2);
    b.writeUInt16BE(frag ? 8 + (frag.datagramPayload ?? s.payload) : l4len, t + 4);
  } else if (s.protocol === 1 || s.protocol === 58) {
    b[t] = s.icmpType ?? 8;
    b[t + 1] = s.icmpCode ?? 0;
    b.writeUInt16BE(s.icmpId ?? 0, t + 4);
    b.writeUInt16BE(s.icmpSeq ?? 0, t + 6);
  }
  if (!frag) {
    const cs = transportChecksum(b, s, t, l4len, v6);
    const at = s.protocol === 6 ? 16 : s.protocol === 17 ? 6 : s.protocol === 1 || s.protocol === 58 ? 2 : -1;
    if (at >= 0) b.writeUInt16BE(s.protocol === 17 && cs === 0 ? 0xffff : cs, t + at);
  }
  return b;
}

function transportHeaderLength(protocol: number): number {
  return protocol === 6 ? 20 : protocol === 17 ? 8 : protocol === 1 || protocol === 58 ? 8 : 0;
}

/** SYN segments carry a 4-byte MSS option (header 24 bytes), as real stacks send. */
function tcpHeaderLength(s: PacketSpec): number {
  return s.protocol === 6 && (s.tcpFlags ?? 0) & 0x02 ? 24 : 20;
}

function checksum(b: Uint8Array, start: number, len: number, initial: number): number {
  let sum = initial;
  let i = start;
  const end = start + len;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function transportChecksum(b: Buffer, s: PacketSpec, t: number, l4len: number, v6: boolean): number {
  if (s.protocol === 1) return checksum(b, t, l4len, 0);
  let sum = 0;
  const add = (a: Uint8Array) => {
    for (let i = 0; i < a.length; i += 2) sum += (a[i] << 8) | a[i + 1];
  };
  add(s.src);
  add(s.dst);
  sum += s.protocol;
  sum += v6 ? (l4len >>> 16) + (l4len & 0xffff) : l4len;
  return checksum(b, t, l4len, sum);
}

/** Locally administered MAC address derived from an IP address (the same for the same address). */
function macFor(addr: Uint8Array): Buffer {
  const m = Buffer.alloc(6);
  m[0] = 0x02;
  m[1] = addr.length === 16 ? 0x06 : 0x04;
  m.set(addr.subarray(addr.length - 4), 2);
  return m;
}

/** The link-layer frame of an IP packet. */
export function frameFor(linkType: number, ip: Buffer, spec: Pick<PacketSpec, 'src' | 'dst'>, vlan: readonly number[] = []): Buffer {
  const v6 = spec.src.length === 16;
  const etherType = v6 ? 0x86dd : 0x0800;
  switch (linkType) {
    case 1: {
      const h = Buffer.alloc(14 + 4 * vlan.length);
      macFor(spec.dst).copy(h, 0);
      macFor(spec.src).copy(h, 6);
      let o = 12;
      vlan.forEach((id, k) => {
        h.writeUInt16BE(vlan.length > 1 && k === 0 ? 0x88a8 : 0x8100, o);
        h.writeUInt16BE(id & 0x0fff, o + 2);
        o += 4;
      });
      h.writeUInt16BE(etherType, o);
      const f = Buffer.concat([h, ip]);
      // Ethernet frames are at least 60 bytes on the wire (before the FCS): pad short ones
      return f.length < 60 ? Buffer.concat([f, Buffer.alloc(60 - f.length)]) : f;
    }
    case 113: {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0); // to us
      h.writeUInt16BE(1, 2); // ARPHRD_ETHER
      h.writeUInt16BE(6, 4);
      macFor(spec.src).copy(h, 6);
      h.writeUInt16BE(etherType, 14);
      return Buffer.concat([h, ip]);
    }
    case 276: {
      const h = Buffer.alloc(20);
      h.writeUInt16BE(etherType, 0);
      h.writeUInt32BE(2, 4); // interface index
      h.writeUInt16BE(1, 8);
      h[10] = 0;
      h[11] = 6;
      macFor(spec.src).copy(h, 12);
      return Buffer.concat([h, ip]);
    }
    case 101:
    case 228:
    case 229:
      return ip;
    case 0: {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(v6 ? 30 : 2, 0);
      return Buffer.concat([h, ip]);
    }
    case 108: {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(v6 ? 24 : 2, 0);
      return Buffer.concat([h, ip]);
    }
    default:
      throw new RangeError(`frameFor: link type ${linkType} cannot be written.`);
  }
}

/** Bytes of an IPv4 (`a.b.c.d`) or IPv6 address given as text. */
export function addressBytes(text: string): Uint8Array {
  if (text.includes(':')) {
    const [head, tail] = text.split('::');
    const parse = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
    const a = parse(head);
    const c = tail === undefined ? [] : parse(tail);
    const words = tail === undefined ? a : [...a, ...new Array(8 - a.length - c.length).fill(0), ...c];
    if (words.length !== 8 || words.some((w) => !(w >= 0 && w <= 0xffff))) throw new RangeError(`addressBytes: '${text}' is not an IPv6 address.`);
    const b = new Uint8Array(16);
    words.forEach((w, i) => {
      b[2 * i] = w >> 8;
      b[2 * i + 1] = w & 255;
    });
    return b;
  }
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(Number.isInteger(p) && p >= 0 && p <= 255))) throw new RangeError(`addressBytes: '${text}' is not an IPv4 address.`);
  return Uint8Array.from(parts);
}
