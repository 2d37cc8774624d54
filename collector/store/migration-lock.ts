import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { clusterStatements, quoteName, type ClusterTarget } from './cluster-ddl.ts';

const LOCK = 'hearth_migration_lock';

// No IF NOT EXISTS: of the collectors that create it at once, one succeeds and the others are told it exists. On a
// cluster the DDL queue runs ON CLUSTER statements one after the other, so the same one wins on every node.
const LOCK_TABLE = `CREATE TABLE ${LOCK}
(
    holder String,
    at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY at`;

export interface MigrationLockOptions {
  /** A holder whose heartbeat has not changed for this long, by the waiter's own clock, has died (60 s). */
  staleMs?: number;
  /** How often the holder says it is alive (5 s). */
  heartbeatMs?: number;
  /** How often a waiter looks again (1 s). */
  pollMs?: number;
  /** Told once per holder a waiter waits for. */
  onWait?: (holder: string) => void;
}

/**
 * Runs `work` (migrations, retention) while no other collector does the same on this ClickHouse. Collectors that
 * start together (a deploy, a scaled service) otherwise ran the same migrations at once: each recorded them again in
 * the ledger, most stopped on "table already exists", and two copies of the events table (008) interleaved could lose
 * the events stored meanwhile. ClickHouse has no lock, so the lock is a table only one can create (LOCK_TABLE). The
 * holder adds a heartbeat row every few seconds and drops the table when done, failed or not; a holder that died (kill
 * -9, a lost machine) is known by a heartbeat that stopped changing, and a waiter drops its table and takes the lock.
 * Two waiters that find a dead holder at the same moment may both take over: one drops the table just after the other
 * created it anew. The window is the few milliseconds between a waiter's last look and its drop.
 *
 * Used with a ClickHouse server only: the embedded engine's data folder is one process's, so a lock found there would
 * always be a dead one's.
 */
export async function withMigrationLock<T>(client: ClickHouseClient, cluster: ClusterTarget | undefined, work: () => Promise<T>, options: MigrationLockOptions = {}): Promise<T> {
  const { staleMs = 60_000, heartbeatMs = 5_000, pollMs = 1_000, onWait = () => {} } = options;
  const holder = `${hostname()} pid ${process.pid} (${randomUUID().slice(0, 8)})`;
  const create = cluster ? clusterStatements(LOCK_TABLE, cluster, { source: 'the migration lock', shard: false }) : [LOCK_TABLE];
  const drop = `DROP TABLE IF EXISTS ${LOCK}${cluster ? ` ON CLUSTER ${quoteName(cluster.cluster)}` : ''} SYNC`;
  // The latest heartbeat seen, and when it was first seen: it has to change within staleMs.
  let seen: { beat: string; since: number } | undefined;
  const told = new Set<string>();
  for (;;) {
    if (await created(client, create)) break;
    const beat = await latestBeat(client);
    if (beat === undefined) continue; // dropped meanwhile: its holder is done
    if (seen?.beat !== beat.key) seen = { beat: beat.key, since: Date.now() };
    else if (Date.now() - seen.since >= staleMs && (await latestBeat(client))?.key === beat.key) {
      await client.command({ query: drop });
      seen = undefined;
      continue;
    }
    if (!told.has(beat.holder)) {
      told.add(beat.holder);
      onWait(beat.holder || 'a collector that has just started');
    }
    await sleep(pollMs);
  }
  const heartbeat = async () => {
    await client.insert({ table: LOCK, values: [{ holder, at: toClickHouseTime(Date.now()) }], format: 'JSONEachRow' });
  };
  let beating = heartbeat();
  const timer = setInterval(() => {
    beating = beating.then(heartbeat).catch(() => {});
  }, heartbeatMs);
  try {
    await beating;
    return await work();
  } finally {
    clearInterval(timer);
    await beating.catch(() => {});
    await client.command({ query: drop });
  }
}

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

/** The lock's latest heartbeat (holder '' and key '' before its first), or undefined when the table is gone. */
async function latestBeat(client: ClickHouseClient): Promise<{ holder: string; key: string } | undefined> {
  try {
    const result = await client.query({ query: `SELECT holder, toString(at) AS at FROM ${LOCK} ORDER BY at DESC LIMIT 1`, format: 'JSONEachRow' });
    const [row] = await result.json<{ holder: string; at: string }>();
    return row ? { holder: row.holder, key: `${row.holder} ${row.at}` } : { holder: '', key: '' };
  } catch (error) {
    if ((error as { type?: string }).type === 'UNKNOWN_TABLE') return undefined;
    throw error;
  }
}
