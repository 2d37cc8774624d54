import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { alertDeliveries, writeDeliveries, type Delivery } from '../../scoring/alerts/outbox.ts';
import { sampleAlert, settledDelivery, waitFor } from '../support/alerts.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

// A collector whose config has no alert destinations at all, as after someone removed the last site's alerts.
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe('a config without alert destinations', () => {
  it('turns what an earlier config left pending into a dead letter naming the destination gone, at once', async () => {
    const at = Date.now();
    // Recorded before this collector started with its config (one recorded since would be another collector's, under a
    // config that has the destination: it waits for a sender with it).
    const createdAt = new Date(at - 3_600_000).toISOString();
    const fresh = sampleAlert({ site: 'acme', createdAt });
    // One the earlier config's receiver kept failing: its next attempt 25 minutes away, which no longer exists.
    const retrying = sampleAlert({ site: 'acme', id: `${fresh.id}r`, createdAt });
    const pending = (alert: typeof fresh, attempts: number, nextAttemptAt: number): Delivery => ({
      ...settledDelivery(alert, 'delivered'),
      state: 'pending',
      attempts,
      nextAttemptAt,
      deliveredAt: null,
      lastError: attempts ? 'the webhook at crm.acme.test answered 503' : '',
      version: 1 + attempts,
    });
    await writeDeliveries(server.client, [pending(fresh, 0, at), pending(retrying, 10, at + 25 * 60_000)]);
    // The dispatcher reads the outbox every 5 s.
    for (const alert of [fresh, retrying]) {
      const dead = await waitFor(async () => (await alertDeliveries(server.client, 'acme', alert.id)).find((delivery) => delivery.state === 'dead'), 15_000, `${alert.id}'s dead letter`);
      expect(dead.lastError).toBe('destination "crm" of site "acme" is no longer configured');
    }
    const listed = await getJson(server, '/api/alerts?site=acme&status=dead');
    expect(listed.body.alerts.map((shown: { id: string }) => shown.id)).toEqual(expect.arrayContaining([fresh.id, retrying.id]));
  });

  it('records a lead\'s buying signal as suppressed, saying why, and sends nothing', async () => {
    const visitor = newVisitor();
    const form = wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', p: { email: `ceo.${visitor}@globex.example` } });
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [form] })).status).toBe(202);
    await drained(server);
    const lead = (await getJson(server, `/api/leads?site=acme&visitor=${visitor}`)).body.leads[0];
    const { body } = await getJson(server, `/api/alerts?site=acme&lead=${lead.id}`);
    expect(body.alerts.map(({ signal, status, reason }: { signal: string; status: string; reason: string }) => ({ signal, status, reason }))).toEqual([
      { signal: 'demo_request', status: 'suppressed', reason: 'site "acme" has no alert destinations (sites[].alerts)' },
    ]);
  });
});
