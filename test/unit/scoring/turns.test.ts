import { Readable } from 'node:stream';
import type { ResultSet } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { writeSnapshots, type StoredScore } from '../../../scoring/snapshots.ts';
import { inTurns, jsonRows, ROWS_PER_TURN } from '../../../scoring/turns.ts';
import { turnsDuring } from '../../support/turns.ts';

// A slice of a full rescoring is read, compared and written in the collector's process: the event loop must turn
// every ROWS_PER_TURN rows, so that beacons are answered meanwhile.
describe('work on many rows, a turn of the event loop at a time', () => {
  it('parses a JSONEachRow answer that arrives in one piece (the embedded engine) a turn at a time', async () => {
    const values = Array.from({ length: 5 * ROWS_PER_TURN + 10 }, (_, n) => ({ n, lead: `l_${n}` }));
    // One chunk holding every row, as the client's stream() gives it for an answer received whole.
    const answer = { stream: () => Readable.from([values.map((value) => ({ text: JSON.stringify(value), json: () => JSON.parse(JSON.stringify(value)) }))]) };
    const { result, turns } = await turnsDuring(() => jsonRows<{ n: number; lead: string }>(answer as unknown as ResultSet<'JSONEachRow'>));
    expect(result).toEqual(values);
    expect(turns).toBeGreaterThanOrEqual(5);
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
