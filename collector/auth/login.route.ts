import rateLimit from '@fastify/rate-limit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HearthConfig } from '../config/schema.ts';
import { toProblems } from '../config/issues.ts';
import { sameSecret, sessionCookie, sessionCookieName, sessionOf } from '../hooks/auth.hook.ts';
import type { Access } from './access.ts';
import { LOGIN_PAGE_CSP, renderLoginPage } from './login-page.ts';
import { UNKNOWN_SESSION } from './page-login.ts';
import { fewAtOnce } from '../few-at-once.ts';
import { SESSION_MAX_MS } from './sessions.ts';

export interface LoginRouteOptions {
  config: HearthConfig;
  access: Access;
}

const LOGIN_WINDOW_MS = 15 * 60_000;
const DEFAULT_NEXT = '/dashboard';
/** What the login page says to a browser whose session another collector of the same Hearth did not know. */
const ELSEWHERE =
  'You are logged in on this server, but another server of this Hearth did not know your session: it runs as several collectors ' +
  'behind a load balancer that sends each request to any of them, and each keeps its own sessions. Ask your Hearth admin to keep ' +
  'each browser on one collector (sticky sessions). Logging in again lasts until a request reaches another collector.';

const loginSchema = z.object({
  name: z.string().min(1, { message: 'enter your name' }).max(100),
  password: z.string().min(1, { message: 'enter your password' }).max(1024),
  next: z.string().max(2000).optional(),
});

/** `next` as a path on this server, or undefined: a login must never send anyone to another site. */
function localPath(next: unknown): string | undefined {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next)) return undefined;
  const base = 'http://hearth.invalid';
  const url = new URL(next, base);
  // Normalising can make a scheme-relative URL of a path ("/.//evil.example" → "//evil.example"), which a browser
  // would follow to another site: the normalised path is checked again.
  if (url.origin !== base || url.pathname.startsWith('//')) return undefined;
  return url.pathname + url.search + url.hash;
}

/** What an operator reads when a login from Hearth's own page is refused for its address: the proxy's fix. */
const PROXY_HOST_HINT =
  "a login from Hearth's own login page was refused: the page's address (origin) is not the host this server sees, so the reverse proxy in front does not pass the Host it was reached at; have it pass the browser's Host (nginx: proxy_set_header Host $http_host), or X-Forwarded-Host with server.trustProxy (docs/operations.md)";

/** Browsers send Origin with every POST: one from another site is a forged login or logout. Clients without a
 * browser (curl, scripts) send none. */
function fromThisSite(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    const { host, protocol } = new URL(origin);
    // Over https (behind a proxy, as X-Forwarded-Proto says with server.trustProxy), a page of the same host over plain
    // http is another site: one injected into unencrypted traffic could log the victim in as someone else. Over http,
    // an https origin is this site behind a TLS proxy that trustProxy does not cover.
    return host === request.host && !(request.protocol === 'https' && protocol !== 'https:');
  } catch {
    return false;
  }
}

/**
 * Password checks under way at once, at most: each is a quarter of a second of scrypt on libuv's thread pool, which the
 * write-ahead log's fsyncs and the embedded engine's statements share. Dozens of wrong logins from as many addresses
 * (each within its own limit) held a beacon's 202 back six seconds.
 */
const PASSWORD_CHECKS = 2;
/** Logins waiting for a check, at most; one more is told to try again in a second (503). */
const WAITING_LOGINS = 8;
/** Lockouts remembered as logged at once: past this, with none of them over, a new one is not logged (a flood of addresses). */
const LOCKOUTS_KEPT = 1000;

const isFormPost = (request: FastifyRequest) => (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');

/** `GET /login` (the page), `POST /login`, `POST /logout` and `GET /api/session`. */
export const loginRoutes: FastifyPluginAsync<LoginRouteOptions> = async (app, { config, access }) => {
  // A login from an https page over plain http: Hearth is behind a TLS proxy that does not say so, and the session
  // cookie goes without Secure. Accepted (fromThisSite), and said once to the operator.
  let saidPlainBehindTls = false;
  const warnPlainBehindTls = (request: FastifyRequest) => {
    if (saidPlainBehindTls || request.protocol !== 'http' || !request.headers.origin?.startsWith('https://')) return;
    saidPlainBehindTls = true;
    request.log.warn(
      { origin: request.headers.origin },
      'a login came from an https page over plain http: the proxy in front of Hearth terminates TLS and does not say so, so session cookies are set without Secure; have it send X-Forwarded-Proto and set server.trustProxy (docs/operations.md)',
    );
  };
  // The page's form posts form-encoded.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  // Every attempt counts, checked before the password is: counting only failures would let a burst of parallel
  // guesses through before the first failure is recorded.
  await app.register(rateLimit, { global: false });
  const attemptsFromAddress = app.createRateLimit({ max: config.limits.loginAttemptsPerIp, timeWindow: LOGIN_WINDOW_MS });
  const attemptsForName = app.createRateLimit({
    max: config.limits.loginAttemptsPerUser,
    timeWindow: LOGIN_WINDOW_MS,
    keyGenerator: (request) => String((request.body as { name?: unknown }).name).toLowerCase(),
  });

  const passwordChecks = fewAtOnce(PASSWORD_CHECKS, WAITING_LOGINS);
  // The lockouts already logged, until their window ends (ms): a user's, always (there are as many as users), and the
  // others (addresses, names that are no user's) up to LOCKOUTS_KEPT, past which a flood of them is not logged one by
  // one. Kept apart, so that a flood of addresses cannot silence the lockout of a user's name.
  const usersSaid = new Map<string, number>();
  const othersSaid = new Map<string, number>();
  const firstRefusal = (key: string, ttlMs: number, ofUser: boolean): boolean => {
    const said = ofUser ? usersSaid : othersSaid;
    const now = Date.now();
    if ((said.get(key) ?? 0) > now) return false;
    if (said.size >= LOCKOUTS_KEPT) for (const [logged, until] of said) if (until <= now) said.delete(logged);
    if (!ofUser && said.size >= LOCKOUTS_KEPT) return false;
    said.set(key, now + ttlMs);
    return true;
  };

  const page = (reply: FastifyReply, status: number, state: Parameters<typeof renderLoginPage>[0]) =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', LOGIN_PAGE_CSP)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'same-origin')
      .send(renderLoginPage(state));

  app.get('/login', async (request, reply) => {
    const { next: asked, session } = request.query as { next?: unknown; session?: unknown };
    const next = localPath(asked);
    const unknown = session === UNKNOWN_SESSION;
    // Sent here by a collector that did not know a session this one knows: several collectors behind a load balancer
    // that sends a browser to any of them. Sent straight back, the browser would go round until it gave up.
    if (request.user?.via === 'session' && unknown) return page(reply, 200, { next, notice: ELSEWHERE });
    if (request.user?.via === 'session') return reply.redirect(next ?? DEFAULT_NEXT, 303);
    return page(reply, 200, { next, ...(unknown && { notice: 'Your session has ended: log in again.' }) });
  });

  app.post('/login', async (request, reply) => {
    const form = isFormPost(request);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const next = localPath(body.next);
    const refuse = (status: number, code: string, error: string, extra: object = {}) =>
      form
        ? page(reply, status, { next, name: typeof body.name === 'string' ? body.name : '', error })
        : reply.code(status).send({ error, code, ...extra });

    if (!fromThisSite(request)) {
      // The browser says the form is this site's own page (Sec-Fetch-Site), and the server sees another host: the
      // reverse proxy in front does not pass the address it was reached at. Said to the operator, in the log too.
      if (request.headers['sec-fetch-site'] === 'same-origin') {
        request.log.warn({ origin: request.headers.origin, host: request.host }, PROXY_HOST_HINT);
        return refuse(403, 'csrf', 'this login page and the server disagree on its address: the proxy in front of Hearth does not pass the Host it was reached at (see the log)');
      }
      return refuse(403, 'csrf', 'a login form on another site cannot log in here');
    }
    warnPlainBehindTls(request);
    // Without the input in the problems: they would quote the password back.
    const parsed = loginSchema.safeParse(body);
    if (!parsed.success) {
      const problems = toProblems(parsed.error);
      return refuse(400, 'invalid_login', form ? problems.map((problem) => problem.message).join('; ') : 'the login needs a name and a password', { problems });
    }

    for (const [counter, limit, whose] of [
      [attemptsFromAddress, 'per_ip', 'from this address'],
      [attemptsForName, 'per_user', `for "${parsed.data.name}"`],
    ] as const) {
      const count = await counter(request);
      if (!count.isAllowed && count.isExceeded) {
        // The name only when it is a user's; an address is not logged.
        const user = limit === 'per_user' && access.isUser(parsed.data.name) ? parsed.data.name : null;
        if (firstRefusal(`${limit} ${count.key}`, count.ttl, user !== null)) {
          // Said once a window: past the attempts logged as refused, a lockout of a user's name (someone guessing its
          // password) went unseen.
          request.log.warn({ audit: 'login', outcome: 'locked', limit, user }, `login attempts ${limit === 'per_user' ? `for ${user ?? 'a name that is no user'}` : 'from an address'} refused for ${Math.ceil(count.ttlInSeconds / 60)} min: more than ${count.max} in ${LOGIN_WINDOW_MS / 60_000} min`);
        }
        reply.header('retry-after', String(count.ttlInSeconds));
        return refuse(429, 'rate_limited', `too many login attempts ${whose}; try again in ${Math.ceil(count.ttlInSeconds / 60)} min`, { limit });
      }
    }

    if (passwordChecks.full) {
      reply.header('retry-after', '1');
      return refuse(503, 'busy', 'too many logins at once; try again in a moment');
    }
    const user = await passwordChecks.run(() => access.checkPassword(parsed.data.name, parsed.data.password));
    if (!user) {
      // The name only when it is a user's: one that is none may be a password typed in the wrong field.
      const known = access.isUser(parsed.data.name);
      request.log.warn({ audit: 'login', outcome: 'refused', user: known ? parsed.data.name : null }, `login refused: wrong ${known ? `password for ${parsed.data.name}` : 'name'}`);
      return refuse(401, 'invalid_credentials', 'wrong name or password');
    }
    request.log.info({ audit: 'login', outcome: 'ok', user: user.name }, `${user.name} logged in`);

    // A new id at each login: a session id planted before it (session fixation) is worth nothing after.
    const previous = sessionCookie(request);
    if (previous) await access.endSession(previous);
    const { id, session } = await access.startSession(user);
    // Lax, not Strict: a link to a lead in an alert (Slack, email) is a navigation from another site, which a Strict
    // cookie does not follow (the user landed on /login while logged in). Changes need the CSRF token either way,
    // and what a cross-site navigation may GET, no other site can read.
    reply.setCookie(sessionCookieName(request), id, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: request.protocol === 'https',
      maxAge: SESSION_MAX_MS / 1000,
    });
    reply.header('cache-control', 'no-store');
    if (form) return reply.redirect(next ?? DEFAULT_NEXT, 303);
    return { user: sessionUser(user), csrfToken: session.csrfToken };
  });

  app.post('/logout', async (request, reply) => {
    const form = isFormPost(request);
    const id = sessionCookie(request);
    const session = sessionOf(request);
    if (session) {
      // Logging someone out is a change too: it needs the token (header, or a form field).
      const given = request.headers['x-csrf-token'] ?? (request.body as { csrfToken?: unknown } | undefined)?.csrfToken;
      if (!fromThisSite(request) || !sameSecret(given, session.csrfToken)) {
        return reply.code(403).send({ error: 'logging out with a session needs the x-csrf-token header (or a csrfToken field) from GET /api/session', code: 'csrf' });
      }
    }
    if (id) await access.endSession(id);
    reply.clearCookie(sessionCookieName(request), { path: '/', httpOnly: true, sameSite: 'lax', secure: request.protocol === 'https' });
    if (form) return reply.redirect('/login', 303);
    return { loggedOut: true };
  });

  // Under /api, so the authentication hook has already refused a request without a user.
  app.get('/api/session', async (request, reply) => {
    const user = request.user!;
    reply.header('cache-control', 'no-store');
    return { user: sessionUser(user), csrfToken: sessionOf(request)?.csrfToken ?? null };
  });
};

/** Who is logged in, as the dashboards read it: whether they see every site (a user limited to some does not). */
const sessionUser = (user: { name: string; role: string; sites?: string[] }) => ({ name: user.name, role: user.role, allSites: user.sites === undefined });
