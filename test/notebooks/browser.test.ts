/// <reference lib="dom" />
/**
 * The HTML reports in a real browser: each opens offline from file:// in headless Chromium
 * (playwright-core), every chart draws (Plotly's SVG with drawn traces), the page logs no console
 * errors, requests nothing from the network, and no line of code is cut off. A full-page screenshot of each report goes to
 * reports/screenshots/NAME.png.
 *
 * Needs Jupyter (to produce the reports) and Chromium; skips with a printed reason without them,
 * never in CI (CI=true).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, chromiumPath, ensureReports, runner } from './support';
import type { RunManifest } from './support';

const names = runner.listNotebooks().map((f) => path.basename(f, '.ipynb'));
const SCREENSHOTS = path.join(runner.REPORTS_DIR, 'screenshots');

/** Chromium flags that keep a headless run off the network and the GPU. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface PlotInfo {
  title: string;
  svg: number;
  traces: number;
  marks: number;
}

if (browserSkipReason) console.warn(browserSkipReason);

describe.skipIf(browserSkipReason !== null)('HTML reports in headless Chromium', () => {
  let run: RunManifest;
  let browser: Browser;
  let browserHome: string | undefined;

  beforeAll(async () => {
    run = await ensureReports();
    if (!chromiumPath) throw new Error('no Chromium: install it (Debian/Ubuntu: apt-get install -y chromium) or set NAL_CHROMIUM');
    // playwright gives the browser a fresh temporary profile (--user-data-dir) per launch; HOME and
    // the XDG dirs point into a scratch folder too (Chromium writes ~/.cache/dconf, fontconfig caches)
    browserHome = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-chromium-home-'));
    const env = { ...process.env, HOME: browserHome, XDG_CACHE_HOME: path.join(browserHome, '.cache'), XDG_CONFIG_HOME: path.join(browserHome, '.config') };
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS, headless: true, env });
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
  }, 20 * 60_000);

  afterAll(async () => {
    await browser?.close();
    if (browserHome) fs.rmSync(browserHome, { recursive: true, force: true });
  });

  it.each(names)(
    '%s.html draws every chart offline without console errors',
    async (name) => {
      const result = run.results.find((r) => r.name === name);
      expect(result, `the notebook run produced no ${name}.html`).toBeDefined();
      // a notebook run without its dataset (metadata.nal.requiresData) shows no charts
      const expected = result!.dataMissing?.length ? result!.charts.count : result!.charts.expected;
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const problems: string[] = [];
      const network: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
        network.push(url);
        return route.abort();
      });
      try {
        await page.goto(pathToFileURL(result!.html).href, { waitUntil: 'load' });
        // every Plotly container has its SVG and at least one drawn trace
        await page
          .waitForFunction(
            (n) => {
              const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
              return plots.length >= (n ?? 1) && plots.every((p) => p.querySelector('.main-svg') && p.querySelector('.trace, .hm'));
            },
            expected,
            { timeout: 30_000 },
          )
          .catch(() => undefined); // the assertions below say what is missing
        const plots: PlotInfo[] = await page.evaluate(() =>
          Array.from(document.querySelectorAll('.js-plotly-plot')).map((p) => {
            const drawn = Array.from(
              // markers (path.point), lines (.js-line), bars (.bars path), heatmaps (g.hm image), pie slices...
              p.querySelectorAll('.main-svg .trace path, .main-svg .trace image, .main-svg .hm image'),
            ).filter((el) => el.tagName.toLowerCase() === 'image' || ((el.getAttribute('d') ?? '').length > 4 && el.getAttribute('d') !== 'M0,0Z'));
            return {
              title: p.querySelector('.gtitle')?.textContent ?? '',
              svg: p.querySelectorAll('.main-svg').length,
              // Plotly draws a heatmap as a g.hm group (an <image>), without the .trace class
              traces: p.querySelectorAll('.trace, .hm').length,
              marks: drawn.length,
            };
          }),
        );
        // no code line is cut off: every input fits its box (lines wrap) or can be scrolled to
        const cutOff: string[] = await page.evaluate(() =>
          Array.from(document.querySelectorAll('.jp-InputArea-editor')).flatMap((box) => {
            const pre = box.querySelector('pre');
            if (!pre) return [];
            const hidden = (el: Element) => ['hidden', 'clip'].includes(getComputedStyle(el).overflowX);
            const overflows = pre.scrollWidth > pre.clientWidth + 1 || box.scrollWidth > box.clientWidth + 1;
            return overflows && (hidden(pre) || hidden(box)) ? [(pre.textContent ?? '').split('\n').sort((a, b) => b.length - a.length)[0].slice(0, 80)] : [];
          }),
        );
        await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

        expect(plots.length, 'Plotly charts in the page').toBe(expected);
        for (const [i, p] of plots.entries()) {
          const label = `chart ${i + 1} "${p.title}"`;
          expect(p.svg, `${label}: Plotly SVG`).toBeGreaterThan(0);
          expect(p.traces, `${label}: traces`).toBeGreaterThan(0);
          expect(p.marks, `${label}: drawn data points/bars/lines`).toBeGreaterThan(0);
        }
        expect(cutOff, 'code lines cut off in the report').toEqual([]);
        expect(problems).toEqual([]);
        expect(network, 'the report must be self-contained').toEqual([]);
      } finally {
        await page.close();
      }
    },
    120_000,
  );
});
