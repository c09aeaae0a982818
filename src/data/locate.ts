/**
 * Where public datasets that the project cannot ship are found on this machine.
 *
 * The repository does not include NSL-KDD (it is not ours to redistribute). {@link locateDataset}
 * looks for it, in order, in
 *
 * 1. `$NAL_DATA_DIR/nsl-kdd` (when `NAL_DATA_DIR` is set, only there);
 * 2. `<cwd>/data/external/nsl-kdd`;
 * 3. `<package root>/data/external/nsl-kdd` (`data/external/` is git-ignored);
 * 4. `<package root>/../shared/datasets/nsl-kdd` (where CI puts the data, beside the clone).
 *
 * It never throws for missing data: the result says whether the files were found and carries a
 * message for people (which folders were searched, which files are needed, where to get them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Environment variable naming a folder that holds one sub-folder per dataset (`nsl-kdd/`). */
export const DATA_DIR_ENV = 'NAL_DATA_DIR';

/** One file a dataset needs: a role and the accepted file names, preferred first. */
export interface DatasetFile {
  /** What the file is for, e.g. `"train"`. */
  role: string;
  /** Accepted names, the first one found wins. */
  names: readonly string[];
  /** A short description for messages. */
  description: string;
}

/** What {@link locateDataset} knows about a dataset. */
export interface DatasetSource {
  /** The folder name under each search root, e.g. `"nsl-kdd"`. */
  name: string;
  /** The dataset's name in messages. */
  title: string;
  /** The files that must all be in one folder. */
  files: readonly DatasetFile[];
  /** Where to get the files (lines of text, no trailing newline). */
  howToGet: readonly string[];
}

/** Datasets {@link locateDataset} can look for. */
export const DATASET_SOURCES: Readonly<Record<string, DatasetSource>> = {
  'nsl-kdd': {
    name: 'nsl-kdd',
    title: 'NSL-KDD',
    files: [
      { role: 'train', names: ['KDDTrain+.txt', 'KDDTrain+.txt.gz'], description: 'training traffic, 125,973 connections (19 MB; gzipped is fine)' },
      { role: 'test', names: ['KDDTest+.txt', 'KDDTest+.txt.gz'], description: 'test traffic, 22,544 connections (3.4 MB)' },
    ],
    howToGet: [
      'Get NSL-KDD from the Canadian Institute for Cybersecurity, University of New Brunswick:',
      '  https://www.unb.ca/cic/datasets/nsl.html',
      '(Tavallaee et al., "A Detailed Analysis of the KDD CUP 99 Data Set", IEEE CISDA 2009; cite it when you use',
      'the data). Unpack the archive and copy KDDTrain+.txt and KDDTest+.txt as they are: no header, 43 fields a row.',
    ],
  },
};

/** Where one search place stands. */
export interface SearchedPlace {
  /** The folder searched. */
  dir: string;
  /** Why it is on the list, e.g. `"$NAL_DATA_DIR/nsl-kdd"`. */
  origin: string;
  /** Whether the folder exists. */
  exists: boolean;
  /** Needed files found there: role -> path. */
  found: Record<string, string>;
  /** Roles whose file is not there. */
  missing: string[];
}

/** What {@link locateDataset} returns. */
export interface DatasetLocation {
  /** The dataset looked for, e.g. `"nsl-kdd"`. */
  dataset: string;
  /** Whether a folder with every needed file was found. */
  found: boolean;
  /** That folder (when found). */
  dir?: string;
  /** The files in it by role, e.g. `{ train: ".../KDDTrain+.txt.gz", test: ".../KDDTest+.txt" }` (empty when not found). */
  files: Record<string, string>;
  /** Every place searched, in order. */
  searched: SearchedPlace[];
  /** Whether the search was limited to `$NAL_DATA_DIR`. */
  fromEnv: boolean;
  /**
   * For people: when found, one line naming the folder and files; when not, several lines saying
   * which folders were searched, which files are needed and where to get them.
   */
  message: string;
}

/** Options of {@link locateDataset}. */
export interface LocateOptions {
  /** Environment to read `NAL_DATA_DIR` from. @defaultValue `process.env` */
  env?: Readonly<Record<string, string | undefined>>;
  /** Working folder for `data/external/` and a relative `NAL_DATA_DIR`. @defaultValue `process.cwd()` */
  cwd?: string;
  /** The package's root folder. @defaultValue the folder of this package's package.json */
  packageRoot?: string;
}

/** This package's root: the folder above `dist/` (or `src/` when run from source). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

const isFile = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;
const isDir = (p: string) => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;

/**
 * The folders {@link locateDataset} searches for a dataset, in order (duplicates removed).
 * @param name - the dataset's folder name, e.g. `"nsl-kdd"`
 */
export function datasetSearchPath(name: string, opts: LocateOptions = {}): { dir: string; origin: string }[] {
  const env = opts.env ?? process.env;
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const root = path.resolve(opts.packageRoot ?? PACKAGE_ROOT);
  const fromEnv = env[DATA_DIR_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return [{ dir: path.resolve(cwd, fromEnv, name), origin: `$${DATA_DIR_ENV}/${name}` }];
  }
  const places = [
    { dir: path.join(cwd, 'data', 'external', name), origin: `data/external/${name} in the working folder` },
    { dir: path.join(root, 'data', 'external', name), origin: `data/external/${name} in the package` },
    { dir: path.resolve(root, '..', 'shared', 'datasets', name), origin: `../shared/datasets/${name} beside the package` },
  ];
  return places.filter((p, i) => places.findIndex((q) => q.dir === p.dir) === i);
}

/**
 * Find a dataset the project cannot ship (see the module notes for the search order). Never
 * throws for missing data.
 * @param name - `"nsl-kdd"`
 * @returns where the files are, or (`found: false`) a message saying what was searched, which
 *   files are needed and where to get them
 * @throws RangeError for a dataset name it does not know
 * @example
 * ```ts
 * const nsl = locateDataset('nsl-kdd');
 * if (!nsl.found) console.log(nsl.message);
 * else {
 *   const train = loadTraffic(nsl.files.train, { schema: NSL_KDD_SCHEMA });
 *   const test = loadTraffic(nsl.files.test, { schema: NSL_KDD_SCHEMA, encoder: train.encoder });
 * }
 * ```
 */
export function locateDataset(name: string, opts: LocateOptions = {}): DatasetLocation {
  const source = Object.hasOwn(DATASET_SOURCES, name) ? DATASET_SOURCES[name] : undefined;
  if (!source) throw new RangeError(`locateDataset: unknown dataset ${JSON.stringify(name)}; known: ${Object.keys(DATASET_SOURCES).join(', ')}.`);
  const env = opts.env ?? process.env;
  const fromEnv = (env[DATA_DIR_ENV] ?? '').trim() !== '';
  const searched: SearchedPlace[] = datasetSearchPath(name, opts).map(({ dir, origin }) => {
    const exists = isDir(dir);
    const found: Record<string, string> = {};
    const missing: string[] = [];
    for (const f of source.files) {
      const hit = exists ? f.names.map((n) => path.join(dir, n)).find(isFile) : undefined;
      if (hit) found[f.role] = hit;
      else missing.push(f.role);
    }
    return { dir, origin, exists, found, missing };
  });
  const hit = searched.find((p) => p.exists && p.missing.length === 0);
  if (hit) {
    const names = source.files.map((f) => path.basename(hit.found[f.role])).join(', ');
    return { dataset: name, found: true, dir: hit.dir, files: { ...hit.found }, searched, fromEnv, message: `${source.title} found in ${hit.dir} (${names}).` };
  }
  return { dataset: name, found: false, files: {}, searched, fromEnv, message: missingMessage(source, searched, fromEnv) };
}

function missingMessage(source: DatasetSource, searched: readonly SearchedPlace[], fromEnv: boolean): string {
  const fileName = (role: string) => source.files.find((f) => f.role === role)!.names[0];
  const L: string[] = [];
  L.push(`${source.title} was not found. Searched${searched.length > 1 ? ', in this order' : ''}:`);
  searched.forEach((p, i) => {
    const state = !p.exists ? 'no such folder' : `missing ${p.missing.map(fileName).join(' and ')}`;
    L.push(`  ${i + 1}. ${p.dir}   (${p.origin}: ${state})`);
  });
  if (fromEnv) L.push(`  ${DATA_DIR_ENV} is set, so no other place was searched; unset it to search the defaults.`);
  L.push('', `Needed, all in one folder:`);
  const width = Math.max(...source.files.map((f) => f.names.join(' or ').length));
  for (const f of source.files) L.push(`  ${f.names.join(' or ').padEnd(width)}   ${f.description}`);
  L.push('', ...source.howToGet, '');
  L.push(`Then put the files in data/external/${source.name}/ of this project (data/external/ is git-ignored: the`);
  L.push(`data is never committed), or anywhere else with ${DATA_DIR_ENV}=/path/to/datasets and the files in`);
  L.push(`/path/to/datasets/${source.name}/.`);
  return L.join('\n');
}
