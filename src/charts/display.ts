/**
 * Rendering of chart specs and tables inline in tslab (Jupyter) notebooks.
 *
 * The first chart shown in a kernel process carries the whole plotly.js bundle inline in a
 * `<script>` tag; every later chart is only a `<div>` plus a small script that calls
 * `Plotly.newPlot`. So plotly.js is loaded once per notebook, and an executed notebook converted
 * with `jupyter nbconvert --to html` draws its charts without a network connection (the bundle is
 * inside the page). Chart scripts wait for `window.Plotly` (front ends may render outputs
 * asynchronously or lazily), so output order does not matter.
 *
 * Outside a tslab kernel (plain node, tests, the CLI) nothing is rendered: {@link showChart} prints
 * a one-line note and {@link showTable} prints a text table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Figure } from './figure';

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
   * Include the plotly.js bundle in this output. By default only the first chart of the process
   * does; pass `true` after clearing that cell's output, or when the chart will be copied alone.
   */
  includePlotly?: boolean;
  /** Where to send the HTML. @defaultValue tslab's `display` (when running in a tslab kernel) */
  display?: HtmlSink;
}

/** Plotly config of every chart: responsive, no Plotly logo. */
export const PLOTLY_CONFIG = { responsive: true, displaylogo: false } as const;

/** Bundles tried in order: the minified dist package if installed, then plotly.js-dist. */
const BUNDLE_CANDIDATES: readonly [pkg: string, files: readonly string[]][] = [
  ['plotly.js-dist-min', ['plotly.min.js']],
  ['plotly.js-dist', ['plotly.min.js', 'plotly.js']],
];

let bundleCache: { file: string; source: string } | undefined;
let plotlyEmitted = false;
let chartCounter = 0;

/**
 * Path of the plotly.js browser bundle that charts embed: `plotly.min.js` of `plotly.js-dist-min`
 * when installed (about 4.7 MB), else `plotly.js` of `plotly.js-dist` (about 11 MB, unminified).
 * @throws Error when neither package is installed
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
  throw new Error(`No plotly.js bundle found (tried ${tried.join(', ')}). Install plotly.js-dist.`);
}

function plotlyBundle(): { file: string; source: string } {
  if (!bundleCache) {
    const file = plotlyBundlePath();
    bundleCache = { file, source: fs.readFileSync(file, 'utf8') };
  }
  return bundleCache;
}

/** Make text safe inside an HTML `<script>` element (no early `</script>`, no `<!--` states). */
function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** JSON safe to inline in a `<script>`: `<`, U+2028 and U+2029 escaped. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * A `<script>` tag holding the whole plotly.js bundle, for a page or notebook output that must work
 * offline. {@link showChart} emits it once per process by itself; use this for hand-made HTML.
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

/** Options of {@link chartHtml}. */
export interface ChartHtmlOptions {
  /** Height in pixels. @defaultValue the figure's `layout.height`, else 420 */
  height?: number;
  /** Width in pixels. @defaultValue the container's full width */
  width?: number;
  /** Put the plotly.js bundle before the chart. @defaultValue false */
  includePlotly?: boolean;
  /** Element id of the chart's div. @defaultValue a new unique id */
  id?: string;
}

/**
 * HTML of one chart: a `<div>` with a unique id and a script that draws the figure into it with
 * `Plotly.newPlot` once `window.Plotly` exists (it polls, so the bundle may arrive later; after
 * 15 s it says in the div what it is waiting for and keeps waiting).
 */
export function chartHtml(fig: Figure, opts: ChartHtmlOptions = {}): string {
  const id = opts.id ?? `nal-chart-${process.pid.toString(36)}-${(++chartCounter).toString(36)}`;
  const layoutHeight = typeof fig.layout.height === 'number' ? fig.layout.height : undefined;
  const height = opts.height ?? layoutHeight ?? 420;
  const layout = { ...fig.layout, height, ...(opts.width !== undefined ? { width: opts.width } : {}) };
  const style = `width:${opts.width !== undefined ? `${opts.width}px` : '100%'};height:${height}px;`;
  const script = `(function () {
  var id = ${inlineJson(id)};
  var fig = ${inlineJson({ data: fig.data, layout })};
  var config = ${inlineJson(PLOTLY_CONFIG)};
  var waited = 0;
  function tryDraw() {
    var el = document.getElementById(id);
    if (el && window.Plotly) { window.Plotly.newPlot(el, fig.data, fig.layout, config); return true; }
    return false;
  }
  if (tryDraw()) return;
  var timer = setInterval(function () {
    waited += 100;
    if (tryDraw()) { clearInterval(timer); return; }
    if (waited === 15000) {
      var el = document.getElementById(id);
      if (el) el.textContent = 'Waiting for plotly.js: run the cell with the first chart again, or use showChart(fig, { includePlotly: true }).';
    }
  }, 100);
})();`;
  return `${opts.includePlotly ? plotlyScriptTag() + '\n' : ''}<div id="${id}" class="nal-chart" style="${style}"></div>\n<script type="text/javascript">\n${scriptSafe(script)}\n</script>`;
}

interface TslabLike {
  display: HtmlSink & { text(s: string): void };
  newDisplay(): HtmlSink;
}

/**
 * tslab's public module when this process is a tslab kernel, else undefined. tslab is required
 * lazily so the library loads (and the CLI runs) without touching it; `globalThis.__tslab__` is
 * set by tslab's executor, so plain node never reads the plotly bundle for nothing.
 */
export function tslabDisplay(): TslabLike | undefined {
  if ((globalThis as { __tslab__?: unknown }).__tslab__ === undefined) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('tslab') as TslabLike;
  } catch {
    return undefined;
  }
}

function isNotReady(e: unknown): boolean {
  return e instanceof Error && e.message === 'Not ready';
}

function figureTitle(fig: Figure): string {
  const t = fig.layout?.title?.text;
  return typeof t === 'string' && t ? t.replace(/<[^>]*>/g, '') : 'untitled chart';
}

/**
 * Render a figure inline in a tslab notebook cell. The first chart of the kernel process carries
 * plotly.js inline (once per notebook, works offline in executed HTML reports); later charts are a
 * div and a `Plotly.newPlot` call. Outside a tslab kernel it prints a one-line note instead.
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
  const include = opts.includePlotly ?? !plotlyEmitted;
  const html = chartHtml(fig, { height: opts.height, width: opts.width, includePlotly: include });
  try {
    sink.html(html);
  } catch (e) {
    if (!isNotReady(e)) throw e;
    console.log(`[chart] ${figureTitle(fig)} (not in a running tslab cell; nothing rendered)`);
    return;
  }
  if (include) plotlyEmitted = true;
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
 * showTable(detectionRows(data, r).filter((x) => x.is_anomaly), { maxRows: 20, caption: 'Anomalies' });
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
   * Show the plotly.js bundle before the first frame. @defaultValue true when no chart of this
   * process has carried it yet (as {@link showChart})
   */
  includePlotly?: boolean;
  /**
   * Where the bundle goes: its own output, which stays when the frames replace each other.
   * @defaultValue tslab's `display`; without it (a custom `display` outside tslab) every frame
   * carries the bundle
   */
  bundleDisplay?: HtmlSink;
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
 * Each frame is a whole chart ({@link chartHtml}: a new div and a `Plotly.newPlot` call), so a
 * frame never depends on an earlier one. The plotly.js bundle (when this is the first chart of the
 * kernel process) goes once into its own output just before the first frame, because a frame that
 * carried it would be replaced by the next one, and the saved notebook would lose it.
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
  const tslab = opts.display && opts.bundleDisplay ? undefined : tslabDisplay();
  let sink: HtmlSink | undefined = opts.display ?? tslab?.newDisplay();
  const bundleSink = opts.bundleDisplay ?? tslab?.display;
  let bundlePending: boolean | undefined; // decided at the first frame
  let last: Figure | undefined;
  let drawn: Figure | undefined;
  let lastDraw = -Infinity;
  let frames = 0;
  let finished = false;

  function draw(fig: Figure): void {
    drawn = fig;
    lastDraw = performance.now();
    if (!sink) return;
    bundlePending ??= opts.includePlotly ?? !plotlyEmitted;
    let inline = false;
    try {
      if (bundlePending) {
        if (bundleSink) {
          bundleSink.html(plotlyScriptTag());
          plotlyEmitted = true;
          bundlePending = false;
        } else inline = true;
      }
      sink.html(chartHtml(fig, { height: opts.height, width: opts.width, includePlotly: inline }));
      if (inline) plotlyEmitted = true;
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
      if (performance.now() - lastDraw >= minInterval) draw(fig);
    },
    done(fig?: Figure): void {
      if (finished) return;
      finished = true;
      const final = fig ?? last;
      if (!final) return;
      if (final !== drawn) draw(final);
      if (!sink) console.log(`[chart] ${figureTitle(final)} (${final.data.length} trace${final.data.length === 1 ? '' : 's'}; shown in tslab notebooks only)`);
    },
    get frames() {
      return frames;
    },
  };
}
