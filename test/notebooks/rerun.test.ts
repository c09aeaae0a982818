/// <reference lib="dom" />
/**
 * Charts survive live use: a notebook is run in a live tslab kernel, its first chart cell is run
 * again in the same kernel (test/notebooks/live_rerun.py, nbclient), the notebook is saved and
 * exported with nbconvert, and in headless Chromium every chart draws, offline, both in the
 * export and when the saved outputs are put into a fresh page one by one, as a front end does
 * when it reopens the notebook. Notebook 03 (six charts over five cells) and 08 (a live chart
 * redrawn in place through display updates).
 *
 * Needs Jupyter's Python packages and Chromium; skips with a printed reason without them, never
 * in CI (CI=true).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSkipReason, chromiumPath, jupyter, jupyterSkipReason, runner, withLock } from './support';

const NOTEBOOKS = ['03-detection-and-model-comparison', '08-streaming-detection'];
const SCRIPT = path.join(runner.ROOT, 'test', 'notebooks', 'live_rerun.py');

interface Rerun {
  name: string;
  rerunCell: number;
  chartsInCellBefore: number;
  chartsInCellAfter: number;
  charts: number;
}

function runLive(notebook: string, outDir: string, home: string): Promise<Rerun> {
  return new Promise((resolve, reject) => {
    const child = spawn(jupyter.python!, [SCRIPT, notebook, outDir], { cwd: runner.ROOT, env: runner.jupyterEnv({ HOME: home }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RERUN '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(6)) as Rerun);
      else reject(new Error(`live_rerun.py exited ${code}:\n${err.trim().split('\n').slice(-30).join('\n')}`));
    });
  });
}

/** Titles of the charts drawn (Plotly's SVG with a drawn trace) after waiting for `n` of them. */
async function drawnCharts(page: Page, n: number): Promise<string[]> {
  await page
    .waitForFunction(
      (k) => {
        const plots = Array.from(document.querySelectorAll('.js-plotly-plot'));
        return plots.length >= k && plots.every((p) => p.querySelector('.main-svg') && p.querySelector('.trace, .hm'));
      },
      n,
      { timeout: 60_000 },
    )
    .catch(() => undefined); // the assertions say what is missing
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('.js-plotly-plot'))
      .filter((p) => p.querySelector('.main-svg .trace path, .main-svg .trace image, .main-svg .hm image'))
      .map((p) => p.querySelector('.gtitle')?.textContent ?? ''),
  );
}

// a live re-run needs Jupyter (nbclient drives the kernel, nbconvert exports) and Chromium
const rerunSkipReason = jupyterSkipReason ?? browserSkipReason;
if (rerunSkipReason) console.warn(rerunSkipReason.replace(/the HTML reports|the comparison with Jupyter's executor \(--executor nbclient\)/, 'charts after a live re-run'));

describe.skipIf(rerunSkipReason !== null)('charts after re-running a cell in a live kernel, saving and reopening', () => {
  let browser: Browser;
  let tmp: string;

  beforeAll(async () => {
    if (!chromiumPath) throw new Error('no Chromium: install it (Debian/Ubuntu: apt-get install -y chromium) or set NAL_CHROMIUM');
    if (!jupyter.python) throw new Error(`no Python with ${runner.RUN_MODULES.join(', ')}:\n${runner.INSTALL_HELP}`);
    runner.ensureBuilt({ log: () => {} });
    runner.setupKernel({ log: () => {} });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-rerun-'));
    const home = path.join(tmp, 'browser-home');
    fs.mkdirSync(home);
    const env = { ...process.env, HOME: home, XDG_CACHE_HOME: path.join(home, '.cache'), XDG_CONFIG_HOME: path.join(home, '.config') };
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'], headless: true, env });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function newPage(): Promise<{ page: Page; problems: string[]; network: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const network: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:') || url.startsWith('blob:') || url === 'about:blank') return route.continue();
      network.push(url);
      return route.abort();
    });
    return { page, problems, network };
  }

  it.each(NOTEBOOKS)(
    '%s: every chart draws after its first chart cell is run again',
    async (name) => {
      const out = path.join(tmp, name);
      const home = path.join(tmp, `${name}-home`);
      fs.mkdirSync(home, { recursive: true });
      const rerun = await withLock(() => runLive(path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`), out, home));
      const expected = runner.notebookSpec(runner.readNotebook(path.join(runner.NOTEBOOKS_DIR, `${name}.ipynb`))).expectedCharts!;
      // the re-run cell shows its charts again (a live chart: once, in its final state), and nothing else changed
      expect(rerun.chartsInCellAfter).toBe(rerun.chartsInCellBefore);
      expect(rerun.charts).toBe(expected);

      // 1. the notebook exported by nbconvert
      {
        const { page, problems, network } = await newPage();
        await page.goto(pathToFileURL(path.join(out, `${name}.html`)).href, { waitUntil: 'load' });
        const drawn = await drawnCharts(page, expected);
        await page.close();
        expect(drawn, 'charts drawn in the nbconvert export').toHaveLength(expected);
        expect(problems).toEqual([]);
        expect(network, 'the export must be self-contained').toEqual([]);
      }

      // 2. the saved notebook reopened: each output put into a fresh page as a front end does
      //    (innerHTML, then every script re-created so that it runs), in the notebook's order
      {
        const saved = runner.readNotebook(path.join(out, `${name}.ipynb`));
        const outputs = saved.cells
          .flatMap((c) => c.outputs ?? [])
          .map((o) => {
            const h = o.data?.['text/html'];
            return Array.isArray(h) ? h.join('') : (h ?? '');
          })
          .filter((h: string) => h.includes('class="nal-chart"'));
        const { page, problems, network } = await newPage();
        await page.setContent('<!doctype html><html><head><meta charset="utf-8"></head><body></body></html>');
        for (const html of outputs) {
          await page.evaluate((h) => {
            const host = document.createElement('div');
            host.className = 'output_html';
            document.body.appendChild(host);
            host.innerHTML = h;
            for (const old of Array.from(host.querySelectorAll('script'))) {
              const s = document.createElement('script');
              for (const a of Array.from(old.attributes)) s.setAttribute(a.name, a.value);
              s.textContent = old.textContent;
              old.replaceWith(s);
            }
          }, html);
        }
        const drawn = await drawnCharts(page, expected);
        await page.close();
        expect(drawn, 'charts drawn when the saved notebook is reopened').toHaveLength(expected);
        expect(problems).toEqual([]);
        expect(network).toEqual([]);
      }
    },
    15 * 60_000,
  );
});
