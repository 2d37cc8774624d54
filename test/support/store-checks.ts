import type { ClickHouseClient } from '@clickhouse/client';
import { expect } from 'vitest';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { clickHouseSink } from '../../collector/ingest/sink.ts';
import { newVisitor, wireEvent } from './server.ts';

/**
 * Writes one batch twice, as a retry does, with merges stopped so both copies stay on disk: readers (FINAL) see
 * each event once, and a merge keeps one copy. The same check runs on the embedded engine and over HTTP.
 */
export async function expectRetriedBatchCollapses(client: ClickHouseClient): Promise<void> {
  const count = async (query: string, visitor: string) => {
    const result = await client.query({ query, query_params: { visitor }, format: 'JSONEachRow' });
    return Number((await result.json<{ n: string }>())[0]!.n);
  };
  await client.command({ query: 'SYSTEM STOP MERGES events' });
  const visitor = newVisitor();
  const rows = batchToRows({ s: 'acme', v: visitor, e: [wireEvent(), wireEvent(), wireEvent()] as any }, Date.now());
  const sink = clickHouseSink(client);
  await sink.write(rows);
  await sink.write(rows);
  expect(await count('SELECT count() AS n FROM events WHERE visitor_id = {visitor:String}', visitor)).toBe(6);
  expect(await count('SELECT count() AS n FROM events FINAL WHERE visitor_id = {visitor:String}', visitor)).toBe(3);
  await client.command({ query: 'SYSTEM START MERGES events' });
  await client.command({ query: 'OPTIMIZE TABLE events FINAL' });
  expect(await count('SELECT count() AS n FROM events WHERE visitor_id = {visitor:String}', visitor)).toBe(3);
}
