import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import { toClickHouseTime } from '../../scoring/sql.ts';
import { clusterStatements, quoteName, type ClusterTarget } from './cluster-ddl.ts';

/**
 * A lock between the collectors of one ClickHouse server, which has none: a table only one can create. No IF NOT
 * EXISTS: of the collectors that create it at once, one succeeds and the others are told it exists. On a cluster the
 * DDL queue runs ON CLUSTER statements one after the other, so the same one wins on every node. The table's comment
 * names its holder, set with the table itself: a heartbeat row a cut-off earlier holder sends late cannot make the lock
 * look like its own.
 *
 * The holder adds a heartbeat row every few seconds, each on its own and given up after as long, so one that hangs
 * never holds back the next. A waiter counts the rows by its own clock (not their times, which are the holder's): a
 * count that has not grown for staleMs is a dead holder's (kill -9, a lost machine, or one cut off from ClickHouse
 * that long), and the waiter drops the table and takes the lock; at once when the holder was a process of its own
 * machine that has ended (a restart after kill -9). Two waiters that find a dead holder at the same moment
 * may both take over: one drops the table just after the other created it anew, in the few milliseconds between its
 * last look and its drop.
 *
 * Used with a ClickHouse server only: the embedded engine's data folder is one process's, so a lock found there would
 * always be a dead one's.
 */
export interface LockTable {
  name: string;
  /** The statements that create it for a holder (ON CLUSTER ones on a cluster). */
  create(holder: string): string[];
  drop: string;
}

/**
 * `ttl`: heartbeats older than this are deleted as ClickHouse merges, for a lock held for as long as the process runs.
 * A count lowered by a merge looks like a heartbeat to a waiter, which then waits staleMs more, once in hours.
 */
export function lockTable(name: string, cluster: ClusterTarget | undefined, source: string, ttl?: string): LockTable {
  const ddl = (holder: string) => `CREATE TABLE ${name}
(
    holder String,
    at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY at${ttl ? `\nTTL toDateTime(at) + INTERVAL ${ttl}` : ''}
COMMENT '${holder}'`;
  return {
    name,
    create: (holder) => (cluster ? clusterStatements(ddl(holder), cluster, { source, shard: false }) : [ddl(holder)]),
    drop: `DROP TABLE IF EXISTS ${name}${cluster ? ` ON CLUSTER ${quoteName(cluster.cluster)}` : ''} SYNC`,
  };
}

const HOST = hostname().replace(/[^\w.-]/g, '_');

/** This process's name as a holder: plain characters only, as it is a literal in the table's DDL. */
export const newHolder = (): string => `${HOST} pid ${process.pid} (${randomUUID().slice(0, 8)})`;

/**
 * Whether a holder is a process of this machine that has ended (a collector restarted after kill -9 finds its own
 * lock): it need not be waited for. Another process of the same number may have started since, which only means
 * waiting staleMs as for any holder; so does a holder of another machine, or of a container that reuses this one's
 * name and process number.
 */
function endedHere(holder: string): boolean {
  const [, host, pid] = /^(\S+) pid (\d+) \(/.exec(holder) ?? [];
  if (host !== HOST || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface WaitOptions {
  /** A lock whose heartbeats have not grown for this long, by the waiter's own clock, is a dead holder's (60 s). */
  staleMs?: number;
  /** How often a waiter looks again (1 s). */
  pollMs?: number;
  /** Told once per holder a waiter waits for. */
  onWait?: (holder: string) => void;
  /** Aborted (a shutdown): a waiter stops waiting, and takes no lock after it; acquire throws its reason. */
  stop?: AbortSignal | undefined;
}

/** Waits until `holder` has created the lock table, taking it over from a dead holder. */
export async function acquire(client: ClickHouseClient, table: LockTable, holder: string, options: WaitOptions = {}): Promise<void> {
  const { staleMs = 60_000, pollMs = 1_000, onWait = () => {}, stop } = options;
  // The lock as last seen (its holder and heartbeat count), and since when (this process's clock) it has not changed.
  let seen: { key: string; since: number } | undefined;
  const told = new Set<string>();
  for (;;) {
    stop?.throwIfAborted();
    if (await created(client, table.create(holder))) return;
    const lock = await lockState(client, table);
    const key = keyOf(lock);
    if (lock && endedHere(lock.holder)) {
      await client.command({ query: table.drop });
      continue;
    }
    if (seen?.key !== key) seen = { key, since: Date.now() };
    else if (Date.now() - seen.since >= staleMs) {
      // A table CREATE says exists and SELECT cannot read is a detached one, or one left on some nodes of a cluster
      // only: its operator clears it.
      if (!lock) throw new Error(`${table.name} exists but cannot be read (detached, or on some nodes of the cluster only): drop it (DROP TABLE ${table.name} [ON CLUSTER …] SYNC) and start again`);
      if (keyOf(await lockState(client, table)) === key) {
        await client.command({ query: table.drop });
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
}

/**
 * Adds a heartbeat row now and every `heartbeatMs`, each given up after as long; returns what stops them. `afterBeat`
 * is told after each heartbeat, whether it went through or not. A heartbeat that fails or hangs is no reason to stop:
 * the next one may go through, and waiters allow staleMs.
 */
export function heartbeats(client: ClickHouseClient, table: LockTable, holder: string, heartbeatMs: number, afterBeat?: () => Promise<void>): () => void {
  let inFlight: Promise<void> | undefined;
  const beat = () => {
    inFlight ??= client
      .insert({ table: table.name, values: [{ holder, at: toClickHouseTime(Date.now()) }], format: 'JSONEachRow', abort_signal: AbortSignal.timeout(heartbeatMs) })
      .catch(() => {})
      .then(() => afterBeat?.())
      .catch(() => {})
      .finally(() => (inFlight = undefined));
  };
  beat();
  const timer = setInterval(beat, heartbeatMs);
  return () => clearInterval(timer);
}

/** Drops the lock table unless another took it over meanwhile. */
export async function release(client: ClickHouseClient, table: LockTable, holder: string): Promise<void> {
  if ((await lockState(client, table))?.holder === holder) await client.command({ query: table.drop });
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
export async function lockState(client: ClickHouseClient, table: LockTable): Promise<{ holder: string; beats: number } | undefined> {
  try {
    const result = await client.query({
      query: `SELECT (SELECT comment FROM system.tables WHERE database = currentDatabase() AND name = '${table.name}') AS holder, (SELECT count() FROM ${table.name}) AS beats`,
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
