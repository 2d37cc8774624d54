import { existsSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { LOCK_FILE } from '../../collector/store/data-dir-lock.ts';
import { readMigrations } from '../../collector/store/migrate.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { oneSiteConfigFile, readiness, storeTables } from '../support/migrating-store.ts';
import { spawnHearth, startHearthProcess, type HearthChild, type HearthProcess } from '../support/hearth-process.ts';

// A collector stopped (SIGTERM: a deploy rolled back, a scale-down, a liveness probe) before it listens: while it
// waits for ClickHouse, migrates the store or opens its log. The signal's default action used to kill it there, the
// migration lock it held left to hold the next collector back a minute, a migration perhaps cut between statements.
const configFile = oneSiteConfigFile();
/** Migration 002's first statement, held while the stop comes. */
const SLOWED = 'ADD COLUMN IF NOT EXISTS engaged_ms';

let clickhouse: ClickHouseHttpProcess | undefined;
let client: ClickHouseClient | undefined;
const children: HearthChild[] = [];
const collectors: HearthProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.signal('SIGKILL');
  await Promise.all(collectors.splice(0).map((hearth) => hearth.stop()));
  await client?.close();
  await clickhouse?.kill();
});

function starting(env: Record<string, string>): HearthChild {
  const child = spawnHearth(['start', '--port', '0', '--config', configFile], { LOG_LEVEL: 'info', HEARTH_ADMIN_TOKEN: 'e2e-admin-token', ...env });
  children.push(child);
  return child;
}

const { rows, tables, recorded } = storeTables(() => client);

describe('a collector stopped during its start', () => {
  it('finishes the migration in flight, lets go of the lock and exits 0, and the next start is ready at once', { timeout: 60_000 }, async () => {
    clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
    client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url });
    const env = { CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: freshDataDir() };
    await clickhouse.setFault('slow', 3_000, SLOWED);
    const first = starting(env);
    // 001 recorded: 002 has begun, within the 5 s the start waits for the store before it listens.
    await expect.poll(recorded, { timeout: 20_000, interval: 50 }).toContain(1);
    expect(first.output()).not.toContain('Hearth is running');

    const stoppedAt = Date.now();
    first.signal('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(first.output()).toContain('hearth: SIGTERM during the start: it stops at its next safe point');
    expect(first.output()).toContain("the store's preparation stopped for the shutdown after migration 002_engagement_and_source");
    expect(first.output()).toContain('hearth: stopped by SIGTERM before it listened');
    expect(first.output()).not.toContain('Hearth is running');
    // 002 whole, with its ledger row, and nothing after it; the lock and the data directory let go of.
    expect(await recorded()).toEqual([1, 2]);
    expect(await tables()).not.toContain('hearth_migration_lock');
    expect(existsSync(join(env.HEARTH_DATA_DIR, LOCK_FILE))).toBe(false);

    await clickhouse.setFault('ok');
    const startedAt = Date.now();
    const next = await startHearthProcess(['--config', configFile], { ...env, LOG_LEVEL: 'info' });
    collectors.push(next);
    await expect.poll(() => readiness(next), { timeout: 15_000, interval: 250 }).toBe('ready');
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    expect(next.output()).not.toContain('waiting for');
    const ledger = await rows<{ version: number; copies: number }>('SELECT version, toUInt32(count()) AS copies FROM hearth_migrations GROUP BY version ORDER BY version');
    expect(ledger).toEqual(readMigrations().map((migration) => ({ version: migration.version, copies: 1 })));
  });

  it('stops waiting for a ClickHouse that does not answer and exits 0, its data directory let go of', { timeout: 30_000 }, async () => {
    // Takes connections and never answers: the start would wait 5 s for it, then listen.
    const connected: Socket[] = [];
    const hung = createServer((socket) => void connected.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const env = { CLICKHOUSE_URL: `http://127.0.0.1:${(hung.address() as { port: number }).port}`, HEARTH_DATA_DIR: freshDataDir() };
      const first = starting(env);
      // Its ping is in flight.
      await expect.poll(() => connected.length, { timeout: 20_000, interval: 50 }).toBeGreaterThan(0);

      const stoppedAt = Date.now();
      first.signal('SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      // The ping gives up after 3 s.
      expect(Date.now() - stoppedAt).toBeLessThan(6_000);
      expect(first.output()).toContain('hearth: stopped by SIGTERM before it listened');
      expect(first.output()).not.toContain('Hearth is running');
      expect(existsSync(join(env.HEARTH_DATA_DIR, LOCK_FILE))).toBe(false);
    } finally {
      for (const socket of connected) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});
