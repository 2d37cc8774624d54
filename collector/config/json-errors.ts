/** Where a JSON text stops being JSON, as editors count lines and columns: what JSON.parse's errors do not always say. */
import * as jsonc from 'jsonc-parser';

/**
 * JSON.parse's reason without its position, and the line and column it failed at. V8 names the offset ("… in JSON at
 * position 300") except for an unexpected token ("Unexpected token 'x', "…" is not valid JSON") or end of input,
 * where jsonc-parser (VS Code's JSON scanner, made to report where a text goes wrong) finds it.
 */
export function jsonSyntaxError(message: string, text: string): { reason: string; line: number; column: number } {
  const at = /(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/.exec(message);
  if (at) return { reason: message.slice(0, at.index), ...lineAndColumn(text, Number(at[1])) };
  const errors: jsonc.ParseError[] = [];
  jsonc.parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return { reason: message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, ''), ...lineAndColumn(text, errors[0]?.offset ?? text.length) };
}

/**
 * What is wrong with a body a JSON parser refused, said once it has been (never on the way of a good body): empty, not
 * JSON (why, and the line and column), or JSON with a key the parser refuses (secure-json-parse's).
 */
export function jsonBodyProblem(text: string): string {
  if (text.trim() === '') return 'the body is empty: send a JSON object';
  try {
    JSON.parse(text);
  } catch (err) {
    const { reason, line, column } = jsonSyntaxError((err as Error).message, text);
    return `the body is not valid JSON: ${reason} (line ${line}, column ${column})`;
  }
  return 'the body holds a "__proto__" or "constructor.prototype" key, which is refused';
}

/** 1-based line and column (in characters) of an offset, as editors count them. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

/**
 * The first key an object of a valid JSON text gives twice, with the path of that object and the line and column of
 * the repeat. JSON.parse keeps the last value without a word: the first, which is often the one people edit, would
 * count for nothing.
 */
export function repeatedKey(text: string): { key: string; path: (string | number)[]; line: number; column: number } | undefined {
  const keys: Set<string>[] = [];
  let found: ReturnType<typeof repeatedKey>;
  jsonc.visit(text, {
    onObjectBegin: () => void keys.push(new Set()),
    onObjectEnd: () => void keys.pop(),
    onObjectProperty: (key, _offset, _length, line, character, pathSupplier) => {
      const seen = keys.at(-1)!;
      if (seen.has(key)) found ??= { key, path: pathSupplier(), line: line + 1, column: character + 1 };
      seen.add(key);
    },
  });
  return found;
}
