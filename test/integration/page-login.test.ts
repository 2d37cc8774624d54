import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAuth } from '../../collector/auth/auth.plugin.ts';
import { requirePageLogin } from '../../collector/auth/page-login.ts';
import { hashPassword } from '../../collector/auth/passwords.ts';
import { parseConfig } from '../../collector/config/load.ts';

/** A bare Fastify with only the auth installed and a few pages, as the dashboards plugin will add them. */
let app: FastifyInstance;
/** Another collector of the same Hearth: the same users, sessions of its own. */
let other: FastifyInstance;
beforeAll(async () => {
  app = await collector();
  other = await collector();
});
afterAll(() => Promise.all([app.close(), other.close()]));

async function collector(logs?: string[]): Promise<FastifyInstance> {
  const config = parseConfig({ sites: [{ id: 'acme', origins: ['https://acme.test'] }] }, 'test config');
  const users = [{ name: 'ada', role: 'marketing' as const, passwordHash: await hashPassword('ada-reads-dashboards', { N: 2 ** 10, r: 8, p: 1 }) }];
  const app = Fastify(logs ? { logger: { level: 'warn', stream: { write: (line: string) => void logs.push(line) } } } : {});
  await installAuth(app, { config, adminToken: 'page-test-admin-token', users });
  await app.register(async (pages) => {
    pages.get('/dashboard', async (request) => `overview for ${request.user!.name}`);
    pages.get('/dashboard/leads/:id', async (request) => `lead for ${request.user!.name}`);
    // Outside /dashboard, a page asks for the login itself.
    pages.get('/reports', { onRequest: requirePageLogin }, async (request) => `reports for ${request.user!.name}`);
    pages.get('/public', async () => 'anyone');
    pages.post('/api/notes', async (request) => ({ by: request.user!.name }));
  });
  await app.ready();
  return app;
}

async function sessionCookie(headers: Record<string, string> = {}) {
  const response = await app.inject({ method: 'POST', url: '/login', headers, payload: { name: 'ada', password: 'ada-reads-dashboards' } });
  expect(response.statusCode).toBe(200);
  return String(response.headers['set-cookie']).split(';')[0]!;
}

describe('pages behind the login', () => {
  it('sends a browser without a session to /login, with the page to come back to', async () => {
    for (const url of ['/dashboard', '/dashboard/leads/l_123?site=acme', '/reports']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toBe(`/login?next=${encodeURIComponent(url)}`);
    }
    expect((await app.inject({ method: 'GET', url: '/public' })).body).toBe('anyone');
  });

  it('serves them to a signed-in browser, and to a token', async () => {
    const cookie = await sessionCookie();
    expect((await app.inject({ method: 'GET', url: '/dashboard/leads/l_123', headers: { cookie } })).body).toBe('lead for ada');
    expect((await app.inject({ method: 'GET', url: '/reports', headers: { cookie } })).body).toBe('reports for ada');
    const byToken = await app.inject({ method: 'GET', url: '/dashboard', headers: { authorization: 'Bearer page-test-admin-token' } });
    expect(byToken.body).toBe('overview for admin-token');
  });

  it('sends a signed-in browser that opens /login straight on to its next page', async () => {
    const cookie = await sessionCookie();
    const response = await app.inject({ method: 'GET', url: '/login?next=%2Fdashboard%2Fleads%2Fl_123', headers: { cookie } });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/dashboard/leads/l_123');
  });

  it('tells a browser whose session a collector did not know why, rather than sending it round between two collectors', async () => {
    const cookie = await sessionCookie();
    // Behind a load balancer that does not keep the browser on one collector: the other does not know the session.
    const elsewhere = await other.inject({ method: 'GET', url: '/dashboard/leads/l_123', headers: { cookie } });
    expect([elsewhere.statusCode, elsewhere.headers.location]).toEqual([303, '/login?next=%2Fdashboard%2Fleads%2Fl_123&session=unknown']);
    // The login page, on the collector that knows it, says what happened where it sent the browser straight back.
    const known = await app.inject({ method: 'GET', url: elsewhere.headers.location as string, headers: { cookie } });
    expect(known.statusCode).toBe(200);
    expect(known.body).toContain('another server of this Hearth did not know your session');
    expect(known.body).toContain('sticky sessions');
    // On the one that does not know it (or after the session ended): the login form, saying the session ended.
    const unknown = await other.inject({ method: 'GET', url: elsewhere.headers.location as string, headers: { cookie } });
    expect(unknown.statusCode).toBe(200);
    expect(unknown.body).toContain('<p class="notice" role="status">Your session has ended: log in again.</p>');
    // A browser that sent no session is sent to log in as before, with nothing to say.
    expect((await other.inject({ method: 'GET', url: '/dashboard' })).headers.location).toBe('/login?next=%2Fdashboard');
    expect((await other.inject({ method: 'GET', url: '/login?next=%2Fdashboard' })).body).not.toContain('class="notice"');
  });

  it('keeps the session of a browser that also sends a proxy its Basic credentials, CSRF checks included', async () => {
    // A reverse proxy's own login (nginx auth_basic) makes the browser send `Authorization: Basic …` with every
    // request, and the proxy passes it on: that is no Hearth token, and the session cookie must still count.
    const basic = { authorization: `Basic ${Buffer.from('ops:proxy-password').toString('base64')}` };
    const cookie = await sessionCookie(basic);
    const page = await app.inject({ method: 'GET', url: '/dashboard', headers: { ...basic, cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toBe('overview for ada');
    const { csrfToken } = (await app.inject({ method: 'GET', url: '/api/session', headers: { ...basic, cookie } })).json();
    expect(csrfToken).toMatch(/^[\w-]{43}$/);
    // Changes made with that cookie still need its CSRF token, logging out included.
    expect((await app.inject({ method: 'POST', url: '/api/notes', headers: { ...basic, cookie } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/notes', headers: { ...basic, cookie, 'x-csrf-token': csrfToken } })).json()).toEqual({ by: 'ada' });
    expect((await app.inject({ method: 'POST', url: '/logout', headers: { ...basic, cookie } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { ...basic, cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/logout', headers: { ...basic, cookie, 'x-csrf-token': csrfToken } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { ...basic, cookie } })).statusCode).toBe(303);
  });

  it('lets a Bearer token stand or fall by itself, however many spaces follow the scheme', async () => {
    const cookie = await sessionCookie();
    // A wrong token is not rescued by the cookie next to it.
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie, authorization: 'Bearer not-the-token' } })).statusCode).toBe(303);
    expect((await app.inject({ method: 'GET', url: '/dashboard', headers: { cookie, authorization: 'bearer' } })).statusCode).toBe(303);
    // RFC 6750: "Bearer" 1*SP token.
    const spaced = await app.inject({ method: 'GET', url: '/dashboard', headers: { authorization: 'Bearer   page-test-admin-token' } });
    expect(spaced.body).toBe('overview for admin-token');
  });
});

describe('a login through a reverse proxy that does not say where it was reached', () => {
  const login = (proxied: FastifyInstance, headers: Record<string, string>) =>
    proxied.inject({ method: 'POST', url: '/login', headers: { host: 'hearth.test', ...headers }, payload: { name: 'ada', password: 'ada-reads-dashboards' } });
  const warnings = (logs: string[]) => logs.map((line) => JSON.parse(line) as { level: number; msg: string }).filter((line) => line.level === 40).map((line) => line.msg);

  it("names the proxy's Host as the cause when the browser says the form is the site's own page, to the person and in the log", async () => {
    const logs: string[] = [];
    const proxied = await collector(logs);
    try {
      // nginx's default passes its upstream's name as Host: the page, https://hearth.test, is not the host Hearth sees.
      const own = await login(proxied, { host: 'hearth', origin: 'https://hearth.test', 'sec-fetch-site': 'same-origin' });
      expect([own.statusCode, own.json()]).toEqual([403, { error: 'this login page and the server disagree on its address: the proxy in front of Hearth does not pass the Host it was reached at (see the log)', code: 'csrf' }]);
      expect(warnings(logs)).toEqual([expect.stringMatching(/^a login from Hearth's own login page was refused: .*\(nginx: proxy_set_header Host \$http_host\)/)]);
      // Another site's form is refused as one, and not logged.
      const forged = await login(proxied, { host: 'hearth', origin: 'https://evil.test', 'sec-fetch-site': 'cross-site' });
      expect([forged.statusCode, forged.json()]).toEqual([403, { error: 'a login form on another site cannot log in here', code: 'csrf' }]);
      expect(warnings(logs)).toHaveLength(1);
    } finally {
      await proxied.close();
    }
  });

  it('says once that TLS ends at a proxy that does not send X-Forwarded-Proto, so session cookies go without Secure', async () => {
    const logs: string[] = [];
    const proxied = await collector(logs);
    try {
      for (let i = 0; i < 2; i++) {
        const response = await login(proxied, { origin: 'https://hearth.test' });
        expect(response.statusCode).toBe(200);
        expect(String(response.headers['set-cookie'])).not.toMatch(/; Secure/i);
      }
      expect(warnings(logs)).toEqual([expect.stringMatching(/^a login came from an https page over plain http: .*X-Forwarded-Proto/)]);
      expect((await login(proxied, { origin: 'http://hearth.test' })).statusCode).toBe(200);
      expect(warnings(logs)).toHaveLength(1);
    } finally {
      await proxied.close();
    }
  });
});
