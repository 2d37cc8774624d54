import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../collector/config/load.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { REJECTED_FILE } from '../../collector/ingest/wal.ts';
import { startServer, type RunningServer } from '../../collector/server.ts';
import { applyRetention } from '../../collector/store/retention.ts';
import { processDataDir } from '../support/data-dir.ts';
import { BROWSER_USER_AGENT, newVisitor, wireEvent } from '../support/server.ts';

/** A line of wal/rejected.ndjson as the write-ahead log writes it: an event of `daysAgo` days ago that ClickHouse refused. */
function refusedLine(daysAgo: number) {
  const at = Date.now() - daysAgo * 24 * 60 * 60_000;
  const row = { ...batchToRows({ s: 'acme', v: newVisitor(), e: [wireEvent({ t: at, u: 'https://acme.test/pricing' })] as any }, at)[0]!, title: 'Pricing \ud83d' };
  return { visitor: row.visitor_id, line: JSON.stringify({ at: new Date(at).toISOString(), error: 'Cannot parse JSON string: surrogate code point', row }) };
}
// Left by an earlier run of the collector: what ClickHouse refused 40 and 29 days ago.
const refused = { old: refusedLine(40), recent: refusedLine(29) };

// A collector started with 30 days of retention; the tests read and write its store through its client.
let server: RunningServer;
let client: ClickHouseClient;
beforeAll(async () => {
  const wal = join(processDataDir(), 'wal');
  mkdirSync(wal, { recursive: true });
  writeFileSync(join(wal, REJECTED_FILE), `${refused.old.line}\n${refused.recent.line}\n`, { mode: 0o600 });
  const config = parseConfig({ sites: [{ id: 'acme', origins: ['https://acme.test'] }], server: { port: 0 }, storage: { retentionDays: 30 } }, 'test config');
  server = await startServer({ config, store: { dataDir: processDataDir() } });
  client = server.client;
});
afterAll(() => server?.close());

/** Stores `count` events for a new visitor, `daysAgo` days old; returns the visitor. */
async function eventsFrom(daysAgo: number, count = 5): Promise<string> {
  const visitor = newVisitor();
  await client.command({
    query: `INSERT INTO events (site_id, visitor_id, event_id, ts, received_at, type)
            SELECT 'acme', {visitor:String}, generateUUIDv4(), now64(3, 'UTC') - INTERVAL {days:UInt32} DAY, now64(3, 'UTC'), 'pageview' FROM numbers({count:UInt32})`,
    query_params: { visitor, days: daysAgo, count },
  });
  return visitor;
}
const stored = async (visitor: string) => {
  const result = await client.query({ query: 'SELECT count() AS n FROM events FINAL WHERE visitor_id = {visitor:String}', query_params: { visitor }, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]!.n);
};

describe('storage.retentionDays', () => {
  it('sets the TTL when the collector starts', async () => {
    const result = await client.query({ query: "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'events'", format: 'JSONEachRow' });
    expect((await result.json<{ engine_full: string }>())[0]!.engine_full).toContain('TTL toDateTime(ts) + toIntervalDay(30)');
    const identities = await client.query({ query: "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'identities'", format: 'JSONEachRow' });
    expect((await identities.json<{ engine_full: string }>())[0]!.engine_full).toContain('TTL toDateTime(last_seen) + toIntervalDay(30)');
  });

  it('deletes events older than the retention once ClickHouse merges, and keeps the rest', async () => {
    const old = await eventsFrom(40);
    const recent = await eventsFrom(29);
    await client.command({ query: 'OPTIMIZE TABLE events FINAL' });
    expect({ old: await stored(old), recent: await stored(recent) }).toEqual({ old: 0, recent: 5 });
    // The dashboards' rollup of their visits goes with them: the visit of 40 days ago, not that of 29.
    await client.command({ query: 'OPTIMIZE TABLE visit_days FINAL' });
    const visits = await client.query({ query: 'SELECT visitor_id FROM visit_days WHERE visitor_id IN {visitors:Array(String)}', query_params: { visitors: [old, recent] }, format: 'JSONEachRow' });
    expect(await visits.json()).toEqual([{ visitor_id: recent }]);
  });

  it('forgets the person with the events: identity rows, stored scores of leads last seen and alerts made before the retention', async () => {
    const visitor = newVisitor();
    const when = (days: number) => `now64(3, 'UTC') - INTERVAL ${days} DAY`;
    await client.command({
      query: `INSERT INTO identities (site_id, visitor_id, email, ts, event_id, is_bot)
              VALUES ('acme', {visitor:String}, 'old@acme.test', ${when(40)}, generateUUIDv4(), 0), ('acme', {visitor:String}, 'new@acme.test', ${when(5)}, generateUUIDv4(), 0)`,
      query_params: { visitor },
    });
    await client.command({
      query: `INSERT INTO lead_scores (site_id, lead_id, scored_at, kind, email, last_seen)
              VALUES ('acme', {old:String}, ${when(1)}, 'lead', 'old@acme.test', ${when(40)}), ('acme', {recent:String}, ${when(1)}, 'lead', 'new@acme.test', ${when(5)})`,
      query_params: { old: `l_old_${visitor}`, recent: `l_new_${visitor}` },
    });
    await client.command({
      query: `INSERT INTO alert_outbox (site_id, alert_id, destination_id, created_at, version)
              VALUES ('acme', {old:String}, 'crm', ${when(40)}, 1), ('acme', {recent:String}, 'crm', ${when(5)}, 1)`,
      query_params: { old: `al_old_${visitor}`, recent: `al_new_${visitor}` },
    });
    for (const table of ['identities', 'lead_scores', 'alert_outbox']) await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
    const left = async (query: string) => (await (await client.query({ query, query_params: { visitor }, format: 'JSONEachRow' })).json<Record<string, string>>()).map((row) => Object.values(row)[0]);
    expect(await left('SELECT email FROM identities WHERE visitor_id = {visitor:String}')).toEqual(['new@acme.test']);
    // DISTINCT: the collector's own full rescoring may meanwhile add a 'gone' row (the same email) for these leads, which have no events.
    expect(await left("SELECT DISTINCT email FROM lead_scores WHERE lead_id LIKE concat('%', {visitor:String})")).toEqual(['new@acme.test']);
    expect(await left("SELECT alert_id FROM alert_outbox WHERE alert_id LIKE concat('%', {visitor:String})")).toEqual([`al_new_${visitor}`]);
  });

  it('keeps a lead who gave their email before the retention but came back, on each of their browsers, and forgets the one who did not', async () => {
    const [back, otherDevice, gone] = [newVisitor(), newVisitor(), newVisitor()];
    // Emails given 29 days ago (rows past the retention already would go at the next merge): Ada on two browsers, Bob
    // on one.
    await client.command({
      query: `INSERT INTO identities (site_id, visitor_id, email, ts, event_id, is_bot)
              VALUES ('acme', {back:String}, 'ada@acme.test', now64(3, 'UTC') - INTERVAL 29 DAY, generateUUIDv4(), 0),
                     ('acme', {otherDevice:String}, 'ada@acme.test', now64(3, 'UTC') - INTERVAL 29 DAY - INTERVAL 1 HOUR, generateUUIDv4(), 0),
                     ('acme', {gone:String}, 'bob@acme.test', now64(3, 'UTC') - INTERVAL 29 DAY, generateUUIDv4(), 0)`,
      query_params: { back, otherDevice, gone },
    });
    // Ada comes back today on her first browser.
    const response = await fetch(`${server.url}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://acme.test', 'user-agent': BROWSER_USER_AGENT },
      body: JSON.stringify({ s: 'acme', v: back, e: [wireEvent({ u: 'https://acme.test/pricing' })] }),
    });
    expect(response.status).toBe(202);
    await server.scorer.settled();
    // A day later, as it were: a retention of 28 days.
    await applyRetention(client, 28);
    try {
      await client.command({ query: 'OPTIMIZE TABLE identities FINAL' });
      const result = await client.query({
        query: 'SELECT visitor_id, email FROM identities WHERE visitor_id IN {visitors:Array(String)} ORDER BY ts',
        query_params: { visitors: [back, otherDevice, gone] },
        format: 'JSONEachRow',
      });
      // Once each: the copy with its new time replaced the row.
      expect(await result.json()).toEqual([
        { visitor_id: otherDevice, email: 'ada@acme.test' },
        { visitor_id: back, email: 'ada@acme.test' },
      ]);
    } finally {
      await applyRetention(client, 30);
    }
    // As the lead list shows her: a lead, not an anonymous visitor.
    const leads = await fetch(`${server.url}/api/leads?site=acme&visitor=${back}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(((await leads.json()) as { leads: { kind: string; email: string }[] }).leads.map(({ kind, email }) => ({ kind, email }))).toEqual([{ kind: 'lead', email: 'ada@acme.test' }]);
  });

  it('keeps, when the retention is shortened, a lead whose identity was not kept current: a demo history, or a store kept without a retention', async () => {
    // Eve gave her email 25 days ago and came back yesterday; nothing brought her identity row's time forward (the
    // store had no retention then, or a demo wrote it). Fay gave hers 25 days ago and never came back.
    const [eve, fay] = [newVisitor(), newVisitor()];
    await client.command({
      query: `INSERT INTO identities (site_id, visitor_id, email, ts, event_id, is_bot)
              VALUES ('acme', {eve:String}, 'eve@acme.test', now64(3, 'UTC') - INTERVAL 25 DAY, generateUUIDv4(), 0),
                     ('acme', {fay:String}, 'fay@acme.test', now64(3, 'UTC') - INTERVAL 25 DAY, generateUUIDv4(), 0)`,
      query_params: { eve, fay },
    });
    await client.command({
      query: `INSERT INTO events (site_id, visitor_id, event_id, ts, received_at, type)
              VALUES ('acme', {eve:String}, generateUUIDv4(), now64(3, 'UTC') - INTERVAL 25 DAY, now64(3, 'UTC'), 'form'),
                     ('acme', {eve:String}, generateUUIDv4(), now64(3, 'UTC') - INTERVAL 1 DAY, now64(3, 'UTC'), 'pageview'),
                     ('acme', {fay:String}, generateUUIDv4(), now64(3, 'UTC') - INTERVAL 25 DAY, now64(3, 'UTC'), 'form')`,
      query_params: { eve, fay },
    });
    // 20 days from the next start on.
    await applyRetention(client, 20);
    try {
      await client.command({ query: 'OPTIMIZE TABLE identities FINAL' });
      const result = await client.query({ query: 'SELECT DISTINCT email FROM identities WHERE visitor_id IN {visitors:Array(String)}', query_params: { visitors: [eve, fay] }, format: 'JSONEachRow' });
      expect(await result.json()).toEqual([{ email: 'eve@acme.test' }]);
    } finally {
      await applyRetention(client, 30);
    }
  });

  it("forgets sales' notes on a lead the retention has forgotten, and keeps those of a lead still known or changed within it", async () => {
    const suffix = newVisitor();
    const [forgotten, known, recent] = [`l_forgotten_${suffix}`, `l_known_${suffix}`, `l_recent_${suffix}`];
    const noted = (lead: string, daysAgo: number) =>
      `('acme', '${lead}', 'bant', {'budget': 1}, {'budget': 'private mobile +33 6 99 88 77 66'}, 'sam', 0, '', 'sam', now64(3, 'UTC') - INTERVAL ${daysAgo} DAY)`;
    await client.command({
      query: `INSERT INTO lead_qualifications (site_id, lead_id, framework, boxes, notes, owner, disqualified, reason, changed_by, changed_at)
              VALUES ${noted(forgotten, 40)}, ${noted(known, 40)}, ${noted(recent, 2)}`,
    });
    // Only the second lead is known still: last seen 5 days ago. The third's scores are not stored yet (a lead sales
    // qualified as its first events came in).
    await client.command({ query: `INSERT INTO lead_scores (site_id, lead_id, scored_at, kind, email, last_seen) VALUES ('acme', '${known}', now64(3, 'UTC'), 'lead', 'known@acme.test', now64(3, 'UTC') - INTERVAL 5 DAY)` });
    // At the end of the next full rescoring (at start, then hourly).
    await server.scorer.rescoreAll('acme');
    const result = await client.query({ query: 'SELECT DISTINCT lead_id FROM lead_qualifications WHERE lead_id LIKE {like:String} ORDER BY lead_id', query_params: { like: `%${suffix}` }, format: 'JSONEachRow' });
    expect(await result.json()).toEqual([{ lead_id: known }, { lead_id: recent }]);
  });

  it('drops the events ClickHouse refused from wal/rejected.ndjson once they are older than the retention, as the collector starts', () => {
    const left = readFileSync(join(processDataDir(), 'wal', REJECTED_FILE), 'utf8');
    expect(left).not.toContain(refused.old.visitor);
    expect(left).toBe(`${refused.recent.line}\n`);
  });

  it('changes nothing when the TTL already matches, and removes it when the option is dropped', async () => {
    expect(await applyRetention(client, 30)).toEqual([]);
    expect(await applyRetention(client, undefined)).toEqual([
      'ALTER TABLE events REMOVE TTL',
      'ALTER TABLE identities REMOVE TTL',
      'ALTER TABLE lead_scores REMOVE TTL',
      'ALTER TABLE alert_outbox REMOVE TTL',
      'ALTER TABLE visit_days REMOVE TTL',
    ]);
    expect(await applyRetention(client, undefined)).toEqual([]);
    const old = await eventsFrom(400);
    await client.command({ query: 'OPTIMIZE TABLE events FINAL' });
    expect(await stored(old)).toBe(5);
  });

  it('keeps the events under the longest retention the config takes, and refuses a longer one that would delete them all', async () => {
    const sites = [{ id: 'acme', origins: ['https://acme.test'] }];
    const longest = parseConfig({ sites, storage: { retentionDays: 10_000 } }, 'h.json').storage!.retentionDays!;
    // 36,500 days from now is past 2106, where a TTL's time wraps round to the past: every row went at once.
    expect(() => parseConfig({ sites, storage: { retentionDays: longest + 1 } }, 'h.json')).toThrow(
      /h\.json: storage\.retentionDays: keep events at most 10000 days \(27 years: ClickHouse's TTL ends in 2106\), or leave retentionDays out/,
    );
    const [recent, old] = [await eventsFrom(0), await eventsFrom(400)];
    await applyRetention(client, longest);
    await client.command({ query: 'OPTIMIZE TABLE events FINAL' });
    expect({ recent: await stored(recent), old: await stored(old) }).toEqual({ recent: 5, old: 5 });
    await applyRetention(client, undefined);
  });
});
