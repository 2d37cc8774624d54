import type { ClickHouseClient } from '@clickhouse/client';
import { encodedInsertOf } from '../store/client.ts';
import type { EventRow } from './rows.ts';

/** Where accepted events go. `write` resolves once the rows are durable; only then does the collector answer 202. */
export interface EventSink {
  write(rows: EventRow[]): Promise<void>;
  close(): Promise<void>;
  /** Resolves once every write acknowledged so far is stored in ClickHouse. */
  drained(): Promise<void>;
  status(): SinkStatus;
}

/** What /readyz reports about ingest. */
export interface SinkStatus {
  /** Accepted rows (and their bytes on disk) not yet stored in ClickHouse. */
  pendingRows: number;
  pendingBytes: number;
  /** The most it keeps before refusing events (HEARTH_WAL_MAX_MB), absent for a sink that keeps no log. */
  maxBytes?: number;
  /** When the oldest of those rows was accepted (epoch ms); null when there are none, absent for a sink that keeps no log. */
  oldestPendingAt?: number | null;
  /** The last insert into ClickHouse succeeded (true until one is tried). */
  clickHouseReachable: boolean;
  lastError: string | null;
  /** Inserts are failing: events are accepted but wait on disk. */
  degraded: boolean;
  /** Events are refused until ClickHouse catches up. */
  full: boolean;
  /**
   * The write-ahead log's disk cannot be written (its error's code: ENOSPC, EIO, EROFS…), so every event is refused
   * until it can again; null while it can, absent for a sink that keeps no log.
   */
  diskError?: string | null;
  /**
   * How long the insert on its way to ClickHouse has waited, once past SLOW_INSERT_MS (a server that takes the
   * connection and then hangs, or is overloaded); null while inserts come back in time, absent for a sink that keeps no
   * log. Events are accepted and wait on disk (degraded) meanwhile, until the insert fails at the client's timeout.
   */
  slowInsertMs?: number | null;
  /**
   * Why the log cannot be drained for a reason of its own (a segment it cannot read, a checkpoint it cannot write: an
   * I/O error), while ClickHouse may be fine: events are accepted and wait on disk (degraded). Null when it drains.
   */
  drainError?: string | null;
}

/** An insert waiting longer than this for ClickHouse makes /readyz say degraded (inserts take well under a second). */
export const SLOW_INSERT_MS = 10_000;

/** What the scorer needs to know of a stored event: whose it is, and whether a bot sent it. */
export type StoredVisitor = Pick<EventRow, 'site_id' | 'visitor_id' | 'is_bot'>;

/** One row of the identity map (visitor ↔ email). */
export interface IdentityRow {
  site_id: string;
  visitor_id: string;
  email: string;
  ts: string;
  event_id: string;
  is_bot: number;
  /** The visit the email was given in (scoring/compile.ts ownerSql). */
  session_id: string;
}

/** The rows of the identity map a batch adds: one per event that carried an email (normalised as scoring compares it). */
export function identityRows(rows: EventRow[]): IdentityRow[] {
  return rows
    .filter((row) => row.email !== '')
    .map((row) => ({ site_id: row.site_id, visitor_id: row.visitor_id, email: row.email.trim().toLowerCase(), ts: row.ts, event_id: row.event_id, is_bot: row.is_bot, session_id: row.session_id }));
}

/**
 * Each identity row as old as the latest of `rows` of the browsers that gave its email: a history written at once (the
 * demo's), whose people's later visits no collector saw come in to keep their identity (store/retention.ts
 * keepIdentities). A retention's TTL reads it as the rows are inserted.
 */
function seenAsLate(identities: IdentityRow[], rows: EventRow[]): (IdentityRow & { last_seen: string })[] {
  const latestOf = new Map<string, string>();
  for (const row of rows) if (row.ts > (latestOf.get(row.visitor_id) ?? '')) latestOf.set(row.visitor_id, row.ts);
  const seen = new Map<string, string>();
  for (const { email, visitor_id } of identities) if (latestOf.get(visitor_id)! > (seen.get(email) ?? '')) seen.set(email, latestOf.get(visitor_id)!);
  return identities.map((identity) => ({ ...identity, last_seen: seen.get(identity.email)! }));
}

/**
 * Rows in memory (seeding, imports) into the events table and the identity map; insertEncodedEvents below does the
 * same for the write-ahead log. Events go first: a crash between the two inserts replays both from the write-ahead
 * log, and both tables collapse the copies. `wholeHistory`: the rows are all their browsers did (seenAsLate).
 */
export async function insertEvents(client: Pick<ClickHouseClient, 'insert'>, rows: EventRow[], { wholeHistory = false } = {}): Promise<void> {
  await client.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
  const identities = wholeHistory ? seenAsLate(identityRows(rows), rows) : identityRows(rows);
  if (identities.length > 0) await client.insert({ table: 'identities', values: identities, format: 'JSONEachRow' });
}

/** Events already encoded as JSON (the write-ahead log's insert bodies) sent as they are, then their identity rows. */
export async function insertEncodedEvents(client: Pick<ClickHouseClient, 'insert' | 'exec'>, events: Buffer, identities: IdentityRow[]): Promise<void> {
  await encodedInsertOf(client)('events', events);
  if (identities.length > 0) await client.insert({ table: 'identities', values: identities, format: 'JSONEachRow' });
}

/** Inserts each accepted batch straight into ClickHouse, so a 202 means the rows are stored. */
export function clickHouseSink(client: ClickHouseClient): EventSink {
  return {
    write: (rows) => insertEvents(client, rows),
    async close() {},
    async drained() {},
    status: () => ({ pendingRows: 0, pendingBytes: 0, clickHouseReachable: true, lastError: null, degraded: false, full: false }),
  };
}
