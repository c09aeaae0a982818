/**
 * Packet capture files, read as their bytes arrive: classic pcap (both byte orders, micro- and
 * nanosecond timestamps) and pcapng (section header, interface description, enhanced, simple and
 * the obsolete packet blocks; both byte orders, several sections and interfaces, `if_tsresol` and
 * `if_tsoffset`). {@link CaptureParser} is push-based and allocates nothing per packet (it hands
 * out one reused {@link PacketView}); {@link readCapture} wraps it for files, `.gz`, stdin and
 * streams. A truncated last packet (a capture cut off while it was written) is reported and
 * skipped; anything else out of shape is a {@link DataValidationError} naming its byte offset.
 *
 * Formats: https://www.tcpdump.org/manpages/pcap-savefile.5.html and
 * https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/ .
 */
import * as fs from 'node:fs';
import { DataValidationError } from '../core/errors';
import { recordDataFile } from '../core/provenance';
import { openCsvSource, type CsvSource } from '../stream/csv-reader';

/** Where capture bytes come from: a path (`"-"` is stdin; `.gz` is gunzipped), a stream or an iterable of byte chunks. */
export type CaptureSource = CsvSource;

/** Link-layer header types (tcpdump.org LINKTYPE_ values) that {@link decodePacket} understands. */
export const LINK_TYPES = {
  /** BSD loopback: a 4-byte address family in the capturing host's byte order (macOS `lo0`). */
  NULL: 0,
  /** Ethernet, with any number of 802.1Q / 802.1ad (QinQ) VLAN tags, and PPPoE sessions. */
  ETHERNET: 1,
  /** Raw IPv4 or IPv6, no link header. */
  RAW: 101,
  /** OpenBSD loopback: the address family in network byte order. */
  LOOP: 108,
  /** Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10). */
  LINUX_SLL: 113,
  /** Raw IPv4. */
  IPV4: 228,
  /** Raw IPv6. */
  IPV6: 229,
  /** Linux cooked capture v2 (`tcpdump -i any` since libpcap 1.10). */
  LINUX_SLL2: 276,
} as const;

const LINK_NAMES: Record<number, string> = {
  0: 'BSD loopback (NULL)',
  1: 'Ethernet',
  12: 'raw IP',
  14: 'raw IP',
  101: 'raw IP',
  108: 'OpenBSD loopback',
  113: 'Linux cooked (SLL)',
  228: 'raw IPv4',
  229: 'raw IPv6',
  276: 'Linux cooked v2 (SLL2)',
  105: 'IEEE 802.11',
  127: 'IEEE 802.11 radiotap',
  220: 'USB (Linux)',
  189: 'USB (Linux)',
  201: 'Bluetooth',
  9: 'PPP',
  50: 'PPP in HDLC',
  104: 'Cisco HDLC',
};

/** A readable name of a link type, e.g. `Ethernet (1)`. */
export function linkTypeName(linkType: number): string {
  const n = LINK_NAMES[linkType];
  return n ? `${n} (${linkType})` : `link type ${linkType}`;
}

/** Whether {@link decodePacket} decodes this link type. */
export function isSupportedLinkType(linkType: number): boolean {
  return linkType === 0 || linkType === 1 || linkType === 12 || linkType === 14 || linkType === 101 || linkType === 108 || linkType === 113 || linkType === 228 || linkType === 229 || linkType === 276;
}

/** One interface of a capture (classic pcap has exactly one). */
export interface CaptureInterface {
  /** Index in its pcapng section (0 for classic pcap). */
  id: number;
  /** Which pcapng section it belongs to (0 for classic pcap). */
  section: number;
  linkType: number;
  /** Snapshot length: the most bytes of a packet the capture keeps (0 = no limit). */
  snapLength: number;
  /** Timestamp units per second (1e6 for microseconds, 1e9 for nanoseconds, or a power of two). */
  unitsPerSecond: number;
  /** Seconds added to every timestamp (pcapng `if_tsoffset`). */
  offsetSeconds: number;
  /** `if_name` when the capture names it. */
  name?: string;
}

/**
 * One packet as read from the capture. {@link CaptureParser} reuses a single instance: copy what
 * you keep (`data.subarray(start, start + capturedLength)` is only valid during the callback).
 */
export class PacketView {
  /** Whole seconds since 1970-01-01 UTC. */
  seconds = 0;
  /** Nanoseconds within the second (0 to 999,999,999). */
  nanoseconds = 0;
  /** The interface's link type (tcpdump.org LINKTYPE_ value). */
  linkType = 0;
  /** Interface index (pcapng; 0 for classic pcap). */
  interfaceId = 0;
  /** Bytes holding the packet, from `start`, `capturedLength` of them. */
  data: Uint8Array = new Uint8Array(0);
  start = 0;
  /** Bytes of the packet in the capture. */
  capturedLength = 0;
  /** Length of the packet on the wire (larger than `capturedLength` when cut to the snapshot length). */
  originalLength = 0;
  /** Byte offset of the packet's record (or block) in the capture (uncompressed). */
  offset = 0;
}

/** What a capture held, counted by {@link CaptureParser}. */
export interface CaptureInfo {
  /** `pcap` or `pcapng`, once the first bytes are read. */
  format?: 'pcap' | 'pcapng';
  /** Timestamp resolution of classic pcap (`micro` or `nano`). */
  resolution?: 'micro' | 'nano';
  /** `little` or `big` endian (of the first section for pcapng). */
  byteOrder?: 'little' | 'big';
  /** Interfaces, in order of appearance (all sections). */
  interfaces: CaptureInterface[];
  /** Packets handed out. */
  packets: number;
  /** Bytes read (uncompressed). */
  bytes: number;
}

/** Largest block or record the reader accepts (Wireshark's limit for pcapng blocks). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** Largest captured length of one classic pcap packet that is not refused as corrupt. */
export const MAX_PACKET_BYTES = 262144;

const PCAPNG_SHB = 0x0a0d0d0a;
const EMPTY = new Uint8Array(0);
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/**
 * Push-based capture parser: `push` bytes as they arrive, the callback gets every complete packet
 * (one reused {@link PacketView}); `end` checks what is left over.
 *
 * @example
 * ```ts
 * const parser = new CaptureParser((p) => console.log(p.seconds, p.originalLength), { file: 'x.pcap' });
 * for await (const chunk of fs.createReadStream('x.pcap')) parser.push(chunk);
 * parser.end();
 * ```
 */
export class CaptureParser {
  /** What has been read so far. */
  readonly info: CaptureInfo = { interfaces: [], packets: 0, bytes: 0 };
  private readonly onPacket: (p: PacketView) => void;
  private readonly file?: string;
  private readonly onWarning?: (message: string) => void;
  private readonly view = new PacketView();
  /** Unparsed bytes carried over from earlier pushes. */
  private rest: Uint8Array = new Uint8Array(0);
  /** Absolute offset of the first byte of `rest` (or of the next chunk when `rest` is empty). */
  private base = 0;
  private started = false;
  // classic pcap
  private le = true;
  private nano = false;
  private snapLength = 0;
  private linkType = 0;
  // pcapng: the current section's interfaces
  private section: CaptureInterface[] = [];
  private sectionIndex = -1;
  private lastSeconds = 0;
  private lastNanoseconds = 0;

  /**
   * @param onPacket - called with every packet, in file order
   * @param opts.file - the capture's name, for messages
   * @param opts.gzip - the bytes were gunzipped (offsets are then said to be in the uncompressed capture)
   * @param opts.onWarning - tolerated problems (a truncated last packet)
   */
  constructor(onPacket: (p: PacketView) => void, opts: { file?: string; gzip?: boolean; onWarning?: (message: string) => void } = {}) {
    this.onPacket = onPacket;
    this.file = opts.file;
    this.onWarning = opts.onWarning;
    this.gzip = opts.gzip === true;
  }

  private readonly gzip: boolean;

  /**
   * Parse the complete records in `chunk` (plus what was left over from earlier pushes). The
   * chunk is not kept: a record cut at its end is copied, so the caller may reuse its buffer.
   */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    this.info.bytes += n;
    let pos = 0;
    // complete a record cut at the end of the previous chunk, a piece at a time
    while (this.rest.length && pos < n) {
      const need = this.unitSize(this.rest);
      if (need > this.rest.length) {
        const take = Math.min(need - this.rest.length, n - pos);
        const grown = new Uint8Array(this.rest.length + take);
        grown.set(this.rest, 0);
        grown.set(chunk.subarray(pos, pos + take), this.rest.length);
        this.rest = grown;
        pos += take;
        continue;
      }
      const used = this.parse(this.rest, false);
      this.base += used;
      this.rest = this.rest.subarray(used);
    }
    if (pos >= n) return;
    const buf = pos === 0 ? chunk : chunk.subarray(pos);
    const used = this.parse(buf, false);
    this.base += used;
    // a copy (Buffer#slice would be a view of a buffer the caller may reuse)
    this.rest = used < buf.length ? Uint8Array.prototype.slice.call(buf, used) : EMPTY;
  }

  /**
   * Bytes the next unit (format magic, pcap file header, record or block) needs, judging from
   * the bytes at the start of `buf`: the header's size while the header is incomplete.
   */
  private unitSize(buf: Uint8Array): number {
    if (!this.started) return 4;
    if (this.info.format === 'pcap') {
      if (this.info.interfaces.length === 0) return 24;
      if (buf.length < 16) return 16;
      const incl = u32(buf, 8, this.le);
      // a corrupt length is reported by parse(), which needs only the header
      return incl > Math.max(this.snapLength, MAX_PACKET_BYTES) ? 16 : 16 + incl;
    }
    if (buf.length < 12) return 12;
    // a section header's byte order is its own
    const le = u32(buf, 0, false) === PCAPNG_SHB ? u32(buf, 8, false) !== BYTE_ORDER_MAGIC : this.le;
    const len = u32(buf, 4, le);
    // a corrupt length is reported by parse(), which needs only the 12 bytes
    return len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES ? 12 : len;
  }

  /**
   * The end of the bytes: a partial last packet is reported (through `onWarning`) and skipped.
   * @throws DataValidationError for an empty input or one that is not a capture
   */
  end(): void {
    const buf = this.rest;
    if (!this.started) {
      if (buf.length === 0) throw this.error('the file is empty.');
      this.detect(buf, true);
    }
    if (buf.length === 0) return;
    const used = this.parse(buf, true);
    const left = buf.length - used;
    if (left > 0) this.truncated(buf.subarray(used), this.base + used);
    this.rest = new Uint8Array(0);
  }

  private error(message: string, offset?: number): DataValidationError {
    const where = offset === undefined ? '' : `byte offset ${offset}${this.gzip ? ' (of the uncompressed capture)' : ''}: `;
    return new DataValidationError(`${where}${message}`, { file: this.file });
  }

  /** Work out the format from the first bytes (4 are needed). Returns false when more are needed. */
  private detect(buf: Uint8Array, atEnd: boolean): boolean {
    if (buf.length < 4) {
      if (!atEnd) return false;
      throw this.error(`not a pcap or pcapng capture: it has only ${buf.length} byte${buf.length === 1 ? '' : 's'}.`);
    }
    const m = ((buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3]) >>> 0;
    if (m === PCAPNG_SHB) {
      this.info.format = 'pcapng';
    } else if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) {
      this.info.format = 'pcap';
      this.le = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
      this.nano = m === 0xa1b23c4d || m === 0x4d3cb2a1;
      this.info.byteOrder = this.le ? 'little' : 'big';
      this.info.resolution = this.nano ? 'nano' : 'micro';
    } else if (m === 0xa1b2cd34 || m === 0x34cdb2a1) {
      throw this.error('this is a "modified" (Kuznetzov) pcap, which is not supported; convert it with `editcap -F pcap IN OUT`.', 0);
    } else {
      const hex = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      const text = buf.subarray(0, 4).every((b) => b >= 0x20 && b < 0x7f);
      throw this.error(`not a pcap or pcapng capture (it starts with bytes ${hex}${text ? `, text "${String.fromCharCode(...buf.subarray(0, 4))}"` : ''}).`, 0);
    }
    this.started = true;
    return true;
  }

  /** Parse whole records from `buf`; returns the bytes consumed. */
  private parse(buf: Uint8Array, atEnd: boolean): number {
    if (!this.started && !this.detect(buf, atEnd)) return 0;
    return this.info.format === 'pcap' ? this.parsePcap(buf, atEnd) : this.parsePcapng(buf);
  }

  // -----------------------------------------------------------------------------------------------
  // classic pcap
  // -----------------------------------------------------------------------------------------------

  private parsePcap(buf: Uint8Array, atEnd: boolean): number {
    let pos = 0;
    const n = buf.length;
    if (this.info.interfaces.length === 0) {
      if (n < 24) {
        if (atEnd) throw this.error(`the pcap file header is cut short (${n} of 24 bytes).`, 0);
        return 0;
      }
      const le = this.le;
      this.snapLength = u32(buf, 16, le);
      const network = u32(buf, 20, le);
      // the upper bits hold the FCS length and flags (pcap-savefile(5)); the link type is the low 16
      this.linkType = network & 0xffff;
      const major = u16(buf, 4, le);
      if (major !== 2) throw this.error(`pcap version ${major}.${u16(buf, 6, le)} is not supported (only 2.x).`, 4);
      if (!isSupportedLinkType(this.linkType)) {
        throw this.error(
          `the capture's link type is ${linkTypeName(this.linkType)}, which is not supported (supported: Ethernet with VLAN tags, Linux cooked SLL and SLL2, raw IP, BSD/OpenBSD loopback). Capture on a wired or 'any' interface.`,
          20,
        );
      }
      this.info.interfaces.push({ id: 0, section: 0, linkType: this.linkType, snapLength: this.snapLength, unitsPerSecond: this.nano ? 1e9 : 1e6, offsetSeconds: 0 });
      pos = 24;
    }
    const le = this.le;
    const view = this.view;
    const limit = Math.max(this.snapLength, MAX_PACKET_BYTES);
    const fracMax = this.nano ? 1e9 : 1e6;
    const fracScale = this.nano ? 1 : 1000;
    view.linkType = this.linkType;
    view.interfaceId = 0;
    view.data = buf;
    while (pos + 16 <= n) {
      const incl = u32(buf, pos + 8, le);
      if (incl > limit) {
        throw this.error(`corrupt packet record: captured length ${incl} exceeds the largest possible (${limit} bytes; snapshot length ${this.snapLength}).`, this.base + pos);
      }
      if (pos + 16 + incl > n) break;
      const frac = u32(buf, pos + 4, le);
      if (frac >= fracMax) {
        throw this.error(`corrupt packet record: the timestamp's fraction ${frac} is not below ${fracMax} (${this.nano ? 'nano' : 'micro'}seconds).`, this.base + pos);
      }
      view.seconds = u32(buf, pos, le);
      view.nanoseconds = frac * fracScale;
      view.capturedLength = incl;
      const orig = u32(buf, pos + 12, le);
      view.originalLength = orig < incl ? incl : orig;
      view.start = pos + 16;
      view.offset = this.base + pos;
      this.info.packets++;
      this.onPacket(view);
      pos += 16 + incl;
    }
    return pos;
  }

  // -----------------------------------------------------------------------------------------------
  // pcapng
  // -----------------------------------------------------------------------------------------------

  private parsePcapng(buf: Uint8Array): number {
    let pos = 0;
    const n = buf.length;
    while (pos + 12 <= n) {
      const at = this.base + pos;
      const bomType = u32(buf, pos, false);
      if (bomType === PCAPNG_SHB) {
        // the byte order of a section comes from its header's byte-order magic
        const bom = u32(buf, pos + 8, false);
        if (bom === BYTE_ORDER_MAGIC) this.le = false;
        else if (bom === 0x4d3c2b1a) this.le = true;
        else throw this.error(`corrupt section header block: byte-order magic ${hex32(bom)} is neither 1a2b3c4d nor 4d3c2b1a.`, at);
      } else if (this.sectionIndex < 0) {
        throw this.error(`corrupt pcapng: the first block is of type ${hex32(bomType)}, not a section header block.`, at);
      }
      const le = this.le;
      const type = u32(buf, pos, le);
      const len = u32(buf, pos + 4, le);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
        throw this.error(`corrupt block: its total length ${len} ${len % 4 !== 0 ? 'is not a multiple of 4' : len < 12 ? 'is below 12' : `exceeds ${MAX_RECORD_BYTES}`} (block type ${hex32(type)}).`, at);
      }
      if (pos + len > n) break;
      const trailer = u32(buf, pos + len - 4, le);
      if (trailer !== len) {
        throw this.error(`corrupt block: its total length is ${len} at the start and ${trailer} at the end (block type ${hex32(type)}).`, at);
      }
      switch (type) {
        case PCAPNG_SHB:
          this.sectionHeader(buf, pos, len, at);
          break;
        case 1:
          this.interfaceBlock(buf, pos, len, at);
          break;
        case 6:
          this.packetBlock(buf, pos, len, at, 'enhanced');
          break;
        case 2:
          this.packetBlock(buf, pos, len, at, 'obsolete');
          break;
        case 3:
          this.simpleBlock(buf, pos, len, at);
          break;
        default:
          // name resolution, statistics, custom, decryption secrets ...: not needed for flows
          break;
      }
      pos += len;
    }
    return pos;
  }

  private sectionHeader(buf: Uint8Array, pos: number, len: number, at: number): void {
    if (len < 28) throw this.error(`corrupt section header block: length ${len} is below 28.`, at);
    const major = u16(buf, pos + 12, this.le);
    if (major !== 1) throw this.error(`pcapng section version ${major}.${u16(buf, pos + 14, this.le)} is not supported (only 1.x).`, at);
    this.sectionIndex++;
    this.section = [];
    if (this.sectionIndex === 0) this.info.byteOrder = this.le ? 'little' : 'big';
  }

  private interfaceBlock(buf: Uint8Array, pos: number, len: number, at: number): void {
    if (len < 20) throw this.error(`corrupt interface description block: length ${len} is below 20.`, at);
    const le = this.le;
    const itf: CaptureInterface = {
      id: this.section.length,
      section: this.sectionIndex,
      linkType: u16(buf, pos + 8, le),
      snapLength: u32(buf, pos + 12, le),
      unitsPerSecond: 1e6,
      offsetSeconds: 0,
    };
    // options: code (2), length (2), value padded to 4
    let o = pos + 16;
    const end = pos + len - 4;
    while (o + 4 <= end) {
      const code = u16(buf, o, le);
      const olen = u16(buf, o + 2, le);
      if (code === 0) break;
      if (o + 4 + olen > end) throw this.error(`corrupt interface description block: option ${code} runs past the block's end.`, at);
      const v = o + 4;
      if (code === 9 && olen >= 1) {
        const r = buf[v];
        itf.unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        if (!(itf.unitsPerSecond >= 1) || !Number.isFinite(itf.unitsPerSecond)) throw this.error(`corrupt interface description block: timestamp resolution byte ${r}.`, at);
      } else if (code === 14 && olen >= 8) {
        itf.offsetSeconds = i64(buf, v, le);
      } else if (code === 2 && olen > 0) {
        itf.name = Buffer.from(buf.buffer, buf.byteOffset + v, olen).toString('utf8').replace(/\0+$/, '');
      }
      o = v + ((olen + 3) & ~3);
    }
    this.section.push(itf);
    this.info.interfaces.push(itf);
  }

  private packetBlock(buf: Uint8Array, pos: number, len: number, at: number, kind: 'enhanced' | 'obsolete'): void {
    const le = this.le;
    if (len < 32) throw this.error(`corrupt ${kind} packet block: length ${len} is below 32.`, at);
    const id = kind === 'enhanced' ? u32(buf, pos + 8, le) : u16(buf, pos + 8, le);
    const itf = this.section[id];
    if (!itf) throw this.error(`corrupt ${kind} packet block: interface ${id} is not described (the section has ${this.section.length}).`, at);
    const incl = u32(buf, pos + 20, le);
    if (28 + incl + 4 > len) throw this.error(`corrupt ${kind} packet block: captured length ${incl} exceeds the block (${len} bytes).`, at);
    const orig = u32(buf, pos + 24, le);
    this.setTime(itf, u32(buf, pos + 12, le), u32(buf, pos + 16, le));
    this.emit(itf, buf, pos + 28, incl, orig < incl ? incl : orig, at);
  }

  private simpleBlock(buf: Uint8Array, pos: number, len: number, at: number): void {
    const itf = this.section[0];
    if (!itf) throw this.error('corrupt simple packet block: the section describes no interface.', at);
    const orig = u32(buf, pos + 8, this.le);
    let incl = Math.min(orig, len - 16);
    if (itf.snapLength > 0) incl = Math.min(incl, itf.snapLength);
    // a simple packet block has no timestamp: it gets the previous packet's
    this.view.seconds = this.lastSeconds;
    this.view.nanoseconds = this.lastNanoseconds;
    this.emit(itf, buf, pos + 12, incl, orig, at);
  }

  private emit(itf: CaptureInterface, buf: Uint8Array, start: number, incl: number, orig: number, at: number): void {
    const view = this.view;
    view.linkType = itf.linkType;
    view.interfaceId = itf.id;
    view.data = buf;
    view.start = start;
    view.capturedLength = incl;
    view.originalLength = orig;
    view.offset = at;
    this.info.packets++;
    this.onPacket(view);
  }

  /** Set the view's seconds and nanoseconds from a pcapng 64-bit timestamp (hi, lo) in the interface's units. */
  private setTime(itf: CaptureInterface, hi: number, lo: number): void {
    const u = itf.unitsPerSecond;
    let sec: number;
    let ns: number;
    if (u === 1e6 && hi < 0x200000) {
      const v = hi * 4294967296 + lo;
      sec = Math.floor(v / 1e6);
      ns = (v - sec * 1e6) * 1000;
    } else if (u <= 2 ** 37) {
      // long division of the 64-bit value by u in base 2^16 digits (every partial value < 2^53)
      const digits = [hi >>> 16, hi & 0xffff, lo >>> 16, lo & 0xffff];
      let r = 0;
      let q = 0;
      for (const d of digits) {
        const cur = r * 65536 + d;
        const qd = Math.floor(cur / u);
        r = cur - qd * u;
        q = q * 65536 + qd;
      }
      sec = q;
      ns = u === 1e9 ? r : Math.floor((r * 1e9) / u);
    } else {
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      const U = BigInt(u);
      sec = Number(v / U);
      ns = Number(((v % U) * 1000000000n) / U);
    }
    sec += itf.offsetSeconds;
    this.view.seconds = sec;
    this.view.nanoseconds = ns;
    this.lastSeconds = sec;
    this.lastNanoseconds = ns;
  }

  /** Report a cut-off last record (the capture ended while it was being written). */
  private truncated(rest: Uint8Array, at: number): void {
    const say = (what: string) => this.onWarning?.(`${this.file ? this.file + ': ' : ''}${what}`);
    if (this.info.format === 'pcap') {
      if (rest.length < 16) {
        say(`the last packet record at byte offset ${at} is truncated (${rest.length} of its 16 header bytes; the capture was cut off): skipped.`);
      } else {
        const incl = u32(rest, 8, this.le);
        say(`the last packet at byte offset ${at} is truncated (${rest.length - 16} of ${incl} bytes; the capture was cut off): skipped.`);
      }
      return;
    }
    if (rest.length < 8) {
      say(`the last block at byte offset ${at} is truncated (${rest.length} of its 8 header bytes; the capture was cut off): skipped.`);
      return;
    }
    const type = u32(rest, 0, this.le);
    const len = u32(rest, 4, this.le);
    const what = type === 6 || type === 3 || type === 2 ? 'packet' : `block (type ${hex32(type)})`;
    say(`the last ${what} at byte offset ${at} is truncated (${rest.length} of ${len} bytes; the capture was cut off): skipped.`);
  }
}

/** A packet copied out of the capture, as {@link readCapture} yields it. */
export interface CapturedPacket {
  /** Whole seconds since 1970-01-01 UTC. */
  seconds: number;
  /** Nanoseconds within the second. */
  nanoseconds: number;
  /** tcpdump.org LINKTYPE_ value of the packet's interface. */
  linkType: number;
  /** Interface index (pcapng; 0 for classic pcap). */
  interfaceId: number;
  /** The captured bytes (a copy). */
  data: Uint8Array;
  /** Length on the wire. */
  originalLength: number;
  /** Byte offset of the packet's record in the (uncompressed) capture. */
  offset: number;
}

/** Options of {@link readCapture} and {@link forEachPacket}. */
export interface ReadCaptureOptions {
  /** Name for messages (default: the path, `stdin` for `"-"`). */
  file?: string;
  /** Tolerated problems (a truncated last packet). */
  onWarning?: (message: string) => void;
  /** Raw bytes read (for progress). */
  onBytes?: (bytes: number) => void;
  /** Stops the reading when aborted (also while waiting on stdin): the read rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** An opened capture source: its byte chunks and what is known about it. */
export interface OpenedCapture {
  /** Byte chunks; a chunk's buffer may be reused for the next one (the parser copies what it keeps). */
  chunks: AsyncIterable<Uint8Array>;
  /** Name for messages. */
  file?: string;
  /** Whether the bytes are gunzipped (byte offsets are then of the uncompressed capture). */
  gzip: boolean;
}

/** Bytes read at a time from a plain capture file. */
const READ_BYTES = 1 << 20;

/**
 * Open a capture source. A plain file is read 1 MiB at a time into one reused buffer; `.gz` files
 * (by name or by their first bytes), stdin (`"-"`), streams and iterables go through the
 * streaming reader of the CSV code, which gunzips when the first bytes say so.
 * @throws DataValidationError when a path cannot be opened
 */
export async function openCapture(source: CaptureSource, opts: ReadCaptureOptions = {}): Promise<OpenedCapture> {
  const file = opts.file ?? (typeof source === 'string' ? (source === '-' ? 'stdin' : source) : undefined);
  if (typeof source === 'string' && source !== '-' && !source.endsWith('.gz')) {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(source, 'r');
      if ((await fh.stat()).isDirectory()) {
        await fh.close();
        throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new DataValidationError(code === 'ENOENT' ? 'file not found.' : `cannot read file (${code ?? String(e)}).`, { file });
    }
    const head = Buffer.alloc(2);
    const { bytesRead } = await fh.read(head, 0, 2, 0);
    if (!(bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b)) {
      recordDataFile(source, 'openCapture');
      const onBytes = opts.onBytes;
      const signal = opts.signal;
      const handle = fh;
      return {
        file,
        gzip: false,
        chunks: (async function* () {
          const buf = Buffer.allocUnsafe(READ_BYTES);
          try {
            for (;;) {
              signal?.throwIfAborted();
              const { bytesRead: n } = await handle.read(buf, 0, READ_BYTES, null);
              if (n === 0) return;
              onBytes?.(n);
              yield buf.subarray(0, n);
            }
          } finally {
            await handle.close();
          }
        })(),
      };
    }
    await fh.close();
  }
  const opened = openCsvSource(source, { file, onBytes: opts.onBytes, signal: opts.signal });
  const gzip = typeof source === 'string' && source !== '-';
  return {
    file: opened.file ?? file,
    gzip,
    chunks: (async function* () {
      for await (const c of opened.chunks) yield typeof c === 'string' ? Buffer.from(c, 'latin1') : (c as Uint8Array);
    })(),
  };
}

/**
 * Call `onPacket` with every packet of a capture, in bounded memory (one read buffer), and
 * resolve with what the capture held. The fast path under {@link captureFlows}.
 * @throws DataValidationError for a missing file, a file that is not a capture, or a corrupt
 *   record (naming its byte offset)
 */
export async function forEachPacket(source: CaptureSource, onPacket: (p: PacketView) => void, opts: ReadCaptureOptions = {}): Promise<CaptureInfo> {
  const opened = await openCapture(source, opts);
  const parser = new CaptureParser(onPacket, { file: opened.file, gzip: opened.gzip, onWarning: opts.onWarning });
  for await (const c of opened.chunks) parser.push(c);
  parser.end();
  return parser.info;
}

/**
 * Read the packets of a capture one by one (copies; for a fast path without copies use
 * {@link forEachPacket} or {@link captureFlows}).
 * @example
 * ```ts
 * for await (const p of readCapture('capture.pcapng.gz')) console.log(p.seconds, p.originalLength);
 * ```
 * @throws DataValidationError as {@link forEachPacket}
 */
export async function* readCapture(source: CaptureSource, opts: ReadCaptureOptions = {}): AsyncGenerator<CapturedPacket, CaptureInfo> {
  const opened = await openCapture(source, opts);
  const out: CapturedPacket[] = [];
  const collect = (p: PacketView) => {
    out.push({
      seconds: p.seconds,
      nanoseconds: p.nanoseconds,
      linkType: p.linkType,
      interfaceId: p.interfaceId,
      data: Uint8Array.prototype.slice.call(p.data, p.start, p.start + p.capturedLength),
      originalLength: p.originalLength,
      offset: p.offset,
    });
  };
  const parser = new CaptureParser(collect, { file: opened.file, gzip: opened.gzip, onWarning: opts.onWarning });
  for await (const c of opened.chunks) {
    parser.push(c);
    for (const p of out) yield p;
    out.length = 0;
  }
  parser.end();
  for (const p of out) yield p;
  return parser.info;
}

function u16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

function u32(b: Uint8Array, o: number, le: boolean): number {
  return le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function i64(b: Uint8Array, o: number, le: boolean): number {
  const lo = le ? u32(b, o, true) : u32(b, o + 4, false);
  const hi = le ? u32(b, o + 4, true) : u32(b, o, false);
  return (hi | 0) * 4294967296 + lo;
}

function hex32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}
