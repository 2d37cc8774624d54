/**
 * `body` with `name` bound to `value`, which is computed once: a one-element arrayMap. An alias would be inlined at
 * each of its uses, and planned as many times.
 */
export const letSql = (name: string, value: string, body: string) => `arrayMap(${name} -> ${body}, [${value}])[1]`;

/**
 * Query parameters for generated SQL. Everything that comes from rules or people (values, patterns, ids) goes
 * through here as a `{name:Type}` placeholder, so no text from a config or a form is ever part of the SQL as
 * written. (The embedded engine's client writes the values in at the last step, escaped and typed:
 * collector/store/inline-params.ts.)
 */
export class SqlParams {
  readonly values: Record<string, unknown> = {};

  /** The placeholder for a named value; binding the same name twice must bind the same value. */
  bind(name: string, value: unknown, type = 'String'): string {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`bad query parameter name ${JSON.stringify(name)}`);
    if (name in this.values && JSON.stringify(this.values[name]) !== JSON.stringify(value)) {
      throw new Error(`query parameter ${name} bound to two values`);
    }
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

/**
 * How many ids (of leads, of visitors) one statement names at most, where a list can hold a whole site's (`hearth score
 * --json`): ClickHouse reads a statement of up to 256 KiB (the embedded engine's values are written into it), and a
 * server takes the values in the URL, up to 1 MiB.
 */
export const IDS_PER_STATEMENT = 1000;

/** `items` in consecutive slices of at most `size`. */
export const slicesOf = <T>(items: readonly T[], size = IDS_PER_STATEMENT): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, n) => items.slice(n * size, (n + 1) * size));

// The collector formats two times per beacon, nearly always within the same minute as the last ones.
let cachedMinute = NaN;
let cachedMinuteText = '';

/** ClickHouse's text for a DateTime64(3, 'UTC') at this epoch time: `2026-11-26 10:00:00.000`. */
export function toClickHouseTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const withinMinute = ms % 60_000;
  const minute = ms - withinMinute;
  if (minute !== cachedMinute) {
    cachedMinute = minute;
    cachedMinuteText = new Date(minute).toISOString().slice(0, 17).replace('T', ' ');
  }
  return `${cachedMinuteText}${String(withinMinute / 1000 | 0).padStart(2, '0')}.${String(withinMinute % 1000).padStart(3, '0')}`;
}

/** ClickHouse's DateTime64(3, 'UTC') text as ISO 8601 (`2026-11-26T10:00:00.000Z`); ISO text stays as it is. */
export const isoTime = (text: string) => (text.includes('T') ? text : text.replace(' ', 'T') + 'Z');

/** ClickHouse's DateTime64(3, 'UTC') text, or ISO 8601, as epoch milliseconds. */
export const timeOf = (text: string) => Date.parse(isoTime(text));

/**
 * Settings for the reads of one lead (its page: stored scores, browsers, events, qualification), each a few granules:
 * one thread, where ClickHouse would set up a pipeline per core for them. They run side by side, and a point read
 * gains nothing from a second thread: the lead page at 53,000 visitors took 50–57 → 43–49 ms (medians of 14 reads,
 * three runs each, interleaved; with lead-store's one read of the lead's browsers).
 */
export const ONE_LEAD = { max_threads: 1 };

/**
 * The most engaged time one event may carry: the snippet sends a piece every 15 s of engagement, and at most 30 s more
 * of it when its timer could not run (a blocked page, a sleeping laptop). The collector stores a larger one as this.
 */
export const MAX_ENGAGED_PIECE_MS = 60_000;

/**
 * Engaged time summed over some events (`sum`), at most the time between the first and the last of them (`first`,
 * `last`, DateTime64 aggregates) and one piece: pieces are what a client says, and 98 pieces of a day each in one
 * request made a 2 ms visit 2,352 hours long on the pricing page (the dwell signal, the panel's average).
 */
export const engagedWithin = (sum: string, first: string, last: string) =>
  `least(${sum}, toUInt64(greatest(0, toUnixTimestamp64Milli(${last}) - toUnixTimestamp64Milli(${first}))) + ${MAX_ENGAGED_PIECE_MS})`;
