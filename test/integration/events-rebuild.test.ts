import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateHistory } from '../../collector/demo/history.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { applyRetention } from '../../collector/store/retention.ts';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { emptyStore } from '../support/empty-store.ts';

// Migration 008 rebuilds the events table of an existing install (finer granules): nothing stored may be lost,
// and a run interrupted at any step must finish on the next start.
const { client, rows } = emptyStore();

const REBUILD = '008_events_fine_granules';
const allEvents = () => rows('SELECT * FROM events FINAL ORDER BY site_id, visitor_id, ts, event_id');
// Without FINAL: a copy made twice (the copy of the rows received in the last hour) would show here.
const storedRows = async () => Number((await rows('SELECT count() AS n FROM events'))[0]!.n);
const eventsTables = () => rows("SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'events%' ORDER BY name");
const eventsTable = async () => (await rows("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'"))[0]!.engine_full as string;

describe('the events table rebuilt with finer granules (migration 008)', () => {
  it('keeps every stored event and the retention TTL, and a run interrupted during the copy or after the exchange finishes on the next start', async () => {
    const before = readMigrations().filter((migration) => migration.name < REBUILD);
    await migrate(client, before);
    // The TTLs the release of then set (it dated identity rows by ts).
    for (const [table, time] of [['events', 'ts'], ['identities', 'ts'], ['lead_scores', 'last_seen'], ['alert_outbox', 'created_at']]) {
      await client.command({ query: `ALTER TABLE ${table} MODIFY TTL toDateTime(${time}) + INTERVAL 400 DAY` });
    }
    const history = generateHistory({ site: 'demo', origin: 'http://127.0.0.1:8787', visitors: 200, days: 90, seed: 7, now: Date.now() });
    // Some received just now, which the copy of the last hour's rows (for other collectors' writes) must not double.
    const justNow = history.slice(0, 50).map((row) => ({ ...row, event_id: randomUUID(), received_at: toClickHouseTime(Date.now()) }));
    await insertEvents(client, [...history, ...justNow]);
    const stored = await allEvents();
    expect(stored.length).toBe(history.length + justNow.length);
    expect(await eventsTable()).toContain('index_granularity = 8192');

    // A first run interrupted during the copy: part of the rows in the new table, which the next run starts anew.
    const [migration] = readMigrations().filter((m) => m.name === REBUILD);
    const copy = migration!.statements.findIndex((statement) => statement.startsWith('INSERT INTO events_regranulated'));
    for (const statement of migration!.statements.slice(0, copy)) await client.command({ query: statement });
    await client.command({ query: 'INSERT INTO events_regranulated SELECT * FROM events LIMIT 100' });
    // The migrations after 008 come with it.
    const later = readMigrations().filter((m) => m.name > REBUILD).map((m) => m.name);
    expect(await migrate(client)).toEqual([REBUILD, ...later]);
    expect(await allEvents()).toEqual(stored);
    expect(await storedRows()).toBe(stored.length);
    expect(await eventsTable()).toContain('index_granularity = 256');
    expect(await eventsTables()).toEqual([{ name: 'events' }]);
    // The rebuilt table has no TTL until the start's retention step puts it back; nor have the identity map, which
    // migration 013 rebuilds (and whose rows 016 dates by when their person was last seen), the stored scores (017) and
    // the dashboards' rollup, which 019 makes.
    expect(await applyRetention(client, 400)).toEqual([
      'ALTER TABLE events MODIFY TTL toDateTime(ts) + INTERVAL 400 DAY',
      'ALTER TABLE identities MODIFY TTL toDateTime(last_seen) + INTERVAL 400 DAY',
      'ALTER TABLE lead_scores MODIFY TTL toDateTime(last_seen) + INTERVAL 400 DAY',
      'ALTER TABLE visit_days MODIFY TTL toDateTime(day) + INTERVAL 400 DAY',
    ]);

    // A crash between the exchange and the drop: the old table is still there, and the ledger never heard of 008.
    const exchange = migration!.statements.findIndex((statement) => statement.startsWith('EXCHANGE'));
    await client.command({ query: `ALTER TABLE hearth_migrations DELETE WHERE name = '${REBUILD}'`, clickhouse_settings: { mutations_sync: '2' } });
    for (const statement of migration!.statements.slice(0, exchange + 1)) await client.command({ query: statement });
    expect(await eventsTables()).toHaveLength(2);
    expect(await migrate(client)).toEqual([REBUILD]);
    expect(await allEvents()).toEqual(stored);
    expect(await storedRows()).toBe(stored.length);
    expect(await eventsTables()).toEqual([{ name: 'events' }]);
  });
});
