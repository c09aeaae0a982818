/**
 * Flow semantics: direction, TCP closing (FIN both ways, RST, the last ACK, a new SYN), idle and
 * active timeouts, every statistic of a small flow computed by hand, and the decoding of VLAN,
 * PPPoE, IPv6 extension headers, IPv4 and IPv6 fragments, ICMP pairs and what is skipped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCaptureFlows } from '../../src/capture/export';
import { FlowMeter, isoTime, type FlowRecord } from '../../src/capture/flows';
import { decodePacket, DecodedPacket, ipv6String } from '../../src/capture/decode';
import { addressBytes, buildIpPacket, CaptureWriter, frameFor } from '../../src/capture/writer';
import { flowsOf, pkt, reply, tempDir } from './fixtures';

const dir = tempDir('flows');
let n = 0;
const flows = async (packets: Parameters<typeof flowsOf>[2], opts: Parameters<typeof flowsOf>[4] = {}, writer: Parameters<typeof flowsOf>[3] = {}) =>
  (await flowsOf(dir, `c${n++}.pcap`, packets, writer, opts)).flows;

describe('one TCP connection, by hand', () => {
  // client 10.0.0.1:40000 -> server 10.0.0.2:80; times in ms
  const conn = [
    pkt(0, { tcpFlags: 0x02, window: 64240 }),
    reply(10, { tcpFlags: 0x12, window: 65160 }),
    pkt(10.5, { tcpFlags: 0x10 }),
    pkt(11, { tcpFlags: 0x18, payload: 300 }),
    reply(41, { tcpFlags: 0x18, payload: 1200 }),
    pkt(41.5, { tcpFlags: 0x10 }),
    pkt(100, { tcpFlags: 0x11 }),
    reply(110, { tcpFlags: 0x11 }),
    pkt(110.5, { tcpFlags: 0x10 }),
  ];

  it('is one flow, the last ACK included, with every column as computed by hand', async () => {
    const [f, ...rest] = await flows(conn);
    expect(rest).toEqual([]);
    // payloads: fwd 0,0,300,0,0,0 ; bwd 0,1200,0
    const fwdLen = [0, 0, 300, 0, 0, 0];
    const bwdLen = [0, 1200, 0];
    const all = [0, 0, 0, 300, 1200, 0, 0, 0, 0];
    const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
    const std = (x: number[]) => Math.sqrt(x.reduce((a, b) => a + (b - mean(x)) ** 2, 0) / (x.length - 1));
    const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
    // frame lengths: SYN and SYN/ACK 14 + 20 + 24 = 58 -> padded to 60; ACK/FIN 54 -> 60; data 14 + 40 + payload
    const fwdBytes = 60 + 60 + (54 + 300) + 60 + 60 + 60;
    const bwdBytes = 60 + (54 + 1200) + 60;
    // gaps in ms
    const fwdT = [0, 10.5, 11, 41.5, 100, 110.5];
    const bwdT = [10, 41, 110];
    const allT = [0, 10, 10.5, 11, 41, 41.5, 100, 110, 110.5];
    const gaps = (t: number[]) => t.slice(1).map((x, i) => (x - t[i]) / 1000);
    const s = (x: number) => Math.round(x * 1e9) / 1e9;
    expect(f).toEqual({
      timestamp: isoTime(conn[0].seconds, conn[0].nanoseconds),
      src_ip: '10.0.0.1',
      src_port: 40000,
      dst_ip: '10.0.0.2',
      dst_port: 80,
      protocol: 'tcp',
      end_reason: 'fin',
      duration: 0.1105,
      fwd_packets: 6,
      bwd_packets: 3,
      fwd_bytes: fwdBytes,
      bwd_bytes: bwdBytes,
      fwd_payload_bytes: 300,
      bwd_payload_bytes: 1200,
      fwd_pkt_len_min: 0,
      fwd_pkt_len_max: 300,
      fwd_pkt_len_mean: r6(mean(fwdLen)),
      fwd_pkt_len_std: r6(std(fwdLen)),
      bwd_pkt_len_min: 0,
      bwd_pkt_len_max: 1200,
      bwd_pkt_len_mean: r6(mean(bwdLen)),
      bwd_pkt_len_std: r6(std(bwdLen)),
      pkt_len_min: 0,
      pkt_len_max: 1200,
      pkt_len_mean: r6(mean(all)),
      pkt_len_std: r6(std(all)),
      bytes_per_s: r6((fwdBytes + bwdBytes) / 0.1105),
      packets_per_s: r6(9 / 0.1105),
      fwd_packets_per_s: r6(6 / 0.1105),
      bwd_packets_per_s: r6(3 / 0.1105),
      flow_iat_mean: s(mean(gaps(allT))),
      flow_iat_std: s(std(gaps(allT))),
      flow_iat_min: 0.0005,
      flow_iat_max: 0.0585,
      fwd_iat_total: 0.1105,
      fwd_iat_mean: s(mean(gaps(fwdT))),
      fwd_iat_std: s(std(gaps(fwdT))),
      fwd_iat_min: 0.0005,
      fwd_iat_max: 0.0585,
      bwd_iat_total: 0.1,
      bwd_iat_mean: 0.05,
      bwd_iat_std: s(std(gaps(bwdT))),
      bwd_iat_min: 0.031,
      bwd_iat_max: 0.069,
      syn_count: 2,
      fin_count: 2,
      rst_count: 0,
      psh_count: 2,
      ack_count: 8,
      urg_count: 0,
      fwd_header_bytes: 44 + 5 * 40,
      bwd_header_bytes: 44 + 2 * 40,
      fwd_init_win: 64240,
      bwd_init_win: 65160,
      fragments: 0,
    } satisfies FlowRecord);
  });

  it('the first packet’s sender is the source, even when it is the server', async () => {
    const [f] = await flows(conn.slice(4));
    expect([f.src_ip, f.src_port, f.dst_ip, f.dst_port]).toEqual(['10.0.0.2', 80, '10.0.0.1', 40000]);
    expect([f.fwd_packets, f.bwd_packets]).toEqual([2, 3]);
  });

  it('a new SYN after the close starts a new flow; so does a packet after the close wait', async () => {
    const again = conn.map((p) => ({ ...p, seconds: p.seconds + 1 }));
    expect((await flows([...conn, ...again])).map((f) => [f.end_reason, f.fwd_packets + f.bwd_packets])).toEqual([
      ['fin', 9],
      ['fin', 9],
    ]);
    const late = pkt(110.5 + 3000, { tcpFlags: 0x10 });
    expect((await flows([...conn, late])).map((f) => [f.end_reason, f.fwd_packets + f.bwd_packets])).toEqual([
      ['fin', 9],
      ['end', 1],
    ]);
    // with a longer close wait the late ACK still belongs to the connection
    expect((await flows([...conn, late], { closeWait: 5 })).map((f) => f.fwd_packets + f.bwd_packets)).toEqual([10]);
  });

  it('RST ends a flow; the packets right after it still count to it', async () => {
    const rst = [pkt(0, { tcpFlags: 0x02 }), reply(0.2, { tcpFlags: 0x14 }), pkt(0.3, { tcpFlags: 0x04 })];
    const [f, ...rest] = await flows(rst);
    expect(rest).toEqual([]);
    expect([f.end_reason, f.fwd_packets, f.bwd_packets, f.rst_count, f.syn_count, f.ack_count, f.bwd_init_win]).toEqual(['rst', 2, 1, 2, 1, 1, 64240]);
  });

  it('idle and active timeouts split flows', async () => {
    const udp = (ms: number, back = false) => (back ? reply(ms, { protocol: 17 }) : pkt(ms, { protocol: 17, srcPort: 5353, dstPort: 53 }));
    const u = [udp(0), pkt(5, { protocol: 17, from: '10.0.0.2', to: '10.0.0.1', srcPort: 53, dstPort: 5353 }), udp(200_000), udp(200_001)];
    const got = await flows(u);
    expect(got.map((f) => [f.end_reason, f.fwd_packets, f.bwd_packets, f.protocol])).toEqual([
      ['idle', 1, 1, 'udp'],
      ['end', 2, 0, 'udp'],
    ]);
    expect((await flows(u, { idleTimeout: 300 })).length).toBe(1);
    // a packet every 10 s for 25 s with a 12 s active timeout: flows of 0-10 s, 20 s, ...
    const steady = [0, 10_000, 20_000, 25_000].map((ms) => udp(ms));
    expect((await flows(steady, { activeTimeout: 12 })).map((f) => [f.end_reason, f.fwd_packets])).toEqual([
      ['active', 2],
      ['end', 2],
    ]);
  });

  it('rejects a timeout that is not a positive number', () => {
    expect(() => new FlowMeter(() => undefined, { idleTimeout: 0 })).toThrow("The 'idleTimeout' option of FlowMeter must be a positive number of seconds. Got 0.");
    expect(() => new FlowMeter(() => undefined, { closeWait: Number.NaN })).toThrow(RangeError);
  });
});

describe('decoding', () => {
  const decode = (frame: Uint8Array, linkType = 1) => {
    const d = new DecodedPacket();
    const ok = decodePacket(frame, 0, frame.length, linkType, d);
    return { ok, d };
  };

  it('ICMP echo request and reply are one flow (type and its counterpart as ports), like Zeek', async () => {
    const req = (ms: number) => pkt(ms, { protocol: 1, icmpType: 8, icmpId: 7, payload: 56 });
    const rep = (ms: number) => pkt(ms, { from: '10.0.0.2', to: '10.0.0.1', protocol: 1, icmpType: 0, icmpId: 7, payload: 56 });
    const [f, ...rest] = await flows([req(0), rep(1), req(1000), rep(1001)]);
    expect(rest).toEqual([]);
    expect([f.protocol, f.src_port, f.dst_port, f.fwd_packets, f.bwd_packets, f.fwd_payload_bytes]).toEqual(['icmp', 8, 0, 2, 2, 112]);
    const six = await flows([
      pkt(0, { from: 'fd00::1', to: 'fd00::2', protocol: 58, icmpType: 128, payload: 8 }),
      pkt(1, { from: 'fd00::2', to: 'fd00::1', protocol: 58, icmpType: 129, payload: 8 }),
    ]);
    expect(six.map((x) => [x.protocol, x.src_ip, x.src_port, x.dst_port, x.fwd_packets, x.bwd_packets])).toEqual([['icmpv6', 'fd00::1', 128, 129, 1, 1]]);
  });

  it('IPv4 fragments count to the flow of their first fragment; an orphan gets ports 0', async () => {
    const common = { protocol: 17, srcPort: 5000, dstPort: 53, ipId: 77 };
    const frags = [
      pkt(0, { ...common, payload: 1472, fragment: { offset: 0, more: true, datagramPayload: 3000 } }),
      pkt(0.1, { ...common, payload: 1480, fragment: { offset: 1480, more: true } }),
      pkt(0.2, { ...common, payload: 48, fragment: { offset: 2960, more: false } }),
      pkt(5, { ...common, ipId: 99, payload: 100, fragment: { offset: 1480, more: false } }),
    ];
    const got = await flows(frags);
    expect(got.map((f) => [f.src_port, f.dst_port, f.fwd_packets, f.fwd_payload_bytes, f.fragments])).toEqual([
      [5000, 53, 3, 1472 + 1480 + 48, 3],
      [0, 0, 1, 100, 1],
    ]);
  });

  it('IPv6 extension headers are walked; a fragment header leads to the transport header', async () => {
    // hop-by-hop (8 bytes) + destination options (8 bytes) before UDP, built by hand
    const ip = buildIpPacket({ ...pkt(0, { from: 'fd00::1', to: 'fd00::2', protocol: 17, srcPort: 1234, dstPort: 53, payload: 20 }) });
    const ext = Buffer.alloc(16);
    ext[0] = 60; // next: destination options
    ext[8] = 17; // next: UDP
    const v6 = Buffer.concat([ip.subarray(0, 40), ext, ip.subarray(40)]);
    v6[6] = 0; // hop-by-hop first
    v6.writeUInt16BE(ip.length - 40 + 16, 4);
    const { ok, d } = decode(v6, 101);
    expect(ok).toBe(true);
    expect([d.protocol, d.srcPort, d.dstPort, d.headerBytes, d.payloadBytes]).toEqual([17, 1234, 53, 40 + 16 + 8, 20]);
    const first = buildIpPacket(pkt(0, { from: 'fd00::1', to: 'fd00::2', protocol: 17, srcPort: 1234, dstPort: 53, payload: 1000, ipId: 5, fragment: { offset: 0, more: true, datagramPayload: 2000 } }));
    const f = decode(first, 101);
    expect([f.ok, f.d.fragment, f.d.srcPort, f.d.fragmentId, f.d.headerBytes]).toEqual([true, 1, 1234, 5, 40 + 8 + 8]);
    const later = buildIpPacket(pkt(0, { from: 'fd00::1', to: 'fd00::2', protocol: 17, payload: 1000, ipId: 5, fragment: { offset: 1008, more: false } }));
    const l = decode(later, 101);
    expect([l.ok, l.d.fragment, l.d.srcPort, l.d.payloadBytes]).toEqual([true, 2, 0, 1000]);
  });

  it('PPPoE sessions, QinQ tags and non-IP frames', () => {
    const spec = pkt(0, { payload: 10 });
    const ip = buildIpPacket(spec);
    const eth = frameFor(1, ip, spec);
    const pppoe = Buffer.concat([eth.subarray(0, 12), Buffer.from([0x88, 0x64, 0x11, 0, 0, 1, 0, 0, 0x00, 0x21]), ip]);
    expect(decode(pppoe).ok).toBe(true);
    expect(decode(pppoe).d.dstPort).toBe(80);
    const arp = Buffer.concat([eth.subarray(0, 12), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
    expect(decode(arp)).toMatchObject({ ok: false, d: { skip: 'non-ip' } });
    expect(decode(eth.subarray(0, 30))).toMatchObject({ ok: false, d: { skip: 'truncated' } });
    expect(decode(eth, 105)).toMatchObject({ ok: false, d: { skip: 'link-type' } });
  });

  it('an IPv4 total length of 0 (segmentation offload) takes the captured length', () => {
    const spec = pkt(0, { payload: 3000 });
    const ip = buildIpPacket(spec);
    ip.writeUInt16BE(0, 2);
    const { ok, d } = decode(ip, 101);
    expect([ok, d.payloadBytes]).toEqual([true, 3000]);
  });

  it('packets cut to a snapshot length still count their length on the wire', async () => {
    const conn = [pkt(0, { tcpFlags: 0x18, payload: 1400 }), reply(1, { tcpFlags: 0x10 })];
    const [cut] = await flows(conn, {}, { snapLength: 96 });
    const [full] = await flows(conn);
    expect(cut).toEqual(full);
    expect(cut.fwd_payload_bytes).toBe(1400);
  });

  it('IPv6 addresses are written in RFC 5952 form', () => {
    const t = (s: string) => ipv6String(addressBytes(s), 0);
    expect(t('2001:db8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(t('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(t('fd00::')).toBe('fd00::');
    expect(t('::1')).toBe('::1');
    expect(t('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2:3:4:5:6');
  });

  it('the summary counts packets skipped by reason', async () => {
    const spec = pkt(0, { payload: 10 });
    const eth = frameFor(1, buildIpPacket(spec), spec);
    const arp = Buffer.concat([eth.subarray(0, 12), Buffer.from([0x08, 0x06]), Buffer.alloc(46)]);
    const w = new CaptureWriter();
    const rec = (frame: Buffer) => {
      const b = Buffer.alloc(16 + frame.length);
      b.writeUInt32LE(spec.seconds, 0);
      b.writeUInt32LE(frame.length, 8);
      b.writeUInt32LE(frame.length, 12);
      frame.copy(b, 16);
      return b;
    };
    const file = path.join(dir, 'skips.pcap');
    fs.writeFileSync(file, Buffer.concat([w.header(), rec(eth), rec(arp), rec(eth.subarray(0, 20))]));
    const { summary } = await loadCaptureFlows(file);
    expect(summary.skipped).toEqual({ 'non-ip': 1, 'link-type': 0, truncated: 1, malformed: 0 });
    expect([summary.packets, summary.flowPackets, summary.flows]).toEqual([3, 1, 1]);
  });
});

describe('CSV', () => {
  it('flowCsvLine is csvLine of flowCells for every flow (nothing needs quoting)', async () => {
    const { csvLine } = await import('../../src/data/csv');
    const { flowCells, flowCsvLine } = await import('../../src/capture/flows');
    const { smallCapture } = await import('./fixtures');
    const got = await flows(smallCapture({ ipv6Share: 0.5, fragmentedDnsShare: 0.3 }).packets);
    expect(got.length).toBeGreaterThan(100);
    for (const f of got) expect(flowCsvLine(f)).toBe(csvLine(flowCells(f)));
  });
});
