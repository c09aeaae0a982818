/**
 * What a run read and which seeds it started from, recorded as it goes: the data loaders call
 * {@link recordDataFile}, the seeded entry points {@link recordSeed}. src/report/provenance.ts
 * turns the records into a report's provenance section.
 *
 * The records live in one registry per process (on `globalThis`), so two copies of the library
 * loaded under different paths still share them. Recording costs a map update, nothing is read.
 */
import * as path from 'node:path';

/** A seed a random choice started from. */
export interface ProvenanceSeed {
  /** What used it, e.g. `AnomalyEnsemble.fit`. */
  label: string;
  seed: number;
  /** How many times it was used with this label. */
  uses: number;
}

interface Registry {
  files: Map<string, Set<string>>;
  seeds: Map<string, ProvenanceSeed>;
}

const REGISTRY_KEY = Symbol.for('network-anomaly-lab.provenance');

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  g[REGISTRY_KEY] ??= { files: new Map(), seeds: new Map() };
  return g[REGISTRY_KEY]!;
}

/**
 * Notes that a data file was read (the library's loaders call this; call it for files read by
 * other means so they appear in a report's provenance).
 * @param file - the file's path (resolved against the working folder)
 * @param readBy - what read it @defaultValue "user"
 * @example
 * ```ts
 * const text = fs.readFileSync('flows.csv', 'utf8');
 * recordDataFile('flows.csv');
 * ```
 */
export function recordDataFile(file: string, readBy = 'user'): void {
  const abs = path.resolve(file);
  const r = registry();
  const set = r.files.get(abs) ?? new Set<string>();
  set.add(readBy);
  r.files.set(abs, set);
}

/**
 * Notes the seed a random choice started from (the library's seeded entry points call this).
 * @param label - what used it, e.g. `AnomalyEnsemble.fit`
 * @param seed - the seed
 */
export function recordSeed(label: string, seed: number): void {
  const r = registry();
  const key = `${label}\u0000${seed}`;
  const s = r.seeds.get(key);
  if (s) s.uses++;
  else r.seeds.set(key, { label, seed, uses: 1 });
}

/** The data files recorded so far, in the order first read, each with what read it. */
export function recordedDataFiles(): { path: string; readBy: string[] }[] {
  return [...registry().files.entries()].map(([file, readBy]) => ({ path: file, readBy: [...readBy].sort() }));
}

/** The seeds recorded so far, in the order first used. */
export function recordedSeeds(): ProvenanceSeed[] {
  return [...registry().seeds.values()].map((s) => ({ ...s }));
}

/** Forgets every recorded file and seed (a new run in the same process). */
export function resetProvenance(): void {
  const r = registry();
  r.files.clear();
  r.seeds.clear();
}
