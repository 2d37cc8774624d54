import type { WireBatch } from './wire.ts';

/** One row of the `events` table (collector/store/migrations/001_events.sql). */
export interface EventRow {
  site_id: string;
  visitor_id: string;
  session_id: string;
  event_id: string;
  ts: string;
  received_at: string;
  type: string;
  name: string;
  url: string;
  path: string;
  referrer: string;
  title: string;
  email: string;
  props: Record<string, string>;
}

// Client clocks drift; a time further off than this is replaced by the arrival time. The past bound covers
// the snippet's retry queue (24 h), so a retried event keeps its original, deterministic timestamp.
const MAX_PAST_MS = 25 * 3600_000;
const MAX_FUTURE_MS = 5 * 60_000;

/** ClickHouse DateTime64(3, 'UTC') text. */
export function toClickHouseTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

export function batchToRows(batch: WireBatch, receivedAt: number): EventRow[] {
  const received = toClickHouseTime(receivedAt);
  return batch.e.map((event) => {
    const trustedTime = event.t >= receivedAt - MAX_PAST_MS && event.t <= receivedAt + MAX_FUTURE_MS;
    const url = new URL(event.u);
    url.hash = '';
    return {
      site_id: batch.s,
      visitor_id: batch.v,
      session_id: batch.sid ?? '',
      event_id: event.i.toLowerCase(),
      ts: trustedTime ? toClickHouseTime(event.t) : received,
      received_at: received,
      type: event.n,
      name: event.k ?? '',
      url: url.href,
      path: url.pathname,
      referrer: event.r ?? '',
      title: event.ti ?? '',
      email: event.em ?? '',
      props: Object.fromEntries(Object.entries(event.p ?? {}).map(([key, value]) => [key, String(value)])),
    };
  });
}
