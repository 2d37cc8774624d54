import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eraseLead } from '../../collector/api/lead-store.ts';
import { formatTime } from '../../dashboards/src/format.ts';
import { parseConfig } from '../../collector/config/load.ts';
import type { Alert } from '../../scoring/alerts/alert.ts';
import { createAlertDispatcher, type AlertDispatcher, type AlertDispatcherOptions } from '../../scoring/alerts/dispatcher.ts';
import { alertDeliveries, writeDeliveries, type Delivery } from '../../scoring/alerts/outbox.ts';
import { openTestStore, parseMail, sampleAlert, settledDelivery, startHttpReceiver, startSmtpReceiver, verifyStandardWebhook, waitFor, type HttpReceiver } from '../support/alerts.ts';

// Alert delivery against real receivers on 127.0.0.1 (an HTTP server that checks signatures, an in-process SMTP
// server) and the real outbox in ClickHouse. Each test has its own site, receivers and dispatchers; backoff is
// shortened to milliseconds (the real one is 2 s to 30 min, see test/unit/alerts/retries.test.ts).
const SECRET = 'whsec_' + randomBytes(32).toString('base64');
const HOUR = 3_600_000;
const FAST = { backoff: { baseMs: 20, capMs: 80 }, pollMs: 200 } satisfies Partial<AlertDispatcherOptions>;

let store: Awaited<ReturnType<typeof openTestStore>>;
beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => store?.close());

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const logLines: { level: string; message: string; details: object }[] = [];
const log = {
  info: (details: object, message: string) => logLines.push({ level: 'info', message, details }),
  warn: (details: object, message: string) => logLines.push({ level: 'warn', message, details }),
  error: (details: object, message: string) => logLines.push({ level: 'error', message, details }),
};

let siteCount = 0;
/** A new site id, so each test reads only its own alerts. */
const newSite = () => `alerts-${process.pid}-${++siteCount}`;

async function receiver(): Promise<HttpReceiver> {
  const started = await startHttpReceiver();
  cleanups.push(() => started.close());
  return started;
}

/**
 * A receiver that takes each request and never answers it, until release() answers every one held (204) and the
 * later ones at once; `held` has one entry per request waiting. Released at the end of the test in any case.
 */
async function hangingReceiver() {
  const hanging = await receiver();
  const held: (() => void)[] = [];
  let holding = true;
  hanging.respond = () => (holding ? new Promise((resolve) => held.push(() => resolve({ status: 204 }))) : { status: 204 });
  const release = async () => {
    holding = false;
    for (const answer of held.splice(0)) answer();
  };
  cleanups.push(release);
  return { receiver: hanging, held, release };
}

/** A started dispatcher over the test store for one site with these alert settings. */
function dispatcher(site: string, alerts: unknown, options: Partial<AlertDispatcherOptions> & { smtp?: unknown } = {}): AlertDispatcher {
  const { smtp, ...rest } = options;
  const config = parseConfig({ sites: [{ id: site, origins: ['https://www.acme.test'], alerts }], ...(smtp ? { smtp } : {}) }, 'test config');
  const created = createAlertDispatcher({ client: store.client, config, log, ...FAST, ...rest });
  created.start();
  cleanups.push(() => created.close());
  return created;
}

const webhook = (url: string, id = 'crm') => ({ type: 'webhook', id, url, secret: SECRET });
const deliveries = (site: string, alertId: string) => alertDeliveries(store.client, site, alertId);
/** Waits until the alert's delivery to `destination` is in `state`, and returns it. */
const settledAs = (site: string, alertId: string, state: Delivery['state'], destination = 'crm') =>
  waitFor(async () => (await deliveries(site, alertId)).find((delivery) => delivery.destinationId === destination && delivery.state === state), 10_000, `${alertId} → ${destination} ${state}`);

describe('webhook delivery', () => {
  it('posts the alert signed the Standard Webhooks way, which a receiver verifies, and a tampered or replayed copy fails', async () => {
    const site = newSite();
    const hooks = await receiver();
    hooks.respond = (request) => (verifyStandardWebhook(SECRET, request.headers, request.body) === null ? { status: 204 } : { status: 401, body: 'bad signature' });
    const alert = sampleAlert({ site });
    await dispatcher(site, { destinations: [webhook(`${hooks.url}/hooks/hearth`)] }).enqueue([alert]);

    const delivered = await settledAs(site, alert.id, 'delivered');
    expect(delivered).toMatchObject({ attempts: 1, destinationType: 'webhook', lastError: '' });
    expect(hooks.requests).toHaveLength(1);
    const [request] = hooks.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/hooks/hearth' });
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['webhook-id']).toBe(alert.id);
    // The alert as recorded, an unassigned lead's owner null as the API's lists say it.
    expect(JSON.parse(request!.body)).toEqual({ type: 'lead.signal', timestamp: alert.triggeredAt, data: { ...alert, lead: { ...alert.lead, owner: null } } });

    // The same receiver refuses a forged body and a replay an hour later.
    const forged = await fetch(`${hooks.url}/hooks/hearth`, { method: 'POST', headers: request!.headers as Record<string, string>, body: request!.body.replace('"score":72', '"score":99') });
    expect(forged.status).toBe(401);
    expect(verifyStandardWebhook(SECRET, request!.headers, request!.body, Math.floor(Date.now() / 1000) + 3600)).toBe('timestamp outside the tolerance');
  });

  it('retries a receiver that fails three times, and it gets the alert exactly once, on the fourth attempt', async () => {
    const site = newSite();
    const hooks = await receiver();
    hooks.respond = (_request, index) => (index < 3 ? { status: [500, 503, 429][index]!, body: 'try later' } : { status: 200 });
    const alert = sampleAlert({ site });
    await dispatcher(site, { destinations: [webhook(hooks.url)] }).enqueue([alert]);

    const delivered = await settledAs(site, alert.id, 'delivered');
    expect(delivered.attempts).toBe(4);
    expect(delivered.lastError).toBe('the webhook at ' + new URL(hooks.url).host + ' answered 429: try later');
    // Give a stray fifth send the chance to happen before counting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests.map((request) => request.headers['webhook-id'])).toEqual([alert.id, alert.id, alert.id, alert.id]);
    // Each attempt is signed afresh and verifies.
    for (const request of hooks.requests) expect(verifyStandardWebhook(SECRET, request.headers, request.body)).toBeNull();
    // The first failure is a warning (a log kept at warn shows a failing destination), the retries after it news.
    const failures = logLines.filter((line) => line.message === 'alert delivery failed; will retry' && (line.details as { alert?: string }).alert === alert.id);
    expect(failures.map((line) => [line.level, (line.details as { attempts: number }).attempts])).toEqual([
      ['warn', 1],
      ['info', 2],
      ['info', 3],
    ]);
  });

  it('makes a permanent 4xx a dead letter at once, saying why, and retries 408 and 429', async () => {
    const site = newSite();
    const hooks = await receiver();
    // An error page, as a proxy in front of the receiver would answer: its text is the reason, not its markup.
    const page = '<html><head><style>p{color:red}</style><script>alert("x")</script></head><body><h1>404</h1>\n<p>no such   hook: &quot;gone&quot; &amp; d&eacute;j&#224; &lt;removed&gt;</p></body></html>';
    hooks.respond = (request) => (request.path === '/gone' ? { status: 404, body: page } : request.path === '/slow-down' && hooks.requests.length < 3 ? { status: 408 } : { status: 202 });
    const dead = sampleAlert({ site, signal: 'hot' });
    const later = sampleAlert({ site, signal: 'demo_request' });
    await dispatcher(site, {
      destinations: [webhook(`${hooks.url}/gone`, 'gone'), webhook(`${hooks.url}/slow-down`, 'busy')],
      routes: [
        { destinations: ['gone'], signals: ['hot'] },
        { destinations: ['busy'], signals: ['demo_request'] },
      ],
    }).enqueue([dead, later]);

    const letter = await settledAs(site, dead.id, 'dead', 'gone');
    expect(letter.attempts).toBe(1);
    expect(letter.lastError).toBe(
      `the webhook at ${new URL(hooks.url).host} answered 404: 404 no such hook: "gone" & déjà <removed> (a 4xx other than 408 and 429 is not retried: fix the receiver or the destination, then retry the dead letter)`,
    );
    expect((await settledAs(site, later.id, 'delivered', 'busy')).attempts).toBeGreaterThan(1);
    expect(hooks.requests.filter((request) => request.path === '/gone')).toHaveLength(1);
  });

  it('makes a Retry-After past any date a dead letter that says so, and goes on delivering', async () => {
    const site = newSite();
    const hooks = await receiver();
    // Seconds since 1970 in microseconds, as a misconfigured proxy sends them: 317,000 years.
    hooks.respond = (request) => (request.path === '/busy' ? { status: 503, headers: { 'retry-after': '9999999999999' } } : { status: 204 });
    const refused = sampleAlert({ site, signal: 'hot' });
    const next = sampleAlert({ site, signal: 'demo_request' });
    const sender = dispatcher(site, {
      destinations: [webhook(`${hooks.url}/busy`, 'busy'), webhook(`${hooks.url}/fine`, 'fine')],
      routes: [
        { destinations: ['busy'], signals: ['hot'] },
        { destinations: ['fine'], signals: ['demo_request'] },
      ],
    });
    await sender.enqueue([refused]);
    const letter = await settledAs(site, refused.id, 'dead', 'busy');
    expect(letter.lastError).toBe(`gave up after 1 attempt (the receiver asked for a wait of 9999999999999 s, after the retry window ends ${new Date(letter.giveUpAt).toISOString()}): the webhook at ${new URL(hooks.url).host} answered 503`);
    await sender.enqueue([next]);
    await settledAs(site, next.id, 'delivered', 'fine');
  });

  it('logs a fault of its own while sending, rather than ending the collector, and goes on delivering', async () => {
    const site = newSite();
    const hooks = await receiver();
    let faults = 1;
    const sender = dispatcher(site, { destinations: [webhook(hooks.url)] }, {
      onAttempt: () => {
        if (faults-- > 0) throw new Error('a metrics bug');
      },
    });
    const first = sampleAlert({ site, signal: 'hot' });
    await sender.enqueue([first]);
    await waitFor(() => logLines.find((line) => line.message === 'alert delivery failed unexpectedly; tried again later' && (line.details as { alert?: string }).alert === first.id), 10_000, 'the fault logged');
    const second = sampleAlert({ site, signal: 'demo_request' });
    await sender.enqueue([second]);
    await settledAs(site, second.id, 'delivered');
  });

  it('records a dead letter whose reason is cut where an emoji stands, the emoji whole or left out', async () => {
    const site = newSite();
    const hooks = await receiver();
    // The 200th character of the answer's text is an emoji (two UTF-16 units): half of it was a reason ClickHouse
    // refused to store, and the delivery stayed pending for good.
    hooks.respond = () => ({ status: 400, body: `${'a'.repeat(199)}&#x1F600; tail` });
    const alert = sampleAlert({ site });
    await dispatcher(site, { destinations: [webhook(hooks.url)] }).enqueue([alert]);
    const letter = await settledAs(site, alert.id, 'dead');
    expect(letter.lastError).toContain(`answered 400: ${'a'.repeat(199)}\u{1F600} (a 4xx other`);
  });

  it('makes a redirect a dead letter naming where it led, never followed, and a 304 one that says the alert was not taken', async () => {
    const site = newSite();
    const hooks = await receiver();
    hooks.respond = (request) => (request.path === '/moved' ? { status: 302, headers: { location: `${hooks.url}/new` } } : request.path === '/same' ? { status: 304 } : { status: 204 });
    const moved = sampleAlert({ site, signal: 'hot' });
    const same = sampleAlert({ site, signal: 'demo_request' });
    await dispatcher(site, {
      destinations: [webhook(`${hooks.url}/moved`, 'moved'), webhook(`${hooks.url}/same`, 'same')],
      routes: [
        { destinations: ['moved'], signals: ['hot'] },
        { destinations: ['same'], signals: ['demo_request'] },
      ],
    }).enqueue([moved, same]);
    const host = new URL(hooks.url).host;
    expect((await settledAs(site, moved.id, 'dead', 'moved')).lastError).toBe(`the webhook at ${host} answered 302 (a redirect to ${hooks.url}/new); configure the final URL, redirects are not followed`);
    expect((await settledAs(site, same.id, 'dead', 'same')).lastError).toBe(`the webhook at ${host} answered 304 (not a 2xx: the receiver did not take the alert; fix the receiver, then retry the dead letter)`);
    expect(hooks.requests.map((request) => request.path).sort()).toEqual(['/moved', '/same']);
  });

  it('logs a receiver\'s answer with its addresses masked, and keeps it whole in the dead letter, where an erasure reaches it', async () => {
    const site = newSite();
    const hooks = await receiver();
    hooks.respond = () => ({ status: 409, body: 'contact jane.doe+crm@acme-corp.example already exists' });
    const alert = sampleAlert({ site, signal: 'hot' });
    await dispatcher(site, { destinations: [webhook(hooks.url)] }).enqueue([alert]);

    const letter = await settledAs(site, alert.id, 'dead');
    expect(letter.lastError).toContain('contact jane.doe+crm@acme-corp.example already exists');
    const logged = logLines.find((line) => line.message.startsWith('alert delivery failed for good') && (line.details as { alert?: string }).alert === alert.id);
    expect((logged?.details as { error?: string }).error).toMatch(/^the webhook at .* answered 409: contact \[email\] already exists \(/);
    expect(JSON.stringify(logLines)).not.toContain('jane.doe');
  });

  it('gives up after 24 hours of failures and says so', async () => {
    const site = newSite();
    const hooks = await receiver();
    hooks.respond = () => ({ status: 503 });
    let offset = 0;
    const alert = sampleAlert({ site });
    await dispatcher(site, { destinations: [webhook(hooks.url)] }, { now: () => Date.now() + offset }).enqueue([alert]);
    await waitFor(() => hooks.requests.length >= 2);
    offset = 25 * HOUR;
    const letter = await settledAs(site, alert.id, 'dead');
    expect(letter.lastError).toMatch(/^gave up after \d+ attempts \(the retry window ended .+\): the webhook at .+ answered 503$/);
    expect(letter.giveUpAt - letter.createdAt).toBeLessThanOrEqual(24 * HOUR + 60_000);
  });

  it('times out a receiver that does not answer, and retries it', async () => {
    const site = newSite();
    const hooks = await receiver();
    hooks.respond = (_request, index) => (index === 0 ? new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 1500)) : { status: 200 });
    const alert = sampleAlert({ site });
    await dispatcher(site, { destinations: [webhook(hooks.url)] }, { requestTimeoutMs: 250 }).enqueue([alert]);
    const delivered = await settledAs(site, alert.id, 'delivered');
    expect(delivered.attempts).toBe(2);
    expect(delivered.lastError).toBe(`the webhook at ${new URL(hooks.url).host}: no answer within 0.25 s`);
  });
});

describe('the outbox across restarts and repeats', () => {
  it('a restart in the middle of retries neither loses nor duplicates the alert', async () => {
    const site = newSite();
    const hooks = await receiver();
    let restarted = false;
    hooks.respond = () => (restarted ? { status: 204 } : { status: 503, body: 'down for maintenance' });
    const alert = sampleAlert({ site });
    const first = dispatcher(site, { destinations: [webhook(hooks.url)] });
    await first.enqueue([alert]);
    await waitFor(() => hooks.requests.length >= 2);
    await first.close();

    const meanwhile = (await deliveries(site, alert.id))[0]!;
    expect(meanwhile.state).toBe('pending');
    expect(meanwhile.attempts).toBe(hooks.requests.length);
    restarted = true;

    // A new process: a new dispatcher over the same store. The evaluator may well produce the same alert again.
    const second = dispatcher(site, { destinations: [webhook(hooks.url)] });
    expect(await second.enqueue([alert])).toEqual({ queued: 0, suppressedBy: {}, duplicates: 1 });
    const delivered = await settledAs(site, alert.id, 'delivered');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(delivered.attempts).toBe(meanwhile.attempts + 1);
    expect(hooks.requests).toHaveLength(meanwhile.attempts + 1);
    expect(hooks.requests.filter((request) => request.headers['webhook-id'] === alert.id)).toHaveLength(hooks.requests.length);
  });

  it('close() waits for a send in flight and records it, so the next dispatcher does not send it again', async () => {
    const site = newSite();
    const hooks = await receiver();
    hooks.respond = () => new Promise((resolve) => setTimeout(() => resolve({ status: 200 }), 400));
    const alert = sampleAlert({ site });
    const first = dispatcher(site, { destinations: [webhook(hooks.url)] });
    await first.enqueue([alert]);
    await waitFor(() => hooks.requests.length === 1);
    await first.close();
    expect((await deliveries(site, alert.id))[0]).toMatchObject({ state: 'delivered', attempts: 1 });

    dispatcher(site, { destinations: [webhook(hooks.url)] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hooks.requests).toHaveLength(1);
  });

  it('sends nothing while paused (another collector sends), records what it is given, and sends it once started again', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)] });
    alerts.pause();
    const alert = sampleAlert({ site });
    expect(await alerts.enqueue([alert])).toMatchObject({ queued: 1 });
    // Several looks at the outbox (every 200 ms here) would have found it due.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(hooks.requests).toHaveLength(0);
    expect((await deliveries(site, alert.id))[0]).toMatchObject({ state: 'pending', attempts: 0 });
    alerts.start();
    await settledAs(site, alert.id, 'delivered');
    expect(hooks.requests).toHaveLength(1);
  });

  it('keeps an alert another collector recorded for a destination this config has not got yet for the first sender that has it, and dead-letters one the config dropped', async () => {
    const site = newSite();
    const hooks = await receiver();
    // The sender still on the config before a destination "crm2" was added, its retries far apart (the real backoff
    // reaches 30 min): a collector already on the new config recorded an alert for crm2.
    const before = dispatcher(site, { destinations: [webhook(hooks.url)] }, { backoff: { baseMs: 600_000, capMs: 600_000, random: () => 1 } });
    const toCrm2 = (alert: Alert): Delivery => ({ ...settledDelivery(alert, 'delivered', { id: 'crm2', type: 'webhook' }), state: 'pending', attempts: 0, deliveredAt: null, version: 1 });
    const added = sampleAlert({ site });
    // And one recorded an hour ago, before this sender's config dropped crm2.
    const dropped = sampleAlert({ site, createdAt: new Date(Date.now() - HOUR).toISOString() });
    await writeDeliveries(store.client, [toCrm2(added), toCrm2(dropped)]);
    expect((await settledAs(site, dropped.id, 'dead', 'crm2')).lastError).toBe(`destination "crm2" of site "${site}" is no longer configured`);
    const waiting = await waitFor(async () => (await deliveries(site, added.id)).find((delivery) => delivery.attempts > 0), 10_000, 'an attempt');
    expect(waiting).toMatchObject({ state: 'pending', destinationId: 'crm2' });
    expect(waiting.lastError).toBe(`destination "crm2" of site "${site}" is not in this collector's config: another collector recorded the alert under a config that has it (a config change being rolled out); it waits for a sender with that config`);
    expect(waiting.nextAttemptAt).toBeGreaterThan(Date.now() + 5 * 60_000);
    await before.close();
    // The sender with the new config sends it at once, not at the attempt the old one planned.
    dispatcher(site, { destinations: [webhook(hooks.url), webhook(`${hooks.url}/crm2`, 'crm2')] });
    await settledAs(site, added.id, 'delivered', 'crm2');
    expect(hooks.requests.map((request) => [request.path, request.headers['webhook-id']])).toEqual([['/crm2', added.id]]);
  });

  it('stores and delivers an alert enqueued twice only once', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alert = sampleAlert({ site });
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)] });
    const results = await Promise.all([alerts.enqueue([alert, alert]), alerts.enqueue([alert])]);
    expect(results).toEqual([
      { queued: 1, suppressedBy: {}, duplicates: 1 },
      { queued: 0, suppressedBy: {}, duplicates: 1 },
    ]);
    await settledAs(site, alert.id, 'delivered');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests).toHaveLength(1);
    expect(await deliveries(site, alert.id)).toHaveLength(1);
  });
});

describe('erasure', () => {
  it('an alert erased while a send of it was in flight stays erased, and is not sent again', async () => {
    const site = newSite();
    const hooks = await receiver();
    let answer: (status: number) => void = () => {};
    hooks.respond = (_request, index) => (index === 0 ? new Promise((resolve) => (answer = (status) => resolve({ status }))) : { status: 204 });
    const alert = sampleAlert({ site });
    await dispatcher(site, { destinations: [webhook(hooks.url)] }).enqueue([alert]);
    await waitFor(() => hooks.requests.length === 1, 10_000, 'the first send');

    // DELETE /api/leads/:id while the receiver is still answering; then it answers 503, which is retried.
    await eraseLead(store.client, site, { id: alert.lead.id, email: alert.lead.email, visitorIds: [], sharedVisits: {}, handedOver: [], formerEmails: [], putRight: {}, leadIds: [alert.lead.id] });
    answer(503);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await deliveries(site, alert.id)).toEqual([]);
    expect(hooks.requests).toHaveLength(1);
  });
});

describe('cooldown', () => {
  it('suppresses a second alert for the same lead and signal within 24 hours, but not another signal, nor the same one a day later', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)] });
    const lead = { id: 'l_00000000000000cool01' };
    const at = (hours: number) => new Date(Date.now() + hours * HOUR).toISOString();
    const first = sampleAlert({ site, lead, signal: 'demo_request', createdAt: at(0) });
    const again = sampleAlert({ site, lead, signal: 'demo_request', createdAt: at(3) });
    const other = sampleAlert({ site, lead, signal: 'pricing_dwell', createdAt: at(3) });
    const nextDay = sampleAlert({ site, lead, signal: 'demo_request', createdAt: at(25) });

    expect(await alerts.enqueue([first])).toEqual({ queued: 1, suppressedBy: {}, duplicates: 0 });
    expect(await alerts.enqueue([again, other])).toEqual({ queued: 1, suppressedBy: { cooldown: 1 }, duplicates: 0 });
    expect(await alerts.enqueue([nextDay])).toEqual({ queued: 1, suppressedBy: {}, duplicates: 0 });

    for (const sent of [first, other, nextDay]) await settledAs(site, sent.id, 'delivered');
    const [suppressed] = await deliveries(site, again.id);
    expect(suppressed).toMatchObject({ state: 'suppressed', destinationId: '', attempts: 0 });
    // Its time written as the pages write every other time beside it ("20 Nov 2026, 10:00 UTC"), not in ISO 8601.
    expect(suppressed!.lastError).toBe(`cooldown: this lead had a "demo_request" alert at ${formatTime(first.createdAt)}, less than 24 h before`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests.map((request) => request.headers['webhook-id']).sort()).toEqual([first.id, other.id, nextDay.id].sort());
  });

  it('applies within one batch too, and follows the site\'s cooldownHours', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)], cooldownHours: 1 });
    const lead = { id: 'l_00000000000000cool02' };
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    const batch = [sampleAlert({ site, lead, createdAt: at(30) }), sampleAlert({ site, lead, createdAt: at(0) }), sampleAlert({ site, lead, createdAt: at(61) })];
    expect(await alerts.enqueue(batch)).toEqual({ queued: 2, suppressedBy: { cooldown: 1 }, duplicates: 0 });
    expect((await deliveries(site, batch[0]!.id))[0]!.state).toBe('suppressed');
  });
});

describe('hourly cap', () => {
  it('keeps the alerts past the site\'s maxPerHour in any hour as suppressed, and sends again once the hour\'s count falls', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)], maxPerHour: 2 });
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    // Four leads' demo requests within 20 minutes: a flood of made-up emails, say.
    const flood = [0, 10, 15, 20].map((minutes, n) => sampleAlert({ site, lead: { id: `l_0000000000000000cap${n}` }, createdAt: at(minutes) }));
    expect(await alerts.enqueue(flood.slice(0, 3))).toEqual({ queued: 2, suppressedBy: { hourly_cap: 1 }, duplicates: 0 });
    expect(await alerts.enqueue(flood.slice(3))).toEqual({ queued: 0, suppressedBy: { hourly_cap: 1 }, duplicates: 0 });
    const [capped] = await deliveries(site, flood[2]!.id);
    expect(capped).toMatchObject({ state: 'suppressed', destinationId: '', attempts: 0 });
    expect(capped!.lastError).toBe('hourly cap: the site sent 2 alerts in the hour before this one (alerts.maxPerHour: 2); kept here, not sent');
    // At 65 minutes only the one of 10 minutes is in the hour before (those held back do not count): sent.
    const later = sampleAlert({ site, lead: { id: 'l_0000000000000000cap9' }, createdAt: at(65) });
    expect(await alerts.enqueue([later])).toEqual({ queued: 1, suppressedBy: {}, duplicates: 0 });
    for (const sent of [flood[0]!, flood[1]!, later]) await settledAs(site, sent.id, 'delivered');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests.map((request) => request.headers['webhook-id']).sort()).toEqual([flood[0]!.id, flood[1]!.id, later.id].sort());
  });

  it('keeps the last fifth of the hour for demo requests: a wave of leads becoming hot cannot hold back a hand-raiser', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)], maxPerHour: 5 });
    const at = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();
    // Five leads made hot at their next visits (new rules, a lower threshold): four are sent, the fifth slot is kept.
    const wave = [0, 1, 2, 3, 4].map((minutes, n) => sampleAlert({ site, signal: 'hot', lead: { id: `l_000000000000000wave${n}` }, createdAt: at(minutes) }));
    expect(await alerts.enqueue(wave)).toEqual({ queued: 4, suppressedBy: { hourly_cap: 1 }, duplicates: 0 });
    expect((await deliveries(site, wave[4]!.id))[0]!.lastError).toBe(
      'hourly cap: the site sent 4 alerts in the hour before this one (alerts.maxPerHour: 5, the last 1 of them kept for demo requests); kept here, not sent',
    );
    // A demo request takes it; the next one meets the cap.
    const requests = [10, 11].map((minutes, n) => sampleAlert({ site, signal: 'demo_request', lead: { id: `l_0000000000000asked${n}` }, createdAt: at(minutes) }));
    expect(await alerts.enqueue(requests)).toEqual({ queued: 1, suppressedBy: { hourly_cap: 1 }, duplicates: 0 });
    expect((await deliveries(site, requests[1]!.id))[0]!.lastError).toBe('hourly cap: the site sent 5 alerts in the hour before this one (alerts.maxPerHour: 5); kept here, not sent');
    await settledAs(site, requests[0]!.id, 'delivered');
  });

  it('lets through the first to happen of alerts one scoring pass raised together', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)], maxPerHour: 1 });
    // One pass, one createdAt; their signals 30, 20 and 10 seconds before it, ids that sort the other way round.
    const createdAt = new Date().toISOString();
    const before = (seconds: number) => new Date(Date.parse(createdAt) - seconds * 1000).toISOString();
    const pass = [10, 20, 30].map((seconds, n) => sampleAlert({ site, id: `al_00000000000000000000cap${n}`, lead: { id: `l_00000000000000pass${n}` }, createdAt, triggeredAt: before(seconds) }));
    expect(await alerts.enqueue(pass)).toEqual({ queued: 1, suppressedBy: { hourly_cap: 2 }, duplicates: 0 });
    await settledAs(site, pass[2]!.id, 'delivered');
    expect((await deliveries(site, pass[0]!.id))[0]!.state).toBe('suppressed');
  });
});

describe('routing', () => {
  it('sends by territory (country) and by owner to several destinations, with a fallback for everyone else', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, {
      destinations: [webhook(`${hooks.url}/fr`, 'sales-fr'), webhook(`${hooks.url}/dach`, 'sales-dach'), webhook(`${hooks.url}/sam`, 'sam'), webhook(`${hooks.url}/world`, 'world')],
      routes: [
        { destinations: ['sales-fr'], countries: ['FR', 'Belgique', 'LU'] },
        { destinations: ['sales-dach'], countries: ['DE', 'AT', 'CH'] },
        { destinations: ['sam'], owners: ['sam@vendor.test'] },
        { destinations: ['world'], fallback: true },
      ],
    });
    const french = sampleAlert({ site, lead: { country: 'BE', owner: '' } });
    const swissOwnedBySam = sampleAlert({ site, lead: { country: 'CH', owner: 'sam@vendor.test' } });
    const american = sampleAlert({ site, lead: { country: 'US', owner: 'kim@vendor.test' } });
    await alerts.enqueue([french, swissOwnedBySam, american]);
    await settledAs(site, french.id, 'delivered', 'sales-fr');
    await settledAs(site, swissOwnedBySam.id, 'delivered', 'sam');
    await settledAs(site, swissOwnedBySam.id, 'delivered', 'sales-dach');
    await settledAs(site, american.id, 'delivered', 'world');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const received = (path: string) => hooks.requests.filter((request) => request.path === path).map((request) => request.headers['webhook-id']);
    expect(received('/fr')).toEqual([french.id]);
    expect(received('/dach')).toEqual([swissOwnedBySam.id]);
    expect(received('/sam')).toEqual([swissOwnedBySam.id]);
    expect(received('/world')).toEqual([american.id]);
  });

  it('records an alert no route matches, or a disabled signal, as suppressed and sends nothing', async () => {
    const site = newSite();
    const hooks = await receiver();
    const alerts = dispatcher(site, { destinations: [webhook(hooks.url)], routes: [{ destinations: ['crm'], countries: ['FR'] }], signals: ['demo_request', 'hot'] });
    const elsewhere = sampleAlert({ site, lead: { country: 'JP' } });
    const disabled = sampleAlert({ site, signal: 'weak_accumulation' });
    expect(await alerts.enqueue([elsewhere, disabled])).toEqual({ queued: 0, suppressedBy: { no_route: 1, signal_disabled: 1 }, duplicates: 0 });
    expect((await deliveries(site, elsewhere.id))[0]).toMatchObject({ state: 'suppressed', lastError: 'no route matches (signal demo_request, owner "", country "JP")' });
    expect((await deliveries(site, disabled.id))[0]).toMatchObject({ state: 'suppressed', lastError: 'the signal "weak_accumulation" is not enabled for this site (alerts.signals)' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests).toHaveLength(0);
  });
});

describe('Slack', () => {
  it('posts a Block Kit message with a text fallback to the incoming webhook', async () => {
    const site = newSite();
    const slack = await receiver();
    slack.respond = () => ({ status: 200, body: 'ok' });
    const alert = sampleAlert({ site, lead: { owner: 'sam@vendor.test' } });
    await dispatcher(site, { destinations: [{ type: 'slack', id: 'team', url: `${slack.url}/services/T000/B000/XXXX` }] }).enqueue([alert]);
    await settledAs(site, alert.id, 'delivered', 'team');
    const message = JSON.parse(slack.requests[0]!.body) as { text: string; blocks: { type: string; text?: { text: string }; elements?: { url?: string }[] }[] };
    expect(message.text).toBe(`Demo request: Ada Lovelace (Lovelace Ltd), score 72 (hot). Asked to talk to sales (form demo-request). ${alert.lead.url}`);
    expect(message.blocks.map((block) => block.type)).toEqual(['header', 'section', 'section', 'actions', 'context']);
    expect(message.blocks[0]!.text!.text).toBe('Demo request: Ada Lovelace (Lovelace Ltd)');
    expect(message.blocks[3]!.elements![0]!.url).toBe(alert.lead.url);
  });

  it('makes Slack\'s "no_service" (404) a dead letter with Slack\'s reason', async () => {
    const site = newSite();
    const slack = await receiver();
    slack.respond = () => ({ status: 404, body: 'no_service' });
    const alert = sampleAlert({ site });
    await dispatcher(site, { destinations: [{ type: 'slack', id: 'team', url: slack.url }] }).enqueue([alert]);
    const letter = await settledAs(site, alert.id, 'dead', 'team');
    expect(letter.lastError).toMatch(/^Slack answered 404: no_service \(a 4xx other than 408 and 429 is not retried/);
  });
});

describe('email', () => {
  it('mails the lead\'s owner, or the sales list, through SMTP with a subject, a plain text part and an HTML part', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver({ credentials: { user: 'hearth', password: 'smtp secret' } });
    cleanups.push(() => smtp.close());
    process.env.TEST_ALERTS_SMTP_PASSWORD = 'smtp secret';
    const alerts = dispatcher(
      site,
      { destinations: [{ type: 'email', id: 'sales', to: ['owner', 'sales@acme.test', 'ops@acme.test'] }] },
      // The test server has no TLS: a relay on a network trusted to carry the password in clear.
      { smtp: { host: '127.0.0.1', port: smtp.port, user: 'hearth', password: 'env:TEST_ALERTS_SMTP_PASSWORD', requireTls: false, from: 'Hearth <alerts@acme.test>' } },
    );
    const owned = sampleAlert({ site, lead: { owner: 'sam@vendor.test', name: 'Zoë <b>Ndiaye</b>', company: 'Ndiaye & Fils' } });
    const unowned = sampleAlert({ site, signal: 'hot', lead: { owner: '' } });
    await alerts.enqueue([owned, unowned]);
    await settledAs(site, owned.id, 'delivered', 'sales');
    await settledAs(site, unowned.id, 'delivered', 'sales');

    const toOwner = smtp.mails.find((mail) => mail.raw.includes(owned.id))!;
    expect(toOwner.from).toBe('alerts@acme.test');
    expect(toOwner.to).toEqual(['sam@vendor.test']);
    const mail = parseMail(toOwner.raw);
    expect(mail.headers.get('subject')).toBe('[Hearth] Demo request: Zoë <b>Ndiaye</b> (Ndiaye & Fils), score 72 (hot)');
    expect(mail.headers.get('to')).toBe('sam@vendor.test');
    expect(mail.headers.get('message-id')).toBe(`<${owned.id}.sales@acme.test>`);
    // Out-of-office replies leave it unanswered (RFC 3834).
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.text).toContain('Asked to talk to sales (form demo-request)');
    expect(mail.text).toContain('- Pricing page +40 (3×, capped)');
    expect(mail.text).toContain(`Open the lead: ${owned.lead.url}`);
    expect(mail.html).toContain('<h2 style="margin:0 0 8px">Demo request: Zoë &lt;b&gt;Ndiaye&lt;/b&gt; (Ndiaye &amp; Fils)</h2>');
    expect(mail.html).toContain(`<a href="${owned.lead.url}">Open the lead</a>`);

    const toList = smtp.mails.find((mail) => mail.raw.includes(unowned.id))!;
    expect(toList.to).toEqual(['sales@acme.test', 'ops@acme.test']);
    expect(parseMail(toList.raw).headers.get('subject')).toBe('[Hearth] Became hot: Ada Lovelace (Lovelace Ltd), score 72 (hot)');
    expect(smtp.mails).toHaveLength(2);
  });

  it('never sends the password to a server that offers no STARTTLS, and says so in a dead letter at once', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver({ credentials: { user: 'hearth', password: 'smtp secret' } });
    cleanups.push(() => smtp.close());
    process.env.TEST_ALERTS_SMTP_PASSWORD = 'smtp secret';
    const alerts = dispatcher(
      site,
      { destinations: [{ type: 'email', id: 'sales', to: ['sales@acme.test'] }] },
      { smtp: { host: '127.0.0.1', port: smtp.port, user: 'hearth', password: 'env:TEST_ALERTS_SMTP_PASSWORD', from: 'Hearth <alerts@acme.test>' } },
    );
    const alert = sampleAlert({ site });
    await alerts.enqueue([alert]);
    const letter = await settledAs(site, alert.id, 'dead', 'sales');
    expect(letter.attempts).toBe(1);
    expect(letter.lastError).toMatch(/STARTTLS.*\(TLS failed: the server offers no STARTTLS, which smtp\.requireTls asks for before the password goes/);
    expect(smtp.logins).toEqual([]);
    expect(smtp.mails).toEqual([]);
  });

  it('waits for a server that takes its time to accept a message, rather than sending it again and again', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver({ replyDelayMs: 1500 });
    cleanups.push(() => smtp.close());
    // A connection still gives up after 300 ms; the answer to a message sent may take longer (10 minutes by default).
    const alerts = dispatcher(site, { destinations: [{ type: 'email', id: 'sales', to: ['sales@acme.test'] }] }, { requestTimeoutMs: 300, smtp: { host: '127.0.0.1', port: smtp.port, from: 'alerts@acme.test' } });
    const alert = sampleAlert({ site });
    await alerts.enqueue([alert]);
    const delivered = await settledAs(site, alert.id, 'delivered', 'sales');
    expect(delivered.attempts).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(smtp.mails).toHaveLength(1);
  });

  it('says whom a mail did not reach when the server refused some recipients and took it for the others', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver({ refuse: ['nobody@acme.test'] });
    cleanups.push(() => smtp.close());
    const alerts = dispatcher(site, { destinations: [{ type: 'email', id: 'team', to: ['sales@acme.test', 'nobody@acme.test'] }] }, { smtp: { host: '127.0.0.1', port: smtp.port, from: 'alerts@acme.test' } });
    const alert: Alert = sampleAlert({ site });
    await alerts.enqueue([alert]);
    const delivered = await settledAs(site, alert.id, 'delivered', 'team');
    expect(smtp.mails.map((mail) => mail.to)).toEqual([['sales@acme.test']]);
    // Delivered (a retry would mail sales again), with the refusal kept where the Alerts page shows it: the server's
    // reply whole, the address it names in angle brackets included (not read as a tag).
    expect(delivered).toMatchObject({ attempts: 1 });
    expect(delivered.lastError).toMatch(new RegExp(`^not delivered to nobody@acme\\.test: SMTP 127\\.0\\.0\\.1:${smtp.port} refused it \\(.*550 5\\.1\\.1 <nobody@acme\\.test>: Recipient address rejected: User unknown in local recipient table\\)$`));
    // The log masks it, as any address in a receiver's answer.
    const logged = logLines.find((line) => line.message === 'alert delivered, but not to every recipient' && (line.details as { alert?: string }).alert === alert.id);
    expect((logged?.details as { error?: string }).error).toContain('550 5.1.1 <[email]>: Recipient address rejected');
    expect(JSON.stringify(logLines)).not.toContain('nobody@acme.test');
  });

  it('keeps the address an SMTP server names when it refuses every recipient: a dead letter saying whom, the log masking it', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver({ refuse: ['nobody@example.test'] });
    cleanups.push(() => smtp.close());
    const alerts = dispatcher(site, { destinations: [{ type: 'email', id: 'team', to: ['nobody@example.test'] }] }, { smtp: { host: '127.0.0.1', port: smtp.port, from: 'alerts@acme.test' } });
    const alert: Alert = sampleAlert({ site });
    await alerts.enqueue([alert]);
    const dead = await settledAs(site, alert.id, 'dead', 'team');
    expect(dead.lastError).toMatch(new RegExp(`^SMTP 127\\.0\\.0\\.1:${smtp.port}: .*550 5\\.1\\.1 <nobody@example\\.test>: Recipient address rejected`));
    expect(dead.lastError).not.toContain(' : Recipient');
    const logged = logLines.find((line) => line.message.startsWith('alert delivery failed for good') && (line.details as { alert?: string }).alert === alert.id);
    expect((logged?.details as { error?: string }).error).toContain('550 5.1.1 <[email]>: Recipient address rejected');
    expect(JSON.stringify(logLines)).not.toContain('nobody@example.test');
  });

  it('makes a message the SMTP server refuses a dead letter with its reply as text: markup left out, cut short', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver({ refuseData: `5.7.1 <html><body><b>Rejected</b> as spam <script>alert(1)</script>${'x'.repeat(400)} END</body></html>` });
    cleanups.push(() => smtp.close());
    const alerts = dispatcher(site, { destinations: [{ type: 'email', id: 'sales', to: ['sales@acme.test'] }] }, { smtp: { host: '127.0.0.1', port: smtp.port, from: 'alerts@acme.test' } });
    const alert: Alert = sampleAlert({ site });
    await alerts.enqueue([alert]);
    const dead = await settledAs(site, alert.id, 'dead', 'sales');
    expect(dead.attempts).toBe(1);
    const reply = dead.lastError.slice(`SMTP 127.0.0.1:${smtp.port}: `.length);
    expect(reply).toMatch(/^Message failed: 554 5\.7\.1 Rejected as spam x{100,}$/);
    expect(reply).toHaveLength(200);
  });

  it('retries while the SMTP server is unreachable and delivers once it is back', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver();
    const port = smtp.port;
    await smtp.close();
    const alerts = dispatcher(site, { destinations: [{ type: 'email', id: 'sales', to: ['sales@acme.test'] }] }, { smtp: { host: '127.0.0.1', port, from: 'alerts@acme.test' } });
    const alert: Alert = sampleAlert({ site });
    await alerts.enqueue([alert]);
    const failing = await waitFor(async () => (await deliveries(site, alert.id)).find((delivery) => delivery.attempts >= 1));
    expect(failing.state).toBe('pending');
    expect(failing.lastError).toMatch(new RegExp(`^SMTP 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    const back = await startSmtpReceiver({ port });
    cleanups.push(() => back.close());
    await settledAs(site, alert.id, 'delivered', 'sales');
    expect(back.mails.map((mail) => mail.to)).toEqual([['sales@acme.test']]);
  });

  it('makes TLS spoken to a plain SMTP server a dead letter at once, saying so, instead of a day of retries', async () => {
    const site = newSite();
    const smtp = await startSmtpReceiver();
    cleanups.push(() => smtp.close());
    const alerts = dispatcher(site, { destinations: [{ type: 'email', id: 'sales', to: ['sales@acme.test'] }] }, { smtp: { host: '127.0.0.1', port: smtp.port, secure: true, from: 'alerts@acme.test' } });
    const alert: Alert = sampleAlert({ site });
    await alerts.enqueue([alert]);
    const dead = await settledAs(site, alert.id, 'dead', 'sales');
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toMatch(new RegExp(`^SMTP 127\\.0\\.0\\.1:${smtp.port}: .*wrong version number.* \\(TLS failed: smtp\\.secure is on: is this port TLS from the start \\(465\\)\\?\\)$`, 's'));
    expect(smtp.mails).toEqual([]);
  });
});

describe('a slow or hanging destination', () => {
  it('does not hold up the alerts of another destination: with a backlog and a CRM webhook that never answers, Slack gets every alert within seconds', async () => {
    const site = newSite();
    // The CRM accepts each connection and never answers (until released at the end); Slack answers at once.
    const { receiver: crm, held, release } = await hangingReceiver();
    const slack = await receiver();
    slack.respond = () => ({ status: 200, body: 'ok' });
    const destinations = { destinations: [webhook(crm.url, 'crm'), { type: 'slack', id: 'sales', url: `${slack.url}/services/T000/B000/XXXX` }] };

    // A backlog: 20 alerts, each for both destinations. Each CRM send waits for its 5 s timeout, so getting through
    // the CRM's share takes 20 × 5 s / (sends at once); Slack's must not wait for it (it took 26 s when every
    // destination shared 4 sends at once).
    const timeoutMs = 5_000;
    const backlog = Array.from({ length: 20 }, () => sampleAlert({ site }));
    const first = dispatcher(site, destinations, { requestTimeoutMs: timeoutMs });
    const startedAt = Date.now();
    expect(await first.enqueue(backlog)).toEqual({ queued: 20, suppressedBy: {}, duplicates: 0 });
    await waitFor(() => slack.requests.length >= backlog.length, timeoutMs, 'Slack to receive the 20 alerts while the CRM hangs');
    expect(Date.now() - startedAt).toBeLessThan(timeoutMs);
    // No CRM send has timed out yet: the hanging receiver holds 4 connections of ours (its own share), not more.
    expect(held).toHaveLength(4);
    for (const alert of backlog) await settledAs(site, alert.id, 'delivered', 'sales');

    // A restart while the CRM still hangs, then the CRM comes back: the outbox carries on, nothing is lost, and
    // Slack gets nothing twice.
    await first.close();
    await release();
    dispatcher(site, destinations, { requestTimeoutMs: timeoutMs });
    for (const alert of backlog) await settledAs(site, alert.id, 'delivered', 'crm');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(slack.requests).toHaveLength(backlog.length);
    const slackSaw = slack.requests.map((request) => (JSON.parse(request.body) as { blocks: { elements?: { url?: string }[] }[] }).blocks[3]!.elements![0]!.url);
    expect(new Set(slackSaw)).toEqual(new Set(backlog.map((alert) => alert.lead.url)));
    expect(new Set(crm.requests.map((request) => request.headers['webhook-id']))).toEqual(new Set(backlog.map((alert) => alert.id)));
  });

  it('keeps a bound on the sends in flight across every destination', async () => {
    const site = newSite();
    const { receiver: hooks, held, release } = await hangingReceiver();
    const destinations = { destinations: [webhook(`${hooks.url}/a`, 'a'), webhook(`${hooks.url}/b`, 'b')] };
    const backlog = Array.from({ length: 6 }, () => sampleAlert({ site }));
    await dispatcher(site, destinations, { concurrency: 3, concurrencyPerDestination: 2 }).enqueue(backlog);

    await waitFor(() => held.length >= 3, 5_000, 'three sends in flight');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(held).toHaveLength(3);
    // Both destinations got a send, and neither more than its own 2.
    const sentTo = (path: string) => hooks.requests.filter((request) => request.path === path).length;
    expect([sentTo('/a'), sentTo('/b')].sort()).toEqual([1, 2]);
    await release();
    for (const alert of backlog) for (const destination of ['a', 'b']) await settledAs(site, alert.id, 'delivered', destination);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hooks.requests).toHaveLength(12);
  });
});
