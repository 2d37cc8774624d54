import type { z } from 'zod';
import { formatPath } from '../../scoring/checks.ts';

export { formatPath };

export interface Problem {
  /** Where the bad value is, e.g. `sites[0].origins[1]` or `e[3].u`. */
  path: string;
  message: string;
}

/** The problems of a request or body refused as a whole: one, at its root, saying why. */
export const wholeProblem = (message: string): Problem[] => [{ path: formatPath([]), message }];

/** zod's issues as a flat list of path + message, the shape of every 400 body and config error.
 * Parse with `{ reportInput: true }` and a short bad value is quoted in the message. */
export function toProblems(error: z.ZodError): Problem[] {
  return error.issues.flatMap((issue): Problem[] => {
    // zod names the object ("sites[0]: Unrecognized key: "origns""): the key itself is the path to fix.
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown key' }));
    // A record's bad key: zod says "Invalid key in record"; the key's own rule says what a key must be.
    if (issue.code === 'invalid_key' && issue.issues[0]) return [{ path: formatPath(issue.path), message: (boundsInWords(issue.issues[0]) ?? issue.issues[0].message) + quoteInput(issue.input) }];
    // zod's own wording for an absent key: "Invalid input: expected array, received undefined".
    if (issue.code === 'invalid_type' && /^Invalid input: .*received undefined$/.test(issue.message)) {
      return [{ path: formatPath(issue.path), message: `missing (expected ${JSON_KINDS[issue.expected] ?? issue.expected})` }];
    }
    // A number too large for a double (1e400 in a JSON file reads as Infinity): zod says it received "Infinity", which
    // read "expected a number, not a number", and "-Infinity" in its own words.
    if (issue.code === 'invalid_type' && typeof issue.input === 'number' && !Number.isFinite(issue.input)) {
      return [{ path: formatPath(issue.path), message: `expected ${JSON_KINDS[issue.expected] ?? issue.expected}, not one too large to read (it reads as ${issue.input})` }];
    }
    // zod's "expected int, received number": the number is there to say, rather than that it is one.
    if (issue.code === 'invalid_type' && issue.expected === 'int' && typeof issue.input === 'number' && /^Invalid input: /.test(issue.message)) {
      return [{ path: formatPath(issue.path), message: `expected a whole number, not ${issue.input}` }];
    }
    // zod's "Invalid input: expected array, received string", in the words of a JSON file: "expected a list […]".
    if (issue.code === 'invalid_type' && /^Invalid input: expected \w+, received \w+$/.test(issue.message)) {
      const expected = JSON_KINDS[issue.expected] ?? issue.expected;
      // Parsed without the input (a login: it would quote the password back), the kind is zod's word for it.
      const received = 'input' in issue ? jsonKind(issue.input) : (RECEIVED_KINDS[/received (\w+)$/.exec(issue.message)![1]!] ?? 'another kind of value');
      return [{ path: formatPath(issue.path), message: `expected ${expected}, not ${received}${quoteInput(issue.input)}` }];
    }
    return [{ path: formatPath(issue.path), message: (boundsInWords(issue) ?? issue.message) + quoteInput(issue.input) }];
  });
}

/**
 * zod's own wording of a bound ("Too small: expected number to be >0", "Too big: expected string to have <=64
 * characters"), in Hearth's ("expected a number above 0", "expected at most 64 characters"); undefined for any other
 * issue, and for a bound its schema words itself. A bound alone is known here, not the schema's other one.
 */
function boundsInWords(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'not_multiple_of' && /^Invalid number: /.test(issue.message)) return `expected a multiple of ${issue.divisor}`;
  if ((issue.code !== 'too_small' && issue.code !== 'too_big') || !/^Too (small|big): /.test(issue.message)) return undefined;
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'number':
    case 'int': {
      const kind = issue.origin === 'int' ? 'a whole number' : 'a number';
      return `expected ${kind} ${small ? (inclusive ? 'at least' : 'above') : inclusive ? 'at most' : 'below'} ${bound}`;
    }
    case 'string':
    case 'array': {
      const unit = issue.origin === 'string' ? ['character', 'characters'] : ['item', 'items'];
      // Lengths are whole: "more than 2" is "at least 3".
      const count = inclusive ? bound : small ? bound + 1 : bound - 1;
      const how = issue.exact ? 'exactly' : small ? 'at least' : 'at most';
      return `expected ${issue.origin === 'array' ? 'a list of ' : ''}${how} ${count} ${count === 1 ? unit[0] : unit[1]}`;
    }
    default:
      return undefined;
  }
}

/** zod's type names as a JSON file writes those values. */
const JSON_KINDS: Record<string, string> = {
  array: 'a list [ … ]',
  object: 'an object { … }',
  record: 'an object { … }',
  string: 'a text in quotes',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** zod's names of what it received, in the words of jsonKind. */
const RECEIVED_KINDS: Record<string, string> = { string: 'a text', number: 'a number', boolean: 'true or false', array: 'a list', object: 'an object', null: 'null' };

/** What a parsed JSON value is, in those words. */
function jsonKind(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'string') return 'a text';
  if (typeof input === 'object') return 'an object';
  return typeof input === 'boolean' ? 'true or false' : `a ${typeof input}`;
}

/** A value as a problem quotes it: JSON, cut to 60 characters. */
export const quoted = (text: string) => JSON.stringify(text.length > 60 ? text.slice(0, 57) + '...' : text);

function quoteInput(input: unknown): string {
  if (typeof input === 'string') return ` (got ${quoted(input)})`;
  if (typeof input === 'number' || typeof input === 'boolean') return ` (got ${input})`;
  return '';
}
