import { crc32 } from 'node:zlib';
import type { EventRow } from './rows.ts';

/**
 * One record of the write-ahead log holds one accepted batch:
 *
 *   payload length u32 LE | row count u32 LE | CRC32 of the 8 bytes before it and the payload u32 LE | payload
 *
 * The payload is the batch's rows as JSON. A crash can leave the last record half written; its length points
 * past the end of the file or its checksum fails, and it is ignored: its write never resolved, so no 202 went out.
 */
export const RECORD_HEADER_BYTES = 12;

export function encodeRecord(rows: EventRow[]): Buffer {
  const payload = Buffer.from(JSON.stringify(rows));
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(rows.length, 4);
  record.writeUInt32LE(crc32(payload, crc32(record.subarray(0, 8))), 8);
  payload.copy(record, RECORD_HEADER_BYTES);
  return record;
}

export function decodeRows(payload: Buffer): EventRow[] {
  return JSON.parse(payload.toString('utf8')) as EventRow[];
}

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
