/**
 * The plotly.js browser bundle that charts carry so they draw offline: found in the installed
 * `plotly.js-dist-min` package, inlined as a plain `<script>` (standalone pages) or gzip-compressed
 * and base64-encoded in an inert `<script type="application/x-nal-plotly">` block (notebook
 * outputs: 1.9 MB instead of 4.8 MB, unpacked in the browser with `DecompressionStream`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/** Bundles tried in order: `plotly.js-dist-min` (the dependency), then `plotly.js-dist` if a project installed it. */
const BUNDLE_CANDIDATES: readonly [pkg: string, files: readonly string[]][] = [
  ['plotly.js-dist-min', ['plotly.min.js']],
  ['plotly.js-dist', ['plotly.min.js', 'plotly.js']],
];

/** MIME type of the inert block that holds the compressed bundle in a chart output. */
export const PLOTLY_BLOCK_TYPE = 'application/x-nal-plotly+gzip;base64';

let bundleCache: { file: string; source: string; version: string } | undefined;
let packedCache: string | undefined;

/**
 * Path of the plotly.js browser bundle that charts embed: `plotly.min.js` of `plotly.js-dist-min`
 * (about 4.8 MB).
 * @throws Error when no bundle is installed
 */
export function plotlyBundlePath(): string {
  const tried: string[] = [];
  for (const [pkg, files] of BUNDLE_CANDIDATES) {
    let dir: string;
    try {
      dir = path.dirname(require.resolve(`${pkg}/package.json`));
    } catch {
      tried.push(pkg);
      continue;
    }
    for (const f of files) {
      const p = path.join(dir, f);
      if (fs.existsSync(p)) return p;
    }
    tried.push(`${pkg} (no ${files.join(' or ')})`);
  }
  throw new Error(`No plotly.js bundle found (tried ${tried.join(', ')}). Install plotly.js-dist-min.`);
}

/** The bundle's source and version (read once per process). */
export function plotlyBundle(): { file: string; source: string; version: string } {
  if (!bundleCache) {
    const file = plotlyBundlePath();
    const source = fs.readFileSync(file, 'utf8');
    const version = /plotly\.js v(\d+\.\d+\.\d+\S*)/.exec(source.slice(0, 400))?.[1] ?? 'unknown';
    bundleCache = { file, source, version };
  }
  return bundleCache;
}

/** Make text safe inside an HTML `<script>` element (no early `</script>`, no `<!--` states). */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/**
 * A `<script>` tag holding the whole plotly.js bundle as plain JavaScript, for a standalone page
 * that must work offline in any browser.
 * @example
 * ```ts
 * fs.writeFileSync('report.html', `<!doctype html><meta charset="utf-8">${plotlyScriptTag()}${chartHtml(fig)}`);
 * ```
 */
export function plotlyScriptTag(): string {
  const { file, source } = plotlyBundle();
  const name = path.basename(path.dirname(file)) + '/' + path.basename(file);
  return `<script type="text/javascript">/* ${name}, inlined so the page works offline */\n${scriptSafe(source)}\n</script>`;
}

/**
 * The bundle gzip-compressed (deterministic: no timestamp in the header) and base64-encoded,
 * computed once per process.
 */
export function packedPlotly(): string {
  packedCache ??= zlib.gzipSync(Buffer.from(plotlyBundle().source, 'utf8'), { level: 9 }).toString('base64');
  return packedCache;
}

/**
 * The inert block that carries the compressed bundle in a chart output: browsers do not run a
 * script of this type, and every chart's loader finds it (its own first, else any in the page)
 * and unpacks it once per page.
 * @param forId - id of the chart whose output carries the block
 */
export function plotlyBlock(forId: string): string {
  const { version } = plotlyBundle();
  return `<script type="${PLOTLY_BLOCK_TYPE}" data-nal-plotly="${version}" data-for="${forId}">${packedPlotly()}</script>`;
}
