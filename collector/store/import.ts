import type { ClickHouseClient } from '@clickhouse/client';
import { encodedInsertOf, queryRows } from './client.ts';

/**
 * The tables `hearth import` copies from an embedded store into a ClickHouse server, erasures first: a collector
 * started on the server before the copy ends keeps out what the people erased sent. The migrations' ledger is the
 * server's own (the import migrates it first); the locks and the alert sender's lease are a running collector's.
 */
export const IMPORTED_TABLES = ['erasures', 'events', 'identities', 'lead_scores', 'lead_qualifications', 'alert_outbox'] as const;
export type ImportedTable = (typeof IMPORTED_TABLES)[number];

/** Tables whose copies of a row collapse as they merge: their rows are counted as FINAL reads them. */
const REPLACING: readonly ImportedTable[] = ['events', 'identities', 'alert_outbox'];

/** Rows read and inserted at once: a slice of one data part (by `_part_offset`), so memory stays flat however large the store. */
const CHUNK_ROWS = 100_000;

export interface CopyProgress {
  table: ImportedTable;
  rows: number;
  of: number;
}

/** A table's rows, as the product reads them (FINAL for those whose copies collapse). */
export async function countedRows(client: Pick<ClickHouseClient, 'query'>, table: ImportedTable): Promise<number> {
  const [row] = await queryRows<{ n: string | number }>(client, `SELECT count() AS n FROM ${table}${REPLACING.includes(table) ? ' FINAL' : ''}`, {});
  return Number(row?.n ?? 0);
}

/**
 * Copies every row of the imported tables from `source` (an embedded store) into `target` (a ClickHouse server whose
 * tables the migrations made), a part at a time, and checks each table holds as many rows on both sides after.
 * `stop` ends it between two slices; `onProgress` hears how far each table got.
 */
export async function copyStore(
  source: ClickHouseClient,
  target: Pick<ClickHouseClient, 'exec' | 'query'>,
  { onProgress, stop }: { onProgress?: (progress: CopyProgress) => void; stop?: AbortSignal } = {},
): Promise<Record<ImportedTable, number>> {
  const insert = encodedInsertOf(target);
  const copied = {} as Record<ImportedTable, number>;
  for (const table of IMPORTED_TABLES) {
    const parts = await queryRows<{ part: string; rows: string | number }>(
      source,
      'SELECT name AS part, rows FROM system.parts WHERE database = currentDatabase() AND table = {table:String} AND active ORDER BY name',
      { table },
    );
    const total = parts.reduce((sum, part) => sum + Number(part.rows), 0);
    let done = 0;
    for (const { part, rows } of parts) {
      for (let from = 0; from < Number(rows); from += CHUNK_ROWS) {
        stop?.throwIfAborted();
        const result = await source.query({
          query: `SELECT * FROM ${table} WHERE _part = {part:String} AND _part_offset >= {from:UInt64} AND _part_offset < {to:UInt64}`,
          query_params: { part, from, to: from + CHUNK_ROWS },
          format: 'JSONEachRow',
          // Numbers as numbers: the server reads them back as the columns' types.
          clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
        });
        const text = await result.text();
        if (text.length > 0) await insert(table, Buffer.from(text));
        done += Math.min(CHUNK_ROWS, Number(rows) - from);
        onProgress?.({ table, rows: done, of: total });
      }
    }
    const [held, stored] = await Promise.all([countedRows(source, table), countedRows(target, table)]);
    if (stored !== held) throw new Error(`${table}: the server holds ${stored} rows after the copy, the embedded store ${held}`);
    copied[table] = held;
  }
  return copied;
}
