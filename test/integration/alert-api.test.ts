import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiToken } from '../../collector/auth/tokens.ts';
import { parseConfig } from '../../collector/config/load.ts';
import type { RunningServer } from '../../collector/server.ts';
import { createAlertDispatcher, type AlertDispatcher } from '../../scoring/alerts/dispatcher.ts';
import { writeDeliveries } from '../../scoring/alerts/outbox.ts';
import { sampleAlert, settledDelivery, startHttpReceiver, waitFor, type HttpReceiver } from '../support/alerts.ts';
import { getJson, SITE_ORIGIN, startTestServer, TEST_TOKEN } from '../support/server.ts';

// GET /api/alerts and POST /api/alerts/:id/retry on a real server, with a dispatcher over the server's store
// delivering to a real HTTP receiver that first refuses the alerts for good (404). The server knows the site's
// destinations (a retry to one no longer configured is refused) but is started with HEARTH_SEND_ALERTS=false, as a
// collector that does not send is: this test's dispatcher is the only one sending.
const SECRET = 'whsec_' + randomBytes(32).toString('base64');
let hooks: HttpReceiver;
let server: RunningServer;
let alerts: AlertDispatcher;
/** This test's dispatcher, made anew: its config is loaded now (what it takes for another config's deliveries). */
let newDispatcher: () => AlertDispatcher;
let accepting = false;
const marketingToken = newApiToken();
const salesToken = newApiToken();

beforeAll(async () => {
  hooks = await startHttpReceiver();
  hooks.respond = () => (accepting ? { status: 204 } : { status: 404, body: 'unknown hook' });
  const sites = [
    {
      id: 'acme',
      origins: [SITE_ORIGIN],
      alerts: {
        destinations: [
          { type: 'webhook', id: 'crm', url: `${hooks.url}/crm`, secret: SECRET },
          { type: 'webhook', id: 'fr-team', url: `${hooks.url}/fr`, secret: SECRET },
        ],
        routes: [{ destinations: ['crm'] }, { destinations: ['fr-team'], countries: ['FR'] }],
      },
    },
    { id: 'globex', origins: ['https://globex.test'] },
  ];
  process.env.HEARTH_SEND_ALERTS = 'false';
  try {
    server = await startTestServer({
      sites,
      tokens: [
        { name: 'marketing-bi', role: 'marketing', tokenHash: marketingToken.tokenHash },
        { name: 'crm-sync', role: 'sales', tokenHash: salesToken.tokenHash },
      ],
    });
  } finally {
    delete process.env.HEARTH_SEND_ALERTS;
  }
  newDispatcher = () => createAlertDispatcher({ client: server.client, config: parseConfig({ sites }, 'test config'), log: { info() {}, warn() {}, error() {} }, pollMs: 100 });
  alerts = newDispatcher();
  alerts.start();
});
afterAll(async () => {
  await alerts?.close();
  await server?.close();
  await hooks?.close();
});

// Labelled JSON with no body, as HTTP clients and CRM middleware send every request: a retry takes no body.
const post = (path: string, token = TEST_TOKEN) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));

describe('alerts through the API', () => {
  const french = sampleAlert({ lead: { id: 'l_0000000000000000f001', country: 'FR' } });
  const cooled = sampleAlert({ lead: { id: 'l_0000000000000000f001', country: 'FR' }, createdAt: new Date(Date.now() + 60_000).toISOString() });
  const american = sampleAlert({ signal: 'hot', lead: { id: 'l_0000000000000000a001', country: 'US' } });

  it('lists dead letters with each destination\'s state, attempts and the reason it failed', async () => {
    await alerts.enqueue([french, cooled, american]);
    const dead = await waitFor(async () => {
      const { body } = await getJson(server, '/api/alerts?site=acme&status=dead');
      // Each destination's outcome is recorded on its own: the French alert is dead as soon as one of its two is.
      const settled = body.alerts.every((alert: { deliveries: { state: string }[] }) => alert.deliveries.every((delivery) => delivery.state !== 'pending'));
      return body.alerts.length === 2 && settled ? body : undefined;
    });
    expect(dead.alerts.map((alert: { id: string }) => alert.id).sort()).toEqual([french.id, american.id].sort());
    const frenchView = dead.alerts.find((alert: { id: string }) => alert.id === french.id);
    expect(frenchView).toMatchObject({ id: french.id, status: 'dead', signal: 'demo_request', lead: { id: french.lead.id, url: french.lead.url }, summary: french.summary });
    expect(frenchView.deliveries).toEqual([
      expect.objectContaining({ destination: 'crm', type: 'webhook', state: 'dead', attempts: 1, nextAttemptAt: null, deliveredAt: null }),
      expect.objectContaining({ destination: 'fr-team', type: 'webhook', state: 'dead', attempts: 1 }),
    ]);
    expect(frenchView.deliveries[0].lastError).toMatch(/^the webhook at 127\.0\.0\.1:\d+ answered 404: unknown hook \(a 4xx other than 408 and 429 is not retried/);
  });

  it('filters by lead and by status, and shows a suppressed alert with its reason', async () => {
    const { status, body } = await getJson(server, `/api/alerts?site=acme&lead=${french.lead.id}`);
    expect(status).toBe(200);
    expect(body.alerts.map((alert: { id: string; status: string }) => [alert.id, alert.status])).toEqual([
      [cooled.id, 'suppressed'],
      [french.id, 'dead'],
    ]);
    expect(body.alerts[0]).toMatchObject({ reason: expect.stringMatching(/^cooldown: this lead had a "demo_request" alert at /), deliveries: [] });
    const suppressed = await getJson(server, '/api/alerts?status=suppressed&site=acme');
    expect(suppressed.body.alerts.map((alert: { id: string }) => alert.id)).toEqual([cooled.id]);
    const none = { pending: 0, delivered: 0, dead: 0, suppressed: 0 };
    expect((await getJson(server, '/api/alerts?site=globex')).body).toEqual({ site: 'globex', status: null, alerts: [], counts: none, next: null });
  });

  it('pages through older alerts from where the last page ended, new ones arriving meanwhile, with each status counted on every page', async () => {
    // Globex's history, written as the dispatcher left it: two alerts made in the same millisecond (the id orders them).
    const start = Date.now() - 3_600_000;
    const grace = 'l_00000000000000000b01';
    const past = (minute: number, state: 'delivered' | 'dead' | 'suppressed', leadId?: string) => ({
      alert: sampleAlert({ site: 'globex', createdAt: new Date(start + minute * 60_000).toISOString(), ...(leadId ? { lead: { id: leadId } } : {}) }),
      state,
    });
    const history = [past(1, 'dead', grace), past(2, 'delivered'), past(3, 'dead', grace), past(4, 'suppressed'), past(4, 'delivered', grace), past(5, 'dead'), past(6, 'delivered')];
    await writeDeliveries(server.client, history.map(({ alert, state }) => settledDelivery(alert, state)));
    const newestFirst = history
      .map(({ alert }) => alert)
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1))
      .map((alert) => alert.id);
    const list = async (params: string) => {
      const { status, body } = await getJson(server, `/api/alerts?site=globex&${params}`);
      expect(status).toBe(200);
      // The answer says which status it lists, so a client tells it from an answer to an earlier filter.
      expect(body.status).toBe(new URLSearchParams(params).get('status'));
      return { ids: body.alerts.map((alert: { id: string }) => alert.id), counts: body.counts, next: body.next as string | null };
    };

    const first = await list('limit=3');
    expect(first).toEqual({ ids: newestFirst.slice(0, 3), counts: { pending: 0, delivered: 3, dead: 3, suppressed: 1 }, next: expect.any(String) });
    // A dead letter arrives before the next page is asked for: it is newer, so no alert is listed twice or skipped.
    const arrived = sampleAlert({ site: 'globex' });
    await writeDeliveries(server.client, [settledDelivery(arrived, 'dead')]);
    const second = await list(`limit=3&before=${encodeURIComponent(first.next!)}`);
    expect(second).toEqual({ ids: newestFirst.slice(3, 6), counts: { pending: 0, delivered: 3, dead: 4, suppressed: 1 }, next: expect.any(String) });
    expect(await list(`limit=3&before=${encodeURIComponent(second.next!)}`)).toEqual({ ids: newestFirst.slice(6), counts: second.counts, next: null });

    // The dead letters two at a time: the counts are still every status's, the one page is one status.
    const dead = history.filter(({ state }) => state === 'dead').map(({ alert }) => alert.id);
    const firstDead = await list('status=dead&limit=2');
    expect(firstDead).toEqual({ ids: [arrived.id, dead[2]], counts: second.counts, next: expect.any(String) });
    expect(await list(`status=dead&limit=2&before=${encodeURIComponent(firstDead.next!)}`)).toEqual({ ids: [dead[1], dead[0]], counts: second.counts, next: null });

    // One lead's alerts are counted on their own.
    expect(await list(`lead=${grace}&limit=1`)).toEqual({
      ids: [history[4]!.alert.id],
      counts: { pending: 0, delivered: 1, dead: 2, suppressed: 0 },
      next: expect.any(String),
    });
    // A cursor no answer gave is named, as any bad parameter.
    expect((await getJson(server, '/api/alerts?site=globex&before=2')).body.problems).toEqual([{ path: 'before', message: 'expected the "next" of an earlier answer (got "2")' }]);
  });

  it('retries a dead letter: pending again, then delivered once the receiver is fixed', async () => {
    accepting = true;
    const retried = await post(`/api/alerts/${american.id}/retry?site=acme`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ id: american.id, status: 'pending', deliveries: [{ destination: 'crm', state: 'pending', attempts: 0 }] });
    // Unassigned, the owner reads null, as in the webhook's body and GET /api/leads: a sync comparing them sees no change.
    expect(retried.body.lead.owner).toBeNull();
    const delivered = await waitFor(async () => {
      const { body } = await getJson(server, `/api/alerts?site=acme&lead=${american.lead.id}&status=delivered`);
      return body.alerts[0];
    });
    expect(delivered.deliveries).toEqual([expect.objectContaining({ destination: 'crm', state: 'delivered', attempts: 1, deliveredAt: expect.any(String) })]);
    expect(hooks.requests.filter((request) => request.headers['webhook-id'] === american.id).map((request) => request.path)).toEqual(['/crm', '/crm']);
  });

  it('answers 409 for an alert that is not a dead letter, 404 for an unknown one, 400 for a bad query, 401 without a token', async () => {
    const notDead = await post(`/api/alerts/${american.id}/retry?site=acme`);
    expect(notDead).toEqual({ status: 409, body: { error: `alert "${american.id}" is delivered, not a dead letter: only dead deliveries are retried`, code: 'not_dead', status: 'delivered' } });
    const unknown = await post('/api/alerts/al_nothing/retry?site=acme');
    expect(unknown).toEqual({ status: 404, body: { error: 'no alert "al_nothing" on site "acme"', code: 'alert_not_found' } });
    const bad = await getJson(server, '/api/alerts?site=acme&status=lost&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.problems).toEqual([
      { path: 'status', message: 'expected one of pending, delivered, dead, suppressed (got "lost")' },
      { path: 'limit', message: 'expected a whole number at least 1 (got "0")' },
    ]);
    expect((await getJson(server, '/api/alerts?site=nowhere')).body.problems).toEqual([{ path: 'site', message: 'unknown site; configured sites: acme, globex (got "nowhere")' }]);
    // As on the other lists: the value sent is named, and so is a parameter no list takes.
    expect((await getJson(server, '/api/alerts?site=acme&lead=ada@acme.test')).body.problems).toEqual([
      { path: 'lead', message: 'expected a lead id as GET /api/leads gives it ("l_" and 20 hex digits), not an email (got "ada@acme.test")' },
    ]);
    expect((await getJson(server, '/api/alerts?site=acme&limit=abc&sattus=dead')).body.problems).toEqual([
      { path: 'limit', message: 'expected a whole number (got "abc")' },
      { path: 'sattus', message: 'unknown key' },
    ]);
    expect((await getJson(server, '/api/alerts?site=acme', null)).status).toBe(401);
  });

  it('refuses to retry a dead letter whose destination is no longer configured, naming it (409)', async () => {
    // Sent by a collector whose config still had an "old-crm" destination, since removed.
    const legacySites = [{ id: 'acme', origins: [SITE_ORIGIN], alerts: { destinations: [{ type: 'webhook', id: 'old-crm', url: `${hooks.url}/old`, secret: SECRET }] } }];
    // The only sender meanwhile, as in production one collector sends: this test's dispatcher, whose config was loaded
    // before the alert was recorded, took it at times for one of a newer config being rolled out, and kept it pending.
    await alerts.close();
    const legacy = createAlertDispatcher({ client: server.client, config: parseConfig({ sites: legacySites }, 'test config'), log: { info() {}, warn() {}, error() {} }, pollMs: 100 });
    legacy.start();
    const german = sampleAlert({ signal: 'hot', lead: { id: 'l_0000000000000000d001', country: 'DE' } });
    // Its old endpoint is gone for good (a 404). (The receiver accepts the other paths by now.)
    const respond = hooks.respond;
    hooks.respond = (request, index) => (request.path === '/old' ? { status: 404, body: 'gone' } : respond(request, index));
    try {
      await legacy.enqueue([german]);
      await waitFor(async () => {
        const { body } = await getJson(server, `/api/alerts?site=acme&lead=${german.lead.id}&status=dead`);
        return body.alerts.length === 1 ? body : undefined;
      });
    } finally {
      await legacy.close();
      hooks.respond = respond;
      alerts = newDispatcher();
      alerts.start();
    }
    const refused = await post(`/api/alerts/${german.id}/retry?site=acme`);
    expect(refused).toEqual({
      status: 409,
      body: { error: `alert "${german.id}" went to "old-crm", no longer configured for site "acme": add it back to the config's alerts to retry`, code: 'destination_gone', destinations: ['old-crm'] },
    });
    // Left as it was: still a dead letter, counted as one.
    expect((await getJson(server, `/api/alerts?site=acme&lead=${german.lead.id}`)).body.alerts[0].status).toBe('dead');
  });

  it('lets sales and admin see and retry alerts, not marketing (403 naming the roles)', async () => {
    expect((await getJson(server, '/api/alerts?site=acme', salesToken.token)).status).toBe(200);
    const denied = await getJson(server, '/api/alerts?site=acme', marketingToken.token);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'forbidden', error: 'this needs one of the roles admin, sales; marketing-bi is marketing' });
    expect((await post(`/api/alerts/${french.id}/retry?site=acme`, marketingToken.token)).status).toBe(403);
  });
});
