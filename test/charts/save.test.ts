import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MissingDependencyError } from '../../src/core/errors';
import { chartPage, findChromium, saveChart } from '../../src/charts/save';
import type { Figure } from '../../src/charts/figure';

const fig: Figure = {
  data: [{ type: 'bar', name: 'n', x: ['a', 'b'], y: [1, 2] }],
  layout: { title: { text: 'Two bars </script><b>bold</b>' }, height: 300 },
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-save-'));
const inCI = ['1', 'true', 'yes'].includes(String(process.env.CI ?? '').toLowerCase());
const exe = findChromium();
const imageSkip = exe || inCI ? null : 'Skipping saveChart PNG/SVG: no Chromium found (/usr/bin/chromium, or set NAL_CHROMIUM). It runs in CI (CI=true).';
if (imageSkip) console.warn(imageSkip);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('saveChart', () => {
  const saved = process.env.NAL_CHROMIUM;
  afterEach(() => {
    if (saved === undefined) delete process.env.NAL_CHROMIUM;
    else process.env.NAL_CHROMIUM = saved;
  });

  it('writes a self-contained HTML page (plotly.js inlined), creating folders, without a browser', async () => {
    process.env.NAL_CHROMIUM = path.join(tmp, 'no-browser-here');
    const file = await saveChart(fig, path.join(tmp, 'sub', 'chart.html'));
    const html = fs.readFileSync(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.length).toBeGreaterThan(1_000_000);
    expect(html).toContain('window.Plotly = Plotly');
    expect(html).toContain('<title>Two bars bold</title>');
    expect(html.match(/<\/script>/g)!.length).toBe(2); // the bundle and the drawing script: the title cannot break out
    expect(chartPage(fig, { title: 'T' })).toContain('<title>T</title>');
  });

  it('refuses an unknown extension, and an image without a browser with a clear error', async () => {
    await expect(saveChart(fig, path.join(tmp, 'x.gif'))).rejects.toThrow(/cannot tell the format of .*x\.gif/);
    process.env.NAL_CHROMIUM = path.join(tmp, 'no-browser-here');
    const err = await saveChart(fig, path.join(tmp, 'x.png')).catch((e) => e);
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect(err.message).toMatch(/PNG image needs a Chromium or Chrome.*NAL_CHROMIUM=.*does not exist.*save the chart as \.html/);
    expect(fs.existsSync(path.join(tmp, 'x.png'))).toBe(false);
  });

  it.skipIf(imageSkip !== null)(
    'renders PNG and SVG images with headless Chromium, at the size asked',
    async () => {
      const png = await saveChart(fig, path.join(tmp, 'chart.png'), { width: 640, height: 320, scale: 1 });
      const buf = fs.readFileSync(png);
      expect(buf.subarray(1, 4).toString()).toBe('PNG');
      expect([buf.readUInt32BE(16), buf.readUInt32BE(20)]).toEqual([640, 320]);
      const svg = fs.readFileSync(await saveChart(fig, path.join(tmp, 'chart.svg')), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('width="900" height="300"');
      expect(svg).toContain('Two bars');
    },
    120_000,
  );
});
