import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ClickHouseLogLevel, createClient, drainStream, parseError, type ClickHouseClient, type ClickHouseClientConfigOptions, type ClickHouseSettings } from '@clickhouse/client';
import type * as ChdbConnection from 'chdb/connection';
import type { EncodedInsert } from '../../scoring/snapshots.ts';
import { inlineParams } from './inline-params.ts';
import { fewAtOnce } from '../few-at-once.ts';
import { privateDir } from '../paths.ts';

/**
 * The embedded engine is loaded on first use only: its native library adds ~155 MB of resident memory, which a
 * collector talking HTTP to a ClickHouse server (CLICKHOUSE_URL) has no use for. chdb/connection is CommonJS, so
 * it loads synchronously.
 */
let chdb: typeof ChdbConnection | undefined;
const loadChdb = () => (chdb ??= createRequire(import.meta.url)('chdb/connection') as typeof ChdbConnection);

/** Where Hearth's data goes: the embedded engine (chDB) by default, a ClickHouse server when `url` is set. */
export interface StoreOptions {
  /** Local data folder (HEARTH_DATA_DIR, default `.hearth/`); the embedded engine keeps its tables under `clickhouse/`. */
  dataDir: string;
  /** CLICKHOUSE_URL, e.g. `https://ch.example.com:8443`. */
  url?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
  /** CLICKHOUSE_CLUSTER, which overrides the config's `storage.cluster`. */
  cluster?: string | undefined;
  /**
   * Over HTTP, how long an everyday statement may run before the client gives up on it: the client's default, 30 s,
   * when absent. The migrations wait longer whatever it is (MIGRATION_REQUEST_TIMEOUT_MS).
   */
  requestTimeoutMs?: number | undefined;
}

export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  return withUrlParts({
    dataDir: resolve(env.HEARTH_DATA_DIR || '.hearth'),
    url: env.CLICKHOUSE_URL || undefined,
    username: env.CLICKHOUSE_USER || undefined,
    password: env.CLICKHOUSE_PASSWORD || undefined,
    database: env.CLICKHOUSE_DATABASE || undefined,
    cluster: env.CLICKHOUSE_CLUSTER || undefined,
  });
}

/**
 * The options with the user, password and database a URL such as `https://user:pass@host:8443/db` carries taken
 * out of it. @clickhouse/client reads them from the URL and lets them win over its other options; Hearth takes
 * them out first, the same way, so that everything else that names the database (the Distributed tables of a
 * cluster, the start-up line) names the one the client uses, and the URL that remains holds no password. A
 * trailing slash (`/db/`) is no part of the database's name. A URL that does not parse is left for the caller
 * to refuse.
 */
export function withUrlParts(options: StoreOptions): StoreOptions {
  if (!options.url) return options;
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return options;
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const database = url.pathname.replace(/^\/+|\/+$/g, '');
  const parts = {
    ...(url.username ? { username: decode(url.username) } : {}),
    ...(url.password ? { password: decode(url.password) } : {}),
    ...(database ? { database: decode(database) } : {}),
  };
  if (Object.keys(parts).length === 0 && url.pathname === '/') return options;
  url.username = '';
  url.password = '';
  url.pathname = '/';
  return { ...options, ...parts, url: url.href };
}

/** What a ClickHouse server that cannot be reached fails with, as Node names it. */
const NETWORK_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'];

/**
 * Whether a request to a ClickHouse server failed for want of reaching it (refused, reset, no such host, timed out),
 * as opposed to an answer that refused it (authentication, an unknown database, a bad statement).
 */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return NETWORK_ERRORS.includes(String((err as NodeJS.ErrnoException).code ?? '')) || err.message === 'Timeout error.';
}

/** ClickHouse's errors that pass with time: its coordination (Keeper) lost, overload, a timeout, a replica read-only meanwhile. */
const TRANSIENT_ERRORS = new Set([
  'KEEPER_EXCEPTION', 'NO_ZOOKEEPER', 'TIMEOUT_EXCEEDED', 'TOO_MANY_SIMULTANEOUS_QUERIES', 'NETWORK_ERROR', 'SOCKET_TIMEOUT',
  'ALL_CONNECTION_TRIES_FAILED', 'ALL_REPLICAS_ARE_STALE', 'TABLE_IS_READ_ONLY', 'MEMORY_LIMIT_EXCEEDED', 'TOO_MANY_PARTS', 'UNFINISHED', 'ABORTED',
]);

/**
 * ClickHouse refusing the collector itself, not a request: its password rotated, its user or database dropped. Fatal
 * to a start (the operator is there to read why), a reason to answer 503 to an API request once the collector runs
 * (the store is unusable until an operator acts: nothing in the request is at fault).
 */
const REFUSING_THE_COLLECTOR = new Set(['AUTHENTICATION_FAILED', 'REQUIRED_PASSWORD', 'WRONG_PASSWORD', 'UNKNOWN_USER', 'UNKNOWN_DATABASE']);

/** ClickHouse's name for an error the client parsed (`UNKNOWN_TABLE`, `AUTHENTICATION_FAILED`…); '' for any other. */
export const clickHouseErrorType = (err: unknown): string => (err instanceof Error ? String((err as { type?: unknown }).type ?? '') : '');

export function refusesTheCollector(err: unknown): boolean {
  return REFUSING_THE_COLLECTOR.has(clickHouseErrorType(err));
}

/**
 * ClickHouse answering that a table of Hearth's is not there: the collector's database dropped and made again while it
 * ran. Not the request's fault either: a 503 until an operator runs `hearth migrate` (/readyz says so).
 */
export function lacksTables(err: unknown): boolean {
  return clickHouseErrorType(err) === 'UNKNOWN_TABLE';
}

/** Whether a failure may pass by itself: ClickHouse out of reach (isUnreachable), or failing for a while as it says (TRANSIENT_ERRORS). */
export function isTransient(err: unknown): boolean {
  return isUnreachable(err) || TRANSIENT_ERRORS.has(clickHouseErrorType(err));
}

/**
 * Pings ClickHouse, giving up after `ms`: a server that takes connections and never answers would hold a ping for the
 * client's 30 s request timeout. The failure is said as a network timeout is (`ETIMEDOUT`), so it counts as
 * unreachable.
 */
export async function pingWithin(client: Pick<ClickHouseClient, 'ping'>, ms: number): Promise<{ success: true } | { success: false; error: Error }> {
  const timeout = AbortSignal.timeout(ms);
  const ping = await client.ping({ select: false, abort_signal: timeout }).catch((error: Error) => ({ success: false as const, error }));
  return ping.success || !timeout.aborted ? ping : { success: false, error: noAnswer('a ping', ms) };
}

/**
 * Whether a ClickHouse server answers, as the API asks before a call reads or changes the store. A server that takes
 * connections and never answers (hung, or a network that drops packets) held every API call for the client's 30 s
 * request timeout before its 503, while /readyz said within half a second that it was unreachable: the dashboards
 * showed "Loading…" for 30 s, and as long again at each of their tries. A server that answered a ping in the last
 * `freshMs` is taken as answering; otherwise the call waits for a ping (one at a time, shared by the calls that
 * arrive meanwhile), `pingMs` at most. Only a ping that goes unanswered or cannot connect counts (isUnreachable): any
 * other failure of it (a proxy that wants a login for /ping) is left to the call's own query to say.
 */
export function answerWatch(client: Pick<ClickHouseClient, 'ping'>, { freshMs = 2000, pingMs = 1000 } = {}) {
  let answeredAt = -Infinity;
  let asking: Promise<Error | undefined> | undefined;
  const ask = () =>
    (asking ??= pingWithin(client, pingMs).then((ping) => {
      asking = undefined;
      if (!ping.success && isUnreachable(ping.error)) return ping.error;
      answeredAt = performance.now();
      return undefined;
    }));
  return {
    /** Why the server does not answer, or undefined when it does. */
    silence: (): Promise<Error | undefined> => (performance.now() - answeredAt < freshMs ? Promise.resolve(undefined) : ask()),
  };
}

/** A question to ClickHouse given up after `ms`, said as a network timeout is (`ETIMEDOUT`). */
function noAnswer(to: string, ms: number): Error {
  const within = ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
  return Object.assign(new Error(`no answer to ${to} within ${within}`), { code: 'ETIMEDOUT' });
}

/**
 * Asks ClickHouse, as the collector (its user, password and database), whether Hearth's events table is there, giving
 * up after `ms`: a ping, which a ClickHouse server answers without a login, says only that the server is up.
 */
export async function eventsTableWithin(client: Pick<ClickHouseClient, 'query'>, ms: number): Promise<{ answered: true; exists: boolean } | { answered: false; error: Error }> {
  const timeout = AbortSignal.timeout(ms);
  try {
    const rows = await (await client.query({ query: 'EXISTS TABLE events', format: 'JSONEachRow', abort_signal: timeout })).json<{ result: number | string }>();
    return { answered: true, exists: Number(rows[0]?.result) === 1 };
  } catch (err) {
    if (timeout.aborted) return { answered: false, error: noAnswer('EXISTS TABLE events', ms) };
    return { answered: false, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** A human description of where the data lives, for start-up logs. */
export function describeStore(options: StoreOptions): string {
  const { url, database, cluster } = withUrlParts(options);
  if (url) return `ClickHouse at ${new URL(url).origin}, database ${database ?? 'default'}${cluster ? `, cluster ${cluster}` : ''}`;
  // Only `hearth migrate --print` names a cluster without a server (withStorageConfig).
  if (cluster) return `ClickHouse cluster ${cluster}, database ${database ?? 'default'}`;
  return `embedded ClickHouse (chDB) in ${join(options.dataDir, 'clickhouse')}`;
}

/**
 * Settings for background work in an engine inside the collector's process (rescoring, the write-ahead log's
 * inserts): its query threads run at the lowest CPU priority (nice 19, where the process may set it:
 * CAP_SYS_NICE). An idle machine does it as fast as before; a busy one serves requests first. A ClickHouse server
 * has CPUs of its own and gets no such settings.
 */
export const BACKGROUND = { os_thread_priority: 19 };

/**
 * The embedded engine compiles expressions to machine code (LLVM) again for every statement: it keeps no cache of
 * them, where a server does. Measured at 53,000 visitors (bench history, engine counters), per statement: one
 * lead's scoring 115 → 79 ms of CPU (40 ms compiling, 40 ms more building the pipeline); a full rescoring 2.0 → 1.9 s
 * (the compiled code gains nothing back); 1,000 leads about even.
 */
const NO_JIT = { compile_expressions: 0, compile_aggregate_expressions: 0, compile_sort_description: 0 } as const;

/**
 * Over HTTP, how long one statement of the migrations may run before the client gives up on it. ClickHouse answers a
 * statement once it has run, and migration 008 copies the whole events table (40 s for 18.5M events on two cores),
 * cluster DDL waits for every node (distributed_ddl_task_timeout, 180 s by default): with the everyday 30 s, such a
 * start failed, and every restart began the copy again.
 *
 * The client counts it as the socket's idle time, so progress headers (send_progress_in_http_headers) would let a much
 * shorter one tell a hung server from a long copy. They cannot: ClickHouse sends them only as a statement reads or
 * writes rows, and an ALTER that waits for its mutation (007's MODIFY COLUMN, the retention's MODIFY TTL) or cluster
 * DDL that waits for its nodes sends none, however long it runs. A server lost mid-statement is found sooner by TCP
 * keep-alive, which the client's agent turns on (minutes, with Linux's default probes).
 */
export const MIGRATION_REQUEST_TIMEOUT_MS = 6 * 60 * 60 * 1000;

/**
 * The one ClickHouse client of the process; the same queries run over both transports. `migrations`: a client of a
 * ClickHouse server for the migrations alone, which waits for long statements (MIGRATION_REQUEST_TIMEOUT_MS).
 */
export function createStoreClient(given: StoreOptions, { migrations = false }: { migrations?: boolean } = {}): ClickHouseClient {
  const options = withUrlParts(given);
  const settings = {
    // Parameterised DateTime64 values and inserted timestamps are UTC strings.
    date_time_input_format: 'best_effort',
  } as const;
  if (options.url) {
    return createClient({
      url: options.url,
      username: options.username ?? 'default',
      password: options.password ?? '',
      database: options.database ?? 'default',
      compression: { request: true, response: true },
      keep_alive: { enabled: true },
      // The client's own log is off: it printed a multi-line record with a stack for every failed request, outside
      // Hearth's structured log, before Hearth's own line about the same failure (every error reaches Hearth, which
      // says what it means: the CLI's message, the log's "rescoring failed", /readyz). That includes its warning about
      // a long request timeout, whose remedy (progress headers) would not keep every long statement alive
      // (MIGRATION_REQUEST_TIMEOUT_MS).
      log: { level: ClickHouseLogLevel.OFF },
      ...(migrations ? { request_timeout: MIGRATION_REQUEST_TIMEOUT_MS } : options.requestTimeoutMs ? { request_timeout: options.requestTimeoutMs } : {}),
      // On a cluster, an insert into a Distributed table answers once every shard stored its rows, not once they
      // are queued on the node the collector talks to: only then may the write-ahead log let go of them. A query's
      // `IN (SELECT … FROM t)` or JOIN over a Distributed table inside a query over another runs as GLOBAL IN or GLOBAL
      // JOIN (the subquery once, its result sent to every shard): ClickHouse refuses it otherwise ('deny', code 288),
      // and a shard's own rows alone would not hold a lead's browsers, which other shards may store.
      clickhouse_settings: options.cluster ? { ...settings, insert_distributed_sync: 1, distributed_product_mode: 'global' } : settings,
    });
  }
  const path = join(options.dataDir, 'clickhouse');
  privateDir(path);
  const embedded = { ...settings, ...NO_JIT };
  const connect = () => {
    const connection = loadChdb().createChdbConnection({ path });
    // A statement that fails once it has written part of its answer leaves that part in the session, where the next
    // statement's answer begins with it: a scoring query stopped by a memory limit would have given the next lead
    // list its rows. A statement without output takes them, before the failure is told.
    const flush = connection.command.bind(connection, { query: 'SELECT 1' });
    const answer = flushedOnFailure(flush, connection.query.bind(connection));
    connection.exec = flushedOnFailure(flush, connection.exec.bind(connection));
    connection.command = flushedOnFailure(flush, connection.command.bind(connection));
    connection.query = async (params) => {
      const result = await answer(params);
      return { ...result, stream: inPieces(result.stream) };
    };
    // chdb types its connection against @clickhouse/client-common, which the client now bundles as its own copy:
    // the shapes match, the declarations are twins.
    const session = settingsPerCall(createClient({ connection: connection as unknown as ClickHouseClientConfigOptions['connection'], log: { level: ClickHouseLogLevel.OFF } }));
    return { connection, session: withSessionSettings(session, embedded) };
  };
  const { connection: chdbConnection, session: client } = connect();
  rawInserts.set(client, async (table, values) => {
    try {
      // Background work: the write-ahead log's drain (the batches were acknowledged already) and the scorer's snapshots.
      await chdbConnection.chdb.rawInsert({ table, format: 'JSONEachRow', values, settings: { ...settings, ...BACKGROUND } });
    } catch (err) {
      // As the client reports it: a ClickHouseError whose `type` names ClickHouse's error (CANNOT_PARSE_…, …).
      throw parseError(err instanceof Error ? err.message : String(err));
    }
  });
  return sideBySide(client, () => connect().session);
}

/** `call` on an embedded connection, which on a failure runs a statement that takes what the failed one left (see connect). */
function flushedOnFailure<P, R>(flush: () => Promise<unknown>, call: (params: P) => Promise<R>): (params: P) => Promise<R> {
  return async (params) => {
    try {
      return await call(params);
    } catch (err) {
      await flush().catch(() => {});
      throw err;
    }
  };
}

/**
 * The embedded engine answers a query with one buffer, which the client splits into rows in one go: for a slice of a
 * full rescoring (~20 MB at 53,000 leads), 0.1–0.2 s during which the collector served no request. It is handed on a
 * piece at a time instead, each piece in a turn of the event loop of its own.
 */
const PIECE_BYTES = 256 * 1024;

function inPieces(whole: Readable): Readable {
  const pieces = Readable.from(
    (async function* () {
      for await (const chunk of whole as AsyncIterable<Buffer>) {
        for (let at = 0; at < chunk.length; at += PIECE_BYTES) {
          if (at > 0) await nextTurn();
          yield chunk.subarray(at, at + PIECE_BYTES);
        }
      }
    })(),
    { objectMode: false },
  );
  // As on chdb's own stream: the client closes an answer it does not read by destroying its stream with an error,
  // which with no listener would end the process. The answer is in memory: it has no other error to tell.
  pieces.on('error', () => {});
  return pieces;
}

/** ClickHouse's max_query_size by default: the bytes of a statement it parses. */
const PARSED_BYTES = 262_144;
/** Room for the statement's own SETTINGS clause, written after it, within a raised max_query_size. */
const SETTINGS_ROOM = 4096;

/**
 * Sessions of the embedded engine that run statements (queries and commands) side by side, as a ClickHouse server
 * does; inserts keep the client's own session.
 */
const MAX_SESSIONS = 4;

/**
 * The embedded client with its queries and commands run on a free one of up to MAX_SESSIONS sessions of their own,
 * each statement with its values written in (inlineParams). On chDB, one session runs one statement at a time,
 * and chdb-node runs parameterised statements one at a time in the whole process (its engine's parameter state is
 * not per session): with one session and bound values, a lead page opened during a rescoring waited for the scoring
 * query (1.0–1.3 s at 53,000 visitors during a full pass, against 56–110 ms alone), and the lead page's own queries
 * ran one after the other. Sessions are opened as statements overlap, and closed with the client.
 */
export function sideBySide(client: ClickHouseClient, open: () => ClickHouseClient): ClickHouseClient {
  const sessions: { session: ClickHouseClient; running: boolean }[] = [];
  /**
   * One statement a session, the others waiting their turn here, first come first served. A statement handed to a busy
   * session waited there on a thread of libuv's pool for the whole run of the one before: 35 panels of five people's
   * dashboards took the 16 threads, and the write-ahead log's fdatasync behind them held beacons' 202s 4–6 s. Waiting
   * here takes no thread.
   */
  const turns = fewAtOnce(MAX_SESSIONS, Infinity);
  /** A session with no statement running: one there is, with at most MAX_SESSIONS statements running; opened as needed. */
  const freeSession = () => {
    let free = sessions.find((candidate) => !candidate.running);
    if (!free) sessions.push((free = { session: open(), running: false }));
    return free;
  };
  /**
   * Runs a statement on a free session, or once one is free. The engine cannot stop a statement: a caller that gives
   * up (its abort_signal) is answered at once, and the session counts as busy until the engine is done with it; one
   * that gives up while it waits leaves its turn.
   */
  function onFreeSession<T>(run: (session: ClickHouseClient) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const running = turns.run(async () => {
      const free = freeSession();
      free.running = true;
      try {
        return await run(free.session);
      } finally {
        free.running = false;
      }
    }, signal);
    if (!signal) return running;
    running.catch(() => {});
    return new Promise<T>((resolve, reject) => {
      const giveUp = () => reject(signal.reason);
      signal.addEventListener('abort', giveUp, { once: true });
      running.then(resolve, reject).finally(() => signal.removeEventListener('abort', giveUp));
    });
  }
  // The values written in, and the abort signal kept here (onFreeSession). ClickHouse parses up to max_query_size bytes
  // of a statement (256 KiB), which values written in can pass where a server's bound values would not count: a long
  // list of ids (a dashboard's qualified leads, a whole site's) raises it for its statement.
  const written = <P extends { query: string; query_params?: Record<string, unknown>; abort_signal?: AbortSignal; clickhouse_settings?: ClickHouseSettings }>({
    query_params,
    abort_signal: _,
    ...params
  }: P) => {
    if (!query_params || Object.keys(query_params).length === 0) return params;
    const query = inlineParams(params.query, query_params);
    const bytes = Buffer.byteLength(query);
    return bytes + SETTINGS_ROOM <= PARSED_BYTES ? { ...params, query } : { ...params, query, clickhouse_settings: { ...params.clickhouse_settings, max_query_size: bytes + SETTINGS_ROOM } };
  };
  const close = client.close.bind(client);
  client.query = ((params: Parameters<ClickHouseClient['query']>[0]) => onFreeSession((session) => session.query(written(params)), params.abort_signal)) as ClickHouseClient['query'];
  client.command = (params) => onFreeSession((session) => session.command(written(params)), params.abort_signal);
  client.close = async () => {
    await Promise.all(sessions.map(({ session }) => session.close()));
    await close();
  };
  return client;
}

/**
 * An embedded session with `settings` SET once, before its first statement: chDB keeps a session's SETs. As the
 * client's own settings they were SET again before every statement, a statement of its own each: about 1 ms more
 * on every statement (SELECT 1, median: 3.8–4.0 ms → 2.8–3.3 ms).
 */
function withSessionSettings(session: ClickHouseClient, settings: Record<string, string | number>): ClickHouseClient {
  const set = session.command({ query: settingAssignments(settings).map((assignment) => `SET ${assignment}`).join('; ') });
  // Told to the first statement, which waits for it.
  set.catch(() => {});
  const after =
    <P, R>(call: (params: P) => Promise<R>) =>
    (params: P) =>
      set.then(() => call(params));
  session.query = after(session.query.bind(session)) as ClickHouseClient['query'];
  session.command = after(session.command.bind(session));
  session.insert = after(session.insert.bind(session)) as ClickHouseClient['insert'];
  session.exec = after(session.exec.bind(session));
  return session;
}

/**
 * A call's `clickhouse_settings` as a SETTINGS clause of its statement. Over HTTP they are the request's own; the
 * embedded connection would SET them on its one session, where they outlive the call (after one background
 * rescoring, every query of the process ran at nice 19). The client appends FORMAT after the clause, as ClickHouse
 * wants it.
 */
function settingsPerCall(client: ClickHouseClient): ClickHouseClient {
  const query = client.query.bind(client);
  const command = client.command.bind(client);
  const inStatement = <P extends { query: string; clickhouse_settings?: ClickHouseSettings }>({ clickhouse_settings, ...params }: P) =>
    clickhouse_settings ? { ...params, query: withSettings(params.query, clickhouse_settings) } : params;
  client.query = ((params: Parameters<ClickHouseClient['query']>[0]) => query(inStatement(params))) as ClickHouseClient['query'];
  client.command = (params) => command(inStatement(params));
  return client;
}

/** Settings as `name = literal`, for a SETTINGS clause or a SET; a name or value of another kind is refused. */
function settingAssignments(settings: ClickHouseSettings | Record<string, unknown>): string[] {
  const literal = (name: string, value: unknown) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse setting ${name} = ${String(value)}`);
    if (typeof value === 'boolean') return value ? '1' : '0';
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
    throw new Error(`invalid ClickHouse setting ${name} = ${String(value)}`);
  };
  return Object.entries(settings)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name} = ${literal(name, value)}`);
}

/** The rows of a parameterised query (JSONEachRow), with settings of its own when given. */
export async function queryRows<T>(client: Pick<ClickHouseClient, 'query'>, query: string, query_params: Record<string, unknown>, clickhouse_settings?: ClickHouseSettings): Promise<T[]> {
  const result = await client.query({ query, query_params, format: 'JSONEachRow', ...(clickhouse_settings && { clickhouse_settings }) });
  return result.json<T>();
}

/** A statement with a SETTINGS clause of its own. */
export function withSettings(query: string, settings: ClickHouseSettings | Record<string, unknown>): string {
  const assignments = settingAssignments(settings);
  return assignments.length === 0 ? query : `${query}\nSETTINGS ${assignments.join(', ')}`;
}

/**
 * Inserts bodies already encoded as JSONEachRow: the embedded engine's own insert (rawInsertOf), or over HTTP the
 * body as it is. The client's insert would encode its rows all at once on the event loop, and the embedded connection
 * copy the body twice more there.
 */
export function encodedInsertOf(client: Pick<ClickHouseClient, 'exec'>): EncodedInsert {
  return (
    rawInsertOf(client) ??
    (async (table, values) => {
      const { stream } = await client.exec({ query: `INSERT INTO ${table} FORMAT JSONEachRow`, values: Readable.from([values]) });
      // The answer is empty, but over HTTP the connection is free again only once it is read.
      await drainStream(stream);
    })
  );
}

const rawInserts = new WeakMap<object, EncodedInsert>();

/**
 * The embedded engine's own insert for a client made here: the Buffer goes to the engine as it is, where the
 * client's insert would first make it a JavaScript string and the connection copy it twice more on the event loop
 * (a pause of tens of milliseconds for the write-ahead log's 8 MB inserts). Undefined for a ClickHouse server.
 */
export const rawInsertOf = (client: object): EncodedInsert | undefined => rawInserts.get(client);

/** Whether a client is the embedded engine's (createStoreClient without a URL): no server, no login. */
export const isEmbedded = (client: object): boolean => rawInserts.has(client);
