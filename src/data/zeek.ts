/**
 * Zeek logs as tables: the tab-separated form with its `#separator`, `#unset_field`, `#fields` and
 * `#types` header lines (several logs concatenated are fine when their fields agree), and the
 * JSON-lines form (`LogAscii::use_json`), where an unset field is simply missing. Cells come out
 * as text like a CSV's: an unset (`-`) or empty-set value of a numeric field (count, int, double,
 * interval, port, time) becomes an empty cell (a dataset description's `fill` or the bad-rows
 * policy decides what it means), of any other field stays `-` (for a categorical column, a
 * category of its own: "unknown").
 */
import { DataValidationError } from '../core/errors';
import type { CsvTable } from './csv';

/** Fields of Zeek's conn.log, in its order, with their Zeek types (the optional ones last). */
export const ZEEK_CONN_FIELDS: Readonly<Record<string, string>> = {
  ts: 'time',
  uid: 'string',
  'id.orig_h': 'addr',
  'id.orig_p': 'port',
  'id.resp_h': 'addr',
  'id.resp_p': 'port',
  proto: 'enum',
  service: 'string',
  duration: 'interval',
  orig_bytes: 'count',
  resp_bytes: 'count',
  conn_state: 'string',
  local_orig: 'bool',
  local_resp: 'bool',
  missed_bytes: 'count',
  history: 'string',
  orig_pkts: 'count',
  orig_ip_bytes: 'count',
  resp_pkts: 'count',
  resp_ip_bytes: 'count',
  tunnel_parents: 'set[string]',
  orig_l2_addr: 'string',
  resp_l2_addr: 'string',
  vlan: 'int',
  inner_vlan: 'int',
  community_id: 'string',
  ip_proto: 'count',
};

/** conn.log's fields that every Zeek version writes (ts ... tunnel_parents). */
const ZEEK_CONN_CORE = Object.keys(ZEEK_CONN_FIELDS).slice(0, 21);

const NUMERIC_TYPES = new Set(['count', 'int', 'double', 'interval', 'port', 'time']);

/** Whether a Zeek type holds a number. */
function isNumericType(t: string | undefined): boolean {
  return t !== undefined && NUMERIC_TYPES.has(t);
}

/** Text of a `#separator` value such as `\x09`. */
function unescape(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * Incremental Zeek log parser: feed it lines (without line breaks) with {@link ZeekLogParser.line};
 * complete rows come back. The format (TSV or JSON lines) is decided by the first non-blank line.
 */
export class ZeekLogParser {
  /** Column names, once known (the `#fields` line, or the first JSON object's keys). */
  header?: string[];
  /** Things tolerated, said once each. */
  readonly warnings: string[] = [];
  private types: string[] = [];
  private separator = '\t';
  private setSeparator = ',';
  private unset = '-';
  private empty = '(empty)';
  private json: boolean | undefined;
  private dataRows = 0;
  private lineNo = 0;
  private readonly file?: string;
  private readonly extraKeys = new Set<string>();

  constructor(file?: string) {
    this.file = file;
  }

  /** Rows read so far. */
  get rows(): number {
    return this.dataRows;
  }

  /**
   * One line of the log; returns the row's cells for a data line, undefined otherwise.
   * @throws DataValidationError for a data line before `#fields`, a row with the wrong number of
   *   fields, invalid JSON, or a second `#fields` line that differs from the first
   */
  line(raw: string): string[] | undefined {
    this.lineNo++;
    let text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
    if (this.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.trim() === '') return undefined;
    if (this.json === undefined) this.json = text.trimStart().startsWith('{');
    return this.json ? this.jsonLine(text) : this.tsvLine(text);
  }

  private tsvLine(text: string): string[] | undefined {
    if (text.startsWith('#')) {
      // `#separator \x09` is followed by a space; the other header lines by the separator
      let sp = text.startsWith('#separator') ? text.search(/[ \t]/) : text.indexOf(this.separator);
      if (sp < 0) sp = text.search(/[ \t]/);
      const key = sp < 0 ? text.slice(1) : text.slice(1, sp);
      const rest = sp < 0 ? '' : text.slice(sp + this.separatorLength(text, sp));
      if (key === 'separator') this.separator = unescape(rest.trim());
      else if (key === 'set_separator') this.setSeparator = rest;
      else if (key === 'unset_field') this.unset = rest;
      else if (key === 'empty_field') this.empty = rest;
      else if (key === 'fields') {
        const fields = rest.split(this.separator);
        if (this.header && fields.join('\u0000') !== this.header.join('\u0000')) {
          throw new DataValidationError(`line ${this.lineNo}: a second #fields line lists other fields than the first (${fields.length} against ${this.header.length}); read the logs one at a time.`, { file: this.file });
        }
        this.header = fields;
      } else if (key === 'types') this.types = rest.split(this.separator);
      return undefined;
    }
    if (!this.header) {
      throw new DataValidationError(`line ${this.lineNo}: a data line before the #fields line; is this a Zeek log (with its header lines)?`, { file: this.file });
    }
    const cells = text.split(this.separator);
    this.dataRows++;
    if (cells.length !== this.header.length) {
      throw new DataValidationError(`has ${cells.length} fields, the #fields line has ${this.header.length}.`, { file: this.file, row: this.dataRows });
    }
    for (let j = 0; j < cells.length; j++) {
      const c = cells[j];
      if ((c === this.unset || c === this.empty) && isNumericType(this.types[j] ?? ZEEK_CONN_FIELDS[this.header[j]])) cells[j] = '';
    }
    return cells;
  }

  /** Length of the separator at `at` in a header line (one character, or the separator). */
  private separatorLength(text: string, at: number): number {
    return text.startsWith(this.separator, at) ? this.separator.length : 1;
  }

  private jsonLine(text: string): string[] {
    let obj: unknown;
    this.dataRows++;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new DataValidationError(`is not valid JSON (${(e as Error).message}).`, { file: this.file, row: this.dataRows });
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw new DataValidationError('is not a JSON object.', { file: this.file, row: this.dataRows });
    }
    const o = obj as Record<string, unknown>;
    if (!this.header) {
      // Zeek leaves unset fields out: take conn.log's fields (when this is one) plus the first row's own
      const keys = Object.keys(o);
      const isConn = 'uid' in o && 'id.orig_h' in o;
      const standard = isConn ? ZEEK_CONN_CORE : [];
      this.header = [...standard, ...keys.filter((k) => !standard.includes(k))];
      this.types = this.header.map((k) => ZEEK_CONN_FIELDS[k] ?? (typeof o[k] === 'number' ? 'double' : 'string'));
    }
    const header = this.header;
    const cells = new Array<string>(header.length);
    for (let j = 0; j < header.length; j++) {
      const v = o[header[j]];
      if (v === undefined || v === null) cells[j] = isNumericType(this.types[j]) ? '' : this.unset;
      else if (typeof v === 'string') cells[j] = v;
      else if (typeof v === 'number') cells[j] = String(v);
      else if (typeof v === 'boolean') cells[j] = v ? 'T' : 'F';
      else if (Array.isArray(v)) cells[j] = v.length ? v.map(String).join(this.setSeparator) : this.empty;
      else cells[j] = JSON.stringify(v);
    }
    for (const k of Object.keys(o)) {
      if (!header.includes(k) && !this.extraKeys.has(k)) {
        this.extraKeys.add(k);
        this.warnings.push(`${this.file ? this.file + ': ' : ''}row ${this.dataRows}: field '${k}' is not among the first row's fields; ignored.`);
      }
    }
    return cells;
  }
}

/**
 * A whole Zeek log (TSV with header lines, or JSON lines) as a table.
 * @example
 * ```ts
 * const t = parseZeekLog(fs.readFileSync('conn.log', 'utf8'), 'conn.log');
 * t.header; // ['ts', 'uid', 'id.orig_h', ...]
 * ```
 * @throws DataValidationError for an empty log, a log without a #fields line, or a bad row
 */
export function parseZeekLog(text: string, file?: string): CsvTable {
  const p = new ZeekLogParser(file);
  const records: string[][] = [];
  const lines = text.split('\n');
  // a last line without its line break: a log cut off while it was written
  const cutShort = lines.length > 1 && lines[lines.length - 1] !== '' && !text.endsWith('\n');
  for (let i = 0; i < lines.length; i++) {
    if (cutShort && i === lines.length - 1) {
      try {
        const r = p.line(lines[i]);
        if (r) records.push(r);
      } catch (e) {
        if (!(e instanceof DataValidationError)) throw e;
        p.warnings.push(`${file ? file + ': ' : ''}line ${i + 1}: truncated last line skipped.`);
      }
      continue;
    }
    const r = p.line(lines[i]);
    if (r) records.push(r);
  }
  if (!p.header) throw new DataValidationError(p.rows === 0 && text.trim() === '' ? 'the file is empty.' : 'no #fields line: not a Zeek log.', { file });
  return { header: p.header, records, warnings: p.warnings };
}
