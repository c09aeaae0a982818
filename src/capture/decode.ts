/**
 * Packet decoding down to what a flow needs: the link layer (Ethernet with 802.1Q/802.1ad VLAN
 * tags and PPPoE, Linux cooked SLL and SLL2, raw IP, BSD/OpenBSD loopback), IPv4 (fragments
 * recognised, not reassembled) and IPv6 (extension headers walked, fragment header included), and
 * the TCP, UDP, ICMP and ICMPv6 headers. {@link decodePacket} fills one reused
 * {@link DecodedPacket} and allocates nothing.
 */

/** Why a packet was not decoded into a flow packet. */
export type SkipReason = 'non-ip' | 'link-type' | 'truncated' | 'malformed';

/** The result of {@link decodePacket}, one reused instance. */
export class DecodedPacket {
  /** 4 or 6. */
  ipVersion = 4;
  /** IPv4 addresses as unsigned 32-bit numbers. */
  src4 = 0;
  dst4 = 0;
  /** IPv6 addresses: offsets of their 16 bytes in `data`. */
  src6 = 0;
  dst6 = 0;
  /** The bytes decoded (the capture's buffer). */
  data: Uint8Array = new Uint8Array(0);
  /** IP protocol number of the transport (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, ...). */
  protocol = 0;
  /** Ports; for ICMP the type and its counterpart (see {@link decodePacket}). */
  srcPort = 0;
  dstPort = 0;
  /** TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80). */
  tcpFlags = 0;
  /** TCP window field (unscaled); -1 for other protocols. */
  window = -1;
  /** IP header bytes (with IPv6 extension headers) plus the transport header's bytes. */
  headerBytes = 0;
  /** Transport payload bytes (of a non-first fragment: its IP payload). */
  payloadBytes = 0;
  /** 0: not a fragment; 1: the first fragment (it has the transport header); 2: a later fragment. */
  fragment = 0;
  /** More fragments follow this one. */
  moreFragments = false;
  /** IP identification of a fragment (IPv4: 16 bits; IPv6: 32 bits). */
  fragmentId = 0;
  /** Why the packet could not be decoded, when {@link decodePacket} returned false. */
  skip: SkipReason = 'non-ip';
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;

/**
 * Decode one packet's headers into `out`.
 * @param data - bytes holding the packet
 * @param start - offset of the packet in `data`
 * @param capLen - captured bytes of the packet
 * @param linkType - the interface's tcpdump.org LINKTYPE_ value
 * @returns true when it is an IP packet whose headers were read (`out` filled); false with
 *   `out.skip` saying why not
 * @remarks
 * ICMP and ICMPv6 have no ports; as Zeek does, the source "port" is the message type and the
 * destination "port" is the type of its counterpart (echo request 8 and echo reply 0, and so on),
 * or the code for messages without one, so a request and its reply share a flow. Protocols other
 * than TCP, UDP and ICMP get ports 0. Lengths on the wire come from the IP header, not from the
 * captured bytes, so packets cut to a snapshot length are still counted in full.
 * @example
 * ```ts
 * const d = new DecodedPacket();
 * if (decodePacket(frame, 0, frame.length, LINK_TYPES.ETHERNET, d)) console.log(d.protocol, d.srcPort, d.dstPort);
 * else console.log('skipped:', d.skip);
 * ```
 */
export function decodePacket(data: Uint8Array, start: number, capLen: number, linkType: number, out: DecodedPacket): boolean {
  const end = start + capLen;
  let p = start;
  let etherType = -1;
  switch (linkType) {
    case 1: {
      // Ethernet: dst(6) src(6) type(2), VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8, old QinQ 0x9100)
      if (capLen < 14) return skip(out, 'truncated');
      etherType = (data[p + 12] << 8) | data[p + 13];
      p += 14;
      while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
        if (p + 4 > end) return skip(out, 'truncated');
        etherType = (data[p + 2] << 8) | data[p + 3];
        p += 4;
      }
      if (etherType === 0x8864) {
        // PPPoE session: version/type(1) code(1) session(2) length(2), then the PPP protocol(2)
        if (p + 8 > end) return skip(out, 'truncated');
        const ppp = (data[p + 6] << 8) | data[p + 7];
        p += 8;
        etherType = ppp === 0x0021 ? ETH_IPV4 : ppp === 0x0057 ? ETH_IPV6 : -1;
      }
      break;
    }
    case 113: {
      // Linux cooked v1: packet type(2) ARPHRD(2) address length(2) address(8) protocol(2)
      if (capLen < 16) return skip(out, 'truncated');
      etherType = (data[p + 14] << 8) | data[p + 15];
      p += 16;
      break;
    }
    case 276: {
      // Linux cooked v2: protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) address length(1) address(8)
      if (capLen < 20) return skip(out, 'truncated');
      etherType = (data[p] << 8) | data[p + 1];
      p += 20;
      break;
    }
    case 101:
    case 12:
    case 14:
    case 228:
    case 229: {
      if (capLen < 1) return skip(out, 'truncated');
      const v = data[p] >> 4;
      etherType = v === 4 ? ETH_IPV4 : v === 6 ? ETH_IPV6 : -1;
      break;
    }
    case 0:
    case 108: {
      // the address family: in the capturing host's byte order (NULL) or network order (LOOP)
      if (capLen < 4) return skip(out, 'truncated');
      let af = linkType === 108 ? (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3] : data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24);
      if (linkType === 0 && (af & 0xffff) === 0) af = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
      p += 4;
      // AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux)
      etherType = af === 2 ? ETH_IPV4 : af === 24 || af === 28 || af === 30 || af === 10 ? ETH_IPV6 : -1;
      break;
    }
    default:
      return skip(out, 'link-type');
  }
  out.data = data;
  if (etherType === ETH_IPV4) return decodeIpv4(data, p, end, out);
  if (etherType === ETH_IPV6) return decodeIpv6(data, p, end, out);
  return skip(out, 'non-ip');
}

function skip(out: DecodedPacket, reason: SkipReason): false {
  out.skip = reason;
  return false;
}

function decodeIpv4(b: Uint8Array, p: number, end: number, out: DecodedPacket): boolean {
  if (p + 20 > end) return skip(out, 'truncated');
  if (b[p] >> 4 !== 4) return skip(out, 'malformed');
  const ihl = (b[p] & 0x0f) * 4;
  if (ihl < 20) return skip(out, 'malformed');
  if (p + ihl > end) return skip(out, 'truncated');
  let total = (b[p + 2] << 8) | b[p + 3];
  // 0 = not filled in (TCP segmentation offload on the sending host): take what was captured
  if (total === 0) total = end - p;
  if (total < ihl) return skip(out, 'malformed');
  const frag = (b[p + 6] << 8) | b[p + 7];
  const offset = frag & 0x1fff;
  const more = (frag & 0x2000) !== 0;
  out.ipVersion = 4;
  out.protocol = b[p + 9];
  out.src4 = ((b[p + 12] << 24) | (b[p + 13] << 16) | (b[p + 14] << 8) | b[p + 15]) >>> 0;
  out.dst4 = ((b[p + 16] << 24) | (b[p + 17] << 16) | (b[p + 18] << 8) | b[p + 19]) >>> 0;
  out.moreFragments = more;
  out.fragmentId = (b[p + 4] << 8) | b[p + 5];
  out.fragment = offset > 0 ? 2 : more ? 1 : 0;
  return transport(b, p + ihl, end, total - ihl, ihl, out);
}

function decodeIpv6(b: Uint8Array, p: number, end: number, out: DecodedPacket): boolean {
  if (p + 40 > end) return skip(out, 'truncated');
  if (b[p] >> 4 !== 6) return skip(out, 'malformed');
  let payload = (b[p + 4] << 8) | b[p + 5];
  // 0 = a jumbogram or an unfilled length (segmentation offload): take what was captured
  if (payload === 0) payload = end - p - 40;
  out.ipVersion = 6;
  out.src6 = p + 8;
  out.dst6 = p + 24;
  out.fragment = 0;
  out.moreFragments = false;
  out.fragmentId = 0;
  let next = b[p + 6];
  let q = p + 40;
  let header = 40;
  // walk the extension headers: hop-by-hop 0, routing 43, fragment 44, destination options 60,
  // mobility 135, HIP 139, shim6 140, authentication 51
  for (;;) {
    if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
      if (q + 2 > end) return skip(out, 'truncated');
      const len = (b[q + 1] + 1) * 8;
      next = b[q];
      q += len;
      header += len;
    } else if (next === 51) {
      if (q + 2 > end) return skip(out, 'truncated');
      const len = (b[q + 1] + 2) * 4;
      next = b[q];
      q += len;
      header += len;
    } else if (next === 44) {
      if (q + 8 > end) return skip(out, 'truncated');
      const fo = (b[q + 2] << 8) | b[q + 3];
      const offset = fo >> 3;
      const more = (fo & 1) !== 0;
      out.fragmentId = ((b[q + 4] << 24) | (b[q + 5] << 16) | (b[q + 6] << 8) | b[q + 7]) >>> 0;
      out.moreFragments = more;
      out.fragment = offset > 0 ? 2 : more ? 1 : 0;
      next = b[q];
      q += 8;
      header += 8;
      // an atomic fragment (offset 0, no more fragments) is a whole packet
      if (offset > 0) break;
    } else break;
    if (header - 40 > payload) return skip(out, 'malformed');
  }
  out.protocol = next;
  return transport(b, q, end, payload - (header - 40), header, out);
}

/** Read the transport header at `p` (payload `len` bytes of the IP packet, `ipHeader` bytes before it). */
function transport(b: Uint8Array, p: number, end: number, len: number, ipHeader: number, out: DecodedPacket): boolean {
  out.tcpFlags = 0;
  out.window = -1;
  if (out.fragment === 2) {
    // a later fragment: no transport header, its ports come from the first fragment
    out.srcPort = 0;
    out.dstPort = 0;
    out.headerBytes = ipHeader;
    out.payloadBytes = len;
    return true;
  }
  const proto = out.protocol;
  if (proto === 6) {
    if (p + 20 > end) return skip(out, 'truncated');
    const hl = (b[p + 12] >> 4) * 4;
    if (hl < 20) return skip(out, 'malformed');
    out.srcPort = (b[p] << 8) | b[p + 1];
    out.dstPort = (b[p + 2] << 8) | b[p + 3];
    out.tcpFlags = b[p + 13];
    out.window = (b[p + 14] << 8) | b[p + 15];
    out.headerBytes = ipHeader + hl;
    out.payloadBytes = len > hl ? len - hl : 0;
    return true;
  }
  if (proto === 17 || proto === 136) {
    // UDP and UDP-Lite
    if (p + 8 > end) return skip(out, 'truncated');
    out.srcPort = (b[p] << 8) | b[p + 1];
    out.dstPort = (b[p + 2] << 8) | b[p + 3];
    out.headerBytes = ipHeader + 8;
    out.payloadBytes = len > 8 ? len - 8 : 0;
    return true;
  }
  if (proto === 1 || proto === 58) {
    if (p + 2 > end) return skip(out, 'truncated');
    const type = b[p];
    const code = b[p + 1];
    const pair = proto === 1 ? ICMP4_COUNTERPART[type] : ICMP6_COUNTERPART[type];
    out.srcPort = type;
    out.dstPort = pair === undefined ? code : pair;
    const hl = len < 8 ? len : 8;
    out.headerBytes = ipHeader + hl;
    out.payloadBytes = len - hl;
    return true;
  }
  out.srcPort = 0;
  out.dstPort = 0;
  out.headerBytes = ipHeader;
  out.payloadBytes = len;
  return true;
}

/** ICMPv4 request/reply pairs: echo 8/0, router 10/9, timestamp 13/14, information 15/16, address mask 17/18. */
const ICMP4_COUNTERPART: Record<number, number> = { 8: 0, 0: 8, 10: 9, 9: 10, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17 };
/** ICMPv6 pairs: echo 128/129, multicast listener 130/131, router 133/134, neighbor 135/136, node information 139/140. */
const ICMP6_COUNTERPART: Record<number, number> = { 128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136, 136: 135, 139: 140, 140: 139 };

/** Text form of an IPv4 address held as an unsigned 32-bit number. */
export function ipv4String(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** RFC 5952 text form of the IPv6 address in `b` at `o` (lower case, longest zero run as `::`). */
export function ipv6String(b: Uint8Array, o: number): string {
  const w: number[] = new Array(8);
  for (let i = 0; i < 8; i++) w[i] = (b[o + 2 * i] << 8) | b[o + 2 * i + 1];
  // IPv4-mapped ::ffff:a.b.c.d
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return `${hex(w.slice(0, bestStart))}::${hex(w.slice(bestStart + bestLen))}`;
}

/** Names of IP protocol numbers used in the `protocol` column (others are written as numbers). */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  1: 'icmp',
  2: 'igmp',
  6: 'tcp',
  17: 'udp',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'icmpv6',
  89: 'ospf',
  132: 'sctp',
  136: 'udplite',
};

/** `tcp`, `udp`, `icmp`, `icmpv6`, ... or the number as text. */
export function protocolName(protocol: number): string {
  return PROTOCOL_NAMES[protocol] ?? String(protocol);
}
