import { describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { applyRetention } from '../../collector/store/retention.ts';
import { emptyStore } from '../support/empty-store.ts';

// Migration 018: the identity rows of an install from before 016 take the latest visit of their person's browsers as
// the time they were last seen, before a retention's TTL reads it (QA: an upgrade with retentionDays set made a third
// of the leads anonymous, everyone who gave their email before the retention's days however recently they came back).
const { client, rows } = emptyStore();

const BACKFILL = '018_identities_last_seen_backfill';
const DAY = 86_400;

describe('the identities of an install from before 016, upgraded with a retention (migration 018)', () => {
  it('are kept for the people seen within the retention, on any of their browsers, and expire for the others', async () => {
    await migrate(client, readMigrations().filter((migration) => migration.name < '016'));
    // Three people who gave their email 60 days ago: Ann came back on her laptop 2 days ago, Bob on his phone (which
    // gave his email too) yesterday, Cat never.
    const identity = (visitor: string, email: string, daysAgo: number, n: number) =>
      `('acme', '${visitor}', '${email}', now64(3) - toIntervalSecond(${daysAgo * DAY}), toUUID('00000000-0000-4000-8000-00000000000${n}'), 0, 's${n}')`;
    await client.command({
      query: `INSERT INTO identities (site_id, visitor_id, email, ts, event_id, is_bot, session_id) VALUES
        ${identity('ann-laptop', 'ann@acme.test', 60, 1)}, ${identity('bob-pc', 'bob@acme.test', 60, 2)}, ${identity('bob-phone', 'bob@acme.test', 59, 3)}, ${identity('cat-pc', 'cat@acme.test', 60, 4)}`,
    });
    const event = (visitor: string, daysAgo: number, n: number) => `('acme', '${visitor}', toUUID('10000000-0000-4000-8000-00000000000${n}'), now64(3) - toIntervalSecond(${daysAgo * DAY}), 'pageview')`;
    await client.command({
      query: `INSERT INTO events (site_id, visitor_id, event_id, ts, type) VALUES
        ${event('ann-laptop', 60, 1)}, ${event('ann-laptop', 2, 2)}, ${event('bob-pc', 60, 3)}, ${event('bob-phone', 1, 4)}, ${event('cat-pc', 60, 5)}`,
    });
    expect(await migrate(client)).toEqual(readMigrations().filter((migration) => migration.name >= '016').map((migration) => migration.name));
    const seen = await rows(`SELECT visitor_id, round((toUnixTimestamp(now64(3)) - toUnixTimestamp(max(last_seen))) / ${DAY}) AS days FROM identities GROUP BY visitor_id ORDER BY visitor_id`);
    expect(seen).toEqual([
      { visitor_id: 'ann-laptop', days: 2 },
      { visitor_id: 'bob-pc', days: 1 },
      { visitor_id: 'bob-phone', days: 1 },
      { visitor_id: 'cat-pc', days: 60 },
    ]);
    // Run again (a start that died before the ledger's row): nothing more is written.
    const before = await rows('SELECT count() AS n FROM identities');
    const [migration] = readMigrations().filter((m) => m.name === BACKFILL);
    for (const statement of migration!.statements) await client.command({ query: statement });
    expect(await rows('SELECT count() AS n FROM identities')).toEqual(before);

    // The retention of 30 days applied at start, and merged: Cat's identity goes, Ann's and Bob's stay.
    await applyRetention(client, 30);
    await client.command({ query: 'OPTIMIZE TABLE identities FINAL' });
    expect(await rows('SELECT DISTINCT email FROM identities ORDER BY email')).toEqual([{ email: 'ann@acme.test' }, { email: 'bob@acme.test' }]);
  }, 60_000);
});
