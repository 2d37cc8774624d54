import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStoreClient } from '../../collector/store/client.ts';
import { holdAlertSending, type SenderLease } from '../../collector/store/sender-lease.ts';
import { startHttpReceiver, type HttpReceiver } from '../support/alerts.ts';
import { spawnClickHouseHttp, type ClickHouseHttpProcess } from '../support/clickhouse-http-process.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { startHearthProcess, type HearthProcess } from '../support/hearth-process.ts';
import { BROWSER_USER_AGENT, newVisitor } from '../support/server.ts';

// Several collectors of one ClickHouse server record the alerts they raise into one outbox. Each sent what was due,
// so a send in flight on one (a slow receiver) went out again from another, unless all but one were started with
// HEARTH_SEND_ALERTS=false, and then alerts waited while that one was down. One collector sends, whichever holds the
// alert sender lease; another takes it over when it stops or dies.

let clickhouse: ClickHouseHttpProcess;
const clients: ClickHouseClient[] = [];
/** A collector's own client, as each process has. */
const collector = () => {
  const client = createStoreClient({ dataDir: freshDataDir(), url: clickhouse.url });
  clients.push(client);
  return client;
};
beforeAll(async () => {
  clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
});
afterAll(async () => {
  await Promise.all(clients.map((each) => each.close()));
  await clickhouse?.stop();
});

const leases: SenderLease[] = [];
// A test that failed half-way leaves no lease behind to hold the table for the next.
afterEach(async () => {
  await Promise.all(leases.splice(0).map((each) => each.stop()));
});

/** A lease whose every turn is written down, in order. */
function lease(name: string, events: string[], options: { staleMs?: number; heartbeatMs?: number } = {}): SenderLease {
  const started = holdAlertSending(collector(), undefined, {
    pollMs: 50,
    heartbeatMs: 100,
    staleMs: 1_000,
    ...options,
    onHeld: () => events.push(`${name} sends`),
    onWait: (holder) => events.push(`${name} waits for ${holder.replace(/ pid .*/, '')}`),
    onLost: (holder) => events.push(`${name} lost it to ${holder?.replace(/ pid .*/, '')}`),
  });
  leases.push(started);
  return started;
}

describe('the alert sender lease', () => {
  it('lets one collector send while the others wait, and the next take over when it stops', async () => {
    const events: string[] = [];
    const first = lease('A', events);
    await expect.poll(() => events, { timeout: 5_000 }).toEqual(['A sends']);
    const second = lease('B', events, { staleMs: 2_500 });
    const third = lease('C', events, { staleMs: 2_500 });
    await expect.poll(() => events.length, { timeout: 5_000 }).toBe(3);
    // Alive (a heartbeat every 100 ms), A keeps it however long the others wait. (That the next takes it at once when
    // it stops, not after staleMs, the two collectors' test below shows, where staleMs is a minute.)
    await sleep(3_000);
    expect(events.slice(1).sort()).toEqual([expect.stringMatching(/^B waits for \S+/), expect.stringMatching(/^C waits for \S+/)]);
    expect([first.held(), second.held(), third.held()]).toEqual([true, false, false]);
    await first.stop();
    await expect.poll(() => [second.held(), third.held()].filter(Boolean), { timeout: 5_000 }).toHaveLength(1);
    await sleep(300);
    expect(events.filter((event) => event.endsWith(' sends'))).toHaveLength(2);
    await Promise.all([second.stop(), third.stop()]);
    expect(await clients[0]!.query({ query: "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'hearth_alert_sender'", format: 'JSONEachRow' }).then((result) => result.json())).toEqual([]);
  });

  it("takes over the lease of a collector that died holding it once its heartbeats have stopped, naming it", async () => {
    const client = collector();
    await client.command({ query: "CREATE TABLE hearth_alert_sender (holder String, at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY at COMMENT 'web-2 pid 4242 (dead)'" });
    await client.command({ query: "INSERT INTO hearth_alert_sender VALUES ('web-2 pid 4242 (dead)', now64(3))" });
    const events: string[] = [];
    const started = Date.now();
    const taker = lease('B', events);
    await expect.poll(() => events, { timeout: 5_000 }).toEqual(['B waits for web-2', 'B sends']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    await taker.stop();
  });

  it('takes over at once the lease of a process of this machine that has ended: a collector restarted after kill -9', async () => {
    const ended = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => ended.once('exit', resolve));
    const dead = `${hostname().replace(/[^\w.-]/g, '_')} pid ${ended.pid} (0123abcd)`;
    const client = collector();
    await client.command({ query: `CREATE TABLE hearth_alert_sender (holder String, at DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY at COMMENT '${dead}'` });
    const events: string[] = [];
    const started = Date.now();
    const taker = lease('B', events, { staleMs: 30_000 });
    await expect.poll(() => events, { timeout: 5_000 }).toEqual(['B sends']);
    expect(Date.now() - started).toBeLessThan(5_000);
    await taker.stop();
  });

  it('stops sending when another took the lease over while it was cut off from ClickHouse, and takes it back when that one stops', async () => {
    const events: string[] = [];
    // web-3 sends no heartbeat here: A would take the lease back after staleMs, which this test does not wait for.
    const holder = lease('A', events, { staleMs: 60_000 });
    await expect.poll(() => events, { timeout: 5_000 }).toEqual(['A sends']);
    // What a collector that found A's heartbeats stopped for a minute does: drops A's lease and takes it (here in one
    // step, the holder named anew, so that A cannot take it back in between).
    const client = collector();
    await client.command({ query: "ALTER TABLE hearth_alert_sender MODIFY COMMENT 'web-3 pid 77 (alive)'" });
    await expect.poll(() => events, { timeout: 10_000 }).toEqual(['A sends', 'A lost it to web-3', 'A waits for web-3']);
    expect(holder.held()).toBe(false);
    await client.command({ query: 'DROP TABLE hearth_alert_sender SYNC' });
    await expect.poll(() => events, { timeout: 10_000 }).toEqual(['A sends', 'A lost it to web-3', 'A waits for web-3', 'A sends']);
    await holder.stop();
  });
});

describe('two collectors of one ClickHouse server, started alike', () => {
  const ORIGIN = 'https://www.acme.test';
  let hooks: HttpReceiver;
  let configFile: string;
  const collectors: HearthProcess[] = [];
  beforeAll(async () => {
    hooks = await startHttpReceiver();
    configFile = join(mkdtempSync(join(tmpdir(), 'hearth-config-')), 'hearth.config.json');
    const crm = { type: 'webhook', id: 'crm', url: `${hooks.url}/crm`, secret: 'whsec_' + Buffer.from('a-test-signing-key-of-32-bytes!!').toString('base64') };
    writeFileSync(configFile, JSON.stringify({ sites: [{ id: 'acme', origins: [ORIGIN], alerts: { destinations: [crm] } }] }));
  });
  afterAll(async () => {
    await Promise.all(collectors.map((each) => each.stop()));
    await hooks?.close();
  });
  const start = async () => {
    const started = await startHearthProcess(['--config', configFile], { CLICKHOUSE_URL: clickhouse.url, HEARTH_DATA_DIR: freshDataDir() });
    collectors.push(started);
    return started;
  };
  const demoRequest = (collector: HearthProcess, email: string) =>
    fetch(`${collector.url}/collect`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': BROWSER_USER_AGENT },
      body: JSON.stringify({ s: 'acme', v: newVisitor(), e: [{ i: randomUUID(), t: Date.now(), n: 'f', u: `${ORIGIN}/contact`, k: 'demo-request', p: { 'email email email': email } }] }),
    });
  const sending = async (collector: HearthProcess) => {
    const text = await (await fetch(`${collector.url}/metrics`, { headers: { authorization: `Bearer ${collector.token}` } })).text();
    return /^hearth_alerts_sending (\d)$/m.exec(text)?.[1];
  };
  const sentAbout = (email: string) => hooks.requests.filter((request) => request.body.includes(email));

  it('send each alert once, from one of them, though a slow receiver keeps it in flight past the others\' look at the outbox; the other sends once the first stops', { timeout: 90_000 }, async () => {
    const a = await start();
    await expect.poll(() => sending(a), { timeout: 10_000 }).toBe('1');
    const b = await start();
    await expect.poll(() => sending(b), { timeout: 10_000 }).toBe('0');
    // The receiver takes 7 s to answer: longer than a collector waits between two looks at the outbox (5 s), where
    // the alert is pending all that time.
    hooks.respond = () => sleep(7_000).then(() => ({ status: 204 }));
    const grace = `grace.${randomUUID().slice(0, 8)}@initech.test`;
    // B scores the lead and records the alert; A sends it.
    expect((await demoRequest(b, grace)).status).toBe(202);
    await expect.poll(() => sentAbout(grace).length, { timeout: 20_000 }).toBe(1);
    await sleep(8_000);
    expect(sentAbout(grace)).toHaveLength(1);

    hooks.respond = () => ({ status: 204 });
    expect(await a.stop()).toBe(0);
    await expect.poll(() => sending(b), { timeout: 5_000 }).toBe('1');
    const ada = `ada.${randomUUID().slice(0, 8)}@lovelace.test`;
    expect((await demoRequest(b, ada)).status).toBe(202);
    await expect.poll(() => sentAbout(ada).length, { timeout: 20_000 }).toBe(1);
  });
});
