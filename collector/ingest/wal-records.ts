import { setImmediate } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import type { EventRow } from './rows.ts';
import { identityRows, type IdentityRow, type StoredVisitor } from './sink.ts';

/**
 * One record of the write-ahead log holds one accepted batch:
 *
 *   payload length u32 LE | row count u32 LE | CRC32 of the 8 bytes before it and the payload u32 LE | payload
 *
 * The payload is a first line of JSON that says what the drainer needs without reading the rows (the visitors the
 * batch touched, the identity-map rows it adds), then the events rows as a JSON array. `FORMAT JSONEachRow` also
 * reads an array of objects, so draining joins the arrays of many records into one insert's body by copying
 * bytes instead of parsing and re-encoding every row. A log written before the first line was added holds only
 * the array; it is still read.
 *
 * A crash can leave the last record half written; its length points past the end of the file or its checksum
 * fails, and it is ignored: its write never resolved, so no 202 went out.
 */
export const RECORD_HEADER_BYTES = 12;

/** A batch read back from the log, ready to insert. */
export interface LoggedBatch {
  /** The events rows as JSON objects separated by commas: a JSON array without its brackets. */
  events: Buffer;
  rows: number;
  visitors: StoredVisitor[];
  identities: IdentityRow[];
}

interface RecordHead {
  /** When the batch was accepted (epoch ms); first, so acceptedAtOf reads it without parsing the rest. Absent in older logs. */
  at?: number;
  visitors: StoredVisitor[];
  identities: IdentityRow[];
}

/**
 * Written for every accepted batch, so it is kept cheap: a batch's rows are one browser's, so a row like the one
 * before is passed over without a key, and the head is a literal of a fixed shape (a conditional spread made it ~4 µs
 * a batch, the key per row and the stringify of the slower object it made; ~0.7 µs now).
 */
function headOf(rows: EventRow[], at?: number): RecordHead {
  const visitors = new Map<string, StoredVisitor>();
  let previous: EventRow | undefined;
  for (const row of rows) {
    if (previous !== undefined && row.visitor_id === previous.visitor_id && row.site_id === previous.site_id && row.is_bot === previous.is_bot) continue;
    previous = row;
    const key = `${row.is_bot}\u0000${row.site_id}\u0000${row.visitor_id}`;
    if (!visitors.has(key)) visitors.set(key, { site_id: row.site_id, visitor_id: row.visitor_id, is_bot: row.is_bot });
  }
  const identities = identityRows(rows);
  return at === undefined ? { visitors: [...visitors.values()], identities } : { at, visitors: [...visitors.values()], identities };
}

/** When a record's batch was accepted (epoch ms), as encodeRecord wrote it; undefined for a record of an older log. */
export function acceptedAtOf({ payload }: IntactRecord): number | undefined {
  const at = /^\{"at":(\d{1,15})[,}]/.exec(payload.subarray(0, 32).toString('latin1'))?.[1];
  return at === undefined ? undefined : Number(at);
}

/**
 * When the rows still in the log were accepted, oldest first (what /metrics and /readyz say of the log's age): runs
 * of rows accepted within a second of one another, each as old as its first, so a large backlog is a few entries.
 */
export class Arrivals {
  private runs: { at: number; rows: number }[] = [];
  private first = 0;

  add(at: number, rows: number): void {
    const last = this.runs.length > this.first ? this.runs.at(-1)! : undefined;
    if (last && at - last.at < 1000) last.rows += rows;
    else this.runs.push({ at, rows });
  }

  /** The oldest `rows` are stored. */
  take(rows: number): void {
    while (rows > 0 && this.first < this.runs.length) {
      const run = this.runs[this.first]!;
      const taken = Math.min(rows, run.rows);
      run.rows -= taken;
      rows -= taken;
      if (run.rows === 0) this.first++;
    }
    if (this.first > 64 && this.first * 2 > this.runs.length) {
      this.runs = this.runs.slice(this.first);
      this.first = 0;
    }
  }

  /** When the oldest row still in the log was accepted (epoch ms); null when none is. */
  get oldest(): number | null {
    return this.runs[this.first]?.at ?? null;
  }
}

/**
 * The rows as a JSON array without the values that are their column's default (empty strings, zeros, empty maps):
 * every events column defaults to exactly those, and ClickHouse fills in what JSONEachRow leaves out. Beacons are
 * mostly empty columns, so the log and the inserts are about 40 % smaller, and ClickHouse parses that much less.
 */
export function rowsJson(rows: EventRow[]): string {
  // Copies without the defaults, then one JSON.stringify: a quarter faster than joining each value's JSON by hand.
  const lean = rows.map((row) => {
    const kept: Partial<Record<keyof EventRow, unknown>> = {};
    for (const key in row) {
      const value = row[key as keyof EventRow];
      if (value !== '' && value !== 0 && !(typeof value === 'object' && isEmpty(value))) kept[key as keyof EventRow] = value;
    }
    return kept;
  });
  return JSON.stringify(lean);
}

function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}

export function encodeRecord(rows: EventRow[], at = Date.now()): Buffer {
  const text = `${JSON.stringify(headOf(rows, at))}\n${rowsJson(rows)}`;
  // One buffer, the text encoded straight into it after the header: Buffer.from and then Buffer.concat copied it twice.
  const length = Buffer.byteLength(text);
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
  record.write(text, RECORD_HEADER_BYTES);
  record.writeUInt32LE(length, 0);
  record.writeUInt32LE(rows.length, 4);
  record.writeUInt32LE(crc32(record.subarray(RECORD_HEADER_BYTES), crc32(record.subarray(0, 8))), 8);
  return record;
}

/** Rows held in memory as a batch of the log (for rows taken apart, and for logs of the older layout). */
export function batchOfRows(rows: EventRow[]): LoggedBatch {
  const array = Buffer.from(rowsJson(rows));
  return { events: array.subarray(1, -1), rows: rows.length, ...headOf(rows) };
}

export function decodeRecord({ rows, payload }: IntactRecord): LoggedBatch {
  if (payload[0] === 0x5b /* "[": the older layout */) return batchOfRows(JSON.parse(payload.toString('utf8')) as EventRow[]);
  const firstLineEnd = payload.indexOf(0x0a);
  const head = JSON.parse(payload.subarray(0, firstLineEnd).toString('utf8')) as RecordHead;
  return { events: payload.subarray(firstLineEnd + 2, -1), rows, visitors: head.visitors, identities: head.identities };
}

/**
 * Batches as the body of one `INSERT … FORMAT JSONEachRow`: a JSON array of their rows. Copied a slice at a time with
 * a turn of the event loop between slices: an insert carries up to 8 MiB, whose copy in one go held the event loop
 * 10–30 ms under load, at every insert (the p99 of /collect's answers, `npm run bench:ingest`).
 */
export async function insertBody(batches: LoggedBatch[]): Promise<Buffer> {
  const parts = [OPEN];
  for (const batch of batches) {
    if (batch.events.length === 0) continue;
    if (parts.length > 1) parts.push(COMMA);
    parts.push(batch.events);
  }
  parts.push(CLOSE);
  const body = Buffer.allocUnsafe(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  let sinceTurn = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.length;
    sinceTurn += part.length;
    if (sinceTurn >= SLICE_BYTES) {
      sinceTurn = 0;
      await setImmediate();
    }
  }
  return body;
}
/** What the drainer copies or checks at once before it lets requests in: about a millisecond of work. */
export const SLICE_BYTES = 1024 * 1024;
const [OPEN, COMMA, CLOSE] = ['[', ',', ']'].map((text) => Buffer.from(text)) as [Buffer, Buffer, Buffer];

/** The rows of a batch, parsed, with what rowsJson left out: only for the rare insert ClickHouse refuses, to find the row it refuses. */
export function rowsOf(batch: LoggedBatch): EventRow[] {
  return (JSON.parse(`[${batch.events.toString('utf8')}]`) as Partial<EventRow>[]).map((row) => ({ ...emptyRow(), ...row }));
}

/** Every column at its default: what a row left out of rowsJson's output stands for. */
const emptyRow = (): EventRow => ({
  site_id: '', visitor_id: '', session_id: '', event_id: '', ts: '', received_at: '', type: '', name: '', url: '', path: '',
  referrer: '', title: '', email: '', props: {}, engaged_ms: 0, scroll_depth: 0, link_url: '', link_text: '', session_start: 0,
  is_bot: 0, referrer_host: '', utm_source: '', utm_medium: '', utm_campaign: '', utm_term: '', utm_content: '', click_id: '',
  browser: '', os: '', device: '',
});

export interface IntactRecord {
  rows: number;
  payload: Buffer;
}

export interface ParsedRegion {
  records: IntactRecord[];
  /** Bytes spanned by `records`, from the start of the region. */
  intactBytes: number;
  /** The region ends inside a record whose header is intact: the whole record's size (read more to get it). */
  cutRecordBytes: number | null;
  /** A record failed its checksum: nothing from `intactBytes` on can be trusted. */
  corrupt: boolean;
}

/** More rows than a record ever holds (a batch is at most 100 events): a bound for finding records again. */
const MAX_RECORD_ROWS = 100_000;

/**
 * Where the first intact record after `from` starts in `region`, or -1: where reading resumes past bytes that are no
 * record (a corrupt stretch between intact records). A position is tried only if its header is plausible and its
 * payload opens as one does (`{`, or `[` in an old log), so few have their checksum computed.
 */
export function nextRecordAt(region: Buffer, from: number): number {
  for (let at = from; at + RECORD_HEADER_BYTES < region.length; at++) {
    const size = RECORD_HEADER_BYTES + region.readUInt32LE(at);
    const opening = region[at + RECORD_HEADER_BYTES];
    if (at + size > region.length || region.readUInt32LE(at + 4) > MAX_RECORD_ROWS || (opening !== 0x7b && opening !== 0x5b)) continue;
    if (parseRecords(region.subarray(at, at + size)).records.length === 1) return at;
  }
  return -1;
}

/** The intact records at the start of `region`, which begins at a record boundary. */
export function parseRecords(region: Buffer): ParsedRegion {
  const records: IntactRecord[] = [];
  let offset = 0;
  while (offset < region.length) {
    if (region.length - offset < RECORD_HEADER_BYTES) return { records, intactBytes: offset, cutRecordBytes: RECORD_HEADER_BYTES, corrupt: false };
    const payloadBytes = region.readUInt32LE(offset);
    const size = RECORD_HEADER_BYTES + payloadBytes;
    if (offset + size > region.length) return { records, intactBytes: offset, cutRecordBytes: size, corrupt: false };
    const payload = region.subarray(offset + RECORD_HEADER_BYTES, offset + size);
    const expected = crc32(payload, crc32(region.subarray(offset, offset + 8)));
    if (expected !== region.readUInt32LE(offset + 8)) return { records, intactBytes: offset, cutRecordBytes: null, corrupt: true };
    records.push({ rows: region.readUInt32LE(offset + 4), payload });
    offset += size;
  }
  return { records, intactBytes: offset, cutRecordBytes: null, corrupt: false };
}
