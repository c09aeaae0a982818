/**
 * Charts to files: a self-contained HTML page (plotly.js inlined, opens offline in any browser),
 * and PNG, JPEG, WebP or SVG images rendered by a headless Chromium or Chrome when one is
 * installed (Plotly's own `toImage` in the browser; nothing is fetched).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MissingDependencyError } from '../core/errors';
import { atomicWriteFile } from '../core/persistence';
import { plotlyScriptTag, scriptSafe } from './bundle';
import { PLOTLY_CONFIG } from './display';
import type { Figure } from './figure';

/** File formats of {@link saveChart}, by extension. */
export const CHART_FORMATS = ['html', 'png', 'svg', 'jpeg', 'webp'] as const;
export type ChartFormat = (typeof CHART_FORMATS)[number];

/** Options of {@link saveChart}. */
export interface SaveChartOptions {
  /** Width in pixels. @defaultValue the figure's `layout.width`, else 900 (HTML: the page's width) */
  width?: number;
  /** Height in pixels. @defaultValue the figure's `layout.height`, else 420 */
  height?: number;
  /** Pixel ratio of PNG, JPEG and WebP images. @defaultValue 2 */
  scale?: number;
  /** The format. @defaultValue from the file's extension (`.jpg` = jpeg) */
  format?: ChartFormat;
  /** Page title of an HTML file. @defaultValue the figure's title */
  title?: string;
  /** The browser to render images with. @defaultValue $NAL_CHROMIUM, else a Chromium or Chrome found in the usual places */
  chromium?: string;
  /** Seconds to wait for the browser. @defaultValue 60 */
  timeoutSeconds?: number;
}

function figureTitle(fig: Figure): string {
  const t = fig.layout?.title?.text;
  return typeof t === 'string' && t ? t.replace(/<[^>]*>/g, '') : 'Chart';
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function formatOf(file: string, explicit?: ChartFormat): ChartFormat {
  if (explicit !== undefined) {
    if (!CHART_FORMATS.includes(explicit)) throw new RangeError(`saveChart: format must be one of ${CHART_FORMATS.join(', ')}. Got ${JSON.stringify(explicit)}.`);
    return explicit;
  }
  const ext = path.extname(file).slice(1).toLowerCase();
  const f = ext === 'htm' ? 'html' : ext === 'jpg' ? 'jpeg' : ext;
  if (!(CHART_FORMATS as readonly string[]).includes(f)) {
    throw new RangeError(`saveChart: cannot tell the format of '${file}' (use .html, .png, .svg, .jpg or .webp, or the 'format' option).`);
  }
  return f as ChartFormat;
}

/**
 * A whole HTML page holding one chart, plotly.js inlined as plain JavaScript: it opens offline,
 * from `file://`, in any browser.
 */
export function chartPage(fig: Figure, opts: Pick<SaveChartOptions, 'width' | 'height' | 'title'> = {}): string {
  const height = opts.height ?? (typeof fig.layout.height === 'number' ? fig.layout.height : 420);
  const width = opts.width ?? (typeof fig.layout.width === 'number' ? fig.layout.width : undefined);
  const layout = { ...fig.layout, height, ...(width !== undefined ? { width } : {}) };
  const style = `width:${width !== undefined ? `${width}px` : '100%'};height:${height}px;`;
  const draw = `Plotly.newPlot('chart', ${inlineJson(fig.data)}, ${inlineJson(layout)}, ${inlineJson(PLOTLY_CONFIG)});`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title ?? figureTitle(fig))}</title>
${plotlyScriptTag()}
</head>
<body style="margin:0;font-family:sans-serif">
<div id="chart" style="${style}"></div>
<script type="text/javascript">
${scriptSafe(draw)}
</script>
</body>
</html>
`;
}

/** Usual places of a Chromium or Chrome executable, by platform. */
function browserCandidates(): string[] {
  const names = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).flatMap((d) => names.map((n) => path.join(d, n)));
  const fixed =
    process.platform === 'darwin'
      ? ['/Applications/Chromium.app/Contents/MacOS/Chromium', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome']
      : process.platform === 'win32'
        ? [
            path.join(process.env['PROGRAMFILES'] ?? 'C:\\Program Files', 'Google', 'Chrome', 'Application', 'chrome.exe'),
            path.join(process.env['PROGRAMFILES(X86)'] ?? 'C:\\Program Files (x86)', 'Google', 'Chrome', 'Application', 'chrome.exe'),
            path.join(process.env['PROGRAMFILES'] ?? 'C:\\Program Files', 'Microsoft', 'Edge', 'Application', 'msedge.exe'),
          ]
        : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];
  return [...new Set([...fixed, ...onPath])];
}

/**
 * A Chromium or Chrome executable: `$NAL_CHROMIUM` when set, else the first found in the usual
 * places (and on PATH); null when there is none.
 */
export function findChromium(): string | null {
  const env = process.env.NAL_CHROMIUM;
  if (env) return fs.existsSync(env) ? env : null;
  return browserCandidates().find((p) => fs.existsSync(p)) ?? null;
}

const OUT_ID = 'nal-image-out';

/** The page that draws the chart and writes `toImage`'s data URL into `#nal-image-out`. */
function imagePage(fig: Figure, format: Exclude<ChartFormat, 'html'>, width: number, height: number, scale: number): string {
  const layout = { ...fig.layout, width, height };
  const js = `var out = document.getElementById('${OUT_ID}');
Plotly.newPlot('chart', ${inlineJson(fig.data)}, ${inlineJson(layout)}, { staticPlot: true })
  .then(function (gd) { return Plotly.toImage(gd, ${inlineJson({ format, width, height, scale: format === 'svg' ? 1 : scale })}); })
  .then(function (url) { out.textContent = 'OK ' + url; }, function (e) { out.textContent = 'ERROR ' + (e && e.message ? e.message : e); });`;
  return `<!doctype html><html><head><meta charset="utf-8">${plotlyScriptTag()}</head><body><div id="chart"></div><pre id="${OUT_ID}"></pre><script>${scriptSafe(js)}</script></body></html>`;
}

function runBrowser(exe: string, page: string, timeoutMs: number): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-chart-'));
  const file = path.join(tmp, 'chart.html');
  fs.writeFileSync(file, page);
  const args = [
    '--headless',
    '--disable-gpu',
    '--no-sandbox',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-extensions',
    `--user-data-dir=${path.join(tmp, 'profile')}`,
    '--virtual-time-budget=30000',
    '--dump-dom',
    new URL(`file://${file.split(path.sep).join('/').replace(/^([A-Za-z]:)/, '/$1')}`).href,
  ];
  // the browser's caches and settings go to the scratch folder, not the user's home
  const env = { ...process.env, HOME: tmp, XDG_CACHE_HOME: path.join(tmp, 'cache'), XDG_CONFIG_HOME: path.join(tmp, 'config') };
  return new Promise<string>((resolve, reject) => {
    const child = spawn(exe, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(tmp, { recursive: true, force: true });
      const m = new RegExp(`<pre id="${OUT_ID}">([\\s\\S]*?)</pre>`).exec(out);
      const text = m ? m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&') : '';
      if (text.startsWith('OK ')) resolve(text.slice(3));
      else if (text.startsWith('ERROR ')) reject(new Error(`saveChart: plotly.js could not render the image: ${text.slice(6)}`));
      else {
        const why = signal === 'SIGKILL' ? `did not finish within ${timeoutMs / 1000} s` : `exited with ${code ?? signal} without an image`;
        const detail = err.split('\n').filter((l) => l.trim() && !/dbus|DBus/.test(l)).slice(-3).join(' | ');
        reject(new Error(`saveChart: ${exe} ${why}${detail ? `: ${detail}` : ''}`));
      }
    });
  });
}

function decodeDataUrl(url: string): Buffer {
  const comma = url.indexOf(',');
  if (!url.startsWith('data:') || comma < 0) throw new Error('saveChart: the browser returned no image');
  const meta = url.slice(5, comma);
  const body = url.slice(comma + 1);
  return meta.endsWith(';base64') ? Buffer.from(body, 'base64') : Buffer.from(decodeURIComponent(body), 'utf8');
}

/**
 * Write a chart to a file, by its extension: `.html` a self-contained page (plotly.js inlined; no
 * browser needed), `.png`, `.jpg`, `.webp` or `.svg` an image rendered by a headless Chromium or
 * Chrome. The file is written atomically (a temporary file renamed into place), so a failure
 * leaves an existing file as it was; missing folders are created.
 * @returns the absolute path written
 * @throws MissingDependencyError for an image when no Chromium or Chrome is found (the message
 *   says how to install one or point `NAL_CHROMIUM` at it; `.html` needs none)
 * @throws RangeError for an unknown extension or format
 * @example
 * ```ts
 * await saveChart(timelineChart(r, data), 'reports/timeline.html');
 * await saveChart(timelineChart(r, data), 'reports/timeline.png', { width: 1200, height: 500 });
 * ```
 */
export async function saveChart(fig: Figure, file: string, opts: SaveChartOptions = {}): Promise<string> {
  const format = formatOf(file, opts.format);
  const target = path.resolve(file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (format === 'html') {
    atomicWriteFile(target, chartPage(fig, opts));
    return target;
  }
  const exe = opts.chromium ?? findChromium();
  if (!exe) {
    const wanted = process.env.NAL_CHROMIUM ? `NAL_CHROMIUM=${process.env.NAL_CHROMIUM} does not exist` : `none found (${browserCandidates().slice(0, 4).join(', ')}, ... and PATH)`;
    throw new MissingDependencyError(
      'Chromium',
      `saveChart: a ${format.toUpperCase()} image needs a Chromium or Chrome browser to render it: ${wanted}. ` +
        `Install one (Debian/Ubuntu: sudo apt-get install -y chromium) or set NAL_CHROMIUM to its executable; ` +
        `or save the chart as .html, which needs no browser.`,
    );
  }
  const width = opts.width ?? (typeof fig.layout.width === 'number' ? fig.layout.width : 900);
  const height = opts.height ?? (typeof fig.layout.height === 'number' ? fig.layout.height : 420);
  const scale = opts.scale ?? 2;
  if (!(width > 0 && height > 0 && scale > 0)) throw new RangeError(`saveChart: width, height and scale must be positive. Got ${width} x ${height}, scale ${scale}.`);
  const url = await runBrowser(exe, imagePage(fig, format, width, height, scale), (opts.timeoutSeconds ?? 60) * 1000);
  atomicWriteFile(target, decodeDataUrl(url));
  return target;
}
