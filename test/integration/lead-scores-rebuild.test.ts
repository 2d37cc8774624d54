import { describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { emptyStore } from '../support/empty-store.ts';

// Migration 017 rebuilds the stored scores of an existing install (finer granules): no snapshot may be lost or doubled,
// one another collector writes during the copy is kept, and a run interrupted at any step finishes on the next start.
const { client, rows } = emptyStore();

const REBUILD = '017_lead_scores_fine_granules';
const allSnapshots = () => rows('SELECT * FROM lead_scores ORDER BY site_id, lead_id, scored_at');
const scoreTables = () => rows("SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE 'lead_scores%' ORDER BY name");
const scoresTable = async () => (await rows("SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'lead_scores'"))[0]!.engine_full as string;

/** Snapshots of `leads` leads, `perLead` each an hour apart, the last ones `minutesAgo` minutes before now. */
const snapshotsSql = (table: string, leads: number, perLead: number, minutesAgo: number) =>
  `INSERT INTO ${table} (site_id, lead_id, scored_at, kind, email, visitor_ids, shared_visits, score, temperature, reasons, profile, last_seen)
   SELECT 'acme', concat('l_', leftPad(toString(intDiv(number, ${perLead})), 20, '0')), now64(3) - toIntervalMinute(${minutesAgo} + 60 * (number % ${perLead})),
     'lead', concat('p', toString(intDiv(number, ${perLead})), '@acme.test'), [concat('v', toString(number))], [(concat('v', toString(number)), 's1')],
     toInt32(number % 97), 'warm', '[{"rule":"pricing page","points":20}]', map('job_title', 'CEO'), now64(3)
   FROM numbers(${leads * perLead})`;

describe('the stored scores rebuilt with finer granules (migration 017)', () => {
  it('keeps every snapshot, and a run interrupted during the copy or after the exchange finishes on the next start', async () => {
    await migrate(client, readMigrations().filter((migration) => migration.name < REBUILD));
    // 3,000 leads' histories (past 8,192 rows: several granules either way), the latest scored ten minutes ago, within the
    // hour whose rows are copied again after the exchange: they must not be doubled.
    await client.command({ query: snapshotsSql('lead_scores', 3000, 3, 10) });
    const stored = await allSnapshots();
    expect(stored).toHaveLength(9000);
    expect(await scoresTable()).toContain('index_granularity = 8192');

    const [migration] = readMigrations().filter((m) => m.name === REBUILD);
    const step = (prefix: string) => migration!.statements.findIndex((statement) => statement.startsWith(prefix));
    // A first run interrupted during the copy: part of the rows in the new table, which the next run starts anew.
    for (const statement of migration!.statements.slice(0, step('INSERT INTO lead_scores_regranulated'))) await client.command({ query: statement });
    await client.command({ query: 'INSERT INTO lead_scores_regranulated SELECT * FROM lead_scores LIMIT 100' });
    expect(await migrate(client)).toEqual([REBUILD, ...readMigrations().filter((m) => m.name > REBUILD).map((m) => m.name)]);
    expect(await allSnapshots()).toEqual(stored);
    expect(await scoresTable()).toContain('index_granularity = 256');
    expect(await scoreTables()).toEqual([{ name: 'lead_scores' }]);

    // Run again from the ledger's view (as after a crash before its row was written), with another collector storing
    // a lead's new score while the copy runs: it goes to the old table, and is carried over after the exchange.
    await client.command({ query: `ALTER TABLE hearth_migrations DELETE WHERE name = '${REBUILD}'`, clickhouse_settings: { mutations_sync: '2' } });
    for (const statement of migration!.statements.slice(0, step('EXCHANGE'))) await client.command({ query: statement });
    await client.command({ query: snapshotsSql('lead_scores', 1, 1, 0) });
    const withLate = await allSnapshots();
    expect(withLate).toHaveLength(9001);
    // A crash between the exchange (and the copy after it) and the drop: the old table is still there, and the ledger
    // never heard of 017.
    for (const statement of migration!.statements.slice(step('EXCHANGE'), -1)) await client.command({ query: statement });
    expect(await scoreTables()).toHaveLength(2);
    expect(await allSnapshots()).toEqual(withLate);
    expect(await migrate(client)).toEqual([REBUILD]);
    expect(await allSnapshots()).toEqual(withLate);
    expect(await scoresTable()).toContain('index_granularity = 256');
    expect(await scoreTables()).toEqual([{ name: 'lead_scores' }]);
  }, 60_000);
});
