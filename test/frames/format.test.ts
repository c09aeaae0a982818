import { afterEach, describe, expect, it, vi } from 'vitest';
import { frameHtml, frameText } from '../../src/frames/format';
import { show } from '../../src/frames/show';
import { toDataFrame } from '../../src/frames/convert';

// frame-shaped objects: the formatters read columns, index and values only
const frame = {
  columns: ['model', 'f1', 'tp', 'note'],
  index: [0, 1, 2],
  values: [
    ['Isolation Forest', 0.967543, 120, '<b>x</b> & "y"'],
    ['One-Class SVM', 0.5, 7, null],
    ['Ensemble', 0.000012345, 3, 'ok'],
  ],
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('frameText', () => {
  it('aligns columns, rounds each numeric column to one number of decimals, gives the shape', () => {
    const t = frameText(frame);
    const lines = t.split('\n');
    expect(lines[0]).toMatch(/^\s+model\s+f1\s+tp\s+note$/);
    expect(lines[1]).toMatch(/^0\s+Isolation Forest\s+0\.9675\s+120\s+<b>x<\/b> & "y"$/);
    // 0.5 in the same decimals as the column; a value too small for them in exponent form
    expect(lines[2]).toContain('0.5000');
    expect(lines[3]).toContain('1.234e-5');
    expect(lines.at(-1)).toBe('[3 rows × 4 columns]');
    // numbers right-aligned
    const end = lines[0].indexOf(' tp') + 3;
    expect(lines.slice(1, 4).map((l) => l.slice(end - 3, end))).toEqual(['120', '  7', '  3']);
  });

  it('cuts a long frame to its first and last rows', () => {
    const long = { columns: ['v'], index: Array.from({ length: 100 }, (_, i) => i), values: Array.from({ length: 100 }, (_, i) => [i]) };
    const lines = frameText(long, { maxRows: 6 }).split('\n');
    expect(lines.slice(1, 8).map((l) => l.trim().split(/\s+/)[0])).toEqual(['0', '1', '2', '...', '97', '98', '99']);
    expect(lines.at(-1)).toBe('[100 rows × 1 column]');
  });
});

describe('frameHtml and show', () => {
  it('escapes every cell, puts the index in bold and the shape below, scrolls wide frames', () => {
    const html = frameHtml(frame, { caption: 'Per <model>' });
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('Per &lt;model&gt;');
    expect(html).toContain('overflow-x:auto');
    expect(html).toContain('>0.9675<');
    expect(html).toContain('3 rows × 4 columns');
    expect((html.match(/<tr>/g) ?? []).length).toBe(4);
    expect(frameHtml({ ...frame, values: [...frame.values, ...frame.values, ...frame.values], index: [0, 1, 2, 3, 4, 5, 6, 7, 8] }, { maxRows: 4 })).toContain('>…</td>');
  });

  it('shows a DataFrame as HTML in a notebook and as text elsewhere; figures and rows too', () => {
    const df = toDataFrame([{ a: 1.25, b: 'x' }]);
    const out: string[] = [];
    show(df, { display: { html: (s) => out.push(s) }, caption: 'cap' });
    expect(out[0]).toContain('class="nal-frame"');
    expect(out[0]).toContain('cap');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    show(df);
    expect(String(log.mock.calls[0][0])).toContain('[1 row × 2 columns]');
    show({ data: [{ type: 'bar', x: [1], y: [1] }], layout: { title: { text: 'T' } } });
    expect(String(log.mock.calls[1][0])).toMatch(/^\[chart\] T /);
    const table = vi.spyOn(console, 'table').mockImplementation(() => {});
    show([{ a: 1 }]);
    expect(table).toHaveBeenCalled();
    expect(() => show(42 as never)).toThrow(TypeError);
  });
});
