/**
 * locateDataset: the search order ($NAL_DATA_DIR only when set; data/external/ in the working
 * folder, then in the package; ../shared/datasets beside the package), the files it needs, and the
 * message when they are missing. Temp folders only: passes with or without ../shared.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_DIR_ENV, PACKAGE_ROOT, datasetSearchPath, locateDataset } from '../../src/data/locate';

let tmp: string;
const dir = (...p: string[]) => {
  const d = path.join(tmp, ...p);
  fs.mkdirSync(d, { recursive: true });
  return d;
};
const touch = (d: string, ...names: string[]) => names.forEach((n) => fs.writeFileSync(path.join(d, n), 'x'));
/** A fake checkout: <tmp>/<name>/repo with ../shared beside it, and a separate working folder. */
const layout = (name: string) => ({ root: dir(name, 'repo'), cwd: dir(name, 'work'), shared: path.join(tmp, name, 'shared', 'datasets', 'nsl-kdd') });

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-locate-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('locateDataset', () => {
  it('the package root is the folder with package.json', () => {
    expect(JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')).name).toBe('network-anomaly-lab');
  });

  it('searches the working folder, the package, then ../shared/datasets beside the package', () => {
    const { root, cwd, shared } = layout('order');
    expect(datasetSearchPath('nsl-kdd', { env: {}, cwd, packageRoot: root }).map((p) => p.dir)).toEqual([
      path.join(cwd, 'data', 'external', 'nsl-kdd'),
      path.join(root, 'data', 'external', 'nsl-kdd'),
      shared,
    ]);
    // the same folder twice is searched once
    expect(datasetSearchPath('nsl-kdd', { env: {}, cwd: root, packageRoot: root })).toHaveLength(2);
  });

  it('finds the files in the first complete folder, preferring the plain train file to the gzipped one', () => {
    const { root, cwd, shared } = layout('found');
    touch(dir(path.relative(tmp, shared)), 'KDDTrain+.txt.gz', 'KDDTest+.txt');
    const opts = { env: {}, cwd, packageRoot: root };
    let r = locateDataset('nsl-kdd', opts);
    expect(r.found).toBe(true);
    expect(r.dir).toBe(shared);
    expect(r.files).toEqual({ train: path.join(shared, 'KDDTrain+.txt.gz'), test: path.join(shared, 'KDDTest+.txt') });
    expect(r.message).toBe(`NSL-KDD found in ${shared} (KDDTrain+.txt.gz, KDDTest+.txt).`);

    // an incomplete folder earlier in the order is passed over
    const pkg = dir('found', 'repo', 'data', 'external', 'nsl-kdd');
    touch(pkg, 'KDDTrain+.txt');
    expect(locateDataset('nsl-kdd', opts).dir).toBe(shared);
    touch(pkg, 'KDDTest+.txt', 'KDDTrain+.txt.gz');
    r = locateDataset('nsl-kdd', opts);
    expect(r.dir).toBe(pkg);
    expect(path.basename(r.files.train)).toBe('KDDTrain+.txt');

    // the working folder comes first
    const work = dir('found', 'work', 'data', 'external', 'nsl-kdd');
    touch(work, 'KDDTrain+.txt.gz', 'KDDTest+.txt');
    expect(locateDataset('nsl-kdd', opts).dir).toBe(work);
  });

  it('with NAL_DATA_DIR set, searches only there (relative to the working folder)', () => {
    const { root, cwd } = layout('env');
    touch(dir('env', 'work', 'data', 'external', 'nsl-kdd'), 'KDDTrain+.txt', 'KDDTest+.txt');
    const mine = dir('env', 'mine', 'nsl-kdd');
    touch(mine, 'KDDTrain+.txt.gz', 'KDDTest+.txt');
    const r = locateDataset('nsl-kdd', { env: { [DATA_DIR_ENV]: '../mine' }, cwd, packageRoot: root });
    expect(r).toMatchObject({ found: true, dir: mine, fromEnv: true });
    expect(r.searched.map((p) => p.dir)).toEqual([mine]);

    const empty = dir('env', 'empty');
    const miss = locateDataset('nsl-kdd', { env: { [DATA_DIR_ENV]: empty }, cwd, packageRoot: root });
    expect(miss.found).toBe(false);
    expect(miss.searched.map((p) => p.dir)).toEqual([path.join(empty, 'nsl-kdd')]);
    expect(miss.message).toContain(`${path.join(empty, 'nsl-kdd')}   ($NAL_DATA_DIR/nsl-kdd: no such folder)`);
    expect(miss.message).toMatch(/NAL_DATA_DIR is set, so no other place was searched/);
    // an empty value counts as unset
    expect(locateDataset('nsl-kdd', { env: { [DATA_DIR_ENV]: ' ' }, cwd, packageRoot: root }).found).toBe(true);
  });

  it('reads process.env by default', () => {
    const empty = dir('process-env');
    const before = process.env[DATA_DIR_ENV];
    process.env[DATA_DIR_ENV] = empty;
    try {
      const r = locateDataset('nsl-kdd');
      expect(r.found).toBe(false);
      expect(r.searched.map((p) => p.dir)).toEqual([path.join(empty, 'nsl-kdd')]);
    } finally {
      if (before === undefined) delete process.env[DATA_DIR_ENV];
      else process.env[DATA_DIR_ENV] = before;
    }
  });

  it('when missing, returns (never throws) a message: places searched, files needed, where to get them', () => {
    const { root, cwd } = layout('missing');
    const partial = dir('missing', 'repo', 'data', 'external', 'nsl-kdd');
    touch(partial, 'KDDTrain+.txt.gz');
    const r = locateDataset('nsl-kdd', { env: {}, cwd, packageRoot: root });
    expect(r.found).toBe(false);
    expect(r.files).toEqual({});
    expect(r.dir).toBeUndefined();
    expect(r.searched.map((p) => [p.exists, p.missing])).toEqual([
      [false, ['train', 'test']],
      [true, ['test']],
      [false, ['train', 'test']],
    ]);
    const lines = r.message.split('\n');
    expect(lines[0]).toBe('NSL-KDD was not found. Searched, in this order:');
    expect(lines[1]).toBe(`  1. ${path.join(cwd, 'data', 'external', 'nsl-kdd')}   (data/external/nsl-kdd in the working folder: no such folder)`);
    expect(lines[2]).toBe(`  2. ${partial}   (data/external/nsl-kdd in the package: missing KDDTest+.txt)`);
    expect(lines[3]).toContain(path.join(tmp, 'missing', 'shared', 'datasets', 'nsl-kdd'));
    expect(r.message).toMatch(/KDDTrain\+\.txt or KDDTrain\+\.txt\.gz/);
    expect(r.message).toMatch(/KDDTest\+\.txt/);
    expect(r.message).toContain('https://www.unb.ca/cic/datasets/nsl.html');
    expect(r.message).toContain('University of New Brunswick');
    expect(r.message).toMatch(/data\/external\/ is git-ignored/);
    expect(r.message).toMatch(/NAL_DATA_DIR=/);
  });

  it('rejects an unknown dataset name', () => {
    expect(() => locateDataset('kdd99')).toThrow(/unknown dataset "kdd99"; known: nsl-kdd/);
    expect(() => locateDataset('constructor')).toThrow(/unknown dataset "constructor"/);
  });

  it('data/external/ is git-ignored', () => {
    const ignore = fs.readFileSync(path.join(PACKAGE_ROOT, '.gitignore'), 'utf8').split('\n');
    expect(ignore).toContain('data/external/');
  });
});
