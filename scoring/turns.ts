import type { ClickHouseClient, QueryParams } from '@clickhouse/client';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Rows handled between two turns of the event loop. A full rescoring reads, compares and writes up to a slice of
 * 100,000 leads in the collector's process (~400 bytes of JSON each). Done at once, each of these steps held the
 * event loop for 0.3–0.7 s at 53,000 leads, and every request waited meanwhile: a beacon's 202 took up to 4 s during
 * the pass a collector makes when it starts. A thousand rows take a few milliseconds.
 */
export const ROWS_PER_TURN = 1000;

/**
 * A query's rows, as objects named by column (named tuples as objects too: what JSONEachRow gives), parsed
 * ROWS_PER_TURN at a time (the client's json() parses them all at once), each given to `shape` when there is one.
 *
 * They are read in JSONCompactEachRowWithNamesAndTypes, tuples as arrays: names come once, in the first two rows,
 * not in every row and tuple. ClickHouse writes a large answer faster so, and it parses faster. A full rescoring at
 * 53,000 visitors (55,373 leads: 42 MB of JSONEachRow, 30 MB so), rows in hand: 2,406 → 2,146 ms (medians of 9,
 * interleaved; ClickHouse alone writes the answer in 1.5 s against 2.0 s, FORMAT Null 1.0 s).
 */
export async function queryRows<T, R = T>(store: Pick<ClickHouseClient, 'query'>, params: QueryParams, shape?: (row: T) => R): Promise<R[]> {
  const result = await store.query({
    ...params,
    clickhouse_settings: { ...params.clickhouse_settings, output_format_json_named_tuples_as_objects: 0 },
    format: 'JSONCompactEachRowWithNamesAndTypes',
  });
  const rows: R[] = [];
  let names: string[] | undefined;
  let decoders: Decoder[] | undefined;
  for await (const chunk of result.stream()) {
    for (const line of chunk) {
      const values = line.json<unknown[]>();
      if (!names) names = values as string[];
      else if (!decoders) decoders = (values as string[]).map(decoderOf);
      else {
        const row: Record<string, unknown> = {};
        for (let n = 0; n < names.length; n++) {
          const decode = decoders[n];
          row[names[n]!] = decode ? decode(values[n]) : values[n];
        }
        rows.push(shape ? shape(row as T) : (row as R));
        if (rows.length % ROWS_PER_TURN === 0) await nextTurn();
      }
    }
  }
  return rows;
}

/** A value as a compact JSON format writes it, tuples as arrays → as JSONEachRow writes it; none when the same. */
type Decoder = ((value: unknown) => unknown) | undefined;

/**
 * The decoder of a column of a ClickHouse type (as the answer's types row names it): a named tuple, an array in the
 * answer, becomes an object, at any depth (in an array, a map, a nullable, another tuple). Other values are the same.
 */
export function decoderOf(type: string): Decoder {
  const open = type.indexOf('(');
  if (open < 0 || !type.endsWith(')')) return undefined;
  const name = type.slice(0, open);
  const args = topLevelArgs(type.slice(open + 1, -1));
  if (name === 'Nullable' || name === 'LowCardinality') {
    const inner = decoderOf(args[0]!);
    return inner && ((value) => (value === null ? null : inner(value)));
  }
  if (name === 'Array') {
    const inner = decoderOf(args[0]!);
    return inner && ((value) => (value as unknown[]).map(inner));
  }
  if (name === 'Map') {
    const inner = decoderOf(args[1]!);
    return inner && ((value) => Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, inner(item)])));
  }
  if (name !== 'Tuple') return undefined;
  const elements = args.map((arg) => NAMED_ELEMENT.exec(arg));
  const decoders = elements.map((element, n) => decoderOf(element?.[3] ?? args[n]!));
  const each = (item: unknown, n: number) => {
    const decode = decoders[n];
    return decode ? decode(item) : item;
  };
  if (elements.every(Boolean)) {
    const names = elements.map((element) => element![2] ?? element![1]!.replace(/\\(.)/g, '$1'));
    return (value) => {
      const object: Record<string, unknown> = {};
      (value as unknown[]).forEach((item, n) => (object[names[n]!] = each(item, n)));
      return object;
    };
  }
  return decoders.some(Boolean) ? (value) => (value as unknown[]).map(each) : undefined;
}

/** A tuple element `name Type`, its name plain or in backquotes; an unnamed element (`String`, `DateTime64(3)`) is not one. */
const NAMED_ELEMENT = /^(?:`((?:[^`\\]|\\.)*)`|([A-Za-z_][A-Za-z0-9_]*))\s+(\S.*)$/s;

/** A type's arguments, split at its top-level commas: `String, Tuple(a UInt8, b String), DateTime64(3, 'UTC')` → three. */
function topLevelArgs(args: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(args.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(args.slice(start).trim());
  return parts;
}

/** Calls `fn` on every item, ROWS_PER_TURN at a time. */
export async function inTurns<T>(items: readonly T[], fn: (item: T) => void): Promise<void> {
  for (let start = 0; start < items.length; start += ROWS_PER_TURN) {
    if (start > 0) await nextTurn();
    for (const item of items.slice(start, start + ROWS_PER_TURN)) fn(item);
  }
}
