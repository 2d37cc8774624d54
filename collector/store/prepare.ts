import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../config/load.ts';
import type { HearthConfig } from '../config/schema.ts';
import type { StoreOptions } from './client.ts';
import type { ClusterTarget } from './cluster-ddl.ts';
import { migrate } from './migrate.ts';
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

export function clusterTarget(store: StoreOptions): ClusterTarget | undefined {
  return store.cluster ? { cluster: store.cluster, database: store.database ?? 'default' } : undefined;
}

/** What every start (and `hearth migrate`) does before using the store: migrations, then the retention TTL. */
export async function prepareStore(client: ClickHouseClient, store: StoreOptions, retentionDays: number | undefined): Promise<{ applied: string[]; retention: string[] }> {
  const cluster = clusterTarget(store);
  const applied = await migrate(client, undefined, cluster);
  // The identity map is filled as batches are stored; events stored before it existed are mapped once, here.
  if (applied.includes('005_identities_and_scores')) {
    await client.command({
      query: `INSERT INTO identities SELECT site_id, visitor_id, lower(trimBoth(email)), ts, event_id, is_bot FROM events FINAL WHERE email != ''`,
    });
  }
  const retention = await applyRetention(client, retentionDays, cluster);
  return { applied, retention };
}
