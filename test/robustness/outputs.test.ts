/**
 * Outputs: never written over an input, never left half-written, the first real error reported;
 * interrupts (SIGINT/SIGTERM) stop at once and clean up; a full disk, a killed run and a closed
 * stdout lose nothing.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../src/core/random';
import { generateTraffic, generateTrafficCsv, trafficToCsv } from '../../src/data/generator';
import { nal } from '../support/cli';
import { folderHash, runNal, startNal, tempFilesUnder, waitUntil, writing } from '../support/process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-out-'));
const csv = path.join(dir, 'traffic.csv');
const big = path.join(dir, 'big.csv');
const model = path.join(dir, 'model');
const PREVIOUS = 'previous output\n';

beforeAll(async () => {
  fs.writeFileSync(csv, trafficToCsv(generateTraffic({ rows: 400, anomalyRatio: 0.1, seed: 2 })));
  fs.writeFileSync(big, [...generateTrafficCsv({ rows: 30_000, anomalyRatio: 0.1, seed: 3 })].join(''));
  const r = await nal('train', '--data', csv, '--model', model, '--seed', '1', '--epochs', '2', '--quiet');
  expect(r.code, r.err).toBe(0);
});

/** Write the earlier output a failed run must leave untouched. */
function previous(name: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, PREVIOUS);
  return f;
}

describe('an output never replaces an input', () => {
  it('--out equal to --data (the same path, another spelling, a hard link, a symlink) is refused and the input kept', async () => {
    const input = path.join(dir, 'input.csv');
    fs.copyFileSync(csv, input);
    const before = fs.readFileSync(input);
    const hard = path.join(dir, 'hard.csv');
    const soft = path.join(dir, 'soft.csv');
    fs.linkSync(input, hard);
    fs.symlinkSync(input, soft);
    const spellings = [input, path.join(dir, '.', 'input.csv'), path.join(dir, '..', path.basename(dir), 'input.csv'), hard, soft];
    for (const out of spellings) {
      const r = await nal('detect', '--data', input, '--model', model, '--out', out);
      expect(r.code, out).toBe(1);
      expect(r.err).toMatch(/is the same file as --data .*input\.csv; writing it would destroy the input/);
      expect(fs.readFileSync(input)).toEqual(before);
    }
    // and the other way round: the data given through the link, the output by its real name
    const r = await nal('detect', '--data', soft, '--model', model, '--out', input);
    expect(r.code).toBe(1);
    expect(fs.readFileSync(input)).toEqual(before);
    expect(tempFilesUnder(dir)).toEqual([]);
  });

  it('--out inside the model folder is refused and the model kept', async () => {
    const before = folderHash(model);
    for (const out of [path.join(model, 'manifest.json'), path.join(model, 'scored.csv')]) {
      const r = await nal('detect', '--data', csv, '--model', model, '--out', out);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/is inside the model folder/);
    }
    expect(folderHash(model)).toBe(before);
  });

  it('--out a directory gets a clear error (detect, generate), not EISDIR', async () => {
    const d = path.join(dir, 'a-folder');
    fs.mkdirSync(d, { recursive: true });
    const det = await nal('detect', '--data', csv, '--model', model, '--out', d);
    expect(det.code).toBe(1);
    expect(det.err).toBe(`nal: ${d}: is a directory; give a file name for the output.\n`);
    const gen = await nal('generate', '--rows', '10', '--out', d);
    expect(gen.code).toBe(1);
    expect(gen.err).toMatch(/a-folder: is a directory; give a file name for the output/);
    expect(fs.readdirSync(d)).toEqual([]);
  });
});

describe('a failed run leaves the earlier output untouched, no temporary file, and reports the first real error', () => {
  it('a bad row after the first chunks (row 20,000 of 30,000) is reported by row and column every time', async () => {
    const bad = path.join(dir, 'bad-20k.csv');
    const lines = fs.readFileSync(big, 'utf8').split('\n');
    const cells = lines[20_000].split(',');
    cells[3] = 'lots';
    lines[20_000] = cells.join(',');
    fs.writeFileSync(bad, lines.join('\n'));
    const out = previous('bad-out.csv');
    for (let k = 0; k < 5; k++) {
      const r = await runNal(['detect', '--data', bad, '--model', model, '--out', out, '--quiet']);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`nal: ${bad}, row 20000, column 'src_bytes': 'lots' is not a number. 1 of 30000 rows cannot be encoded (this is the first; --bad-rows skip leaves them out).\n`);
      expect(fs.readFileSync(out, 'utf8')).toBe(PREVIOUS);
      expect(tempFilesUnder(dir)).toEqual([]);
    }
  }, 120_000);

  it('temporary files of killed runs are removed by the next run; those of a running process are left alone', async () => {
    const out = previous('stale-out.csv');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    const stale = path.join(dir, `.stale-out.csv.tmp-${dead}-abc-0`);
    const live = path.join(dir, `.stale-out.csv.tmp-${process.pid}-abc-0`);
    fs.writeFileSync(stale, 'x'.repeat(1000));
    fs.writeFileSync(live, 'being written');
    const r = await nal('detect', '--data', csv, '--model', model, '--out', out, '--quiet');
    expect(r.code, r.err).toBe(0);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readFileSync(live, 'utf8')).toBe('being written');
    fs.rmSync(live);
  });

  it('a detect killed (SIGKILL) at random moments leaves the earlier output whole; the next run removes its temporary file', async () => {
    const out = previous('killed-out.csv');
    const rng = new Random(3);
    for (let k = 0; k < 5; k++) {
      const child = await startNal(['detect', '--data', big, '--model', model, '--out', out, '--quiet']);
      await new Promise((r) => setTimeout(r, 200 + rng.int(1500)));
      child.kill('SIGKILL');
      const r = await child.done;
      const text = fs.readFileSync(out, 'utf8');
      // the earlier output, or (killed after the rename) the complete new one
      if (text !== PREVIOUS) expect(text.split('\n').length, `kill ${k}: ${r.signal}`).toBe(30_002);
      fs.writeFileSync(out, PREVIOUS);
    }
    const again = await nal('detect', '--data', csv, '--model', model, '--out', out, '--quiet');
    expect(again.code).toBe(0);
    expect(tempFilesUnder(dir)).toEqual([]);
  }, 120_000);
});

/** A child reading stdin that we never close (as `tail -f log | nal detect --data -`). */
async function liveDetect(out: string): Promise<ChildProcess & { done: Promise<import('../support/process').ChildResult> }> {
  const child = await startNal(['detect', '--data', '-', '--model', model, '--out', out, '--quiet', '--chunk-size', '100'], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.write(fs.readFileSync(csv, 'utf8').split('\n').slice(0, 250).join('\n') + '\n');
  return child;
}

describe('SIGINT and SIGTERM stop at once, clean up, and exit 130 / 143', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while detect waits on a live stdin (tail -f log | nal detect --data -) stops on the first signal', async (sig, code) => {
    const out = previous(`live-${sig}.csv`);
    const child = await liveDetect(out);
    // it has scored the rows it got (its output has started) and waits for more
    await waitUntil(() => writing(dir, `live-${sig}.csv`), 60_000, 'the output to start');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    child.kill(sig);
    const r = await child.done;
    console.log(`detect stopped ${Date.now() - t0} ms after ${sig}`);
    expect(r.code).toBe(code);
    expect(r.err).toBe(`nal: interrupted by ${sig}; nothing written.\n`);
    expect(fs.readFileSync(out, 'utf8')).toBe(PREVIOUS);
    expect(tempFilesUnder(dir)).toEqual([]);
    child.stdin!.destroy();
  }, 30_000);

  it('SIGINT at random moments of a detect of a file: 130 and the earlier output, or 0 and the complete new one', async () => {
    const out = previous('sigint-out.csv');
    const rng = new Random(8);
    const codes: number[] = [];
    for (let k = 0; k < 5; k++) {
      fs.writeFileSync(out, PREVIOUS);
      const child = await startNal(['detect', '--data', big, '--model', model, '--out', out, '--quiet']);
      await new Promise((r) => setTimeout(r, rng.int(2500)));
      child.kill('SIGINT');
      const r = await child.done;
      codes.push(r.code ?? -1);
      // 130 (stopped), 0 (it had finished), or, before the command started at all, killed by the
      // signal's default action (status 130 in a shell): nothing written in any case
      expect(r.code === 130 || r.code === 0 || r.signal === 'SIGINT', `${r.code} ${r.signal}`).toBe(true);
      const text = fs.readFileSync(out, 'utf8');
      if (r.code === 0) expect(text.split('\n').length).toBe(30_002);
      else expect(text).toBe(PREVIOUS);
      expect(tempFilesUnder(dir)).toEqual([]);
    }
    console.log(`SIGINT during detect: exit codes ${codes.join(', ')} (-1: killed by the signal before the command started)`);
  }, 120_000);

  it('SIGINT during generate: 130, the earlier file untouched, no temporary file', async () => {
    const out = previous('gen-out.csv');
    const child = await startNal(['generate', '--rows', '5000000', '--out', out]);
    await waitUntil(() => writing(dir, 'gen-out.csv'), 60_000, 'generate to start writing');
    child.kill('SIGINT');
    const r = await child.done;
    expect(r.code).toBe(130);
    expect(fs.readFileSync(out, 'utf8')).toBe(PREVIOUS);
    expect(tempFilesUnder(dir)).toEqual([]);
  }, 60_000);
});

describe('a closed stdout (| head) ends quietly with status 0', () => {
  it.each([
    ['detect --out -', () => ['detect', '--data', big, '--model', model, '--out', '-']],
    ['generate --out -', () => ['generate', '--rows', '300000', '--out', '-']],
  ])('%s', async (_name, args) => {
    const child = await startNal(args());
    let first = '';
    await new Promise<void>((resolve) => {
      child.stdout!.once('data', (d) => {
        first = String(d).split('\n')[0];
        child.stdout!.destroy(); // what head does after its lines
        resolve();
      });
    });
    const r = await child.done;
    expect(first).toMatch(/^timestamp,packet_size/);
    expect(r.code).toBe(0);
    expect(r.err).not.toMatch(/EPIPE|unexpected error/);
  }, 60_000);
});

// -------------------------------------------------------------------------------------------------
// a full disk: a small tmpfs, where the test runs as root
// -------------------------------------------------------------------------------------------------

const mnt = path.join(dir, 'small-disk');
const fullDiskSkip = (() => {
  if (process.platform !== 'linux') return 'a tmpfs mount needs Linux';
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root (run the tests as root to include the full-disk cases)';
  fs.mkdirSync(mnt, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
  return r.status === 0 ? null : `mount -t tmpfs failed here (${(r.stderr || r.error?.message || '').trim()})`;
})();
if (fullDiskSkip) console.log(`Skipping the full-disk cases: ${fullDiskSkip}.`);

afterAll(() => {
  if (!fullDiskSkip) spawnSync('umount', [mnt]);
});

describe.skipIf(fullDiskSkip !== null)('a full disk (a 1 MiB tmpfs)', () => {
  it('detect: ENOSPC is the error reported, the earlier output is untouched, no temporary file', async () => {
    const out = path.join(mnt, 'scored.csv');
    fs.writeFileSync(out, PREVIOUS);
    const r = await runNal(['detect', '--data', big, '--model', model, '--out', out, '--quiet']);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/ENOSPC/);
    expect(r.err).not.toMatch(/EBADF/);
    expect(fs.readFileSync(out, 'utf8')).toBe(PREVIOUS);
    expect(fs.readdirSync(mnt).filter((f) => f.includes('.tmp-'))).toEqual([]);
    fs.rmSync(out);
  }, 60_000);

  it('generate: ENOSPC, the earlier file untouched, no temporary file', async () => {
    const out = path.join(mnt, 'gen.csv');
    fs.writeFileSync(out, PREVIOUS);
    const r = await runNal(['generate', '--rows', '100000', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ENOSPC/);
    expect(fs.readFileSync(out, 'utf8')).toBe(PREVIOUS);
    expect(fs.readdirSync(mnt).filter((f) => f.includes('.tmp-'))).toEqual([]);
    fs.rmSync(out);
  }, 60_000);

  it('train: a save that runs out of space leaves the earlier model loadable and byte-for-byte the same', async () => {
    const m = path.join(mnt, 'model');
    const small = await nal('train', '--data', csv, '--model', m, '--seed', '1', '--detectors', 'isolationForest', '--quiet');
    expect(small.code, small.err).toBe(0);
    const before = folderHash(m);
    // fill the disk so that the bigger model cannot fit
    const filler = path.join(mnt, 'filler');
    const free = () => {
      const st = fs.statfsSync(mnt);
      return st.bavail * st.bsize;
    };
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 64 * 1024)));
    const r = await nal('train', '--data', csv, '--model', m, '--seed', '2', '--epochs', '2', '--quiet');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ENOSPC/);
    fs.rmSync(filler);
    expect(folderHash(m)).toBe(before);
    expect(tempFilesUnder(m)).toEqual([]);
  }, 60_000);
});
