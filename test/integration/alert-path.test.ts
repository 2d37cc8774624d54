import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';
import { startHttpReceiver, verifyStandardWebhook, waitFor, type HttpReceiver } from '../support/alerts.ts';

const SECRET = 'whsec_' + Buffer.from('a-test-signing-key-of-32-bytes!!').toString('base64');
let server: RunningServer;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await startHttpReceiver();
  server = await startTestServer({
    sites: [
      {
        id: 'acme',
        origins: [SITE_ORIGIN],
        pageGroups: { pricing: ['/pricing*'], product: ['/product*'] },
        alerts: { destinations: [{ type: 'webhook', id: 'crm', url: `${receiver.url}/hooks/hearth`, secret: SECRET }] },
      },
      {
        // A Czech site: its free-mail rule names its country's provider too.
        id: 'brno',
        origins: ['https://brno.test'],
        rules: { negative: [{ id: 'free-mail', field: 'email_domain', values: ['gmail.com', 'posta.example'], points: -10 }] },
        alerts: { destinations: [{ type: 'webhook', id: 'crm', url: `${receiver.url}/hooks/hearth`, secret: SECRET }] },
      },
    ],
  });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;
const post = (visitor: string, events: unknown[]) => postBatch(server, { s: 'acme', v: visitor, e: events });
const alertsFor = (email: string) =>
  receiver.requests.map((request) => JSON.parse(request.body)).filter((body) => body.data.lead.email === email);

describe('from a visit to an alert', () => {
  it('sends one signed webhook when a lead asks for a demo, then one when it becomes hot, and never the same alert twice', async () => {
    const visitor = newVisitor();
    const email = `ceo.${visitor}@globex.example`;
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing?utm_source=LinkedIn&utm_medium=social`, t: minutesAgo(3) })]);
    await post(visitor, [
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(2), p: { 'email  email': email, 'job_title  ': 'Head of Sales', 'company  ': 'Globex' } }),
    ]);
    await drained(server);
    const [demo] = await waitFor(() => alertsFor(email).length >= 1 && alertsFor(email), 10_000, 'the demo-request alert');
    expect(demo).toMatchObject({
      type: 'lead.signal',
      data: {
        site: 'acme',
        signal: 'demo_request',
        summary: 'Asked to talk to sales: form demo-request',
        // No name given: none, rather than the address as a name (a CRM would make a contact of it).
        // Where it stands, as GET /api/leads says it: a demo request makes a marketing-qualified lead, at the bottom of the funnel.
        lead: { email, name: '', company: 'Globex', jobTitle: 'Head of Sales', owner: null, score: 40, temperature: 'warm', lifecycle: 'mql', stage: 'BOFU',
          firstTouch: { utm_source: 'linkedin', utm_medium: 'social', referrer_host: '' }, url: expect.stringMatching(/\/dashboard\/leads\/l_[0-9a-f]{20}\?site=acme$/) },
        account: { id: 'globex.example', name: 'Globex' },
      },
    });
    expect(demo.data.lead.topReasons.map((reason: { rule: string }) => reason.rule)).toEqual(['manager-director', 'pricing-page']);
    const request = receiver.requests.find((candidate) => JSON.parse(candidate.body).data.lead.email === email)!;
    expect(verifyStandardWebhook(SECRET, request.headers, request.body)).toBeNull();
    expect(request.headers['webhook-id']).toBe(demo.data.id);

    // Declaring a bigger company makes the lead hot: a second, different alert.
    await post(visitor, [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: email, t: minutesAgo(1), p: { company_size: '1000', industry: 'Software' } })]);
    await drained(server);
    await waitFor(() => alertsFor(email).length >= 2, 10_000, 'the hot alert');
    expect(alertsFor(email).map((alert) => alert.data.signal)).toEqual(['demo_request', 'hot']);
    expect(alertsFor(email)[1].data.lead).toMatchObject({ score: 85, temperature: 'hot' });

    // Rescoring everything again (a restart does) re-evaluates the same triggers: nothing new is sent.
    await server.scorer.rescoreAll('acme');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(alertsFor(email)).toHaveLength(2);
    const listed = await getJson(server, `/api/alerts?site=acme&lead=${demo.data.lead.id}`);
    expect(listed.status).toBe(200);
  });

  it('scores the account of each alert from its colleagues as they stand, two colleagues asking for a demo at once', async () => {
    const domain = `initech-${newVisitor()}.example`;
    // A CEO who studied pricing (50, warm) is stored first.
    const first = newVisitor();
    await post(first, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(5) }), wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(4), p: { email: `ceo@${domain}`, job_title: 'CEO' } })]);
    await drained(server);
    // Then two colleagues ask for a demo, a manager (20) and a CTO (30), scored in one round: each one's alert counts
    // the other too, as the account will once their scores are stored.
    const [second, third] = [newVisitor(), newVisitor()];
    const demo = (visitor: string, email: string, title: string) =>
      post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(2), p: { email, job_title: title } })]);
    await server.scorer.holding(async () => {
      await Promise.all([demo(second, `ops@${domain}`, 'Head of Operations'), demo(third, `cto@${domain}`, 'CTO')]);
      await server.sink.drained();
    });
    await drained(server);
    const alerts = await waitFor(() => {
      const sent = [`ops@${domain}`, `cto@${domain}`].flatMap((email) => alertsFor(email));
      return sent.length >= 2 && sent;
    }, 10_000, "the colleagues' alerts");
    const account = (await getJson(server, '/api/accounts?site=acme')).body.accounts.find((candidate: { id: string }) => candidate.id === domain);
    expect(account).toMatchObject({ leads: 3 });
    for (const alert of alerts) {
      expect(alert.data.account, alert.data.lead.email).toEqual({ id: domain, name: domain, score: account.score, temperature: account.temperature });
    }
  });

  it('groups the leads on a provider the site names in its free-mail rule by their companies, in alerts and accounts (QA)', async () => {
    // Three strangers of three companies on the site's free-mail provider, each asking for a demo.
    const tag = newVisitor().slice(0, 8);
    const companies = [`Pekarna ${tag}`, `Instalater ${tag}`, `Kadernictvi ${tag}`];
    const emails = companies.map((_, n) => `${'abc'[n]}.${tag}@posta.example`);
    for (const [n, email] of emails.entries()) {
      const response = await postBatch(server, { s: 'brno', v: newVisitor(), e: [wireEvent({ n: 'f', u: 'https://brno.test/contact', k: 'demo-request', t: minutesAgo(2), p: { email, company: companies[n]!, job_title: 'CEO' } })] }, { origin: 'https://brno.test' });
      expect(response.status).toBe(202);
    }
    await drained(server);
    const alerts = await waitFor(() => {
      const sent = emails.flatMap((email) => alertsFor(email));
      return sent.length >= 3 && sent;
    }, 10_000, 'the demo requests');
    expect(alerts.map((alert) => alert.data.account?.id).sort()).toEqual(companies.map((company) => `company:${company.toLowerCase()}`).sort());
    const accounts = (await getJson(server, '/api/accounts?site=brno&limit=1000')).body.accounts.map((account: { id: string }) => account.id);
    expect(accounts).not.toContain('posta.example');
    expect(accounts).toEqual(expect.arrayContaining(companies.map((company) => `company:${company.toLowerCase()}`)));
  });

  it('gives the reasons that weigh most either way: a student\'s minus points say why the demo request is cold', async () => {
    const visitor = newVisitor();
    const email = `lea.${visitor}@gmail.com`;
    await post(visitor, [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(3) })]);
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(2), p: { 'email  email': email, 'job_title  ': 'Étudiante' } })]);
    await drained(server);
    const [demo] = await waitFor(() => alertsFor(email).length >= 1 && alertsFor(email), 10_000, 'the demo-request alert');
    expect(demo.data.lead).toMatchObject({ score: -5, temperature: 'cold' });
    expect(demo.data.lead.topReasons.map((reason: { rule: string; points: number }) => [reason.rule, reason.points])).toEqual([['pricing-page', 20], ['student', -15], ['free-mail', -10]]);
  });

  it('sends nothing for a lead sales disqualified, and keeps its alert as suppressed with their reason', async () => {
    const visitor = newVisitor();
    const email = `eve.${visitor}@umbrella.example`;
    await post(visitor, [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: email, t: minutesAgo(5) })]);
    await drained(server);
    const id = `l_${createHash('sha256').update(email).digest('hex').slice(0, 20)}`;
    const disqualified = await fetch(`${server.url}/api/leads/${id}/qualification?site=acme`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ disqualified: true, reason: 'competitor employee' }),
    });
    expect(disqualified.status).toBe(200);

    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(1), p: { 'email  email': email } })]);
    await drained(server);
    const listed = await waitFor(async () => (await getJson(server, `/api/alerts?site=acme&lead=${id}&status=suppressed`)).body.alerts.find((alert: { signal: string }) => alert.signal === 'demo_request'), 10_000, 'the suppressed demo-request alert');
    expect(JSON.stringify(listed)).toContain('the lead is disqualified (competitor employee): its alerts are not sent');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(alertsFor(email)).toEqual([]);
  });

  it('does not alert again for the same demo request when the person corrects their email', async () => {
    const visitor = newVisitor();
    const [typo, fixed] = [`grace.${visitor}@globex.exmaple`, `grace.${visitor}@globex.example`];
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(3), p: { 'email  email': typo } })]);
    await drained(server);
    await waitFor(() => alertsFor(typo).length >= 1, 10_000, 'the demo-request alert');
    await post(visitor, [wireEvent({ n: 'i', u: `${SITE_ORIGIN}/`, em: fixed, t: minutesAgo(1) })]);
    await drained(server);
    const now = (await getJson(server, '/api/leads?site=acme&limit=1000')).body.leads.find((lead: { email: string }) => lead.email === fixed);
    expect(now).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(alertsFor(fixed)).toEqual([]);
    // The alert sent links to the mistyped email's lead: its page names where the visits are now.
    const { lead } = alertsFor(typo)[0].data;
    const page = await getJson(server, `/api/leads/${lead.id}?site=acme`);
    expect([page.status, page.body.code, page.body.replacedBy]).toEqual([404, 'lead_not_found', [{ id: now.id, email: fixed }]]);
    expect(page.body.error).toContain(`is no more: its visits belong to ${now.id} (${fixed}) now`);
    // The lead the link leads to lists that alert as its own (its page said "No alert about this lead"); a lead it
    // is not about does not.
    const listed = await getJson(server, `/api/alerts?site=acme&lead=${now.id}`);
    expect(listed.body.alerts.map((alert: { id: string; lead: { id: string; email: string } }) => [alert.id, alert.lead.id, alert.lead.email])).toEqual([[alertsFor(typo)[0].data.id, lead.id, typo]]);
    expect(listed.body.counts.delivered).toBe(1);
    const stranger = `l_${createHash('sha256').update(`other.${visitor}@globex.example`).digest('hex').slice(0, 20)}`;
    expect((await getJson(server, `/api/alerts?site=acme&lead=${stranger}`)).body).toMatchObject({ alerts: [], counts: { delivered: 0 } });
  });

  it('does not alert about an anonymous visitor, however keen', async () => {
    const visitor = newVisitor();
    const before = receiver.requests.length;
    await post(visitor, [wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(1), p: { 'company  ': 'Nobody' } })]);
    await drained(server);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.requests.length).toBe(before);
  });

  it('counts in /metrics the alerts recorded to be sent, and those suppressed by why (a cooldown here)', async () => {
    const recorded = async () => {
      const lines = (await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text()).split('\n');
      const value = (name: string) => Number(/ (\d+)$/.exec(lines.find((line) => line.startsWith(`${name} `))!)![1]);
      return { queued: value('hearth_alerts_queued_total'), cooldown: value('hearth_alerts_suppressed_total{reason="cooldown"}'), cap: value('hearth_alerts_suppressed_total{reason="hourly_cap"}') };
    };
    const before = await recorded();
    const visitor = newVisitor();
    const email = `ops.${visitor}@metrics.example`;
    const demo = (visit: string, minutes: number) => wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', sid: visit, t: minutesAgo(minutes), p: { email } });
    // A demo request, then another in a later visit of the same day: the second is within the cooldown.
    await post(visitor, [demo('first-visit', 50)]);
    await drained(server);
    await waitFor(() => alertsFor(email).length >= 1, 10_000, 'the demo-request alert');
    await post(visitor, [demo('second-visit', 1)]);
    await drained(server);
    await waitFor(async () => (await recorded()).cooldown > before.cooldown, 10_000, 'the suppressed alert counted');
    const after = await recorded();
    expect({ queued: after.queued - before.queued, cooldown: after.cooldown - before.cooldown, cap: after.cap - before.cap }).toEqual({ queued: 1, cooldown: 1, cap: 0 });
    expect(alertsFor(email)).toHaveLength(1);
  });

  it('counts each attempt to send in /metrics, by channel and outcome: delivered, retrying, dead', async () => {
    const attempts = async () => {
      const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).text();
      const count = (outcome: string) => Number(/ (\d+)$/.exec(text.split('\n').find((line) => line.startsWith(`hearth_alert_attempts_total{channel="webhook",outcome="${outcome}"} `))!)![1]);
      return { delivered: count('delivered'), retrying: count('retrying'), dead: count('dead') };
    };
    const before = await attempts();
    const [flaky, refused] = [newVisitor(), newVisitor()];
    const [flakyEmail, refusedEmail] = [`ceo.${flaky}@flaky.example`, `ceo.${refused}@refused.example`];
    const demo = (email: string) => wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: minutesAgo(1), p: { email } });
    // The first try for one lead meets a receiver that is down for a moment; the other lead's the receiver refuses.
    let down = true;
    receiver.respond = (request) => {
      const email = JSON.parse(request.body).data.lead.email;
      if (email === refusedEmail) return { status: 400, body: 'unknown field' };
      if (email === flakyEmail && down) return ((down = false), { status: 503 });
      return { status: 204 };
    };
    try {
      await post(flaky, [demo(flakyEmail)]);
      await post(refused, [demo(refusedEmail)]);
      await drained(server);
      await waitFor(() => alertsFor(flakyEmail).length >= 2 && alertsFor(refusedEmail).length >= 1, 15_000, 'the retry and the refusal');
      await waitFor(async () => (await attempts()).delivered > before.delivered && (await attempts()).dead > before.dead, 5_000, 'the attempts counted');
      const after = await attempts();
      expect({ delivered: after.delivered - before.delivered, retrying: after.retrying - before.retrying, dead: after.dead - before.dead }).toEqual({ delivered: 1, retrying: 1, dead: 1 });
    } finally {
      receiver.respond = () => ({ status: 204 });
    }
  });
});
