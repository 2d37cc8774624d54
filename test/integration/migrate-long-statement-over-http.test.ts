import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient, storeOptionsFromEnv } from '../../collector/store/client.ts';
import { prepareStore } from '../../collector/store/prepare.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';

// Over HTTP, ClickHouse answers a statement once it has run. Migration 008 copies the whole events table (40 s for
// 18.5M events on two cores) and ON CLUSTER DDL waits for every node: a statement that runs longer than the client's
// request timeout (30 s by default, for everyday queries) failed the start, and each restart began the copy again.
// Here the everyday timeout is 2 s and the copy takes 3.
const USER = 'hearth';
const PASSWORD = 'long copy';
const COPY = 'INSERT INTO events_regranulated';

let clickhouse: ClickHouseHttpProcess;
let client: ClickHouseClient;
beforeAll(async () => {
  clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir(), username: USER, password: PASSWORD });
});
afterAll(async () => {
  await client?.close();
  await clickhouse?.stop();
});

describe('migrations over HTTP', () => {
  it('wait for a statement that runs longer than an everyday query may', { timeout: 60_000 }, async () => {
    const store = { ...storeOptionsFromEnv({ HEARTH_DATA_DIR: freshDataDir(), CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_USER: USER, CLICKHOUSE_PASSWORD: PASSWORD }), requestTimeoutMs: 2000 };
    client = createStoreClient(store);
    await clickhouse.setFault('slow', 3000, COPY);
    try {
      const { applied } = await prepareStore(client, store, undefined);
      expect(applied).toContain('008_events_fine_granules');
    } finally {
      await clickhouse.setFault('ok');
    }
    const result = await client.query({ query: "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'", format: 'JSONEachRow' });
    expect((await result.json<{ engine_full: string }>())[0]!.engine_full).toContain('index_granularity = 256');
  });
});
