/**
 * Renders an executed notebook to one self-contained HTML page in Node: the content and structure
 * of nbconvert's `lab` template as scripts/nbconvert-templates/nal configures it (no require.js, no
 * MathJax, nothing fetched from the network), with our own stylesheet (report.css).
 *
 * - markdown cells: `marked` (GitHub-flavoured), headings with Jupyter's ids and `¶` anchor links,
 *   `attachment:` images inlined, fenced code highlighted;
 * - code cells: `In [n]:` prompts and highlight.js highlighting in the notebook's language; long
 *   lines wrap (nothing is cut off);
 * - outputs: one representation per output, picked in nbconvert's HTML order (JavaScript, HTML,
 *   markdown, SVG, LaTeX, PNG, JPEG, plain text; a Plotly figure that has only its JSON form is
 *   drawn from it, with plotly.js inlined once); consecutive stream outputs merged and `\r`
 *   overwrites applied as nbconvert's `coalesce_streams` does; ANSI colours in text; `Out[n]:` on
 *   execute results; errors as their traceback;
 * - cells tagged `remove-input` show only their outputs (the provenance section uses it).
 *
 * HTML and JavaScript outputs are inserted as they are (like nbconvert without sanitising): the
 * charts' own scripts draw them from the plotly.js bundle inlined in the first chart's output.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marked } from 'marked';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const STYLESHEET = path.join(HERE, 'report.css');

/** nbconvert's HTMLExporter display_data_priority (widget views need saved widget state). */
export const DISPLAY_PRIORITY = [
  'application/vnd.jupyter.widget-view+json',
  'application/javascript',
  'text/html',
  'text/markdown',
  'image/svg+xml',
  'text/latex',
  'image/png',
  'image/jpeg',
  'text/plain',
];

/** Tags that hide a cell's input in the report (Jupyter Book's and nbconvert users' convention). */
export const REMOVE_INPUT_TAGS = ['remove-input', 'remove_input'];

const text = (v) => (Array.isArray(v) ? v.join('') : (v ?? ''));

/** Escape text for HTML content and attribute values. */
export function escapeHtml(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// ---------------------------------------------------------------------------------------------
// code highlighting

let hljs;
function highlighter() {
  if (!hljs) {
    hljs = require('highlight.js/lib/core');
    for (const lang of ['typescript', 'javascript', 'json', 'python', 'bash', 'shell', 'xml', 'css', 'markdown', 'plaintext']) {
      hljs.registerLanguage(lang, require(`highlight.js/lib/languages/${lang}`));
    }
    hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
    hljs.registerAliases(['js', 'jsx', 'mjs', 'cjs'], { languageName: 'javascript' });
    hljs.registerAliases(['sh', 'console'], { languageName: 'bash' });
    hljs.registerAliases(['html'], { languageName: 'xml' });
  }
  return hljs;
}

/**
 * Source code as highlighted HTML (highlight.js classes), escaped text when the language is
 * unknown.
 * @param {string} code
 * @param {string} [language] e.g. `typescript`
 */
export function highlightCode(code, language) {
  const h = highlighter();
  const lang = language && h.getLanguage(language) ? language : null;
  return lang ? h.highlight(code, { language: lang, ignoreIllegals: true }).value : escapeHtml(code);
}

// ---------------------------------------------------------------------------------------------
// ANSI escape sequences -> HTML (nbconvert's ansi2html classes)

const ANSI_COLORS = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];

/**
 * Text with ANSI SGR colour codes as HTML: escaped, coloured runs in `<span class="ansi-...">`
 * (the 8 named colours, intense variants, bold, underline) or inline styles (256 colours, RGB);
 * other escape sequences are dropped.
 */
export function ansiToHtml(input) {
  const s = String(input);
  let out = '';
  let state = { fg: null, bg: null, bold: false, underline: false, inverse: false };
  const re = /\x1b\[([\d;]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]/g;
  let last = 0;
  let m;
  const emit = (chunk) => {
    if (!chunk) return;
    const classes = [];
    const styles = [];
    let { fg, bg } = state;
    if (state.inverse) [fg, bg] = [bg ?? 'default-inverse', fg ?? 'default-inverse'];
    for (const [c, kind] of [
      [fg, 'fg'],
      [bg, 'bg'],
    ]) {
      if (c == null) continue;
      if (typeof c === 'string') classes.push(`ansi-${c}-${kind}`);
      else styles.push(`${kind === 'fg' ? 'color' : 'background-color'}: rgb(${c.join(',')})`);
    }
    if (state.bold) classes.push('ansi-bold');
    if (state.underline) classes.push('ansi-underline');
    const body = escapeHtml(chunk);
    if (!classes.length && !styles.length) out += body;
    else out += `<span${classes.length ? ` class="${classes.join(' ')}"` : ''}${styles.length ? ` style="${styles.join('; ')}"` : ''}>${body}</span>`;
  };
  while ((m = re.exec(s))) {
    emit(s.slice(last, m.index));
    last = re.lastIndex;
    if (m[2] !== 'm') continue;
    const codes = m[1] === '' ? [0] : m[1].split(';').map((x) => Number(x || 0));
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) state = { fg: null, bg: null, bold: false, underline: false, inverse: false };
      else if (c === 1) state.bold = true;
      else if (c === 4) state.underline = true;
      else if (c === 7) state.inverse = true;
      else if (c === 22) state.bold = false;
      else if (c === 24) state.underline = false;
      else if (c === 27) state.inverse = false;
      else if (c >= 30 && c <= 37) state.fg = ANSI_COLORS[c - 30];
      else if (c === 39) state.fg = null;
      else if (c >= 40 && c <= 47) state.bg = ANSI_COLORS[c - 40];
      else if (c === 49) state.bg = null;
      else if (c >= 90 && c <= 97) state.fg = `${ANSI_COLORS[c - 90]}-intense`;
      else if (c >= 100 && c <= 107) state.bg = `${ANSI_COLORS[c - 100]}-intense`;
      else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
        const color = xterm256(codes[i + 2] ?? 0);
        if (c === 38) state.fg = color;
        else state.bg = color;
        i += 2;
      } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
        const color = [codes[i + 2] ?? 0, codes[i + 3] ?? 0, codes[i + 4] ?? 0];
        if (c === 38) state.fg = color;
        else state.bg = color;
        i += 4;
      }
    }
  }
  emit(s.slice(last));
  return out;
}

function xterm256(n) {
  if (n < 8) return ANSI_COLORS[n];
  if (n < 16) return `${ANSI_COLORS[n - 8]}-intense`;
  if (n < 232) {
    const v = [Math.floor((n - 16) / 36), Math.floor((n - 16) / 6) % 6, (n - 16) % 6];
    return v.map((x) => (x ? 55 + x * 40 : 0));
  }
  const g = 8 + (n - 232) * 10;
  return [g, g, g];
}

// ---------------------------------------------------------------------------------------------
// markdown

/**
 * Python's `urllib.parse.quote` (safe = `/`): how nbconvert writes heading ids.
 * @param {string} s
 */
function pyQuote(s) {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => (/[A-Za-z0-9_.\-~/]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}

function decodeEntities(s) {
  return s
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');
}

/** The id nbconvert gives a heading: its text, spaces as `-`, URL-quoted. */
export function headingId(innerHtml) {
  const plain = decodeEntities(innerHtml.replace(/<[^>]*>/g, '')).trim();
  return pyQuote(plain.replace(/ /g, '-'));
}

/**
 * Markdown as HTML the way a Jupyter markdown cell shows it.
 * @param {string} source
 * @param {{ attachments?: Record<string, Record<string, string>>, language?: string }} [opts]
 */
export function markdownToHtml(source, { attachments = {}, language } = {}) {
  const md = new Marked({
    gfm: true,
    breaks: false,
    renderer: {
      heading({ tokens, depth }) {
        const inner = this.parser.parseInline(tokens);
        const id = headingId(inner);
        return `<h${depth} id="${escapeHtml(id)}">${inner}<a class="anchor-link" href="#${escapeHtml(id)}">&#182;</a></h${depth}>\n`;
      },
      image({ href, title, text: alt }) {
        let src = href ?? '';
        if (src.startsWith('attachment:')) {
          const bundle = attachments[src.slice('attachment:'.length)];
          const mime = bundle && Object.keys(bundle).find((k) => k.startsWith('image/'));
          if (mime) src = `data:${mime};base64,${text(bundle[mime]).replace(/\s/g, '')}`;
        }
        return `<img src="${escapeHtml(src)}" alt="${escapeHtml(alt ?? '')}"${title ? ` title="${escapeHtml(title)}"` : ''}>`;
      },
      code({ text: code, lang }) {
        const l = (lang ?? '').trim().split(/\s+/)[0] || language;
        return `<div class="highlight"><pre><code>${highlightCode(code, l)}</code></pre></div>\n`;
      },
    },
  });
  return md.parse(source);
}

// ---------------------------------------------------------------------------------------------
// outputs

/**
 * nbconvert's `coalesce_streams`: consecutive stream outputs of the same name merged, and in each
 * stream every line's text before a `\r` (not at a line's end) dropped.
 * @param {object[]} outputs
 */
export function coalesceStreams(outputs) {
  const merged = [];
  for (const o of outputs ?? []) {
    const last = merged[merged.length - 1];
    if (o.output_type === 'stream' && last?.output_type === 'stream' && last.name === o.name) last.text += text(o.text);
    else merged.push(o.output_type === 'stream' ? { ...o, text: text(o.text) } : o);
  }
  for (const o of merged) {
    if (o.output_type === 'stream' && o.text.includes('\r')) o.text = o.text.replace(/.*\r(?=[^\n])/g, '');
  }
  return merged;
}

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/**
 * The mime type shown for a mime bundle: nbconvert's choice, except that a Plotly figure
 * (`application/vnd.plotly.v1+json`) without an HTML form is drawn from its JSON (nbconvert would
 * fall back to its text); null when nothing can be shown.
 */
export function pickMimeType(data, widgetState = {}) {
  if (PLOTLY_MIME in data && !('text/html' in data) && !('application/javascript' in data)) return PLOTLY_MIME;
  for (const m of DISPLAY_PRIORITY) {
    if (!(m in data)) continue;
    if (m === 'application/vnd.jupyter.widget-view+json' && !(data[m]?.model_id in widgetState)) continue;
    return m;
  }
  return null;
}

class Renderer {
  constructor(nb, opts) {
    this.nb = nb;
    this.language = opts.language ?? nb.metadata?.language_info?.name ?? nb.metadata?.kernelspec?.language ?? 'typescript';
    this.widgetState = nb.metadata?.widgets?.['application/vnd.jupyter.widget-state+json']?.state ?? {};
    this.jsCounter = 0;
    this.plotlyIncluded = false;
  }

  cell(cell) {
    const tags = (cell.metadata?.tags ?? []).map((t) => ` celltag_${escapeHtml(t)}`).join('');
    if (cell.cell_type === 'markdown') return this.markdownCell(cell, tags);
    if (cell.cell_type === 'code') return this.codeCell(cell, tags);
    if (cell.cell_type === 'raw') {
      const mime = String(cell.metadata?.raw_mimetype ?? cell.metadata?.format ?? '').toLowerCase();
      return mime === '' || mime === 'text/html' ? text(cell.source) : '';
    }
    return `unknown type  ${escapeHtml(cell.cell_type)}`;
  }

  markdownCell(cell, tags) {
    const html = markdownToHtml(text(cell.source), { attachments: cell.attachments, language: this.language });
    return `<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell">
<div class="jp-Cell-inputWrapper">
<div class="jp-InputArea jp-Cell-inputArea"><div class="jp-InputPrompt jp-InputArea-prompt">
</div><div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput${tags}" data-mime-type="text/markdown">
${html}
</div>
</div>
</div>
</div>`;
  }

  codeCell(cell, tags) {
    const outputs = coalesceStreams(cell.outputs ?? []);
    const noInput = (cell.metadata?.tags ?? []).some((t) => REMOVE_INPUT_TAGS.includes(t));
    const count = cell.execution_count ?? '&nbsp;';
    const classes = ['jp-Cell', 'jp-CodeCell', 'jp-Notebook-cell', outputs.length ? '' : 'jp-mod-noOutputs', noInput ? 'jp-mod-noInput' : ''].filter(Boolean).join(' ');
    const input = noInput
      ? ''
      : `<div class="jp-Cell-inputWrapper">
<div class="jp-InputArea jp-Cell-inputArea">
<div class="jp-InputPrompt jp-InputArea-prompt">In&nbsp;[${count}]:</div>
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
<div class="highlight hl-${escapeHtml(this.language)}"><pre><code>${highlightCode(text(cell.source).replace(/\r?\n$/, ''), this.language)}</code></pre></div>
</div>
</div>
</div>
`;
    const body = outputs.map((o) => this.output(o, cell)).join('');
    const out = outputs.length
      ? `<div class="jp-Cell-outputWrapper">
<div class="jp-OutputArea jp-Cell-outputArea">
${body}</div>
</div>
`
      : '';
    return `<div class="${classes}${tags}">\n${input}${out}</div>`;
  }

  output(o, cell) {
    let prompt = '';
    let inner = '';
    if (o.output_type === 'stream') {
      if (o.name === 'stdin') return '';
      const mime = o.name === 'stderr' ? 'application/vnd.jupyter.stderr' : 'text/plain';
      inner = `<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="${mime}">\n<pre>${ansiToHtml(text(o.text))}</pre>\n</div>`;
    } else if (o.output_type === 'error') {
      const tb = (o.traceback ?? []).map((l) => ansiToHtml(l)).join('\n');
      inner = `<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="application/vnd.jupyter.stderr">\n<pre>${tb}</pre>\n</div>`;
    } else if (o.output_type === 'display_data' || o.output_type === 'execute_result') {
      const result = o.output_type === 'execute_result';
      if (result) prompt = `Out[${o.execution_count ?? cell.execution_count ?? '&nbsp;'}]:`;
      inner = this.mimeBundle(o, result ? ' jp-OutputArea-executeResult' : '');
    } else {
      return '';
    }
    return `<div class="jp-OutputArea-child">\n<div class="jp-OutputPrompt jp-OutputArea-prompt">${prompt}</div>\n${inner}\n</div>\n`;
  }

  /** A Plotly figure drawn from its JSON; the first one on the page carries the plotly.js bundle. */
  plotlyFigure(fig) {
    const id = `nal-plotly-output-${++this.jsCounter}`;
    const json = JSON.stringify({ data: fig?.data ?? [], layout: fig?.layout ?? {}, config: { responsive: true, displaylogo: false, ...(fig?.config ?? {}) } })
      .replace(/</g, '\\u003c')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029');
    const height = typeof fig?.layout?.height === 'number' ? fig.layout.height : 420;
    let bundle = '';
    if (!this.plotlyIncluded) {
      this.plotlyIncluded = true;
      bundle = `<script type="text/javascript">/* plotly.js, inlined so the page works offline */\n${plotlySource().replace(/<\/(script)/gi, '<\\/$1')}\n</script>\n`;
    }
    return `${bundle}<div id="${id}" class="nal-chart" style="width:100%;height:${height}px;"></div>\n<script type="text/javascript">\n(function () { var f = ${json}; window.Plotly.newPlot(document.getElementById('${id}'), f.data, f.layout, f.config); })();\n</script>`;
  }

  mimeBundle(o, extra) {
    const data = o.data ?? {};
    const mime = pickMimeType(data, this.widgetState);
    if (!mime) return '';
    const value = data[mime];
    const meta = o.metadata?.[mime] ?? {};
    switch (mime) {
      case 'text/html':
        return `<div class="jp-RenderedHTMLCommon jp-RenderedHTML jp-OutputArea-output${extra}" data-mime-type="text/html">\n${text(value)}\n</div>`;
      case 'text/markdown':
        return `<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-OutputArea-output${extra}" data-mime-type="text/markdown">\n${markdownToHtml(text(value), { language: this.language })}\n</div>`;
      case 'image/svg+xml':
        return `<div class="jp-RenderedSVG jp-OutputArea-output${extra}" data-mime-type="image/svg+xml">\n${text(value)}\n</div>`;
      case 'image/png':
      case 'image/jpeg': {
        const size = ['width', 'height'].map((k) => (meta[k] != null ? ` ${k}="${escapeHtml(meta[k])}"` : '')).join('');
        const cls = [meta.unconfined ? 'jp-mod-unconfined' : '', meta.needs_background ? `jp-needs-${meta.needs_background}-background` : ''].filter(Boolean).join(' ');
        return `<div class="jp-RenderedImage jp-OutputArea-output${extra}">\n<img src="data:${mime};base64,${escapeHtml(text(value).replace(/\s/g, ''))}"${size}${cls ? ` class="${cls}"` : ''}>\n</div>`;
      }
      case 'text/latex':
        return `<div class="jp-RenderedLatex jp-OutputArea-output${extra}" data-mime-type="text/latex">\n${escapeHtml(text(value))}\n</div>`;
      case 'application/javascript': {
        const id = `nal-js-output-${++this.jsCounter}`;
        return `<div id="${id}" class="jp-RenderedJavaScript jp-OutputArea-output${extra}" data-mime-type="application/javascript">\n<script type="text/javascript">\nvar element = document.getElementById('${id}');\n${text(value)}\n</script>\n</div>`;
      }
      case PLOTLY_MIME:
        return `<div class="jp-RenderedHTMLCommon jp-RenderedHTML jp-OutputArea-output${extra}" data-mime-type="${PLOTLY_MIME}">\n${this.plotlyFigure(value)}\n</div>`;
      case 'application/vnd.jupyter.widget-view+json': {
        const json = escapeHtml(JSON.stringify(value));
        return `<div class="jupyter-widgets jp-OutputArea-output${extra}">\n<script type="${mime}">\n${json}\n</script>\n</div>`;
      }
      default:
        return `<div class="jp-RenderedText jp-OutputArea-output${extra}" data-mime-type="text/plain">\n<pre>${ansiToHtml(text(value))}</pre>\n</div>`;
    }
  }
}

/** A notebook's title: `metadata.title`, else its first markdown heading, else `fallback`. */
export function notebookTitle(nb, fallback = 'Notebook') {
  if (typeof nb.metadata?.title === 'string' && nb.metadata.title.trim()) return nb.metadata.title.trim();
  for (const cell of nb.cells ?? []) {
    if (cell.cell_type !== 'markdown') continue;
    const m = text(cell.source).match(/^#+\s+(.+)$/m);
    if (m) return m[1].trim();
  }
  return fallback;
}

let plotlyJs;
/** The plotly.js browser bundle (plotly.js-dist-min, else plotly.js-dist), for figures given as JSON only. */
function plotlySource() {
  if (plotlyJs === undefined) {
    const tried = [];
    for (const [pkg, file] of [
      ['plotly.js-dist-min', 'plotly.min.js'],
      ['plotly.js-dist', 'plotly.js'],
    ]) {
      try {
        plotlyJs = fs.readFileSync(path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file), 'utf8');
        break;
      } catch {
        tried.push(pkg);
      }
    }
    if (plotlyJs === undefined) throw new Error(`a Plotly figure needs the plotly.js bundle: install plotly.js-dist-min (tried ${tried.join(', ')})`);
  }
  return plotlyJs;
}

let css;
/** The report stylesheet (report.css). */
export function reportCss() {
  css ??= fs.readFileSync(STYLESHEET, 'utf8');
  return css;
}

/**
 * An executed notebook as one self-contained HTML page.
 * @param {object} nb nbformat 4 notebook
 * @param {{ title?: string, language?: string }} [opts] `title` default {@link notebookTitle}
 * @returns {string}
 */
export function renderNotebook(nb, opts = {}) {
  const r = new Renderer(nb, opts);
  const title = opts.title ?? notebookTitle(nb);
  const cells = (nb.cells ?? []).map((c) => r.cell(c)).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="network-anomaly-lab scripts/notebook/render.mjs">
<title>${escapeHtml(title)}</title>
<style type="text/css">
${reportCss()}</style>
</head>
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<main>
${cells}
</main>
</body>
</html>
`;
}
