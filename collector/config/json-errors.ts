/** Where a JSON text stops being JSON, as editors count lines and columns: what JSON.parse's errors do not always say. */
import * as jsonc from 'jsonc-parser';

/**
 * JSON.parse's reason without its position, and the line and column it failed at. V8 names the offset ("… in JSON at
 * position 300") except for an unexpected token ("Unexpected token 'x', "…" is not valid JSON") or end of input,
 * where the first token out of place is found (faultOffset).
 */
export function jsonSyntaxError(message: string, text: string): { reason: string; line: number; column: number } {
  const at = /(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/.exec(message);
  if (at) return { reason: message.slice(0, at.index), ...lineAndColumn(text, Number(at[1])) };
  return { reason: message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, ''), ...lineAndColumn(text, faultOffset(text)) };
}

// jsonc-parser's SyntaxKind values; its const enum cannot be read under verbatimModuleSyntax.
export const TOKEN = {
  openBrace: 1, closeBrace: 2, openBracket: 3, closeBracket: 4, comma: 5, colon: 6, null: 7, true: 8, false: 9, string: 10, number: 11,
  lineComment: 12, blockComment: 13, lineBreak: 14, whitespace: 15, unknown: 16, end: 17,
} as const;

/** What may come next in a JSON text, as its tokens are read. */
type Expected = 'value' | 'valueOrClose' | 'keyOrClose' | 'key' | 'colon' | 'commaOrClose' | 'nothing';

/**
 * The offset of the first token that cannot stand where it is in a JSON text (comments included), or its length when
 * the text ends too soon. Reads the tokens of jsonc-parser's scanner (VS Code's) with a stack of the lists and objects
 * open, never recursing: a body of 8,000 `[` is a bad body, not a stack overflow.
 */
function faultOffset(text: string): number {
  const scanner = jsonc.createScanner(text, false);
  const open: ('object' | 'list')[] = [];
  let expected: Expected = 'value';
  const afterValue = (): Expected => (open.length === 0 ? 'nothing' : 'commaOrClose');
  for (;;) {
    const kind: number = scanner.scan();
    if (kind === TOKEN.whitespace || kind === TOKEN.lineBreak) continue;
    const offset = scanner.getTokenOffset();
    if (kind === TOKEN.end) return text.length;
    if ((scanner.getTokenError() as number) !== 0) return offset;
    const isValue = kind === TOKEN.string || kind === TOKEN.number || kind === TOKEN.null || kind === TOKEN.true || kind === TOKEN.false;
    if ((expected === 'value' || expected === 'valueOrClose') && (isValue || kind === TOKEN.openBrace || kind === TOKEN.openBracket)) {
      if (kind === TOKEN.openBrace) (open.push('object'), (expected = 'keyOrClose'));
      else if (kind === TOKEN.openBracket) (open.push('list'), (expected = 'valueOrClose'));
      else expected = afterValue();
    } else if ((expected === 'key' || expected === 'keyOrClose') && kind === TOKEN.string) expected = 'colon';
    else if (expected === 'colon' && kind === TOKEN.colon) expected = 'value';
    else if (expected === 'commaOrClose' && kind === TOKEN.comma) expected = open.at(-1) === 'object' ? 'key' : 'value';
    else if (
      (kind === TOKEN.closeBrace && open.at(-1) === 'object' && (expected === 'keyOrClose' || expected === 'commaOrClose')) ||
      (kind === TOKEN.closeBracket && open.at(-1) === 'list' && (expected === 'valueOrClose' || expected === 'commaOrClose'))
    ) {
      open.pop();
      expected = afterValue();
    } else return offset;
  }
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
