import { createServer, type Server, type Socket } from 'node:net';
import type { ClickHouseClient, PingResult } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../collector/app.ts';
import { hashToken } from '../../collector/auth/tokens.ts';
import { parseConfig } from '../../collector/config/load.ts';
import type { SinkStatus } from '../../collector/ingest/sink.ts';
import { createStoreClient } from '../../collector/store/client.ts';
import { migrate } from '../../collector/store/migrate.ts';
import { processDataDir } from '../support/data-dir.ts';
import { SITE_ORIGIN, TEST_TOKEN } from '../support/server.ts';

// What a failing ClickHouse says: its version, hosts, user and paths, none of which a stranger should read.
const PING_ERROR = 'Code: 516. DB::Exception: hearth: Authentication failed at clickhouse-7.internal:9000 (version 24.3.1.2672)';
const INSERT_ERROR = "Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space on /var/lib/clickhouse/store/ab1/ (NOT_ENOUGH_SPACE)";
const MARKETING_TOKEN = 'hth_marketing-token-for-readiness-tests-000000000';

const healthy: SinkStatus = { pendingRows: 0, pendingBytes: 0, clickHouseReachable: true, lastError: null, degraded: false, full: false };

let client: ClickHouseClient;
let app: FastifyInstance;
let url: string;
const state = { ping: { success: true } as PingResult, sink: healthy, refusal: null as Error | null, noTables: false };
const logLines: string[] = [];

beforeAll(async () => {
  client = createStoreClient({ dataDir: processDataDir() });
  await migrate(client);
  // The real client, but for its ping, which each test sets, and a refusal of its queries, or an events table gone,
  // when a test sets them. Not the embedded engine's own client, it is asked as a server is.
  const pinged = Object.create(client, {
    ping: { value: async () => state.ping },
    query: { value: async (params: Parameters<ClickHouseClient['query']>[0]) => {
      if (state.refusal) throw state.refusal;
      return client.query(state.noTables ? { ...params, query: params.query.replace('events', 'no_such_table') } : params);
    } },
  }) as ClickHouseClient;
  const sink = { write: async () => {}, close: async () => {}, drained: async () => {}, status: () => state.sink };
  const config = parseConfig(
    { sites: [{ id: 'acme', origins: [SITE_ORIGIN] }], tokens: [{ name: 'dashboards', role: 'marketing', tokenHash: hashToken(MARKETING_TOKEN) }] },
    'test config',
  );
  const logger = { level: 'warn', stream: { write: (line: string) => void logLines.push(line) } };
  app = await buildApp({ config, client: pinged, sink, adminToken: TEST_TOKEN, logger });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  await client?.close();
});

async function readiness(token?: string) {
  const response = await fetch(`${url}/readyz`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

describe('GET /readyz without a login', () => {
  it('says ClickHouse is unreachable without quoting what ClickHouse said, which goes to the log', async () => {
    state.ping = { success: false, error: new Error(PING_ERROR) };
    state.sink = healthy;
    const answer = await readiness();
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'degraded', error: expect.stringContaining('ClickHouse is unreachable') });
    expect(answer.text).not.toContain('DB::Exception');
    expect(answer.text).not.toContain('clickhouse-7.internal');
    expect(answer.text).not.toContain('24.3.1');
    expect(logLines.join('\n')).toContain(PING_ERROR);
  });

  it('says inserts fail without quoting the insert error, which goes to the log', async () => {
    state.ping = { success: true };
    state.sink = { ...healthy, pendingRows: 12, pendingBytes: 3456, clickHouseReachable: false, lastError: INSERT_ERROR, degraded: true };
    const answer = await readiness();
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'degraded', error: 'inserts into ClickHouse fail; events are kept in the write-ahead log' });
    // The backlog's counts, a site's traffic, are an admin's to read, as /metrics's are.
    expect((await readiness(TEST_TOKEN)).body).toMatchObject({ status: 'degraded', pendingRows: 12, pendingBytes: 3456 });
    expect((await readiness(MARKETING_TOKEN)).body).not.toHaveProperty('pendingRows');
    expect(answer.text).not.toContain('/var/lib/clickhouse');
    expect(answer.text).not.toContain('DB::Exception');
    expect(logLines.join('\n')).toContain('/var/lib/clickhouse/store/ab1/');
  });

  it('says ClickHouse is slow while an insert has waited more than 10 s, still ready for events', async () => {
    state.ping = { success: true };
    // The oldest of the events waiting came 75.9 s ago: said in whole seconds.
    state.sink = { ...healthy, pendingRows: 40, pendingBytes: 9000, oldestPendingAt: Date.now() - 75_900, degraded: true, slowInsertMs: 12_400 };
    const answer = await readiness(TEST_TOKEN);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      detail: 'an insert has waited more than 10 s for ClickHouse',
      status: 'degraded',
      error: 'ClickHouse is slow to store events (an insert has waited 12 s); events are kept in the write-ahead log',
      pendingRows: 40,
      pendingBytes: 9000,
      oldestPendingSeconds: 75,
    });
  });

  it('answers 503 unavailable once the log is full, still without the details', async () => {
    state.ping = { success: false, error: new Error(PING_ERROR) };
    state.sink = { ...healthy, pendingRows: 99, pendingBytes: 1 << 20, clickHouseReachable: false, lastError: INSERT_ERROR, degraded: true, full: true };
    const answer = await readiness();
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      status: 'unavailable',
      error: 'the write-ahead log is full, so events are refused until ClickHouse catches up (ClickHouse is unreachable)',
    });
    expect(answer.text).not.toContain('DB::Exception');
    // Neither does a login that is not an admin's.
    expect((await readiness(MARKETING_TOKEN)).text).not.toContain('DB::Exception');
  });

  it('answers 503 unavailable while the write-ahead log cannot be written, as every event is then refused', async () => {
    state.ping = { success: true };
    state.sink = { ...healthy, diskError: 'ENOSPC' };
    const answer = await readiness();
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'unavailable', error: expect.stringContaining('write-ahead log cannot be written (ENOSPC)') });
  });

  it('answers ready when all is well', async () => {
    state.ping = { success: true };
    state.sink = healthy;
    expect(await readiness()).toMatchObject({ status: 200, body: { status: 'ready' } });
  });
});

describe('GET /readyz while ClickHouse answers its ping and refuses the collector', () => {
  // A server answers /ping without a login: its password rotated, or its database dropped, the collector is refused
  // every statement (the API answers 503 "/readyz tells an admin why") while a quiet site's log has nothing to fail on.
  const REFUSAL = 'Code: 516. DB::Exception: hearth: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)';
  afterAll(() => {
    state.refusal = null;
  });

  it('says degraded, and tells an admin what ClickHouse said', async () => {
    state.ping = { success: true };
    state.sink = healthy;
    state.refusal = Object.assign(new Error(REFUSAL), { type: 'AUTHENTICATION_FAILED', code: '516' });
    const stranger = await readiness();
    expect(stranger.body).toEqual({ status: 'degraded', error: 'ClickHouse refuses the collector (its user, password or database); events are kept in the write-ahead log' });
    expect(stranger.text).not.toContain('DB::Exception');
    expect((await readiness(TEST_TOKEN)).body).toMatchObject({ status: 'degraded', detail: REFUSAL });
    state.refusal = null;
    expect((await readiness()).body).toEqual({ status: 'ready' });
  });

  it("says degraded when the collector's database has lost Hearth's tables (dropped and made again)", async () => {
    state.ping = { success: true };
    state.sink = healthy;
    state.noTables = true;
    try {
      expect((await readiness()).body).toMatchObject({ status: 'degraded', error: expect.stringContaining("the collector's database has no events table") });
    } finally {
      state.noTables = false;
    }
    expect((await readiness()).body).toEqual({ status: 'ready' });
  });
});

describe('the API while the database lacks Hearth\'s tables (dropped and made again)', () => {
  it('answers 503 naming hearth migrate, not 500', async () => {
    state.refusal = Object.assign(new Error("Code: 60. DB::Exception: Unknown table expression identifier 'lead_scores' in scope (UNKNOWN_TABLE)"), { type: 'UNKNOWN_TABLE', code: '60' });
    try {
      const response = await fetch(`${url}/api/leads?site=acme`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
      expect([response.status, response.headers.get('retry-after'), await response.json()]).toEqual([
        503,
        '5',
        { error: "the database lacks Hearth's tables (/readyz tells why; `hearth migrate` makes them); nothing was read or changed", code: 'store_unavailable' },
      ]);
    } finally {
      state.refusal = null;
    }
  });
});

describe('GET /readyz on the embedded engine', () => {
  it('asks it nothing but its ping: it has no login, and a busy one kept the question waiting behind the dashboards', async () => {
    // The embedded client itself, not the stand-in for a server above.
    const bare = createStoreClient({ dataDir: processDataDir() });
    const sink = { write: async () => {}, close: async () => {}, drained: async () => {}, status: () => healthy };
    const config = parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'test config');
    const embeddedApp = await buildApp({ config, client: bare, sink, adminToken: TEST_TOKEN });
    try {
      const asked: string[] = [];
      const [query, command] = [bare.query.bind(bare), bare.command.bind(bare)];
      bare.query = (params) => (asked.push(params.query), query(params));
      bare.command = (params) => (asked.push(params.query), command(params));
      const response = await embeddedApp.inject({ method: 'GET', url: '/readyz' });
      expect([response.statusCode, response.json(), asked]).toEqual([200, { status: 'ready' }, []]);
    } finally {
      await embeddedApp.close();
      await bare.close();
    }
  });
});

describe('GET /readyz for an admin', () => {
  it('also shows what ClickHouse said', async () => {
    state.ping = { success: false, error: new Error(PING_ERROR) };
    state.sink = { ...healthy, clickHouseReachable: false, lastError: INSERT_ERROR, degraded: true };
    const answer = await readiness(TEST_TOKEN);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'degraded', detail: expect.stringContaining(PING_ERROR) });
  });
});

describe('GET /readyz while ClickHouse does not answer at all', () => {
  // A ClickHouse server that takes connections and never answers (a hung server, a network that drops packets):
  // the client would wait 30 s for it, longer than any load balancer waits for a health check.
  let silent: Server;
  const sockets: Socket[] = [];
  let hungClient: ClickHouseClient;
  let hungApp: FastifyInstance;
  let hungUrl: string;
  beforeAll(async () => {
    silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    hungClient = createStoreClient({ dataDir: processDataDir(), url: `http://127.0.0.1:${port}` });
    const sink = { write: async () => {}, close: async () => {}, drained: async () => {}, status: () => healthy };
    const config = parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'test config');
    hungApp = await buildApp({ config, client: hungClient, sink, adminToken: TEST_TOKEN });
    hungUrl = await hungApp.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await hungApp?.close();
    for (const socket of sockets) socket.destroy();
    await hungClient?.close();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it('answers degraded within a second, as a load balancer needs', async () => {
    const started = performance.now();
    const response = await fetch(`${hungUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'degraded', error: expect.stringContaining('ClickHouse is unreachable') });
  });
});
