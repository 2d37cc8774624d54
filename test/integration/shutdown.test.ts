import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { drained, getJson, leadFromForm, newVisitor, postBatch, SITE_ORIGIN, startOverClickHouseHttp, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

// A collector over HTTP to a ClickHouse test server whose faults the test sets, shut down as SIGTERM does (close()).
describe('shutting down', () => {
  it('ends once the requests in flight are answered, without waiting for their keep-alive connections to idle out', { timeout: 120_000 }, async () => {
    const { clickhouse, hearth } = await startOverClickHouseHttp();
    let closed = false;
    try {
      await drained(hearth);
      // A lead list that takes 2 s to read is in flight when the collector is told to stop.
      await clickhouse.setFault('slow', 2000, 'lead_scores');
      const list = getJson(hearth, '/api/leads?site=acme');
      await sleep(300);
      const startedAt = Date.now();
      const closing = hearth.close().then(() => (closed = true));
      const outcome = await Promise.race([closing.then(() => 'closed'), sleep(40_000).then(() => 'still closing after 40 s')]);
      expect(outcome).toBe('closed');
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect((await list).status).toBe(200);
    } finally {
      await clickhouse.setFault('ok');
      if (!closed) await Promise.race([hearth.close(), sleep(80_000)]);
      await clickhouse.kill();
    }
  });

  it('ends within its bound while a client is still sending a request it never finishes', { timeout: 120_000 }, async () => {
    const hearth = await startTestServer();
    let closed = false;
    // A beacon whose body stops half-way (a phone that lost its network, a slow client): Node would wait for it up to
    // its request timeout, five minutes.
    const { port } = new URL(hearth.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {});
    socket.write(`POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nOrigin: ${SITE_ORIGIN}\r\nContent-Length: 1000\r\n\r\n{"s":"acme",`);
    await sleep(300);
    try {
      const startedAt = Date.now();
      const closing = hearth.close().then(() => (closed = true));
      const outcome = await Promise.race([closing.then(() => 'closed'), sleep(40_000).then(() => 'still closing after 40 s')]);
      expect(outcome).toBe('closed');
      expect(Date.now() - startedAt).toBeLessThan(15_000);
    } finally {
      socket.destroy();
      if (!closed) await Promise.race([hearth.close(), sleep(20_000)]);
    }
  });

  it('ends within the drain’s bound while an erasure waits for events ClickHouse will not take', { timeout: 120_000 }, async () => {
    const { clickhouse, hearth } = await startOverClickHouseHttp();
    let closed = false;
    try {
      const person = newVisitor();
      const lead = await leadFromForm(hearth, person, `finn.${person}@shutdown.test`);

      // ClickHouse answers queries but no longer takes inserts (as with too many parts): accepted events wait in the log.
      await clickhouse.setFault('slow', 600_000, 'INSERT INTO events');
      expect((await postBatch(hearth, { s: 'acme', v: person, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] })).status).toBe(202);
      // The erasure waits for that event to land first.
      const erasure = fetch(`${hearth.url}/api/leads/${lead.id}?site=acme`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_TOKEN}` } }).then(
        (response) => response.status,
        () => 'no answer',
      );
      await sleep(500);

      const startedAt = Date.now();
      const closing = hearth.close().then(() => (closed = true));
      const outcome = await Promise.race([closing.then(() => 'closed'), sleep(40_000).then(() => 'still closing after 40 s')]);
      expect(outcome).toBe('closed');
      // The log's drain is given 10 s, the last rescoring 5 s.
      expect(Date.now() - startedAt).toBeLessThan(25_000);
      // The erasure is answered (it did not happen: the event is replayed at the next start, and the admin retries).
      expect(await erasure).not.toBe('no answer');
    } finally {
      await clickhouse.setFault('ok');
      // Bounded, so that a collector that does not close fails this test instead of hanging it.
      if (!closed) await Promise.race([hearth.close(), sleep(20_000)]);
      await clickhouse.kill();
    }
  });
});
