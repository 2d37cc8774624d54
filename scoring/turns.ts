import type { ResultSet } from '@clickhouse/client';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Rows handled between two turns of the event loop. A full rescoring reads, compares and writes up to a slice of
 * 100,000 leads in the collector's process (~400 bytes of JSON each). Done at once, each of these steps held the
 * event loop for 0.3–0.7 s at 53,000 leads, and every request waited meanwhile: a beacon's 202 took up to 4 s during
 * the pass a collector makes when it starts. A thousand rows take a few milliseconds.
 */
export const ROWS_PER_TURN = 1000;

/** The rows of a JSONEachRow answer, parsed ROWS_PER_TURN at a time (the client's json() parses them all at once). */
export async function jsonRows<T>(result: ResultSet<'JSONEachRow'>): Promise<T[]> {
  const rows: T[] = [];
  for await (const chunk of result.stream<T>()) {
    for (const row of chunk) {
      rows.push(row.json());
      if (rows.length % ROWS_PER_TURN === 0) await nextTurn();
    }
  }
  return rows;
}

/** Calls `fn` on every item, ROWS_PER_TURN at a time. */
export async function inTurns<T>(items: readonly T[], fn: (item: T) => void): Promise<void> {
  for (let start = 0; start < items.length; start += ROWS_PER_TURN) {
    if (start > 0) await nextTurn();
    for (const item of items.slice(start, start + ROWS_PER_TURN)) fn(item);
  }
}
