import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { queryRows } from '../../scoring/turns.ts';
import { processDataDir } from '../support/data-dir.ts';
import { expectRetriedBatchCollapses } from '../support/store-checks.ts';

let client: ClickHouseClient;
beforeAll(() => {
  client = createStoreClient({ dataDir: processDataDir() });
});
afterAll(() => client.close());

/** The ledger rows and the table these tests made, so the store's own migrations run on it afterwards. */
async function forgetProbes() {
  await client.command({ query: 'ALTER TABLE hearth_migrations DELETE WHERE version >= 900 SETTINGS mutations_sync = 2' });
  await client.command({ query: 'DROP TABLE IF EXISTS probe' });
}

const count = async (query: string, params: Record<string, unknown> = {}) => {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]!.n);
};

describe('store', () => {
  it('applies each migration once and records it', async () => {
    expect(await migrate(client)).toEqual(readMigrations().map((m) => m.name));
    expect(await migrate(client)).toEqual([]);
    expect(await count('SELECT count() AS n FROM hearth_migrations')).toBe(readMigrations().length);
  });

  it('refuses a migration that was edited after it was applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-migrations-'));
    writeFileSync(join(dir, '900_probe.sql'), 'CREATE TABLE IF NOT EXISTS probe (x UInt8) ENGINE = MergeTree ORDER BY x;\n');
    try {
      expect(await migrate(client, readMigrations(dir))).toEqual(['900_probe']);
      writeFileSync(join(dir, '900_probe.sql'), 'CREATE TABLE IF NOT EXISTS probe (x UInt16) ENGINE = MergeTree ORDER BY x;\n');
      await expect(migrate(client, readMigrations(dir))).rejects.toThrow('migration 900_probe was changed after it was applied');
    } finally {
      await forgetProbes();
    }
  });

  it('takes a store whose 007 was applied before its comment was reworded (the same statements)', async () => {
    await migrate(client);
    const record = (checksum: string) => client.command({ query: `ALTER TABLE hearth_migrations UPDATE checksum = '${checksum}' WHERE version = 7 SETTINGS mutations_sync = 2` });
    const now = readMigrations().find((migration) => migration.version === 7)!.checksum;
    // As 6a4e347 to 2e35eba recorded it.
    await record('2f9c467e29a5665679da2f353e81ba8618785b484d35d33f76a27af1473e6fae');
    try {
      expect(await migrate(client)).toEqual([]);
    } finally {
      await record(now);
    }
  });

  it('refuses a store a newer release migrated, rather than run older rules and tables over it', async () => {
    await migrate(client);
    // As a later release records its migration 900.
    await client.insert({ table: 'hearth_migrations', values: [{ version: 900, name: '900_future', checksum: 'x' }], format: 'JSONEachRow' });
    try {
      await expect(migrate(client)).rejects.toThrow('the store was migrated by a newer Hearth (900_future, unknown to this one): run that release or a later one');
    } finally {
      await forgetProbes();
    }
    expect(await migrate(client)).toEqual([]);
  });

  it('finds identities by email through their bloom filter, skipping the granules that cannot hold it', async () => {
    await migrate(client);
    const row = { site_id: 'bloom', visitor_id: 'v1', email: 'ada@acme.test', ts: '2026-12-01 09:00:00.000', event_id: '00000000-0000-4000-8000-000000000001', is_bot: 0 };
    await client.insert({ table: 'identities', values: [row], format: 'JSONEachRow' });
    const result = await client.query({ query: "EXPLAIN indexes = 1 SELECT visitor_id FROM identities WHERE site_id = 'bloom' AND email = 'ada@acme.test'", format: 'TabSeparated' });
    const plan = await result.text();
    expect(plan).toMatch(/Skip\s+Name: email_bloom/);
  });

  it('collapses a batch written twice (a retry) to one copy of each event', async () => {
    await migrate(client);
    await expectRetriedBatchCollapses(client);
  });

  it('answers a query with its own rows only, after a query that failed midway through its answer', async () => {
    // Its first blocks of rows are written before a later one fails.
    const failing = client.query({ query: 'SELECT number, throwIf(number = 5000) AS boom FROM numbers(100000)', format: 'JSONEachRow', clickhouse_settings: { max_block_size: '10' } });
    await expect(failing.then((result) => result.json())).rejects.toThrow(/throwIf/);
    expect(await (await client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([{ one: 1 }]);
    await expect(client.command({ query: 'SELECT number, throwIf(number = 5000) FROM numbers(100000) SETTINGS max_block_size = 10' })).rejects.toThrow(/throwIf/);
    expect(await queryRows(client, { query: 'SELECT 2 AS two' })).toEqual([{ two: 2 }]);
  });

  it('runs a statement whose values, written into it, make it longer than ClickHouse parses by default (256 KiB)', async () => {
    // A dashboard's list of qualified leads, or a whole site's ids: 20,000 ids are ~500 KB of SQL.
    const ids = Array.from({ length: 20_000 }, (_, i) => `l_${String(i).padStart(20, '0')}`);
    expect(await count('SELECT length({ids:Array(String)}) AS n', { ids })).toBe(20_000);
    expect(await count("SELECT count() AS n FROM numbers(30000) WHERE concat('l_', leftPad(toString(number), 20, '0')) IN {ids:Array(String)}", { ids })).toBe(20_000);
  });

  it('reads rows in the compact format as JSONEachRow gives them: named tuples as objects, at any depth', async () => {
    const query = `SELECT number AS n,
        CAST([('pricing', toUInt32(number), 1.5, true)], 'Array(Tuple(rule String, count UInt32, points Float64, capped Bool))') AS reasons,
        CAST(('google', ''), 'Tuple(utm_source String, \`odd name\` String)') AS touch,
        map('job_title', 'CEO') AS profile,
        CAST(map('a', (1, 'x')), 'Map(String, Tuple(n UInt8, s String))') AS mapped,
        CAST([('x', toDateTime64('2026-12-03 10:00:00.250', 3, 'UTC'))], 'Array(Tuple(s String, at DateTime64(3, \\'UTC\\')))') AS timed,
        ('unnamed', toUInt8(2), CAST(('in', 1), 'Tuple(a String, b UInt8)')) AS plain,
        CAST(NULL, 'Nullable(Float64)') AS missing
      FROM numbers(3)`;
    const expected = await (await client.query({ query, format: 'JSONEachRow' })).json();
    expect(expected[1]).toMatchObject({ reasons: [{ rule: 'pricing', count: 1, capped: true }], touch: { utm_source: 'google', 'odd name': '' }, plain: ['unnamed', 2, { a: 'in', b: 1 }] });
    expect(await queryRows(client, { query })).toEqual(expected);
  });
});
