/** Captures for the capture tests: synthesized packets written in any layout, and packets built by hand. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCaptureFlows } from '../../src/capture/export';
import type { CaptureFlowOptions, FlowRecord } from '../../src/capture/flows';
import { synthesizePackets, type SynthOptions, type SynthSession } from '../../src/capture/synth';
import { addressBytes, CaptureWriter, writeCaptureFile, type CaptureWriterOptions, type PacketSpec } from '../../src/capture/writer';

/** A fresh temporary folder. */
export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `nal-${name}-`));
}

/** A small synthesized capture's packets (2 minutes, every kind of traffic, attacks early) and its sessions. */
export function smallCapture(opts: SynthOptions = {}): { packets: PacketSpec[]; sessions: SynthSession[] } {
  const sessions: SynthSession[] = [];
  const packets = [
    ...synthesizePackets(
      {
        seed: 5,
        minutes: 2,
        webPerSecond: 0.5,
        dnsPerSecond: 1,
        sshPerHour: 60,
        attackAfter: 0.2,
        scanPorts: 40,
        bruteForceAttempts: 6,
        uploadKBps: 5,
        uploadMinutes: 0.3,
        ...opts,
      },
      (s) => sessions.push(s),
    ),
  ];
  return { packets, sessions };
}

/** Write packets and read the flows back. */
export async function flowsOf(
  dir: string,
  name: string,
  packets: readonly PacketSpec[],
  writer: CaptureWriterOptions = {},
  flowOpts: CaptureFlowOptions = {},
  interfaceOf?: (i: number) => number,
): Promise<{ file: string; flows: FlowRecord[]; warnings: string[] }> {
  const file = path.join(dir, name);
  writeCaptureFile(file, packets, writer, interfaceOf);
  const warnings: string[] = [];
  const { flows } = await loadCaptureFlows(file, { ...flowOpts, onWarning: (w) => warnings.push(w) });
  return { file, flows, warnings };
}

/** Capture bytes of packets (header first). */
export function captureBytes(packets: readonly PacketSpec[], opts: CaptureWriterOptions = {}): Buffer {
  const w = new CaptureWriter(opts);
  return Buffer.concat([w.header(), ...packets.map((p) => w.packet(p))]);
}

const T0 = 1_700_000_000;

/** A packet at `ms` milliseconds after a fixed second, between two IPv4 hosts. */
export function pkt(ms: number, fields: Partial<PacketSpec> & { from?: string; to?: string }): PacketSpec {
  const { from = '10.0.0.1', to = '10.0.0.2', ...rest } = fields;
  const us = Math.round(ms * 1000);
  return {
    seconds: T0 + Math.floor(us / 1e6),
    nanoseconds: (us % 1e6) * 1000,
    src: addressBytes(from),
    dst: addressBytes(to),
    protocol: 6,
    srcPort: 40000,
    dstPort: 80,
    payload: 0,
    ...rest,
  };
}

/** The same TCP packet from the other side (addresses and ports swapped). */
export function reply(ms: number, p: Partial<PacketSpec> & { from?: string; to?: string } = {}): PacketSpec {
  return pkt(ms, { from: '10.0.0.2', to: '10.0.0.1', srcPort: 80, dstPort: 40000, ...p });
}

/** Flows as plain rows without the given columns. */
export function without(flows: readonly FlowRecord[], cols: readonly string[]): Record<string, unknown>[] {
  return flows.map((f) => Object.fromEntries(Object.entries(f).filter(([k]) => !cols.includes(k))));
}

/** Environment for child processes running bundled sources (npm packages from node_modules). */
export const nodeEnv = { ...process.env, NODE_PATH: path.resolve(__dirname, '../../node_modules') };

/** Bundle the `nal` CLI from the TypeScript sources into `dir/nal.js` (npm packages left external). */
export async function buildNal(dir: string): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: { nal: path.resolve(__dirname, '../../src/cli/main.ts') },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outdir: dir,
    logLevel: 'error',
  });
  return path.join(dir, 'nal.js');
}
