import { join } from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseClientConfigOptions } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreSite } from '../../collector/api/scores.ts';
import { siteSchema } from '../../collector/config/schema.ts';
import { generateHistory } from '../../collector/demo/history.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import { currentSnapshots } from '../../scoring/snapshots.ts';
import { processDataDir } from '../support/data-dir.ts';
import { turnsDuring } from '../support/turns.ts';

// The embedded store runs statements side by side on sessions of their own, each with its values written in; the
// reference is a plain client of the same engine whose values the engine binds, as every query ran before.
let client: ClickHouseClient;
let bound: ClickHouseClient;
beforeAll(async () => {
  client = createStoreClient({ dataDir: processDataDir() });
  await migrate(client);
  const connection = createChdbConnection({ path: join(processDataDir(), 'clickhouse') });
  bound = createClient({ connection: connection as unknown as ClickHouseClientConfigOptions['connection'], clickhouse_settings: { date_time_input_format: 'best_effort' } });
});
afterAll(async () => {
  await bound.close();
  await client.close();
});

const rows = async (on: ClickHouseClient, query: string, query_params: Record<string, unknown>) =>
  (await on.query({ query, query_params, format: 'JSONEachRow' })).json<Record<string, unknown>>();

describe('the embedded store', () => {
  it('reads every value as the engine binds it, with the same types', async () => {
    const query = `SELECT {s:String} AS s, toTypeName(s) AS st, {ids:Array(String)} AS ids, toTypeName(ids) AS idt, {t:DateTime64(3, 'UTC')} AS t,
      toTypeName(t) AS tt, {f:Float64} AS f, toTypeName(f) AS ft, {n:UInt64} AS n, toTypeName(n) AS nt, {w:Array(Float64)} AS w, toTypeName(w) AS wt,
      {u:Array(UUID)} AS u, toTypeName(u) AS ut, {m:Map(String, Int64)} AS m, toTypeName(m) AS mt, {i:Int64} AS i, toTypeName(i) AS it, {e:Map(String, Int64)} AS e,
      'x' IN {ids:Array(String)} AS found -- a comment's apostrophe, and {s:String} as text: ' {n:UInt64}
      , '{ids:Array(String)}' AS text`;
    const params = {
      s: "O'Brien \\ {s:String} 'line\nnext\ttab\0nul ünï €😀",
      ids: ['x', "a'b", 'c\\d', ''],
      t: '2026-11-26 10:00:00.123',
      f: 30,
      n: 18_446_744_073_709,
      w: [0.1, 2, 1e-7],
      u: ['0b6e1a3c-3f5e-4c1a-9d7e-2f4b5a6c7d8e'],
      m: { 'visitor-a': 1_764_000_000_000, "it's": -5 },
      i: -42,
      e: {},
    };
    const expected = await rows(bound, query, params);
    expect(await rows(client, query, params)).toEqual(expected);
    expect(expected[0]).toMatchObject({ s: params.s, st: 'String', ids: params.ids, idt: 'Array(String)', tt: "DateTime64(3, 'UTC')", ft: 'Float64', nt: 'UInt64', ut: 'Array(UUID)', mt: 'Map(String, Int64)', found: 1, text: '{ids:Array(String)}' });
  });

  it('scores a site as the bound queries do: in full, by slice, and for some visitors', async () => {
    const site = siteSchema.parse({ id: 'sessions-scoring', origins: ['http://127.0.0.1:8787'], pageGroups: { product: ['/demo/product/*'], pricing: ['/demo/pricing/*'], resources: ['/demo/resources/*'], webinar: ['/demo/webinar/*'], careers: ['/demo/careers/*'] } });
    const now = Date.parse('2026-11-26T12:00:00.000Z');
    await insertEvents(client, generateHistory({ site: site.id, origin: 'http://127.0.0.1:8787', visitors: 400, days: 60, seed: 7, now }));
    const options = { now: new Date(now) };
    const full = await scoreSite(bound, site, undefined, options);
    expect(full.filter((lead) => lead.kind === 'lead').length).toBeGreaterThan(10);
    expect(await scoreSite(client, site, undefined, options)).toEqual(full);
    const slice = { index: 1, count: 3 };
    expect(await scoreSite(client, site, undefined, { ...options, slice })).toEqual(await scoreSite(bound, site, undefined, { ...options, slice }));
    const visitors = full.filter((lead) => lead.kind === 'lead').slice(0, 20).flatMap((lead) => lead.visitor_ids);
    const some = await scoreSite(bound, site, visitors, options);
    expect(some.length).toBeGreaterThanOrEqual(20);
    expect(await scoreSite(client, site, visitors, options)).toEqual(some);
    const only = { leadIds: some.map((lead) => lead.lead_id), visitors };
    expect(await currentSnapshots(client, site.id, only)).toEqual(await currentSnapshots(bound, site.id, only));
  });

  it('answers a query while another one runs (a lead page during a rescoring)', async () => {
    const finished: string[] = [];
    const long = client
      .command({ query: 'SELECT sleepEachRow({pause:Float64}) FROM numbers({rows:UInt64}) FORMAT Null', query_params: { pause: 0.5, rows: 4 } })
      .then(() => finished.push('rescoring'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await rows(client, 'SELECT {asked:String} AS asked', { asked: 'a lead page' })).toEqual([{ asked: 'a lead page' }]);
    finished.push('lead page');
    await long;
    expect(finished).toEqual(['lead page', 'rescoring']);
  });

  it('answers a caller that gave up at once, and sends the next query to another session than the statement still running', async () => {
    // The engine cannot stop a statement: it runs its 2 s whatever the caller does (the collector gives a retried
    // batch's lookup 250 ms).
    const startedAt = performance.now();
    const givenUp = client.query({ query: 'SELECT sleepEachRow(0.5) FROM numbers(4)', format: 'JSONEachRow', abort_signal: AbortSignal.timeout(100) });
    await expect(givenUp).rejects.toThrow();
    expect(performance.now() - startedAt).toBeLessThan(1000);
    const asked = performance.now();
    expect(await rows(client, 'SELECT {asked:String} AS asked', { asked: 'next' })).toEqual([{ asked: 'next' }]);
    // Sent to the given-up statement's session, it waited for the rest of its 2 s.
    expect(performance.now() - asked).toBeLessThan(1000);
  });

  it('hands a large answer on a piece at a time, the event loop turning between pieces', async () => {
    // ~4.6 MB of JSON, which the engine gives as one buffer: split into rows at once, it held the event loop for
    // 0.1–0.2 s at a full rescoring's size, and beacons waited.
    const result = await client.query({ query: `SELECT toUInt32(number) AS number, repeat('x', 200) AS pad FROM numbers(20000)`, format: 'JSONEachRow' });
    const { result: text, turns } = await turnsDuring(() => result.text());
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(20000);
    expect(JSON.parse(lines.at(-1)!)).toEqual({ number: 19999, pad: 'x'.repeat(200) });
    expect(turns).toBeGreaterThanOrEqual(15);
  });
});
