import { describe, expect, it } from 'vitest';
import { SOURCE } from '../../collector/api/dashboard-queries.ts';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { visitDaysSelect } from '../../collector/store/visit-days.ts';
import { emptyStore } from '../support/empty-store.ts';

// Migration 019: the dashboards' rollup, a row per visit and day, made of the events already stored when a store is
// upgraded, then kept by a materialized view as events land.
const { client, rows } = emptyStore();

const ROLLUP = '019_visit_days';

/** Events as the collector stores them: a visitor, a visit, a time, what it was and where it came from. */
const insertEvents = (events: { visitor: string; session: string; at: string; type?: string; start?: number; utm?: string; referrer?: string; bot?: number; device?: string }[]) =>
  client.insert({
    table: 'events',
    values: events.map((event, n) => ({
      site_id: 'acme',
      visitor_id: event.visitor,
      session_id: event.session,
      event_id: `00000000-0000-4000-8000-${String(n + 1).padStart(12, '0')}`,
      ts: event.at,
      received_at: event.at,
      type: event.type ?? 'pageview',
      session_start: event.start ?? 0,
      utm_source: event.utm ?? '',
      referrer_host: event.referrer ?? '',
      is_bot: event.bot ?? 0,
      device: event.device ?? 'desktop',
      browser: 'Firefox',
      os: 'Linux',
    })),
    format: 'JSONEachRow',
  });

/** The rollup as the dashboards read it: its rows with their entry source, copies not merged yet counted once. */
const rollup = () =>
  rows(`SELECT visitor_id, session_id, toString(day) AS day, is_bot, device, max(entry_source) AS entry_source
        FROM visit_days GROUP BY visitor_id, session_id, day, is_bot, device ORDER BY visitor_id, session_id, day`);

describe('the visits the dashboards count (migration 019)', () => {
  it('are made of the events an upgraded store holds, then of each batch as it lands, a retried one counted once', async () => {
    await migrate(client, readMigrations().filter((migration) => migration.name < ROLLUP));
    // Ann's visit from a campaign crosses midnight; Bob came from www.example.org on his phone, then again directly;
    // a crawler's visit is flagged, not dropped.
    await insertEvents([
      { visitor: 'ann', session: 'a1', at: '2026-11-02 23:50:00.000', start: 1, utm: 'LinkedIn', referrer: 'www.google.com' },
      { visitor: 'ann', session: 'a1', at: '2026-11-02 23:55:00.000', type: 'engagement' },
      { visitor: 'ann', session: 'a1', at: '2026-11-03 00:05:00.000', type: 'download' },
      { visitor: 'bob', session: 'b1', at: '2026-11-03 10:00:00.000', start: 1, referrer: 'www.Example.org', device: 'mobile' },
      { visitor: 'bob', session: 'b2', at: '2026-11-04 09:00:00.000', start: 1, device: 'mobile' },
      { visitor: 'bot', session: 'c1', at: '2026-11-04 09:30:00.000', start: 1, bot: 1 },
    ]);
    expect(await migrate(client)).toEqual([ROLLUP]);
    const upgraded = [
      { visitor_id: 'ann', session_id: 'a1', day: '2026-11-02', is_bot: 0, device: 'desktop', entry_source: 'linkedin' },
      { visitor_id: 'ann', session_id: 'a1', day: '2026-11-03', is_bot: 0, device: 'desktop', entry_source: '' },
      { visitor_id: 'bob', session_id: 'b1', day: '2026-11-03', is_bot: 0, device: 'mobile', entry_source: 'example.org' },
      { visitor_id: 'bob', session_id: 'b2', day: '2026-11-04', is_bot: 0, device: 'mobile', entry_source: '(direct)' },
      { visitor_id: 'bot', session_id: 'c1', day: '2026-11-04', is_bot: 1, device: 'desktop', entry_source: '(direct)' },
    ];
    expect(await rollup()).toEqual(upgraded);

    // Cat's first batch, then her next page in a batch of its own, and that batch again (a client's retry).
    const cat = [
      { visitor: 'cat', session: 'k1', at: '2026-11-05 08:00:00.000', start: 1, utm: 'newsletter' },
      { visitor: 'cat', session: 'k1', at: '2026-11-05 08:01:00.000' },
    ];
    await insertEvents(cat.slice(0, 1));
    await insertEvents(cat);
    await insertEvents(cat);
    const landed = [...upgraded, { visitor_id: 'cat', session_id: 'k1', day: '2026-11-05', is_bot: 0, device: 'desktop', entry_source: 'newsletter' }];
    expect(await rollup()).toEqual(landed);
    // Merged, a visit's day is one row, its entry source kept.
    await client.command({ query: 'OPTIMIZE TABLE visit_days FINAL' });
    expect(await rows('SELECT visitor_id, session_id, toString(day) AS day, is_bot, device, entry_source FROM visit_days ORDER BY visitor_id, session_id, day')).toEqual(landed);
  });

  it('names a visit’s source as the dashboards name a lead’s, and the file makes and copies its rows alike', () => {
    const [view, copy] = readMigrations().find((migration) => migration.name === ROLLUP)!.statements.slice(1);
    expect(visitDaysSelect()).toContain(`maxIf(${SOURCE},`);
    expect(view).toContain(visitDaysSelect());
    expect(copy).toBe(`INSERT INTO visit_days\n${visitDaysSelect()}`);
  });
});
