import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/core/errors';
import { arrayToBytes, atomicWriteFile, bytesToArray, readManifest, readPart, writeModelFolder } from '../../src/core/persistence';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'nal-persist-'));

describe('atomic writes and model folders', () => {
  it('atomicWriteFile replaces a file and leaves no temporary files', () => {
    const dir = tmp();
    const f = path.join(dir, 'a.txt');
    atomicWriteFile(f, 'one');
    atomicWriteFile(f, 'two');
    expect(fs.readFileSync(f, 'utf8')).toBe('two');
    expect(fs.readdirSync(dir)).toEqual(['a.txt']);
  });

  it('typed arrays round-trip through bytes exactly', () => {
    const a = Float64Array.from([Math.PI, -0, 1e-300, Number.MAX_VALUE]);
    const { dtype, bytes } = arrayToBytes(a);
    expect(Array.from(bytesToArray(bytes, dtype, 'x') as Float64Array)).toEqual(Array.from(a));
    expect(() => bytesToArray(bytes.subarray(0, 7), 'float64', 'x.bin')).toThrow(ModelFormatError);
  });

  it('writes parts by content hash, commits with the manifest, drops old parts', () => {
    const dir = tmp();
    let entries: any;
    writeModelFolder(dir, { det: { 'w.bin': new Uint8Array([1, 2, 3]) } }, (e) => (entries = e) && { v: 1, e });
    const first = entries.det['w.bin'].file;
    expect(readPart(dir, entries.det['w.bin'])).toEqual(new Uint8Array([1, 2, 3]));
    writeModelFolder(dir, { det: { 'w.bin': new Uint8Array([4, 5]) } }, (e) => (entries = e) && { v: 2, e });
    expect(entries.det['w.bin'].file).not.toBe(first);
    expect(fs.existsSync(path.join(dir, first))).toBe(false);
    expect(readManifest(dir).v).toBe(2);
  });

  it('refuses truncated, corrupted, missing and escaping parts by name', () => {
    const dir = tmp();
    let entries: any;
    writeModelFolder(dir, { det: { 'w.bin': new Uint8Array([1, 2, 3, 4]) } }, (e) => (entries = e) && {});
    const e = entries.det['w.bin'];
    const file = path.join(dir, e.file);
    fs.writeFileSync(file, new Uint8Array([1, 2]));
    expect(() => readPart(dir, e)).toThrow(/w.bin: has 2 bytes, the manifest says 4/);
    fs.writeFileSync(file, new Uint8Array([9, 9, 9, 9]));
    expect(() => readPart(dir, e)).toThrow(/checksum mismatch/);
    fs.rmSync(file);
    expect(() => readPart(dir, e)).toThrow(/w.bin: is missing/);
    expect(() => readPart(dir, { ...e, file: '../../etc/passwd' })).toThrow(/invalid part path/);
  });

  it('refuses a missing folder, a folder without manifest and a corrupted manifest', () => {
    const dir = tmp();
    expect(() => readManifest(path.join(dir, 'nope'))).toThrow(/model folder not found/);
    expect(() => readManifest(dir)).toThrow(/no manifest.json/);
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"format": "netw');
    expect(() => readManifest(dir)).toThrow(/manifest.json: is corrupted or truncated/);
  });
});
