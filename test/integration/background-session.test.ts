import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreSite } from '../../collector/api/scores.ts';
import { currentSnapshots } from '../../scoring/snapshots.ts';
import { siteSchema } from '../../collector/config/schema.ts';
import { generateHistory } from '../../collector/demo/history.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import { createBackgroundClient, createStoreClient } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import { processDataDir } from '../support/data-dir.ts';

// The scorer's session of the embedded engine (createBackgroundClient): its statements carry their values written in,
// so that they run beside the API's parameterised ones instead of before or after them.
let client: ClickHouseClient;
let background: ClickHouseClient;
beforeAll(async () => {
  client = createStoreClient({ dataDir: processDataDir() });
  await migrate(client);
  background = createBackgroundClient({ dataDir: processDataDir() }, client);
});
afterAll(async () => {
  await background.close();
  await client.close();
});

const rows = async (on: ClickHouseClient, query: string, query_params: Record<string, unknown>) =>
  (await on.query({ query, query_params, format: 'JSONEachRow' })).json<Record<string, unknown>>();

describe("the scorer's session of the embedded engine", () => {
  it('is a session of its own', () => {
    expect(background).not.toBe(client);
  });

  it('reads every value as the parameterised statement does, with the same types', async () => {
    const query = `SELECT {s:String} AS s, toTypeName(s) AS st, {ids:Array(String)} AS ids, toTypeName(ids) AS idt, {t:DateTime64(3, 'UTC')} AS t,
      toTypeName(t) AS tt, {f:Float64} AS f, toTypeName(f) AS ft, {n:UInt64} AS n, toTypeName(n) AS nt, {w:Array(Float64)} AS w, toTypeName(w) AS wt,
      'x' IN {ids:Array(String)} AS found`;
    const params = {
      s: "O'Brien \\ {s:String} 'line\nnext\ttab\0nul ünï €😀",
      ids: ['x', "a'b", 'c\\d', ''],
      t: '2026-11-26 10:00:00.123',
      f: 30,
      n: 18_446_744_073_709,
      w: [0.1, 2, 1e-7],
    };
    const bound = await rows(client, query, params);
    expect(await rows(background, query, params)).toEqual(bound);
    expect(bound[0]).toMatchObject({ s: params.s, st: 'String', ids: params.ids, idt: 'Array(String)', tt: "DateTime64(3, 'UTC')", ft: 'Float64', nt: 'UInt64', found: 1 });
  });

  it('scores a site as the parameterised queries do: in full, by slice, and for some visitors', async () => {
    const site = siteSchema.parse({ id: 'background-scoring', origins: ['http://127.0.0.1:8787'], pageGroups: { product: ['/demo/product/*'], pricing: ['/demo/pricing/*'], resources: ['/demo/resources/*'], webinar: ['/demo/webinar/*'], careers: ['/demo/careers/*'] } });
    const now = Date.parse('2026-11-26T12:00:00.000Z');
    await insertEvents(client, generateHistory({ site: site.id, origin: 'http://127.0.0.1:8787', visitors: 400, days: 60, seed: 7, now }));
    const options = { now: new Date(now) };
    const full = await scoreSite(client, site, undefined, options);
    expect(full.filter((lead) => lead.kind === 'lead').length).toBeGreaterThan(10);
    expect(await scoreSite(background, site, undefined, options)).toEqual(full);
    const slice = { index: 1, count: 3 };
    expect(await scoreSite(background, site, undefined, { ...options, slice })).toEqual(await scoreSite(client, site, undefined, { ...options, slice }));
    const visitors = full.filter((lead) => lead.kind === 'lead').slice(0, 20).flatMap((lead) => lead.visitor_ids);
    const some = await scoreSite(client, site, visitors, options);
    expect(some.length).toBeGreaterThanOrEqual(20);
    expect(await scoreSite(background, site, visitors, options)).toEqual(some);
    const only = { leadIds: some.map((lead) => lead.lead_id), visitors };
    expect(await currentSnapshots(background, site.id, only)).toEqual(await currentSnapshots(client, site.id, only));
  });

  it("lets the API's statements run while one of its own does", async () => {
    const finished: string[] = [];
    const long = background
      .command({ query: 'SELECT sleepEachRow({pause:Float64}) FROM numbers({rows:UInt64}) FORMAT Null', query_params: { pause: 0.5, rows: 4 } })
      .then(() => finished.push('scoring'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await rows(client, 'SELECT {asked:String} AS asked', { asked: 'a lead page' })).toEqual([{ asked: 'a lead page' }]);
    finished.push('api');
    await long;
    expect(finished).toEqual(['api', 'scoring']);
  });
});
