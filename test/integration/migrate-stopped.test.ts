import type { ClickHouseClient } from '@clickhouse/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { readMigrations } from '../../collector/store/migrate.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { oneSiteConfigFile, storeTables } from '../support/migrating-store.ts';
import { runHearth, spawnHearth, type HearthChild } from '../support/hearth-process.ts';

// `hearth migrate` stopped by its operator (Ctrl-C, SIGTERM from a job runner). It used to die at once: the migration
// lock left to hold every collector back a minute, a migration perhaps cut between its statements and its ledger row.
const configFile = oneSiteConfigFile();
/** Migration 002's first statement, held while the stop comes. */
const SLOWED = 'ADD COLUMN IF NOT EXISTS engaged_ms';

let clickhouse: ClickHouseHttpProcess | undefined;
let client: ClickHouseClient | undefined;
const children: HearthChild[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.signal('SIGKILL');
  await client?.close();
  await clickhouse?.kill();
});

const { rows, tables, recorded } = storeTables(() => client);

/** `hearth migrate` against the test server, with migration 002 held for `slowMs`; resolves once 002 has begun. */
async function migratingSlowly(slowMs: number): Promise<{ migrating: HearthChild; env: Record<string, string> }> {
  clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
  client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url });
  await clickhouse.setFault('slow', slowMs, SLOWED);
  const env = { CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: freshDataDir() };
  const migrating = spawnHearth(['migrate', '--config', configFile], env);
  children.push(migrating);
  await expect.poll(recorded, { timeout: 20_000, interval: 50 }).toContain(1);
  return { migrating, env };
}

describe('hearth migrate stopped', () => {
  it('stops after the migration in flight, drops the lock, says what it applied and what is left, and a second run applies the rest', { timeout: 60_000 }, async () => {
    const { migrating, env } = await migratingSlowly(3_000);
    const stoppedAt = Date.now();
    migrating.signal('SIGTERM');
    expect(await migrating.exited).toEqual({ code: 143, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    const names = readMigrations().map((migration) => migration.name);
    expect(migrating.output()).toContain('hearth: SIGTERM: stopping once migration 002_engagement_and_source is done (a migration is never cut part-way); SIGTERM again exits at once');
    expect(migrating.output()).toContain(`hearth: stopped by SIGTERM after applying 001_events, 002_engagement_and_source to ClickHouse at ${new URL(clickhouse!.url).origin}, database default; left: ${names.slice(2).join(', ')}, the retention TTL (run \`hearth migrate\` again to apply them)`);
    expect(await recorded()).toEqual([1, 2]);
    expect(await tables()).not.toContain('hearth_migration_lock');

    await clickhouse!.setFault('ok');
    const again = await runHearth(['migrate', '--config', configFile], env);
    expect(again.stderr).not.toContain('waiting for');
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining(`applied ${names.slice(2).join(', ')} to`) });
    const ledger = await rows<{ version: number; copies: number }>('SELECT version, toUInt32(count()) AS copies FROM hearth_migrations GROUP BY version ORDER BY version');
    expect(ledger).toEqual(readMigrations().map((migration) => ({ version: migration.version, copies: 1 })));
  });

  it('exits at once at a second Ctrl-C, saying the lock stays', { timeout: 60_000 }, async () => {
    const { migrating } = await migratingSlowly(30_000);
    migrating.signal('SIGINT');
    await expect.poll(migrating.output).toContain('hearth: SIGINT: stopping once migration 002_engagement_and_source is done');
    // Still waiting for 002.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await Promise.race([migrating.exited, new Promise((resolve) => setTimeout(() => resolve('running'), 0))])).toBe('running');

    const againAt = Date.now();
    migrating.signal('SIGINT');
    // Ended by the signal, as a shell reports it (130): not by process.exit, which ran the embedded engine's exit
    // handlers while its threads still worked.
    expect(await migrating.exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(Date.now() - againAt).toBeLessThan(2_000);
    expect(migrating.output()).toContain('hearth: SIGINT again: exiting at once: migration 002_engagement_and_source is cut part-way, and the next run starts it again from its first statement; a migration lock it holds stays until the next `hearth migrate` or collector takes it over (60 s)');
    expect(await tables()).toContain('hearth_migration_lock');
  });
});
