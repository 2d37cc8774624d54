import type { ClickHouseClient } from '@clickhouse/client';
import { localTable, quoteName, type ClusterTarget } from './cluster-ddl.ts';
import { clusterMigration, readMigrations } from './migrate.ts';
import { timeOf, toClickHouseTime } from '../../scoring/sql.ts';
import type { EventRow } from '../ingest/rows.ts';

/** A table's TTL clause as ClickHouse prints it back in `system.tables.engine_full`, or null. */
export function ttlOf(engineFull: string): string | null {
  return /\sTTL\s+(.+?)(?:\s+SETTINGS\s|$)/.exec(engineFull)?.[1] ?? null;
}

/**
 * The tables `storage.retentionDays` covers, each with the time a row is as old as: whatever names or identifies a
 * person. Events, and the visits the dashboards count them by (visit_days); the identity map (who gave which email on
 * which browser), as old as the last time the person was seen (keepIdentities); a lead's stored scores, which carry its
 * profile, as old as its last activity; alerts, which carry the lead's name, email and company. Qualifications (sales'
 * own notes on a deal) have no TTL: they are kept as long as their lead is, as a CRM keeps them (api/lead-store.ts
 * forgetQualifications); an erasure removes them with the rest.
 */
const RETAINED: ReadonlyArray<{ table: string; time: string }> = [
  { table: 'events', time: 'ts' },
  { table: 'identities', time: 'last_seen' },
  { table: 'lead_scores', time: 'last_seen' },
  { table: 'alert_outbox', time: 'created_at' },
  // The dashboards' rollup names browsers: a visit's day goes with that day's events (at the day's start: a day early at most).
  { table: 'visit_days', time: 'day' },
];

const DAY_MS = 24 * 60 * 60_000;
/** How often at most keepIdentities writes a row again: an hour, a small part of the shortest retention (a day). */
const KEEP_EVERY_MS = 60 * 60_000;

/**
 * Brings forward to `at` the `last_seen` of the identity rows of the emails these browsers gave, whichever browser gave
 * them: the person was seen, so the retention keeps them a lead (their other devices too). A row is written again
 * with its new time, at most once an hour; the table's merges keep the copy (the last inserted row of a key). Only for
 * browsers that sent events since the last time (the scorer's touched visitors), and only with a retention.
 */
export async function keepIdentities(client: Pick<ClickHouseClient, 'command'>, site: string, visitors: string[], at: number, settings?: Record<string, number>): Promise<void> {
  await client.command({
    query: `INSERT INTO identities (site_id, visitor_id, email, ts, event_id, is_bot, session_id, last_seen)
            SELECT site_id, visitor_id, email, ts, event_id, any(is_bot), any(session_id), {at:DateTime64(3, 'UTC')}
            FROM identities
            WHERE site_id = {site:String}
              AND email IN (SELECT email FROM identities WHERE site_id = {site:String} AND visitor_id IN {visitors:Array(String)})
            GROUP BY site_id, visitor_id, email, ts, event_id
            HAVING max(last_seen) < {stale:DateTime64(3, 'UTC')}`,
    query_params: { site, visitors, at: toClickHouseTime(at), stale: toClickHouseTime(at - KEEP_EVERY_MS) },
    clickhouse_settings: settings,
  });
}

/**
 * Whether `retentionDays` has expired an event kept outside ClickHouse (one the write-ahead log set aside as ClickHouse
 * refused it): by the time the events table's TTL reads, `toDateTime(ts) + INTERVAL N DAY`, so it goes when the stored
 * events of that day go. One whose time cannot be read is judged by when it was received.
 */
export function eventExpired(retentionDays: number, row: Pick<EventRow, 'ts' | 'received_at'>, now = Date.now()): boolean {
  const at = [row.ts, row.received_at].map((text) => (typeof text === 'string' ? timeOf(text) : NaN)).find(Number.isFinite);
  // toDateTime: to the second below.
  return at !== undefined && Math.floor(at / 1000) * 1000 + retentionDays * DAY_MS <= now;
}

/**
 * What brings a table's TTL from `currentTtl` to `retentionDays` (none: keep rows forever). Nothing when it is already
 * there: MODIFY TTL rewrites the TTL information of every part, too costly to repeat at each start. On a cluster the
 * TTL lives on the replicated local tables; a Distributed table has none.
 */
export function retentionStatements(currentTtl: string | null, retentionDays: number | undefined, cluster?: ClusterTarget, { table, time } = RETAINED[0]!): string[] {
  const target = cluster ? `${quoteName(localTable(table))} ON CLUSTER ${quoteName(cluster.cluster)}` : table;
  if (retentionDays === undefined) return currentTtl === null ? [] : [`ALTER TABLE ${target} REMOVE TTL`];
  if (currentTtl === `toDateTime(${time}) + toIntervalDay(${retentionDays})`) return [];
  return [`ALTER TABLE ${target} MODIFY TTL toDateTime(${time}) + INTERVAL ${retentionDays} DAY`];
}

/** What gives every table retention covers the TTL of `retentionDays` on a store that has none yet. */
export const freshRetentionStatements = (retentionDays: number | undefined, cluster?: ClusterTarget): string[] =>
  RETAINED.flatMap((retained) => retentionStatements(null, retentionDays, cluster, retained));

/**
 * Brings each identity row's `last_seen` forward to the latest event of the browsers that gave its email: migration
 * 018's statement, run again. keepIdentities keeps it current only while a retention is on, and a demo history writes
 * none: a retention switched on or shortened later expired at its first merge the identities of people who gave their
 * email long ago and came back yesterday, their leads turned anonymous (QA). Rows already as recent are left.
 */
export async function redateIdentities(client: Pick<ClickHouseClient, 'command'>, cluster?: ClusterTarget): Promise<void> {
  const backfill = readMigrations().find((migration) => migration.name === '018_identities_last_seen_backfill')!;
  for (const statement of cluster ? clusterMigration(backfill, cluster, new Map()) : backfill.statements) await client.command({ query: statement });
}

/**
 * Sets or removes the TTL of every table retention covers to match `storage.retentionDays`; returns the statements it
 * ran. The identities are dated again first when their TTL is set or changed (redateIdentities).
 */
export async function applyRetention(client: ClickHouseClient, retentionDays: number | undefined, cluster?: ClusterTarget): Promise<string[]> {
  const nameOf = (table: string) => (cluster ? localTable(table) : table);
  // The tables' definitions in one read, at every start.
  const result = await client.query({
    query: 'SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}',
    query_params: { tables: RETAINED.map(({ table }) => nameOf(table)) },
    format: 'JSONEachRow',
  });
  const engines = new Map((await result.json<{ name: string; engine_full: string }>()).map((row) => [row.name, row.engine_full]));
  const ran: string[] = [];
  for (const retained of RETAINED) {
    const engine = engines.get(nameOf(retained.table));
    if (engine === undefined) throw new Error(`the ${retained.table} table is missing; run the migrations first`);
    const statements = retentionStatements(ttlOf(engine), retentionDays, cluster, retained);
    if (retained.table === 'identities' && retentionDays !== undefined && statements.length > 0) await redateIdentities(client, cluster);
    for (const statement of statements) await client.command({ query: statement });
    ran.push(...statements);
  }
  return ran;
}
