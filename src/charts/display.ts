/**
 * Rendering of chart specs and tables inline in tslab (Jupyter) notebooks.
 *
 * Every chart output draws by itself: it is a `<div>`, a small loader script and, for the first
 * chart of each cell execution, the plotly.js bundle (gzip-compressed, base64, in an inert
 * `<script type="application/x-nal-plotly+gzip;base64">` block, 1.9 MB). The loader uses
 * `window.Plotly` when a page already has it, else unpacks the bundle of its own output (or of any
 * other chart output in the page) once per page, then draws. So charts draw after re-running any
 * cell in any order, after a notebook is saved and reopened (trusted), in classic Notebook,
 * JupyterLab, VS Code and in HTML exported by nbconvert, offline and whatever order the front end
 * renders outputs in. Unpacking needs `DecompressionStream` (Chrome/Edge 80+, Firefox 113+,
 * Safari 16.4+); an older browser shows a message in the chart's place.
 *
 * Outside a tslab kernel (plain node, tests, the CLI) nothing is rendered: {@link showChart} prints
 * a one-line note and {@link showTable} prints a text table.
 */
import * as path from 'node:path';
import type { Figure } from './figure';
import { plotlyBlock, scriptSafe } from './bundle';

export { plotlyBundlePath, plotlyScriptTag } from './bundle';

/** Where HTML goes: tslab's `display`, or a `tslab.newDisplay()` to redraw in place. */
export interface HtmlSink {
  html(s: string): void;
}

/** Options of {@link showChart}. */
export interface ShowChartOptions {
  /** Height of the chart in pixels. @defaultValue the figure's `layout.height`, else 420 */
  height?: number;
  /** Width in pixels. @defaultValue the cell's full width (the chart resizes with it) */
  width?: number;
  /**
   * Carry the plotly.js bundle in this output. `true`: always; `false`: never (the chart then
   * draws only in a page where another output carries it). @defaultValue the first chart of each
   * cell execution carries it (every chart, when the cell cannot be told)
   */
  includePlotly?: boolean;
  /** Where to send the HTML. @defaultValue tslab's `display` (when running in a tslab kernel) */
  display?: HtmlSink;
}

/** Plotly config of every chart: responsive, no Plotly logo. */
export const PLOTLY_CONFIG = { responsive: true, displaylogo: false } as const;

/** Makes chart ids unique across kernel processes (a reopened notebook holds outputs of several). */
const ID_PREFIX = `nal-chart-${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
let chartCounter = 0;

/** JSON safe to inline in a `<script>`: `<`, U+2028 and U+2029 escaped. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Options of {@link chartHtml}. */
export interface ChartHtmlOptions {
  /** Height in pixels. @defaultValue the figure's `layout.height`, else 420 */
  height?: number;
  /** Width in pixels. @defaultValue the container's full width */
  width?: number;
  /**
   * Carry the compressed plotly.js bundle, so the output draws by itself in any page.
   * @defaultValue false
   */
  includePlotly?: boolean;
  /** Element id of the chart's div. @defaultValue a new unique id */
  id?: string;
}

/**
 * The loader every chart output runs (ES5, no dependencies). It finds its div (in the document
 * or in the shadow root its script is in), gets plotly.js (`window.Plotly`, a load already under
 * way in `window.__nalPlotly`, or the first bundle block found: its own output's, else any in the
 * page; none yet: it polls, as front ends may insert outputs lazily or in any order) and draws.
 * After 15 s without a bundle it says so in the div and keeps waiting.
 */
const LOADER = `var me = document.currentScript;
  var root = me && me.getRootNode ? me.getRootNode() : document;
  function deep(sel, node, depth) {
    var hit = node.querySelector(sel);
    if (hit || depth > 3) return hit;
    var all = node.querySelectorAll('*');
    for (var i = 0; i < all.length; i++) if (all[i].shadowRoot && (hit = deep(sel, all[i].shadowRoot, depth + 1))) return hit;
    return null;
  }
  var searches = {};
  function find(sel) {
    var hit = (root !== document && root.querySelector && root.querySelector(sel)) || document.querySelector(sel);
    // a script in a shadow root has no currentScript: look into open shadow roots (once a second)
    searches[sel] = (searches[sel] || 0) + 1;
    if (!hit && !me && searches[sel] % 10 === 1) {
      hit = deep(sel, document, 0);
      if (hit && root === document && hit.getRootNode) root = hit.getRootNode();
    }
    return hit;
  }
  function unpack(b64) {
    if (typeof DecompressionStream === 'undefined') return Promise.reject(new Error('this browser cannot unpack plotly.js (it needs DecompressionStream: Chrome or Edge 80+, Firefox 113+, Safari 16.4+)'));
    var bin = atob(b64.replace(/\\s+/g, ''));
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
  }
  function plotly() {
    if (window.Plotly && window.Plotly.newPlot) return Promise.resolve(window.Plotly);
    if (window.__nalPlotly) return window.__nalPlotly;
    var block = find('script[data-nal-plotly][data-for="' + id + '"]') || find('script[data-nal-plotly]');
    if (!block) return null;
    var p = unpack(block.textContent).then(function (src) {
      if (!(window.Plotly && window.Plotly.newPlot)) {
        var s = document.createElement('script');
        s.text = src;
        (document.head || document.documentElement).appendChild(s);
      }
      if (!(window.Plotly && window.Plotly.newPlot)) throw new Error('plotly.js did not load');
      return window.Plotly;
    });
    window.__nalPlotly = p;
    p.catch(function () { if (window.__nalPlotly === p) window.__nalPlotly = undefined; });
    return p;
  }
  var started = false;
  function tryDraw() {
    var div = find('#' + (window.CSS && CSS.escape ? CSS.escape(id) : id));
    if (!div) return false;
    var p = plotly();
    if (!p) return false;
    started = true;
    p.then(function (P) { return P.newPlot(div, fig.data, fig.layout, config); }).catch(function (e) {
      div.textContent = 'Chart not drawn: ' + (e && e.message ? e.message : e);
    });
    return true;
  }
  if (tryDraw()) return;
  var waited = 0;
  function poll() {
    if (started || tryDraw()) return;
    waited += waited < 15000 ? 100 : 1000;
    if (waited === 15000) {
      var div = find('#' + (window.CSS && CSS.escape ? CSS.escape(id) : id));
      if (div) div.textContent = 'Waiting for plotly.js: no output in this page carries it yet. Re-run this cell to draw the chart.';
    }
    setTimeout(poll, waited < 15000 ? 100 : 1000);
  }
  setTimeout(poll, 100);`;

/**
 * HTML of one chart: a `<div class="nal-chart">` with a unique id, with `includePlotly` the
 * compressed plotly.js bundle, and a script that draws the figure once plotly.js is there (from
 * `window.Plotly`, this output's bundle, or any other chart output's in the page).
 */
export function chartHtml(fig: Figure, opts: ChartHtmlOptions = {}): string {
  const id = opts.id ?? `${ID_PREFIX}-${(++chartCounter).toString(36)}`;
  const layoutHeight = typeof fig.layout.height === 'number' ? fig.layout.height : undefined;
  const height = opts.height ?? layoutHeight ?? 420;
  const layout = { ...fig.layout, height, ...(opts.width !== undefined ? { width: opts.width } : {}) };
  const style = `width:${opts.width !== undefined ? `${opts.width}px` : '100%'};height:${height}px;`;
  const script = `(function () {
  var id = ${inlineJson(id)};
  var fig = ${inlineJson({ data: fig.data, layout })};
  var config = ${inlineJson(PLOTLY_CONFIG)};
  ${LOADER}
})();`;
  const block = opts.includePlotly ? `\n${plotlyBlock(id)}` : '';
  return `<div id="${id}" class="nal-chart" style="${style}"></div>${block}\n<script type="text/javascript">\n${scriptSafe(script)}\n</script>`;
}

interface TslabLike {
  display: HtmlSink & { text(s: string): void };
  newDisplay(): HtmlSink;
}

/** The kernel's own tslab module files (`dist/jupyter.js`, `dist/public.js`), found in the module cache. */
function kernelTslabDir(): string | undefined {
  const tail = `${path.sep}tslab${path.sep}dist${path.sep}jupyter.js`;
  const hit = Object.keys(require.cache).find((k) => k.endsWith(tail));
  return hit ? path.dirname(hit) : undefined;
}

/**
 * tslab's public module when this process is a tslab kernel, else undefined. It is the kernel's
 * own copy (found in the module cache), so the library needs no tslab of its own: a kernel
 * installed globally or in another project displays through the same module it runs. tslab is
 * required lazily so the library loads (and the CLI runs) without touching it; `globalThis.__tslab__`
 * is set by tslab's executor, so plain node never reads the plotly bundle for nothing.
 */
export function tslabDisplay(): TslabLike | undefined {
  if ((globalThis as { __tslab__?: unknown }).__tslab__ === undefined) return undefined;
  const dir = kernelTslabDir();
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (dir ? require(path.join(dir, 'public.js')) : require('tslab')) as TslabLike;
  } catch {
    return undefined;
  }
}

/**
 * What identifies the running cell execution: tslab gives each execute request its own output
 * writer. Undefined outside a tslab kernel or when the kernel's internals differ.
 */
function cellExecution(): unknown {
  const dir = kernelTslabDir();
  if (!dir) return undefined;
  const mod = require.cache[path.join(dir, 'jupyter.js')]?.exports as { lastWriteDisplayData?: unknown } | undefined;
  return typeof mod?.lastWriteDisplayData === 'function' ? mod.lastWriteDisplayData : undefined;
}

let bundledIn: unknown; // the cell execution whose output already carries the bundle

/** Whether a chart shown now should carry the bundle (the first chart of each cell execution does). */
function bundleDue(explicit: boolean | undefined): boolean {
  if (explicit !== undefined) return explicit;
  const cell = cellExecution();
  return cell === undefined || cell !== bundledIn;
}

function markBundled(): void {
  bundledIn = cellExecution();
}

function isNotReady(e: unknown): boolean {
  return e instanceof Error && e.message === 'Not ready';
}

function figureTitle(fig: Figure): string {
  const t = fig.layout?.title?.text;
  return typeof t === 'string' && t ? t.replace(/<[^>]*>/g, '') : 'untitled chart';
}

/**
 * Render a figure inline in a tslab notebook cell. The output draws by itself, offline: the first
 * chart of each cell execution carries plotly.js (compressed), later ones in the same cell use it.
 * Outside a tslab kernel it prints a one-line note instead.
 * @example
 * ```ts
 * showChart(timelineChart(r, data), { height: 360 });
 * ```
 */
export function showChart(fig: Figure, opts: ShowChartOptions = {}): void {
  const sink = opts.display ?? tslabDisplay()?.display;
  if (!sink) {
    console.log(`[chart] ${figureTitle(fig)} (${fig.data.length} trace${fig.data.length === 1 ? '' : 's'}; shown in tslab notebooks only)`);
    return;
  }
  const include = bundleDue(opts.includePlotly);
  const html = chartHtml(fig, { height: opts.height, width: opts.width, includePlotly: include });
  try {
    sink.html(html);
  } catch (e) {
    if (!isNotReady(e)) throw e;
    console.log(`[chart] ${figureTitle(fig)} (not in a running tslab cell; nothing rendered)`);
    return;
  }
  if (include) markBundled();
}

/** Options of {@link showTable}. */
export interface ShowTableOptions {
  /** Most rows shown; the rest are counted in a footer. @defaultValue 50 */
  maxRows?: number;
  /** Columns and their order. @defaultValue every key, in first-seen order */
  columns?: readonly string[];
  /** Caption above the table. */
  caption?: string;
  /** Significant digits of non-integer numbers. @defaultValue 4 */
  digits?: number;
  /** Where to send the HTML. @defaultValue tslab's `display` */
  display?: HtmlSink;
}

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function cellText(v: unknown, digits: number): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : String(Number(v.toPrecision(digits)));
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * HTML table of plain objects (e.g. {@link detectionRows} filtered to anomalies), every cell
 * escaped, numbers right-aligned and rounded to `digits` significant digits.
 */
export function tableHtml(rows: readonly object[], opts: Omit<ShowTableOptions, 'display'> = {}): string {
  const maxRows = opts.maxRows ?? 50;
  const digits = opts.digits ?? 4;
  const shown = rows.slice(0, maxRows) as Record<string, unknown>[];
  const columns = opts.columns ? [...opts.columns] : [...new Set(shown.flatMap((r) => Object.keys(r)))];
  const th = 'style="text-align:left;padding:2px 8px;border-bottom:1px solid #999"';
  const head = columns.map((c) => `<th ${th}>${escapeHtml(c)}</th>`).join('');
  const body = shown
    .map((r) => {
      const tds = columns.map((c) => {
        const v = r[c];
        const align = typeof v === 'number' ? 'right' : 'left';
        return `<td style="text-align:${align};padding:2px 8px;font-variant-numeric:tabular-nums">${escapeHtml(cellText(v, digits))}</td>`;
      });
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('\n');
  const caption = opts.caption ? `<caption style="text-align:left;font-weight:600;padding:4px 0">${escapeHtml(opts.caption)}</caption>` : '';
  const more = rows.length > shown.length ? `<div style="color:#666;font-size:11px;padding:2px 8px">… ${rows.length - shown.length} more rows (${rows.length} in all)</div>` : '';
  return `<table class="nal-table" style="border-collapse:collapse;font-size:12px">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${more}`;
}

/**
 * Show rows of plain objects as an HTML table in a tslab notebook (escaped, first `maxRows`
 * rows); outside tslab, print them with `console.table`.
 * @example
 * ```ts
 * showTable(detectionRows(r, data).filter((x) => x.is_anomaly), { maxRows: 20, caption: 'Anomalies' });
 * ```
 */
export function showTable(rows: readonly object[], opts: ShowTableOptions = {}): void {
  const sink = opts.display ?? tslabDisplay()?.display;
  if (sink) {
    try {
      sink.html(tableHtml(rows, opts));
      return;
    } catch (e) {
      if (!isNotReady(e)) throw e;
    }
  }
  const maxRows = opts.maxRows ?? 50;
  if (opts.caption) console.log(opts.caption);
  console.table(rows.slice(0, maxRows), opts.columns ? [...opts.columns] : undefined);
  if (rows.length > maxRows) console.log(`… ${rows.length - maxRows} more rows (${rows.length} in all)`);
}

/** A chart that redraws in place, from {@link createLiveChart}. */
export interface LiveChart {
  /**
   * Redraw with a new figure. Redraws closer together than `minIntervalMs` are skipped; `done`
   * always draws the last figure given.
   */
  update(fig: Figure): void;
  /** Draw the final figure (`fig`, else the last one given to `update`) and stop. */
  done(fig?: Figure): void;
  /** Figures drawn so far. */
  readonly frames: number;
}

/** Options of {@link createLiveChart}. */
export interface LiveChartOptions {
  /** Height in pixels. @defaultValue the figure's `layout.height`, else 420 */
  height?: number;
  /** Width in pixels. @defaultValue the cell's full width */
  width?: number;
  /** Least time between two redraws. @defaultValue 100 */
  minIntervalMs?: number;
  /**
   * The display redrawn in place. @defaultValue a new tslab display (`tslab.newDisplay()`) when
   * running in a tslab kernel
   */
  display?: HtmlSink;
  /**
   * Whether the first and the final frame carry the plotly.js bundle (the frames in between never
   * do: the page has it by then). With `false` the chart draws only in a page where another output
   * carries plotly.js. @defaultValue true
   */
  includePlotly?: boolean;
}

/**
 * A Plotly chart that updates in place: each {@link LiveChart.update} replaces the chart drawn
 * before it, so a loop over a stream shows one chart that moves, not one chart per step.
 *
 * How it stays in place: the same mechanism as {@link createProgressBar}. The chart lives in a
 * `tslab.newDisplay()`; its first frame goes out as a Jupyter `display_data` message with a
 * `display_id`, every later one as `update_display_data` with the same id, so the front end
 * replaces the output, and nbclient (`jupyter nbconvert --execute`) does the same to the stored
 * output: the executed notebook and its HTML report hold the chart once, in its final state.
 * Each frame is a whole chart ({@link chartHtml}: a new div and its loader), so a frame never
 * depends on an earlier one. The first frame carries the compressed plotly.js bundle, which the
 * page unpacks once; the frames in between are small; the final frame ({@link LiveChart.done})
 * carries the bundle again, so the output that stays draws by itself after the notebook is saved
 * and reopened.
 *
 * Outside a tslab kernel nothing is drawn; `done` prints a one-line note, as {@link showChart}.
 * @example
 * ```ts
 * const live = createLiveChart();
 * for await (const chunk of detectStream(ens, rows, { chunkSize: 200 })) {
 *   history.add(chunk);
 *   live.update(streamChart(history));
 * }
 * live.done();
 * ```
 */
export function createLiveChart(opts: LiveChartOptions = {}): LiveChart {
  const minInterval = opts.minIntervalMs ?? 100;
  const withBundle = opts.includePlotly ?? true;
  let sink: HtmlSink | undefined = opts.display ?? tslabDisplay()?.newDisplay();
  let last: Figure | undefined;
  let drawn: { fig: Figure; bundled: boolean } | undefined;
  let lastDraw = -Infinity;
  let frames = 0;
  let finished = false;

  function draw(fig: Figure, final: boolean): void {
    const bundled = withBundle && (final || frames === 0);
    drawn = { fig, bundled };
    lastDraw = performance.now();
    if (!sink) return;
    try {
      sink.html(chartHtml(fig, { height: opts.height, width: opts.width, includePlotly: bundled }));
      frames++;
    } catch (e) {
      if (!isNotReady(e)) throw e;
      sink = undefined; // not inside a running cell: draw nothing more
    }
  }

  return {
    update(fig: Figure): void {
      if (finished) return;
      last = fig;
      if (performance.now() - lastDraw >= minInterval) draw(fig, false);
    },
    done(fig?: Figure): void {
      if (finished) return;
      finished = true;
      const final = fig ?? last;
      if (!final) return;
      // the output that stays must be the final figure and carry the bundle by itself
      if (!drawn || drawn.fig !== final || drawn.bundled !== withBundle) draw(final, true);
      if (!sink) console.log(`[chart] ${figureTitle(final)} (${final.data.length} trace${final.data.length === 1 ? '' : 's'}; shown in tslab notebooks only)`);
    },
    get frames() {
      return frames;
    },
  };
}
