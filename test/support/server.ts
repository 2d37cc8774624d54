import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { parseConfig } from '../../collector/config/load.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../collector/server.ts';
import { spawnClickHouseHttp } from './clickhouse-http-process.ts';
import { freshDataDir, migratedEngineDir, processDataDir } from './data-dir.ts';

export const TEST_TOKEN = 'test-admin-token';
export const SITE_ORIGIN = 'https://www.acme.test';

/**
 * A real Hearth listening on 127.0.0.1 with an embedded store in this process's data directory; with
 * HEARTH_TEST_CLICKHOUSE=http (`npm run test:http`), its store speaks HTTP to ClickHouse's HTTP interface served by
 * a child process (test/support/clickhouse-http.ts), as it does with CLICKHOUSE_URL. `configOverrides` replaces
 * whole top-level sections of the test config (e.g. `limits`).
 */
export async function startTestServer(configOverrides: Record<string, unknown> = {}): Promise<RunningServer> {
  const config = parseConfig(
    {
      server: { host: '127.0.0.1', port: 0 },
      sites: [
        { id: 'acme', origins: [SITE_ORIGIN, 'https://*.acme.test'] },
        { id: 'globex', origins: ['https://globex.test'] },
      ],
      ...configOverrides,
      // Tests post many people's forms from one address within seconds, which the default limit takes for a script.
      limits: { identifyingBatchesPerMinutePerIp: 100_000, ...(configOverrides.limits as object | undefined) },
    },
    'test config',
  );
  const transport = process.env.HEARTH_TEST_CLICKHOUSE || 'embedded';
  if (transport === 'embedded') return startServer({ config, store: { dataDir: processDataDir({ migrated: true }) }, adminToken: TEST_TOKEN });
  if (transport !== 'http') throw new Error(`HEARTH_TEST_CLICKHOUSE must be "embedded" or "http" (got ${JSON.stringify(transport)})`);
  const clickhouse = await spawnClickHouseHttp({ dataDir: migratedEngineDir() });
  try {
    const server = await startServer({ config, store: { dataDir: processDataDir(), url: clickhouse.url }, adminToken: TEST_TOKEN });
    return {
      ...server,
      async close() {
        await server.close();
        await clickhouse.stop();
      },
    };
  } catch (error) {
    await clickhouse.stop();
    throw error;
  }
}

/**
 * A collector of site "acme" over HTTP to a ClickHouse test server in another process, for the tests that set its
 * faults (slow, failing, stopped) while the collector runs. `options` go to startServer (a shorter drain bound).
 */
export async function startOverClickHouseHttp(options: Pick<ServerOptions, 'drainWaitMs'> = {}) {
  const clickhouse = await spawnClickHouseHttp({ dataDir: freshDataDir() });
  const config = parseConfig({ server: { host: '127.0.0.1', port: 0 }, sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'test config');
  const hearth = await startServer({ config, store: { dataDir: freshDataDir(), url: clickhouse.url }, adminToken: TEST_TOKEN, ...options });
  return { clickhouse, hearth };
}

/** A lead of site "acme" made by one newsletter form from `person`'s browser: the lead as /api/leads lists it, once scored. */
export async function leadFromForm(server: RunningServer, person: string, email: string) {
  const form = wireEvent({ n: 'f', u: `${SITE_ORIGIN}/contact`, k: 'newsletter', p: { email } });
  expect((await postBatch(server, { s: 'acme', v: person, e: [form] })).status).toBe(202);
  await drained(server);
  const lead = (await getJson(server, '/api/leads?site=acme&limit=100')).body.leads.find((candidate: { email: string }) => candidate.email === email);
  expect(lead).toBeDefined();
  return lead as { id: string; email: string };
}

/** A valid wire event; override any field. */
export function wireEvent(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { i: randomUUID(), n: 'v', t: Date.now(), u: `${SITE_ORIGIN}/`, ...fields };
}

/** A visitor id no other test uses. */
export const newVisitor = () => `v${randomUUID().replaceAll('-', '')}`.slice(0, 24);

/** A desktop Chrome's User-Agent. Without one, fetch sends "node", which the collector rightly flags as a bot. */
export const BROWSER_USER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** POSTs a batch to /collect the way the snippet in a browser does. */
export async function postBatch(
  server: RunningServer,
  body: unknown,
  { contentType = 'text/plain', origin = SITE_ORIGIN as string | undefined, userAgent = BROWSER_USER_AGENT } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'content-type': contentType, 'user-agent': userAgent };
  if (origin) headers.origin = origin;
  const response = await fetch(`${server.url}/collect`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** GETs a JSON endpoint with the admin token, or with no Authorization header when token is null. */
export async function getJson(server: RunningServer, path: string, token: string | null = TEST_TOKEN) {
  const response = await fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: (await response.json()) as any, headers: response.headers };
}

/** Resolves once every event accepted so far is stored and the leads it touched are rescored. */
export const drained = (server: RunningServer) => server.scorer.settled();

/** Rows of the events table as a reader sees them (FINAL: retried copies collapsed), once the log has drained. */
export async function storedEvents(server: RunningServer, visitorId: string) {
  await drained(server);
  const result = await server.client.query({
    query: `SELECT * FROM events FINAL WHERE visitor_id = {visitor:String} ORDER BY ts, event_id`,
    query_params: { visitor: visitorId },
    format: 'JSONEachRow',
  });
  return result.json<Record<string, any>>();
}
