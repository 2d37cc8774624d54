import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../config/load.ts';
import type { HearthConfig } from '../config/schema.ts';
import { createStoreClient, describeStore, isUnreachable, withUrlParts, type StoreOptions } from './client.ts';
import type { ClusterTarget } from './cluster-ddl.ts';
import { migrate } from './migrate.ts';
import { withMigrationLock, type MigrationLockOptions } from './migration-lock.ts';
import { applyRetention } from './retention.ts';

const CLUSTER_NAME = /^[\w.-]{1,128}$/;

/** The store with the config's `storage` section folded in: CLICKHOUSE_CLUSTER, when set, wins over `storage.cluster`. */
export function withStorageConfig(store: StoreOptions, storage: HearthConfig['storage']): StoreOptions {
  const fromEnv = store.cluster !== undefined;
  const cluster = store.cluster ?? storage?.cluster;
  if (cluster === undefined) return store;
  const setting = fromEnv ? 'CLICKHOUSE_CLUSTER' : 'storage.cluster';
  if (!CLUSTER_NAME.test(cluster)) throw new ConfigError(`${setting} expects a cluster name (letters, digits, "_", "-" or "."), got "${cluster}"`);
  if (!store.url) throw new ConfigError(`${setting} ("${cluster}") needs CLICKHOUSE_URL: the embedded engine is a single server, not a cluster`);
  return { ...store, cluster };
}

/** The cluster DDL's target: the database is the one the client uses, also when CLICKHOUSE_URL names it (`…/db`). */
export function clusterTarget(given: StoreOptions): ClusterTarget | undefined {
  const store = withUrlParts(given);
  return store.cluster ? { cluster: store.cluster, database: store.database ?? 'default' } : undefined;
}

/**
 * What every start (and `hearth migrate`) does before using the store: migrations, then the retention TTL. With a
 * ClickHouse server they go through a client of their own, which waits for statements that run long (a table copy,
 * cluster DDL) where `client` gives up after its everyday timeout, and one collector at a time does them (the others
 * wait for it: migration-lock.ts).
 */
export async function prepareStore(
  client: ClickHouseClient,
  store: StoreOptions,
  /** storage.retentionDays (undefined: keep events for ever); 'unchanged' without a config, which says nothing of it. */
  retentionDays: number | undefined | 'unchanged',
  lock: MigrationLockOptions = { onWait: (holder) => process.stderr.write(`hearth: waiting for ${holder}, which is migrating the store\n`) },
): Promise<{ applied: string[]; retention: string[] }> {
  const cluster = clusterTarget(store);
  const ddl = store.url ? createStoreClient(store, { migrations: true }) : client;
  const prepare = async () => {
    // The identity map of the events stored before it existed is a migration (010), so an interrupted start completes it.
    const applied = await migrate(ddl, undefined, cluster);
    const retention = retentionDays === 'unchanged' ? [] : await applyRetention(ddl, retentionDays, cluster);
    return { applied, retention };
  };
  try {
    return await (store.url ? withMigrationLock(ddl, cluster, prepare, lock) : prepare());
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
  /** Stops trying (the collector is shutting down): `prepared` then never resolves. */
  stop(): void;
}

const RETRY_FIRST_MS = 1000;
const RETRY_CAP_MS = 30_000;

/**
 * prepareStore for a collector. A ClickHouse server that cannot be reached (down, restarting, a network cut) does not
 * keep the collector from starting: events are accepted into the write-ahead log meanwhile, and the store is prepared
 * in the background once the server answers (tried again with a growing pause, up to 30 s), before anything else
 * uses it. Any other failure at start (authentication, an unknown database, a migration that fails) ends the start;
 * met later, while events are already being accepted, it is logged and tried again the same way.
 */
export async function prepareForCollector(
  client: ClickHouseClient,
  store: StoreOptions,
  retentionDays: number | undefined,
  log: { warn(details: object, message: string): void },
): Promise<StorePreparation> {
  try {
    const done = await prepareStore(client, store, retentionDays);
    return { prepared: Promise.resolve(done), problem: () => null, stop() {} };
  } catch (err) {
    if (!store.url || !isUnreachable(err)) throw err;
    let problem: string | null = `${describeStore(store)} is unreachable (${(err as Error).message})`;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const prepared = new Promise<PreparedStore>((resolve) => {
      const attempt = (n: number) => {
        const pauseMs = Math.min(RETRY_CAP_MS, RETRY_FIRST_MS * 2 ** n);
        timer = setTimeout(async () => {
          try {
            const done = await prepareStore(client, store, retentionDays);
            if (stopped) return;
            problem = null;
            resolve(done);
          } catch (retryErr) {
            if (stopped) return;
            const reason = (retryErr as Error).message;
            problem = isUnreachable(retryErr) ? `${describeStore(store)} is unreachable (${reason})` : `preparing ${describeStore(store)} failed (${reason})`;
            log.warn({ err: retryErr, attempts: n + 2 }, `the store is not prepared yet: ${problem}; trying again`);
            attempt(n + 1);
          }
        }, pauseMs);
        // A start that fails after this (its port taken) must not be kept alive by the retry.
        timer.unref();
      };
      attempt(0);
    });
    return {
      prepared,
      problem: () => problem,
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }
}
