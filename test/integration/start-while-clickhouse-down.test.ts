import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';
import { BROWSER_USER_AGENT, newVisitor, wireEvent } from '../support/server.ts';

// A collector (re)started while its ClickHouse server is down: as in production, when both restart after a power cut
// and the collector comes up first, or during an outage.
const ORIGIN = 'https://www.acme.test';
const USER = 'hearth';
const PASSWORD = 'start while down';
const configFile = join(mkdtempSync(join(tmpdir(), 'hearth-config-')), 'hearth.config.json');
writeFileSync(configFile, JSON.stringify({ sites: [{ id: 'acme', origins: [ORIGIN] }] }));

/** A port nothing listens on, for ClickHouse to come up on later. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function post(hearth: HearthProcess, visitor: string, events: Record<string, unknown>[]) {
  const response = await fetch(`${hearth.url}/collect`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': BROWSER_USER_AGENT },
    body: JSON.stringify({ s: 'acme', v: visitor, e: events }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function get(hearth: HearthProcess, path: string) {
  const response = await fetch(`${hearth.url}${path}`, { headers: { authorization: `Bearer ${hearth.token}` }, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
}

/** A server that takes connections and never answers, as a hung ClickHouse or a network that drops packets does. */
async function blackhole(port: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  // Ended as a hung process killed ends: its connections with it.
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

const secondsSince = (start: number) => (Date.now() - start) / 1000;

describe('hearth start while ClickHouse is down', () => {
  it('starts, keeps what it accepts across a restart, and prepares the store once ClickHouse answers', { timeout: 120_000 }, async () => {
    const port = await closedPort();
    const env = { CLICKHOUSE_URL: `http://127.0.0.1:${port}`, CLICKHOUSE_USER: USER, CLICKHOUSE_PASSWORD: PASSWORD, HEARTH_DATA_DIR: freshDataDir() };
    let hearth = await startHearthProcess(['--config', configFile], env);
    let clickhouse: ClickHouseHttpProcess | undefined;
    const client = createStoreClient({ dataDir: freshDataDir(), url: `http://127.0.0.1:${port}`, username: USER, password: PASSWORD });
    try {
      // The operator sees why, where the start prints its URL.
      expect(hearth.output()).toContain(`not ready   ClickHouse at http://127.0.0.1:${port}, database default is unreachable or failing (connect ECONNREFUSED 127.0.0.1:${port})`);
      const ready = await get(hearth, '/readyz');
      expect(ready).toMatchObject({ status: 200, body: { status: 'degraded', error: 'ClickHouse is unreachable; events are kept in the write-ahead log' } });

      const person = newVisitor();
      const email = `ada.${person}@acme.test`;
      const acknowledged: string[] = [];
      const form = wireEvent({ n: 'f', u: `${ORIGIN}/contact`, k: 'contact', p: { email, job_title: 'CEO' } });
      expect(await post(hearth, person, [form])).toBe(202);
      acknowledged.push(String(form.i));

      // Nothing to read yet: a clear 503, not a 500 or a wait.
      const leads = await get(hearth, '/api/leads?site=acme');
      expect(leads).toMatchObject({ status: 503, retryAfter: '5', body: { code: 'store_unavailable', error: expect.stringContaining('the data is not available yet') } });
      // A path that is no route is still a 404.
      expect((await get(hearth, '/api/nothing-here')).status).toBe(404);

      // A restart during the outage: SIGTERM ends it at once (nothing can drain), and the log keeps what it took.
      const stoppingAt = Date.now();
      expect(await hearth.stop()).toBe(0);
      expect(Date.now() - stoppingAt).toBeLessThan(5_000);
      hearth = await startHearthProcess(['--config', configFile], env);
      const later = [wireEvent({ u: `${ORIGIN}/pricing` }), wireEvent({ u: `${ORIGIN}/product` })];
      expect(await post(hearth, person, later)).toBe(202);
      acknowledged.push(...later.map((event) => String(event.i)));

      clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir(), port, username: USER, password: PASSWORD });
      // Migrated, drained, rescored: the API reads the lead, and /readyz says ready.
      await expect.poll(async () => (await get(hearth, '/readyz')).body.status, { timeout: 60_000, interval: 500 }).toBe('ready');
      await expect
        .poll(async () => (await get(hearth, '/api/leads?site=acme')).body.leads?.map((lead: { email: string; kind: string }) => `${lead.kind} ${lead.email}`), { timeout: 30_000, interval: 500 })
        .toEqual([`lead ${email}`]);
      const result = await client.query({ query: 'SELECT toString(event_id) AS id, toUInt8(count()) AS copies FROM events FINAL GROUP BY id ORDER BY id', format: 'JSONEachRow' });
      expect(await result.json()).toEqual(acknowledged.sort().map((id) => ({ id, copies: 1 })));
      const { body: lead } = await get(hearth, `/api/leads?site=acme`);
      const page = await get(hearth, `/api/leads/${lead.leads[0].id}?site=acme`);
      expect(page.status).toBe(200);
      expect(page.body.recentEvents).toHaveLength(3);
      expect(page.body.profile).toMatchObject({ job_title: 'CEO' });

      // Down again, once prepared: the API says so in a 503 as well.
      await clickhouse.kill('SIGKILL');
      clickhouse = undefined;
      expect(await get(hearth, '/api/leads?site=acme')).toMatchObject({ status: 503, retryAfter: '5', body: { code: 'store_unavailable', error: expect.stringContaining('the database cannot be reached or is failing') } });
    } finally {
      await client.close();
      await hearth.stop();
      await clickhouse?.stop();
    }
  });

  it('listens within seconds when ClickHouse takes connections and never answers, or fails for a while, or another collector holds the migration lock', { timeout: 150_000 }, async () => {
    const port = await closedPort();
    const env = { CLICKHOUSE_URL: `http://127.0.0.1:${port}`, CLICKHOUSE_USER: USER, CLICKHOUSE_PASSWORD: PASSWORD, HEARTH_DATA_DIR: freshDataDir() };
    const readiness = async (hearth: HearthProcess) => (await get(hearth, '/readyz')).body.status;

    // Hung: the migrations' client would wait hours for an answer; the ping before them gives up after 3 s.
    const hung = await blackhole(port);
    let startedAt = Date.now();
    let hearth = await startHearthProcess(['--config', configFile], env);
    let clickhouse: ClickHouseHttpProcess | undefined;
    try {
      expect(secondsSince(startedAt)).toBeLessThan(15);
      expect(hearth.output()).toContain(`not ready   ClickHouse at http://127.0.0.1:${port}, database default is unreachable or failing (no answer to a ping within 3 s)`);
      expect(await post(hearth, newVisitor(), [wireEvent({ u: `${ORIGIN}/pricing` })])).toBe(202);
      await hung.close();
      clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir(), port, username: USER, password: PASSWORD });
      await expect.poll(() => readiness(hearth), { timeout: 60_000, interval: 500 }).toBe('ready');
      expect(await hearth.stop()).toBe(0);

      // Failing for a while (its Keeper lost: ClickHouse's KEEPER_EXCEPTION): not a reason to refuse events.
      await clickhouse.setFault('error500');
      startedAt = Date.now();
      hearth = await startHearthProcess(['--config', configFile], env);
      expect(secondsSince(startedAt)).toBeLessThan(15);
      expect(hearth.output()).toContain('is unreachable or failing (Connection loss, path /clickhouse/tables/events (injected fault)');
      expect(await post(hearth, newVisitor(), [wireEvent({ u: `${ORIGIN}/pricing` })])).toBe(202);
      await clickhouse.setFault('ok');
      await expect.poll(() => readiness(hearth), { timeout: 60_000, interval: 500 }).toBe('ready');
      // The same failure while it runs: a 503 to come back, not a 500.
      await clickhouse.setFault('error500');
      expect(await get(hearth, '/api/leads?site=acme')).toMatchObject({ status: 503, retryAfter: '5', body: { code: 'store_unavailable' } });
      await clickhouse.setFault('ok');
      expect(await hearth.stop()).toBe(0);

      // The migration lock of a collector killed while migrating: the start listens, and waits for the lock behind.
      const admin = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url, username: USER, password: PASSWORD });
      try {
        await admin.command({ query: `CREATE TABLE hearth_migration_lock (holder String, at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY at COMMENT 'ghost pid 1'` });
        startedAt = Date.now();
        hearth = await startHearthProcess(['--config', configFile], env);
        expect(secondsSince(startedAt)).toBeLessThan(15);
        expect(hearth.output()).toContain('not ready   waiting for ghost pid 1, which is migrating the store');
        expect(await post(hearth, newVisitor(), [wireEvent({ u: `${ORIGIN}/pricing` })])).toBe(202);
        expect(await readiness(hearth)).toBe('degraded');
        // Its operator clears it (or a minute passes): the waiting start goes on.
        await admin.command({ query: 'DROP TABLE hearth_migration_lock SYNC' });
        await expect.poll(() => readiness(hearth), { timeout: 30_000, interval: 500 }).toBe('ready');
      } finally {
        await admin.close();
      }
    } finally {
      await hung.close();
      await hearth.stop();
      await clickhouse?.stop();
    }
  });
});
