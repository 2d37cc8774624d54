import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { readMigrations } from '../../collector/store/migrate.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { oneSiteConfigFile, readiness, storeTables } from '../support/migrating-store.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';

// A collector stopped (SIGTERM: a deploy, a scale-down) while it migrates a ClickHouse server in the background. It
// used to exit with the migration lock still there and its heartbeats stopped: the next collector waited a minute for
// the lock to count as a dead one's before its drain, scorer and API could start.
const configFile = oneSiteConfigFile();
/** Migration 008's copy of the events table: the statement a large install spends its upgrade in. */
const COPY = 'INSERT INTO events_regranulated';

let clickhouse: ClickHouseHttpProcess | undefined;
let client: ClickHouseClient | undefined;
const collectors: HearthProcess[] = [];
afterEach(async () => {
  await Promise.all(collectors.splice(0).map((hearth) => hearth.stop()));
  await client?.close();
  await clickhouse?.kill();
});

async function start(env: Record<string, string>) {
  const hearth = await startHearthProcess(['--config', configFile], env);
  collectors.push(hearth);
  return hearth;
}

const { rows, tables, recorded } = storeTables(() => client);
/** 007 recorded: 008 has begun, its copy is in flight. */
const copying = () => expect.poll(recorded, { timeout: 20_000, interval: 100 }).toContain(7);

describe('a collector stopped while it migrates the store', () => {
  it('finishes the migration in flight, lets go of the lock, and the next start is ready at once', { timeout: 60_000 }, async () => {
    clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
    client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url });
    const env = { CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: freshDataDir(), LOG_LEVEL: 'info' };
    // Longer than the start waits (5 s): the copy is still running in the background once the collector listens.
    await clickhouse.setFault('slow', 8_000, COPY);
    const first = await start(env);
    expect(first.output()).toContain('not ready');
    await copying();
    expect(await tables()).toContain('hearth_migration_lock');

    expect(await first.stop()).toBe(0);
    // Once the copy and the rest of 008 were done, within the shutdown's bound.
    expect(first.output()).toContain('the store\'s preparation stopped for the shutdown after migration 008_events_fine_granules');
    expect(await tables()).not.toContain('hearth_migration_lock');

    await clickhouse.setFault('ok');
    const startedAt = Date.now();
    const next = await start({ ...env, HEARTH_DATA_DIR: freshDataDir() });
    await expect.poll(() => readiness(next), { timeout: 15_000, interval: 250 }).toBe('ready');
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(next.output()).not.toContain('waiting for');

    // Every migration recorded once, 008 whole: the events table rebuilt, its copy gone.
    const ledger = await rows<{ version: number; copies: number }>('SELECT version, toUInt32(count()) AS copies FROM hearth_migrations GROUP BY version ORDER BY version');
    expect(ledger).toEqual(readMigrations().map((migration) => ({ version: migration.version, copies: 1 })));
    const [events] = await rows<{ engine_full: string }>("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'");
    expect(events!.engine_full).toContain('index_granularity = 256');
    expect(await tables()).not.toContain('events_regranulated');
  });

  it('exits within its bound when the statement in flight runs on, and says the lock stays', { timeout: 60_000 }, async () => {
    clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
    client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url });
    await clickhouse.setFault('slow', 60_000, COPY);
    const first = await start({ CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: freshDataDir() });
    await copying();
    expect(await tables()).toContain('hearth_migration_lock');

    const stoppedAt = Date.now();
    expect(await first.stop()).toBe(0);
    // The shutdown's bound for the preparation (10 s), and no more.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(9_000);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    expect(first.output()).toContain('migration 008_events_fine_granules still runs on ClickHouse');
    expect(first.output()).toContain('the next collector takes the migration lock over once its heartbeats have stopped for 60 s');
    // Left for the next collector to take over, named after this one.
    const [lock] = await rows<{ comment: string }>("SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'hearth_migration_lock'");
    expect(lock?.comment).toMatch(/ pid \d+ \(\w{8}\)$/);
  });
});
