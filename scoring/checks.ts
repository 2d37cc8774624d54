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
