import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient, describeStore, storeOptionsFromEnv } from '../../collector/store/client.ts';
import { clusterTarget, prepareStore, withStorageConfig } from '../../collector/store/prepare.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';

// CLICKHOUSE_URL as operators write it, with the user, the password and the database in the URL itself
// (`https://user:password@host:8443/database`, which @clickhouse/client reads): Hearth must use the database the
// client talks to everywhere it names one, and never show the password.
const USER = 'hearth';
const PASSWORD = 'p@ss:w/rd é%';
const DATABASE = 'hearth_prod';

let clickhouse: ClickHouseHttpProcess;
let admin: ClickHouseClient;
beforeAll(async () => {
  clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir(), username: USER, password: PASSWORD });
  admin = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url, username: USER, password: PASSWORD });
  await admin.command({ query: `CREATE DATABASE IF NOT EXISTS ${DATABASE}` });
});
afterAll(async () => {
  await admin?.close();
  await clickhouse?.stop();
});

/** CLICKHOUSE_URL with the credentials and the database in it, URL-encoded as a URL requires. */
const urlWith = (path: string) => {
  const url = new URL(clickhouse.url);
  return `${url.protocol}//${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}@${url.host}${path}`;
};
const tablesIn = async (database: string) => {
  const result = await admin.query({
    query: 'SELECT name FROM system.tables WHERE database = {database:String} ORDER BY name',
    query_params: { database },
    format: 'JSONEachRow',
  });
  return (await result.json<{ name: string }>()).map((row) => row.name);
};

describe('CLICKHOUSE_URL with the user, password and database in it', () => {
  it('migrates into the database the URL names, also with a trailing slash, and says so without the password', async () => {
    const store = storeOptionsFromEnv({ HEARTH_DATA_DIR: freshDataDir(), CLICKHOUSE_URL: urlWith(`/${DATABASE}/`) });
    const client = createStoreClient(store);
    try {
      await prepareStore(client, store, undefined);
    } finally {
      await client.close();
    }
    expect(await tablesIn(DATABASE)).toContain('events');
    expect(await tablesIn('default')).not.toContain('events');
    expect(describeStore(store)).toBe(`ClickHouse at ${clickhouse.url}, database ${DATABASE}`);
    expect(JSON.stringify(store)).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('points a cluster’s Distributed tables at that database', () => {
    const store = withStorageConfig(storeOptionsFromEnv({ CLICKHOUSE_URL: urlWith(`/${DATABASE}`), CLICKHOUSE_CLUSTER: 'hearth' }), undefined);
    expect(clusterTarget(store)).toEqual({ cluster: 'hearth', database: DATABASE });
    expect(describeStore(store)).toBe(`ClickHouse at ${clickhouse.url}, database ${DATABASE}, cluster hearth`);
  });

  it('runs a cluster’s queries with IN and JOIN subqueries over Distributed tables made GLOBAL, and inserts synchronously', async () => {
    const settingsOf = async (store: ReturnType<typeof storeOptionsFromEnv>) => {
      const client = createStoreClient(store);
      try {
        const result = await client.query({ query: "SELECT getSetting('distributed_product_mode') AS mode, getSetting('insert_distributed_sync') AS sync", format: 'JSONEachRow' });
        return (await result.json<{ mode: string; sync: boolean | number }>())[0];
      } finally {
        await client.close();
      }
    };
    const url = urlWith(`/${DATABASE}`);
    const cluster = await settingsOf(withStorageConfig(storeOptionsFromEnv({ CLICKHOUSE_URL: url, CLICKHOUSE_CLUSTER: 'hearth' }), undefined));
    expect([cluster?.mode, Number(cluster?.sync)]).toEqual(['global', 1]);
    // A single server keeps ClickHouse's default, which has nothing to rewrite there.
    expect(await settingsOf(storeOptionsFromEnv({ CLICKHOUSE_URL: url }))).toMatchObject({ mode: 'deny' });
  });
});

describe('CLICKHOUSE_URL written wrong', () => {
  it('says that a server answering plain HTTP is no https:// one, rather than a stack of OpenSSL', async () => {
    const { runHearth } = await import('../support/hearth-process.ts');
    const https = urlWith(`/${DATABASE}`).replace(/^http:/, 'https:');
    for (const command of ['migrate', 'score']) {
      const { code, stderr } = await runHearth([command, '--config', 'test/fixtures/hearth.demo.json'], { HEARTH_DATA_DIR: freshDataDir(), CLICKHOUSE_URL: https, LOG_LEVEL: 'warn' });
      expect(code).toBe(1);
      expect(stderr).toMatch(/^hearth: cannot (migrate|use) ClickHouse at https:\/\/127\.0\.0\.1:\d+, database hearth_prod: the server does not answer TLS at this address \(OpenSSL: wrong version number\); use http:\/\//);
      expect(stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('says that the server there is no ClickHouse (another service on the port, a proxy\'s error page), rather than a stack', async () => {
    const { runHearth } = await import('../support/hearth-process.ts');
    const { createServer } = await import('node:http');
    const answers = {
      // Nothing at all, as many services answer a path they do not know.
      '404 empty': (response: import('node:http').ServerResponse) => response.writeHead(404, { 'content-length': 0 }).end(),
      '200 html': (response: import('node:http').ServerResponse) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Welcome</body></html>'),
      '502 html': (response: import('node:http').ServerResponse) => response.writeHead(502, { 'content-type': 'text/html' }).end('<html><h1>502 Bad Gateway</h1></html>'),
    };
    for (const [name, answer] of Object.entries(answers)) {
      const server = createServer((request, response) => request.resume().on('end', () => answer(response)));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
      try {
        for (const args of [['migrate'], ['score', '--config', 'test/fixtures/hearth.demo.json']]) {
          const { code, stderr } = await runHearth(args, { HEARTH_DATA_DIR: freshDataDir(), CLICKHOUSE_URL: url, LOG_LEVEL: 'warn' });
          expect([name, args[0], code]).toEqual([name, args[0], 1]);
          expect(stderr, `${name}, ${args[0]}`).toMatch(/^hearth: cannot (migrate|use|rescore the leads in) ClickHouse at http:\/\/127\.0\.0\.1:\d+(, database default)?: the server there does not answer as ClickHouse does \(GET \/ping: HTTP (404|200|502), .*where ClickHouse says "Ok\."\); CLICKHOUSE_URL must be the address of ClickHouse's HTTP interface/);
          expect(stderr).not.toMatch(/^\s+at /m);
        }
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});
