import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { compile as compileTrust } from '@fastify/proxy-addr';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { apiRoutes } from './api/api.routes.ts';
import { installAuth } from './auth/auth.plugin.ts';
import type { UserEntry } from './auth/users.ts';
import { wholeProblem } from './config/issues.ts';
import type { HearthConfig } from './config/schema.ts';
import { collectRoutes } from './ingest/collect.route.ts';
import type { EventSink } from './ingest/sink.ts';
import type { WalSink } from './ingest/wal.ts';
import type { ClusterTarget } from './store/cluster-ddl.ts';
import { answerWatch, isEmbedded, isTransient, lacksTables, refusesTheCollector } from './store/client.ts';
import { createMetrics, type HearthMetrics } from './metrics.ts';
import { dashboardRoutes } from './routes/dashboard.route.ts';
import { demoSiteRoutes } from './routes/demo.route.ts';
import { healthRoutes } from './routes/health.route.ts';
import { metricsRoute } from './routes/metrics.route.ts';
import { snippetRoute } from './routes/snippet.route.ts';

export interface AppOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  sink: EventSink & Partial<Pick<WalSink, 'purge' | 'setAsideEvents'>>;
  adminToken: string;
  /** Who may log in: the config's users with HEARTH_USERS, or the first-start admin (server.ts); config.users when absent. */
  users?: UserEntry[] | undefined;
  /** Where browser sessions survive restarts; memory only when absent. */
  sessionsFile?: string | undefined;
  logger?: FastifyServerOptions['logger'];
  /** Shared with the write-ahead log's hooks when the server makes both; a fresh set otherwise. */
  metrics?: HearthMetrics;
  /** Resolves once every accepted event is stored and rescored (the scorer's rescored()); the sink's drained() without one. */
  settled?: () => Promise<void>;
  /** Runs an erasure with no rescoring round in flight (the scorer's holding()); directly without one. */
  holdingScores?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Has these browsers' leads rescored (the scorer's noteStored); nothing without one. */
  rescoreVisitors?: (site: string, visitors: string[]) => void;
  /** The ClickHouse cluster the store runs on, if any: erasures then mutate every node's local tables. */
  cluster?: ClusterTarget | undefined;
  /** The alert dispatcher (scoring/alerts), woken when a dead letter is retried through the API. */
  alerts?: { wake(): void } | undefined;
  /** How long an erasure or an export waits for the log to drain before a 503 (20 s; shorter in tests). */
  drainWaitMs?: number | undefined;
  /** The write-ahead log's flush interval (HEARTH_WAL_FLUSH_MS), which the other collectors of a deployment share: retimed.ts. */
  othersFlushMs?: number | undefined;
  /** Why the store is not prepared yet (ClickHouse unreachable since the start): the API answers 503 meanwhile. */
  storeProblem?: (() => string | null) | undefined;
  /** How long a client may take to send a whole request, headers and body (REQUEST_TIMEOUT_MS; shorter in tests). */
  requestTimeoutMs?: number | undefined;
}

/** Why a call got a 503 when ClickHouse is out of reach, hung (answerWatch), or failing for a while (isTransient). */
const UNREACHABLE = 'the database cannot be reached or is failing; nothing was read or changed, try again shortly';

/** A 503 for a store that cannot be used for now, with when to come back. */
const storeUnavailable = (reply: FastifyReply, error: string) => reply.code(503).header('retry-after', '5').send({ error, code: 'store_unavailable' });

/**
 * The methods a 405 names in Allow. OPTIONS is /collect's preflight alone, granted to some origins: a refused one stays a
 * 404 there, and is a 405 on other paths, as any method they do not take.
 */
const ANSWERED: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * A 400 for the request as a whole (a body that is not JSON, is empty, or does not decompress), with `problems` as every
 * 400 has them: one, at the root, saying the same.
 */
const refusedWhole = (reply: FastifyReply, error: string, code: string) => reply.code(400).send({ error, code, problems: wholeProblem(error) });

/** The code of an error that has none (a static file's 403 for a path out of its folder): its status's, in words. */
const codeOfStatus = (status: number) => ({ 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' })[status] ?? 'bad_request';

/** What the HTTP parser's refusals are, by their error code: status, what went wrong, the JSON error's code. */
const UNREADABLE = new Map<string, [status: number, error: string, code: string]>([
  ['ERR_HTTP_REQUEST_TIMEOUT', [408, 'the request took too long to arrive', 'request_timeout']],
  ['HPE_HEADER_OVERFLOW', [431, 'the request headers are larger than 16 KB', 'headers_too_large']],
  ['HPE_INVALID_METHOD', [400, 'the request method is not an HTTP method this server knows', 'bad_method']],
]);

/**
 * A request Node's HTTP parser refuses before Fastify sees it (a method HTTP does not have, headers over 16 KB, a
 * request line that is not HTTP) gets the JSON error every other refusal gets, where Fastify wrote one of its own
 * shape, without a `code`. As Fastify's own handler: nothing for a connection already gone, then the socket closes.
 */
function refuseUnreadable(this: FastifyInstance, err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, error, code] = UNREADABLE.get(err.code ?? '') ?? [400, 'the request is not valid HTTP', 'bad_request'];
  // Its code and message only: the error's rawPacket is the request as it came, its cookies and Authorization among them.
  this.log.trace({ code: err.code, message: err.message }, 'unreadable request');
  const body = JSON.stringify(status === 400 ? { error, code, problems: wholeProblem(error) } : { error, code });
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy(err);
}

/** Fastify's trust of a list of proxies (proxy-addr's), for addresses written with a port too. */
function trustedIn(list: string[] | false): ((address: string, hop: number) => boolean) | false {
  if (!list) return false;
  const trusted = compileTrust(list);
  return (address, hop) => trusted(withoutPort(address), hop);
}

/** An address as a proxy may write it with a port, without it: `203.0.113.9:51234`, `[2001:db8::1]:443` or `[2001:db8::1]`. */
export function withoutPort(address: string): string {
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(address);
  if (v4) return v4[1]!;
  const v6 = /^\[([0-9a-f:.]+)\](?::\d+)?$/i.exec(address);
  return v6 ? v6[1]! : address;
}

/** How long a client may take to send a whole request: a 64 KB beacon on a poor mobile link takes a few seconds. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The API routes that never read the store. */
const STORELESS_API = new Set(['/api/session', '/api/dashboard/sites']);

/** The collector, API and demo site as one Fastify app. Nothing here listens; see server.ts. */
export async function buildApp({ config, client, sink, adminToken, logger = false, metrics = createMetrics(), settled = () => sink.drained(), holdingScores = (fn) => fn(), rescoreVisitors = () => {}, cluster, users, sessionsFile, alerts, drainWaitMs, othersFlushMs, storeProblem = () => null, requestTimeoutMs = REQUEST_TIMEOUT_MS }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger,
    // A request whose body never ends (a client that sends a part of it, then nothing) is answered 408 and its
    // connection closed: Fastify's default, 0, turns Node's five minutes off, and one client could hold thousands of
    // sockets open until the process ran out of file descriptors. Given to Node's server as it is made too, which
    // then bounds the headers' time by it (set after, it left them 60 s, and Node enforced neither), and checks the
    // connections this often.
    requestTimeout: requestTimeoutMs,
    http: { requestTimeout: requestTimeoutMs, connectionsCheckingInterval: Math.min(5_000, requestTimeoutMs / 2) },
    // true is the one proxy in front: the client's address is the last one it appended to X-Forwarded-For. Fastify's
    // own true would take the first, which the client writes itself (a way around the per-address login limit).
    // A list is matched with each address's port left out, as it is read then (withoutPort): a listed proxy that a
    // proxy after it wrote with its port ("10.0.0.5:4001") was not trusted, and became every visitor behind it.
    trustProxy: config.server.trustProxy === true ? (_address: string, hop: number) => hop === 0 : trustedIn(config.server.trustProxy),
    // One log line per request would drown the errors at beacon rates.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Met before a route is found (a path that does not decode, a part of it over 100 characters): a JSON body as for
    // any other error, rather than Fastify's own shape.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a part of the path is longer than 100 characters' : error.message;
      return refusedWhole(reply, message, 'bad_url');
    },
    clientErrorHandler: refuseUnreadable,
  });

  // Some proxies append the client's port to its address (Azure's Application Gateway: "203.0.113.9:51234"): the
  // address alone is the client's, or each of its ports would count as an address of its own (the per-address limits).
  if (config.server.trustProxy) {
    app.addHook('onRequest', (request, _reply, done) => {
      const bare = withoutPort(request.ip);
      if (bare !== request.ip) Object.defineProperty(request, 'ip', { value: bare });
      done();
    });
  }

  // Fastify reads text/plain bodies as strings everywhere: only /collect takes them (collect.route.ts, as JSON). Any
  // other route answers 415, where a JSON body sent as text/plain met "expected object, received string".
  app.removeContentTypeParser('text/plain');

  // Every error is a JSON body that says what went wrong; a 5xx never reveals internals.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    // A 503 is deliberate (the write-ahead log is full, or shutting down): say why, and when to come back.
    if (status === 503) return reply.code(503).header('retry-after', '5').send({ error: error.message, code: error.code ?? 'unavailable' });
    // ClickHouse down, cut off or failing for a while (Keeper lost, overloaded): a reason to come back, not a fault of the request.
    if (isTransient(error)) {
      request.log.warn({ err: error }, 'ClickHouse is unreachable or failing');
      return storeUnavailable(reply, UNREACHABLE);
    }
    if (refusesTheCollector(error)) {
      request.log.error({ err: error }, 'ClickHouse refuses the collector (its user, password or database)');
      return storeUnavailable(reply, 'the database refuses this collector (its user, password or database: /readyz tells an admin why); nothing was read or changed');
    }
    if (lacksTables(error)) {
      request.log.error({ err: error }, "ClickHouse lacks Hearth's tables (the database dropped and made again?): hearth migrate makes them");
      return storeUnavailable(reply, "the database lacks Hearth's tables (/readyz tells why; `hearth migrate` makes them); nothing was read or changed");
    }
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      return reply.code(status).send({ error: 'internal error', code: 'internal' });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ error: 'the body is larger than 64 KB', code: 'body_too_large' });
    // Fastify's parser says "not valid JSON" for a key it refuses as well (secure-json-parse).
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return refusedWhole(reply, 'the body is not valid JSON, or holds a "__proto__" or "constructor.prototype" key', 'invalid_json');
    // A JSON content-type with no body at all: Fastify's own code and wording otherwise.
    if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return refusedWhole(reply, 'the body is empty: send a JSON object (`{}` for none)', 'invalid_json');
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      // The snippet sends text/plain (a beacon needs no CORS preflight); every other route takes application/json.
      const json = request.url.split('?')[0] === '/collect' ? 'JSON as text/plain or application/json' : 'the body as JSON (content-type: application/json)';
      return reply.code(415).send({ error: `send ${json}`, code: 'unsupported_media_type' });
    }
    if (status === 400) return refusedWhole(reply, error.message, error.code ?? codeOfStatus(status));
    return reply.code(status).send({ error: error.message, code: error.code ?? codeOfStatus(status) });
  });
  // A path that is a route for other methods answers 405 with the methods it takes (Allow), as HTTP says, rather than a
  // 404 that reads as a mistyped path. Fastify's router says only "not found", so the routes' paths are kept apart too.
  const paths = FindMyWay();
  app.addHook('onRoute', (route) => {
    for (const method of ANSWERED) {
      if ([route.method].flat().includes(method) && !paths.hasRoute(method, route.url)) paths.on(method, route.url, () => {});
    }
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const allowed = ANSWERED.filter((method) => paths.find(method, path) !== null);
    if (allowed.length > 0 && !allowed.includes(request.method as HTTPMethod) && !(request.method === 'OPTIONS' && path === '/collect')) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ error: `${path} takes ${allowed.join(', ')}, not ${request.method}`, code: 'method_not_allowed', allowed });
    }
    return reply.code(404).send({ error: `no route for ${request.method} ${path}`, code: 'not_found' });
  });
  // Closing waits for the requests in flight, and then for their connections: a browser or a load balancer keeps one
  // open after the answer (keep-alive, 72 s), which held a shutdown that long. Answers given while closing end theirs.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Callback style, as every hook on the path of /collect: an async hook costs a promise and a turn of the
  // microtask queue per request, at beacon rates a few per cent of the collector's time.
  // No answer is read as another type than it says (a JSON answer or a CSV sniffed as HTML): nosniff on every one.
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-content-type-options', 'nosniff');
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // Before any route: every route under /api and /dashboard is then behind a login or a token.
  await installAuth(app, { config, adminToken, users, sessionsFile });

  // Until the store is prepared, the API has nothing to read from (its tables may not exist yet, or be migrating):
  // after the login check, every call that reads the store says so. /collect goes on taking events into the log.
  // A ClickHouse server that does not answer (answerWatch) is said within a second, where each call waited 30 s.
  const answers = isEmbedded(client) ? undefined : answerWatch(client);
  app.addHook('preHandler', (request, reply, done) => {
    // A path that is no route stays a 404.
    if (!request.url.startsWith('/api/') || request.routeOptions.url === undefined || STORELESS_API.has(request.url.split('?')[0]!)) return done();
    if (storeProblem() !== null) {
      void storeUnavailable(reply, 'the data is not available yet: the database has not been usable since the collector started (/readyz says why); nothing was read or changed, try again shortly');
      return;
    }
    if (!answers) return done();
    void answers.silence().then((silence) => {
      if (!silence) return done();
      request.log.warn({ err: silence }, 'ClickHouse does not answer');
      void storeUnavailable(reply, UNREACHABLE);
    });
  });
  await app.register(healthRoutes, { client, ingestStatus: () => sink.status(), storeProblem });
  await app.register(snippetRoute);
  await app.register(collectRoutes, { config, client, sink, metrics, othersFlushMs });
  metrics.watchBacklog(() => sink.status());
  await app.register(metricsRoute, { config, metrics });
  await app.register(apiRoutes, { config, client, metrics, drained: settled, holdingScores, rescoreVisitors, purgeEventLog: sink.purge?.bind(sink), setAsideEvents: sink.setAsideEvents?.bind(sink), cluster, alerts, drainWaitMs, users: users ?? config.users });
  await app.register(dashboardRoutes);
  if (config.serveDemoSite) {
    await app.register(demoSiteRoutes);
    app.get('/', async (_request, reply) => reply.redirect('/demo/'));
  }
  return app;
}
