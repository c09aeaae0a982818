/**
 * Saving to disk without ever losing what was saved before.
 *
 * - {@link atomicWriteFile}: write to a temporary file in the same folder, fsync, rename over the
 *   target. A crash leaves either the old or the new file, never a mix.
 * - Model folders ({@link writeModelFolder} / {@link readModelFolder}): a versioned JSON manifest
 *   plus binary parts. Parts live in sub-folders named by a hash of their content, so a new save
 *   writes new parts beside the old ones and then commits by renaming `manifest.json` into place.
 *   Only after that are parts no longer referenced removed. Every part's SHA-256 is in the manifest
 *   and checked on load, so a truncated or corrupted file is refused by name.
 * - Loading reads JSON and raw numbers only: nothing in a model folder is ever executed.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError } from './errors';
import type { SnapshotArray } from './detector';

let tmpCounter = 0;

/** A temporary path beside `target` (same folder, so the rename stays on one filesystem). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.tmp-${process.pid}-${Date.now().toString(36)}-${tmpCounter++}`);
}

/** fsync a directory so a rename or a new file in it is durable (ignored where unsupported). */
export function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  }
}

/**
 * Write `data` to `target` atomically: temp file, fsync, rename. The temp file is removed if
 * anything fails, and an existing `target` is untouched until the rename.
 */
/**
 * Whether `target` exists and is neither a regular file nor a folder (a device such as /dev/null,
 * a named pipe, a socket): output to it is written in place, never to a temporary file renamed
 * over it (which would replace the device).
 */
export function isSpecialFile(target: string): boolean {
  try {
    const st = fs.statSync(target);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

export function atomicWriteFile(target: string, data: string | Uint8Array): void {
  if (isSpecialFile(target)) {
    // a device or pipe (/dev/null, /dev/stdout, a FIFO): renaming over it would replace it
    fs.writeFileSync(target, data);
    return;
  }
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
    fsyncDir(path.dirname(path.resolve(target)));
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** SHA-256 hex of bytes. */
export function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Name of the binary dtype of a typed array in a manifest. */
export type DType = 'float64' | 'float32' | 'int32' | 'uint8';

/** Bytes of a typed array in little-endian order. */
export function arrayToBytes(a: SnapshotArray): { dtype: DType; bytes: Uint8Array } {
  const dtype: DType =
    a instanceof Float64Array ? 'float64' : a instanceof Float32Array ? 'float32' : a instanceof Int32Array ? 'int32' : 'uint8';
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
  if (!LITTLE_ENDIAN && dtype !== 'uint8') swapBytes(bytes, a.BYTES_PER_ELEMENT);
  return { dtype, bytes };
}

/** Typed array from little-endian bytes. */
export function bytesToArray(bytes: Uint8Array, dtype: DType, where: string): SnapshotArray {
  const size = dtype === 'float64' ? 8 : dtype === 'float32' || dtype === 'int32' ? 4 : 1;
  if (bytes.length % size !== 0) throw new ModelFormatError(`has ${bytes.length} bytes, not a whole number of ${dtype} values.`, where);
  const copy = bytes.slice();
  if (!LITTLE_ENDIAN && size > 1) swapBytes(copy, size);
  switch (dtype) {
    case 'float64':
      return new Float64Array(copy.buffer, 0, copy.length / 8);
    case 'float32':
      return new Float32Array(copy.buffer, 0, copy.length / 4);
    case 'int32':
      return new Int32Array(copy.buffer, 0, copy.length / 4);
    case 'uint8':
      return copy;
    default:
      throw new ModelFormatError(`unknown dtype '${String(dtype)}'.`, where);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(b: Uint8Array, size: number): void {
  for (let i = 0; i < b.length; i += size) b.subarray(i, i + size).reverse();
}

/** A binary part of a model folder, as listed in its manifest. */
export interface PartEntry {
  /** Path relative to the model folder. */
  file: string;
  sha256: string;
  bytes: number;
  dtype?: DType;
}

/** Name of the manifest file in a model folder. */
export const MANIFEST_FILE = 'manifest.json';

/**
 * Write a model folder: every group of parts goes to `<group>.<hash>/<name>`, then the manifest
 * (which must reference the returned entries) is renamed into place, then unreferenced part
 * folders of earlier saves are removed.
 * @param groups - group name -> part name -> bytes
 * @param buildManifest - receives the part entries per group, returns the manifest object
 */
export function writeModelFolder(
  dir: string,
  groups: Record<string, Record<string, Uint8Array>>,
  buildManifest: (parts: Record<string, Record<string, PartEntry>>) => object,
): void {
  fs.mkdirSync(dir, { recursive: true });
  const entries: Record<string, Record<string, PartEntry>> = {};
  const written: string[] = [];
  for (const [group, parts] of Object.entries(groups)) {
    const h = crypto.createHash('sha256');
    const names = Object.keys(parts).sort();
    for (const n of names) h.update(n).update(sha256(parts[n]));
    const folder = `${group}.${h.digest('hex').slice(0, 16)}`;
    const abs = path.join(dir, folder);
    entries[group] = {};
    if (!fs.existsSync(path.join(abs, '.complete'))) {
      fs.mkdirSync(abs, { recursive: true });
      for (const n of names) atomicWriteFile(path.join(abs, n), parts[n]);
      atomicWriteFile(path.join(abs, '.complete'), '');
    }
    written.push(folder);
    for (const n of names) entries[group][n] = { file: `${folder}/${n}`, sha256: sha256(parts[n]), bytes: parts[n].length };
  }
  const manifest = buildManifest(entries);
  atomicWriteFile(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
  // the new manifest is committed: drop part folders that no manifest references any more
  const keep = new Set(written);
  for (const name of fs.readdirSync(dir)) {
    const abs = path.join(dir, name);
    if (keep.has(name)) continue;
    if (/^[A-Za-z][A-Za-z0-9_-]*\.[0-9a-f]{16}$/.test(name) && fs.statSync(abs).isDirectory()) {
      fs.rmSync(abs, { recursive: true, force: true });
    } else if (/^\..*\.tmp-\d+-/.test(name)) {
      fs.rmSync(abs, { recursive: true, force: true });
    }
  }
}

/** Read and parse `manifest.json` of a model folder. */
export function readManifest(dir: string): Record<string, unknown> {
  const file = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(dir)) throw new ModelFormatError('model folder not found.', dir);
  if (!fs.existsSync(file)) throw new ModelFormatError(`no ${MANIFEST_FILE}: not a saved model folder (or the save never finished).`, dir);
  const text = fs.readFileSync(file, 'utf8');
  try {
    const m = JSON.parse(text);
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('not an object');
    return m;
  } catch (e) {
    throw new ModelFormatError(`is corrupted or truncated (${(e as Error).message}).`, file);
  }
}

/** Read one part, checking its size and SHA-256. */
export function readPart(dir: string, entry: PartEntry): Uint8Array {
  if (typeof entry?.file !== 'string' || entry.file.includes('..') || path.isAbsolute(entry.file)) {
    throw new ModelFormatError(`manifest lists an invalid part path ${JSON.stringify(entry?.file)}.`, path.join(dir, MANIFEST_FILE));
  }
  const file = path.join(dir, entry.file);
  if (!fs.existsSync(file)) throw new ModelFormatError('is missing.', file);
  const bytes = new Uint8Array(fs.readFileSync(file));
  if (bytes.length !== entry.bytes) {
    throw new ModelFormatError(`has ${bytes.length} bytes, the manifest says ${entry.bytes}: the file is truncated or was replaced.`, file);
  }
  if (sha256(bytes) !== entry.sha256) throw new ModelFormatError('is corrupted (checksum mismatch).', file);
  return bytes;
}
