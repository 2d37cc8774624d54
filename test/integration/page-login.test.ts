import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAuth } from '../../collector/auth/auth.plugin.ts';
import { requirePageLogin } from '../../collector/auth/page-login.ts';
import { hashPassword } from '../../collector/auth/passwords.ts';
import { parseConfig } from '../../collector/config/load.ts';

/** A bare Fastify with only the auth installed and a few pages, as the dashboards plugin will add them. */
let app: FastifyInstance;
beforeAll(async () => {
  const config = parseConfig({ sites: [{ id: 'acme', origins: ['https://acme.test'] }] }, 'test config');
  const users = [{ name: 'ada', role: 'marketing' as const, passwordHash: await hashPassword('ada-reads-dashboards', { N: 2 ** 10, r: 8, p: 1 }) }];
  app = Fastify();
  await installAuth(app, { config, adminToken: 'page-test-admin-token', users });
  await app.register(async (pages) => {
    pages.get('/dashboard', async (request) => `overview for ${request.user!.name}`);
    pages.get('/dashboard/leads/:id', async (request) => `lead for ${request.user!.name}`);
    // Outside /dashboard, a page asks for the login itself.
    pages.get('/reports', { onRequest: requirePageLogin }, async (request) => `reports for ${request.user!.name}`);
    pages.get('/public', async () => 'anyone');
  });
  await app.ready();
});
afterAll(() => app.close());

async function sessionCookie() {
  const response = await app.inject({ method: 'POST', url: '/login', payload: { name: 'ada', password: 'ada-reads-dashboards' } });
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
});
