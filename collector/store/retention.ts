import type { ClickHouseClient } from '@clickhouse/client';
import { localTable, quoteName, type ClusterTarget } from './cluster-ddl.ts';

/** The events table's TTL clause as ClickHouse prints it back in `system.tables.engine_full`, or null. */
export function ttlOf(engineFull: string): string | null {
  return /\sTTL\s+(.+?)(?:\s+SETTINGS\s|$)/.exec(engineFull)?.[1] ?? null;
}

/**
 * What brings the events table's TTL from `currentTtl` to `retentionDays` (none: keep events forever). Nothing when
 * it is already there: MODIFY TTL rewrites the TTL information of every part, too costly to repeat at each start.
 * On a cluster the TTL lives on the replicated local tables; a Distributed table has none.
 */
export function retentionStatements(currentTtl: string | null, retentionDays: number | undefined, cluster?: ClusterTarget): string[] {
  const table = cluster ? `${quoteName(localTable('events'))} ON CLUSTER ${quoteName(cluster.cluster)}` : 'events';
  if (retentionDays === undefined) return currentTtl === null ? [] : [`ALTER TABLE ${table} REMOVE TTL`];
  if (currentTtl === `toDateTime(ts) + toIntervalDay(${retentionDays})`) return [];
  return [`ALTER TABLE ${table} MODIFY TTL toDateTime(ts) + INTERVAL ${retentionDays} DAY`];
}

/** Sets or removes the events table's TTL to match `storage.retentionDays`; returns the statements it ran. */
export async function applyRetention(client: ClickHouseClient, retentionDays: number | undefined, cluster?: ClusterTarget): Promise<string[]> {
  const result = await client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}',
    query_params: { table: cluster ? localTable('events') : 'events' },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ engine_full: string }>();
  if (!row) throw new Error('the events table is missing; run the migrations first');
  const statements = retentionStatements(ttlOf(row.engine_full), retentionDays, cluster);
  for (const statement of statements) await client.command({ query: statement });
  return statements;
}
