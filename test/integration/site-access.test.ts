import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leadIdOf } from '../../collector/api/lead-store.ts';
import { hashPassword } from '../../collector/auth/passwords.ts';
import { newApiToken } from '../../collector/auth/tokens.ts';
import { parseConfig } from '../../collector/config/load.ts';
import type { RunningServer } from '../../collector/server.ts';
import { drained, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent, newVisitor } from '../support/server.ts';

// An agency's Hearth: the staff of acme's client sees acme, not globex, nor that globex exists.
const acmeToken = newApiToken();
const PASSWORD = 'acme-marketing-reads-acme';
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    users: [{ name: 'mkt-acme', role: 'marketing', passwordHash: await hashPassword(PASSWORD, { N: 2 ** 10, r: 8, p: 1 }), sites: ['acme'] }, { name: 'sam', role: 'sales', passwordHash: await hashPassword('sam-sells-everywhere', { N: 2 ** 10, r: 8, p: 1 }) }],
    tokens: [{ name: 'acme-crm', role: 'sales', tokenHash: acmeToken.tokenHash, sites: ['acme'] }],
  });
  for (const [site, origin] of [['acme', SITE_ORIGIN], ['globex', 'https://globex.test']] as const) {
    await postBatch(server, { s: site, v: newVisitor(), e: [wireEvent({ n: 'f', u: `${origin}/contact`, k: 'demo-request', p: { 'email  email': `ceo@${site}-client.test` } })] }, { origin });
  }
  await drained(server);
});
afterAll(() => server.close());

const call = async (path: string, { token, cookie, method = 'GET', body }: { token?: string; cookie?: string; method?: string; body?: unknown } = {}) => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(cookie ? { cookie } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, text, body: text.startsWith('{') ? JSON.parse(text) : undefined };
};

describe('a login or a token limited to some sites', () => {
  it('reads and changes its sites, and no other, whose name it never learns', async () => {
    const globexLead = leadIdOf('ceo@globex-client.test');
    const acmeLead = leadIdOf('ceo@acme-client.test');
    const token = acmeToken.token;
    // Its site, given or left out (its only one).
    expect((await call('/api/leads?site=acme', { token })).body.leads.map((lead: { email: string }) => lead.email)).toEqual(['ceo@acme-client.test']);
    expect((await call('/api/leads', { token })).body.leads.map((lead: { email: string }) => lead.email)).toEqual(['ceo@acme-client.test']);
    expect((await call(`/api/leads/${acmeLead}/qualification?site=acme`, { token, method: 'POST', body: { owner: 'sam' } })).status).toBe(200);
    // Another site: refused, whatever the route, the same way for a site that exists and one that does not.
    for (const path of ['/api/leads?site=globex', `/api/leads/${globexLead}?site=globex`, `/api/leads/${globexLead}/export?site=globex`, '/api/leads.csv?site=globex', '/api/accounts?site=globex', '/api/alerts?site=globex', '/api/dashboard/summary?site=globex']) {
      const refused = await call(path, { token });
      expect([path, refused.status, refused.body]).toEqual([path, 403, { error: 'acme-crm has no site "globex": its sites are acme', code: 'site_forbidden' }]);
    }
    expect((await call('/api/leads?site=initech', { token })).body).toEqual({ error: 'acme-crm has no site "initech": its sites are acme', code: 'site_forbidden' });
    expect((await call(`/api/leads/${globexLead}/qualification?site=globex`, { token, method: 'POST', body: { owner: 'sam' } })).status).toBe(403);
    // The dashboards' list of sites, and the metrics that count every site's traffic by name.
    expect((await call('/api/dashboard/sites', { token })).body.sites.map((site: { id: string }) => site.id)).toEqual(['acme']);
    expect((await call('/metrics', { token })).status).toBe(403);
    // Everyone else as before: the admin token reads both.
    expect((await call('/api/leads?site=globex', { token: TEST_TOKEN })).body.leads).toHaveLength(1);
    expect((await call('/api/dashboard/sites', { token: TEST_TOKEN })).body.sites.map((site: { id: string }) => site.id)).toEqual(['acme', 'globex']);
  });

  it('holds for a login too, in the dashboards it opens', async () => {
    const login = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mkt-acme', password: PASSWORD }) });
    expect(login.status).toBe(200);
    // The dashboards learn that the login sees some sites only (to say so of another site's address), not which others.
    expect((await login.json()).user).toEqual({ name: 'mkt-acme', role: 'marketing', allSites: false });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect((await call('/api/session', { cookie })).body.user).toEqual({ name: 'mkt-acme', role: 'marketing', allSites: false });
    expect((await call('/api/session', { token: acmeToken.token })).body.user).toEqual({ name: 'acme-crm', role: 'sales', allSites: false });
    expect((await call('/api/session', { token: TEST_TOKEN })).body.user).toEqual({ name: 'admin-token', role: 'admin', allSites: true });
    expect((await call('/api/dashboard/sites', { cookie })).body).toMatchObject({ sites: [{ id: 'acme' }], owners: ['sam'] });
    expect((await call('/api/dashboard/leads?site=globex', { cookie })).status).toBe(403);
    expect((await call('/api/dashboard/leads?site=acme', { cookie })).status).toBe(200);
  });

  it('names only configured sites, at the path of the one that is not', () => {
    const config = { sites: [{ id: 'acme', origins: [SITE_ORIGIN] }], tokens: [{ name: 'crm', role: 'sales', tokenHash: acmeToken.tokenHash, sites: ['acme', 'globex'] }] };
    expect(() => parseConfig(config, 'hearth.config.json')).toThrow('tokens[0].sites[1]: no site "globex" is configured; the sites are acme');
    expect(() => parseConfig({ ...config, tokens: [{ ...config.tokens[0], sites: [] }] }, 'hearth.config.json')).toThrow('tokens[0].sites: name one site at least, or leave sites out for every site');
  });
});
