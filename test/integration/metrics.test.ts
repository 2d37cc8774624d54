import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../collector/app.ts';
import { parseConfig } from '../../collector/config/load.ts';
import { batchToRows } from '../../collector/ingest/rows.ts';
import { createWalSink } from '../../collector/ingest/wal.ts';
import { createMetrics } from '../../collector/metrics.ts';
import type { RunningServer } from '../../collector/server.ts';
import { processDataDir } from '../support/data-dir.ts';
import { drained, newVisitor, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    server: { host: '127.0.0.1', port: 0, trustProxy: true },
    limits: { requestsPerMinutePerIp: 2, requestsPerMinutePerSite: 1000 },
  });
});
afterAll(() => server.close());

let address = 0;
/** Each post comes from an address of its own unless `from` says otherwise, so the per-address limit stays out of the way. */
async function post(url: string, body: string | object, { from = `203.0.113.${++address}`, origin = SITE_ORIGIN, contentType = 'text/plain' } = {}) {
  const response = await fetch(`${url}/collect`, {
    method: 'POST',
    headers: { 'content-type': contentType, origin, 'x-forwarded-for': from },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

async function scrape(url: string, token: string | null = TEST_TOKEN) {
  const response = await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

/** The value of one sample in Prometheus text, e.g. `sample(text, 'hearth_collect_rejected_total{reason="invalid_json"}')`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  if (!line) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

const batch = (events = 1) => ({ s: 'acme', v: newVisitor(), e: Array.from({ length: events }, () => wireEvent()) });

describe('GET /metrics', () => {
  it("says whether scores are current: what waits for rescoring, a full pass under way, when the last one ended and how long it took", async () => {
    const before = Date.now() / 1000;
    // Sent before the pass is asked for: its leads wait for a round or for the pass, and both are done once settled.
    const status = await post(server.url, { ...batch(), e: [wireEvent({ n: 'f', k: 'demo', p: { email: `ada.${newVisitor()}@lovelace.test` } })] });
    expect(status).toBe(202);
    await server.scorer.rescoreAll('acme');
    await server.scorer.settled();
    const { text } = await scrape(server.url);
    expect(sample(text, 'hearth_scoring_pending_visitors')).toBe(0);
    expect(sample(text, 'hearth_scoring_full_pass_slices_left{site="acme"}')).toBe(0);
    expect(sample(text, 'hearth_scoring_last_full_pass_end_time_seconds{site="acme"}')).toBeGreaterThanOrEqual(before);
    expect(sample(text, 'hearth_scoring_last_full_pass_end_time_seconds{site="acme"}')).toBeLessThanOrEqual(Date.now() / 1000);
    expect(sample(text, 'hearth_scoring_last_full_pass_duration_seconds{site="acme"}')).toBeGreaterThan(0);
    // While a pass is under way, it says so: the scorer held (as an erasure holds it) once the pass is asked for.
    let release = () => {};
    const held = server.scorer.holding(() => new Promise<void>((resolve) => (release = resolve)));
    const pass = server.scorer.rescoreAll('globex');
    try {
      const during = (await scrape(server.url)).text;
      expect(sample(during, 'hearth_scoring_full_pass_slices_left{site="globex"}')).toBe(1);
      expect(sample(during, 'hearth_scoring_full_pass_slices_left{site="acme"}')).toBe(0);
    } finally {
      release();
      await held;
      await pass;
    }
    expect(sample((await scrape(server.url)).text, 'hearth_scoring_full_pass_slices_left{site="globex"}')).toBe(0);
  });

  it('needs the API token, and answers Prometheus text with the process metrics', async () => {
    expect((await scrape(server.url, null)).status).toBe(401);
    expect((await scrape(server.url, 'wrong-token')).status).toBe(401);
    const { status, contentType, text } = await scrape(server.url);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE hearth_collect_rejected_total counter');
    expect(sample(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('counts accepted events and batches, and refused requests by reason', async () => {
    const before = (await scrape(server.url)).text;
    const delta = async (series: string) => sample((await scrape(server.url)).text, series) - sample(before, series);

    expect(await post(server.url, batch(3))).toBe(202);
    expect(await post(server.url, batch(2))).toBe(202);
    expect(await post(server.url, '{"s": "acme", "v":')).toBe(400);
    expect(await post(server.url, { s: 'acme', v: 'visitor-0001', e: [] })).toBe(400);
    expect(await post(server.url, { ...batch(), s: 'initech' })).toBe(403);
    expect(await post(server.url, batch(), { origin: 'https://evil.test' })).toBe(403);
    expect(await post(server.url, { ...batch(), e: [wireEvent({ ti: 'x'.repeat(65 * 1024) })] })).toBe(413);
    expect(await post(server.url, 's=acme', { contentType: 'application/x-www-form-urlencoded' })).toBe(415);
    for (let i = 0; i < 3; i++) await post(server.url, batch(), { from: '198.51.100.9' });
    // CORS preflights, refused (no origin of a site) or granted, carry no batch: neither counts.
    for (const origin of ['https://evil.test', SITE_ORIGIN]) {
      const preflight = await fetch(`${server.url}/collect`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
      expect(preflight.status).toBe(origin === SITE_ORIGIN ? 204 : 404);
    }
    // Stored without the object a page's code passed as a property, and without the phone it did not know.
    expect(await post(server.url, { ...batch(), e: [wireEvent({ n: 't', k: 'cta', p: { plan: { name: 'pro' }, phone: null } })] })).toBe(202);

    expect(await delta('hearth_collect_batches_accepted_total')).toBe(5);
    expect(await delta('hearth_collect_events_accepted_total')).toBe(8);
    expect(await delta('hearth_collect_ignored_total')).toBe(1);
    const rejected = (reason: string) => delta(`hearth_collect_rejected_total{reason="${reason}"}`);
    expect(await rejected('invalid_json')).toBe(1);
    expect(await rejected('invalid_batch')).toBe(1);
    expect(await rejected('unknown_site')).toBe(1);
    expect(await rejected('origin_not_allowed')).toBe(1);
    expect(await rejected('body_too_large')).toBe(1);
    expect(await rejected('unsupported_media_type')).toBe(1);
    expect(await rejected('rate_limited')).toBe(1);
    expect(await rejected('other')).toBe(0);
  });

  it("times the API's answers by route pattern and status class, and says which release runs", async () => {
    const count = (text: string, route: string, status: string) => {
      const series = `hearth_api_request_duration_seconds_count{method="GET",route="${route}",status="${status}"}`;
      return text.includes(`${series} `) ? sample(text, series) : 0;
    };
    const before = (await scrape(server.url)).text;
    const api = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } }).then((response) => response.status);
    expect([await api('/api/leads?site=acme'), await api('/api/leads?site=acme&limit=1'), await api('/api/leads/l_0000000000000000dead?site=acme')]).toEqual([200, 200, 404]);
    const after = (await scrape(server.url)).text;
    expect(count(after, '/api/leads', '2xx') - count(before, '/api/leads', '2xx')).toBe(2);
    // One series per route, however many leads are asked for: the pattern, not the path.
    expect(count(after, '/api/leads/:id', '4xx') - count(before, '/api/leads/:id', '4xx')).toBe(1);
    expect(after).not.toContain('l_0000000000000000dead');
    expect(sample(after, 'hearth_api_request_duration_seconds_sum{method="GET",route="/api/leads",status="2xx"}')).toBeGreaterThan(0);
    expect(sample(after, `hearth_build_info{version="${JSON.parse(readFileSync('package.json', 'utf8')).version}"}`)).toBe(1);
    // What /metrics itself and /collect answer is not timed there.
    expect(after).not.toMatch(/route="\/(metrics|collect)"/);
  });

  it('times each insert into ClickHouse and counts its rows', async () => {
    await drained(server);
    const before = (await scrape(server.url)).text;
    expect(await post(server.url, batch(10))).toBe(202);
    await drained(server);
    const after = (await scrape(server.url)).text;
    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('hearth_clickhouse_insert_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(delta('hearth_clickhouse_insert_duration_seconds_sum')).toBeGreaterThan(0);
    expect(delta('hearth_clickhouse_insert_rows_sum')).toBe(10);
    expect(sample(after, 'hearth_wal_pending_rows')).toBe(0);
    expect(sample(after, 'hearth_clickhouse_insert_errors_total')).toBe(0);
  });
});

describe('GET /metrics when ClickHouse refuses an event', () => {
  it('counts the accepted events set aside in rejected.ndjson instead of stored', async () => {
    const dir = join(processDataDir(), 'metrics-wal', randomUUID());
    mkdirSync(dir, { recursive: true });
    const metrics = createMetrics();
    const wal = await createWalSink({ dir, client: server.client, maxBytes: 1 << 20, flushMs: 10, log: { info() {}, warn() {}, error() {} }, onFlush: metrics.flushed, onInsertError: metrics.clickHouseFailed });
    metrics.watchBacklog(() => wal.status());
    try {
      const visitor = newVisitor();
      const rows = batchToRows({ s: 'acme', v: visitor, e: [wireEvent(), wireEvent(), wireEvent()] as any }, Date.now());
      // Half an emoji (a lone surrogate) is JSON that ClickHouse cannot parse: a refusal, not an outage to retry.
      rows[1]!.title = 'Pricing \ud83d';
      await wal.write(rows);
      await wal.drained();
      const text = await metrics.registry.metrics();
      expect(text).toContain('# TYPE hearth_clickhouse_refused_events_total counter');
      expect(sample(text, 'hearth_clickhouse_refused_events_total')).toBe(1);
      expect(sample(text, 'hearth_clickhouse_insert_rows_sum')).toBe(2);
      // Counted once, however often it is scraped.
      expect(sample(await metrics.registry.metrics(), 'hearth_clickhouse_refused_events_total')).toBe(1);
    } finally {
      await wal.close();
    }
  });
});

describe('GET /metrics while ClickHouse fails', () => {
  it('shows the backlog in the write-ahead log, insert errors and log_full refusals; with metrics.public, without a token', async () => {
    let failing = true;
    const refused = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:8123'));
    const flaky = {
      exec: ((params) => (failing ? refused() : server.client.exec(params))) as ClickHouseClient['exec'],
      insert: ((params) => (failing ? refused() : server.client.insert(params))) as ClickHouseClient['insert'],
    };
    const dir = join(processDataDir(), 'metrics-wal', randomUUID());
    mkdirSync(dir, { recursive: true });
    const metrics = createMetrics();
    const wal = await createWalSink({
      dir,
      client: flaky,
      maxBytes: 4096,
      flushMs: 10,
      retryCapMs: 50,
      log: { info() {}, warn() {}, error() {} },
      onFlush: metrics.flushed,
      onInsertError: metrics.clickHouseFailed,
    });
    const config = parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }], metrics: { public: true } }, 'test config');
    const app = await buildApp({ config, client: server.client, sink: wal, adminToken: TEST_TOKEN, metrics });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect(await post(url, batch(2))).toBe(202);
      await expect.poll(async () => sample((await scrape(url, null)).text, 'hearth_clickhouse_insert_errors_total')).toBeGreaterThanOrEqual(1);
      const during = await scrape(url, null);
      expect(during.status).toBe(200);
      expect(sample(during.text, 'hearth_wal_pending_rows')).toBe(2);
      expect(sample(during.text, 'hearth_wal_pending_bytes')).toBeGreaterThan(0);
      expect(sample(during.text, 'hearth_wal_max_bytes')).toBe(4096);
      // The two events have waited since their 202, and /readyz says so too, in whole seconds.
      await expect.poll(async () => sample((await scrape(url, null)).text, 'hearth_wal_oldest_pending_seconds'), { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
      const readiness = (await (await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } })).json()) as { status: string; oldestPendingSeconds: number };
      expect(readiness).toMatchObject({ status: 'degraded', pendingRows: 2, oldestPendingSeconds: expect.any(Number) });
      expect(readiness.oldestPendingSeconds).toBeGreaterThanOrEqual(1);

      let status = 202;
      for (let attempt = 0; attempt < 50 && status === 202; attempt++) status = await post(url, batch(5));
      expect(status).toBe(503);
      expect(sample((await scrape(url, null)).text, 'hearth_collect_rejected_total{reason="log_full"}')).toBe(1);

      failing = false;
      await wal.drained();
      const after = (await scrape(url, null)).text;
      expect(sample(after, 'hearth_wal_pending_rows')).toBe(0);
      expect(sample(after, 'hearth_wal_pending_bytes')).toBe(0);
      expect(sample(after, 'hearth_wal_oldest_pending_seconds')).toBe(0);
      expect(sample(after, 'hearth_clickhouse_insert_rows_sum')).toBe(sample(after, 'hearth_collect_events_accepted_total'));
    } finally {
      await app.close();
      await wal.close();
    }
  });
});
