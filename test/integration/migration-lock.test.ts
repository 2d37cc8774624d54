import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient, type StoreOptions } from '../../collector/store/client.ts';
import { readMigrations } from '../../collector/store/migrate.ts';
import { withMigrationLock } from '../../collector/store/migration-lock.ts';
import { prepareStore } from '../../collector/store/prepare.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';

// Collectors that start together against one ClickHouse (a deploy, a scaled service) each migrate the store on start.
// Together, they recorded every migration several times, most stopped on "table already exists", and two copies of the
// events table (008) could interleave.

let clickhouse: ClickHouseHttpProcess;
let store: StoreOptions;
const clients: ClickHouseClient[] = [];
/** A collector's own client, as each process has. */
const collector = () => {
  const client = createStoreClient(store);
  clients.push(client);
  return client;
};
let client: ClickHouseClient;
beforeAll(async () => {
  clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
  store = { dataDir: freshDataDir(), url: clickhouse.url };
  client = collector();
});
afterAll(async () => {
  await Promise.all(clients.map((each) => each.close()));
  await clickhouse?.stop();
});

const rows = async <T>(query: string) => (await client.query({ query, format: 'JSONEachRow' })).json<T>();
const lockTables = () => rows<{ name: string }>("SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'hearth_migration_lock'");
const quiet = { onWait: () => {} };

describe('collectors that start together against one ClickHouse', () => {
  it('migrate the store once: one applies every migration, the others wait for it and apply none', async () => {
    const waitedFor: string[] = [];
    const starts = await Promise.all([0, 1, 2].map(() => prepareStore(collector(), store, undefined, { onWait: (holder) => waitedFor.push(holder), pollMs: 50 })));
    const migrations = readMigrations().map((migration) => migration.name);
    expect(starts.map((start) => start.applied).sort((a, b) => b.length - a.length)).toEqual([migrations, [], []]);
    expect(waitedFor.length).toBeGreaterThan(0);
    expect(await rows('SELECT version, count() AS copies FROM hearth_migrations GROUP BY version HAVING copies > 1')).toEqual([]);
    const [events] = await rows<{ engine_full: string }>("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'");
    expect(events!.engine_full).toContain('index_granularity = 256');
    expect(await lockTables()).toEqual([]);
  });

  it('wait while the holder is alive, however long it takes', async () => {
    const order: string[] = [];
    let release!: () => void;
    const holding = withMigrationLock(collector(), undefined, () => new Promise<void>((resolve) => (release = resolve)).then(() => void order.push('holder done')), { ...quiet, heartbeatMs: 250 });
    await expect.poll(lockTables).toHaveLength(1);
    const waiting = withMigrationLock(collector(), undefined, async () => void order.push('waiter ran'), { ...quiet, staleMs: 2_500, pollMs: 50 });
    // Twice the time after which a silent holder counts as dead (each heartbeat gives up after 250 ms, ten may).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(order).toEqual([]);
    release();
    await Promise.all([holding, waiting]);
    expect(order).toEqual(['holder done', 'waiter ran']);
    expect(await lockTables()).toEqual([]);
  });

  it("take over the lock of a collector that died holding it, naming it", async () => {
    // Killed while migrating: its lock table stays, with its last heartbeat.
    await client.command({ query: "CREATE TABLE hearth_migration_lock (holder String, at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY at COMMENT 'web-2 pid 4242 (dead)'" });
    await client.command({ query: "INSERT INTO hearth_migration_lock VALUES ('web-2 pid 4242 (dead)', now64(3) - INTERVAL 1 HOUR)" });
    const waitedFor: string[] = [];
    const started = Date.now();
    const start = await prepareStore(collector(), store, undefined, { onWait: (holder) => waitedFor.push(holder), staleMs: 1_000, pollMs: 50 });
    expect(start.applied).toEqual([]);
    expect(waitedFor).toEqual(['web-2 pid 4242 (dead)']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(await lockTables()).toEqual([]);
  });

  it('leave alone the lock another took over while they were cut off from ClickHouse', async () => {
    const order: string[] = [];
    const gate = () => {
      let open!: () => void;
      return { wait: new Promise<void>((resolve) => (open = resolve)), open: () => open() };
    };
    const [a, b] = [gate(), gate()];
    // A's heartbeats stop (here: none after its first), as when its connection hangs; its work goes on.
    const first = withMigrationLock(collector(), undefined, () => a.wait.then(() => void order.push('A done')), { ...quiet, heartbeatMs: 60_000 });
    await expect.poll(lockTables).toHaveLength(1);
    const second = withMigrationLock(collector(), undefined, () => (order.push('B took over'), b.wait.then(() => void order.push('B done'))), { ...quiet, staleMs: 300, pollMs: 50 });
    // Its lock is stale 300 ms after A's last heartbeat; on a loaded machine (the whole suite on two cores) B's polls
    // may come later than that: more than poll's default second.
    await expect.poll(() => order, { timeout: 10_000 }).toEqual(['B took over']);
    a.open();
    await first;
    // A finished after B took over: B's lock stays, for B to drop.
    const [lock] = await rows<{ comment: string }>("SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = 'hearth_migration_lock'");
    expect(lock?.comment).toMatch(/ pid \d+ \(\w{8}\)$/);
    b.open();
    await second;
    expect(order).toEqual(['B took over', 'A done', 'B done']);
    expect(await lockTables()).toEqual([]);
  });

  it('stop waiting at once when told to stop (a shutdown), and take no lock after', async () => {
    let release!: () => void;
    const holding = withMigrationLock(collector(), undefined, () => new Promise<void>((resolve) => (release = resolve)), { ...quiet, heartbeatMs: 250 });
    await expect.poll(lockTables).toHaveLength(1);
    const stop = new AbortController();
    const ran: string[] = [];
    // Looking again only every 5 s: the stop cuts that wait short.
    const waiting = withMigrationLock(collector(), undefined, async () => void ran.push('waiter ran'), { ...quiet, pollMs: 5_000, stop: stop.signal });
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop.abort(new Error('the collector is shutting down'));
    await expect(Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve('still waiting after 1 s'), 1_000))])).rejects.toThrow('the collector is shutting down');
    release();
    await holding;
    expect(ran).toEqual([]);
    expect(await lockTables()).toEqual([]);
  });

  it('release the lock when a migration fails', async () => {
    await expect(withMigrationLock(collector(), undefined, () => Promise.reject(new Error('disk full')), quiet)).rejects.toThrow('disk full');
    expect(await lockTables()).toEqual([]);
  });
});
