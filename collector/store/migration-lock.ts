import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { clusterStatements, quoteName, type ClusterTarget } from './cluster-ddl.ts';

const LOCK = 'hearth_migration_lock';

// No IF NOT EXISTS: of the collectors that create it at once, one succeeds and the others are told it exists. On a
// cluster the DDL queue runs ON CLUSTER statements one after the other, so the same one wins on every node. The
// table's comment names its holder, set with the table itself: a heartbeat row a cut-off earlier holder sends late
// cannot make the lock look like its own.
const lockTable = (holder: string) => `CREATE TABLE ${LOCK}
(
    holder String,
    at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY at
COMMENT '${holder}'`;

export interface MigrationLockOptions {
  /** A lock whose heartbeats have not grown for this long, by the waiter's own clock, is a dead holder's (60 s). */
  staleMs?: number;
  /** How often the holder says it is alive; each heartbeat also gives up after this long (5 s). */
  heartbeatMs?: number;
  /** How often a waiter looks again (1 s). */
  pollMs?: number;
  /** Told once per holder a waiter waits for. */
  onWait?: (holder: string) => void;
  /** Aborted (a shutdown): a waiter stops waiting, and takes no lock after it; withMigrationLock throws its reason. */
  stop?: AbortSignal | undefined;
}

/**
 * Runs `work` (migrations, retention) while no other collector does the same on this ClickHouse. Collectors that
 * start together (a deploy, a scaled service) otherwise ran the same migrations at once: each recorded them again in
 * the ledger, most stopped on "table already exists", and two copies of the events table (008) interleaved could lose
 * the events stored meanwhile. ClickHouse has no lock, so the lock is a table only one can create (lockTable).
 *
 * The holder adds a heartbeat row every few seconds, each on its own and given up after as long, so one that hangs
 * never holds back the next. A waiter counts the rows by its own clock (not their times, which are the holder's): a
 * count that has not grown for staleMs is a dead holder's (kill -9, a lost machine, or one cut off from ClickHouse
 * that long), and the waiter drops the table and takes the lock. The holder drops the table when done, failed or not,
 * unless it is no longer its own. Two waiters that find a dead holder at the same moment may both take over: one
 * drops the table just after the other created it anew, in the few milliseconds between its last look and its drop.
 *
 * Used with a ClickHouse server only: the embedded engine's data folder is one process's, so a lock found there would
 * always be a dead one's.
 */
export async function withMigrationLock<T>(client: ClickHouseClient, cluster: ClusterTarget | undefined, work: () => Promise<T>, options: MigrationLockOptions = {}): Promise<T> {
  const { staleMs = 60_000, heartbeatMs = 5_000, pollMs = 1_000, onWait = () => {}, stop } = options;
  // Plain characters only: it is a literal in the table's DDL.
  const holder = `${hostname().replace(/[^\w.-]/g, '_')} pid ${process.pid} (${randomUUID().slice(0, 8)})`;
  const create = cluster ? clusterStatements(lockTable(holder), cluster, { source: 'the migration lock', shard: false }) : [lockTable(holder)];
  const drop = `DROP TABLE IF EXISTS ${LOCK}${cluster ? ` ON CLUSTER ${quoteName(cluster.cluster)}` : ''} SYNC`;
  // The lock as last seen (its holder and heartbeat count), and since when (this process's clock) it has not changed.
  let seen: { key: string; since: number } | undefined;
  const told = new Set<string>();
  for (;;) {
    stop?.throwIfAborted();
    if (await created(client, create)) break;
    const lock = await lockState(client);
    const key = keyOf(lock);
    if (seen?.key !== key) seen = { key, since: Date.now() };
    else if (Date.now() - seen.since >= staleMs) {
      // A table CREATE says exists and SELECT cannot read is a detached one, or one left on some nodes of a cluster
      // only: its operator clears it.
      if (!lock) throw new Error(`${LOCK} exists but cannot be read (detached, or on some nodes of the cluster only): drop it (DROP TABLE ${LOCK} [ON CLUSTER …] SYNC) and start again`);
      if (keyOf(await lockState(client)) === key) {
        await client.command({ query: drop });
        seen = undefined;
        continue;
      }
    }
    if (lock?.holder && !told.has(lock.holder)) {
      told.add(lock.holder);
      onWait(lock.holder);
    }
    // Cut short by a stop, which the loop's next turn throws.
    await sleep(pollMs, undefined, { signal: stop }).catch(() => {});
  }

  const heartbeat = async () => {
    await client.insert({ table: LOCK, values: [{ holder, at: toClickHouseTime(Date.now()) }], format: 'JSONEachRow', abort_signal: AbortSignal.timeout(heartbeatMs) });
  };
  // A heartbeat that fails or hangs is no reason to stop: the next one may go through, and waiters allow staleMs.
  let inFlight: Promise<void> | undefined;
  const beat = () => {
    inFlight ??= heartbeat()
      .catch(() => {})
      .finally(() => (inFlight = undefined));
  };
  beat();
  const timer = setInterval(beat, heartbeatMs);
  // Dropped unless another collector took it over meanwhile.
  const release = async () => {
    clearInterval(timer);
    if ((await lockState(client))?.holder === holder) await client.command({ query: drop });
  };
  let result: T;
  try {
    result = await work();
  } catch (error) {
    // The work's error is the one told, whatever the release meets.
    await release().catch(() => {});
    throw error;
  }
  await release();
  return result;
}

/** What a waiter compares between two looks at the lock: its holder and heartbeat count, or that it could not be read. */
const keyOf = (lock: { holder: string; beats: number } | undefined) => (lock ? `${lock.holder} ${lock.beats}` : 'unreadable');

/** Whether this caller created the lock table (false: it exists already). */
async function created(client: ClickHouseClient, statements: string[]): Promise<boolean> {
  try {
    for (const query of statements) await client.command({ query });
    return true;
  } catch (error) {
    // ON CLUSTER, the node's error is wrapped in the initiator's, under the same code.
    const { type, code } = error as { type?: string; code?: string };
    if (type === 'TABLE_ALREADY_EXISTS' || code === '57') return false;
    throw error;
  }
}

/** The lock's holder (the table's comment) and how many heartbeats it holds; undefined when it is gone. */
async function lockState(client: ClickHouseClient): Promise<{ holder: string; beats: number } | undefined> {
  try {
    const result = await client.query({
      query: `SELECT (SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = '${LOCK}') AS holder, (SELECT count() FROM ${LOCK}) AS beats`,
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ holder: string; beats: string }>();
    return { holder: row!.holder, beats: Number(row!.beats) };
  } catch (error) {
    // Dropped meanwhile (TABLE_IS_DROPPED: dropped while the query started).
    const { type } = error as { type?: string };
    if (type === 'UNKNOWN_TABLE' || type === 'TABLE_IS_DROPPED') return undefined;
    throw error;
  }
}
