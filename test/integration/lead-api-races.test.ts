import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

// Faults a review of the leads API as sales use it found: each test failed before its fix.

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const minutesAgo = (minutes: number) => Date.now() - minutes * 60_000;

async function send(method: string, path: string, body?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function count(table: string, leadId: string) {
  const result = await server.client.query({ query: `SELECT count() AS n FROM ${table} WHERE lead_id = {id:String}`, query_params: { id: leadId }, format: 'JSONEachRow' });
  return Number((await result.json<{ n: string }>())[0]!.n);
}

/** A visitor who views pricing and gives an email: an identified lead. */
async function makeLead() {
  const visitor = newVisitor();
  const email = `kim.${visitor}@initech.test`;
  await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: minutesAgo(10) }), wireEvent({ n: 'i', em: email, t: minutesAgo(9) })] });
  await drained(server);
  const { body } = await getJson(server, `/api/leads?site=acme&visitor=${visitor}`);
  return { id: body.leads[0].id as string, visitor, email };
}

describe('erasing a lead that sales are qualifying', () => {
  it('leaves no qualification behind: a change that found the lead before the erasure does not land after it', async () => {
    const { id } = await makeLead();
    expect((await send('POST', `/api/leads/${id}/qualification?site=acme`, { boxes: { budget: true } })).status).toBe(200);
    // Sam saves a note as the erasure starts: the change finds the lead (its identity rows are not deleted yet), and
    // its insert is slow, as ClickHouse under load (or another collector's) can be.
    const client = server.client;
    const [command, insert] = [client.command.bind(client), client.insert.bind(client)];
    let erased!: () => void;
    const erasure = new Promise<void>((resolve) => (erased = resolve));
    let appending!: () => void;
    const appendStarted = new Promise<void>((resolve) => (appending = resolve));
    let change: Promise<{ status: number; body: any }> | undefined;
    client.command = async (params) => {
      if (!change && /^ALTER TABLE events\b.*DELETE/.test(params.query)) {
        change = send('POST', `/api/leads/${id}/qualification?site=acme`, { notes: { budget: 'Kim’s own budget: 40k, call her on 06 12 34 56 78' } });
        await Promise.race([appendStarted, new Promise((resolve) => setTimeout(resolve, 1500))]);
      }
      return command(params);
    };
    client.insert = (async (params: Parameters<typeof insert>[0]) => {
      if (params.table === 'lead_qualifications') {
        appending();
        await erasure;
      }
      return insert(params);
    }) as typeof insert;
    try {
      expect((await send('DELETE', `/api/leads/${id}?site=acme`)).status).toBe(200);
    } finally {
      erased();
      client.command = command;
      client.insert = insert;
    }
    // Nothing of the change is stored, and it is answered as made on a lead that no longer exists.
    const answer = await change;
    expect(await count('lead_qualifications', id)).toBe(0);
    expect(answer).toMatchObject({ status: 404, body: { code: 'lead_not_found' } });
    expect((await getJson(server, `/api/leads/${id}/qualification?site=acme`)).status).toBe(404);
  });
});

describe('the leads and accounts lists', () => {
  it('refuse a parameter they do not take, naming it, instead of answering as if it were not there', async () => {
    await makeLead();
    // A misspelt filter, and the dashboards' own filters: each listed every lead, as though filtered.
    for (const [path, name] of [
      ['/api/leads?site=acme&tempreature=hot', 'tempreature'],
      ['/api/leads?site=acme&lifecycle=prospect&owners=kim', 'owners'],
      ['/api/leads?site=acme&minScore=60', 'minScore'],
      ['/api/accounts?site=acme&offset=100', 'offset'],
    ] as const) {
      const { status, body } = await getJson(server, path);
      expect({ path, status, code: body.code }).toEqual({ path, status: 400, code: 'invalid_query' });
      expect(body.problems).toEqual([{ path: '(root)', message: `Unrecognized key: "${name}"` }]);
    }
    expect((await getJson(server, '/api/leads?site=acme&owner=sam&sort=recent&limit=5&offset=0&kind=lead&bots=exclude')).status).toBe(200);
  });
});

describe('exporting a person', () => {
  it('gives the profile their own forms make, also when someone else has taken over their only browser since', async () => {
    const shared = newVisitor();
    const [ada, bob] = [`ada.${shared}@alpha.test`, `bob.${shared}@beta.test`];
    const form = (minutes: number, fields: Record<string, string>) =>
      wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', t: minutesAgo(minutes), p: Object.fromEntries(Object.entries(fields).map(([key, value]) => [`${key}  `, value])) });
    await postBatch(server, { s: 'acme', v: shared, e: [form(30, { email: ada, job_title: 'CEO', company: 'Alpha' })] });
    await drained(server);
    const adaId = (await getJson(server, `/api/leads?site=acme&visitor=${shared}`)).body.leads[0].id as string;
    await postBatch(server, { s: 'acme', v: shared, e: [form(20, { email: bob, job_title: 'Intern', phone: '+33 6 12 34 56 78' })] });
    await drained(server);

    const { status, body } = await getJson(server, `/api/leads/${adaId}/export?site=acme`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ email: ada, visitorIds: [], handedOver: [{ visitorId: shared }] });
    expect(body.events.map((event: { type: string }) => event.type)).toEqual(['form']);
    expect(body.profile).toEqual({ job_title: 'CEO', company: 'Alpha' });
  });
});
