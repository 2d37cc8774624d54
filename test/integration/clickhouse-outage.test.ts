import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';
import { newVisitor, wireEvent } from '../support/server.ts';

// A collector in its own process over HTTP to a ClickHouse test server in another, as in production with
// CLICKHOUSE_URL; the test breaks ClickHouse under load and counts, in ClickHouse, every event that got a 202.
const ORIGIN = 'https://www.acme.test';
const USER = 'hearth';
const PASSWORD = 'outage test';
const configFile = join(mkdtempSync(join(tmpdir(), 'hearth-config-')), 'hearth.config.json');
// One address sends all the load: the per-address limit is lifted so every batch is either stored or refused for cause.
writeFileSync(configFile, JSON.stringify({ sites: [{ id: 'acme', origins: [ORIGIN] }], limits: { requestsPerMinutePerIp: 1_000_000, requestsPerMinutePerSite: 1_000_000 } }));

const SENDERS = 4;
const EVENTS_PER_BATCH = 20;
// A pause between a sender's batches keeps the volume (and the catch-up after a minute of outage) a few tens of
// thousands of events: enough to prove the point, small enough for a bounded test.
const PAUSE_MS = 100;

interface Setup {
  clickhouse: ClickHouseHttpProcess;
  clickhouseDir: string;
  hearth: HearthProcess;
}

async function startBoth(): Promise<Setup> {
  const clickhouseDir = freshDataDir();
  const clickhouse = await spawnClickHouseHttp({ dataDir: clickhouseDir, username: USER, password: PASSWORD });
  const hearth = await startHearthProcess(['--config', configFile], { CLICKHOUSE_URL: clickhouse.url, CLICKHOUSE_USER: USER, CLICKHOUSE_PASSWORD: PASSWORD });
  return { clickhouse, clickhouseDir, hearth };
}

/** Senders posting batches until stopped; every event id answered with 202 is kept. */
function startLoad(url: string) {
  const acknowledged: string[] = [];
  const refused = new Map<number, number>();
  let stopping = false;
  const sender = async () => {
    const visitor = newVisitor();
    while (!stopping) {
      const events = Array.from({ length: EVENTS_PER_BATCH }, () => wireEvent({ u: `${ORIGIN}/pricing` }));
      const response = await fetch(`${url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: ORIGIN },
        body: JSON.stringify({ s: 'acme', v: visitor, e: events }),
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      if (response.status === 202) acknowledged.push(...events.map((event) => String(event.i)));
      else refused.set(response.status, (refused.get(response.status) ?? 0) + 1);
      await sleep(PAUSE_MS);
    }
  };
  const senders = Promise.all(Array.from({ length: SENDERS }, sender));
  return {
    acknowledged,
    refused,
    async stop() {
      stopping = true;
      await senders;
    },
  };
}

const readiness = async (url: string) => {
  const response = await fetch(`${url}/readyz`, { headers: { authorization: 'Bearer e2e-admin-token' }, signal: AbortSignal.timeout(10_000) });
  return { code: response.status, ...((await response.json()) as { status: string; pendingRows?: number }) };
};

/** Waits until ClickHouse holds as many distinct events as were acknowledged (the log has drained), then checks each one. */
async function expectEachAcknowledgedEventOnce(client: ClickHouseClient, acknowledged: string[]): Promise<void> {
  const distinct = async () => {
    const result = await client.query({ query: 'SELECT uniqExact(event_id) AS n FROM events', format: 'JSONEachRow' });
    return Number((await result.json<{ n: string }>())[0]!.n);
  };
  await expect.poll(distinct, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(acknowledged.length);
  const copiesOf = async (final: 'FINAL' | '') => {
    const result = await client.query({ query: `SELECT toString(event_id) AS id, count() AS copies FROM events ${final} GROUP BY event_id`, format: 'JSONEachRow' });
    return new Map((await result.json<{ id: string; copies: string }>()).map((row) => [row.id, Number(row.copies)]));
  };
  // Without FINAL a batch replayed after a lost answer may still show twice until ClickHouse merges; FINAL, as every
  // reader uses it, must show each event exactly once.
  const stored = await copiesOf('');
  expect(acknowledged.filter((id) => !stored.has(id)).length, 'acknowledged events missing from ClickHouse').toBe(0);
  const result = await client.query({ query: 'SELECT toString(event_id) AS id, count() AS copies FROM events FINAL GROUP BY event_id HAVING copies > 1', format: 'JSONEachRow' });
  expect(await result.json(), 'events stored more than once, even with FINAL').toEqual([]);
  const once = await copiesOf('FINAL');
  expect(acknowledged.filter((id) => once.get(id) !== 1).length).toBe(0);
}

describe('ClickHouse outages under load', () => {
  it('keeps accepting for a minute of ClickHouse down, reports degraded, then stores every acknowledged event once', { timeout: 110_000 }, async () => {
    const setup = await startBoth();
    let { clickhouse } = setup;
    const port = Number(new URL(clickhouse.url).port);
    const client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url, username: USER, password: PASSWORD });
    const load = startLoad(setup.hearth.url);
    try {
      await sleep(2_000);
      expect((await readiness(setup.hearth.url)).status).toBe('ready');
      const beforeOutage = load.acknowledged.length;

      await clickhouse.kill('SIGKILL');
      const downSince = Date.now();
      const statuses: string[] = [];
      while (Date.now() - downSince < 60_000) {
        const { code, status } = await readiness(setup.hearth.url);
        statuses.push(`${code} ${status}`);
        await sleep(2_000);
      }
      expect(new Set(statuses)).toEqual(new Set(['200 degraded']));
      const duringOutage = load.acknowledged.length - beforeOutage;
      expect(duringOutage).toBeGreaterThan(0);
      const backlog = (await readiness(setup.hearth.url)).pendingRows;

      clickhouse = await spawnClickHouseHttp({ dataDir: setup.clickhouseDir, port, username: USER, password: PASSWORD });
      await sleep(2_000);
      await load.stop();
      expect(Object.fromEntries(load.refused)).toEqual({});
      await expectEachAcknowledgedEventOnce(client, load.acknowledged);
      await expect.poll(async () => (await readiness(setup.hearth.url)).status, { timeout: 10_000 }).toBe('ready');
      console.log(`outage test: ${load.acknowledged.length} events acknowledged, ${duringOutage} while ClickHouse was down for 60 s (${backlog} waiting in the log), all stored once`);
    } finally {
      await load.stop();
      await client.close();
      await setup.hearth.stop();
      await clickhouse.stop();
    }
  });

  it('keeps accepting while ClickHouse is slow, then erroring, and stores every acknowledged event once', { timeout: 60_000 }, async () => {
    const { clickhouse, hearth } = await startBoth();
    const client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url, username: USER, password: PASSWORD });
    const load = startLoad(hearth.url);
    try {
      await sleep(1_000);
      const acknowledgedBy = (since: number) => load.acknowledged.length - since;

      await clickhouse.setFault('slow', 1_500);
      let mark = load.acknowledged.length;
      await sleep(5_000);
      // The log stands between /collect and ClickHouse: slow inserts do not slow the 202s.
      expect(acknowledgedBy(mark)).toBeGreaterThan(SENDERS * EVENTS_PER_BATCH * 10);

      await clickhouse.setFault('error500');
      mark = load.acknowledged.length;
      await expect.poll(async () => (await readiness(hearth.url)).status, { timeout: 10_000, interval: 250 }).toBe('degraded');
      await sleep(3_000);
      expect(acknowledgedBy(mark)).toBeGreaterThan(SENDERS * EVENTS_PER_BATCH * 10);

      await clickhouse.setFault('ok');
      await sleep(1_000);
      await load.stop();
      expect(Object.fromEntries(load.refused)).toEqual({});
      await expectEachAcknowledgedEventOnce(client, load.acknowledged);
      await expect.poll(async () => (await readiness(hearth.url)).status, { timeout: 10_000 }).toBe('ready');
    } finally {
      await load.stop();
      await client.close();
      await hearth.stop();
      await clickhouse.stop();
    }
  });
});
