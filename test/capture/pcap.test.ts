/**
 * The capture container: timestamps (micro, nano, pcapng resolutions and offsets), truncated last
 * packets (reported, skipped), corrupt records and blocks (errors naming the byte offset), files
 * that are not captures, simple packet blocks, unsupported link types.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataValidationError } from '../../src/core/errors';
import { loadCaptureFlows } from '../../src/capture/export';
import { CaptureParser, readCapture, type PacketView } from '../../src/capture/pcap';
import { captureBytes, pkt, reply, tempDir } from './fixtures';

const dir = tempDir('pcap');

/** A short TCP exchange: handshake, a request, a response, FIN both ways, the last ACK. */
const exchange = [
  pkt(0, { tcpFlags: 0x02 }),
  reply(10, { tcpFlags: 0x12 }),
  pkt(10.5, { tcpFlags: 0x10 }),
  pkt(11, { tcpFlags: 0x18, payload: 300 }),
  reply(40, { tcpFlags: 0x18, payload: 1200 }),
  pkt(40.2, { tcpFlags: 0x10 }),
  pkt(100, { tcpFlags: 0x11 }),
  reply(110, { tcpFlags: 0x11 }),
  pkt(110.3, { tcpFlags: 0x10 }),
];

/** Byte offsets of the records (pcap) or blocks (pcapng) of a little-endian capture. */
function offsets(bytes: Buffer): number[] {
  const out: number[] = [];
  if (bytes.readUInt32LE(0) === 0x0a0d0d0a) {
    for (let o = 0; o < bytes.length; o += bytes.readUInt32LE(o + 4)) out.push(o);
  } else {
    for (let o = 24; o < bytes.length; o += 16 + bytes.readUInt32LE(o + 8)) out.push(o);
  }
  return out;
}

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

async function errorOf(p: Promise<unknown>): Promise<DataValidationError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DataValidationError);
    return e as DataValidationError;
  }
  throw new Error('expected a DataValidationError');
}

function parseAll(bytes: Uint8Array, onWarning?: (m: string) => void): { seconds: number; nanoseconds: number; interfaceId: number; linkType: number }[] {
  const out: { seconds: number; nanoseconds: number; interfaceId: number; linkType: number }[] = [];
  const p = new CaptureParser((v: PacketView) => out.push({ seconds: v.seconds, nanoseconds: v.nanoseconds, interfaceId: v.interfaceId, linkType: v.linkType }), { onWarning });
  p.push(bytes);
  p.end();
  return out;
}

describe('timestamps', () => {
  const ns = [pkt(0, {}), pkt(1, {})];
  ns[0].nanoseconds = 123456789;
  ns[1].nanoseconds = 999999999;

  it('nanosecond pcap and pcapng keep nanoseconds; the start time shows them', async () => {
    for (const opts of [{ resolution: 'nano' as const }, { format: 'pcapng' as const, resolution: 'nano' as const }, { format: 'pcapng' as const, resolution: 'nano' as const, byteOrder: 'big' as const }]) {
      const got = parseAll(captureBytes(ns, opts));
      expect(got.map((g) => [g.seconds, g.nanoseconds])).toEqual(ns.map((p) => [p.seconds, p.nanoseconds]));
    }
    const { flows } = await loadCaptureFlows(write('ns.pcap', captureBytes(ns, { resolution: 'nano' })));
    expect(flows[0].timestamp).toBe('2023-11-14T22:13:20.123456789Z');
    expect(flows[0].duration).toBe(0.87654321);
  });

  it('microsecond captures round to microseconds', () => {
    const got = parseAll(captureBytes(ns));
    expect(got.map((g) => g.nanoseconds)).toEqual([123456000, 999999000]);
  });

  it('pcapng if_tsresol as a power of two and if_tsoffset are applied', () => {
    // SHB + IDB with if_tsresol = 2^-10 (0x8a) and if_tsoffset = 100 s, then one EPB
    const shb = Buffer.from(captureBytes([], { format: 'pcapng' }).subarray(0, 28));
    const idb = Buffer.alloc(20 + 8 + 12 + 4 + 4);
    idb.writeUInt32LE(1, 0);
    idb.writeUInt32LE(idb.length, 4);
    idb.writeUInt16LE(101, 8);
    idb.writeUInt32LE(0, 12);
    idb.writeUInt16LE(9, 16); // if_tsresol
    idb.writeUInt16LE(1, 18);
    idb[20] = 0x8a;
    idb.writeUInt16LE(14, 24); // if_tsoffset
    idb.writeUInt16LE(8, 26);
    idb.writeUInt32LE(100, 28);
    idb.writeUInt32LE(idb.length, idb.length - 4);
    const epb = Buffer.alloc(32 + 20);
    epb.writeUInt32LE(6, 0);
    epb.writeUInt32LE(epb.length, 4);
    const units = 5 * 1024 + 512; // 5.5 s
    epb.writeUInt32LE(0, 12);
    epb.writeUInt32LE(units, 16);
    epb.writeUInt32LE(20, 20);
    epb.writeUInt32LE(20, 24);
    epb[28] = 0x45;
    epb.writeUInt32LE(epb.length, epb.length - 4);
    const got = parseAll(Buffer.concat([shb, idb, epb]));
    expect(got).toEqual([{ seconds: 105, nanoseconds: 500000000, interfaceId: 0, linkType: 101 }]);
  });

  it('a simple packet block has no timestamp and gets the previous packet’s', async () => {
    const ordered = exchange.slice(0, 3);
    const bytes = captureBytes(ordered, { format: 'pcapng', packetBlock: 'simple' });
    const got = parseAll(bytes);
    expect(got.map((g) => g.seconds)).toEqual([0, 0, 0]);
    const packets: number[] = [];
    for await (const p of readCapture(write('spb.pcapng', bytes))) packets.push(p.originalLength);
    expect(packets.length).toBe(3);
  });
});

describe('truncated and corrupt captures', () => {
  it('a truncated last packet is reported and skipped; the rest gives the flows of the complete packets', async () => {
    const full = captureBytes(exchange);
    const cut = full.subarray(0, full.length - 10);
    const warnings: string[] = [];
    const { flows } = await loadCaptureFlows(write('cut.pcap', cut), { onWarning: (w) => warnings.push(w) });
    const { flows: expected } = await loadCaptureFlows(write('eight.pcap', captureBytes(exchange.slice(0, -1))));
    expect(flows).toEqual(expected);
    expect(warnings).toHaveLength(1);
    const last = offsets(full).at(-1)!;
    const frame = full.length - last - 16;
    expect(warnings).toEqual([`${path.join(dir, 'cut.pcap')}: the last packet at byte offset ${last} is truncated (${frame - 10} of ${frame} bytes; the capture was cut off): skipped.`]);
    // cut inside the record header
    const inHeader = full.subarray(0, last + 8);
    const w2: string[] = [];
    await loadCaptureFlows(write('cut2.pcap', inHeader), { onWarning: (w) => w2.push(w) });
    expect(w2[0]).toMatch(/the last packet record at byte offset \d+ is truncated \(8 of its 16 header bytes/);
  });

  it('a truncated last pcapng block is reported and skipped', async () => {
    const full = captureBytes(exchange, { format: 'pcapng' });
    const warnings: string[] = [];
    const { flows } = await loadCaptureFlows(write('cut.pcapng', full.subarray(0, full.length - 3)), { onWarning: (w) => warnings.push(w) });
    expect(flows[0].fwd_packets + flows[0].bwd_packets).toBe(exchange.length - 1);
    const last = offsets(full).at(-1)!;
    expect(warnings).toEqual([`${path.join(dir, 'cut.pcapng')}: the last packet at byte offset ${last} is truncated (${full.length - last - 3} of ${full.length - last} bytes; the capture was cut off): skipped.`]);
  });

  it('a corrupt pcap record is an error naming its byte offset', async () => {
    const bytes = Buffer.from(captureBytes(exchange));
    // the third record's captured length
    const third = offsets(bytes)[2];
    bytes.writeUInt32LE(0x7fffffff, third + 8);
    const e = await errorOf(loadCaptureFlows(write('corrupt.pcap', bytes)));
    expect(e.message).toBe(`${path.join(dir, 'corrupt.pcap')}: byte offset ${third}: corrupt packet record: captured length 2147483647 exceeds the largest possible (262144 bytes; snapshot length 262144).`);
    const frac = Buffer.from(captureBytes(exchange));
    frac.writeUInt32LE(1_500_000, 24 + 4);
    expect((await errorOf(loadCaptureFlows(write('frac.pcap', frac)))).message).toMatch(/byte offset 24: corrupt packet record: the timestamp's fraction 1500000 is not below 1000000/);
  });

  it('a corrupt pcapng block is an error naming its byte offset', async () => {
    const bytes = Buffer.from(captureBytes(exchange, { format: 'pcapng' }));
    const firstEpb = offsets(bytes)[2];
    const len = bytes.readUInt32LE(firstEpb + 4);
    bytes.writeUInt32LE(99, firstEpb + 4); // block length not a multiple of 4
    expect((await errorOf(loadCaptureFlows(write('c1.pcapng', bytes)))).message).toMatch(new RegExp(`byte offset ${firstEpb}: corrupt block: its total length 99 is not a multiple of 4`));
    const b2 = Buffer.from(captureBytes(exchange, { format: 'pcapng' }));
    b2.writeUInt32LE(len + 4, firstEpb + len - 4); // trailer disagrees
    expect((await errorOf(loadCaptureFlows(write('c2.pcapng', b2)))).message).toMatch(new RegExp(`byte offset ${firstEpb}: corrupt block: its total length is ${len} at the start and ${len + 4} at the end`));
    const b3 = Buffer.from(captureBytes(exchange, { format: 'pcapng' }));
    b3.writeUInt32LE(7, firstEpb + 8); // interface 7
    expect((await errorOf(loadCaptureFlows(write('c3.pcapng', b3)))).message).toMatch(/corrupt enhanced packet block: interface 7 is not described \(the section has 1\)/);
  });

  it('in a gzipped capture the offset is of the uncompressed bytes', async () => {
    const bytes = Buffer.from(captureBytes(exchange));
    bytes.writeUInt32LE(0x7fffffff, 24 + 8);
    const gz = path.join(dir, 'corrupt.pcap.gz');
    fs.writeFileSync(gz, zlib.gzipSync(bytes));
    expect((await errorOf(loadCaptureFlows(gz))).message).toMatch(/byte offset 24 \(of the uncompressed capture\): corrupt packet record/);
  });

  it('a file that is not a capture, an empty file and a missing file are named errors', async () => {
    const csv = write('flows.csv', Buffer.from('timestamp,src_ip\n1,2\n'));
    expect((await errorOf(loadCaptureFlows(csv))).message).toBe(`${csv}: byte offset 0: not a pcap or pcapng capture (it starts with bytes 74 69 6d 65, text "time").`);
    const empty = write('empty.pcap', Buffer.alloc(0));
    expect((await errorOf(loadCaptureFlows(empty))).message).toBe(`${empty}: the file is empty.`);
    expect((await errorOf(loadCaptureFlows(path.join(dir, 'nope.pcap')))).message).toBe(`${path.join(dir, 'nope.pcap')}: file not found.`);
    const header = write('header.pcap', captureBytes([]).subarray(0, 10));
    expect((await errorOf(loadCaptureFlows(header))).message).toMatch(/the pcap file header is cut short \(10 of 24 bytes\)/);
  });

  it('a header-only capture has no flows', async () => {
    const { flows, summary } = await loadCaptureFlows(write('none.pcap', captureBytes([])));
    expect(flows).toEqual([]);
    expect(summary.packets).toBe(0);
  });

  it('an unsupported link type: an error for classic pcap, skipped packets on a pcapng interface', async () => {
    const wifi = Buffer.from(captureBytes(exchange));
    wifi.writeUInt32LE(105, 20);
    expect((await errorOf(loadCaptureFlows(write('wifi.pcap', wifi)))).message).toMatch(/byte offset 20: the capture's link type is IEEE 802.11 \(105\), which is not supported/);
    // pcapng: interface 1 is 802.11 (its packets are skipped and counted), interface 0 Ethernet
    const ng = Buffer.from(captureBytes(exchange, { format: 'pcapng', interfaces: [{ linkType: 1 }, { linkType: 1 }] }));
    ng.writeUInt16LE(105, 28 + 20 + 8);
    const warnings: string[] = [];
    const file = write('mixed.pcapng', ng);
    // every packet on interface 1 (802.11): an error, nothing is usable
    const wifiOnly = Buffer.from(ng);
    for (let o = 28 + 40; o < wifiOnly.length; o += wifiOnly.readUInt32LE(o + 4)) if (wifiOnly.readUInt32LE(o) === 6) wifiOnly.writeUInt32LE(1, o + 8);
    expect((await errorOf(loadCaptureFlows(write('wifi.pcapng', wifiOnly)))).message).toMatch(/every packet is on an interface of an unsupported link type \(9 on IEEE 802\.11 \(105\)\)/);
    const mixed = Buffer.from(ng);
    let k = 0;
    for (let o = 28 + 40; o < mixed.length; o += mixed.readUInt32LE(o + 4)) if (mixed.readUInt32LE(o) === 6 && k++ % 3 === 0) mixed.writeUInt32LE(1, o + 8);
    fs.writeFileSync(file, mixed);
    const { summary } = await loadCaptureFlows(file, { onWarning: (w) => warnings.push(w) });
    expect(summary.skipped['link-type']).toBe(3);
    expect(warnings).toEqual([`${file}: packets of unsupported link types skipped: 3 on IEEE 802.11 (105).`]);
  });
});
