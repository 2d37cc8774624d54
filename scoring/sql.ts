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
