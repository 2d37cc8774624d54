import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { writeSnapshots, type StoredScore } from '../../../scoring/snapshots.ts';
import { decoderOf, inTurns, queryRows, ROWS_PER_TURN } from '../../../scoring/turns.ts';
import { turnsDuring } from '../../support/turns.ts';

// A slice of a full rescoring is read, compared and written in the collector's process: the event loop must turn
// every ROWS_PER_TURN rows, so that beacons are answered meanwhile.
describe('work on many rows, a turn of the event loop at a time', () => {
  it('parses an answer that arrives in one piece (the embedded engine) a turn at a time, rows named by column', async () => {
    const values = Array.from({ length: 5 * ROWS_PER_TURN + 10 }, (_, n) => [n, `l_${n}`, [`v${n}`, n % 2 === 0]] as const);
    const lines = [['n', 'lead', 'touch'], ['UInt64', 'String', 'Tuple(source String, paid Bool)'], ...values];
    // One chunk holding every row, as the client's stream() gives it for an answer received whole.
    const store = { query: async () => ({ stream: () => Readable.from([lines.map((line) => ({ text: JSON.stringify(line), json: () => JSON.parse(JSON.stringify(line)) }))]) }) };
    const { result, turns } = await turnsDuring(() => queryRows(store as unknown as ClickHouseClient, { query: 'SELECT …' }));
    expect(result).toEqual(values.map(([n, lead, [source, paid]]) => ({ n, lead, touch: { source, paid } })));
    expect(turns).toBeGreaterThanOrEqual(5);
  });

  it('turns named tuples back into objects, at any depth, and leaves other values as they are', () => {
    expect(decoderOf('String')).toBeUndefined();
    expect(decoderOf("DateTime64(3, 'UTC')")).toBeUndefined();
    expect(decoderOf('Array(Tuple(String, UInt8))')).toBeUndefined();
    expect(decoderOf('Array(Tuple(rule String, points Float64))')!([['pricing', 20], ['c-level', 30]])).toEqual([
      { rule: 'pricing', points: 20 },
      { rule: 'c-level', points: 30 },
    ]);
    expect(decoderOf("Nullable(Tuple(signal String, at DateTime64(3, 'UTC')))")!(null)).toBeNull();
    expect(decoderOf("Tuple(signal String, at DateTime64(3, 'UTC'), `odd, name` String)")!(['demo', '2026-12-03 10:00:00.000', 'x'])).toEqual({
      signal: 'demo',
      at: '2026-12-03 10:00:00.000',
      'odd, name': 'x',
    });
    expect(decoderOf('Map(String, Tuple(n UInt8, s String))')!({ a: [1, 'x'] })).toEqual({ a: { n: 1, s: 'x' } });
    expect(decoderOf('Tuple(String, Tuple(a String, b UInt8))')!(['plain', ['in', 1]])).toEqual(['plain', { a: 'in', b: 1 }]);
  });

  it('calls a function on every item, in order, a turn at a time', async () => {
    const items = Array.from({ length: 3 * ROWS_PER_TURN + 1 }, (_, n) => n);
    const seen: number[] = [];
    const { turns } = await turnsDuring(() => inTurns(items, (item) => seen.push(item)));
    expect(seen).toEqual(items);
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('encodes snapshots as JSONEachRow a turn at a time, 20,000 rows an insert', async () => {
    const rows = Array.from({ length: 20_001 }, (_, n) => ({ site_id: 'acme', lead_id: `l_${n}`, score: n % 100, reasons: [{ rule: 'pricing', points: 20 }] })) as unknown as StoredScore[];
    const inserts: { table: string; body: string }[] = [];
    const { turns } = await turnsDuring(() => writeSnapshots(async (table, body) => void inserts.push({ table, body: body.toString() }), rows));
    expect(inserts.map((insert) => insert.table)).toEqual(['lead_scores', 'lead_scores']);
    const lines = inserts.flatMap((insert) => insert.body.split('\n').slice(0, -1));
    expect(lines.map((line) => JSON.parse(line))).toEqual(rows);
    expect(inserts.every((insert) => insert.body.endsWith('}\n'))).toBe(true);
    expect(turns).toBeGreaterThanOrEqual(20_000 / ROWS_PER_TURN - 1);
  });
});
