/**
 * Notebook parameters, papermill's convention: a notebook has at most one code cell tagged
 * `parameters`, holding lines `const NAME = <JSON literal>;` (an optional trailing `// comment`,
 * blank and comment lines in between). `npm start -- NAME --param KEY=VALUE` runs it with other
 * values: a cell tagged `injected-parameters` right after it redeclares the overridden constants
 * (tslab accepts a `const` redeclared in a later cell: the later one wins, as papermill's injected
 * cell does in Python), so the notebook itself is never rewritten and the report shows what ran.
 *
 * VALUE is JSON when it parses (`42`, `0.1`, `true`, `"text"`, `[1,2]`), else the text as a string.
 * A string parameter takes VALUE as text even when it would parse (`--param LABEL=42` is "42").
 * A value of another JSON type than the default is an error, as is an unknown KEY (the message
 * lists the notebook's parameters).
 */

export const PARAMETERS_TAG = 'parameters';
export const INJECTED_TAG = 'injected-parameters';

/** A parameter problem; the message names the notebook, the cell or the option. */
export class ParameterError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ParameterError';
  }
}

const text = (v) => (Array.isArray(v) ? v.join('') : (v ?? ''));
const NAME_RE = /^[A-Za-z_$][\w$]*$/;

/** JSON type of a value: `null`, `array`, `object`, `number`, `string` or `boolean`. */
export function jsonType(v) {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/**
 * Parses one `const NAME = <JSON literal>;` line (with an optional `// comment`).
 * @returns {{ name: string, value: unknown, literal: string, comment: string } | null} null when
 *   the line is not a declaration of that form
 */
export function parseParameterLine(line) {
  const m = line.match(/^\s*const\s+([A-Za-z_$][\w$]*)\s*=\s*(.*)$/);
  if (!m) return null;
  const rest = m[2];
  // the literal ends at a `;` followed by nothing but an optional // comment; strings may hold `;`
  for (let i = rest.indexOf(';'); i >= 0; i = rest.indexOf(';', i + 1)) {
    const after = rest.slice(i + 1);
    const c = after.match(/^\s*(?:\/\/\s?(.*))?$/);
    if (!c) continue;
    const literal = rest.slice(0, i).trim();
    try {
      return { name: m[1], value: JSON.parse(literal), literal, comment: (c[1] ?? '').trim() };
    } catch {
      /* a later `;` may end it */
    }
  }
  return null;
}

/**
 * The parameters cell of a notebook and its parameters.
 * @param {object} nb
 * @param {string} [name] the notebook's name, for messages
 * @returns {{ index: number, parameters: { name: string, value: unknown, literal: string, comment: string, line: number }[] } | null}
 *   null when no cell is tagged `parameters`
 * @throws ParameterError when two cells are tagged, the tagged cell is not a code cell, or a line
 *   is not `const NAME = <JSON literal>;`, a blank line or a comment
 */
export function findParameters(nb, name = 'the notebook') {
  const tagged = (nb.cells ?? []).map((c, i) => [c, i]).filter(([c]) => (c.metadata?.tags ?? []).includes(PARAMETERS_TAG));
  if (tagged.length === 0) return null;
  if (tagged.length > 1) {
    throw new ParameterError(`${name}: ${tagged.length} cells are tagged "${PARAMETERS_TAG}" (cells ${tagged.map(([, i]) => `#${i + 1}`).join(', ')}); a notebook has one parameters cell`);
  }
  const [cell, index] = tagged[0];
  if (cell.cell_type !== 'code') throw new ParameterError(`${name}: cell #${index + 1} is tagged "${PARAMETERS_TAG}" but is a ${cell.cell_type} cell, not code`);
  const parameters = [];
  let inBlockComment = false;
  text(cell.source)
    .split('\n')
    .forEach((raw, k) => {
      const line = raw.trim();
      if (inBlockComment) {
        if (line.includes('*/')) inBlockComment = false;
        return;
      }
      if (line === '' || line.startsWith('//')) return;
      if (line.startsWith('/*')) {
        inBlockComment = !line.includes('*/');
        return;
      }
      const p = parseParameterLine(raw);
      if (!p) {
        throw new ParameterError(
          `${name}: cell #${index + 1} (parameters), line ${k + 1}: expected \`const NAME = <JSON literal>;\` (JSON: numbers, "double-quoted strings", true/false, null, arrays, objects), got: ${line}`,
        );
      }
      if (parameters.some((q) => q.name === p.name)) throw new ParameterError(`${name}: cell #${index + 1} (parameters), line ${k + 1}: ${p.name} is declared twice`);
      parameters.push({ ...p, line: k + 1 });
    });
  return { index, parameters };
}

/**
 * Parses `--param KEY=VALUE` values: VALUE as JSON when it parses, else as text.
 * @param {string[]} args each `KEY=VALUE`
 * @returns {{ name: string, value: unknown, raw: string }[]}
 * @throws ParameterError for a missing `=`, a KEY that is not an identifier, or a KEY given twice
 */
export function parseParamArgs(args) {
  const out = [];
  for (const a of args ?? []) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new ParameterError(`--param ${a}: expected KEY=VALUE`);
    const key = a.slice(0, eq).trim();
    const raw = a.slice(eq + 1);
    if (!NAME_RE.test(key)) throw new ParameterError(`--param ${a}: "${key}" is not a parameter name`);
    if (out.some((p) => p.name === key)) throw new ParameterError(`--param ${key} is given twice`);
    let value;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out.push({ name: key, value, raw });
  }
  return out;
}

/**
 * The values a run uses: each parameter's default, replaced by the overrides.
 * @param {ReturnType<typeof findParameters>} found the notebook's parameters (null: none)
 * @param {ReturnType<typeof parseParamArgs>} overrides
 * @param {string} [name] the notebook's name, for messages
 * @returns {{ name: string, value: unknown, defaultValue: unknown, overridden: boolean }[]}
 * @throws ParameterError for an unknown name (listing the notebook's parameters) or a value of
 *   another JSON type than the default
 */
export function resolveParameters(found, overrides, name = 'the notebook') {
  const params = found?.parameters ?? [];
  for (const o of overrides) {
    if (params.some((p) => p.name === o.name)) continue;
    if (!found) {
      throw new ParameterError(`${name} has no parameters cell (a code cell tagged "${PARAMETERS_TAG}" with lines \`const NAME = <JSON literal>;\`), so --param ${o.name} cannot be set`);
    }
    const list = params.map((p) => `${p.name} = ${p.literal}`).join(', ') || 'none';
    throw new ParameterError(`${name} has no parameter ${o.name}; its parameters (cell #${found.index + 1}): ${list}`);
  }
  return params.map((p) => {
    const o = overrides.find((x) => x.name === p.name);
    if (!o) return { name: p.name, value: p.value, defaultValue: p.value, overridden: false };
    let value = o.value;
    const want = jsonType(p.value);
    if (want === 'string' && typeof value !== 'string') value = o.raw;
    const got = jsonType(value);
    if (want !== 'null' && got !== want) {
      throw new ParameterError(`--param ${o.name}=${o.raw}: ${o.name} is a ${want} in ${name} (${p.literal}), got a ${got}`);
    }
    return { name: p.name, value, defaultValue: p.value, overridden: true };
  });
}

/**
 * The code of the injected cell: the overridden constants redeclared.
 * @param {{ name: string, value: unknown, overridden: boolean }[]} resolved
 */
export function injectedSource(resolved) {
  const lines = resolved.filter((p) => p.overridden).map((p) => `const ${p.name} = ${JSON.stringify(p.value)};`);
  return `// Injected parameters (npm start -- NAME --param KEY=VALUE)\n${lines.join('\n')}\n`;
}

/**
 * A copy of the notebook with a cell tagged `injected-parameters` right after its parameters cell
 * when any value is overridden (the notebook unchanged otherwise).
 * @param {object} nb
 * @param {ReturnType<typeof findParameters>} found
 * @param {ReturnType<typeof resolveParameters>} resolved
 */
export function injectParameters(nb, found, resolved) {
  const out = structuredClone(nb);
  if (!found || !resolved.some((p) => p.overridden)) return out;
  const ids = new Set((out.cells ?? []).map((c) => c.id).filter(Boolean));
  let id = INJECTED_TAG;
  for (let k = 2; ids.has(id); k++) id = `${INJECTED_TAG}-${k}`;
  const cell = { cell_type: 'code', execution_count: null, metadata: { tags: [INJECTED_TAG] }, outputs: [], source: injectedSource(resolved) };
  if (out.nbformat > 4 || (out.nbformat === 4 && (out.nbformat_minor ?? 0) >= 5)) cell.id = id;
  out.cells.splice(found.index + 1, 0, cell);
  return out;
}
