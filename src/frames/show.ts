/**
 * One display call for whatever a notebook cell wants to show: a DataFrame or Series as a
 * formatted table, a Plotly figure as a chart, rows of plain objects as a table.
 */
import { showChart, showTable, tslabDisplay, type HtmlSink, type ShowChartOptions } from '../charts/display';
import type { Figure } from '../charts/figure';
import type { DataFrame, Series } from './danfo';
import { isFrame } from './danfo';
import { frameHtml, frameText, type FrameFormatOptions } from './format';

/** Options of {@link show}: those of the table (frames and rows) and of the chart (figures). */
export interface ShowOptions extends FrameFormatOptions, Omit<ShowChartOptions, 'display'> {
  /** Where to send the HTML. @defaultValue tslab's `display` (when running in a tslab kernel) */
  display?: HtmlSink;
}

function isFigure(x: unknown): x is Figure {
  return typeof x === 'object' && x !== null && Array.isArray((x as Figure).data) && typeof (x as Figure).layout === 'object';
}

/**
 * Show a DataFrame or Series as an HTML table (index, numbers right-aligned with one number of
 * decimals per column, the first and last rows of a long frame, its shape), a Plotly figure as a
 * chart ({@link showChart}), or an array of plain objects as a table ({@link showTable}), in a
 * tslab notebook cell. Outside a notebook a frame prints as a text table and a figure as a
 * one-line note.
 * @throws TypeError for anything else
 * @example
 * ```ts
 * const df = detectionToDataFrame(r, data);
 * show(df.loc({ rows: df.is_anomaly.eq(1) }).sortValues('ensemble_score', { ascending: false }), { maxRows: 15 });
 * show(timelineChart(r, data));
 * ```
 */
export function show(x: DataFrame | Series | Figure | readonly object[], opts: ShowOptions = {}): void {
  if (isFrame(x)) {
    const sink = opts.display ?? tslabDisplay()?.display;
    if (sink) {
      try {
        sink.html(frameHtml(x, opts));
        return;
      } catch (e) {
        if (!(e instanceof Error && e.message === 'Not ready')) throw e;
      }
    }
    console.log(frameText(x, opts));
    return;
  }
  if (isFigure(x)) {
    showChart(x, opts);
    return;
  }
  if (Array.isArray(x)) {
    showTable(x, { maxRows: opts.maxRows, caption: opts.caption, digits: opts.digits, display: opts.display });
    return;
  }
  throw new TypeError(`show: expected a DataFrame, a Series, a Plotly figure ({ data, layout }) or an array of row objects; got ${x === null ? 'null' : typeof x}.`);
}
