/**
 * Charts of model training: the autoencoder's loss curve. Pure functions: they return a Plotly
 * {@link Figure} and never render.
 */
import { roundSig, type ChartOptions, type Figure, type Trace } from './figure';
import { baseLayout, DETECTOR_COLORS } from './palette';

/** Options of {@link lossCurveChart}. */
export interface LossCurveOptions extends ChartOptions {
  /** y-axis title. @defaultValue "Reconstruction loss (MSE, standardised units²)" */
  yTitle?: string;
  /** Logarithmic y axis. @defaultValue false */
  logY?: boolean;
}

/**
 * Training (and validation) loss per epoch, with the best epoch marked: lowest validation loss, or
 * lowest training loss without validation.
 * @param history - e.g. `ens.detector('autoencoder').history` (Keras-style `loss` / `valLoss`)
 * @example
 * ```ts
 * showChart(lossCurveChart((ens.detector('autoencoder') as Autoencoder).history));
 * ```
 */
export function lossCurveChart(history: { loss: readonly number[]; valLoss?: readonly number[] }, opts: LossCurveOptions = {}): Figure {
  const color = DETECTOR_COLORS.autoencoder;
  const epochs = history.loss.map((_, i) => i + 1);
  const traces: Trace[] = [
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Training loss',
      x: epochs,
      y: history.loss.map((v) => roundSig(v, 5)),
      line: { color, width: 2 },
      marker: { size: 4 },
      hovertemplate: 'epoch %{x}: training loss %{y}<extra></extra>',
    },
  ];
  const val = history.valLoss ?? [];
  if (val.length) {
    traces.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: 'Validation loss',
      x: val.map((_, i) => i + 1),
      y: val.map((v) => roundSig(v, 5)),
      line: { color, width: 2, dash: 'dash' },
      marker: { size: 4, symbol: 'circle-open' },
      hovertemplate: 'epoch %{x}: validation loss %{y}<extra></extra>',
    });
  }
  const monitored = val.length ? val : history.loss;
  let best = -1;
  for (let i = 0; i < monitored.length; i++) if (Number.isFinite(monitored[i]) && (best < 0 || monitored[i] < monitored[best])) best = i;
  if (best >= 0) {
    traces.push({
      type: 'scatter',
      mode: 'markers',
      name: `Best epoch (${best + 1}, ${val.length ? 'validation' : 'training'} loss ${roundSig(monitored[best], 3)})`,
      x: [best + 1],
      y: [roundSig(monitored[best], 5)],
      marker: { color: '#FFFFFF', size: 11, symbol: 'star', line: { color, width: 2 } },
      hoverinfo: 'skip',
    });
  }
  const layout = baseLayout({
    title: opts.title ?? `Autoencoder loss per epoch (${epochs.length} epochs)`,
    xTitle: 'Epoch',
    yTitle: opts.yTitle ?? 'Reconstruction loss (MSE, standardised units²)',
    height: opts.height,
  });
  if (opts.logY) (layout.yaxis as Record<string, unknown>).type = 'log';
  // whole epochs on the axis
  if (epochs.length <= 20) Object.assign(layout.xaxis as object, { tick0: 1, dtick: 1 });
  return { data: traces, layout };
}
