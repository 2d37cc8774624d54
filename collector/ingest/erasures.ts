import type { ClickHouseClient } from '@clickhouse/client';
import { timeOf, toClickHouseTime } from '../../scoring/sql.ts';
import { leadIdOf } from '../api/lead-store.ts';
import type { EventRow } from './rows.ts';
import { batchOfRows, rowsOf, type LoggedBatch } from './wal-records.ts';

/**
 * Keeps an erased person's events out of what a collector stores after the erasure: those another collector's
 * write-ahead log held when it ran (each collector has its own log), or one that waited for ClickHouse to come back.
 * The erasure records in `erasures` (migration 011) which browsers and which email were the person's, and until
 * when; before each insert, the drainer reads what was recorded since it last looked and drops such rows.
 */
export interface ErasureFilter {
  /** The batches without the rows of people erased so far. Throws when ClickHouse cannot be read (the insert is retried). */
  apply(batches: LoggedBatch[]): Promise<LoggedBatch[]>;
}

/** One row of `erasures`: a browser of the person (their events on it before `until`), or their email's lead. */
export interface ErasureRow {
  site_id: string;
  visitor_id: string;
  lead_id: string;
  until: string;
  erased_at: string;
}

export function erasureFilter(client: Pick<ClickHouseClient, 'query'>): ErasureFilter {
  // Per site and browser, or site and lead: the person's events are those before this time (epoch ms).
  const until = new Map<string, number>();
  let seenThrough = toClickHouseTime(0);

  async function refresh(): Promise<void> {
    const result = await client.query({
      query: `SELECT site_id, visitor_id, lead_id, toUnixTimestamp64Milli(until) AS until, erased_at
              FROM erasures WHERE erased_at >= {since:DateTime64(3, 'UTC')} ORDER BY erased_at`,
      query_params: { since: seenThrough },
      format: 'JSONEachRow',
    });
    for (const row of await result.json<ErasureRow & { until: number | string }>()) {
      const key = row.visitor_id ? `${row.site_id}\u0000v\u0000${row.visitor_id}` : `${row.site_id}\u0000l\u0000${row.lead_id}`;
      until.set(key, Math.max(until.get(key) ?? 0, Number(row.until)));
      seenThrough = row.erased_at;
    }
  }

  const browserUntil = (site: string, visitor: string) => until.get(`${site}\u0000v\u0000${visitor}`);
  const emailUntil = (site: string, email: string) => until.get(`${site}\u0000l\u0000${leadIdOf(email.trim().toLowerCase())}`);
  const isErased = (row: EventRow) => {
    const ts = timeOf(row.ts);
    return ts < (browserUntil(row.site_id, row.visitor_id) ?? -Infinity) || (row.email !== '' && ts < (emailUntil(row.site_id, row.email) ?? -Infinity));
  };
  // Whether a batch may hold such a row, from what its record's head says (without reading its rows).
  const mayHold = (batch: LoggedBatch) =>
    batch.visitors.some((visitor) => browserUntil(visitor.site_id, visitor.visitor_id) !== undefined) ||
    batch.identities.some((identity) => emailUntil(identity.site_id, identity.email) !== undefined);

  return {
    async apply(batches) {
      await refresh();
      if (until.size === 0) return batches;
      return batches.map((batch) => (mayHold(batch) ? batchOfRows(rowsOf(batch).filter((row) => !isErased(row))) : batch));
    },
  };
}
