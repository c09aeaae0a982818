/**
 * Paths that are not plain readable files given as data: a path through a file, a folder, a file
 * too large to read whole (sparse, so it costs no disk), a gzip bomb, a FIFO nobody writes to, and
 * two interrupts in a row.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { nal } from '../support/cli';
import { startNal, tempFilesUnder, waitsOnFifo, waitUntil, writing } from '../support/process';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-misc-'));
const csv = path.join(dir, 'traffic.csv');
const model = path.join(dir, 'model');

beforeAll(async () => {
  fs.writeFileSync(csv, trafficToCsv(generateTraffic({ rows: 300, anomalyRatio: 0.1, seed: 4 })));
  const r = await nal('train', '--data', csv, '--model', model, '--seed', '1', '--epochs', '2', '--quiet');
  expect(r.code, r.err).toBe(0);
});

/** detect, train and evaluate on `data` all fail with `message` in one line. */
async function allRefuse(data: string, message: RegExp): Promise<void> {
  for (const args of [
    ['detect', '--data', data, '--model', model, '--out', path.join(dir, 'out.csv')],
    ['train', '--data', data, '--model', path.join(dir, 'never')],
    ['evaluate', '--data', data],
  ]) {
    const r = await nal(...args);
    expect(r.code, args[0]).toBe(1);
    expect(r.err, args[0]).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  }
  expect(fs.existsSync(path.join(dir, 'out.csv'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'never'))).toBe(false);
}

describe('data paths that are not plain readable files', () => {
  it('a path through a file: cannot read file (ENOTDIR)', async () => {
    await allRefuse(path.join(csv, 'x.csv'), /traffic\.csv\/x\.csv: cannot read file \(ENOTDIR\)/);
  });

  it('a folder: is a folder, not a file', async () => {
    await allRefuse(dir, /: is a folder, not a file\./);
  });

  it('a file too large to read whole (train, evaluate) is refused by its size before reading; detect streams it', async () => {
    const f = path.join(dir, 'huge.csv');
    const fd = fs.openSync(f, 'w');
    fs.writeSync(fd, fs.readFileSync(csv));
    fs.ftruncateSync(fd, 700 * 2 ** 20); // sparse: the rest reads as NUL bytes and costs no disk
    fs.closeSync(fd);
    for (const args of [
      ['train', '--data', f, '--model', path.join(dir, 'never')],
      ['evaluate', '--data', f],
    ]) {
      const r = await nal(...args);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/huge\.csv: is 700 MiB; a file read whole \(train, evaluate, feedback add\) may have at most 512 MiB of text: train on a sample of it/);
    }
    // detect reads it as a stream: the NUL bytes after the rows are one line without a break
    const d = await nal('detect', '--data', f, '--model', model, '--out', path.join(dir, 'out.csv'));
    expect(d.err).toMatch(/huge\.csv: line 302 is longer than 1 MiB/);
    fs.rmSync(f);
  });

  it('a gzip bomb (600 MiB of zeros in 600 KB): refused by train while unpacking, and by detect after 1 MiB', async () => {
    const f = path.join(dir, 'bomb.csv.gz');
    const gz = zlib.createGzip({ level: 1 });
    const out = fs.createWriteStream(f);
    gz.pipe(out);
    const zeros = Buffer.alloc(2 ** 20);
    for (let k = 0; k < 600; k++) if (!gz.write(zeros)) await new Promise((r) => gz.once('drain', r));
    gz.end();
    await new Promise((r) => out.on('close', r));
    const t = await nal('train', '--data', f, '--model', path.join(dir, 'never'));
    expect(t.code).toBe(1);
    expect(t.err).toMatch(/bomb\.csv\.gz: is more than 512 MiB uncompressed/);
    const d = await nal('detect', '--data', f, '--model', model, '--out', path.join(dir, 'out.csv'));
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/bomb\.csv\.gz: line 1 is longer than 1 MiB/);
  }, 60_000);

  it('a FIFO nobody writes to: detect waits (as cat would) and Ctrl-C stops it with 130', async () => {
    const fifo = path.join(dir, 'pipe.csv');
    if (spawnSync('mkfifo', [fifo]).status !== 0) {
      console.log('skipped the FIFO case: mkfifo is not available here');
      return;
    }
    const out = path.join(dir, 'fifo-out.csv');
    const child = await startNal(['detect', '--data', fifo, '--model', model, '--out', out]);
    // it waits in the FIFO's open (Linux tells; elsewhere give it time to get there)
    if (waitsOnFifo(child.pid!) === undefined) await new Promise((r) => setTimeout(r, 3000));
    else await waitUntil(() => waitsOnFifo(child.pid!) === true, 60_000, 'detect to open the FIFO');
    child.kill('SIGINT');
    const r = await child.done;
    expect(r.code).toBe(130);
    expect(r.err).toBe('nal: interrupted by SIGINT; nothing written.\n');
    expect(fs.existsSync(out)).toBe(false);
    expect(tempFilesUnder(dir)).toEqual([]);
  }, 30_000);

  it('two signals in a row: still 130, nothing left behind', async () => {
    const out = path.join(dir, 'twice.csv');
    fs.writeFileSync(out, 'previous\n');
    const child = await startNal(['detect', '--data', '-', '--model', model, '--out', out, '--chunk-size', '50'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.write(fs.readFileSync(csv, 'utf8'));
    await waitUntil(() => writing(dir, 'twice.csv'), 60_000, 'the output to start');
    child.kill('SIGINT');
    child.kill('SIGINT');
    const r = await child.done;
    expect(r.code).toBe(130);
    expect(fs.readFileSync(out, 'utf8')).toBe('previous\n');
    expect(tempFilesUnder(dir)).toEqual([]);
    child.stdin!.destroy();
  }, 30_000);
});
