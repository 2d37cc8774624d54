import type { ClickHouseClient } from '@clickhouse/client';
import { LRUCache } from 'lru-cache';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { timeIsKept, type EventRow } from './rows.ts';
import type { WireBatch } from './wire.ts';

/**
 * The times given to events whose own time is not kept (a clock set wrong): the arrival of their first copy. A copy
 * sent again (its acknowledgement was lost) is given the same time, so the events table collapses the two, as it
 * does copies of every other event. Known from this process's memory for a day, else read from the events table: a
 * retry that reaches another collector, or this one after a restart.
 */
export interface RetimedEvents {
  /** Event id → the time an earlier copy was stored with, for the batch's events whose own time is not kept. */
  lookUp(batch: WireBatch, receivedAt: number): Promise<ReadonlyMap<string, string>>;
  /** Told of each batch once its rows (batchToRows's, one per event, in order) are durable. */
  remember(batch: WireBatch, receivedAt: number, rows: EventRow[]): void;
}

const NONE: ReadonlyMap<string, string> = new Map();
// Retries come within the snippet's 24 hours; a ClickHouse that is slow to answer is not waited on (the arrival
// time is used, as before there was a lookup): such batches are few, but the lookup is on their 202's path.
const LOOKUP_TIMEOUT_MS = 250;
/** How long after recording an event the snippet's retry queue may send it again (24 hours), and a little more. */
const RETRIED_WITHIN_MS = 25 * 3_600_000;
/** The longest a resent batch's 202 waits for another collector's log (a flush interval set to minutes is not waited out). */
const MAX_SECOND_LOOK_MS = 5000;

/**
 * `othersFlushMs`: how long another collector may keep a first copy in its log before ClickHouse has it (its
 * HEARTH_WAL_FLUSH_MS; the collectors of one deployment share their settings). A copy sent again from the snippet's
 * retry queue (its events carry their session, `sid`) whose first copy is nowhere yet is looked up once more after that
 * long, plus the lookup's own time, before it is given its arrival time: the first copy may be in the log of the
 * collector that took it, and a retry reaching another one within a second was stored twice.
 */
export function retimedEvents(client: Pick<ClickHouseClient, 'query'>, storeReachable: () => boolean, othersFlushMs = 0): RetimedEvents {
  const known = new LRUCache<string, string>({ max: 100_000, ttl: 25 * 3600_000 });
  const key = (site: string, eventId: string) => `${site}\u0000${eventId}`;
  /** Adds to `found` the times ClickHouse holds for these events' first copies. */
  async function stored(batch: WireBatch, ids: string[], found: Map<string, string>): Promise<void> {
    if (ids.length === 0 || !storeReachable()) return;
    try {
      const result = await client.query({
        query: `SELECT toString(event_id) AS id, toString(min(ts)) AS ts FROM events
                WHERE site_id = {site:String} AND visitor_id = {visitor:String} AND event_id IN {ids:Array(UUID)} GROUP BY event_id`,
        query_params: { site: batch.s, visitor: batch.v, ids },
        format: 'JSONEachRow',
        abort_signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      });
      for (const row of await result.json<{ id: string; ts: string }>()) found.set(row.id, row.ts);
    } catch {
      // Down or slow: this copy gets its arrival time, and may be stored twice.
    }
  }
  /**
   * Gives the events whose first copy is nowhere the time just before the latest erasure of their browser in the day
   * before `receivedAt`, if any: an erasure took their first copy (nothing remembers its time then), and one of them
   * may be a retry queue's copy of an event recorded before the erasure; dated so, the erasure keeps it out, as it
   * keeps out what a retry queue sends with a time before it. A browser whose clock is that wrong and is used again
   * within the day loses what it sends meanwhile: privacy first.
   */
  async function erasedBefore(batch: WireBatch, receivedAt: number, ids: string[], found: Map<string, string>): Promise<void> {
    if (ids.length === 0 || !storeReachable()) return;
    try {
      const result = await client.query({
        query: `SELECT toString(max(erased_at) - toIntervalMillisecond(1)) AS before, count() AS erasures FROM erasures
                WHERE site_id = {site:String} AND visitor_id = {visitor:String} AND erased_at >= {since:DateTime64(3, 'UTC')}`,
        query_params: { site: batch.s, visitor: batch.v, since: toClickHouseTime(receivedAt - RETRIED_WITHIN_MS) },
        format: 'JSONEachRow',
        abort_signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      });
      const [row] = await result.json<{ before: string; erasures: string }>();
      if (row && Number(row.erasures) > 0) for (const id of ids) found.set(id, row.before);
    } catch {
      // Down or slow: these copies get their arrival time.
    }
  }
  return {
    async lookUp(batch, receivedAt) {
      const ids = batch.e.filter((event) => !timeIsKept(event.t, receivedAt)).map((event) => event.i.toLowerCase());
      if (ids.length === 0) return NONE;
      const found = new Map<string, string>();
      /** Of these ids, those neither found yet nor in this process's memory (the times it remembers go to `found`). */
      const unknown = (candidates: string[]) =>
        candidates.filter((id) => {
          if (found.has(id)) return false;
          const at = known.get(key(batch.s, id));
          if (at !== undefined) found.set(id, at);
          return at === undefined;
        });
      const missing = unknown(ids);
      await stored(batch, missing, found);
      const resent = batch.e.some((event) => event.sid);
      if (resent && othersFlushMs > 0 && missing.some((id) => !found.has(id))) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(othersFlushMs, MAX_SECOND_LOOK_MS) + LOOKUP_TIMEOUT_MS));
        // Copies that arrived here meanwhile are in memory by now.
        await stored(batch, unknown(missing), found);
      }
      await erasedBefore(batch, receivedAt, missing.filter((id) => !found.has(id)), found);
      // Copies that arrived at once (every open tab resends the retry queue as the browser comes back online) each
      // found no first copy: the first to get here gives them its arrival time, and the others take it (nothing runs
      // between this look and this claim), so they are stored once. A claim whose batch is then refused (a full log)
      // is the time its next copy takes.
      const arrival = toClickHouseTime(receivedAt);
      for (const id of missing) {
        if (found.has(id)) continue;
        const claimed = known.get(key(batch.s, id));
        if (claimed === undefined) known.set(key(batch.s, id), arrival);
        else found.set(id, claimed);
      }
      return found;
    },
    remember(batch, receivedAt, rows) {
      batch.e.forEach((event, i) => {
        if (!timeIsKept(event.t, receivedAt)) known.set(key(batch.s, rows[i]!.event_id), rows[i]!.ts);
      });
    },
  };
}
