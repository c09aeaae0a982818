#!/usr/bin/env node
/**
 * Lets the notebooks in this repository write `import * as nal from 'network-anomaly-lab'`.
 *
 * At run time that import already works: package.json has an `exports` map, so Node resolves the
 * package's own name from inside it (a self-reference) to dist/index.js. The types are the
 * problem: tslab compiles each cell with its bundled TypeScript 5.0 and `moduleResolution: node10`,
 * which knows neither `exports` nor self-references, and looks only in node_modules. So this
 * script writes node_modules/@types/network-anomaly-lab/, whose index.d.ts re-exports
 * dist/index.d.ts; TypeScript finds it as the package's types. A project that installs the
 * package needs none of this: its node_modules/network-anomaly-lab has the types.
 *
 * Run by `npm install` (prepare) and `npm run build`; idempotent. `--check` only reports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NAME = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).name;
export const TYPES_DIR = path.join(ROOT, 'node_modules', '@types', NAME);

const files = {
  'package.json': JSON.stringify(
    { name: `@types/${NAME}`, version: '0.0.0-local', private: true, description: `types of this checkout's own ${NAME} for its notebooks (written by scripts/self-types.mjs)`, types: 'index.d.ts' },
    null,
    2,
  ) + '\n',
  'index.d.ts': `// The types of this checkout's ${NAME}, for tslab notebooks in it (scripts/self-types.mjs).\nexport * from '../../../dist/index';\n`,
};

/** Whether the types stub is in place and current. */
export function selfTypesOk() {
  return Object.entries(files).every(([f, text]) => {
    try {
      return fs.readFileSync(path.join(TYPES_DIR, f), 'utf8') === text;
    } catch {
      return false;
    }
  });
}

/** Writes the types stub (no-op when current). @returns whether anything was written */
export function writeSelfTypes() {
  if (selfTypesOk()) return false;
  if (!fs.existsSync(path.join(ROOT, 'node_modules'))) throw new Error('node_modules is missing: run `npm install` first.');
  fs.mkdirSync(TYPES_DIR, { recursive: true });
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(TYPES_DIR, f), text);
  return true;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const ok = selfTypesOk();
    console.log(ok ? `${path.relative(ROOT, TYPES_DIR)} is in place` : `${path.relative(ROOT, TYPES_DIR)} is missing or stale: run node scripts/self-types.mjs`);
    process.exit(ok ? 0 : 1);
  }
  try {
    if (writeSelfTypes()) console.log(`wrote ${path.relative(ROOT, TYPES_DIR)}/ (types of 'import ... from "${NAME}"' for the notebooks)`);
  } catch (e) {
    console.error(`scripts/self-types.mjs: ${e.message}`);
    process.exit(1);
  }
}
