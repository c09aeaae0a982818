/**
 * The packet synthesizer: seeded (the same seed gives the same packets, another seed others), in
 * time order, every session in the ground truth, attacks only after `attackAfter`, and the flows of
 * its capture labelled by session.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCaptureFlows } from '../../src/capture/export';
import { labelFlows, synthesizeCapture, synthesizePackets, type SynthSession } from '../../src/capture/synth';
import { captureBytes, tempDir } from './fixtures';

const OPTS = { minutes: 1, webPerSecond: 1, dnsPerSecond: 1, sshPerHour: 240, attackAfter: 0.3, scanPorts: 30, bruteForceAttempts: 4, uploadMinutes: 0.2 };

describe('synthesizePackets', () => {
  it('is seeded: the same seed gives the same bytes, another seed others', () => {
    const a = captureBytes([...synthesizePackets({ seed: 9, ...OPTS })]);
    const b = captureBytes([...synthesizePackets({ seed: 9, ...OPTS })]);
    const c = captureBytes([...synthesizePackets({ seed: 10, ...OPTS })]);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('yields packets in time order; sessions cover every kind, attacks after attackAfter', () => {
    const sessions: SynthSession[] = [];
    const packets = [...synthesizePackets({ seed: 4, ...OPTS }, (s) => sessions.push(s))];
    const t = packets.map((p) => p.seconds * 1e9 + p.nanoseconds);
    expect(t.every((x, i) => i === 0 || x >= t[i - 1])).toBe(true);
    expect(new Set(sessions.map((s) => s.kind))).toEqual(new Set(['web', 'dns', 'ssh', 'ping', 'scan', 'bruteforce', 'upload']));
    expect(sessions.reduce((a, s) => a + s.packets, 0)).toBe(packets.length);
    const start = Date.parse('2024-03-04T09:00:00Z');
    for (const s of sessions.filter((x) => x.label !== 'normal')) expect(s.startMs).toBeGreaterThanOrEqual(start + 0.3 * 60_000);
    expect(sessions.filter((s) => s.kind === 'scan')).toHaveLength(30);
    expect(() => [...synthesizePackets({ minutes: 0 })]).toThrow("The 'minutes' option of synthesizePackets must be a positive number. Got 0.");
  });

  it('synthesizeCapture writes pcap, pcapng or .gz; labelFlows gives every flow its session', async () => {
    const dir = tempDir('synth');
    const gz = path.join(dir, 'c.pcapng.gz');
    const { sessions, packets } = await synthesizeCapture(gz, { seed: 4, ...OPTS, format: 'pcapng' });
    expect(fs.readFileSync(gz).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const { flows, summary } = await loadCaptureFlows(gz);
    expect(summary.packets).toBe(packets);
    const labels = labelFlows(flows, sessions);
    expect(labels).not.toContain('unknown');
    expect(labels.filter((l) => l === 'scan')).toHaveLength(30);
    expect(flows.length).toBe(sessions.length);
    expect(labelFlows(flows, sessions, { by: 'kind' }).filter((k) => k === 'ping')).toHaveLength(1);
  });
});
