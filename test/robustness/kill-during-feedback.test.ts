/**
 * Durability: a process killed with SIGKILL while appending feedback, many times, never loses an
 * acknowledged label, and the file always loads (an interrupted last line is skipped and reported).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { loadFeedback } from '../../src/feedback/store';

const ROOT = path.join(__dirname, '../..');
const VITE_NODE = path.join(ROOT, 'node_modules/.bin/vite-node');
const KILLS = 10;

/** Runs the append loop from batch `start`, kills it after `delayMs`, returns the acknowledged batches. */
function appendThenKill(file: string, start: number, delayMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(VITE_NODE, [path.join(__dirname, 'fixtures/append-loop.ts'), file, String(start)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let buf = '';
    let err = '';
    let armed = false;
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        if (l === 'ready' && !armed) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), delayMs);
        } else if (l.startsWith('ack ')) acked.push(Number(l.slice(4)));
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

describe('SIGKILL in the middle of appending feedback', () => {
  it(`loses no acknowledged label (${KILLS} kills at random moments)`, async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nal-fbkill-')), 'feedback.jsonl');
    const rng = new Random(7);
    const acknowledged = new Set<string>();
    let next = 0;
    for (let k = 0; k < KILLS; k++) {
      const acked = await appendThenKill(file, next, 10 + rng.int(300));
      for (const n of acked) for (const j of [0, 1, 2]) acknowledged.add((n * 3 + j).toString(16).padStart(16, '0'));
      next += 100_000; // a new range of ids per run: an unacknowledged batch may or may not be there
      const log = loadFeedback(file, { missingOk: true });
      const ids = new Set(log.records.map((r) => r.row_id));
      for (const id of acknowledged) expect(ids.has(id)).toBe(true);
      expect(log.warnings.length).toBeLessThanOrEqual(k + 1);
    }
    expect(acknowledged.size).toBeGreaterThan(0);
  }, 120_000);
});
