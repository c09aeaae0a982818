/**
 * The Node HTML renderer of executed notebooks (scripts/notebook/render.mjs): nbconvert's choice
 * of output and its stream handling, Jupyter's heading ids, markdown and code highlighting, no
 * network resources, and code lines that wrap instead of being cut off.
 */
import { describe, expect, it } from 'vitest';
import { ansiToHtml, coalesceStreams, headingId, markdownToHtml, notebookTitle, pickMimeType, renderNotebook, reportCss } from '../../scripts/notebook/render.mjs';

const code = (source: string, outputs: object[], extra: object = {}) => ({ cell_type: 'code', execution_count: 3, metadata: {}, outputs, source, ...extra });
const nb = (cells: object[], metadata: object = {}) => ({ nbformat: 4, nbformat_minor: 5, metadata: { language_info: { name: 'typescript' }, ...metadata }, cells });

describe('output choice', () => {
  it("picks one representation in nbconvert's HTML order", () => {
    expect(pickMimeType({ 'text/plain': 'x', 'text/html': '<b>x</b>' })).toBe('text/html');
    expect(pickMimeType({ 'text/plain': 'x', 'image/png': 'AAA' })).toBe('image/png');
    expect(pickMimeType({ 'image/svg+xml': '<svg/>', 'image/png': 'AAA' })).toBe('image/svg+xml');
    expect(pickMimeType({ 'text/markdown': '*x*', 'text/plain': 'x' })).toBe('text/markdown');
    expect(pickMimeType({ 'application/javascript': '1', 'text/html': 'h' })).toBe('application/javascript');
    // a chart's Plotly JSON is shown through its HTML fallback, as nbconvert does, and drawn from
    // the JSON when it has no HTML form
    expect(pickMimeType({ 'application/vnd.plotly.v1+json': {}, 'text/html': '<div></div>' })).toBe('text/html');
    expect(pickMimeType({ 'application/vnd.plotly.v1+json': {}, 'text/plain': 'Figure' })).toBe('application/vnd.plotly.v1+json');
    // a widget view without saved widget state is skipped
    expect(pickMimeType({ 'application/vnd.jupyter.widget-view+json': { model_id: 'm' }, 'text/plain': 'w' })).toBe('text/plain');
    expect(pickMimeType({ 'application/x-unknown': 'z' })).toBeNull();
  });

  it('merges consecutive streams of one name and applies carriage returns (coalesce_streams)', () => {
    const merged = coalesceStreams([
      { output_type: 'stream', name: 'stdout', text: 'a\n' },
      { output_type: 'stream', name: 'stdout', text: ['b\n', 'c'] },
      { output_type: 'stream', name: 'stderr', text: 'warn\n' },
      { output_type: 'stream', name: 'stdout', text: '10%\r50%\r100%\ndone\n' },
    ]);
    expect(merged).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'a\nb\nc' },
      { output_type: 'stream', name: 'stderr', text: 'warn\n' },
      { output_type: 'stream', name: 'stdout', text: '100%\ndone\n' },
    ]);
  });

  it('turns ANSI colours into classes and escapes the text', () => {
    expect(ansiToHtml('\x1b[31mred <b>\x1b[0m plain')).toBe('<span class="ansi-red-fg">red &lt;b&gt;</span> plain');
    expect(ansiToHtml('\x1b[1;92mok\x1b[39;22m')).toBe('<span class="ansi-green-intense-fg ansi-bold">ok</span>');
    expect(ansiToHtml('\x1b[38;2;1;2;3mrgb')).toBe('<span style="color: rgb(1,2,3)">rgb</span>');
    expect(ansiToHtml('\x1b[2Kcleared')).toBe('cleared');
  });
});

describe('Plotly figures given as JSON only', () => {
  it('are drawn with plotly.js inlined once per page', () => {
    const fig = (title: string) => ({
      output_type: 'display_data',
      metadata: {},
      data: { 'application/vnd.plotly.v1+json': { data: [{ type: 'bar', x: [1], y: [2] }], layout: { title: { text: title }, height: 300 } }, 'text/plain': 'Figure' },
    });
    const page = renderNotebook(nb([code('show()', [fig('A </script> B'), fig('Second')])]));
    expect(page.match(/plotly\.js, inlined so the page works offline/g)).toHaveLength(1);
    expect(page.match(/window\.Plotly\.newPlot\(/g)).toHaveLength(2);
    expect(page).toContain('"title":{"text":"A \\u003c/script> B"}');
    expect(page).toContain('class="nal-chart" style="width:100%;height:300px;"');
  });
});

describe('markdown', () => {
  it('gives headings the ids and anchor links Jupyter gives them', () => {
    expect(headingId('02 &#183; Training the ensemble')).toBe('02-%C2%B7-Training-the-ensemble');
    expect(headingId('1. The <code>options</code>')).toBe('1.-The-options');
    const html = markdownToHtml('## 1. The options');
    expect(html).toContain('<h2 id="1.-The-options">1. The options<a class="anchor-link" href="#1.-The-options">&#182;</a></h2>');
  });

  it('renders GitHub-flavoured markdown, inline HTML, attachments and highlighted fenced code', () => {
    const html = markdownToHtml('| a | b |\n|---|---|\n| 1 | 2 |\n\n<span class="x">raw</span>\n\n![pic](attachment:p.png)\n\n```ts\nconst x = 1;\n```', {
      attachments: { 'p.png': { 'image/png': 'iVBORw0K' } },
    });
    expect(html).toContain('<table>');
    expect(html).toContain('<span class="x">raw</span>');
    expect(html).toContain('src="data:image/png;base64,iVBORw0K"');
    expect(html).toContain('<span class="hljs-keyword">const</span>');
  });
});

describe('renderNotebook', () => {
  const page = renderNotebook(
    nb([
      { cell_type: 'markdown', metadata: {}, source: '# Report title\nText with `code`.' },
      code("const veryLong = '" + 'x'.repeat(400) + "';\nconsole.log(veryLong)", [
        { output_type: 'stream', name: 'stdout', text: 'one\n' },
        { output_type: 'stream', name: 'stdout', text: 'two\n' },
        { output_type: 'stream', name: 'stderr', text: 'careful <now>\n' },
        { output_type: 'display_data', metadata: {}, data: { 'text/html': '<div class="nal-chart">chart</div>', 'text/plain': 'chart' } },
        { output_type: 'execute_result', execution_count: 3, metadata: {}, data: { 'text/plain': "{ a: '<1>' }" } },
        { output_type: 'error', ename: 'TypeError', evalue: 'bad', traceback: ['TypeError: bad', '    at <anonymous>'] },
        { output_type: 'display_data', metadata: { 'image/png': { width: 40 } }, data: { 'image/png': 'iVBORw0K\n', 'text/plain': 'img' } },
      ]),
      code('secret.input()', [{ output_type: 'display_data', metadata: {}, data: { 'text/html': '<section>provenance</section>' } }], { metadata: { tags: ['provenance', 'remove-input'] } }),
      { cell_type: 'raw', metadata: {}, source: '<p class="raw">raw html</p>' },
    ]),
  );

  it('is one self-contained page: title, inlined stylesheet, nothing from the network', () => {
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain('<title>Report title</title>');
    expect(page).toContain('<meta charset="utf-8">');
    expect(page).toContain(reportCss());
    expect(page).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(page).not.toMatch(/@import|url\(http/);
  });

  it('shows code with its prompt and highlighting, outputs in order with nbconvert classes', () => {
    expect(page).toContain('In&nbsp;[3]:');
    expect(page).toContain('<span class="hljs-keyword">const</span>');
    expect(page).toContain('<pre>one\ntwo\n</pre>');
    expect(page).toContain('data-mime-type="application/vnd.jupyter.stderr">\n<pre>careful &lt;now&gt;\n</pre>');
    expect(page).toContain('<div class="nal-chart">chart</div>');
    expect(page).toContain('Out[3]:');
    expect(page).toContain("{ a: &#39;&lt;1&gt;&#39; }");
    expect(page).toContain('<pre>TypeError: bad\n    at &lt;anonymous&gt;</pre>');
    expect(page).toContain('<img src="data:image/png;base64,iVBORw0K" width="40">');
    expect(page).toContain('<p class="raw">raw html</p>');
    const order = ['one', 'careful', 'nal-chart', 'Out[3]', 'TypeError: bad', 'image/png'].map((s) => page.indexOf(s));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('hides the input of cells tagged remove-input, keeps their output', () => {
    expect(page).not.toContain('secret.input');
    expect(page).toContain('<section>provenance</section>');
    expect(page).toContain('celltag_remove-input');
  });

  it('wraps long code lines instead of cutting them off', () => {
    expect(page).toContain('x'.repeat(400));
    const css = reportCss();
    const rule = css.slice(css.indexOf('.jp-InputArea-editor pre {'));
    expect(rule.slice(0, rule.indexOf('}'))).toMatch(/white-space: pre-wrap;[\s\S]*overflow-wrap: anywhere;/);
    expect(css).not.toMatch(/\.jp-InputArea-editor[^{]*\{[^}]*overflow:\s*hidden/);
  });

  it("takes the title from metadata.title, else the first heading, else the fallback", () => {
    expect(notebookTitle(nb([], { title: 'Meta' }))).toBe('Meta');
    expect(notebookTitle(nb([{ cell_type: 'markdown', source: ['intro\n', '## Second level'] }]))).toBe('Second level');
    expect(notebookTitle(nb([]), 'name')).toBe('name');
  });
});
