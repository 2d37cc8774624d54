/**
 * A statement with its query parameters (`{name:Type}`) written in as literals of their types, for the embedded
 * engine (sideBySide in client.ts): chdb-node runs parameterised statements one at a time in the whole process, and
 * statements without parameters side by side.
 *
 * The values are escaped here, not bound by the engine, so this accepts only the types Hearth binds and refuses the
 * rest: a string is a quoted literal whose quote and backslash are escaped (and the control characters, for a
 * readable statement); every other value becomes `CAST(literal AS Type)`, the type it was declared with, so that
 * the statement computes with the same types as its parameterised twin. A value whose text holds a placeholder is
 * not read again: each placeholder is replaced once, in the statement as written.
 */
export function inlineParams(query: string, params: Record<string, unknown>): string {
  return query.replace(TOKENS, (token, name: string | undefined, declared: string | undefined) => {
    if (name === undefined || declared === undefined) return token;
    if (!Object.hasOwn(params, name)) throw new Error(`query parameter ${name} has no value`);
    const type = declared.trim();
    const value = params[name];
    return isString(type) ? quoted(name, value) : `CAST(${literal(name, value, type)} AS ${type})`;
  });
}

/**
 * What ClickHouse reads as a placeholder, `{name:Type}` (a type holds no brace), and what it does not look into,
 * left as written: comments, quoted strings and identifiers.
 */
const TOKENS = /--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*"|`(?:[^`\\]|\\[\s\S])*`|\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g;

const INTEGER = /^U?Int(8|16|32|64|128|256)$/;
const FLOAT = /^Float(32|64)$/;
const TIME = /^(Date|Date32|DateTime(\(\s*'[^']*'\s*\))?|DateTime64\(\s*\d\s*(,\s*'[^']*'\s*)?\))$/;
const isString = (type: string) => type === 'String' || type === 'LowCardinality(String)';

/** A literal of the value for `type`, bare: arrays as `[…]` of their elements, the outer CAST gives the type. */
function literal(name: string, value: unknown, type: string): string {
  if (isString(type)) return quoted(name, value);
  const element = /^Array\((.+)\)$/.exec(type)?.[1];
  if (element !== undefined) {
    if (!Array.isArray(value)) throw invalid(name, value, type);
    return `[${value.map((item) => literal(name, item, element.trim())).join(', ')}]`;
  }
  const map = /^Map\((.+)\)$/.exec(type)?.[1];
  if (map !== undefined) {
    const [keys, values] = typeArguments(map);
    if (typeof value !== 'object' || value === null || Array.isArray(value) || keys === undefined || values === undefined) throw invalid(name, value, type);
    const entries = value instanceof Map ? [...value] : Object.entries(value);
    return `map(${entries.flatMap(([key, item]) => [literal(name, key, keys), literal(name, item, values)]).join(', ')})`;
  }
  if (INTEGER.test(type)) {
    if ((typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'bigint') return String(value);
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    throw invalid(name, value, type);
  }
  if (FLOAT.test(type)) {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value)) return value;
    throw invalid(name, value, type);
  }
  if (type === 'Bool') {
    if (typeof value === 'boolean') return String(value);
    throw invalid(name, value, type);
  }
  // Times as text, as the client sends them and scoring binds them (`2026-11-26 10:00:00.000`), and UUIDs.
  if (TIME.test(type) || type === 'UUID') return quoted(name, value, type);
  throw new Error(`query parameter ${name} has the type ${type}, which cannot be written into a statement`);
}

/** The types of `Map(K, V)`'s `K, V`, split at the commas outside parentheses. */
function typeArguments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  return [...parts, text.slice(start).trim()];
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\0': '\\0', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A string literal; a number given for a string is its text, as the client sends it. */
function quoted(name: string, value: unknown, type = 'String'): string {
  const text = typeof value === 'string' ? value : isString(type) && ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') ? String(value) : undefined;
  if (text === undefined) throw invalid(name, value, type);
  return `'${text.replace(/[\\'\0\n\r\t]/g, (char) => ESCAPES[char]!)}'`;
}

const invalid = (name: string, value: unknown, type: string) =>
  new Error(`query parameter ${name} is not a value of type ${type}: ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
