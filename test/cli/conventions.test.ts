/**
 * CLI conventions (issue 14 item 6): --version, per-command --help (exit 0), "did you mean" for a
 * mistyped command, subcommand or option, and a closed stdout ends quietly with status 0.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, runCli } from '../../src/cli/commands';
import { editDistance, suggest } from '../../src/cli/program';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { Capture, nal } from '../support/cli';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const VERSION = (require('../../package.json') as { version: string }).version;

describe('--version and --help', () => {
  it('nal --version prints the package version and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await nal(flag);
      expect(r.code).toBe(0);
      expect(r.out).toBe(`nal ${VERSION}\n`);
    }
  });

  it('nal --help lists every command; nal alone prints it to stderr and exits 2', async () => {
    const h = await nal('--help');
    expect(h.code).toBe(0);
    for (const c of COMMANDS) expect(h.out).toContain(`nal ${c.name} `);
    const none = await nal();
    expect(none.code).toBe(2);
    expect(none.err).toBe(h.out);
  });

  it.each(COMMANDS.map((c) => [c.name, c] as const))('nal %s --help prints its own usage, every option it takes, and exits 0', async (name, c) => {
    const words = name.split(' ');
    for (const argv of [
      [...words, '--help'],
      [...words, '-h'],
      ['help', ...words],
      [...words, '--no-such-flag', '--help'], // --help wins over mistakes
    ]) {
      const r = await nal(...argv);
      expect(r.code, argv.join(' ')).toBe(0);
      expect(r.err).toBe('');
      expect(r.out).toMatch(new RegExp(`^nal ${name}: `));
      expect(r.out).toContain(`Usage:\n  nal ${name} `);
      for (const opt of Object.keys(c.options)) expect(r.out, `--${opt} in nal ${name} --help`).toContain(`--${opt}`);
      expect(r.out).toContain('--quiet');
    }
  });

  it('nal feedback --help lists its subcommands; nal feedback alone is a usage mistake', async () => {
    const r = await nal('feedback', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('nal feedback add --model DIR');
    expect(r.out).toContain('nal feedback stats --model DIR');
    const bare = await nal('feedback');
    expect(bare.code).toBe(2);
    expect(bare.err).toBe('nal: nal feedback needs a subcommand: add or stats (see nal feedback --help).\n');
  });

  it('a usage mistake points at the command\'s own help', async () => {
    const r = await nal('detect', '--model', 'm');
    expect(r.code).toBe(2);
    expect(r.err).toBe('nal: --data is required (see nal detect --help).\n');
  });
});

describe('did you mean', () => {
  it.each([
    [['trian'], "unknown command 'trian' (did you mean 'train'?)"],
    [['detct'], "(did you mean 'detect'?)"],
    [['evalute', '--data', 'x'], "(did you mean 'evaluate'?)"],
    [['Generate'], "(did you mean 'generate'?)"],
    [['feedback', 'ad'], "nal feedback needs a subcommand: add or stats, got 'ad' (did you mean 'feedback add'?)"],
    [['feedback', 'stat'], "(did you mean 'feedback stats'?)"],
    [['train', '--modle', 'x'], "Unknown option '--modle' (did you mean --model? see nal train --help)"],
    [['detect', '--chunksize', '5'], 'did you mean --chunk-size?'],
    [['train', '--contamnation', '0.1'], 'did you mean --contamination?'],
    [['evaluate', '--jsn'], 'did you mean --json?'],
    [['feedback', 'add', '--lable', 'tp'], 'did you mean --label?'],
  ])('nal %j', async (argv, message) => {
    const r = await nal(...argv);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('no suggestion when nothing is close', async () => {
    const r = await nal('frobnicate');
    expect(r.err).toBe("nal: unknown command 'frobnicate'; commands: generate, train, detect, evaluate, feedback, flows (see nal --help).\n");
    const o = await nal('train', '--bogus');
    expect(o.err).toBe("nal: Unknown option '--bogus' (see nal train --help).\n");
  });

  it('editDistance counts a transposition as one edit; suggest takes a unique prefix', () => {
    expect(editDistance('trian', 'train')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(suggest('eval', ['generate', 'evaluate', 'train'])).toBe('evaluate');
    expect(suggest('x', ['generate', 'evaluate'])).toBeUndefined();
  });
});

describe('a closed stdout ends quietly with status 0', () => {
  let dir: string;
  let csv: string;
  let model: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-conv-'));
    csv = path.join(dir, 't.csv');
    model = path.join(dir, 'm');
    fs.writeFileSync(csv, trafficToCsv(generateTraffic({ rows: 3000, seed: 1 })));
    expect((await nal('train', '--data', csv, '--model', model, '--seed', '1', '--detectors', 'isolationForest', '--quiet')).code).toBe(0);
  });

  /** A stdout whose reader goes away after the first write (as `| head -1`). */
  class ClosedAfterFirstWrite extends Writable {
    writes = 0;
    _write(_chunk: Buffer, _enc: string, cb: (e?: Error | null) => void): void {
      this.writes++;
      if (this.writes === 1) cb();
      else cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    }
  }

  it.each([
    ['detect --out -', () => ['detect', '--data', csv, '--model', model, '--out', '-', '--chunk-size', '100', '--quiet']],
    ['generate --out -', () => ['generate', '--rows', '50000', '--out', '-', '--quiet']],
  ])('%s', async (_name, args) => {
    const stdout = new ClosedAfterFirstWrite({ highWaterMark: 1 });
    const stderr = new Capture();
    const code = await runCli(args(), { stdout, stderr });
    expect(code).toBe(0);
    expect(stderr.text).toBe('');
    expect(stdout.writes).toBeLessThan(10); // it stopped writing
  });
});
