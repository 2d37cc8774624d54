import type { ClickHouseClient } from '@clickhouse/client';
import type { ClusterTarget } from './cluster-ddl.ts';
import { acquire, heartbeats, lockTable, newHolder, release, type WaitOptions } from './lock-table.ts';

export interface MigrationLockOptions extends WaitOptions {
  /** How often the holder says it is alive; each heartbeat also gives up after this long (5 s). */
  heartbeatMs?: number;
}

/**
 * Runs `work` (migrations, retention) while no other collector does the same on this ClickHouse. Collectors that
 * start together (a deploy, a scaled service) otherwise ran the same migrations at once: each recorded them again in
 * the ledger, most stopped on "table already exists", and two copies of the events table (008) interleaved could lose
 * the events stored meanwhile. ClickHouse has no lock, so the lock is a table only one can create (lock-table.ts).
 * The holder drops it when done, failed or not, unless it is no longer its own.
 */
export async function withMigrationLock<T>(client: ClickHouseClient, cluster: ClusterTarget | undefined, work: () => Promise<T>, options: MigrationLockOptions = {}): Promise<T> {
  const { heartbeatMs = 5_000 } = options;
  const table = lockTable('hearth_migration_lock', cluster, 'the migration lock');
  const holder = newHolder();
  await acquire(client, table, holder, options);
  const stopBeating = heartbeats(client, table, holder, heartbeatMs);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    stopBeating();
    // The work's error is the one told, whatever the release meets.
    await release(client, table, holder).catch(() => {});
    throw error;
  }
  stopBeating();
  await release(client, table, holder);
  return result;
}
