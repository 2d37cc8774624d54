import type { ClickHouseClient } from '@clickhouse/client';
import type { EventRow } from './rows.ts';

/** Where accepted events go. `write` resolves once the rows are durable; only then does the collector answer 202. */
export interface EventSink {
  write(rows: EventRow[]): Promise<void>;
  close(): Promise<void>;
}

/** Inserts each accepted batch straight into ClickHouse, so a 202 means the rows are stored. */
export function clickHouseSink(client: ClickHouseClient): EventSink {
  return {
    async write(rows) {
      await client.insert({ table: 'events', values: rows, format: 'JSONEachRow' });
    },
    async close() {},
  };
}
