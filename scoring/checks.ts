import type { core } from 'zod';

/** A path into a value, as zod's issues give them; `'*'` stands for any key or index. */
type ReadPath = readonly (PropertyKey | '*')[];

/**
 * The `when` of a check that reads other parts of its value (a route's destination ids, a rule's page group). zod skips
 * such a check as soon as any part of the value has an issue, so a config's cross-reference mistakes were reported only
 * once its other mistakes were fixed, a round later. With this, the check runs unless an issue lies on, under or above a
 * path it reads, and one round reports them all. The check must read nothing else: the value's other parts may be as
 * they were written.
 */
export function unlessIssuesAt(...reads: ReadPath[]): { when: (payload: core.ParsePayload) => boolean } {
  const overlaps = (path: readonly PropertyKey[], read: ReadPath) => path.every((key, i) => i >= read.length || read[i] === '*' || read[i] === key);
  return { when: (payload) => !payload.issues.some((issue) => reads.some((read) => overlaps(issue.path ?? [], read))) };
}

/**
 * A key that reads as one after a dot: an empty key (`?=x`, `{"": 1}`) would read as the root, and one holding a dot,
 * a space, a bracket, a quote or a control character as another path (`decay.halfLifeDays` given as one key).
 */
const isBareKey = (key: string) => key !== '' && !/[.\s[\]"'\\\u0000-\u001f]/.test(key);

/** Renders a zod path the way people write it in JSON: `sites[0].origins[1]`, a key that is not bare quoted (`rules["a.b"]`). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    const name = String(key);
    out += typeof key === 'number' ? `[${key}]` : !isBareKey(name) ? `[${JSON.stringify(name)}]` : out ? `.${name}` : name;
  }
  return out || '(root)';
}
