import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { emptyStore } from '../support/empty-store.ts';
import { newVisitor } from '../support/server.ts';

// Migration 013 rebuilds the identity map of an existing install with the visit each email was given in, from the
// events: every row must come back with its visit, none twice, and a run interrupted at any step must finish on the
// next start.
const { client, rows } = emptyStore();

const VISITS = '013_identities_sessions';
// FINAL: the copies later migrations write of a row (018 dates it by its browser's latest visit) collapse, as the table's merges make them.
const identities = () => rows('SELECT visitor_id, email, session_id, is_bot FROM identities FINAL ORDER BY visitor_id, ts');
const identityTables = () => rows("SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'identities%' ORDER BY name");

describe('the identity map rebuilt with visits (migration 013)', () => {
  it('gives every stored identity row its visit, once, and a run interrupted after the exchange finishes on the next start', async () => {
    await migrate(client, readMigrations().filter((migration) => migration.name < VISITS));
    const [ada, bob] = [newVisitor(), newVisitor()];
    const event = (visitor: string, session: string, email: string, minutes: number, received = minutes) =>
      `('acme', '${visitor}', '${session}', '${randomUUID()}', '${toClickHouseTime(Date.now() - minutes * 60_000)}', '${toClickHouseTime(Date.now() - received * 60_000)}', '${email ? 'form' : 'pageview'}', '${email}', ${email.startsWith('bot') ? 1 : 0})`;
    const stored = [
      event(ada, 'visit-1', '', 50),
      event(ada, 'visit-1', ' Ada@Alpha.test', 49),
      event(ada, 'visit-2', 'ada@alpha.test', 10, 2),
      event(bob, '', 'bot.bob@beta.test', 30),
    ];
    await client.command({ query: `INSERT INTO events (site_id, visitor_id, session_id, event_id, ts, received_at, type, email, is_bot) VALUES ${stored.join(', ')}` });
    // The identity rows the collector of the release before wrote (no visit), as 010 makes them from the events.
    await client.command({
      query: `INSERT INTO identities SELECT site_id, visitor_id, lower(trimBoth(email)), ts, event_id, is_bot FROM events WHERE email != '' AND visitor_id IN ('${ada}', '${bob}')`,
    });

    // The migrations after 013 come with it.
    const later = readMigrations().filter((m) => m.name > VISITS).map((m) => m.name);
    expect(await migrate(client)).toEqual([VISITS, ...later]);
    const expected = [
      { visitor_id: ada, email: 'ada@alpha.test', session_id: 'visit-1', is_bot: 0 },
      { visitor_id: ada, email: 'ada@alpha.test', session_id: 'visit-2', is_bot: 0 },
      { visitor_id: bob, email: 'bot.bob@beta.test', session_id: '', is_bot: 1 },
    ].sort((a, b) => (a.visitor_id < b.visitor_id ? -1 : a.visitor_id > b.visitor_id ? 1 : 0));
    expect(await identities()).toEqual(expected);
    expect(await identityTables()).toEqual([{ name: 'identities' }]);
    // The index by email came along.
    const [table] = await rows("SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'identities'");
    expect(String(table!.create_table_query)).toContain('INDEX email_bloom email TYPE bloom_filter(0.01) GRANULARITY 1');

    // A crash between the exchange and the drop: the old table is still there, and the ledger never heard of 013.
    const [migration] = readMigrations().filter((m) => m.name === VISITS);
    const exchange = migration!.statements.findIndex((statement) => statement.startsWith('EXCHANGE'));
    await client.command({ query: `ALTER TABLE hearth_migrations DELETE WHERE name = '${VISITS}'`, clickhouse_settings: { mutations_sync: '2' } });
    for (const statement of migration!.statements.slice(0, exchange + 1)) await client.command({ query: statement });
    expect(await identityTables()).toHaveLength(2);
    expect(await migrate(client)).toEqual([VISITS]);
    expect(await identities()).toEqual(expected);
    expect(await identityTables()).toEqual([{ name: 'identities' }]);
  });
});
