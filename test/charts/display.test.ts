import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chartHtml, createLiveChart, plotlyBundlePath, plotlyScriptTag, showChart, showTable, tableHtml, tslabDisplay } from '../../src/charts/display';
import { PLOTLY_BLOCK_TYPE, packedPlotly } from '../../src/charts/bundle';
import type { Figure } from '../../src/charts/figure';
import { createProgressBar, progressLine } from '../../src/charts/progress';

const fig: Figure = {
  data: [{ type: 'bar', name: 'n', x: ['a', 'b'], y: [1, 2] }],
  layout: { title: { text: 'Two bars </script><script>alert(1)</script>' }, height: 300 },
};

const count = (s: string, sub: string) => s.split(sub).length - 1;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('showChart', () => {
  it('prints a one-line note outside tslab instead of throwing', () => {
    expect(tslabDisplay()).toBeUndefined();
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(() => showChart(fig)).not.toThrow();
    expect(log).toHaveBeenCalledTimes(1);
    const line = String(log.mock.calls[0][0]);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/^\[chart\] Two bars .*tslab/);
  });

  it('puts plotly.js in every chart when the cell execution cannot be told (no tslab kernel)', () => {
    const out: string[] = [];
    const sink = { html: (s: string) => out.push(s) };
    showChart(fig, { display: sink });
    showChart(fig, { display: sink, height: 250 });
    showChart(fig, { display: sink, includePlotly: false });
    expect(out[0].length).toBeGreaterThan(1_000_000);
    expect(out[1].length).toBeGreaterThan(1_000_000);
    expect(out[1]).toContain('"height":250');
    expect(out[2].length).toBeLessThan(10_000);
    for (const html of out) expect(html).toMatch(/P\.newPlot\(div, fig\.data, fig\.layout, config\)/);
    const ids = out.map((h) => /<div id="([^"]+)"/.exec(h)![1]);
    expect(new Set(ids).size).toBe(3);
  });

  it('in a tslab kernel, puts plotly.js in the first chart of each cell execution', () => {
    // tslab gives every execute request its own output writer (jupyter.lastWriteDisplayData)
    const fake = path.join(path.sep, 'fake', 'node_modules', 'tslab', 'dist', 'jupyter.js');
    const jupyter = { lastWriteDisplayData: () => {} };
    require.cache[fake] = { exports: jupyter } as NodeJS.Module;
    try {
      const out: string[] = [];
      const sink = { html: (s: string) => out.push(s) };
      showChart(fig, { display: sink }); // cell 1
      showChart(fig, { display: sink });
      jupyter.lastWriteDisplayData = () => {}; // cell 2 (or cell 1 run again)
      showChart(fig, { display: sink });
      showChart(fig, { display: sink });
      showChart(fig, { display: sink, includePlotly: true });
      expect(out.map((h) => h.includes(`type="${PLOTLY_BLOCK_TYPE}"`))).toEqual([true, false, true, false, true]);
    } finally {
      delete require.cache[fake];
    }
  });

  it('passes a sink error other than "not ready" through', () => {
    const sink = {
      html: () => {
        throw new Error('boom');
      },
    };
    expect(() => showChart(fig, { display: sink, includePlotly: false })).toThrow('boom');
  });
});

describe('chartHtml', () => {
  it('draws with a loader and cannot be broken out of by figure text', () => {
    const html = chartHtml(fig, { id: 'c1' });
    expect(count(html, '</script>')).toBe(1);
    expect(html).toContain('<div id="c1" class="nal-chart" style="width:100%;height:300px;"></div>');
    expect(html).toContain('setTimeout(poll');
    expect(html).toContain('DecompressionStream');
    expect(html).toContain('"displaylogo":false');
    expect(html).toContain('"responsive":true');
    expect(html).not.toContain(PLOTLY_BLOCK_TYPE + '"'); // no bundle unless asked
    // the figure survives the escaping
    const json = /var fig = (.*);\n/.exec(html)![1];
    expect(JSON.parse(json).layout.title.text).toBe(fig.layout.title.text);
    // the runner finds charts by this shape (scripts/notebooks.mjs findCharts)
    expect(html).toMatch(/\bvar fig = (\{[\s\S]*?\});\s*\n\s*var config\b/);
  });

  it('carries plotly.js gzip-compressed in an inert block that unpacks to the bundle', () => {
    const html = chartHtml(fig, { id: 'c2', includePlotly: true });
    const m = new RegExp(`<script type="${PLOTLY_BLOCK_TYPE.replace(/[+.]/g, '\\$&')}" data-nal-plotly="([^"]+)" data-for="c2">([A-Za-z0-9+/=]+)</script>`).exec(html);
    expect(m, 'the bundle block').not.toBeNull();
    expect(m![1]).toMatch(/^\d+\.\d+\.\d+/);
    const source = zlib.gunzipSync(Buffer.from(m![2], 'base64')).toString('utf8');
    expect(source).toBe(fs.readFileSync(plotlyBundlePath(), 'utf8'));
    // 2.5x smaller than the plain bundle, and the same bytes every time (reproducible notebooks)
    expect(m![2].length).toBeLessThan(source.length / 2);
    expect(packedPlotly()).toBe(m![2]);
    expect(count(html, '</script>')).toBe(2);
  });

  it('inlines the plain bundle from plotly.js-dist-min for standalone pages', () => {
    expect(plotlyBundlePath()).toMatch(/plotly\.js-dist-min[\\/]plotly\.min\.js$/);
    const tag = plotlyScriptTag();
    expect(tag.startsWith('<script type="text/javascript">')).toBe(true);
    expect(count(tag, '</script')).toBe(1);
  });
});

describe('showTable', () => {
  const rows = [
    { row: 1, severity: 'high', score: 3.14159265, note: '<b>x</b> & "y"' },
    { row: 2, severity: 'low', score: 0.5 },
    { row: 3, severity: 'none', score: -1 },
  ];

  it('escapes cells, rounds numbers and counts the rows left out', () => {
    const html = tableHtml(rows, { maxRows: 2, caption: 'A <caption>' });
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('A &lt;caption&gt;');
    expect(html).toContain('>3.142<');
    expect(count(html, '<tr>')).toBe(3);
    expect(html).toContain('1 more rows (3 in all)');
    expect(html).toContain('<th style="text-align:left;padding:2px 8px;border-bottom:1px solid #999">note</th>');
  });

  it('prints a text table outside tslab', () => {
    const table = vi.spyOn(console, 'table').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    showTable(rows, { maxRows: 1 });
    expect(table).toHaveBeenCalledWith([rows[0]], undefined);
    expect(log).toHaveBeenCalledWith('… 2 more rows (3 in all)');
  });
});

describe('createProgressBar', () => {
  it('redraws one display in place in a notebook', () => {
    const frames: string[] = [];
    const bar = createProgressBar(4, 'fit', { display: { html: (s) => frames.push(s) }, minIntervalMs: 0 });
    for (let i = 1; i <= 4; i++) bar.update(i, `loss ${i}`);
    bar.done('ok');
    bar.update(1); // ignored after done
    expect(frames).toHaveLength(5);
    expect(frames[0]).toMatch(/fit █{8}░{22} 1\/4 \(25%\) \d+\.\d s  loss 1/);
    expect(frames[4]).toMatch(/4\/4 \(100%\).*ok  done/);
  });

  it('throttles redraws but always draws the final state', () => {
    const frames: string[] = [];
    const bar = createProgressBar(1000, 'x', { display: { html: (s) => frames.push(s) }, minIntervalMs: 60_000 });
    for (let i = 1; i <= 1000; i++) bar.update(i);
    bar.done();
    expect(frames).toHaveLength(2);
    expect(frames[1]).toContain('1000/1000');
  });

  it('uses carriage returns on a terminal and a few lines elsewhere', () => {
    const tty: string[] = [];
    const t = createProgressBar(3, 'tty', { stream: Object.assign({ write: (s: string) => tty.push(s) !== 0 }, { isTTY: true }) as never, minIntervalMs: 0 });
    for (let i = 1; i <= 3; i++) t.update(i);
    t.done();
    expect(tty.every((s) => s.startsWith('\r'))).toBe(true);
    expect(tty[tty.length - 1].endsWith('\n')).toBe(true);
    expect(tty.slice(0, -1).some((s) => s.includes('\n'))).toBe(false);

    const log: string[] = [];
    const p = createProgressBar(100, 'log', { stream: { write: (s: string) => log.push(s) !== 0 } as never, minIntervalMs: 0 });
    for (let i = 0; i <= 100; i++) p.update(i);
    p.done();
    expect(log.map((l) => /(\d+)\/100/.exec(l)![1])).toEqual(['0', '25', '50', '75', '100']);
  });

  it('formats one line', () => {
    expect(progressLine('ae', 3, 10, 1.25, 'loss 0.1', 10)).toBe('ae ███░░░░░░░ 3/10 (30%) 1.3 s  loss 0.1');
    expect(progressLine('none', 0, 0, 0, '', 4)).toBe('none ████ 0/0 (100%) 0.0 s');
    expect(() => createProgressBar(-1, 'x')).toThrow(RangeError);
  });
});

describe('createLiveChart', () => {
  const frame = (k: number): Figure => ({ data: [{ type: 'bar', x: ['a'], y: [k] }], layout: { title: { text: `Frame ${k}` }, height: 200 } });
  const titleOf = (html: string) => JSON.parse(/var fig = (.*);\n/.exec(html)![1]).layout.title.text as string;

  const bundled = (html: string) => html.includes(`type="${PLOTLY_BLOCK_TYPE}"`);

  it('redraws one display in place; the first and the final frame carry plotly.js', () => {
    const frames: string[] = [];
    const live = createLiveChart({ display: { html: (s) => frames.push(s) }, minIntervalMs: 0 });
    for (let k = 1; k <= 5; k++) live.update(frame(k));
    live.done();
    live.update(frame(9)); // ignored after done
    // frame 5 is drawn again as the final frame, this time with the bundle
    expect(frames.map(titleOf)).toEqual(['Frame 1', 'Frame 2', 'Frame 3', 'Frame 4', 'Frame 5', 'Frame 5']);
    expect(frames.map(bundled)).toEqual([true, false, false, false, false, true]);
    expect(live.frames).toBe(6);
    for (const html of frames.filter((h) => !bundled(h))) expect(html.length).toBeLessThan(10_000);
    for (const html of frames) expect(count(html, 'class="nal-chart"')).toBe(1);
    // every frame is a whole chart with its own div
    expect(new Set(frames.map((h) => /<div id="([^"]+)"/.exec(h)![1])).size).toBe(6);
  });

  it('throttles redraws but always draws the last figure', () => {
    const frames: string[] = [];
    const live = createLiveChart({ display: { html: (s) => frames.push(s) }, includePlotly: false, minIntervalMs: 60_000 });
    for (let k = 1; k <= 50; k++) live.update(frame(k));
    live.done();
    expect(frames.map(titleOf)).toEqual(['Frame 1', 'Frame 50']);
    expect(frames.some(bundled)).toBe(false);
    const again: string[] = [];
    const other = createLiveChart({ display: { html: (s) => again.push(s) }, minIntervalMs: 0 });
    other.update(frame(1));
    other.done(frame(2));
    other.done(frame(3)); // only once
    expect(again.map(titleOf)).toEqual(['Frame 1', 'Frame 2']);
    expect(again.map(bundled)).toEqual([true, true]);
    // a chart done after its only frame keeps that frame: it already carries the bundle
    const single: string[] = [];
    const one = createLiveChart({ display: { html: (s) => single.push(s) }, minIntervalMs: 0 });
    const f = frame(1);
    one.update(f);
    one.done();
    expect(single.map(bundled)).toEqual([true]);
  });

  it('prints a one-line note outside tslab', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const live = createLiveChart();
    live.update(frame(1));
    live.update(frame(2));
    expect(log).not.toHaveBeenCalled();
    live.done();
    expect(log).toHaveBeenCalledTimes(1);
    expect(String(log.mock.calls[0][0])).toMatch(/^\[chart\] Frame 2 .*tslab/);
    expect(live.frames).toBe(0);
  });
});
