import { brotliDecompressSync, gunzipSync, inflateSync, type ZlibOptions } from 'node:zlib';
import type { ClickHouseClient } from '@clickhouse/client';
import cors from '@fastify/cors';
import type { FastifyContextConfig, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { jsonBodyProblem, withoutPrototypeKeys } from '../config/json-errors.ts';
import { formatPath, type Problem } from '../config/issues.ts';
import type { HearthConfig } from '../config/schema.ts';
import { collectRateLimits } from '../hooks/rate-limit.hook.ts';
import { countRejections } from '../hooks/rejections.hook.ts';
import type { HearthMetrics } from '../metrics.ts';
import { originMatcher } from './origins.ts';
import { retimedEvents } from './retimed.ts';
import { batchToRows, type EventRow } from './rows.ts';
import type { EventSink } from './sink.ts';
import { describeUserAgent } from './user-agent.ts';
import { replaceLoneSurrogates } from './well-formed.ts';
import { parseBatch } from './wire.ts';

export interface CollectOptions {
  config: HearthConfig;
  client: Pick<ClickHouseClient, 'query'>;
  sink: EventSink;
  metrics: HearthMetrics;
  /** How long other collectors may keep a first copy in their logs (HEARTH_WAL_FLUSH_MS): see retimedEvents. */
  othersFlushMs?: number | undefined;
}

/** `POST /collect`: within the rate limits, validate a batch, check its site and origin, store it with what its
 * User-Agent says, answer 202. */
export const collectRoutes: FastifyPluginAsync<CollectOptions> = async (app, { config, client, sink, metrics, othersFlushMs }) => {
  const originAllowedFor = new Map(config.sites.map((site) => [site.id, originMatcher(site.origins)]));
  const retimed = retimedEvents(client, () => sink.status().clickHouseReachable, othersFlushMs);
  // Server-side senders (no Origin header) are allowed; browsers always send Origin on a POST.
  const sentFromSite = (site: string, origin: string | undefined) => {
    const originAllowed = originAllowedFor.get(site);
    return originAllowed !== undefined && (origin === undefined || originAllowed(origin));
  };
  const limits = await collectRateLimits(app, config, sentFromSite);
  app.addHook('onSend', countRejections(metrics));

  // sendBeacon posts text/plain (no CORS preflight); the body is JSON either way, and both go through Fastify's
  // JSON parser, which refuses `__proto__` and `constructor.prototype` keys: a body it refuses for them is read again
  // without them, and they are named in the 202 (a page's `hearth('track', name, JSON.parse(…))` cost the whole batch).
  // Fastify has read at most bodyLimit bytes as they came over the wire (413 beyond); a compressed body is then
  // inflated under the same cap (decodedBody).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const prototypeKeysOf = new WeakMap<FastifyRequest, Problem[]>();
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = decodedBody(request.headers['content-encoding'], body as Buffer, request.routeOptions.bodyLimit);
    } catch (error) {
      done(error as Error);
      return;
    }
    parseJson(request, text, (err, parsed) => {
      if (!err) return done(null, parsed);
      const read = withoutPrototypeKeys(text, MAX_IGNORED_LISTED);
      if ('error' in read) return done(Object.assign(new Error(jsonBodyProblem(text, read.error)), { statusCode: 400, code: 'invalid_json' }));
      prototypeKeysOf.set(request, refusedKeys(read));
      done(null, read.value);
    });
  });

  /** The `__proto__` and `constructor.prototype` keys left out of a body, as the 202 names them; those past the listed ones counted, not named (listed). */
  const refusedKeys = (read: { removed: number; paths: (string | number)[][] }, under: (string | number)[] = []): Problem[] => {
    const named = read.paths.map((path) => ({ path: shortPath([...under, ...path]), message: `a ${JSON.stringify(path.at(-1))} key${path.at(-1) === 'constructor' ? ' holding a "prototype"' : ''} is refused: left out` }));
    return [...named, ...Array<Problem>(read.removed - named.length).fill(UNLISTED)];
  };

  /**
   * The batch with its events read out of a JSON text, where the list came as one: on a page whose arrays have a
   * toJSON of their own (Prototype.js's Array#toJSON, on old sites still), the snippet's JSON.stringify writes it so,
   * and every batch of the site was refused. Their `__proto__` keys are left out as a body's are.
   */
  function withEventsRead(request: FastifyRequest): unknown {
    const body = request.body as { e?: unknown } | null;
    if (typeof body?.e !== 'string') return body;
    const read = withoutPrototypeKeys(body.e, MAX_IGNORED_LISTED);
    if ('error' in read || !Array.isArray(read.value)) return body;
    prototypeKeysOf.set(request, [...(prototypeKeysOf.get(request) ?? []), ...refusedKeys(read, ['e'])]);
    return { ...body, e: read.value };
  }

  // CORS is granted to /collect only, and only for origins some site is configured with: the plugin's hook lives in
  // this prefix's scope, with options fixed once. (A per-request options callback on the whole app cost ~15 µs a
  // beacon, and every other route paid for it too.)
  const anySiteOrigin = originMatcher(config.sites.flatMap((site) => site.origins));
  await app.register(
    async (scope) => {
      // The plugin's preflight route is OPTIONS *, which this prefix makes /collect*: /collect/, /collectx and
      // /collect/… were granted too, for posts that are 404s. That route is kept out of CORS (the 404 of any other
      // path) and /collect has a preflight route of its own, which the plugin's hook answers for a granted origin.
      scope.addHook('onRoute', (route) => {
        // The plugin reads a route's `config.cors` (false: no CORS), which its types do not declare.
        if (route.method === 'OPTIONS' && route.url !== '/collect') route.config = { ...route.config, cors: false } as FastifyContextConfig;
      });
      await scope.register(cors, { origin: (origin, callback) => callback(null, origin !== undefined && anySiteOrigin(origin)), methods: ['POST'], maxAge: 86400 });
      // Reached only when the hook did not answer (an origin refused, or not a preflight): the 404 it was before.
      scope.options('', (_request, reply) => reply.callNotFound());
      scope.post('', { onRequest: limits.perIp, preHandler: limits.perSite, onSend: readableRefusal }, collect);
    },
    { prefix: '/collect' },
  );

  async function collect(request: FastifyRequest, reply: FastifyReply) {
    const parsed = parseBatch(withEventsRead(request));
    if (!parsed.ok) return reply.code(400).send({ error: 'the batch is invalid', code: 'invalid_batch', problems: parsed.problems });
    const batch = replaceLoneSurrogates(parsed.batch);
    const originAllowed = originAllowedFor.get(batch.s);
    if (!originAllowed) return reply.code(403).send({ error: `unknown site "${batch.s}"`, code: 'unknown_site' });
    if (!sentFromSite(batch.s, request.headers.origin)) {
      return reply.code(403).send({ error: `origin ${request.headers.origin} is not allowed for site "${batch.s}"`, code: 'origin_not_allowed' });
    }
    const receivedAt = Date.now();
    const rows = batchToRows(batch, receivedAt, { userAgent: describeUserAgent(request.headers['user-agent']), retimed: await retimed.lookUp(batch, receivedAt), ownOrigin: originAllowed });
    const ignored = [...(prototypeKeysOf.get(request) ?? []), ...parsed.ignored, ...(await withoutSpammedEmails(request, rows, parsed.positions))];
    await sink.write(rows);
    retimed.remember(batch, receivedAt, rows);
    metrics.accepted(batch.e.length);
    if (ignored.length === 0) return reply.code(202).send({ accepted: batch.e.length });
    // What was left out of the stored events is named, for a sender to find its bugs, and counted, for an operator.
    metrics.ignored(ignored.length);
    return reply.code(202).send({ accepted: batch.e.length, ignored: listed(ignored) });
  }

  /**
   * Emails past what a person gives: a third distinct one in a batch (a browser's batch holds one visit's 300 ms), or any
   * from an address that sent more than `limits.identifyingBatchesPerMinutePerIp` batches with one this minute. Their
   * events are stored without them, so a script posting forms with made-up emails makes no leads, and no alerts. Each
   * is named at its place in the batch as sent (`positions`, when parseBatch left events out before it).
   */
  async function withoutSpammedEmails(request: FastifyRequest, rows: EventRow[], positions: number[] | undefined): Promise<Problem[]> {
    const given = new Set<string>();
    const dropped: Problem[] = [];
    const drop = (i: number, message: string) => {
      rows[i]!.email = '';
      dropped.push({ path: formatPath(['e', positions?.[i] ?? i]), message });
    };
    rows.forEach((row, i) => {
      if (row.email === '') return;
      const email = row.email.trim().toLowerCase();
      if (given.size < MAX_EMAILS_PER_BATCH || given.has(email)) given.add(email);
      else drop(i, `a batch gives at most ${MAX_EMAILS_PER_BATCH} emails: stored without this one`);
    });
    if (given.size === 0 || (await limits.identifying(request))) return dropped;
    rows.forEach((row, i) => row.email !== '' && drop(i, `more than ${config.limits.identifyingBatchesPerMinutePerIp} batches with an email a minute from this address: stored without it`));
    return dropped;
  }
};

/**
 * Every refusal of a batch is readable by the page that sent it, whatever its origin (CORS grants only the configured
 * ones): a browser that cannot read an answer takes it for a network error, shows a misleading CORS error, and the
 * snippet keeps such a batch to send again on every page (it drops one answered with a 4xx): a page opened from
 * file:// (`Origin: null`), a site id mistyped on another site, and the refusals of the body itself (too large, not
 * JSON, a coding the collector cannot read), which come before the route's code. The answer tells only what was wrong
 * with the batch the page sent.
 */
function readableRefusal(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
  const origin = request.headers.origin;
  if (reply.statusCode >= 400 && origin !== undefined && !reply.hasHeader('access-control-allow-origin')) void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
  done(null, payload);
}

/** Distinct emails one batch may give: a person gives one, or puts a mistyped one right. */
const MAX_EMAILS_PER_BATCH = 2;

/** The most values left out a 202 names one by one. */
const MAX_IGNORED_LISTED = 50;
/** A value left out past those a 202 names: counted, not named. */
const UNLISTED: Problem = { path: '', message: '' };
/** The most keys of a path a 202 names before it says how deep it goes: 20,000 levels were 60 KB of `[0]`. */
const MAX_PATH_SHOWN = 16;

/** A path as a 202 names it, its first keys and its last when it is deeper than MAX_PATH_SHOWN. */
function shortPath(path: (string | number)[]): string {
  if (path.length <= MAX_PATH_SHOWN) return formatPath(path);
  const first = formatPath(path.slice(0, MAX_PATH_SHOWN - 1));
  // The last key as it reads after the others (`.__proto__`, `[3]`): the whole path's text past the first keys'.
  const last = formatPath([...path.slice(0, MAX_PATH_SHOWN - 1), path.at(-1)!]).slice(first.length);
  return `${first}…(${path.length - MAX_PATH_SHOWN} more levels)…${last}`;
}

/**
 * The first MAX_IGNORED_LISTED values left out, then how many more: a 64 KB batch of short odd properties (`"a":[]`)
 * leaves out thousands, and naming each made an answer ten times the size of the batch. The first ones find a bug.
 */
function listed(ignored: Problem[]): Problem[] {
  if (ignored.length <= MAX_IGNORED_LISTED) return ignored;
  return [...ignored.slice(0, MAX_IGNORED_LISTED), { path: 'e', message: `${ignored.length - MAX_IGNORED_LISTED} more left out, not listed` }];
}

/** The content codings a server-side sender (a backend, a proxy, a mobile app) may compress a batch with. */
const DECOMPRESSORS = new Map<string, (body: Buffer, options: ZlibOptions) => Buffer>([
  ['gzip', gunzipSync],
  // RFC 9110: a recipient should treat x-gzip as gzip.
  ['x-gzip', gunzipSync],
  // HTTP's deflate is the zlib format (RFC 1950), not raw deflate.
  ['deflate', inflateSync],
  ['br', brotliDecompressSync],
]);

/**
 * The body as text, decompressed by its Content-Encoding. maxOutputLength stops zlib as soon as its output passes
 * `limit`, so a bomb (50 MB of gzip fits in 48 KB, far more of brotli) costs at most `limit` bytes of inflating, and
 * gets the 413 a body that large would get uncompressed. Synchronous on purpose: at most 64 KB in and 64 KB out,
 * well under a millisecond, and it leaves libuv's thread pool to the write-ahead log's disk writes.
 */
function decodedBody(header: string | string[] | undefined, body: Buffer, limit: number): string {
  const encoding = String(header ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body.toString('utf8');
  // A Map: a header such as "constructor" must not find Object's own properties.
  const decompress = DECOMPRESSORS.get(encoding);
  if (!decompress) {
    throw Object.assign(new Error(`Content-Encoding "${String(header)}" is not supported: send the body as is, or in one of gzip, deflate or br`), {
      statusCode: 415,
      code: 'unsupported_encoding',
    });
  }
  try {
    return decompress(body, { maxOutputLength: limit }).toString('utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw Object.assign(new Error(`the body is larger than ${limit / 1024} KB once decompressed`), { statusCode: 413, code: 'body_too_large' });
    }
    throw Object.assign(new Error(`the body is not valid ${encoding} data (Content-Encoding: ${encoding})`), { statusCode: 400, code: 'invalid_encoding' });
  }
}
