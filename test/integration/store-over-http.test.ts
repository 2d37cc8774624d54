import { gzipSync } from 'node:zlib';
import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchToRows, type EventRow } from '../../collector/ingest/rows.ts';
import { clickHouseSink } from '../../collector/ingest/sink.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate, readMigrations } from '../../collector/store/migrate.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { newVisitor, wireEvent } from '../support/server.ts';
import { expectRetriedBatchCollapses } from '../support/store-checks.ts';

// The store over HTTP, against chDB behind ClickHouse's HTTP interface in a child process (this process opens no
// chDB), with the client configured as with CLICKHOUSE_URL: credentials, gzip both ways, keep-alive.
const USER = 'hearth';
const PASSWORD = 'correct horse';
const clickHouseDir = freshDataDir();

let clickhouse: ClickHouseHttpProcess;
let client: ClickHouseClient;
beforeAll(async () => {
  clickhouse = await spawnClickHouseHttp({ dataDir: clickHouseDir, username: USER, password: PASSWORD });
  client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url, username: USER, password: PASSWORD });
  await migrate(client);
});
afterAll(async () => {
  await client?.close();
  await clickhouse?.stop();
});

const count = async (query: string, params: Record<string, unknown> = {}) => {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]!.n);
};
const storedEventIds = async (visitor: string) => {
  const result = await client.query({
    query: 'SELECT event_id FROM events FINAL WHERE visitor_id = {visitor:String}',
    query_params: { visitor },
    format: 'JSONEachRow',
  });
  return (await result.json<{ event_id: string }>()).map((row) => row.event_id).sort();
};
const batch = (visitor: string, size = 3): EventRow[] =>
  batchToRows({ s: 'acme', v: visitor, e: Array.from({ length: size }, () => wireEvent()) as any }, Date.now());
const idsOf = (rows: EventRow[]) => rows.map((row) => row.event_id).sort();

describe('store over ClickHouse HTTP', () => {
  it('applies each migration once and records it', async () => {
    expect(await migrate(client)).toEqual([]);
    expect(await count('SELECT count() AS n FROM hearth_migrations')).toBe(readMigrations().length);
  });

  it('collapses a batch written twice (a retry) to one copy of each event', async () => {
    await expectRetriedBatchCollapses(client);
  });

  it('binds parameters literally: quotes, backslashes, tabs, newlines, unicode, SQL', async () => {
    const tricky = [
      "it's", 'say "hi"', 'C:\\new\\table', '\\N', 'tab\there', 'line\nbreak\r\n', 'café — 日本語 🔥', "'; DROP TABLE events; --", '{visitor:String}', '',
    ];
    const echoed = await client.query({
      query: 'SELECT {text:String} AS text, {list:Array(String)} AS list',
      query_params: { text: tricky.join('|'), list: tricky },
      format: 'JSONEachRow',
    });
    expect(await echoed.json()).toEqual([{ text: tricky.join('|'), list: tricky }]);

    const visitor = newVisitor();
    const rows = batchToRows({ s: 'acme', v: visitor, e: tricky.map((title) => wireEvent({ ti: title, p: { note: title } })) as any }, Date.now());
    await clickHouseSink(client).write(rows);
    for (const title of tricky) {
      const found = await client.query({
        query: 'SELECT title, props FROM events FINAL WHERE visitor_id = {visitor:String} AND title = {title:String}',
        query_params: { visitor, title },
        format: 'JSONEachRow',
      });
      expect(await found.json()).toEqual([{ title, props: { note: title } }]);
    }
  });

  it('answers with the query id and the rows written', async () => {
    const rows = batch(newVisitor(), 4);
    const inserted = await client.insert({ table: 'events', values: rows, format: 'JSONEachRow', query_id: 'insert-probe-1' });
    expect(inserted.response_headers['x-clickhouse-query-id']).toBe('insert-probe-1');
    // The 4 events and their visit's row in the dashboards' rollup: a server counts what its materialized views write.
    expect(inserted.summary?.written_rows).toBe('5');
  });

  it('reads gzip request bodies and compresses answers when asked', async () => {
    const response = await fetch(`${clickhouse.url}/?enable_http_compression=1&default_format=JSONEachRow`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`, 'content-encoding': 'gzip', 'accept-encoding': 'gzip' },
      body: gzipSync('SELECT 40 + 2 AS answer'),
    });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    // fetch gunzips a body labelled gzip, and fails on one that is not.
    expect(JSON.parse(await response.text())).toEqual({ answer: 42 });
  });

  it('surfaces a bad query as a ClickHouseError with ClickHouse’s code', async () => {
    const failure = client.query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' });
    await expect(failure).rejects.toBeInstanceOf(ClickHouseError);
    await expect(failure).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });

  it('refuses a wrong password with AUTHENTICATION_FAILED', async () => {
    const intruder = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url, username: USER, password: 'wrong' });
    try {
      await expect(intruder.query({ query: 'SELECT 1', format: 'JSONEachRow' })).rejects.toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' });
    } finally {
      await intruder.close();
    }
  });

  it('fails while ClickHouse is down, slow or erroring, and loses nothing it accepted', async () => {
    const sink = clickHouseSink(client);
    const visitor = newVisitor();
    const beforeOutage = batch(visitor);
    const duringOutage = batch(visitor);
    const whileSlow = batch(visitor);
    await sink.write(beforeOutage);
    try {
      await clickhouse.setFault('down');
      expect((await client.ping()).success).toBe(false);
      await expect(sink.write(duringOutage)).rejects.toThrow();

      await clickhouse.setFault('error500');
      await expect(sink.write(duringOutage)).rejects.toMatchObject({ code: '999', type: 'KEEPER_EXCEPTION' });

      await clickhouse.setFault('slow', 400);
      const started = Date.now();
      await sink.write(whileSlow);
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    } finally {
      await clickhouse.setFault('ok');
    }
    expect((await client.ping()).success).toBe(true);
    expect(await storedEventIds(visitor)).toEqual(idsOf([...beforeOutage, ...whileSlow]));
    await sink.write(duringOutage);
    expect(await storedEventIds(visitor)).toEqual(idsOf([...beforeOutage, ...duringOutage, ...whileSlow]));
  });

  it('comes back from a crash (kill -9) with every row it acknowledged', async () => {
    const visitor = newVisitor();
    const acknowledged = batch(visitor);
    await clickHouseSink(client).write(acknowledged);
    await clickhouse.kill('SIGKILL');
    expect((await client.ping()).success).toBe(false);
    clickhouse = await spawnClickHouseHttp({ dataDir: clickHouseDir, port: Number(new URL(clickhouse.url).port), username: USER, password: PASSWORD });
    expect((await client.ping()).success).toBe(true);
    expect(await storedEventIds(visitor)).toEqual(idsOf(acknowledged));
    expect(await migrate(client)).toEqual([]);
  });
});
