import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../collector/auth/passwords.ts';
import { newApiToken } from '../../collector/auth/tokens.ts';
import { dashboardsDir } from '../../collector/routes/dashboard.route.ts';
import type { RunningServer } from '../../collector/server.ts';
import { drained, newVisitor, postBatch, SITE_ORIGIN, startTestServer, TEST_TOKEN, wireEvent } from '../support/server.ts';

// A cheap scrypt cost keeps the file fast; the format carries the cost, so production hashes verify the same way.
const TEST_COST = { N: 2 ** 10, r: 8, p: 1 };
const PASSWORDS = { ada: 'ada-reads-the-dashboards', sam: 'sam-calls-the-hot-leads', eve: 'eve-is-rate-limited', kim: 'kim-works-on-a-shared-pc', lin: 'lin-logs-in-over-https' };
const crmToken = newApiToken();

let server: RunningServer;
beforeAll(async () => {
  const users = await Promise.all(
    ([['ada', 'marketing'], ['sam', 'sales'], ['eve', 'marketing'], ['kim', 'sales'], ['lin', 'sales']] as const).map(async ([name, role]) => ({ name, role, passwordHash: await hashPassword(PASSWORDS[name], TEST_COST) })),
  );
  server = await startTestServer({
    // Each request below says where it comes from (X-Forwarded-For), so only the rate-limit test shares an address.
    server: { host: '127.0.0.1', port: 0, trustProxy: true },
    limits: { loginAttemptsPerIp: 8, loginAttemptsPerUser: 8 },
    users,
    tokens: [{ name: 'crm-sync', role: 'sales', tokenHash: crmToken.tokenHash }],
  });
});
afterAll(() => server.close());

let address = 0;
const nextAddress = () => `198.51.100.${++address}`;

interface Call {
  method?: string;
  body?: unknown;
  form?: Record<string, string>;
  cookie?: string;
  csrf?: string;
  token?: string;
  headers?: Record<string, string>;
}

async function call(path: string, { method = 'GET', body, form, cookie, csrf, token, headers = {} }: Call = {}) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      'x-forwarded-for': nextAddress(),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...(cookie ? { cookie } : {}),
      ...(csrf ? { 'x-csrf-token': csrf } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: form ? new URLSearchParams(form).toString() : body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : undefined;
  return { status: response.status, body: json, text, headers: response.headers };
}

/** Logs in as a browser would with fetch: returns the cookie to send back and the CSRF token. */
async function login(name: keyof typeof PASSWORDS) {
  const response = await call('/login', { method: 'POST', body: { name, password: PASSWORDS[name] } });
  expect(response.status).toBe(200);
  const setCookie = response.headers.get('set-cookie')!;
  return { cookie: setCookie.split(';')[0]!, csrf: response.body.csrfToken as string, setCookie };
}

async function makeLead() {
  const visitor = newVisitor();
  await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent({ n: 'i', em: `lead.${visitor}@globex.test`, u: `${SITE_ORIGIN}/contact` })] });
  await drained(server);
  const { body } = await call(`/api/leads?site=acme&visitor=${visitor}`, { token: TEST_TOKEN });
  return body.leads[0].id as string;
}

describe('authentication', () => {
  it('refuses the API without credentials, or with an unknown token, with 401', async () => {
    for (const token of [undefined, 'hth_unknown', TEST_TOKEN.slice(0, -1)]) {
      const response = await call('/api/leads?site=acme', { token });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="hearth"');
      expect(response.body).toMatchObject({ code: 'unauthorized', error: expect.stringContaining('/login') });
    }
    // A path spelled with an escape reaches the same route, and the same check.
    expect((await call('/%61pi/leads?site=acme')).status).toBe(401);
  });

  it('accepts a configured token under its name and role, without a CSRF token', async () => {
    const session = await call('/api/session', { token: crmToken.token });
    expect(session.body).toEqual({ user: { name: 'crm-sync', role: 'sales', allSites: true }, csrfToken: null });
    const id = await makeLead();
    const qualified = await call(`/api/leads/${id}/qualification?site=acme`, { method: 'POST', token: crmToken.token, body: { boxes: { need: true } } });
    expect(qualified.status).toBe(200);
    const history = await call(`/api/leads/${id}/qualification?site=acme`, { token: crmToken.token });
    expect(history.body.history.at(-1).changedBy).toBe('crm-sync');
  });

  it('keeps what the API answers about leads out of every cache: a shared computer keeps its browser\'s after logout', async () => {
    const { cookie } = await login('kim');
    const id = await makeLead();
    for (const path of [`/api/leads/${id}?site=acme`, `/api/leads/${id}/export?site=acme`, '/api/leads?site=acme', '/api/leads.csv?site=acme', '/api/dashboard/leads?site=acme']) {
      const response = await call(path, { cookie });
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it('keeps the admin token working for everything', async () => {
    const response = await call('/api/session', { token: TEST_TOKEN });
    expect(response.body.user).toEqual({ name: 'admin-token', role: 'admin', allSites: true });
  });
});

describe('logging in', () => {
  it('answers a wrong password, or an unknown name, with the same 401', async () => {
    const wrong = await call('/login', { method: 'POST', body: { name: 'ada', password: 'not-her-password' } });
    const unknown = await call('/login', { method: 'POST', body: { name: 'nobody', password: 'whatever-it-is' } });
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: 'wrong name or password', code: 'invalid_credentials' });
      expect(response.headers.get('set-cookie')).toBeNull();
    }
    const empty = await call('/login', { method: 'POST', body: { name: 'ada' } });
    expect(empty.status).toBe(400);
    expect(empty.body.problems).toEqual([{ path: 'password', message: expect.any(String) }]);
  });

  it('sets an HttpOnly, SameSite=Lax session cookie for the whole site, Secure over https', async () => {
    const { setCookie } = await login('ada');
    expect(setCookie).toMatch(/^hearth_session=[\w-]{43};/);
    const attributes = setCookie.split(';').slice(1).map((part) => part.trim());
    expect(attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/', 'Max-Age=604800']));
    expect(attributes).not.toContain('Secure');
    const overHttps = await call('/login', { method: 'POST', body: { name: 'ada', password: PASSWORDS.ada }, headers: { 'x-forwarded-proto': 'https' } });
    expect(overHttps.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('over https, names the cookie __Host- so a sibling subdomain cannot put its own session in front', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    const signIn = async (name: keyof typeof PASSWORDS) =>
      (await call('/login', { method: 'POST', body: { name, password: PASSWORDS[name] }, headers: https })).headers.get('set-cookie')!.split(';')[0]!;
    const ada = await signIn('ada');
    expect(ada).toMatch(/^__Host-hearth_session=[\w-]{43}$/);
    // blog.example.com sets hearth_session for the parent domain and /api (a session of its own, or any value): the
    // browser sends the more specific path's cookie first.
    const planted = 'x'.repeat(43);
    const response = await call('/api/session', { cookie: `hearth_session=${planted}; ${ada}`, headers: https });
    expect(response.status).toBe(200);
    expect(response.body.user).toEqual({ name: 'ada', role: 'marketing', allSites: true });
    // And such a cookie alone is no session over https.
    expect((await call('/api/session', { cookie: `hearth_session=${planted}`, headers: https })).status).toBe(401);
    const out = await call('/logout', { method: 'POST', cookie: ada, csrf: (await call('/api/session', { cookie: ada, headers: https })).body.csrfToken, headers: https });
    expect(out.headers.get('set-cookie')).toMatch(/^__Host-hearth_session=; Max-Age=0; Path=\/;/);
  });

  it('tells a signed-in browser who it is and its CSRF token', async () => {
    const { cookie, csrf } = await login('sam');
    const response = await call('/api/session', { cookie });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ user: { name: 'sam', role: 'sales', allSites: true }, csrfToken: csrf });
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('never quotes a password back in the problems of a login it refuses', async () => {
    const password = `S3cret-Pass-${'x'.repeat(1100)}`;
    const json = await call('/login', { method: 'POST', body: { name: 'ada', password } });
    expect(json.status).toBe(400);
    expect(JSON.stringify(json.body)).not.toContain('S3cret-Pass');
    const form = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ name: 'ada', password }) });
    expect(form.status).toBe(400);
    expect(await form.text()).not.toContain('S3cret-Pass');
    // What is wrong is still said, by kind: not "not a undefined".
    const typed = await call('/login', { method: 'POST', body: { name: 1, password: ['x'] } });
    expect(typed.body.problems).toEqual([
      { path: 'name', message: 'expected a text in quotes, not a number' },
      { path: 'password', message: 'expected a text in quotes, not a list' },
    ]);
  });

  it('refuses a login posted from another site', async () => {
    const response = await call('/login', { method: 'POST', body: { name: 'ada', password: PASSWORDS.ada }, headers: { origin: 'https://evil.test' } });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('csrf');
    expect(response.headers.get('set-cookie')).toBeNull();
    // Over https, the same host over plain http is another site (a page injected into unencrypted traffic); over
    // http, an https page of the host is this site behind a TLS proxy that trustProxy does not cover.
    const host = new URL(server.url).host;
    const login = (origin: string, proto: string) => call('/login', { method: 'POST', body: { name: 'lin', password: PASSWORDS.lin }, headers: { origin, 'x-forwarded-proto': proto } });
    const plain = await login(`http://${host}`, 'https');
    expect([plain.status, plain.body.code, plain.headers.get('set-cookie')]).toEqual([403, 'csrf', null]);
    expect((await login(`https://${host}`, 'https')).status).toBe(200);
    expect((await login(`http://${host}`, 'http')).status).toBe(200);
    expect((await login(`https://${host}`, 'http')).status).toBe(200);
  });

  it('rate-limits attempts per name and per address with 429 and Retry-After, even with the right password', async () => {
    // Per name: eight attempts from eight addresses, then even the right password waits.
    for (let i = 0; i < 8; i++) expect((await call('/login', { method: 'POST', body: { name: 'eve', password: `guess-${i}-of-many` } })).status).toBe(401);
    const limited = await call('/login', { method: 'POST', body: { name: 'eve', password: PASSWORDS.eve } });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'rate_limited', limit: 'per_user' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);

    // Per address: eight names tried from one address, then that address waits, whatever the name.
    const from = { 'x-forwarded-for': '203.0.113.77' };
    for (let i = 0; i < 8; i++) await call('/login', { method: 'POST', body: { name: `spray${i}`, password: 'Summer2026!' }, headers: from });
    const sprayed = await call('/login', { method: 'POST', body: { name: 'sam', password: PASSWORDS.sam }, headers: from });
    expect(sprayed.status).toBe(429);
    expect(sprayed.body).toMatchObject({ code: 'rate_limited', limit: 'per_ip' });
    expect(Number(sprayed.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('counts attempts by the address the proxy saw, not by one the client wrote into X-Forwarded-For', async () => {
    // trustProxy: true is the one proxy in front: it appends the address it saw; what comes before is the client's say.
    const forged = (i: number) => ({ 'x-forwarded-for': `10.9.${i}.1, 198.51.100.7` });
    for (let i = 0; i < 8; i++) expect((await call('/login', { method: 'POST', body: { name: `forger${i}`, password: 'Winter2026!' }, headers: forged(i) })).status).toBe(401);
    const limited = await call('/login', { method: 'POST', body: { name: 'forger9', password: 'Winter2026!' }, headers: forged(9) });
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'rate_limited', limit: 'per_ip' });
  });
});

describe('the login form', () => {
  it('serves an accessible page that needs no script and no other origin', async () => {
    const response = await call('/login?next=%2Fdashboard%2Fleads');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[\w+/=]+'; form-action 'self'; frame-ancestors 'none'/);
    expect(response.text).toContain('<label for="name">Name</label>');
    expect(response.text).toContain('<label for="password">Password</label>');
    expect(response.text).toContain('autocomplete="current-password"');
    expect(response.text).toContain('<input type="hidden" name="next" value="/dashboard/leads">');
    expect(response.text).not.toMatch(/<script|https?:\/\//);
  });

  it('shows the error on the page, keeps the name, never the password', async () => {
    const response = await call('/login', { method: 'POST', form: { name: 'ada', password: 'hunter2-wrong', next: '/dashboard' } });
    expect(response.status).toBe(401);
    expect(response.text).toContain('<p class="error" id="login-error" role="alert">wrong name or password</p>');
    expect(response.text).toContain('value="ada"');
    expect(response.text).not.toContain('hunter2');
  });

  it('carries a next page through the form only when it stays on this server once normalised', async () => {
    // Each would become "//evil.test…", which a browser follows to another site: the form carries none of them.
    for (const next of ['/.//evil.test', '/%2e//evil.test', '/a/..//evil.test/phish']) {
      const response = await call(`/login?next=${encodeURIComponent(next)}`);
      expect(response.status).toBe(200);
      expect(response.text).not.toContain('name="next"');
    }
    const response = await call(`/login?next=${encodeURIComponent('/dashboard/../dashboard/leads')}`);
    expect(response.text).toContain('<input type="hidden" name="next" value="/dashboard/leads">');
  });

  it('sends the browser on to a local next page only', async () => {
    const cases = [
      ['/dashboard/leads?temperature=hot', '/dashboard/leads?temperature=hot'],
      ['//evil.test/phish', '/dashboard'],
      ['https://evil.test/', '/dashboard'],
      ['/\\evil.test', '/dashboard'],
    ];
    for (const [next, location] of cases) {
      const response = await call('/login', { method: 'POST', form: { name: 'sam', password: PASSWORDS.sam, next: next! } });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe(location);
      expect(response.headers.get('set-cookie')).toMatch(/^hearth_session=/);
    }
  });
});

describe('roles', () => {
  it('lets marketing read, but not qualify or erase a lead (403 naming the role needed)', async () => {
    const { cookie, csrf } = await login('ada');
    const id = await makeLead();
    expect((await call('/api/leads?site=acme', { cookie })).status).toBe(200);
    expect((await call(`/api/leads/${id}?site=acme`, { cookie })).status).toBe(200);
    const qualify = await call(`/api/leads/${id}/qualification?site=acme`, { method: 'POST', cookie, csrf, body: { boxes: { budget: true } } });
    expect(qualify.status).toBe(403);
    expect(qualify.body).toMatchObject({ code: 'forbidden', error: 'this needs one of the roles admin, sales; ada is marketing', requiredRoles: ['admin', 'sales'] });
    const erase = await call(`/api/leads/${id}?site=acme`, { method: 'DELETE', cookie, csrf });
    expect(erase.status).toBe(403);
    expect(erase.body.error).toBe('this needs the admin role; ada is marketing');
    // The role is checked before the body is read: a body that is not JSON at all is no reason to tell her otherwise.
    for (const [method, path] of [['DELETE', `/api/leads/${id}?site=acme`], ['POST', `/api/leads/${id}/qualification?site=acme`], ['POST', '/api/alerts/x/retry?site=acme']]) {
      const refused = await call(path!, { method, cookie, csrf, headers: { 'content-type': 'application/json' } });
      expect([path, refused.status, refused.body.code]).toEqual([path, 403, 'forbidden']);
    }
    expect((await call(`/api/leads/${id}?site=acme`, { token: TEST_TOKEN })).status).toBe(200);
  });

  it('lets sales qualify a lead, under their own name, but not erase it; an admin can', async () => {
    const { cookie, csrf } = await login('sam');
    const id = await makeLead();
    const qualify = await call(`/api/leads/${id}/qualification?site=acme`, { method: 'POST', cookie, csrf, body: { boxes: { budget: true }, owner: 'sam' } });
    expect(qualify.status).toBe(200);
    expect(qualify.body).toMatchObject({ owner: 'sam', missing: ['authority', 'need', 'timing'] });
    const history = await call(`/api/leads/${id}/qualification?site=acme`, { cookie });
    expect(history.body.history.at(-1).changedBy).toBe('sam');
    expect((await call(`/api/leads/${id}?site=acme`, { method: 'DELETE', cookie, csrf })).status).toBe(403);
    expect((await call(`/api/leads/${id}?site=acme`, { method: 'DELETE', token: TEST_TOKEN })).status).toBe(200);
  });
});

describe('CSRF and logging out', () => {
  it('refuses a change made with the session cookie unless it carries the session\'s CSRF token', async () => {
    const { cookie, csrf } = await login('sam');
    const other = await login('sam');
    const id = await makeLead();
    const path = `/api/leads/${id}/qualification?site=acme`;
    for (const token of [undefined, 'x'.repeat(43), other.csrf]) {
      const refused = await call(path, { method: 'POST', cookie, csrf: token, body: { boxes: { need: true } } });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'csrf', error: expect.stringContaining('x-csrf-token') });
    }
    expect((await call(`/api/leads/${id}/qualification?site=acme`, { cookie })).body.history).toEqual([]);
    expect((await call(path, { method: 'POST', cookie, csrf, body: { boxes: { need: true } } })).status).toBe(200);
  });

  it('ends the session on logout: the old cookie no longer works', async () => {
    const { cookie, csrf } = await login('ada');
    expect((await call('/api/session', { cookie })).status).toBe(200);
    expect((await call('/logout', { method: 'POST', cookie })).status).toBe(403);
    const out = await call('/logout', { method: 'POST', cookie, csrf });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^hearth_session=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax/);
    const after = await call('/api/session', { cookie });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthorized');
  });
});

describe('dashboard pages', () => {
  it('serve the shell and its assets compressed as the browser accepts, the same bytes once decoded', async () => {
    const { cookie } = await login('ada');
    const shell = readFileSync(join(dashboardsDir, 'index.html'), 'utf8');
    const script = /src="\/dashboard\/assets\/([^"]+\.js)"/.exec(shell)![1]!;
    const source = readFileSync(join(dashboardsDir, 'assets', script), 'utf8');
    // q=0 refuses a coding.
    for (const [accepted, encoding] of [['br', 'br'], ['gzip', 'gzip'], ['identity', 'identity'], ['br;q=0, gzip', 'gzip'], ['gzip;q=0, br;q=0', 'identity']]) {
      for (const [path, expected] of [['/dashboard', shell], [`/dashboard/assets/${script}`, source]] as const) {
        const response = await call(path, { cookie, headers: { 'accept-encoding': accepted! } });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-encoding')).toBe(encoding === 'identity' ? null : encoding);
        expect(response.text).toBe(expected);
      }
    }
  });
});

describe('every answer', () => {
  it('says nosniff, so a browser never reads a JSON or CSV answer as a page: API, errors, login, dashboards, beacons', async () => {
    const visitor = newVisitor();
    const answers = [
      await call('/api/leads?site=acme', { token: crmToken.token }),
      await call('/api/leads?site=acme'),
      await call('/api/no-such-route', { token: crmToken.token }),
      await call('/login'),
      await call('/dashboard'),
      await call('/healthz'),
      await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent()] }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 404, 200, 303, 200, 202]);
    for (const answer of answers) expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
