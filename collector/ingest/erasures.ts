import type { ClickHouseClient } from '@clickhouse/client';
import { timeOf, toClickHouseTime } from '../../scoring/sql.ts';
import { leadIdOf } from '../api/lead-store.ts';
import type { EventRow } from './rows.ts';
import { batchOfRows, rowsOf, type LoggedBatch } from './wal-records.ts';

/**
 * Keeps an erased person's events out of what a collector stores after the erasure: those another collector's
 * write-ahead log held when it ran (each collector has its own log), or one that waited for ClickHouse to come back.
 * The erasure records in `erasures` (migration 011) which browsers and which email were the person's, and on a
 * browser another person took over, until when; before each insert, the drainer reads what was recorded since it
 * last looked and drops such rows that a collector received before the erasure (by the collectors' clocks: a
 * browser's own may run minutes fast or a day slow). What arrives after it is new, and kept.
 */
export interface ErasureFilter {
  /** The batches without the rows of people erased so far. Throws when ClickHouse cannot be read (the insert is retried). */
  apply(batches: LoggedBatch[]): Promise<LoggedBatch[]>;
}

/**
 * One row of `erasures`: a browser of the person (their events on it dated before `until`: the handover on a shared
 * computer, else END_OF_TIME), or their email's lead (its `until` END_OF_TIME).
 */
export interface ErasureRow {
  site_id: string;
  visitor_id: string;
  lead_id: string;
  until: string;
  erased_at: string;
}

/**
 * Erasures are read again from this long before the latest one seen, so that one recorded late with an earlier time
 * is not missed: another collector's clock running behind, two erasures at once, a replica catching up. Reading an
 * erasure twice changes nothing.
 */
const LOOKBACK_MS = 10 * 60_000;

/** The `until` of a browser that was the person's to the end, and of their email: DateTime64's last millisecond. */
export const END_OF_TIME = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

/** What the latest erasure of a browser or an email says: rows received before `erasedAt` and dated before `until` were the person's. */
interface Erased {
  until: number;
  erasedAt: number;
}

export function erasureFilter(client: Pick<ClickHouseClient, 'query'>): ErasureFilter {
  // Per site and browser, or site and lead: the latest erasure of it.
  const erased = new Map<string, Erased>();
  // Per site and browser: when another email took it over, as found in the rows drained since (see handovers).
  const handedOver = new Map<string, number>();
  let latestSeen = 0;

  async function refresh(): Promise<void> {
    const result = await client.query({
      query: `SELECT site_id, visitor_id, lead_id, toUnixTimestamp64Milli(until) AS until, toUnixTimestamp64Milli(erased_at) AS erased_at
              FROM erasures WHERE erased_at >= {since:DateTime64(3, 'UTC')} ORDER BY erased_at`,
      query_params: { since: toClickHouseTime(Math.max(0, latestSeen - LOOKBACK_MS)) },
      format: 'JSONEachRow',
    });
    for (const row of await result.json<{ site_id: string; visitor_id: string; lead_id: string; until: number | string; erased_at: number | string }>()) {
      const erasedAt = Number(row.erased_at);
      latestSeen = Math.max(latestSeen, erasedAt);
      const key = row.visitor_id ? browserKey(row.site_id, row.visitor_id) : `${row.site_id}\u0000l\u0000${row.lead_id}`;
      const known = erased.get(key);
      if (known !== undefined && known.erasedAt >= erasedAt) continue;
      erased.set(key, { until: Number(row.until), erasedAt });
      // A browser erased again (its next user's turn): the handover found before was into that erasure.
      handedOver.delete(key);
    }
  }

  const browserKey = (site: string, visitor: string) => `${site}\u0000v\u0000${visitor}`;
  const browserErased = (site: string, visitor: string): Erased | undefined => {
    const key = browserKey(site, visitor);
    const found = erased.get(key);
    return found && { ...found, until: Math.min(found.until, handedOver.get(key) ?? Infinity) };
  };
  const emailErased = (site: string, email: string) => erased.get(`${site}\u0000l\u0000${leadIdOf(email.trim().toLowerCase())}`);
  const covers = (row: EventRow, ts: number, by: Erased | undefined) => by !== undefined && timeOf(row.received_at) < by.erasedAt && ts < by.until;
  const byEmail = (row: EventRow, ts: number) => row.email !== '' && covers(row, ts, emailErased(row.site_id, row.email));
  const isErased = (row: EventRow) => {
    const ts = timeOf(row.ts);
    return covers(row, ts, browserErased(row.site_id, row.visitor_id)) || byEmail(row, ts);
  };
  /**
   * A browser of an erased person on which the rows give another email: a shared computer the next user took over
   * after their events reached this log, which the erasure could not know. From that email on, the browser's events
   * are that user's (as findPerson would have said), and they are kept, in these batches and the later ones.
   */
  function handovers(rows: EventRow[]): void {
    for (const row of rows) {
      if (row.email === '' || !erased.has(browserKey(row.site_id, row.visitor_id))) continue;
      const ts = timeOf(row.ts);
      if (byEmail(row, ts)) continue;
      const key = browserKey(row.site_id, row.visitor_id);
      handedOver.set(key, Math.min(handedOver.get(key) ?? Infinity, ts));
    }
  }
  // Whether a batch may hold such a row, from what its record's head says (without reading its rows).
  const mayHold = (batch: LoggedBatch) =>
    batch.visitors.some((visitor) => erased.has(browserKey(visitor.site_id, visitor.visitor_id))) ||
    batch.identities.some((identity) => emailErased(identity.site_id, identity.email) !== undefined);

  return {
    async apply(batches) {
      await refresh();
      if (erased.size === 0) return batches;
      const read = batches.map((batch) => (mayHold(batch) ? rowsOf(batch) : undefined));
      handovers(read.flatMap((rows) => rows ?? []));
      return batches.map((batch, i) => (read[i] ? batchOfRows(read[i].filter((row) => !isErased(row))) : batch));
    },
  };
}
