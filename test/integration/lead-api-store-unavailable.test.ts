import { describe, expect, it } from 'vitest';
import { drained, getJson, leadFromForm, newVisitor, postBatch, SITE_ORIGIN, startOverClickHouseHttp, TEST_TOKEN, wireEvent } from '../support/server.ts';

// An erasure and an export first wait for the events accepted before them to reach ClickHouse. A collector over HTTP
// to a ClickHouse test server that answers queries but takes no inserts (the test sets its faults).
describe('erasing or exporting a person while ClickHouse takes no inserts', () => {
  it('answers 503 store_unavailable within the bound, and erases nothing', { timeout: 150_000 }, async () => {
    // The bound is 20 s; 3 s here, so the test does not wait it out.
    const { clickhouse, hearth } = await startOverClickHouseHttp({ drainWaitMs: 3000 });
    try {
      const person = newVisitor();
      const lead = await leadFromForm(hearth, person, `gus.${person}@outage.test`);

      // ClickHouse answers queries but takes no inserts for a while (as with too many parts): the next event waits in
      // the log, for longer than the bound.
      await clickhouse.setFault('slow', 8000, 'INSERT INTO events');
      expect((await postBatch(hearth, { s: 'acme', v: person, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] })).status).toBe(202);

      const startedAt = Date.now();
      // A client that gives up only after 60 s, longer than a proxy in front would wait.
      const answer = (path: string, method: string) =>
        fetch(`${hearth.url}${path}`, { method, headers: { authorization: `Bearer ${TEST_TOKEN}` }, signal: AbortSignal.timeout(60_000) }).then(
          async (response) => ({ status: response.status, body: await response.json(), retryAfter: response.headers.get('retry-after'), seconds: (Date.now() - startedAt) / 1000 }),
          (error: Error) => ({ status: `no answer (${error.name})`, body: undefined, retryAfter: null, seconds: (Date.now() - startedAt) / 1000 }),
        );
      const [erasure, exported] = await Promise.all([answer(`/api/leads/${lead.id}?site=acme`, 'DELETE'), answer(`/api/leads/${lead.id}/export?site=acme`, 'GET')]);
      for (const refused of [erasure, exported]) {
        expect(refused).toMatchObject({ status: 503, retryAfter: expect.any(String), body: { code: 'store_unavailable', error: expect.stringContaining('ClickHouse') } });
        expect(refused.seconds).toBeLessThan(10);
      }
      expect(erasure.body.error).toContain('nothing was erased');

      // Nothing was erased: once ClickHouse takes inserts again, the person is whole, the waiting event included.
      await clickhouse.setFault('ok');
      await drained(hearth);
      const after = await getJson(hearth, `/api/leads/${lead.id}/export?site=acme`);
      expect(after.status).toBe(200);
      expect(after.body.events.map((event: { url: string }) => event.url).sort()).toEqual([`${SITE_ORIGIN}/contact`, `${SITE_ORIGIN}/pricing`]);
      expect((await getJson(hearth, `/api/leads/${lead.id}?site=acme`)).status).toBe(200);
    } finally {
      await clickhouse.setFault('ok');
      await Promise.race([hearth.close(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await clickhouse.kill();
    }
  });

  it('answers 503 store_unavailable in time when the collector shuts down meanwhile, not a 500 once the log closes', { timeout: 150_000 }, async () => {
    const { clickhouse, hearth } = await startOverClickHouseHttp();
    let closing: Promise<void> | undefined;
    try {
      const person = newVisitor();
      const lead = await leadFromForm(hearth, person, `ida.${person}@outage.test`);
      await clickhouse.setFault('slow', 60_000, 'INSERT INTO events');
      expect((await postBatch(hearth, { s: 'acme', v: person, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] })).status).toBe(202);
      const answer = (path: string, method: string) =>
        fetch(`${hearth.url}${path}`, { method, headers: { authorization: `Bearer ${TEST_TOKEN}` }, signal: AbortSignal.timeout(60_000) }).then(
          async (response) => ({ status: response.status, body: await response.json(), retryAfter: response.headers.get('retry-after'), seconds: (Date.now() - stoppedAt) / 1000 }),
          (error: Error) => ({ status: `no answer (${error.name})`, body: undefined, retryAfter: null, seconds: (Date.now() - stoppedAt) / 1000 }),
        );
      const waiting = Promise.all([answer(`/api/leads/${lead.id}?site=acme`, 'DELETE'), answer(`/api/leads/${lead.id}/export?site=acme`, 'GET')]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // SIGTERM: the requests in flight get 5 s before the log closes under them.
      const stoppedAt = Date.now();
      closing = hearth.close();
      const [erasure, exported] = await waiting;
      for (const refused of [erasure, exported]) {
        expect(refused).toMatchObject({ status: 503, retryAfter: expect.any(String), body: { code: 'store_unavailable', error: expect.stringContaining('the collector is shutting down') } });
        // Within 4 s of the SIGTERM, as the README says: inside the 5 s the requests in flight get.
        expect(refused.seconds).toBeLessThan(4);
      }
      expect(erasure.body.error).toContain('nothing was erased');
    } finally {
      await clickhouse.setFault('ok');
      await Promise.race([closing ?? hearth.close(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await clickhouse.kill();
    }
  });
});


describe('the API while ClickHouse takes connections and answers nothing (hung)', () => {
  it("answers 503 store_unavailable within seconds, not after the client's 30 s, and reads again once it answers", { timeout: 150_000 }, async () => {
    const { clickhouse, hearth } = await startOverClickHouseHttp();
    try {
      const person = newVisitor();
      const lead = await leadFromForm(hearth, person, `jo.${person}@hung.test`);
      // Every answer held for a minute, pings included; a ping answered in the last 2 s still vouches for the server.
      await clickhouse.setFault('slow', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const startedAt = Date.now();
      const answer = (path: string) =>
        fetch(`${hearth.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` }, signal: AbortSignal.timeout(60_000) }).then(
          async (response) => ({ status: response.status, body: await response.json(), retryAfter: response.headers.get('retry-after'), seconds: (Date.now() - startedAt) / 1000 }),
          (error: Error) => ({ status: `no answer (${error.name})`, body: undefined, retryAfter: null, seconds: (Date.now() - startedAt) / 1000 }),
        );
      // What the lead list, a lead's page, the marketing page and the alerts page ask for at once.
      const answers = await Promise.all(['/api/leads?site=acme', `/api/leads/${lead.id}?site=acme`, '/api/dashboard/summary?site=acme', '/api/alerts?site=acme'].map(answer));
      for (const refused of answers) {
        expect(refused).toMatchObject({ status: 503, retryAfter: '5', body: { code: 'store_unavailable', error: 'the database cannot be reached or is failing; nothing was read or changed, try again shortly' } });
        expect(refused.seconds).toBeLessThan(5);
      }
      // The collector still takes events into its log meanwhile.
      expect((await postBatch(hearth, { s: 'acme', v: person, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] })).status).toBe(202);
      // Answering again: the next call reads, with no wait for a timer.
      await clickhouse.setFault('ok');
      expect((await getJson(hearth, `/api/leads/${lead.id}?site=acme`)).status).toBe(200);
    } finally {
      await clickhouse.setFault('ok');
      await Promise.race([hearth.close(), new Promise((resolve) => setTimeout(resolve, 30_000))]);
      await clickhouse.kill();
    }
  });
});
