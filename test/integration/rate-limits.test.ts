import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../collector/app.ts';
import { parseConfig } from '../../collector/config/load.ts';
import type { RunningServer } from '../../collector/server.ts';
import { newVisitor, SITE_ORIGIN, startTestServer, storedEvents, wireEvent } from '../support/server.ts';

const GLOBEX_ORIGIN = 'https://globex.test';

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    // Behind a proxy, as in production, so that each test can speak from addresses of its own.
    server: { host: '127.0.0.1', port: 0, trustProxy: true },
    limits: { requestsPerMinutePerIp: 5, requestsPerMinutePerSite: 12 },
  });
});
afterAll(() => server.close());

async function post(url: string, { site = 'acme', visitor = newVisitor(), from, origin }: { site?: string; visitor?: string; from?: string; origin?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'text/plain', origin: origin ?? (site === 'globex' ? GLOBEX_ORIGIN : SITE_ORIGIN) };
  if (from) headers['x-forwarded-for'] = from;
  const response = await fetch(`${url}/collect`, { method: 'POST', headers, body: JSON.stringify({ s: site, v: visitor, e: [wireEvent({ u: `${headers.origin}/` })] }) });
  return { status: response.status, body: (await response.json()) as any, retryAfter: response.headers.get('retry-after') };
}

describe('rate limits on /collect', () => {
  it('answers 429 with Retry-After once one address is over its limit, and only to that address', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(server.url, { from: '203.0.113.7' })).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202]);

    const visitor = newVisitor();
    const refused = await post(server.url, { from: '203.0.113.7', visitor });
    expect(refused).toMatchObject({ status: 429, body: { code: 'rate_limited', limit: 'per_ip', error: expect.stringContaining('5 requests a minute from this address') } });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(await storedEvents(server, visitor)).toHaveLength(0);

    expect((await post(server.url, { from: '203.0.113.8' })).status).toBe(202);
  });

  // Before the next test, which uses up globex's minute.
  it("does not count a batch refused for its origin against the site it names: another site's page cannot use up its limit", async () => {
    const statuses = [];
    for (let i = 1; i <= 14; i++) statuses.push((await post(server.url, { site: 'globex', origin: SITE_ORIGIN, from: `198.51.100.${100 + i}` })).status);
    expect(statuses.every((status) => status === 403)).toBe(true);
    expect((await post(server.url, { site: 'globex', from: '198.51.100.150' })).status).toBe(202);
  });

  it('answers 429 to a site over its limit from any address, while other sites go on', async () => {
    const statuses = [];
    for (let i = 1; i <= 11; i++) statuses.push((await post(server.url, { site: 'globex', from: `198.51.100.${i}` })).status);
    expect(statuses.every((status) => status === 202)).toBe(true);

    const refused = await post(server.url, { site: 'globex', from: '198.51.100.200' });
    expect(refused).toMatchObject({ status: 429, body: { code: 'rate_limited', limit: 'per_site', error: expect.stringContaining('site "globex"') } });
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect((await post(server.url, { site: 'acme', from: '198.51.100.201' })).status).toBe(202);
  });

  it('stores the client address nowhere', async () => {
    const visitor = newVisitor();
    // From the socket (127.0.0.1), then through the trusted proxy.
    expect((await post(server.url, { visitor })).status).toBe(202);
    expect((await post(server.url, { visitor, from: '192.0.2.55' })).status).toBe(202);
    const rows = await storedEvents(server, visitor);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        expect(JSON.stringify(value), `column ${column}`).not.toContain('127.0.0.1');
        expect(JSON.stringify(value), `column ${column}`).not.toContain('192.0.2.55');
      }
    }
  });
});

describe('behind a proxy that writes the client\'s port', () => {
  it('counts an address with a port (203.0.113.9:51234, [2001:db8::1]:443) as the address', async () => {
    const proxied = await startTestServer({ server: { host: '127.0.0.1', port: 0, trustProxy: true }, limits: { requestsPerMinutePerIp: 2 } });
    try {
      const statuses = async (from: (n: number) => string) => {
        const all = [];
        for (let n = 1; n <= 3; n++) all.push((await post(proxied.url, { from: from(n) })).status);
        return all;
      };
      expect(await statuses((n) => `203.0.113.9:${51_233 + n}`)).toEqual([202, 202, 429]);
      expect(await statuses((n) => (n % 2 ? `[2001:db8::${n}]:${443 + n}` : `2001:db8::${n}`))).toEqual([202, 202, 429]);
      // Another address is counted apart.
      expect(await statuses(() => '203.0.113.10:443')).toEqual([202, 202, 429]);
    } finally {
      await proxied.close();
    }
  });


  it('trusts a listed proxy written with a port (Azure Application Gateway behind Front Door): the client is the address before it', async () => {
    // The socket is 127.0.0.1; the proxy before it, 10.0.0.5, wrote itself with a port.
    const proxied = await startTestServer({ server: { host: '127.0.0.1', port: 0, trustProxy: ['127.0.0.1', '10.0.0.0/8'] }, limits: { requestsPerMinutePerIp: 2 } });
    try {
      const statuses = async (from: string) => {
        const all = [];
        for (let n = 1; n <= 3; n++) all.push((await post(proxied.url, { from })).status);
        return all;
      };
      expect(await statuses('198.51.100.30, 10.0.0.5:4001')).toEqual([202, 202, 429]);
      // Another client behind the same proxy has a limit of its own.
      expect(await statuses('198.51.100.31, 10.0.0.5:4001')).toEqual([202, 202, 429]);
      // A proxy not listed is the client, by its address whatever its port.
      expect(await statuses('198.51.100.32, 192.0.2.9:4001')).toEqual([202, 202, 429]);
      expect((await post(proxied.url, { from: '198.51.100.33, 192.0.2.9:4002' })).status).toBe(429);
    } finally {
      await proxied.close();
    }
  });
});

describe('without server.trustProxy', () => {
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    const config = parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }], limits: { requestsPerMinutePerIp: 2 } }, 'test config');
    // Only the limit is under test here: accepted batches go nowhere.
    const sink = {
      write: async () => {},
      close: async () => {},
      drained: async () => {},
      status: () => ({ pendingRows: 0, pendingBytes: 0, clickHouseReachable: true, lastError: null, degraded: false, full: false }),
    };
    app = await buildApp({ config, client: server.client, sink, adminToken: 'test-admin-token' });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  it('ignores X-Forwarded-For, so a client cannot pose as many addresses', async () => {
    const statuses = [];
    for (let i = 1; i <= 3; i++) statuses.push((await post(url, { from: `203.0.113.${i}` })).status);
    expect(statuses).toEqual([202, 202, 429]);
  });
});

describe('the limits config', () => {
  it('names the path of a bad value', () => {
    expect(() => parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }], limits: { requestsPerMinutePerIp: 0 } }, 'hearth.config.json')).toThrow(
      /hearth\.config\.json: limits\.requestsPerMinutePerIp: /,
    );
    expect(() => parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }], limits: { perIp: 10 } }, 'hearth.config.json')).toThrow(/limits\.perIp: unknown key/);
  });

  it('defaults to 600 requests a minute per address and 600,000 per site, 20 batches with an email a minute per address (and 10 logins per 15 minutes per address and per name)', () => {
    const config = parseConfig({ sites: [{ id: 'acme', origins: [SITE_ORIGIN] }] }, 'hearth.config.json');
    expect(config.limits).toEqual({ requestsPerMinutePerIp: 600, requestsPerMinutePerSite: 600_000, identifyingBatchesPerMinutePerIp: 20, loginAttemptsPerIp: 10, loginAttemptsPerUser: 10 });
    expect(config.server).toEqual({ host: '127.0.0.1', port: 8787, trustProxy: false });
  });
});
