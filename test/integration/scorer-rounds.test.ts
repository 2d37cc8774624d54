import type { ClickHouseClient, QueryParams } from '@clickhouse/client';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../collector/config/load.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { insertEvents } from '../../collector/ingest/sink.ts';
import type { WireBatch } from '../../collector/ingest/wire.ts';
import { createScorer, type Scorer } from '../../collector/scorer.ts';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, leadFromForm, newVisitor, postBatch, SITE_ORIGIN, startOverClickHouseHttp, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

// The test server only lends its migrated store: each test runs a scorer of its own on a site of its own.
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const quiet = { warn() {} };
const configOf = (site: string) => parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: site, origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'] } }] }, 'test config');

/** The store, with `before` run ahead of each query (to slow it, fail it, or land a batch meanwhile). */
function withHook(client: ClickHouseClient, before: (params: QueryParams) => unknown): ClickHouseClient {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'query') {
        return async (params: QueryParams) => {
          await before(params);
          return target.query(params);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** A query over one slice of a full pass (a large site's hourly or start rescoring). */
const isSlice = (params: QueryParams) => 'slice_count' in (params.query_params ?? {});

/** Stores a pricing page view (20 points) of a new visitor of `site`, as the write-ahead log would. */
async function pricingVisitor(site: string, visitor = newVisitor()): Promise<string> {
  const event = wireEvent({ u: `${SITE_ORIGIN}/pricing`, t: Date.now() - 5 * 60_000 }) as WireBatch['e'][number];
  await insertEvents(server.client, batchToRows({ s: site, v: visitor, e: [event] }, Date.now()));
  return visitor;
}

/** A new visitor whose anonymous lead falls in this slice of a full pass (compile.ts's leadSliceSql). */
async function visitorOfSlice(index: number, count: number): Promise<string> {
  for (;;) {
    const visitor = newVisitor();
    const result = await server.client.query({ query: 'SELECT cityHash64({visitor:String}) % {count:UInt64} AS slice', query_params: { visitor, count }, format: 'JSONEachRow' });
    const [{ slice }] = (await result.json<{ slice: number | string }>()) as [{ slice: number | string }];
    if (Number(slice) === index) return visitor;
  }
}

async function storedScore(site: string, visitor: string) {
  const result = await server.client.query({
    query: 'SELECT kind, score FROM lead_scores WHERE site_id = {site:String} AND lead_id = {id:String} ORDER BY scored_at',
    query_params: { site, id: `v_${visitor}` },
    format: 'JSONEachRow',
  });
  return result.json<{ kind: string; score: number }>();
}

describe('rescoring rounds', () => {
  it('settles once the leads touched so far are rescored, while batches keep landing (an erasure waits for it)', async () => {
    let scorer: Scorer | undefined;
    let traffic = true;
    // A busy collector: a batch lands while each query runs.
    const busy = withHook(server.client, () => {
      if (traffic) scorer?.noteStored([{ site_id: 'steady', visitor_id: newVisitor(), is_bot: 0 }]);
    });
    scorer = createScorer({ config: configOf('steady'), client: busy, log: quiet, drained: async () => {}, dashboardUrl: () => '', roundGapMs: 20 });
    const visitor = await pricingVisitor('steady');
    scorer.noteStored([{ site_id: 'steady', visitor_id: visitor, is_bot: 0 }]);

    const outcome = await Promise.race([scorer.settled().then(() => 'settled'), sleep(10_000).then(() => 'still waiting after 10 s')]);
    traffic = false;
    expect(outcome).toBe('settled');
    expect(await storedScore('steady', visitor)).toEqual([{ kind: 'visitor', score: 20 }]);
    await scorer.close();
  });

  it('goes on storing and rescoring batches when the clock steps back an hour, as an NTP correction does', async () => {
    const visitor = newVisitor();
    const email = `clock.${visitor}@tick-tock.test`;
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent()] })).status).toBe(202);
    await drained(server);
    const wallClock = Date.now.bind(Date);
    const stepped = vi.spyOn(Date, 'now').mockImplementation(() => wallClock() - 3_600_000);
    try {
      // Posted as the clock steps: the log's flush timer and the scorer's next round were both on the wall clock.
      expect((await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ n: 'i', em: email })] })).status).toBe(202);
      const outcome = await Promise.race([drained(server).then(() => 'stored and rescored'), sleep(10_000).then(() => 'still waiting after 10 s')]);
      expect(outcome).toBe('stored and rescored');
    } finally {
      stepped.mockRestore();
    }
    const { body } = await getJson(server, `/api/leads?site=acme&kind=lead&limit=1000`);
    expect(body.leads.map((lead: { email: string }) => lead.email)).toContain(email);
  });

  it('scores a new lead a slow round after a slow spell of ClickHouse ends, not two, and leaves the slow server half the time', async () => {
    let slow = false;
    const started: number[] = [];
    const slowing = withHook(server.client, async () => {
      started.push(performance.now());
      if (slow) await sleep(1500);
    });
    const scorer = createScorer({ config: configOf('slow-spell'), client: slowing, log: quiet, drained: async () => {}, dashboardUrl: () => '' });
    await scorer.settled();
    // A round while ClickHouse takes 1.5 s a query (a round makes a few): the collector waits, it does not work.
    slow = true;
    const first = await pricingVisitor('slow-spell');
    const roundStart = performance.now();
    scorer.noteStored([{ site_id: 'slow-spell', visitor_id: first, is_bot: 0 }]);
    await vi.waitFor(async () => expect(await storedScore('slow-spell', first)).toEqual([{ kind: 'visitor', score: 20 }]), { timeout: 30_000, interval: 50 });
    const round = performance.now() - roundStart;
    slow = false;
    // ClickHouse is quick again: the next visitor's lead is scored in the next round, once the slow one's length has
    // passed (it took at most half the time), not twice that (a third, counting a round's waiting as work).
    const next = await pricingVisitor('slow-spell');
    const noted = performance.now();
    const queriesBefore = started.length;
    scorer.noteStored([{ site_id: 'slow-spell', visitor_id: next, is_bot: 0 }]);
    await vi.waitFor(async () => expect(await storedScore('slow-spell', next)).toEqual([{ kind: 'visitor', score: 20 }]), { timeout: 30_000, interval: 50 });
    const waited = performance.now() - noted;
    expect(waited).toBeLessThan(1.5 * round);
    // Not back to back either: the next round began no sooner than the slow one's length after it ended.
    expect(started[queriesBefore]! - noted).toBeGreaterThan(0.7 * round);
    await scorer.close();
  });

  it("rescores a browser that gave an email at once, before a busier site's visitors, without waiting out the round gap", async () => {
    const sitesQueried: string[] = [];
    const watching = withHook(server.client, (params) => {
      const site = (params.query_params as { site?: unknown } | undefined)?.site;
      if (typeof site === 'string') sitesQueried.push(site);
    });
    const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: ['noisy', 'quiet'].map((id) => ({ id, origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'] } })) }, 'test config');
    // A gap between rounds far longer than the test: only a round that skips it can score anything after the first.
    const scorer = createScorer({ config, client: watching, log: quiet, drained: async () => {}, dashboardUrl: () => '', roundGapMs: 120_000 });
    await scorer.settled();
    const first = await pricingVisitor('noisy');
    scorer.noteStored([{ site_id: 'noisy', visitor_id: first, is_bot: 0 }]);
    // A round now (as an erasure asks for one), the gap counted from it.
    await scorer.rescored();
    expect(await storedScore('noisy', first)).toHaveLength(1);
    // Anonymous page views wait for the gap…
    const anonymous = await Promise.all([pricingVisitor('noisy'), pricingVisitor('noisy')]);
    scorer.noteStored(anonymous.map((visitor_id) => ({ site_id: 'noisy', visitor_id, is_bot: 0 })));
    await sleep(1500);
    expect(await storedScore('noisy', anonymous[0]!)).toEqual([]);
    // …a demo request does not, and its site goes first.
    const visitor = newVisitor();
    const email = `demo.${visitor}@quiet.test`;
    const form = wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'demo-request', t: Date.now() - 60_000, p: { 'email  email': email } }) as WireBatch['e'][number];
    const rows = batchToRows({ s: 'quiet', v: visitor, e: [form] }, Date.now());
    await insertEvents(server.client, rows);
    const queriedBefore = sitesQueried.length;
    scorer.noteStored([{ site_id: 'quiet', visitor_id: visitor, is_bot: 0 }], [{ site_id: 'quiet', visitor_id: visitor }]);
    await vi.waitFor(async () => expect(await storedScore('noisy', anonymous[0]!)).toHaveLength(1), { timeout: 10_000, interval: 50 });
    expect(sitesQueried[queriedBefore]).toBe('quiet');
    await scorer.close();
  });

  it('rescores the leads batches touch while the full pass keeps failing', async () => {
    // A large site's slice that never ends in time (the HTTP client gives up after 30 s) fails at every try.
    const failing = withHook(server.client, (params) => {
      if (isSlice(params)) throw new Error('Timeout error.');
    });
    await pricingVisitor('failing-pass');
    await pricingVisitor('failing-pass');
    const scorer = createScorer({ config: configOf('failing-pass'), client: failing, log: quiet, drained: async () => {}, dashboardUrl: () => '', sliceLeads: 1 });
    const visitor = await pricingVisitor('failing-pass');
    scorer.noteStored([{ site_id: 'failing-pass', visitor_id: visitor, is_bot: 0 }]);

    await vi.waitFor(async () => expect(await storedScore('failing-pass', visitor)).toEqual([{ kind: 'visitor', score: 20 }]), { timeout: 10_000, interval: 100 });
    await scorer.close();
  });

  it('cuts a full pass by the events it reads as well as by its leads: a slice is short, and touched leads wait one at most', async () => {
    // Three visitors of four events each: twelve events, slices of five at most (however few the leads).
    for (let i = 0; i < 3; i++) {
      const visitor = await pricingVisitor('many-events');
      for (let more = 0; more < 3; more++) await pricingVisitor('many-events', visitor);
    }
    let sliceQueries = 0;
    const counting = withHook(server.client, (params) => {
      if (isSlice(params)) sliceQueries++;
    });
    const scorer = createScorer({ config: configOf('many-events'), client: counting, log: quiet, drained: async () => {}, dashboardUrl: () => '', sliceEvents: 5 });
    await scorer.settled();
    // Two queries a slice (scores, then stored scores), ceil(12 / 5) = 3 slices.
    expect(sliceQueries).toBe(2 * 3);
    await scorer.close();
  });

  it('rescores the leads batches touch between two slices of a long full pass, not after it', async () => {
    const slices = 8;
    for (let i = 0; i < slices; i++) await pricingVisitor('long-pass');
    let sliceQueries = 0;
    // Each slice of the pass takes a while, as on a site of millions of leads.
    const slow = withHook(server.client, async (params) => {
      if (!isSlice(params)) return;
      sliceQueries++;
      await sleep(250);
    });
    const scorer = createScorer({ config: configOf('long-pass'), client: slow, log: quiet, drained: async () => {}, dashboardUrl: () => '', sliceLeads: 1 });
    // A visitor of the first slice, which the pass has done (scores and stored scores) before the visitor's batch lands.
    const visitor = await visitorOfSlice(0, slices);
    // A loaded machine (CI's two cores) may take more than waitFor's default second to start the pass.
    await vi.waitFor(() => expect(sliceQueries).toBeGreaterThan(2), { timeout: 10_000, interval: 20 });
    await pricingVisitor('long-pass', visitor);
    scorer.noteStored([{ site_id: 'long-pass', visitor_id: visitor, is_bot: 0 }]);

    await vi.waitFor(async () => expect(await storedScore('long-pass', visitor)).toEqual([{ kind: 'visitor', score: 20 }]), { timeout: 15_000, interval: 50 });
    // Two queries a slice (scores, then stored scores), one slice a visitor counted at the start: the pass had
    // slices left when the visitor's score was stored, and finished after.
    expect(sliceQueries).toBeLessThan(2 * slices);
    await scorer.settled();
    expect(sliceQueries).toBe(2 * slices);
    await scorer.close();
  });
});

describe('two collectors of one store', () => {
  it('warns, once an hour, when another collector has scored the site with other rules since this one started', async () => {
    const site = 'rollout';
    const visitor = await pricingVisitor(site);
    const configWith = (hot: number) =>
      parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: site, origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'] }, rules: { thresholds: { warm: 10, hot } } }] }, 'test config');
    const first: string[] = [];
    const second: string[] = [];
    const logInto = (lines: string[]) => ({ warn: (_details: object, message: string) => void lines.push(message) });
    const a = createScorer({ config: configWith(60), client: server.client, log: logInto(first), drained: async () => {}, dashboardUrl: () => '' });
    await a.settled();
    // Another collector starts with other rules (a config change rolled out one collector at a time): its start's pass
    // rescores every lead. The scores it finds were written before it started, by the config before: no warning.
    const b = createScorer({ config: configWith(95), client: server.client, log: logInto(second), drained: async () => {}, dashboardUrl: () => '' });
    await b.settled();
    expect(second).toEqual([]);
    expect(first).toEqual([]);
    // The first rescores a lead the other scored since it started.
    for (let round = 0; round < 2; round++) {
      await pricingVisitor(site, visitor);
      a.noteStored([{ site_id: site, visitor_id: visitor, is_bot: 0 }]);
      await a.settled();
    }
    expect(first).toEqual([expect.stringMatching(new RegExp(`^another collector scores site "${site}" with other rules \\(stored scores of rules [0-9a-f]{16}, this collector's are [0-9a-f]{16}\\): leads' scores flip`))]);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('a config whose rules changed', () => {
  it('says, as its full pass starts, that the stored scores are of other rules until the pass ends', async () => {
    const site = 'rules-changed';
    await pricingVisitor(site);
    const configWith = (points: number) =>
      parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: site, origins: [SITE_ORIGIN], pageGroups: { pricing: ['/pricing*'] }, rules: { engagement: [{ id: 'pricing', event: 'pageview', pageGroup: 'pricing', points }] } }] }, 'test config');
    const passLines = async (points: number) => {
      const lines: string[] = [];
      const scorer = createScorer({ config: configWith(points), client: server.client, log: { ...quiet, info: (_details: object, message: string) => void lines.push(message) }, drained: async () => {}, dashboardUrl: () => '' });
      await scorer.settled();
      await scorer.close();
      return lines.filter((line) => line.startsWith('rescoring every lead'));
    };
    // The first start: no stored scores before. A restart with the same rules: nothing to say.
    expect(await passLines(20)).toEqual([`rescoring every lead and visitor of site "${site}"`]);
    expect(await passLines(20)).toEqual([`rescoring every lead and visitor of site "${site}"`]);
    // A restart with pricing worth 40 points; the next with the same, whose pass finds the scores the last one wrote.
    expect(await passLines(40)).toEqual([
      expect.stringMatching(new RegExp(`^rescoring every lead and visitor of site "${site}": its latest stored scores are of other rules than this config's \\(rules [0-9a-f]{16} → [0-9a-f]{16}\\), and lists and figures may mix scores of both until the pass ends$`)),
    ]);
    expect(await passLines(40)).toEqual([`rescoring every lead and visitor of site "${site}"`]);
  });
});

describe('the API while a full pass runs', () => {
  it('erases a person without waiting for the pass of a large site to end', { timeout: 120_000 }, async () => {
    // Over HTTP, so that the test server can hold the pass's slice queries (they name {slice_count:UInt64}).
    process.env.HEARTH_RESCORE_SLICE_LEADS = '1';
    const { clickhouse, hearth } = await startOverClickHouseHttp().finally(() => delete process.env.HEARTH_RESCORE_SLICE_LEADS);
    try {
      const visitors = Array.from({ length: 8 }, () => newVisitor());
      for (const visitor of visitors) expect((await postBatch(hearth, { s: 'acme', v: visitor, e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] })).status).toBe(202);
      const person = newVisitor();
      const lead = await leadFromForm(hearth, person, `erin.${person}@erase.test`);

      // Each slice takes 2 × 2 s: the pass of 9 slices, half a minute, as a large site's does.
      await clickhouse.setFault('slow', 2000, 'slice_count');
      const pass = hearth.scorer.rescoreAll('acme');
      const startedAt = Date.now();
      const response = await fetch(`${hearth.url}/api/leads/${lead.id}?site=acme`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      const tookMs = Date.now() - startedAt;
      expect(response.status).toBe(200);
      // It waits for the slice in flight (a round stops after it), not for the 8 slices after.
      expect(tookMs).toBeLessThan(10_000);
      await clickhouse.setFault('ok');
      await pass;
    } finally {
      await hearth.close();
      await clickhouse.stop();
    }
  });

  it('lets a list counting automated browsers whose client left give up its turn', { timeout: 60_000 }, async () => {
    const { clickhouse, hearth } = await startOverClickHouseHttp();
    try {
      expect((await postBatch(hearth, { s: 'acme', v: newVisitor(), e: [wireEvent({ u: `${SITE_ORIGIN}/pricing` })] })).status).toBe(202);
      await drained(hearth);
      await hearth.scorer.settled();
      // A whole site's scoring takes 2 s, as a large site's does.
      await clickhouse.setFault('slow', 2000, 'signal_facts');
      const ask = (signal?: AbortSignal) => fetch(`${hearth.url}/api/leads?site=acme&bots=include&limit=1`, { headers: { authorization: `Bearer ${TEST_TOKEN}` }, signal });
      const first = ask();
      await sleep(300);
      // Two more wait their turn, and their clients give up.
      const leaving = new AbortController();
      const left = [ask(leaving.signal), ask(leaving.signal)].map((asked) => asked.catch(() => undefined));
      await sleep(300);
      leaving.abort();
      await Promise.all(left);
      await sleep(200);
      // The first still runs: the next one waits its turn, rather than being told to come back.
      const next = ask();
      expect((await first).status).toBe(200);
      expect((await next).status).toBe(200);
    } finally {
      await clickhouse.setFault('ok');
      await hearth.close();
      await clickhouse.stop();
    }
  });
});
