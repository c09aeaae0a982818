/// <reference lib="dom" />
/**
 * The chart loader in a real browser (headless Chromium through playwright-core): chart outputs
 * inserted into a page the way notebook front ends insert them (innerHTML, then each script
 * re-created so it runs) draw in every order and situation a live notebook produces: the output
 * carrying plotly.js arriving last, cleared, or in a shadow root; outputs that carry none waiting
 * until one arrives; a page that already has `window.Plotly`. Offline: every request is blocked.
 *
 * Needs Chromium; skips with a printed reason without it, never in CI (CI=true).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartHtml, plotlyScriptTag } from '../../src/charts/display';
import { findChromium } from '../../src/charts/save';
import type { Figure } from '../../src/charts/figure';

const inCI = ['1', 'true', 'yes'].includes(String(process.env.CI ?? '').toLowerCase());
const exe = findChromium();
const skipReason = exe || inCI ? null : 'Skipping the chart loader browser test: no Chromium found (/usr/bin/chromium, or set NAL_CHROMIUM). It runs in CI (CI=true).';
if (skipReason) console.warn(skipReason);

const fig = (title: string): Figure => ({ data: [{ type: 'bar', x: ['a', 'b'], y: [1, 2] }], layout: { title: { text: title }, height: 200 } });

/** Insert an output's HTML as JupyterLab, classic Notebook and VS Code do: innerHTML, then re-create each script so it runs. */
async function insert(page: Page, html: string, opts: { shadow?: boolean; id?: string } = {}): Promise<void> {
  await page.evaluate(
    ({ html, shadow, id }) => {
      const host = document.createElement('div');
      host.className = 'output';
      if (id) host.id = id;
      document.body.appendChild(host);
      const root: ParentNode & { innerHTML: string } = shadow ? host.attachShadow({ mode: 'open' }) : host;
      root.innerHTML = html;
      for (const old of Array.from(root.querySelectorAll('script'))) {
        const s = document.createElement('script');
        for (const a of Array.from(old.attributes)) s.setAttribute(a.name, a.value);
        s.textContent = old.textContent;
        old.replaceWith(s);
      }
    },
    { html, shadow: opts.shadow ?? false, id: opts.id ?? '' },
  );
}

/** Titles of the charts drawn so far (Plotly's SVG with a trace), in the document and in shadow roots. */
function drawn(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const roots: ParentNode[] = [document, ...Array.from(document.querySelectorAll('.output')).flatMap((h) => (h.shadowRoot ? [h.shadowRoot] : []))];
    return roots.flatMap((r) =>
      Array.from(r.querySelectorAll('.js-plotly-plot'))
        .filter((p) => p.querySelector('.main-svg .trace'))
        .map((p) => p.querySelector('.gtitle')?.textContent ?? ''),
    );
  });
}

async function waitDrawn(page: Page, n: number): Promise<string[]> {
  for (let t = 0; t < 200; t++) {
    const d = await drawn(page);
    if (d.length >= n) return d;
    await page.waitForTimeout(100);
  }
  return drawn(page);
}

describe.skipIf(skipReason !== null)('chart loader in headless Chromium', () => {
  let browser: Browser;
  let home: string;

  beforeAll(async () => {
    if (!exe) throw new Error('no Chromium: install it (Debian/Ubuntu: apt-get install -y chromium) or set NAL_CHROMIUM');
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-loader-home-'));
    const env = { ...process.env, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), XDG_CONFIG_HOME: path.join(home, '.config') };
    browser = await chromium.launch({ executablePath: exe, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], headless: true, env });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  async function newPage(): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
    return { page, errors, requests };
  }

  it('draws outputs in any order: the one carrying plotly.js may come last', async () => {
    const { page, errors, requests } = await newPage();
    await insert(page, chartHtml(fig('B')));
    await insert(page, chartHtml(fig('C')));
    await page.waitForTimeout(300);
    expect(await drawn(page)).toEqual([]); // nothing to draw with yet, and no error
    await insert(page, chartHtml(fig('A'), { includePlotly: true }));
    expect((await waitDrawn(page, 3)).sort()).toEqual(['A', 'B', 'C']);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }, 60_000);

  it('draws an output from another output of the page, and after the carrying output is gone (a re-run cell)', async () => {
    const { page, errors } = await newPage();
    await insert(page, chartHtml(fig('first'), { includePlotly: true }), { id: 'cell1' });
    await waitDrawn(page, 1);
    await page.evaluate(() => document.getElementById('cell1')!.remove()); // the cell is re-run: its output cleared
    await insert(page, chartHtml(fig('again')));
    expect(await waitDrawn(page, 1)).toEqual(['again']);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('draws every chart of a saved notebook reopened in a fresh page, each cell carrying its bundle', async () => {
    const { page, errors } = await newPage();
    const html = [chartHtml(fig('1'), { includePlotly: true }), chartHtml(fig('2')), chartHtml(fig('3'), { includePlotly: true }), chartHtml(fig('4'))];
    // the front end renders the outputs in reverse, the carrying ones last
    for (const h of [...html].reverse()) await insert(page, h);
    expect((await waitDrawn(page, 4)).sort()).toEqual(['1', '2', '3', '4']);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('draws inside a shadow root, and with window.Plotly already on the page', async () => {
    const { page, errors } = await newPage();
    await insert(page, chartHtml(fig('shadow'), { includePlotly: true }), { shadow: true });
    expect(await waitDrawn(page, 1)).toEqual(['shadow']);
    const other = await newPage();
    await other.page.setContent(`<!doctype html><html><head><meta charset="utf-8">${plotlyScriptTag()}</head><body></body></html>`);
    await insert(other.page, chartHtml(fig('global')));
    expect(await waitDrawn(other.page, 1)).toEqual(['global']);
    expect([...errors, ...other.errors]).toEqual([]);
    await page.close();
    await other.page.close();
  }, 60_000);

  it('redraws a live chart whose frames replace each other while plotly.js is still unpacking', async () => {
    const { page, errors } = await newPage();
    // frame 1 carries the bundle and is replaced at once by frames that do not, then the final one that does
    const frames = [chartHtml(fig('f1'), { includePlotly: true }), chartHtml(fig('f2')), chartHtml(fig('f3')), chartHtml(fig('final'), { includePlotly: true })];
    for (const h of frames) {
      await page.evaluate(() => document.getElementById('live')?.remove());
      await insert(page, h, { id: 'live' });
    }
    expect(await waitDrawn(page, 1)).toEqual(['final']);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
