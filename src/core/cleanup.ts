/**
 * What a run must undo if it is stopped: temporary files it is writing and locks it holds. Each
 * writer registers them while they exist; {@link runCleanups} removes them synchronously, so an
 * interrupt handler (or the process's `exit`) can call it at any moment. Files from runs killed
 * outright (SIGKILL, a power cut) are found later by {@link removeStaleTempFiles}.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const cleanups = new Map<number, () => void>();
let nextId = 0;

/**
 * Register a synchronous cleanup; returns the function that unregisters it (call it once the
 * thing is committed or removed normally).
 */
export function registerCleanup(fn: () => void): () => void {
  const id = nextId++;
  cleanups.set(id, fn);
  return () => {
    cleanups.delete(id);
  };
}

/** Register a temporary file to remove if the run stops before it is renamed into place. */
export function registerTempFile(file: string): () => void {
  return registerCleanup(() => fs.rmSync(file, { force: true }));
}

/** Run every registered cleanup now (best effort: one that fails does not stop the others). */
export function runCleanups(): void {
  for (const [id, fn] of [...cleanups]) {
    cleanups.delete(id);
    try {
      fn();
    } catch {
      // nothing more can be done while stopping
    }
  }
}

/** Name pattern of our temporary files: `.<name>.tmp-<pid>-<time>-<n>` (see tempPathFor). */
export const TEMP_FILE = /^\.(.+)\.tmp-(\d+)-[0-9a-z]+-\d+$/;

/** Whether a process with this id is running on this machine. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove temporary files left in `dir` by runs that were killed (their process is gone); with
 * `target`, only those of that file. Files of running processes are left alone.
 * @returns the names removed
 */
export function removeStaleTempFiles(dir: string, target?: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m || (target !== undefined && m[1] !== target)) continue;
    if (processAlive(Number(m[2]))) continue;
    try {
      const p = path.join(dir, name);
      if (fs.lstatSync(p).isFile()) {
        fs.rmSync(p, { force: true });
        removed.push(name);
      }
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}
