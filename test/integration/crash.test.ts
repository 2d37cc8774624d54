import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWalSink } from '../../collector/ingest/wal.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { startHearthProcess } from '../support/hearth-process.ts';
import { newVisitor, wireEvent } from '../support/server.ts';

const ORIGIN = 'https://www.acme.test';
const configFile = join(mkdtempSync(join(tmpdir(), 'hearth-config-')), 'hearth.config.json');
writeFileSync(configFile, JSON.stringify({ sites: [{ id: 'acme', origins: [ORIGIN] }] }));

const CONCURRENCY = 16;
const EVENTS_PER_BATCH = 20;

/** Posts batches from CONCURRENCY senders (a visitor each) until `until` settles or the collector goes away;
 * returns, per visitor, the event ids that got a 202. */
async function fireBatches(url: string, until: Promise<unknown>): Promise<Map<string, string[]>> {
  const acknowledged = new Map<string, string[]>();
  let stop = false;
  until.finally(() => (stop = true));
  const sender = async () => {
    const visitor = newVisitor();
    const ids: string[] = [];
    acknowledged.set(visitor, ids);
    while (!stop) {
      const events = Array.from({ length: EVENTS_PER_BATCH }, () => wireEvent({ u: `${ORIGIN}/pricing` }));
      try {
        const response = await fetch(`${url}/collect`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', origin: ORIGIN },
          body: JSON.stringify({ s: 'acme', v: visitor, e: events }),
        });
        if (response.status === 202) ids.push(...events.map((event) => String(event.i)));
        await response.arrayBuffer();
      } catch {
        return; // killed mid-request: that batch was never acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, sender));
  return acknowledged;
}

describe('a collector killed with SIGKILL under load', () => {
  it('keeps every event it acknowledged, exactly once, after a restart', async () => {
    const dataDir = freshDataDir();
    const env = { HEARTH_DATA_DIR: dataDir };
    // The first collector moves nothing into ClickHouse before the kill, so the restart must replay every event.
    const first = await startHearthProcess(['--config', configFile], { ...env, HEARTH_WAL_FLUSH_ROWS: '100000000', HEARTH_WAL_FLUSH_MS: '600000' });
    const killed = new Promise((resolve) => setTimeout(resolve, 1500)).then(() => first.crash());
    const [acknowledgedByVisitor] = await Promise.all([fireBatches(first.url, new Promise((resolve) => setTimeout(resolve, 2000))), killed]);
    const acknowledged = [...acknowledgedByVisitor.values()].flat();
    expect(acknowledged.length).toBeGreaterThan(0);

    // What the kill left in the log and nowhere else: the next start must replay it.
    const notConsulted = () => Promise.reject(new Error('ClickHouse not consulted while counting the backlog'));
    const unreachable = { insert: notConsulted, exec: notConsulted };
    const inspection = await createWalSink({ dir: join(dataDir, 'wal'), client: unreachable, maxBytes: 1 << 30, log: { info() {}, warn() {}, error() {} }, closeTimeoutMs: 0 });
    const backlog = inspection.status().recovered;
    await inspection.close();
    expect(backlog.rows).toBeGreaterThan(0);

    const second = await startHearthProcess(['--config', configFile], env);
    // One list of every visitor per poll: the list scores the whole site at each call.
    const replayed = async () => {
      const response = await fetch(`${second.url}/api/leads?site=acme&bots=include&limit=1000`, { headers: { authorization: `Bearer ${second.token}` } });
      const { leads } = (await response.json()) as { leads: { events: number; visitorIds: string[] }[] };
      const stored = new Map(leads.map((lead) => [lead.visitorIds[0], lead.events]));
      return [...acknowledgedByVisitor].every(([visitor, ids]) => (stored.get(visitor) ?? 0) >= ids.length);
    };
    await expect.poll(replayed, { timeout: 20_000, interval: 100 }).toBe(true);
    // Only once the child has exited may this process open its embedded ClickHouse, to count copies per event.
    expect(await second.stop()).toBe(0);

    const store = createStoreClient({ dataDir });
    try {
      const result = await store.query({ query: 'SELECT toString(event_id) AS id, count() AS copies FROM events FINAL GROUP BY id', format: 'JSONEachRow' });
      const copies = new Map((await result.json<{ id: string; copies: string }>()).map((row) => [row.id, Number(row.copies)]));
      const missing = acknowledged.filter((id) => !copies.has(id));
      const duplicated = acknowledged.filter((id) => (copies.get(id) ?? 0) > 1);
      expect({ missing: missing.length, duplicated: duplicated.length }).toEqual({ missing: 0, duplicated: 0 });
      console.log(
        `crash test: ${acknowledged.length} events acknowledged in ~1.5 s before SIGKILL, ${backlog.rows} rows (${backlog.bytes} bytes) replayed from the log, ${backlog.tornBytes} torn bytes ignored`,
      );
    } finally {
      await store.close();
    }
  });
});
