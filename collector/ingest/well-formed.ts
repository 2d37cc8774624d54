/**
 * The same validated batch with every half surrogate pair, in values and keys, replaced by U+FFFD (in place: the
 * batch is the schema's fresh output, or the request's body itself, parsed from JSON for this route alone). Half a
 * pair is what cutting text at a UTF-16 length leaves when the cut falls inside an emoji; the snippet cuts link text
 * and form values at a length, so one can arrive in good faith, and ClickHouse refuses an insert that holds one: left
 * in, it would stop the write-ahead log from draining. Only for validated input, whose depth the schema bounds.
 */
export function replaceLoneSurrogates<T>(value: T): T {
  if (typeof value === 'string') return (value.isWellFormed() ? value : value.toWellFormed()) as T;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = replaceLoneSurrogates(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const entry = replaceLoneSurrogates(record[key]);
    if (key.isWellFormed()) record[key] = entry;
    else {
      delete record[key];
      record[key.toWellFormed()] = entry;
    }
  }
  return value;
}
