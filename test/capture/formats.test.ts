/**
 * The same packets in every capture layout give the same flows: classic pcap and pcapng, both byte
 * orders, micro- and nanosecond timestamps, several interfaces, the obsolete packet block, `.gz`,
 * stdin; and, apart from the link-layer bytes, every link type (Ethernet with and without VLAN
 * tags, Linux cooked SLL and SLL2, raw IP, BSD loopback).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { flowsToCsv, loadCaptureFlows } from '../../src/capture/export';
import type { FlowRecord } from '../../src/capture/flows';
import { labelFlows } from '../../src/capture/synth';
import type { PacketSpec } from '../../src/capture/writer';
import { buildNal, captureBytes, flowsOf, nodeEnv, smallCapture, tempDir, without } from './fixtures';

const dir = tempDir('formats');
let packets: PacketSpec[];
let reference: FlowRecord[];

beforeAll(async () => {
  packets = smallCapture({ ipv6Share: 0.3, fragmentedDnsShare: 0.2 }).packets;
  reference = (await flowsOf(dir, 'reference.pcap', packets)).flows;
});

describe('capture formats', () => {
  it('the small capture has every kind of traffic', () => {
    const { sessions } = smallCapture({ ipv6Share: 0.3, fragmentedDnsShare: 0.2 });
    const kinds = new Set(labelFlows(reference, sessions, { by: 'kind' }));
    expect([...kinds].sort()).toEqual(['bruteforce', 'dns', 'ping', 'scan', 'ssh', 'upload', 'web']);
    expect(reference.some((f) => f.src_ip.includes(':'))).toBe(true); // IPv6
    expect(reference.some((f) => f.fragments > 0)).toBe(true); // IPv4 fragments
    expect(reference.length).toBeGreaterThan(150);
  });

  it.each([
    ['pcap, big-endian', { byteOrder: 'big' }],
    ['pcap, nanoseconds', { resolution: 'nano' }],
    ['pcap, big-endian nanoseconds', { byteOrder: 'big', resolution: 'nano' }],
    ['pcapng', { format: 'pcapng' }],
    ['pcapng, big-endian', { format: 'pcapng', byteOrder: 'big' }],
    ['pcapng, nanoseconds (if_tsresol 9)', { format: 'pcapng', resolution: 'nano' }],
    ['pcapng, obsolete packet blocks', { format: 'pcapng', packetBlock: 'obsolete' }],
  ] as const)('%s gives the rows of the little-endian microsecond pcap', async (_name, opts) => {
    const { flows } = await flowsOf(dir, `${_name.replace(/\W+/g, '-')}.cap`, packets, opts);
    expect(flows).toEqual(reference);
  });

  it('pcapng with two interfaces (micro- and nanosecond) gives the same rows', async () => {
    const { flows } = await flowsOf(dir, 'two.pcapng', packets, { format: 'pcapng', interfaces: [{ linkType: 1 }, { linkType: 1, resolution: 'nano' }] }, {}, (i) => i % 2);
    expect(flows).toEqual(reference);
  });

  it('a gzipped capture, by name and by its first bytes, gives the same rows', async () => {
    const gz = path.join(dir, 'capture.pcap.gz');
    fs.writeFileSync(gz, zlib.gzipSync(captureBytes(packets)));
    expect((await loadCaptureFlows(gz)).flows).toEqual(reference);
    const hidden = path.join(dir, 'capture-gzipped.pcap');
    fs.copyFileSync(gz, hidden);
    expect((await loadCaptureFlows(hidden)).flows).toEqual(reference);
  });

  it('a stream of small chunks (records cut anywhere) gives the same rows', async () => {
    const bytes = captureBytes(packets, { format: 'pcapng' });
    const pieces: Buffer[] = [];
    for (let o = 0, k = 1; o < bytes.length; o += k, k = (k * 7 + 3) % 1500) pieces.push(bytes.subarray(o, o + k));
    expect((await loadCaptureFlows(Readable.from(pieces))).flows).toEqual(reference);
  });

  it('nal flows --pcap - reads stdin and writes the same rows', async () => {
    const file = path.join(dir, 'stdin.pcapng');
    fs.writeFileSync(file, captureBytes(packets, { format: 'pcapng' }));
    const nalJs = await buildNal(dir);
    const r = spawnSync(process.execPath, [nalJs, 'flows', '--pcap', '-', '--quiet'], { input: fs.readFileSync(file), encoding: 'utf8', maxBuffer: 1 << 28, env: nodeEnv });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(flowsToCsv(reference));
  });
});

describe('link types', () => {
  const BYTE_COLUMNS = ['fwd_bytes', 'bwd_bytes', 'bytes_per_s'];

  it.each([
    ['Ethernet with an 802.1Q VLAN tag', { vlan: [42] }],
    ['Ethernet with QinQ tags (802.1ad + 802.1Q)', { vlan: [100, 42] }],
    ['Linux cooked capture (SLL)', { linkType: 113 }],
    ['Linux cooked capture v2 (SLL2)', { linkType: 276 }],
    ['raw IP', { linkType: 101 }],
    ['raw IPv4/IPv6 (228)', { linkType: 228 }],
    ['BSD loopback (NULL)', { linkType: 0 }],
    ['OpenBSD loopback (LOOP)', { linkType: 108 }],
  ] as const)('%s gives the same flows, the link header apart', async (name, opts) => {
    const { flows } = await flowsOf(dir, `${name.replace(/\W+/g, '-')}.pcap`, packets, opts);
    expect(without(flows, BYTE_COLUMNS)).toEqual(without(reference, BYTE_COLUMNS));
  });

  it('raw IP and SLL differ by exactly 16 bytes a packet, SLL2 by 20, a VLAN tag adds 4 to unpadded frames', async () => {
    const raw = (await flowsOf(dir, 'raw.pcap', packets, { linkType: 101 })).flows;
    const sll = (await flowsOf(dir, 'sll.pcap', packets, { linkType: 113 })).flows;
    const sll2 = (await flowsOf(dir, 'sll2.pcap', packets, { linkType: 276 })).flows;
    raw.forEach((f, i) => {
      expect(sll[i].fwd_bytes - f.fwd_bytes).toBe(16 * f.fwd_packets);
      expect(sll[i].bwd_bytes - f.bwd_bytes).toBe(16 * f.bwd_packets);
      expect(sll2[i].fwd_bytes - f.fwd_bytes).toBe(20 * f.fwd_packets);
      // Ethernet pads frames to 60 bytes: a flow of long packets only is longer by the header
      if (f.pkt_len_min >= 100) expect(reference[i].fwd_bytes - f.fwd_bytes).toBe(14 * f.fwd_packets);
    });
  });
});
