/**
 * What two executions of a notebook must share, whatever executed them: the same cells, execution
 * counts, tags and outputs (type, stream name, mime types, metadata and content, in order). Ids and
 * timings differ between runs of the same code, so they are masked: the ids of chart containers,
 * every decimal number, numbers followed by a unit of time, rate or size, percentages of a time,
 * timestamps, and the cells of table columns whose header names a timing (`latency (ms)`, `rows/s`). Integers without a
 * unit (counts, TP/FP, progress steps) must match exactly. The provenance cell (executor,
 * wall time, start time) is compared by its shape only.
 */
const text = (v: unknown): string => (Array.isArray(v) ? v.join('') : String(v ?? ''));

const UNITS = String.raw`(?:ms|s|sec|secs|seconds?|µs|us|ns|min|mins|minutes?|h|hours?|rows\/s|/s|per second|KB|kB|KiB|MB|MiB|GB|GiB|bytes|B)\b`;
const WITH_UNIT = new RegExp(String.raw`\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?(\s*)${UNITS}`, 'g');

/**
 * A table column holds timings when its header says so: `latency (ms)`, `rows/s`, `fit_seconds`,
 * `latency_ms`, `rows_per_s`, `wall time` (snake_case read as words). Feature names such as
 * `duration` are not timings of the run.
 */
const TIMING_HEADER = /\b(?:latency|seconds?|secs?|ms|throughput|elapsed|wall|memory|heap|rss|mb|mib)\b|\bper (?:s|sec|second)\b|rows\/s|\(\s*(?:ms|s|sec|seconds?)\s*\)/i;

const CELL = /<(th|td)\b([^>]*)>([\s\S]*?)<\/\1>/g;

/**
 * HTML tables with the cells of timing columns masked. The header row is the table's `<thead>`
 * (else its first row); cells are counted with the row headers (`<th>`) a DataFrame's index adds,
 * so columns line up with the header.
 */
export function maskTimingColumns(html: string): string {
  return html.replace(/<table\b[\s\S]*?<\/table>/g, (table) => {
    const head = /<thead\b[\s\S]*?<\/thead>/.exec(table)?.[0] ?? /<tr\b[\s\S]*?<\/tr>/.exec(table)?.[0] ?? '';
    const headers = [...head.matchAll(CELL)].map((m) => m[3].replace(/<[^>]*>/g, '').replace(/_/g, ' '));
    const timing = new Set(headers.flatMap((h, i) => (TIMING_HEADER.test(h) ? [i] : [])));
    if (!timing.size) return table;
    const headEnd = table.indexOf(head) + head.length;
    const body = table.slice(headEnd).replace(/<tr\b[^>]*>[\s\S]*?<\/tr>/g, (row) => {
      let k = -1;
      return row.replace(CELL, (cell, tag: string, attrs: string) => {
        k++;
        return timing.has(k) ? `<${tag}${attrs}>TIMING</${tag}>` : cell;
      });
    });
    return table.slice(0, headEnd) + body;
  });
}

/** A text with ids, timings and other run-dependent numbers masked. */
export function maskRunDependent(s: string): string {
  return maskTimingColumns(s)
    .replace(/nal-chart-[0-9a-z]+-[0-9a-z]+/g, 'nal-chart-ID')
    .replace(/\d{4}-\d\d-\d\d[T ]\d\d[:-]\d\d[:-]\d\d(?:[.-]\d+)?Z?/g, 'TIMESTAMP')
    .replace(WITH_UNIT, '#$1UNIT')
    // a share of a time: "the autoencoder took 59% of the detectors' fit time"
    .replace(/\b\d+(?:\.\d+)?%(?=[^\n.;<]*\btime\b)/g, '#%')
    .replace(/\d+\.\d+(?:e[+-]?\d+)?/gi, '#.#');
}

function output(o: any): unknown {
  switch (o.output_type) {
    case 'stream':
      return { output_type: 'stream', name: o.name, text: maskRunDependent(text(o.text)) };
    case 'display_data':
    case 'execute_result':
      return {
        output_type: o.output_type,
        execution_count: o.execution_count,
        metadata: o.metadata ?? {},
        data: Object.fromEntries(
          Object.keys(o.data ?? {})
            .sort()
            .map((k) => {
              const v = o.data[k];
              return [k, typeof v === 'string' || Array.isArray(v) ? maskRunDependent(text(v)) : v];
            }),
        ),
      };
    case 'error':
      return { output_type: 'error', ename: o.ename, evalue: maskRunDependent(o.evalue), traceback: (o.traceback ?? []).map((l: string) => maskRunDependent(l)) };
    default:
      return o;
  }
}

/** The parts of an executed notebook that must not depend on the executor. */
export function comparableNotebook(nb: any): unknown {
  const exec = nb.metadata?.nal?.execution ?? {};
  return {
    nbformat: nb.nbformat,
    language_info: nb.metadata?.language_info,
    execution: { status: exec.status, failedCell: exec.failedCell },
    cells: (nb.cells ?? []).map((c: any) => {
      const tags = c.metadata?.tags ?? [];
      if (c.cell_type !== 'code') return { cell_type: c.cell_type, source: text(c.source), tags };
      const provenance = tags.includes('provenance');
      return {
        cell_type: 'code',
        source: provenance ? '(provenance)' : text(c.source),
        tags,
        execution_count: c.execution_count,
        outputs: (c.outputs ?? []).map((o: any) => (provenance ? { output_type: o.output_type, mimes: Object.keys(o.data ?? {}).sort() } : output(o))),
      };
    }),
  };
}

/** The first differences between two comparable notebooks, as short readable lines. */
export function differences(a: any, b: any, where = '', out: string[] = [], max = 12): string[] {
  if (out.length >= max) return out;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null || typeof a !== 'object') {
    if (a !== b) {
      const show = (v: unknown) => {
        const s = JSON.stringify(v) ?? String(v);
        return s.length > 300 ? `${s.slice(0, 300)}... (${s.length} chars)` : s;
      };
      if (typeof a === 'string' && typeof b === 'string') {
        let i = 0;
        while (i < a.length && a[i] === b[i]) i++;
        out.push(`${where}: differ at character ${i}: ${show(a.slice(Math.max(0, i - 60), i + 120))} vs ${show(b.slice(Math.max(0, i - 60), i + 120))}`);
      } else out.push(`${where}: ${show(a)} vs ${show(b)}`);
    }
    return out;
  }
  if (Array.isArray(a)) {
    if (a.length !== b.length) out.push(`${where}: ${a.length} vs ${b.length} items`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) differences(a[i], b[i], `${where}[${i}]`, out, max);
    return out;
  }
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) differences(a[k], b[k], where ? `${where}.${k}` : k, out, max);
  return out;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&nbsp;/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * The text a reader sees in an HTML report, word by word: styles, scripts and tags removed,
 * entities decoded, whitespace collapsed, run-dependent numbers masked, the provenance section
 * reduced to a marker.
 */
export function visibleText(html: string): string {
  const body = html
    .replace(/<style\b[\s\S]*?<\/style>/gi, ' ')
    .replace(/<script\b[\s\S]*?<\/script>/gi, ' ')
    .replace(/<title\b[\s\S]*?<\/title>/gi, ' ')
    // the provenance section names the executor, its commit and times: compared by the notebooks
    .replace(/<section class="nal-provenance"[\s\S]*?<\/section>/g, ' PROVENANCE ');
  const text = maskTimingColumns(body)
    // block elements separate words, inline ones (highlighting spans, links) do not
    .replace(/<\/?(?:div|p|pre|br|hr|tr|td|th|li|ul|ol|table|thead|tbody|caption|section|h[1-6])\b[^>]*>/gi, ' ')
    .replace(/<[^>]*>/g, '');
  return maskRunDependent(decodeEntities(text))
    .replace(/\s+/g, ' ')
    .trim();
}
