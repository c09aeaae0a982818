/**
 * Saving to disk without ever losing what was saved before.
 *
 * - {@link atomicWriteFile}: write to a temporary file in the same folder, fsync, rename over the
 *   target. A crash leaves either the old or the new file, never a mix.
 * - Model folders ({@link writeModelFolder} / {@link readManifest} / {@link readPart}): a versioned
 *   JSON manifest plus binary parts. Parts live in sub-folders named by a hash of their content,
 *   so a new save writes new parts beside the old ones and then commits by renaming
 *   `manifest.json` into place. Only after that are parts no longer referenced removed. Every
 *   part's SHA-256 is in the manifest and checked on load, so a truncated or corrupted file is
 *   refused by name.
 * - One writer at a time: a save holds the folder's lock file (`.lock`, {@link lockModelFolder}),
 *   so two saves cannot delete each other's parts; a second writer is refused with "model folder
 *   in use by PID N". A lock left by a killed process is recognised as stale and taken over.
 * - A folder is written only when it is new, empty or one of ours: a folder holding anything else
 *   is refused ({@link checkModelFolderWritable}), so a mistyped `--model` never deletes files.
 * - Loading reads JSON and raw numbers only (nothing in a model folder is ever executed), and only
 *   regular files inside the folder: a symlink, a FIFO or a device in place of a part is refused,
 *   and sizes are checked against the manifest before anything is allocated.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { FolderInUseError, ModelFormatError, PathError } from './errors';
import type { SnapshotArray } from './detector';
import { processAlive, registerCleanup, registerTempFile, removeStaleTempFiles, TEMP_FILE } from './cleanup';

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

/**
 * Write `data` to `target` atomically: temp file, fsync, rename. The temp file is removed if
 * anything fails (or the run is interrupted: it is registered for cleanup while it exists), and an
 * existing `target` is untouched until the rename. Temp files of killed earlier runs beside the
 * target are removed first. A device or pipe (`/dev/null`, a FIFO) is written in place.
 * @throws PathError when `target` is a directory; the write's own error otherwise (ENOSPC, ...)
 */
export function atomicWriteFile(target: string, data: string | Uint8Array): void {
  if (isSpecialFile(target)) {
    // a device or pipe (/dev/null, /dev/stdout, a FIFO): renaming over it would replace it
    fs.writeFileSync(target, data);
    return;
  }
  checkNotDirectory(target);
  removeStaleTempFiles(path.dirname(path.resolve(target)), path.basename(target));
  const tmp = tempPathFor(target);
  const unregister = registerTempFile(tmp);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    const closing = fd;
    fd = undefined;
    fs.closeSync(closing);
    fs.renameSync(tmp, target);
    fsyncDir(path.dirname(path.resolve(target)));
  } catch (e) {
    // the first error is the one reported; cleaning up must not replace it
    if (fd !== undefined) closeQuietly(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    unregister();
  }
}

/**
 * Write text produced piece by piece to `target` atomically (a temporary file beside it, fsync,
 * rename), in memory bounded by one piece: for outputs too large to build as one string. An error
 * or an abort of `signal` (checked between pieces) removes the temporary file and leaves any
 * earlier `target` untouched; the first error is the one thrown.
 * @returns bytes written
 */
export async function atomicWriteStream(
  target: string,
  pieces: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  opts: { signal?: AbortSignal } = {},
): Promise<number> {
  if (isSpecialFile(target)) {
    // a device or pipe (/dev/null, a FIFO): written in place, renaming over it would replace it
    const fh = await fs.promises.open(target, 'w');
    try {
      return await writePieces(fh, pieces, opts.signal);
    } finally {
      await fh.close().catch(() => undefined);
    }
  }
  checkNotDirectory(target);
  const dir = path.dirname(path.resolve(target));
  fs.mkdirSync(dir, { recursive: true });
  removeStaleTempFiles(dir, path.basename(target));
  const tmp = tempPathFor(target);
  const unregister = registerTempFile(tmp);
  let fh: fs.promises.FileHandle | undefined;
  let committed = false;
  try {
    fh = await fs.promises.open(tmp, 'wx', 0o644);
    const bytes = await writePieces(fh, pieces, opts.signal);
    opts.signal?.throwIfAborted();
    await fh.sync();
    const closing = fh;
    fh = undefined;
    await closing.close();
    fs.renameSync(tmp, target);
    committed = true;
    fsyncDir(dir);
    return bytes;
  } finally {
    if (fh) await fh.close().catch(() => undefined);
    if (!committed) fs.rmSync(tmp, { force: true });
    unregister();
  }
}

/** Write every piece to `fh` in order (short writes continued); `signal` is checked before each. */
async function writePieces(
  fh: fs.promises.FileHandle,
  pieces: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<number> {
  let bytes = 0;
  for await (const p of pieces as AsyncIterable<string | Uint8Array>) {
    signal?.throwIfAborted();
    const buf = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    let off = 0;
    while (off < buf.length) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
    bytes += buf.length;
  }
  return bytes;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed or unusable: the error being reported matters more
  }
}

/** Refuse an output path that is an existing directory. */
function checkNotDirectory(target: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    return;
  }
  if (st.isDirectory()) throw new PathError('is a directory; give a file name for the output.', target);
}

/** Device and inode of a file (following links), or undefined when it does not exist. */
export function fileIdentity(file: string): { dev: number; ino: number } | undefined {
  try {
    const st = fs.statSync(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/**
 * Check that an output file may be written: it is not a directory, and it is none of the run's
 * inputs, compared by device and inode so that the same file by another name, a hard link or a
 * symlink is caught too; an input folder (`folder: true`, a model) must not contain the output.
 * @param inputs - what the run reads: `{ file, what, folder? }` (`what` names it in the message, e.g. `--data`)
 * @throws PathError naming the output and the input it would replace
 */
export function checkOutputPath(out: string, inputs: readonly { file: string; what: string; folder?: boolean }[]): void {
  checkNotDirectory(out);
  const id = fileIdentity(out);
  const outAbs = realParent(out);
  for (const input of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input.file);
    } catch {
      continue;
    }
    if (st.isDirectory()) {
      if (!input.folder) continue; // a data "file" that is a folder is refused by its reader
      const inAbs = fs.realpathSync(input.file);
      if (outAbs === inAbs || outAbs.startsWith(inAbs + path.sep)) {
        throw new PathError(`is inside ${input.what} ${input.file}; write the output somewhere else.`, out);
      }
      continue;
    }
    if (id && id.dev === st.dev && id.ino === st.ino) {
      throw new PathError(`is the same file as ${input.what} ${input.file}; writing it would destroy the input. Give another output file.`, out);
    }
  }
}

/** The real path of a file's folder joined with its name (the file itself may not exist yet). */
function realParent(file: string): string {
  const abs = path.resolve(file);
  try {
    return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
  } catch {
    return abs;
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

/** Name of the lock file of a model folder. */
export const LOCK_FILE = '.lock';

/** Sub-folder of one group of parts: `<group>.<16 hex digits of their hash>`. */
const PART_FOLDER = /^[A-Za-z][A-Za-z0-9_-]*\.[0-9a-f]{16}$/;
/** A part as listed in a manifest: `<part folder>/<file name>`. */
const PART_PATH = /^[A-Za-z][A-Za-z0-9_-]*\.[0-9a-f]{16}\/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Largest manifest read (real ones are a few KB to a few MB: categories, thresholds, options). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
/** Largest part read (the biggest real part, LOF's training rows, is rows x features x 8 bytes). */
export const MAX_PART_BYTES = 2 ** 31 - 1;

/** Options of {@link writeModelFolder}. */
export interface WriteModelFolderOptions {
  /**
   * The `format` a manifest already in the folder must have for the folder to be replaced (a
   * manifest of another format means the folder is someone else's and is refused).
   */
  format?: string;
}

/** Names a model folder of ours may hold besides its part folders. */
const OWN_FILES = new Set([MANIFEST_FILE, LOCK_FILE, 'feedback.jsonl']);

/**
 * Check that `dir` may be written as a model folder: it does not exist, is empty, or holds only
 * what a model folder of ours holds (a manifest of our format, part folders, the feedback log,
 * the lock, temporary files). A mistyped `--model` pointing at a folder of other files is refused
 * before anything in it is touched.
 * @throws PathError naming the folder and what else it holds
 */
export function checkModelFolderWritable(dir: string, opts: WriteModelFolderOptions = {}): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return; // created by the save
  }
  if (!st.isDirectory()) throw new PathError('is a file, not a folder; a model is saved as a folder.', dir);
  const foreign: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const abs = path.join(dir, name);
    const lst = fs.lstatSync(abs);
    if (PART_FOLDER.test(name) && lst.isDirectory() && isPartFolder(abs)) continue;
    if (OWN_FILES.has(name) && lst.isFile()) continue;
    if ((TEMP_FILE.test(name) || name.startsWith(`${LOCK_FILE}.`)) && lst.isFile()) continue;
    foreign.push(lst.isDirectory() ? `${name}/` : name);
  }
  if (foreign.length) {
    const list = foreign.slice(0, 4).join(', ') + (foreign.length > 4 ? `, ... (${foreign.length} entries)` : '');
    throw new PathError(`is not empty and is not a model folder (it holds ${list}); save the model into a new or empty folder.`, dir);
  }
  if (opts.format !== undefined && fs.existsSync(path.join(dir, MANIFEST_FILE))) {
    let format: unknown;
    try {
      format = (JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as { format?: unknown })?.format;
    } catch {
      return; // a corrupted manifest of a folder that holds nothing else: replaced by the save
    }
    if (format !== opts.format) {
      throw new PathError(
        `holds a manifest.json that is not a ${opts.format} model (format ${JSON.stringify(format ?? null)}); save the model into a new or empty folder.`,
        dir,
      );
    }
  }
}

/** Whether a `<group>.<hash>` folder holds only what a save writes there (parts, `.complete`, temp files). */
function isPartFolder(dir: string): boolean {
  for (const name of fs.readdirSync(dir)) {
    if (!(name === '.complete' || TEMP_FILE.test(name) || /^[A-Za-z0-9_][A-Za-z0-9_-]*\.(bin|json)$/.test(name))) return false;
    if (!fs.lstatSync(path.join(dir, name)).isFile()) return false;
  }
  return true;
}

/**
 * Write a model folder: every group of parts goes to `<group>.<hash>/<name>`, then the manifest
 * (which must reference the returned entries) is renamed into place, then unreferenced part
 * folders of earlier saves are removed. The whole save holds the folder's lock. A part folder
 * already there (an earlier save of the same parts) is reused only when its files still match.
 * @param groups - group name -> part name -> bytes
 * @param buildManifest - receives the part entries per group, returns the manifest object
 * @throws PathError for a folder that holds other things, FolderInUseError while another process
 *   writes it; the write's own error (ENOSPC, ...) after which the earlier model is intact
 */
export function writeModelFolder(
  dir: string,
  groups: Record<string, Record<string, Uint8Array>>,
  buildManifest: (parts: Record<string, Record<string, PartEntry>>) => object,
  opts: WriteModelFolderOptions = {},
): void {
  checkModelFolderWritable(dir, opts);
  fs.mkdirSync(dir, { recursive: true });
  const lock = lockModelFolder(dir);
  try {
    checkModelFolderWritable(dir, opts); // again, now that no one else writes it
    const entries: Record<string, Record<string, PartEntry>> = {};
    const written: string[] = [];
    const created: string[] = []; // part folders this save made: removed again if it fails
    try {
      for (const [group, parts] of Object.entries(groups)) {
        const h = crypto.createHash('sha256');
        const names = Object.keys(parts).sort();
        const sums = new Map(names.map((n) => [n, sha256(parts[n])] as const));
        for (const n of names) h.update(n).update(sums.get(n)!);
        const folder = `${group}.${h.digest('hex').slice(0, 16)}`;
        const abs = path.join(dir, folder);
        entries[group] = {};
        if (!fs.existsSync(abs)) created.push(abs);
        fs.mkdirSync(abs, { recursive: true });
        removeStaleTempFiles(abs);
        const complete = fs.existsSync(path.join(abs, '.complete'));
        for (const n of names) {
          if (!(complete && partMatches(path.join(abs, n), parts[n].length, sums.get(n)!))) atomicWriteFile(path.join(abs, n), parts[n]);
        }
        if (!complete) atomicWriteFile(path.join(abs, '.complete'), '');
        written.push(folder);
        for (const n of names) entries[group][n] = { file: `${folder}/${n}`, sha256: sums.get(n)!, bytes: parts[n].length };
      }
      const manifest = buildManifest(entries);
      atomicWriteFile(path.join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    } catch (e) {
      // not committed (a full disk, a bad manifest): the folder goes back to what it was
      for (const abs of created) fs.rmSync(abs, { recursive: true, force: true });
      throw e;
    }
    // the new manifest is committed: drop part folders that no manifest references any more (we
    // hold the lock, so no other save is writing parts), and temp files of killed runs
    const keep = new Set(written);
    for (const name of fs.readdirSync(dir)) {
      if (keep.has(name) || !PART_FOLDER.test(name)) continue;
      const abs = path.join(dir, name);
      if (fs.lstatSync(abs).isDirectory()) fs.rmSync(abs, { recursive: true, force: true });
    }
    removeStaleTempFiles(dir);
  } finally {
    lock.release();
  }
}

/** Whether a file on disk has this size and SHA-256 (a regular file, not followed through a link). */
function partMatches(file: string, bytes: number, sum: string): boolean {
  try {
    const st = fs.lstatSync(file);
    return st.isFile() && st.size === bytes && sha256(fs.readFileSync(file)) === sum;
  } catch {
    return false;
  }
}

// -------------------------------------------------------------------------------------------------
// the lock of a model folder
// -------------------------------------------------------------------------------------------------

/** A held lock; `release` is idempotent. */
export interface FolderLock {
  readonly dir: string;
  release(): void;
}

interface LockInfo {
  pid: number;
  host: string;
  /** The holder's start time as the kernel counts it (Linux), so a reused PID is not mistaken for the holder. */
  start?: string;
  since: string;
  command?: string;
}

/** Locks this process holds, by lock path, with a count (a train holds its folder and then saves into it). */
const held = new Map<string, { count: number; text: string; unregister: () => void }>();

/** This process's start time token (field 22 of /proc/self/stat), when the system has one. */
function startToken(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the lock's holder is a running process (the same one that wrote it). */
function holderAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true; // another machine's process: we cannot tell, so wait
  if (!processAlive(info.pid)) return false;
  const now = startToken(info.pid);
  return info.start === undefined || now === undefined || now === info.start;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Lock a model folder for writing: `DIR/.lock` is created exclusively and holds this process's id,
 * host and start time. The lock is re-entrant within a process. A lock whose holder is no longer
 * running (killed) is taken over. The lock is released by `release()`, and also if the process is
 * interrupted (it is registered for cleanup).
 * @throws FolderInUseError when another running process holds it
 * @example
 * ```ts
 * const lock = lockModelFolder('models/demo');
 * try { ... } finally { lock.release(); }
 * ```
 */
export function lockModelFolder(dir: string): FolderLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(fs.realpathSync(dir), LOCK_FILE);
  const mine = held.get(file);
  if (mine) {
    mine.count++;
    return releaser(dir, file);
  }
  const info: LockInfo = {
    pid: process.pid,
    host: os.hostname(),
    start: startToken(process.pid),
    since: new Date().toISOString(),
    command: commandWords() || undefined,
  };
  const text = JSON.stringify(info) + '\n';
  for (let attempt = 0; attempt < 50; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (takeOverIfStale(dir, file)) continue;
      sleepSync(20);
      continue;
    }
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    held.set(file, { count: 1, text, unregister: registerCleanup(() => removeLockIfMine(file, text)) });
    return releaser(dir, file);
  }
  throw new FolderInUseError(dir, readLock(file)?.pid ?? 0, ' (its lock could not be taken)');
}

/** What holds the lock, for its message: `nal train` for the CLI, else the script's name. */
function commandWords(): string {
  const script = path.basename(process.argv[1] ?? 'node');
  if (!['main.js', 'nal', 'nal.js'].includes(script)) return script;
  const words: string[] = [];
  for (const a of process.argv.slice(2, 4)) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  return ['nal', ...words].join(' ');
}

function releaser(dir: string, file: string): FolderLock {
  let done = false;
  return {
    dir,
    release() {
      if (done) return;
      done = true;
      const h = held.get(file);
      if (!h) return;
      if (--h.count > 0) return;
      held.delete(file);
      h.unregister();
      removeLockIfMine(file, h.text);
    },
  };
}

function removeLockIfMine(file: string, text: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === text) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
    return Number.isInteger(o?.pid) && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Called when the lock exists: throw FolderInUseError when its holder runs; remove it when the
 * holder is gone (a killed run) and return true. A lock that cannot be read (its writer was killed
 * between creating and writing it, or is writing it now) is stale once it is a few seconds old.
 */
function takeOverIfStale(dir: string, file: string): boolean {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return true; // released meanwhile: try again
  }
  const info = readLock(file);
  if (info) {
    if (holderAlive(info)) {
      const since = new Date(info.since);
      const at = Number.isNaN(since.getTime()) ? '' : ` since ${since.toISOString().slice(11, 19)} UTC`;
      const other = info.host !== os.hostname() ? ` on ${info.host}; if nothing runs there any more, remove ${file}` : '';
      throw new FolderInUseError(dir, info.pid, `${info.command ? ` (${info.command}${at})` : at}${other}`);
    }
  } else if (Date.now() - mtimeMs < 5000) {
    return false; // being written: wait
  }
  // stale: move it aside (one rename, so of two processes taking over only one succeeds), check
  // that what was moved is the lock judged stale, and remove it
  const aside = `${file}.stale-${process.pid}-${Date.now().toString(36)}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return true; // someone else took it over first
  }
  let moved = '';
  try {
    moved = fs.readFileSync(aside, 'utf8');
  } catch {
    // ignore
  }
  if (moved !== text) {
    // a fresh lock was created between our read and the rename: put it back
    try {
      fs.linkSync(aside, file);
    } catch {
      // a third process locked meanwhile; the fresh lock's holder will find its lock gone on release
    }
  }
  fs.rmSync(aside, { force: true });
  return true;
}

/** Read and parse `manifest.json` of a model folder (a regular file, at most {@link MAX_MANIFEST_BYTES}). */
export function readManifest(dir: string): Record<string, unknown> {
  const file = path.join(dir, MANIFEST_FILE);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new ModelFormatError('model folder not found.', dir);
  }
  if (!st.isDirectory()) throw new ModelFormatError('is not a folder: a saved model is a folder with a manifest.json.', dir);
  if (!fs.existsSync(file) && !isSymlink(file)) throw new ModelFormatError(`no ${MANIFEST_FILE}: not a saved model folder (or the save never finished).`, dir);
  const text = Buffer.from(readRegularFile(file, undefined, MAX_MANIFEST_BYTES)).toString('utf8');
  try {
    const m = JSON.parse(text);
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Error('not an object');
    return m;
  } catch (e) {
    throw new ModelFormatError(`is corrupted or truncated (${(e as Error).message}).`, file);
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Read a file that must be a regular file (not a symlink, FIFO, device or folder), of `bytes`
 * bytes when given (checked before reading) and never more than `max`.
 */
function readRegularFile(file: string, bytes: number | undefined, max: number): Uint8Array {
  let lst: fs.Stats;
  try {
    lst = fs.lstatSync(file);
  } catch {
    throw new ModelFormatError('is missing.', file);
  }
  if (lst.isSymbolicLink()) throw new ModelFormatError('is a symbolic link; model files must be regular files inside the model folder.', file);
  if (!lst.isFile()) throw new ModelFormatError(`is not a regular file (${fileKind(lst)}); model files must be regular files.`, file);
  // O_NOFOLLOW and O_NONBLOCK: a file swapped for a link or a FIFO after the check is refused, not followed or waited on
  const flags = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);
  let fd: number;
  try {
    fd = fs.openSync(file, flags);
  } catch (e) {
    throw new ModelFormatError(`cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, file);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new ModelFormatError(`is not a regular file (${fileKind(st)}).`, file);
    if (bytes !== undefined && st.size !== bytes) {
      throw new ModelFormatError(`has ${st.size} bytes, the manifest says ${bytes}: the file is truncated or was replaced.`, file);
    }
    if (st.size > max) throw new ModelFormatError(`has ${st.size} bytes, more than the ${max} a model file may have.`, file);
    const out = new Uint8Array(st.size);
    let off = 0;
    while (off < out.length) {
      const n = fs.readSync(fd, out, off, out.length - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== out.length) throw new ModelFormatError(`has ${off} bytes, the manifest says ${out.length}: the file is truncated or was replaced.`, file);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

function fileKind(st: fs.Stats): string {
  return st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a file';
}

/**
 * Check a part entry of a manifest: a path `<group>.<hash>/<name>` inside the folder, a size in
 * [0, {@link MAX_PART_BYTES}], a SHA-256 of 64 hex digits, a known dtype.
 * @throws ModelFormatError naming the manifest
 */
export function checkPartEntry(dir: string, entry: unknown): PartEntry {
  const where = path.join(dir, MANIFEST_FILE);
  const e = entry as Partial<PartEntry> | undefined;
  if (typeof e?.file !== 'string' || !PART_PATH.test(e.file)) {
    throw new ModelFormatError(`manifest lists an invalid part path ${JSON.stringify(e?.file)}.`, where);
  }
  if (typeof e.bytes !== 'number' || !Number.isInteger(e.bytes) || e.bytes < 0 || e.bytes > MAX_PART_BYTES) {
    throw new ModelFormatError(`lists part ${e.file} with an invalid size ${JSON.stringify(e.bytes)}.`, where);
  }
  if (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) {
    throw new ModelFormatError(`lists part ${e.file} with an invalid sha256 ${JSON.stringify(e.sha256)}.`, where);
  }
  if (e.dtype !== undefined && !(['float64', 'float32', 'int32', 'uint8'] as unknown[]).includes(e.dtype)) {
    throw new ModelFormatError(`lists part ${e.file} with an unknown dtype ${JSON.stringify(e.dtype)}.`, where);
  }
  return e as PartEntry;
}

/** Read one part, checking its path, that it is a regular file, its size and its SHA-256. */
export function readPart(dir: string, entry: PartEntry): Uint8Array {
  const e = checkPartEntry(dir, entry);
  const file = path.join(dir, e.file);
  const folder = path.dirname(file);
  if (isSymlink(folder)) throw new ModelFormatError('is a symbolic link; model files must be regular files inside the model folder.', folder);
  const bytes = readRegularFile(file, e.bytes, MAX_PART_BYTES);
  if (sha256(bytes) !== e.sha256) throw new ModelFormatError('is corrupted (checksum mismatch).', file);
  return bytes;
}
