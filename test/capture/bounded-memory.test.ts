/**
 * Capture to flows in bounded memory: a stream of a million and more packets (a synthesized block
 * repeated, 200 s apart) goes through captureFlows in a child process with a small heap; only the
 * active flows are held, so peak RSS stays flat as the stream doubles.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeEnv, tempDir } from './fixtures';

const dir = tempDir('flows-memory');

beforeAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const esbuild = require('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: { child: path.join(__dirname, 'fixtures/flows-memory-child.ts') },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    outdir: dir,
    logLevel: 'error',
  });
});

describe('capture to flows in bounded memory', () => {
  it('peak RSS stays flat and the flows held stay few as the packet stream doubles', async () => {
    const cycles = 40;
    // a child process, waited for without blocking this worker's event loop
    const child = spawn(process.execPath, ['--max-old-space-size=96', path.join(dir, 'child.js'), String(cycles)], { env: nodeEnv, timeout: 170_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status, stderr).toBe(0);
    const rep = JSON.parse(stdout) as { packets: number; expected: number; flows: number; peakActiveFlows: number; seconds: number; checkpoints: { packets: number; maxRssMb: number }[]; maxRssMb: number };
    expect(rep.packets).toBe(rep.expected);
    expect(rep.packets).toBeGreaterThan(1_000_000);
    const half = rep.checkpoints.find((c) => c.packets >= rep.packets / 2)!;
    console.log(
      `flows bounded memory: ${rep.packets} packets, ${rep.flows} flows in ${rep.seconds.toFixed(1)} s; at most ${rep.peakActiveFlows} flows held; ` +
        `peak RSS ${half.maxRssMb.toFixed(1)} MB after ${half.packets} packets, ${rep.maxRssMb.toFixed(1)} MB after all; checkpoints ${rep.checkpoints.map((c) => c.maxRssMb.toFixed(0)).join(', ')} MB`,
    );
    expect(rep.maxRssMb - half.maxRssMb).toBeLessThan(Math.max(24, 0.1 * half.maxRssMb));
    // one block's worth of concurrent flows at most, whatever the length of the stream
    expect(rep.peakActiveFlows).toBeLessThan(rep.flows / cycles);
  }, 180_000);
});
