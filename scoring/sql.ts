/**
 * Query parameters for generated SQL. Everything that comes from rules or people (values, patterns, ids) goes
 * through here as a `{name:Type}` placeholder, so no text from a config or a form is ever part of the SQL itself.
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

/** ClickHouse's text for a DateTime64(3, 'UTC') at this epoch time: `2026-11-26 10:00:00.000`. */
export const toClickHouseTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** ClickHouse's DateTime64(3, 'UTC') text as ISO 8601 (`2026-11-26T10:00:00.000Z`); ISO text stays as it is. */
export const isoTime = (text: string) => (text.includes('T') ? text : text.replace(' ', 'T') + 'Z');

/** ClickHouse's DateTime64(3, 'UTC') text, or ISO 8601, as epoch milliseconds. */
export const timeOf = (text: string) => Date.parse(isoTime(text));
