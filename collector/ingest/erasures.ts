import type { ClickHouseClient } from '@clickhouse/client';
import { timeOf, toClickHouseTime } from '../../scoring/sql.ts';
import { deleteEvents, leadIdOf } from '../api/lead-store.ts';
import type { ClusterTarget } from '../store/cluster-ddl.ts';
import type { EventRow } from './rows.ts';
import { batchOfRows, rowsOf, type LoggedBatch } from './wal-records.ts';

/**
 * Keeps an erased person's events out of what a collector stores after the erasure: those another collector's
 * write-ahead log held when it ran (each collector has its own log), or one that waited for ClickHouse to come back.
 * The erasure records in `erasures` (migrations 011, 014) which browsers and which email were the person's, and on a
 * browser they shared with other people, which of its visits; the drainer drops from each insert such rows that a collector
 * received before the erasure (by the collectors' clocks: a browser's own may run minutes fast), or that are dated
 * before it (a browser's retry queue sends what it recorded offline up to a day later, with its time; a browser whose
 * clock runs slow loses what it sends just after the erasure: privacy first). What is recorded after it is new, and
 * kept.
 *
 * An insert is still on its way while an erasure runs: checked before the erasure was recorded, stored after its
 * deletions. So the drainer reads what was recorded since it last looked right after each insert, and deletes the rows
 * it just stored that an erasure it learned of covers, before it tells anyone of them (the scorer would score them).
 * Either the erasure was recorded before that read began, and the read finds it, or after, and then the insert had
 * ended before the erasure's deletions began, which took its rows. That read also serves the next insert's check:
 * one read per insert. An erasure recorded between the two is found by the read after the next insert, which takes
 * back what that insert stored of the person (two mutations, only then).
 */
export interface ErasureFilter {
  /**
   * The batches without the rows of people erased so far: those the read after the previous insert found, or (after
   * a failed attempt, or at first) what it reads now. Throws when ClickHouse cannot be read (the insert is retried).
   */
  apply(batches: LoggedBatch[]): Promise<LoggedBatch[]>;
  /**
   * Once an insert of (some of) `batches` stored its rows: reads what was recorded since, and deletes from ClickHouse
   * the rows of `batches` that erasures learned of since the last completed insert cover (an attempt that failed may
   * have stored some too). Resolves to how many were deleted. Throws when ClickHouse fails (the insert is retried).
   */
  stored(batches: LoggedBatch[]): Promise<number>;
  /**
   * An erasure was recorded by this process: the next insert reads the erasures first, rather than go by the read
   * after the last one, made before it. Without it, what the person's browser sent next (a retry queue's visit) was
   * stored, and scored, until the read after the insert took it back.
   */
  recorded(): void;
}

/**
 * One row of `erasures`: a browser of the person (their events on it dated before `until`), one of their visits on a
 * browser they shared (`session_id`), or their email's lead (its `until` END_OF_TIME).
 */
export interface ErasureRow {
  site_id: string;
  visitor_id: string;
  /** A visit of theirs on a shared browser; '' for the whole browser, or for their email's lead. */
  session_id: string;
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
  /** The read that found it (reads are numbered from 1). */
  read: number;
}

/** `cluster`: where the rows an insert stored behind an erasure are deleted from, as the erasure deletes (lead-store's mutationTarget). */
export function erasureFilter(client: Pick<ClickHouseClient, 'query' | 'command'>, cluster?: ClusterTarget): ErasureFilter {
  // Per site and browser, or site and lead: the latest erasure of it.
  const erased = new Map<string, Erased>();
  // Per site and browser: when another email took it over, as found in the rows drained since (see handovers).
  const handedOver = new Map<string, number>();
  // The browsers with visits erased (a shared computer): a batch of theirs is read row by row.
  const sharedBrowsers = new Set<string>();
  let latestSeen = 0;
  let reads = 0;
  // The last read when the last insert completed (its rows checked): erasures found after it may cover rows stored since.
  let checkedThrough = 0;
  // Whether a read since then found an erasure (a new one, or a browser or an email erased again).
  let foundSinceChecked = false;
  // Nothing was tried since the read that followed the last completed insert: the next insert's check can use it.
  let fresh = false;
  // Erasures this process recorded (recorded()): a read that began before the latest is not fresh.
  let recordedHere = 0;

  async function refresh(): Promise<void> {
    const result = await client.query({
      query: `SELECT site_id, visitor_id, session_id, lead_id, toUnixTimestamp64Milli(until) AS until, toUnixTimestamp64Milli(erased_at) AS erased_at
              FROM erasures WHERE erased_at >= {since:DateTime64(3, 'UTC')} ORDER BY erased_at`,
      query_params: { since: toClickHouseTime(Math.max(0, latestSeen - LOOKBACK_MS)) },
      format: 'JSONEachRow',
    });
    const read = ++reads;
    for (const row of await result.json<{ site_id: string; visitor_id: string; session_id: string; lead_id: string; until: number | string; erased_at: number | string }>()) {
      const erasedAt = Number(row.erased_at);
      latestSeen = Math.max(latestSeen, erasedAt);
      if (row.session_id) sharedBrowsers.add(browserKey(row.site_id, row.visitor_id));
      const key = !row.visitor_id
        ? `${row.site_id}\u0000l\u0000${row.lead_id}`
        : row.session_id
          ? visitKey(row.site_id, row.visitor_id, row.session_id)
          : browserKey(row.site_id, row.visitor_id);
      const known = erased.get(key);
      if (known !== undefined && known.erasedAt >= erasedAt) continue;
      erased.set(key, { until: Number(row.until), erasedAt, read });
      foundSinceChecked = true;
      // A browser erased again (its next user's turn): the handover found before was into that erasure.
      handedOver.delete(key);
    }
  }

  const browserKey = (site: string, visitor: string) => `${site}\u0000v\u0000${visitor}`;
  const visitKey = (site: string, visitor: string, session: string) => `${browserKey(site, visitor)}\u0000s\u0000${session}`;
  const browserErased = (site: string, visitor: string): Erased | undefined => {
    const key = browserKey(site, visitor);
    const found = erased.get(key);
    return found && { ...found, until: Math.min(found.until, handedOver.get(key) ?? Infinity) };
  };
  const emailErased = (site: string, email: string) => erased.get(`${site}\u0000l\u0000${leadIdOf(email.trim().toLowerCase())}`);
  // `foundAfter`: only by an erasure a read after that one found.
  // Received before the erasure, or dated before it: a browser's retry queue sends what it recorded while the
  // collector could not be reached up to a day later, under its own time, and that must not bring the person back.
  const covers = (row: EventRow, ts: number, by: Erased | undefined, foundAfter = 0) =>
    by !== undefined && by.read > foundAfter && (timeOf(row.received_at) < by.erasedAt || ts < by.erasedAt) && ts < by.until;
  const byEmail = (row: EventRow, ts: number, foundAfter = 0) => row.email !== '' && covers(row, ts, emailErased(row.site_id, row.email), foundAfter);
  const isErased = (row: EventRow, foundAfter = 0) => {
    const ts = timeOf(row.ts);
    const visit = visitKey(row.site_id, row.visitor_id, row.session_id);
    return (
      covers(row, ts, browserErased(row.site_id, row.visitor_id), foundAfter) ||
      covers(row, ts, erased.get(visit), foundAfter) ||
      covers(row, ts, visitsGivingErased.get(visit), foundAfter) ||
      byEmail(row, ts, foundAfter)
    );
  };
  /**
   * The visits, on browsers no erasure named (a device whose events had not reached ClickHouse: a phone's retry queue),
   * in which an erased person gave their email before their erasure: the visit is theirs, page views included, as a
   * visit is its form's email's (findPerson), so its rows dated before the erasure go with the email's. Kept once
   * seen, for the rest of that visit arriving later.
   */
  const visitsGivingErased = new Map<string, Erased>();
  const browsersGivingErased = new Set<string>();
  function visitsGivingErasedEmails(rows: EventRow[]): void {
    for (const row of rows) {
      if (!byEmail(row, timeOf(row.ts))) continue;
      visitsGivingErased.set(visitKey(row.site_id, row.visitor_id, row.session_id), emailErased(row.site_id, row.email)!);
      browsersGivingErased.add(browserKey(row.site_id, row.visitor_id));
    }
  }
  /**
   * A browser of an erased person on which the rows give another email: a shared computer the next user took over
   * after their events reached this log, which the erasure could not know. From the start of the visit of that email
   * on (as far as these rows show it), the browser's events are that user's (as findPerson would have said: a visit
   * is its form's email's), and they are kept, in these batches and the later ones.
   */
  function handovers(rows: EventRow[]): void {
    const visitOf = (row: EventRow) => visitKey(row.site_id, row.visitor_id, row.session_id);
    const visitStarts = new Map<string, number>();
    for (const row of rows) {
      if (!erased.has(browserKey(row.site_id, row.visitor_id))) continue;
      visitStarts.set(visitOf(row), Math.min(visitStarts.get(visitOf(row)) ?? Infinity, timeOf(row.ts)));
    }
    for (const row of rows) {
      const browser = erased.get(browserKey(row.site_id, row.visitor_id));
      if (row.email === '' || browser === undefined) continue;
      // The email of the person the browser was erased with, whenever given: giving it again after the erasure is their
      // new activity (kept), not someone else taking the browser over, whose visit would keep what they recorded before
      // it. Someone erased before, elsewhere, who comes to this browser after their own erasure is such a someone else.
      if ((emailErased(row.site_id, row.email)?.erasedAt ?? -Infinity) >= browser.erasedAt || byEmail(row, timeOf(row.ts))) continue;
      const key = browserKey(row.site_id, row.visitor_id);
      handedOver.set(key, Math.min(handedOver.get(key) ?? Infinity, visitStarts.get(visitOf(row)) ?? timeOf(row.ts)));
    }
  }
  // Whether a batch may hold such a row, from what its record's head says (without reading its rows).
  const mayHold = (batch: LoggedBatch) =>
    batch.visitors.some((visitor) => {
      const browser = browserKey(visitor.site_id, visitor.visitor_id);
      return erased.has(browser) || sharedBrowsers.has(browser) || browsersGivingErased.has(browser);
    }) || batch.identities.some((identity) => emailErased(identity.site_id, identity.email) !== undefined);

  /** The rows of the batches that may be an erased person's (mayHold), read, with the handovers they show noted. */
  function suspectRows(batches: LoggedBatch[]): (EventRow[] | undefined)[] {
    const read = batches.map((batch) => (mayHold(batch) ? rowsOf(batch) : undefined));
    const rows = read.flatMap((batchRows) => batchRows ?? []);
    handovers(rows);
    visitsGivingErasedEmails(rows);
    return read;
  }

  return {
    async apply(batches) {
      if (!fresh) await refresh();
      fresh = false;
      if (erased.size === 0) return batches;
      const read = suspectRows(batches);
      return batches.map((batch, i) => (read[i] ? batchOfRows(read[i].filter((row) => !isErased(row))) : batch));
    },

    async stored(batches) {
      const recordedBefore = recordedHere;
      await refresh();
      // Nothing found since the last completed insert (the common case): nothing of this one to take back.
      const taken = foundSinceChecked ? suspectRows(batches).flatMap((rows) => (rows ?? []).filter((row) => isErased(row, checkedThrough))) : [];
      for (const site of new Set(taken.map((row) => row.site_id))) {
        await deleteEvents(client, site, taken.filter((row) => row.site_id === site), cluster);
      }
      checkedThrough = reads;
      foundSinceChecked = false;
      fresh = recordedHere === recordedBefore;
      return taken.length;
    },

    recorded() {
      recordedHere++;
      fresh = false;
    },
  };
}
