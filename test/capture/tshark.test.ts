/**
 * Checked against an independent tool: tshark's conversation statistics (`tshark -q -z conv,tcp
 * -z conv,udp`) on the synthesizer's captures, as classic pcap and as pcapng, list the same
 * conversations as our flows, with the same frame counts per direction, the same byte counts (to
 * tshark's truncation: it prints kB from 10,000 bytes up), durations and start times. Needs tshark
 * (Debian: wireshark's `tshark` package); without it the test skips with a reason, except in CI.
 */
import { describe, expect, it } from 'vitest';
import { loadCaptureFlows } from '../../src/capture/export';
import { compareWithTshark, flowsOf, inCI, smallCapture, tempDir, tsharkConversations, tsharkFrameTotals, which } from './fixtures';

const skipReason = which('tshark') || inCI ? null : 'Skipping the tshark comparison: tshark is not installed (Debian/Ubuntu: sudo apt-get install -y tshark). It runs in CI (CI=true).';
if (skipReason) console.warn(skipReason);

describe.skipIf(skipReason !== null)('flows agree with tshark conversation statistics', () => {
  const dir = tempDir('tshark');

  it.each([
    ['pcap', {}],
    ['pcapng, big-endian, nanoseconds', { format: 'pcapng', byteOrder: 'big', resolution: 'nano' }],
    ['pcap, Linux cooked v2 (SLL2)', { linkType: 276 }],
    ['pcap, VLAN-tagged Ethernet', { vlan: [7] }],
  ] as const)('the synthesizer’s capture as %s', async (name, opts) => {
    // a 3-minute capture with IPv6, the scan, password guessing and the upload (no fragments:
    // tshark reassembles them and counts a datagram once)
    const { packets } = smallCapture({ minutes: 3, webPerSecond: 1, dnsPerSecond: 2, ipv6Share: 0.3, scanPorts: 300, bruteForceAttempts: 20, uploadKBps: 40 });
    const { file, flows } = await flowsOf(dir, `${name.replace(/\W+/g, '-')}.cap`, packets, opts);
    const convs = tsharkConversations(file);
    const { compared, mismatches } = compareWithTshark(flows, convs);
    expect(mismatches).toEqual([]);
    expect(compared).toBe(flows.filter((f) => f.protocol === 'tcp' || f.protocol === 'udp').length);
    expect(compared).toBeGreaterThan(500);
    // kB-rounded conversations are compared too (the upload and large downloads)
    expect(convs.some((c) => c.unitToB > 1 || c.unitToA > 1)).toBe(true);
    console.log(`tshark (${name}): ${compared} conversations, frames, bytes, durations and start times agree`);
  }, 120_000);

  it('exact byte totals per direction agree with tshark’s dissection of every frame', async () => {
    const { packets } = smallCapture({ minutes: 3, webPerSecond: 1, dnsPerSecond: 2, ipv6Share: 0.3, scanPorts: 300, bruteForceAttempts: 20, uploadKBps: 40 });
    const { file, flows } = await flowsOf(dir, 'exact.pcapng', packets, { format: 'pcapng' });
    const totals = tsharkFrameTotals(file);
    let directions = 0;
    for (const f of flows) {
      if (f.protocol !== 'tcp' && f.protocol !== 'udp') continue;
      const fwd = totals.get(`${f.protocol} ${f.src_ip}|${f.src_port} ${f.dst_ip}|${f.dst_port}`) ?? { frames: 0, bytes: 0 };
      const bwd = totals.get(`${f.protocol} ${f.dst_ip}|${f.dst_port} ${f.src_ip}|${f.src_port}`) ?? { frames: 0, bytes: 0 };
      expect([f.fwd_packets, f.fwd_bytes, f.bwd_packets, f.bwd_bytes]).toEqual([fwd.frames, fwd.bytes, bwd.frames, bwd.bytes]);
      directions += 2;
    }
    expect(directions).toBe(totals.size + flows.filter((f) => (f.protocol === 'tcp' || f.protocol === 'udp') && f.bwd_packets === 0).length);
  }, 120_000);

  it('a gzipped capture read by both', async () => {
    const { packets } = smallCapture({ minutes: 1 });
    const { file } = await flowsOf(dir, 'g.pcapng.gz', packets, { format: 'pcapng' });
    const { flows } = await loadCaptureFlows(file);
    expect(compareWithTshark(flows, tsharkConversations(file)).mismatches).toEqual([]);
  }, 120_000);
});
