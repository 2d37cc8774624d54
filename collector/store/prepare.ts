import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../config/load.ts';
import type { HearthConfig } from '../config/schema.ts';
import { createStoreClient, describeStore, isTransient, pingWithin, withUrlParts, type StoreOptions } from './client.ts';
import type { ClusterTarget } from './cluster-ddl.ts';
import { migrate, type MigrateOptions } from './migrate.ts';
import { withMigrationLock, type MigrationLockOptions } from './migration-lock.ts';
import { applyRetention } from './retention.ts';

const CLUSTER_NAME = /^[\w.-]{1,128}$/;

/**
 * The store with the config's `storage` section folded in: CLICKHOUSE_CLUSTER, when set, wins over `storage.cluster`.
 * `configFile` names the config in an error about its own value, as every other config error does.
 */
export function withStorageConfig(store: StoreOptions, storage: HearthConfig['storage'], configFile?: string, { printOnly = false } = {}): StoreOptions {
  const fromEnv = store.cluster !== undefined;
  const cluster = store.cluster ?? storage?.cluster;
  if (cluster === undefined) return store;
  const setting = fromEnv ? 'CLICKHOUSE_CLUSTER' : `${configFile ? `${configFile}: ` : ''}storage.cluster`;
  if (!CLUSTER_NAME.test(cluster)) throw new ConfigError(`${setting} expects a cluster name (letters, digits, "_", "-" or "."), got "${cluster}"`);
  // `hearth migrate --print` opens nothing: a cluster's DDL is read before a deployment, with no server to name yet.
  if (!store.url && !printOnly) throw new ConfigError(`${setting} ("${cluster}") needs CLICKHOUSE_URL: the embedded engine is a single server, not a cluster`);
  return { ...store, cluster };
}

/** The cluster DDL's target: the database is the one the client uses, also when CLICKHOUSE_URL names it (`…/db`). */
export function clusterTarget(given: StoreOptions): ClusterTarget | undefined {
  const store = withUrlParts(given);
  return store.cluster ? { cluster: store.cluster, database: store.database ?? 'default' } : undefined;
}

/** What a command prints while another collector holds the migration lock. */
export const sayWaiting = (holder: string): void => void process.stderr.write(`hearth: waiting for ${holder}, which is migrating the store\n`);

export interface PrepareOptions extends MigrationLockOptions, Pick<MigrateOptions, 'onPending' | 'onApplied'> {
  /** Told what runs next (`migration 008_events_fine_granules`, `the retention TTL`), for a shutdown to say what it waits for. */
  onStep?: ((step: string) => void) | undefined;
}

/**
 * What every start (and `hearth migrate`) does before using the store: migrations, then the retention TTL. With a
 * ClickHouse server they go through a client of their own, which waits for statements that run long (a table copy,
 * cluster DDL) where `client` gives up after its everyday timeout, and one collector at a time does them (the others
 * wait for it: migration-lock.ts). A stop (`options.stop`) ends it at its next step, never within a migration: before
 * the lock is taken, between two migrations, or before the retention TTL; it then throws the stop's reason, the lock
 * dropped.
 */
export async function prepareStore(
  client: ClickHouseClient,
  store: StoreOptions,
  /** storage.retentionDays (undefined: keep events for ever); 'unchanged' without a config, which says nothing of it. */
  retentionDays: number | undefined | 'unchanged',
  options: PrepareOptions = { onWait: sayWaiting },
): Promise<PreparedStore> {
  const { stop, onStep, onPending, onApplied } = options;
  const cluster = clusterTarget(store);
  const ddl = store.url ? createStoreClient(store, { migrations: true }) : client;
  const prepare = async () => {
    // The identity map of the events stored before it existed is a migration (010), so an interrupted start completes it.
    const applied = await migrate(ddl, undefined, cluster, { stop, onPending, onMigration: (name) => onStep?.(`migration ${name}`), onApplied });
    if (retentionDays === 'unchanged') return { applied, retention: [] };
    stop?.throwIfAborted();
    onStep?.('the retention TTL');
    return { applied, retention: await applyRetention(ddl, retentionDays, cluster) };
  };
  try {
    return await (store.url ? withMigrationLock(ddl, cluster, prepare, options) : prepare());
  } finally {
    if (ddl !== client) await ddl.close();
  }
}

export interface PreparedStore {
  /** The migrations applied… */
  applied: string[];
  /** …and the retention statements run, by this start. */
  retention: string[];
}

export interface StorePreparation {
  /** Resolves once the store is prepared: at once when it was on the first try. Never rejects. */
  prepared: Promise<PreparedStore>;
  /** Why the store is not prepared yet; null once it is. */
  problem(): string | null;
  /**
   * Stops trying (the collector is shutting down): `prepared` then never resolves. A try in flight stops at its next
   * step (prepareStore) and drops the migration lock it holds; this resolves once it has, or after `withinMs`, the try
   * left running (said in the log): its lock then stays when the process exits, for the next collector to take over.
   */
  stop(withinMs: number): Promise<void>;
}

const RETRY_FIRST_MS = 1000;
/**
 * At most this long between two tries: events pile up in the log meanwhile, and a full log refuses them (503). At
 * 30 s, a collector started during an outage refused beacons for 14 s after ClickHouse was back (a QA pass).
 */
const RETRY_CAP_MS = 5000;

/** The wait before the next try after `failed` of them: 1 s, then twice as long each time, up to RETRY_CAP_MS. */
export const retryDelayMs = (failed: number) => Math.min(RETRY_CAP_MS, RETRY_FIRST_MS * 2 ** (failed - 1));
/** How long a start waits for the store to be prepared before it listens all the same. */
const START_WAIT_MS = 5000;
/** How long a ClickHouse server gets to answer a ping before a preparation is tried. */
const PING_TIMEOUT_MS = 3000;

/**
 * prepareStore for a collector, which must take events even while ClickHouse cannot be used: the write-ahead log
 * keeps them, and nothing else touches the store (the drain, the scorer, alerts, the API) until it is prepared.
 *
 * With a ClickHouse server, the start waits at most 5 s: a server that refuses connections, does not answer, fails
 * for a while (Keeper lost, overloaded) or is being migrated by another collector (its lock) leaves the store to be
 * prepared in the background, tried again after 1 s, then up to every 5 s. Each try pings first, so a server that
 * accepts connections and never answers holds nothing but the ping. A refusal (a wrong password, an unknown
 * database, a migration that fails) met within those 5 s ends the start; met later, it is logged as an error and
 * tried again the same way, and the log keeps the events. The embedded store is prepared before the start goes on.
 *
 * `stop` (aborted: the collector is stopped during its start) ends those 5 s at once, the try in flight left for the
 * returned stop() to end; the embedded store's migrations stop at their next step, which throws the stop's reason.
 */
export async function prepareForCollector(
  client: ClickHouseClient,
  store: StoreOptions,
  retentionDays: number | undefined,
  log: { info(details: object, message: string): void; warn(details: object, message: string): void; error(details: object, message: string): void },
  stop?: AbortSignal,
): Promise<StorePreparation> {
  const nothingToStop = async () => {};
  if (!store.url) {
    let step: string | undefined;
    const done = await prepareStore(client, store, retentionDays, { stop, onStep: (next) => (step = next) }).catch((err: unknown) => {
      if (step && stop?.aborted && err === stop.reason) log.info({ step }, `the store's preparation stopped for the shutdown after ${step}, and the next start carries on from there`);
      throw err;
    });
    return { prepared: Promise.resolve(done), problem: () => null, stop: nothingToStop };
  }
  const where = describeStore(store);
  let problem: string | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // The start stops waiting as soon as a try waits for another collector's lock.
  let waiting = () => {};
  const stopping = new AbortController();
  // The try in flight (resolved with whether a stop ended it), and what it last began under the lock.
  let current: Promise<{ stopped: boolean }> | undefined;
  let step: string | undefined;
  const tryOnce = (): Promise<PreparedStore> => {
    step = undefined;
    const attempt = (async () => {
      const ping = await pingWithin(client, PING_TIMEOUT_MS);
      if (!ping.success) throw ping.error;
      return prepareStore(client, store, retentionDays, {
        onWait: (holder) => {
          problem = `waiting for ${holder}, which is migrating the store`;
          waiting();
        },
        onStep: (next) => (step = next),
        stop: stopping.signal,
      });
    })();
    const ended = attempt.then(
      () => ({ stopped: false }),
      (err: unknown) => ({ stopped: stopping.signal.aborted && err === stopping.signal.reason }),
    );
    current = ended.finally(() => (current = undefined));
    return attempt;
  };
  const describe = (err: unknown) => {
    const reason = (err as Error).message;
    return isTransient(err) ? `${where} is unreachable or failing (${reason})` : `${where} refuses to prepare the store (${reason})`;
  };

  let resolvePrepared = (_done: PreparedStore) => {};
  const prepared = new Promise<PreparedStore>((resolve) => (resolvePrepared = resolve));
  const succeed = (done: PreparedStore) => {
    if (stopped) return;
    problem = null;
    resolvePrepared(done);
  };
  const retry = (failed: number) => {
    timer = setTimeout(() => tryOnce().then(succeed, (err: unknown) => fail(err, failed + 1)), retryDelayMs(failed));
    // A start that fails after this (its port taken) must not be kept alive by the retry.
    timer.unref();
  };
  const fail = (err: unknown, attempt: number) => {
    if (stopped) return;
    problem = describe(err);
    if (isTransient(err)) log.warn({ err, attempts: attempt }, `the store is not prepared yet: ${problem}; trying again`);
    else log.error({ err, attempts: attempt }, `the store is not prepared: ${problem}; trying again (fix the settings and the collector carries on)`);
    retry(attempt);
  };

  const first = tryOnce();
  const outcome = await Promise.race([
    first.then(
      (done) => ({ done }),
      (err: unknown) => ({ err }),
    ),
    new Promise<{ later: true }>((resolve) => {
      const late = setTimeout(() => resolve({ later: true }), START_WAIT_MS);
      late.unref();
      waiting = () => {
        clearTimeout(late);
        resolve({ later: true });
      };
      if (stop?.aborted) waiting();
      stop?.addEventListener('abort', () => waiting(), { once: true });
    }),
  ]);
  if ('done' in outcome) return { prepared: Promise.resolve(outcome.done), problem: () => null, stop: nothingToStop };
  if ('err' in outcome) {
    if (!isTransient(outcome.err)) throw outcome.err;
    fail(outcome.err, 1);
  } else {
    problem ??= `${where} has not answered yet`;
    first.then(succeed, (err: unknown) => fail(err, 1));
  }
  return {
    prepared,
    problem: () => problem,
    async stop(withinMs) {
      stopped = true;
      clearTimeout(timer);
      stopping.abort(new Error('the collector is shutting down'));
      if (!current) return;
      let bound: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([current, new Promise<'running'>((resolve) => (bound = setTimeout(() => resolve('running'), withinMs)))]);
      clearTimeout(bound);
      const within = `${withinMs / 1000} s`;
      if (outcome === 'running') {
        // Its statement may still run on ClickHouse, which goes on with a write whose client has left: the lock must stay.
        const takeOver = 'the next collector takes the migration lock over once its heartbeats have stopped for 60 s';
        if (step) log.warn({ step }, `${step} still runs on ClickHouse after ${within} of shutdown: the collector exits holding the migration lock, and ${takeOver}`);
        else log.warn({}, `the store's preparation has not stopped after ${within} of shutdown (ClickHouse has not answered): if it holds the migration lock, ${takeOver}`);
      } else if (outcome.stopped && step) {
        log.info({ step }, `the store's preparation stopped for the shutdown after ${step}: the migration lock is dropped, and the next start carries on from there`);
      }
    },
  };
}
