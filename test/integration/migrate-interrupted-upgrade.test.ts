import { randomUUID } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { prepareStore } from '../../collector/store/prepare.ts';
import { processDataDir } from '../support/data-dir.ts';
import { newVisitor } from '../support/server.ts';

// An install from before the identity map (migration 005) upgrades: its leads' emails are only in the events, and
// the upgrade must map them even when its first start dies part-way (migration 008 copies the whole events table:
// a full disk, a timeout, a liveness probe that kills a slow start).
let client: ClickHouseClient;
beforeAll(() => {
  client = createStoreClient({ dataDir: processDataDir() });
});
afterAll(() => client.close());

const IDENTITY_MAP = '005_identities_and_scores';
const VISITS = '013_identities_sessions';
/** The migrations of the release that brought the backfill (010), up to the identity map's visits (013). */
const beforeVisits = () => readMigrations().filter((migration) => migration.name < VISITS);

describe('an upgrade across the identity map, interrupted', () => {
  it('maps the emails stored before it on the next start', async () => {
    await migrate(client, readMigrations().filter((migration) => migration.name < IDENTITY_MAP));
    const visitor = newVisitor();
    await client.command({
      query: `INSERT INTO events (site_id, visitor_id, event_id, ts, received_at, type, name, email)
              VALUES ('acme', {visitor:String}, {id:UUID}, now64(3, 'UTC') - INTERVAL 2 DAY, now64(3, 'UTC') - INTERVAL 2 DAY, 'form', 'demo', ' Ada@Acme.test')`,
      query_params: { visitor, id: randomUUID() },
    });

    // The first start of the new version applied 005 and was killed before it finished the rest.
    await migrate(client, readMigrations().filter((migration) => migration.name <= IDENTITY_MAP));
    // The next start.
    await migrate(client, beforeVisits());

    const identities = await client.query({ query: 'SELECT site_id, email FROM identities WHERE visitor_id = {visitor:String}', query_params: { visitor }, format: 'JSONEachRow' });
    expect(await identities.json()).toEqual([{ site_id: 'acme', email: 'ada@acme.test' }]);
    // The map of an install whose first start went through (the map was filled then) gains no second copy.
    await client.command({ query: `ALTER TABLE hearth_migrations DELETE WHERE version > 5`, clickhouse_settings: { mutations_sync: '2' } });
    await migrate(client, beforeVisits());
    const copies = async () => {
      const result = await client.query({ query: 'SELECT count() AS n FROM identities WHERE visitor_id = {visitor:String}', query_params: { visitor }, format: 'JSONEachRow' });
      return Number((await result.json<{ n: string }>())[0]!.n);
    };
    expect(await copies()).toBe(1);
    // Today's start rebuilds the map with the visits (013): still one row.
    await prepareStore(client, { dataDir: processDataDir() }, undefined);
    expect(await copies()).toBe(1);
  });
});
