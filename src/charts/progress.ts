/**
 * A progress bar that redraws in place: in a tslab notebook cell, in the notebook that
 * `jupyter nbconvert --execute` writes, and on a terminal.
 */
import { escapeHtml, tslabDisplay, type HtmlSink } from './display';

/** A running progress bar. */
export interface ProgressBar {
  /** Set the number of finished steps (0..total) and an optional status text, e.g. the loss. */
  update(done: number, text?: string): void;
  /** Draw the final state (the last `update`'s count, elapsed time, `text`) and stop. */
  done(text?: string): void;
}

/** Options of {@link createProgressBar}. */
export interface ProgressBarOptions {
  /**
   * Where HTML goes: an in-place display (`tslab.newDisplay()`, or anything with `html`).
   * @defaultValue a new tslab display when running in a tslab kernel, else text
   */
  display?: HtmlSink;
  /** Text output outside notebooks. @defaultValue process.stderr */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Least time between two redraws (the last state is always drawn by `done`). @defaultValue 100 */
  minIntervalMs?: number;
  /** Characters of the bar. @defaultValue 30 */
  width?: number;
}

const FILL = '█';
const EMPTY = '░';

/** `label [█████░░░░░] 12/40 (30%) 3.1 s  text`: one line, the same in HTML and on a terminal. */
export function progressLine(label: string, done: number, total: number, seconds: number, text = '', width = 30): string {
  const share = total > 0 ? Math.min(Math.max(done / total, 0), 1) : 1;
  const filled = Math.round(share * width);
  const bar = FILL.repeat(filled) + EMPTY.repeat(width - filled);
  return `${label} ${bar} ${done}/${total} (${Math.floor(share * 100)}%) ${seconds.toFixed(1)} s${text ? '  ' + text : ''}`;
}

/**
 * A progress bar of `total` steps that updates in place.
 *
 * How it stays in place: in a tslab kernel the bar is a display created with `tslab.newDisplay()`.
 * tslab sends its first `html()` as a Jupyter `display_data` message with a `display_id` and every
 * later one as `update_display_data` with the same id (see `DisplayImpl.raw` in tslab's
 * `dist/public.js`), so the front end replaces the output instead of appending. `nbclient` (the
 * executor behind `jupyter nbconvert --execute`) applies `update_display_data` to the stored output
 * too, so the executed notebook and its HTML report hold one bar in its final state, not a log.
 * Writing `\r` to stdout was the other option (front ends and nbclient 0.7.2 do collapse a line
 * rewritten with carriage returns), but it shares the stdout stream with everything else: any
 * `console.log` during training (warnings, TF.js messages) ends the line and the bar then repeats
 * below it. A display keeps the bar in its own output, whatever else the cell prints.
 *
 * Outside a kernel: on a terminal (TTY) the line is redrawn with `\r`; elsewhere (logs, CI) a line
 * is printed at each quarter and at the end.
 *
 * Checked with tslab 1.0.22 and nbclient 0.7.2: the kernel sends one `display_data` then
 * `update_display_data` messages with the same id as the loop runs (also from a synchronous loop
 * that never yields), and the executed notebook keeps a single output showing the final state.
 * Redraws are throttled to one per `minIntervalMs`.
 * @param total - number of steps (epochs, detectors, ...)
 * @param label - shown before the bar
 * @throws RangeError when `total` is not a non-negative integer
 * @example
 * ```ts
 * const bar = createProgressBar(epochs, 'autoencoder');
 * const ens = await new AnomalyEnsemble({
 *   autoencoder: { epochs, onEpochEnd: (e) => bar.update(e.epoch, `loss ${e.loss.toFixed(4)}`) },
 * }).fit(data);
 * bar.done();
 * ```
 */
export function createProgressBar(total: number, label: string, opts: ProgressBarOptions = {}): ProgressBar {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`createProgressBar: total must be a non-negative integer. Got ${total}.`);
  const width = opts.width ?? 30;
  const minInterval = opts.minIntervalMs ?? 100;
  const stream = opts.stream ?? process.stderr;
  const t0 = performance.now();
  let sink: HtmlSink | undefined = opts.display ?? tslabDisplay()?.newDisplay();
  let count = 0;
  let status = '';
  let lastDraw = -Infinity;
  let lastQuarter = -1;
  let lastLength = 0;
  let finished = false;

  const seconds = () => (performance.now() - t0) / 1000;

  function drawHtml(line: string, final: boolean): boolean {
    if (!sink) return false;
    const color = final ? '#2E7D32' : '#2A2A2A';
    try {
      sink.html(`<div class="nal-progress" style="font-family:Menlo,Consolas,monospace;font-size:12px;white-space:pre;color:${color}">${escapeHtml(line)}</div>`);
      return true;
    } catch (e) {
      if (e instanceof Error && e.message === 'Not ready') {
        sink = undefined; // not inside a running cell: fall back to text
        return false;
      }
      throw e;
    }
  }

  function drawText(line: string, final: boolean): void {
    if (stream.isTTY) {
      const pad = Math.max(0, lastLength - line.length);
      stream.write('\r' + line + ' '.repeat(pad) + (final ? '\n' : ''));
      lastLength = line.length;
      return;
    }
    if (final) {
      stream.write(line + '\n');
      return;
    }
    const quarter = total > 0 ? Math.floor((4 * count) / total) : 4;
    if (quarter < 4 && quarter > lastQuarter) {
      stream.write(line + '\n');
      lastQuarter = quarter;
    }
  }

  function draw(final: boolean): void {
    const line = progressLine(label, count, total, seconds(), status, width) + (final ? '  done' : '');
    if (!drawHtml(line, final)) drawText(line, final);
    lastDraw = performance.now();
  }

  return {
    update(done: number, text?: string): void {
      if (finished) return;
      count = Math.min(Math.max(Math.floor(done), 0), total);
      if (text !== undefined) status = text;
      if (performance.now() - lastDraw >= minInterval) draw(false);
    },
    done(text?: string): void {
      if (finished) return;
      finished = true;
      if (text !== undefined) status = text;
      draw(true);
    },
  };
}
