/** Where a JSON text stops being JSON, as editors count lines and columns: what JSON.parse's errors do not always say. */
import * as jsonc from 'jsonc-parser';

/**
 * JSON.parse's reason without its position, and the line and column it failed at. V8 names the offset ("… in JSON at
 * position 300") except for an unexpected token ("Unexpected token 'x', "…" is not valid JSON") or end of input,
 * where the first token out of place is found (faultOffset).
 */
export function jsonSyntaxError(message: string, text: string): { reason: string; line: number; column: number } {
  const at = /(?: in JSON)? at position (\d+)(?: \(line \d+ column \d+\))?$/.exec(message);
  const offset = at ? Number(at[1]) : faultOffset(text);
  const reason = at ? message.slice(0, at.index) : message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
  // A comma after the last item, which editors in JSONC mode allow: said, and pointed at (V8 names the bracket after
  // it), when the text without it reads on past that bracket.
  const comma = /,\s*$/.exec(text.slice(0, offset));
  if (comma && /^[}\]]/.test(text.slice(offset)) && readsPast(`${text.slice(0, comma.index)} ${text.slice(comma.index + 1)}`, offset)) {
    return { reason: 'a comma after the last item (JSON takes none)', ...lineAndColumn(text, comma.index) };
  }
  return { reason, ...lineAndColumn(text, offset) };
}

/** Whether a JSON text parses, or fails only after `offset`. */
function readsPast(text: string, offset: number): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch (err) {
    const at = /at position (\d+)/.exec((err as Error).message);
    return (at ? Number(at[1]) : faultOffset(text)) > offset;
  }
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

/** What is wrong with a body that is no JSON: empty, or where it stops being JSON (why, and the line and column). */
export function jsonBodyProblem(text: string, err: Error): string {
  if (text.trim() === '') return 'the body is empty: send a JSON object';
  const { reason, line, column } = jsonSyntaxError(err.message, text);
  return `the body is not valid JSON: ${reason} (line ${line}, column ${column})`;
}

/**
 * A JSON text's value without its `__proto__` keys and its `constructor` keys that hold a `prototype` (those
 * secure-json-parse refuses: harmless in JSON.parse's own objects, a prototype polluted once copied into another), with
 * how many were left out and the paths of the first `listed`; JSON.parse's error when the text is no JSON. Walks the
 * value with a stack, never recursing, in time linear in its size: a body of a thousand such keys 15,000 levels deep
 * took half a minute of the only thread when each key's path was built.
 */
export function withoutPrototypeKeys(text: string, listed: number): { value: unknown; removed: number; paths: (string | number)[][] } | { error: Error } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { error: err as Error };
  }
  interface Place {
    node: unknown;
    parent?: Place;
    key?: string | number;
  }
  const pathOf = (place: Place, key: string | number) => {
    const path = [key];
    for (let at: Place | undefined = place; at?.parent; at = at.parent) path.push(at.key!);
    return path.reverse();
  };
  const paths: (string | number)[][] = [];
  let removed = 0;
  const stack: Place[] = [{ node: value }];
  for (let place = stack.pop(); place; place = stack.pop()) {
    const { node } = place;
    const children: Place[] = [];
    if (Array.isArray(node)) node.forEach((item, key) => children.push({ node: item, parent: place, key }));
    else if (node !== null && typeof node === 'object') {
      const object = node as Record<string, unknown>;
      for (const key of Object.keys(object)) {
        const child = object[key];
        const polluting = key === '__proto__' || (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'));
        if (polluting) {
          delete object[key];
          if (removed++ < listed) paths.push(pathOf(place, key));
        } else children.push({ node: child, parent: place, key });
      }
    }
    // Last pushed, first read: the keys are named in the order they were written.
    stack.push(...children.reverse());
  }
  return { value, removed, paths };
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
