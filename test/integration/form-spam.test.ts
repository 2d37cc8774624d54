import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { BROWSER_USER_AGENT, drained, getJson, newVisitor, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

// A script posting demo-request forms with made-up emails, found by a QA pass: one request of 50 forms made 50 MQLs
// and 100 alert messages. A batch gives at most two emails, and an address a few batches with one a minute; the
// events past that are kept, without the email: no lead, no alert.
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    // Behind a proxy, so that each test speaks from addresses of its own.
    server: { host: '127.0.0.1', port: 0, trustProxy: true },
    limits: { identifyingBatchesPerMinutePerIp: 3 },
  });
});
afterAll(() => server.close());

const demoRequest = (email: string, sid?: string) =>
  wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', ...(sid ? { sid } : {}), p: { 'email email ': email, 'job_title  ': 'CEO' } });

async function post(events: unknown[], from: string) {
  const response = await fetch(`${server.url}/collect`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: SITE_ORIGIN, 'user-agent': BROWSER_USER_AGENT, 'x-forwarded-for': from },
    body: JSON.stringify({ s: 'acme', v: newVisitor(), e: events }),
  });
  return { status: response.status, body: (await response.json()) as { accepted: number; ignored?: { path: string; message: string }[] } };
}

async function leadEmails(domain: string): Promise<string[]> {
  await drained(server);
  const { body } = await getJson(server, '/api/leads?site=acme&kind=lead&limit=1000');
  return (body.leads as { email: string }[]).map((lead) => lead.email).filter((email) => email.endsWith(`@${domain}`)).sort();
}

describe('emails a script posts', () => {
  it('are two at most from one batch: the other forms are stored without theirs, and say so', async () => {
    const emails = [1, 2, 3, 4, 5].map((n) => `mx${n}@one-batch.example`);
    const sent = await post([demoRequest(emails[0]!), demoRequest(emails[0]!), ...emails.slice(1).map((email, i) => demoRequest(email, `visit-000${i}`))], '198.51.100.1');
    expect(sent.status).toBe(202);
    expect(sent.body.accepted).toBe(6);
    expect(sent.body.ignored).toEqual([3, 4, 5].map((n) => ({ path: `e[${n}]`, message: 'a batch gives at most 2 emails: stored without this one' })));
    expect(await leadEmails('one-batch.example')).toEqual(emails.slice(0, 2));
  });

  it('are named at their place in the batch as sent, when events before them were left out', async () => {
    const emails = [1, 2, 3].map((n) => `place${n}@sent-places.example`);
    const identifyWithout = wireEvent({ n: 'i', em: 'not-an-email' });
    const [first, ...others] = emails.map((email, i) => demoRequest(email, `visit-100${i}`));
    const sent = await post([identifyWithout, first, first, ...others], '198.51.100.4');
    expect([sent.status, sent.body.accepted]).toEqual([202, 3]);
    // The third email is the fifth event as sent (e[4]), the third stored.
    expect(sent.body.ignored).toEqual([
      { path: 'e[0].em', message: 'expected an email address (got "not-an-email"): the identify event is left out' },
      { path: 'e[2].i', message: 'the id of e[1]: a repeat, left out' },
      { path: 'e[4]', message: 'a batch gives at most 2 emails: stored without this one' },
    ]);
    expect(await leadEmails('sent-places.example')).toEqual(emails.slice(0, 2));
  });

  it('make no lead past the address\'s batches with an email a minute; another address is not held back', async () => {
    const sent = [];
    for (let n = 1; n <= 5; n++) sent.push(await post([wireEvent(), demoRequest(`spam${n}@per-minute.example`)], '198.51.100.2'));
    expect(sent.map((answer) => [answer.status, answer.body.ignored ?? []])).toEqual([
      ...[1, 2, 3].map(() => [202, []]),
      ...[4, 5].map(() => [202, [{ path: 'e[1]', message: 'more than 3 batches with an email a minute from this address: stored without it' }]]),
    ]);
    // A batch without an email is not counted, nor held back.
    expect((await post([wireEvent()], '198.51.100.2')).body.ignored).toBeUndefined();
    expect((await post([demoRequest('real@per-minute.example')], '198.51.100.3')).body.ignored).toBeUndefined();
    expect(await leadEmails('per-minute.example')).toEqual(['real@per-minute.example', 'spam1@per-minute.example', 'spam2@per-minute.example', 'spam3@per-minute.example']);
  });
});
