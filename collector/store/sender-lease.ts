import type { ClickHouseClient } from '@clickhouse/client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterTarget } from './cluster-ddl.ts';
import { acquire, heartbeats, lockState, lockTable, newHolder, release, type WaitOptions } from './lock-table.ts';

export interface SenderLeaseOptions extends WaitOptions {
  /** How often the holder says it is alive and checks that the lease is still its own (5 s). */
  heartbeatMs?: number;
  /** This collector holds the lease: it sends the alerts. */
  onHeld(): void;
  /** Another collector took the lease over (this one was cut off from ClickHouse longer than staleMs): stop sending. */
  onLost(holder: string | undefined): void;
  /** A fault while trying to take the lease (ClickHouse down), the first of a run of them; it is tried again. */
  onError?(error: unknown): void;
}

export interface SenderLease {
  /** Whether this collector holds the lease now. */
  held(): boolean;
  /** Stops waiting or holding, and gives the lease up (drops it, unless another took it over) for the next to take at once. */
  stop(): Promise<void>;
}

/**
 * Which of the collectors of one ClickHouse server sends the alerts: the one that holds the `hearth_alert_sender`
 * lock table (lock-table.ts), for as long as it runs. The others record alerts into the same outbox and wait; when the
 * holder stops it drops the table and one of them takes it within a poll, and when it dies (kill -9, a lost machine)
 * one takes it once its heartbeats have stopped for staleMs (a minute). Alerts wait in the outbox meanwhile. A holder
 * cut off from ClickHouse longer than that finds, once back, that another holds the lease, and stops sending.
 */
export function holdAlertSending(client: ClickHouseClient, cluster: ClusterTarget | undefined, options: SenderLeaseOptions): SenderLease {
  const { heartbeatMs = 5_000, pollMs = 1_000, onHeld, onLost, onError = () => {} } = options;
  // Heartbeats older than a day go as ClickHouse merges: a lease is held for as long as its collector runs.
  const table = lockTable('hearth_alert_sender', cluster, 'the alert sender lease', '1 DAY');
  const holder = newHolder();
  const stopping = new AbortController();
  let holding = false;
  let failing = false;
  const run = (async () => {
    while (!stopping.signal.aborted) {
      try {
        await acquire(client, table, holder, { ...options, stop: stopping.signal });
        failing = false;
      } catch (error) {
        if (stopping.signal.aborted) return;
        // Told once, not every second of an outage.
        if (!failing) onError(error);
        failing = true;
        await sleep(pollMs, undefined, { signal: stopping.signal }).catch(() => {});
        continue;
      }
      holding = true;
      if (stopping.signal.aborted) return;
      onHeld();
      let taker: string | undefined;
      await new Promise<void>((resolve) => {
        const stopBeating = heartbeats(client, table, holder, heartbeatMs, async () => {
          // Unreadable (ClickHouse down): still ours as far as this collector knows, and it cannot read the outbox anyway.
          const lock = await lockState(client, table);
          if (lock?.holder === holder || stopping.signal.aborted) return;
          taker = lock?.holder;
          done();
        });
        const done = () => {
          stopBeating();
          stopping.signal.removeEventListener('abort', done);
          resolve();
        };
        stopping.signal.addEventListener('abort', done);
      });
      if (stopping.signal.aborted) return;
      holding = false;
      onLost(taker);
    }
  })();
  return {
    held: () => holding,
    async stop() {
      stopping.abort(new Error('the collector is shutting down'));
      await run;
      if (holding) {
        holding = false;
        await release(client, table, holder);
      }
    },
  };
}
