// Half of a surrogate pair: what cutting text at a UTF-16 length leaves when the cut falls inside an emoji.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * The same validated batch with every half surrogate pair, in values and keys, replaced by U+FFFD. The snippet
 * cuts link text and form values at a length, so one can arrive in good faith, and ClickHouse refuses an insert
 * that holds one: left in, it would stop the write-ahead log from draining. Only for validated input, whose
 * depth the schema bounds.
 */
export function replaceLoneSurrogates<T>(value: T): T {
  if (typeof value === 'string') return value.replace(LONE_SURROGATE, '\ufffd') as T;
  if (Array.isArray(value)) return value.map(replaceLoneSurrogates) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [replaceLoneSurrogates(key), replaceLoneSurrogates(entry)])) as T;
  }
  return value;
}
