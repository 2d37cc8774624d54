import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { firstStartAdmin, mergeUsers, replacedAdminWarning, usersFromEnvironment, type FirstAdmin } from './auth/accounts.ts';
import type { UserEntry } from './auth/users.ts';
import { ConfigError, refuseUnrunnablePatterns } from './config/load.ts';
import { formatPath } from './config/issues.ts';
import { unknownSitesOf } from './auth/users.ts';
import { sharedOrigins } from './ingest/origins.ts';
import { rulesOf, sitePatterns } from './api/scores.ts';
import type { HearthConfig } from './config/schema.ts';
import { browsableUrl, publicUrl } from './config/public-url.ts';
import { createWalSink, type WalLogger, type WalSink } from './ingest/wal.ts';
import { createMetrics } from './metrics.ts';
import { createScorer, SLICE_LEADS, type Scorer } from './scorer.ts';
import { erasureFilter } from './ingest/erasures.ts';
import { queryRows } from '../scoring/turns.ts';
import { ALERT_SEND_TIMEOUT_MS, createAlertDispatcher, type AlertDispatcher } from '../scoring/alerts/index.ts';
import { BACKGROUND, createStoreClient, type StoreOptions } from './store/client.ts';
import { lockDataDir } from './store/data-dir-lock.ts';
import { hearthVersion } from './paths.ts';
import { holdAlertSending, type SenderLease } from './store/sender-lease.ts';
import { clusterTarget, prepareForCollector, withStorageConfig, type StorePreparation } from './store/prepare.ts';

export interface ServerOptions {
  config: HearthConfig;
  store: StoreOptions;
  /** HEARTH_ADMIN_TOKEN; when absent a random one is made for this run. */
  adminToken?: string | undefined;
  logger?: boolean | { level: string };
  /** How long an erasure or an export waits for the log to drain before a 503 (20 s; shorter in tests). */
  drainWaitMs?: number | undefined;
  /** The config's file, named when the start refuses a rule's pattern ClickHouse cannot compile. */
  configFile?: string | undefined;
  /** How long a client may take to send a whole request (app.ts REQUEST_TIMEOUT_MS; shorter in tests). */
  requestTimeoutMs?: number | undefined;
  /**
   * Aborted (SIGTERM during the start): the start is abandoned at its next safe point, what it opened is closed as a
   * shutdown closes it (a migration lock dropped), and startServer throws the signal's reason. Once the log is open, it
   * goes on to listen and returns, for its caller to close: the first admin's password, made next, is printed nowhere
   * but in the lines a started collector prints.
   */
  stop?: AbortSignal | undefined;
}

export interface RunningServer {
  app: FastifyInstance;
  client: ClickHouseClient;
  /** The write-ahead log between /collect and ClickHouse. */
  sink: WalSink;
  /** Keeps the stored scores current as batches land; `settled()` waits for both. */
  scorer: Scorer;
  url: string;
  adminToken: string;
  adminTokenGenerated: boolean;
  /** The `admin` made on the first start when no user is configured; its password only on the start that made it. */
  firstAdmin: FirstAdmin | undefined;
  /** Why the store is not prepared yet (ClickHouse was unreachable at start); null once it is. */
  storeProblem(): string | null;
  close(): Promise<void>;
}

/** How long a shutdown waits for the requests in flight before it closes the write-ahead log under them… */
const REQUESTS_CLOSE_MS = 5000;
/** …for the last rescoring (the scorer's own close waits 5 s for it)… */
const SCORER_CLOSE_MS = 6000;
/** …and for the alerts in flight to be recorded. */
const ALERTS_CLOSE_MS = 3000;
/**
 * Beside those, how long the store's preparation in flight gets to end its migration (a statement, then its ledger
 * row) and drop the migration lock: the next collector takes it at once, where a lock left behind holds it a minute.
 */
const PREPARATION_CLOSE_MS = 10_000;

/** After the log has closed, how long the requests it ended (an erasure's 503) get to be answered. */
const LATE_ANSWERS_MS = 2000;

/** What a start has opened so far, in the order it opens them: all of it once it listens. */
interface Opened {
  preparation: StorePreparation;
  dispatcher?: AlertDispatcher | undefined;
  /** With a ClickHouse server: whether this collector is the one that sends the alerts. */
  senderLease?: SenderLease;
  scorer?: Scorer;
  sink?: WalSink;
  app?: FastifyInstance;
}

/** Closes what a start opened, each step bounded, in a shutdown's order; the store's client is left to the caller. */
async function shutDown({ preparation, dispatcher, senderLease, scorer, sink, app }: Opened): Promise<void> {
  const preparationStopped = preparation.stop(PREPARATION_CLOSE_MS);
  // No alert is sent from here on (those the last batches raise go at the next start), and those in flight have until
  // the end to be answered: cut off at the end of a shutdown, a send a slow receiver took was sent again at the next
  // start (twice in a Slack channel).
  dispatcher?.stopSending();
  const stoppedSendingAt = Date.now();
  // Stop taking requests first, then drain what they wrote (bounded), then let go of ClickHouse. The app's close
  // waits for the requests in flight, and an erasure or export waits for the log to drain, which it never does
  // while ClickHouse takes no inserts: past a few seconds the log closes anyway, which fails that wait (its
  // events are replayed at the next start).
  const appClosed = app?.close();
  await within(appClosed, REQUESTS_CLOSE_MS);
  await sink?.close();
  // The requests the log's close ended (an erasure waiting for it) are answered; what is still open after that is a
  // client that has not finished sending its request (a beacon whose network dropped half-way), which Node would wait
  // for up to its request timeout (app.ts REQUEST_TIMEOUT_MS). Its batch was never accepted.
  await within(appClosed, LATE_ANSWERS_MS);
  app?.server.closeAllConnections();
  await appClosed;
  // Each bounded: with ClickHouse hung, a statement in flight would hold them for the client's 30 s timeout,
  // past an orchestrator's grace period. Closing the client after ends what is still in flight.
  await within(scorer?.close(), SCORER_CLOSE_MS);
  // A send in flight gets its whole timeout from the start of the shutdown, or 3 s more when that has passed.
  await within(dispatcher?.close(), Math.max(ALERTS_CLOSE_MS, ALERT_SEND_TIMEOUT_MS - (Date.now() - stoppedSendingAt)));
  // Given up once its sends are recorded, so that another collector takes the sending over at once, not in a minute.
  await within(senderLease?.stop(), ALERTS_CLOSE_MS);
  await preparationStopped;
}

/** Waits for `work`, at most `ms`; its outcome after that is no one's concern. */
async function within(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** A count from the environment, in plain digits as the CLI's options take them: "1.5" rows or "1e3" is refused, not taken as it parses. */
function positiveNumberFromEnv(name: string, fallback: number, unit: string, max = Number.MAX_SAFE_INTEGER, env: NodeJS.ProcessEnv = process.env): number {
  const text = env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!(/^\s*\d+\s*$/.test(text) && Number.isSafeInteger(value) && value > 0)) throw new ConfigError(`${name} expects ${unit} (a whole number above 0), got "${text}"`);
  if (value > max) throw new ConfigError(`${name} expects ${unit} up to ${max.toLocaleString('en-US')}, got "${text}"`);
  return value;
}

function switchFromEnv(name: string, fallback: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const text = (env[name] ?? '').trim();
  if (text === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  throw new ConfigError(`${name} expects true or false, got "${text}"`);
}

/** The collector's tuning from the environment, read (and refused when bad) before anything is opened. */
function collectorEnv() {
  return {
    // How much accepted data may wait on disk for ClickHouse before /collect answers 503.
    walMaxBytes: positiveNumberFromEnv('HEARTH_WAL_MAX_MB', 1024, 'a size in megabytes') * 1024 * 1024,
    // When the log is moved into ClickHouse: at this many rows, or after this long. Larger means fewer, bigger
    // inserts, and fewer parts for ClickHouse to merge (1,000 → 10,000 rows: +5 % req/s in bench:ingest).
    walFlushRows: positiveNumberFromEnv('HEARTH_WAL_FLUSH_ROWS', 10_000, 'a number of rows'),
    // Up to an hour: a timer takes at most 2^31 - 1 ms (Node fires a longer one at once, and the log's drain,
    // never due, flooded the log with TimeoutOverflowWarning, a line a millisecond).
    walFlushMs: positiveNumberFromEnv('HEARTH_WAL_FLUSH_MS', 1000, 'milliseconds', 3_600_000),
    sliceLeads: positiveNumberFromEnv('HEARTH_RESCORE_SLICE_LEADS', SLICE_LEADS, 'a number of leads'),
    // With several collectors, every one records alerts (idempotently) but only one should send them:
    // HEARTH_SEND_ALERTS=false on the others keeps a due retry from going out twice.
    sendAlerts: switchFromEnv('HEARTH_SEND_ALERTS', true),
  };
}

/** Migrates the store, sets its retention, opens the write-ahead log, builds the app and listens on the configured host and port. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  options.stop?.throwIfAborted();
  const store = withStorageConfig(options.store, config.storage);
  // A bad HEARTH_USERS or tuning variable is refused before anything is opened.
  const fromEnvironment = usersFromEnvironment();
  const unknownSites = unknownSitesOf(fromEnvironment, config.sites.map((site) => site.id));
  if (unknownSites.length > 0) throw new ConfigError(`invalid HEARTH_USERS:\n${unknownSites.map((problem) => `  HEARTH_USERS${formatPath(problem.path)}: ${problem.message}`).join('\n')}`);
  const configuredUsers = mergeUsers(config.users, fromEnvironment);
  const env = collectorEnv();
  // Over HTTP, nothing else keeps a second collector off this data directory and its write-ahead log (the embedded
  // engine refuses a second process by itself).
  const release = store.url ? lockDataDir(store.dataDir) : () => {};
  const client = createStoreClient(store);
  try {
    const server = await startOn(client, store, configuredUsers, env, options);
    const close = server.close;
    return { ...server, close: () => close().finally(release) };
  } catch (err) {
    // Let go of the store before the error ends the process: an embedded engine left open at exit can crash it.
    await client.close().catch(() => {});
    release();
    throw err;
  }
}

async function startOn(
  client: ClickHouseClient,
  store: StoreOptions,
  configuredUsers: UserEntry[],
  env: ReturnType<typeof collectorEnv>,
  { config, adminToken, logger = false, drainWaitMs, configFile, stop, requestTimeoutMs }: ServerOptions,
): Promise<RunningServer> {
  const cluster = clusterTarget(store);
  // The app, which owns the logger, is built around the sink: the sink's lines go to it once it exists. Before, a
  // start that is stopped says how on stderr; its other lines are the app's to log (startProblem below).
  let appLog: WalLogger | undefined;
  const early = (message: string) => {
    if (stop?.aborted) process.stderr.write(`hearth: ${message}\n`);
  };
  const metrics = createMetrics(hearthVersion());
  const log: WalLogger = {
    info: (details, message) => (appLog ? appLog.info(details, message) : early(message)),
    warn: (details, message) => (appLog ? appLog.warn(details, message) : early(message)),
    error: (details, message) => (appLog ? appLog.error(details, message) : early(message)),
  };
  // The scorer's and the write-ahead log's first lines (a site's full rescoring beginning, a log full from the last
  // run, a failure) come before the app's logger exists: held and written once it does, in order. The start's own
  // early lines are startProblem's to say.
  const held: ['info' | 'warn' | 'error', object, string][] = [];
  const holding = (level: 'info' | 'warn' | 'error') => (details: object, message: string) => {
    if (appLog) appLog[level](details, message);
    else if (stop?.aborted) early(message);
    else if (held.length < 100) held.push([level, details, message]);
  };
  const scorerLog = { info: holding('info'), warn: holding('warn') };
  const walLog: WalLogger = { info: holding('info'), warn: holding('warn'), error: holding('error') };
  // With ClickHouse unreachable, the collector starts all the same: the log takes events, and nothing else touches
  // the store (the drain, the scorer, alerts, the API) until it is prepared.
  const preparation = await prepareForCollector(client, store, config.storage?.retentionDays, log, stop);
  const ready = preparation.prepared;
  const opened: Opened = { preparation };
  // Once: a start that fails after the scorer, the log or the app began their work closes them before the client is
  // closed under them (the embedded engine crashed the process, exit 139, on a damaged admin-user.json).
  let shut: Promise<void> | undefined;
  const shutOnce = () => (shut ??= shutDown(opened));
  // A safe point: between two steps of the start, none of them cut (what it opened is closed below).
  const abandonIfStopped = () => {
    if (stop?.aborted) throw stop.reason;
  };
  try {
    abandonIfStopped();
    // A rule's pattern ClickHouse cannot compile is refused as the config is read, when the store is ready as the start
    // runs (the embedded one always); found later, the scorer leaves that site unscored and says why in the log.
    const preparedNow = await Promise.race([ready.then(() => true, () => false), new Promise<boolean>((resolve) => setImmediate(resolve, false))]);
    let patternsChecked = false;
    if (preparedNow) {
      patternsChecked = await refuseUnrunnablePatterns(client, configFile ?? 'the config', 'config', config.sites.flatMap(sitePatterns)).then(
        () => true,
        async (err: unknown) => {
          // A ClickHouse that fails the check itself is the scorer's to check again once it answers.
          if (!(err instanceof ConfigError)) return false;
          throw err;
        },
      );
    }
    let url = '';
    // Alerts are recorded in the outbox before the snapshot that raised them; sending starts once the server listens.
    // Also when no site has alert destinations: a site's signals are then recorded as suppressed (GET /api/alerts says
    // why), and what an earlier config left pending becomes a dead letter naming the destination gone, not pending forever.
    const dispatcher = createAlertDispatcher({
      client,
      config,
      log,
      onAttempt: ({ destinationType, state }) => destinationType && state !== 'suppressed' && metrics.alertAttempt(destinationType, state),
    });
    opened.dispatcher = dispatcher;
    metrics.watchAlertSending(() => env.sendAlerts && (store.url ? opened.senderLease?.held() === true : true));
    const scorer = createScorer({
      config,
      client,
      log: scorerLog,
      drained: () => sink.drained(),
      dashboardUrl: () => publicUrl(config, url),
      onAlerts: async (alerts) => metrics.alertsRecorded(await dispatcher.enqueue(alerts)),
      querySettings: store.url ? undefined : BACKGROUND,
      sliceLeads: env.sliceLeads,
      ready,
      patternsChecked,
      cluster,
    });
    opened.scorer = scorer;
    metrics.watchScoring(() => scorer.status());
    const sink = await createWalSink({
      dir: join(store.dataDir, 'wal'),
      client,
      maxBytes: env.walMaxBytes,
      flushRows: env.walFlushRows,
      flushMs: env.walFlushMs,
      log: walLog,
      onFlush: metrics.flushed,
      onStored: (visitors, identified) => scorer.noteStored(visitors, identified),
      onInsertError: metrics.clickHouseFailed,
      erasures: erasureFilter(client, cluster),
      ready,
      retentionDays: config.storage?.retentionDays,
    });
    opened.sink = sink;
    abandonIfStopped();
    const token = adminToken || randomBytes(18).toString('base64url');
    const firstAdmin = configuredUsers.length === 0 ? await firstStartAdmin(store.dataDir) : undefined;
    const adminGone = await replacedAdminWarning(store.dataDir, configuredUsers);
    const app = await buildApp({
      config,
      client,
      sink,
      adminToken: token,
      logger,
      metrics,
      // An erasure or an export waits for the events accepted before it, not for an hourly pass of a large site.
      settled: () => scorer.rescored(),
      // And alerts: a send recorded just after an erasure deleted its alert would bring the person back.
      holdingScores: (fn) => scorer.holding(() => dispatcher.holding(fn)),
      rescoreVisitors: (site, visitors) => scorer.noteStored(visitors.map((visitor_id) => ({ site_id: site, visitor_id, is_bot: 0 }))),
      cluster,
      users: firstAdmin ? [firstAdmin.user] : configuredUsers,
      sessionsFile: join(store.dataDir, 'sessions.json'),
      alerts: dispatcher,
      drainWaitMs,
      requestTimeoutMs,
      othersFlushMs: env.walFlushMs,
      storeProblem: preparation.problem,
    });
    opened.app = app;
    appLog = app.log;
    for (const [level, details, message] of held.splice(0)) appLog[level](details, message);
    const startProblem = preparation.problem();
    if (startProblem) app.log.warn({ problem: startProblem }, 'the store is not prepared: events are kept in the write-ahead log until ClickHouse answers');
    const { recovered } = sink.status();
    if (recovered.checkpointProblem) app.log.error({ problem: recovered.checkpointProblem }, 'the write-ahead log checkpoint cannot be used: every segment left is replayed (events already stored are not stored twice)');
    for (const { setAside, stretches } of recovered.corrupt) {
      app.log.error({ setAside, stretches }, 'the write-ahead log held corrupt bytes between intact records (a disk fault, not a crash): the intact records are replayed, the segment as it was is set aside');
    }
    if (recovered.tornBytes > 0) app.log.warn({ tornBytes: recovered.tornBytes }, 'ignored a half-written record at the end of the write-ahead log (a crash mid-write; it was never acknowledged)');
    if (recovered.rows > 0) app.log.info({ rows: recovered.rows, bytes: recovered.bytes }, 'replaying events the write-ahead log kept from the last run');
    if (adminGone) app.log.warn(adminGone);
    for (const { origin, sites } of sharedOrigins(config.sites)) {
      app.log.warn({ origin, sites }, `origin ${origin} is allowed for sites ${sites.join(', ')}: a page there may send events to any of them (the snippet's data-site decides)`);
    }
    const retentionDays = config.storage?.retentionDays ?? Infinity;
    for (const site of config.sites) {
      const { windowDays } = rulesOf(site);
      if (retentionDays < windowDays) {
        app.log.warn(
          { site: site.id, retentionDays, windowDays },
          `storage.retentionDays (${retentionDays}) is shorter than site "${site.id}"'s scoring window (${windowDays} days): its scores count the last ${retentionDays} days only, form answers included, and its dashboards show no more than that of a longer period`,
        );
      }
    }
    const address = await app.listen({ host: config.server.host, port: config.server.port });
    url = browsableUrl(address);
    let closing: Promise<void> | undefined;
    // Alerts go out once the server listens and the store is prepared.
    void ready.then(({ applied, retention }) => {
      if (startProblem) app.log.info({}, 'ClickHouse answers: the store is prepared, and the write-ahead log drains into it');
      if (applied.length > 0) app.log.info({ migrations: applied }, 'migrated the store');
      if (retention.length > 0) app.log.info({ statements: retention }, 'changed how long the events, identities, stored scores and alerts are kept (storage.retentionDays)');
      void storedSitesNotConfigured(client, config.sites.map((site) => site.id)).then(
        (removed) => {
          for (const site of removed) {
            app.log.warn(
              { site },
              `the store holds data of site "${site}", which the configuration no longer has: it is kept, out of every page, list and export; put the site back under the same id to see, export or erase its people (docs/configuration.md, Removing a site)`,
            );
          }
        },
        (err: unknown) => app.log.debug({ err }, 'cannot tell whether the store holds sites the configuration no longer has'),
      );
      if (!env.sendAlerts) app.log.info({}, 'this collector records alerts and does not send them (HEARTH_SEND_ALERTS=false): another collector sends them');
      else if (closing) return;
      else if (!store.url) dispatcher.start();
      else {
        // Of the collectors of one ClickHouse server, one sends what they all record: the first to take the lease.
        opened.senderLease = holdAlertSending(client, cluster, {
          onHeld() {
            app.log.info({}, 'this collector sends the alerts (it holds the hearth_alert_sender lease)');
            dispatcher.start();
          },
          onWait: (holder) => app.log.info({ holder }, 'another collector sends the alerts: this one records them, and sends them if it stops'),
          onLost(holder) {
            dispatcher.pause();
            app.log.warn({ holder }, 'another collector took the alert sending over while this one was cut off from ClickHouse: this one no longer sends');
          },
          onError: (err) => app.log.warn({ err }, 'cannot take the alert sender lease; trying again shortly'),
        });
      }
    });
    return {
      app,
      client,
      sink,
      scorer,
      url,
      adminToken: token,
      adminTokenGenerated: !adminToken,
      firstAdmin,
      storeProblem: preparation.problem,
      close() {
        closing ??= (async () => {
          await shutOnce();
          await client.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await shutOnce();
    throw err;
  }
}

/**
 * The sites whose events, identities, stored scores, qualifications or alerts the store holds and the configuration does
 * not name (a site removed from it; retention expires all but its qualifications). Each table is sorted by site first,
 * so ClickHouse reads only the granules of other sites: none, most days.
 */
async function storedSitesNotConfigured(client: ClickHouseClient, sites: string[]): Promise<string[]> {
  const others = (table: string) => `SELECT DISTINCT site_id FROM ${table} WHERE site_id NOT IN {sites:Array(String)}`;
  const rows = await queryRows<{ site_id: string }>(client, {
    query: `SELECT DISTINCT site_id FROM (${['events', 'identities', 'lead_scores', 'lead_qualifications', 'alert_outbox'].map(others).join(' UNION ALL ')}) ORDER BY site_id`,
    query_params: { sites },
  });
  return rows.map((row) => row.site_id);
}
