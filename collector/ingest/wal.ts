import { closeSync, fdatasync, openSync, unlinkSync, writeSync } from 'node:fs';
import { appendFile, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { EventRow } from './rows.ts';
import { insertEncodedEvents, SLOW_INSERT_MS, type EventSink, type SinkStatus, type IdentityRow, type StoredVisitor } from './sink.ts';
import type { ErasureFilter } from './erasures.ts';
import { clickHouseErrorType, refusesTheCollector } from '../store/client.ts';
import { eventExpired } from '../store/retention.ts';
import { batchOfRows, decodeRecord, encodeRecord, insertBody, rowsOf, type LoggedBatch } from './wal-records.ts';
import { PRIVATE, SegmentLog, type LogPosition, type RecoveredBacklog } from './wal-segments.ts';

export interface WalLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface WalSinkOptions {
  /** `${HEARTH_DATA_DIR}/wal`. */
  dir: string;
  client: Pick<ClickHouseClient, 'insert' | 'exec'>;
  /** Accepted bytes not yet in ClickHouse above which writes are refused (503 log_full). */
  maxBytes: number;
  /** Insert as soon as this many rows wait… */
  flushRows?: number;
  /** …or once the oldest waiting row is this old. */
  flushMs?: number;
  log: WalLogger;
  segmentBytes?: number;
  /** Longest pause between retries of a failing insert. */
  retryCapMs?: number;
  /** How long close() keeps draining before it leaves the rest on disk for the next start. */
  closeTimeoutMs?: number;
  /** Told of each insert into ClickHouse that stored rows (for /metrics)… */
  onFlush?(durationMs: number, rows: number): void;
  /** …and of each one that failed and will be retried. */
  onInsertError?(err: unknown): void;
  /** Given the visitors of each insert that stored them (the scorer rescores their leads), and the identity rows it stored (those browsers gave an email). */
  onStored?(visitors: StoredVisitor[], identified: IdentityRow[]): void;
  /** Drops, before each insert, the rows of people erased meanwhile, and takes back after it those an erasure that ran while it was on its way covers (ingest/erasures.ts). */
  erasures?: ErasureFilter | undefined;
  /** Resolves once the store may take inserts (prepared: store/prepare.ts); the log is not drained before. */
  ready?: Promise<unknown> | undefined;
  /**
   * `storage.retentionDays`: the events ClickHouse refused are dropped from rejected.ndjson once as old as the TTL makes
   * the stored ones (by their time), at start and every `expireEveryMs` (an hour); kept forever when absent.
   */
  retentionDays?: number | undefined;
  /** How often that runs, and the segment being written is deleted once drained (an hour). */
  expireEveryMs?: number | undefined;
}

export interface WalStatus extends SinkStatus {
  maxBytes: number;
  segments: number;
  /** Group commits so far: one fdatasync each, however many writes they carried. */
  fsyncs: number;
  /** What this start found on disk from earlier runs. */
  recovered: RecoveredBacklog;
  /** Events ClickHouse refused since start, set aside in `rejected.ndjson`. */
  rejectedRows: number;
}

export interface WalSink extends EventSink {
  status(): WalStatus;
  /** Resolves once every write acknowledged so far is stored in ClickHouse. */
  drained(): Promise<void>;
  /**
   * Resolves once every write acknowledged so far is stored in ClickHouse and gone from disk (the segment being
   * written is sealed, then deleted with the others once drained), and the refused events `erased` picks are gone
   * from rejected.ndjson: after an erasure, the log keeps no copy of the person's events.
   */
  purge(erased?: (row: EventRow) => boolean): Promise<void>;
  /** The refused events of rejected.ndjson that `picks` picks, in the file's order: what an export of the person shows of them. */
  setAsideEvents(picks: (row: EventRow) => boolean): Promise<SetAsideEvent[]>;
}

/** One line of rejected.ndjson: an event ClickHouse refused, when it was set aside and ClickHouse's reason. */
export interface SetAsideEvent {
  at: string;
  error: string;
  row: EventRow;
}

/** Where events ClickHouse refused are kept, one JSON line each, for a person to look at. */
export const REJECTED_FILE = 'rejected.ndjson';

/** ClickHouse's errors about the data sent, as opposed to being down, slow or overloaded. */
const DATA_ERROR = /^(CANNOT_PARSE|CANNOT_CONVERT|CANNOT_READ|INCORRECT_DATA|TYPE_MISMATCH|TOO_LARGE_STRING_SIZE|CANNOT_INSERT_NULL|ILLEGAL_TYPE|VALUE_IS_OUT_OF_RANGE|ARGUMENT_OUT_OF_BOUND)/;
const refusesRows = (err: unknown) => DATA_ERROR.test(clickHouseErrorType(err));

// One insert carries at most this much of the log, so catching up after an outage uses large but bounded inserts.
const MAX_INSERT_BYTES = 8 * 1024 * 1024;
const RETRY_BASE_MS = 100;
// Groups waiting for their fsync at once. Measured on 2 cores under load: 1 → 11.9k req/s, 2 → 13.2k, 3 → 13.9k,
// 4 → 13.8k, 8 → 12.7k (more only makes the groups smaller).
const COMMITS_IN_FLIGHT = 3;

/** The steps of one round of the drain, in their order. */
const DRAIN_STEPS = ['read', 'insert', 'checkpoint'] as const;
type DrainStep = (typeof DRAIN_STEPS)[number];

// While appends fail, the disk is tried this often with a file of its own, so that /readyz says ready again once it
// takes writes with no event needed to find out: a load balancer sends none to a collector that is not ready.
const DISK_CHECK_MS = 1000;
// As much as the largest /collect body: a disk with a few blocks free would pass a smaller check only to refuse the
// next batch, and /readyz would flap. A log restarted with less room than this (or an eighth of its quota) is full.
const DISK_CHECK_BYTES = 64 * 1024;
const DISK_CHECK_FILE = 'write-check';

// How often rejected.ndjson is rid of the events older than storage.retentionDays (the TTL's own granularity is a day,
// and the file is small: a line per refused event, so reading it hourly costs nothing), and the segment being written,
// once ClickHouse holds all it has, is deleted (on a quiet site it would keep people's form answers on disk for weeks
// before it fills).
const EXPIRE_EVERY_MS = 60 * 60_000;

const unavailable = (message: string, code: string) => Object.assign(new Error(message), { statusCode: 503, code });

interface QueuedWrite {
  record: Buffer;
  rows: number;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * An EventSink that makes a 202 survive a crash and a ClickHouse outage: each batch is appended to a log on disk
 * (writes arriving together share one fsync), and a drainer moves the log into ClickHouse in large inserts.
 * Replays after a crash may insert a batch twice; the events table collapses such copies (ReplacingMergeTree, FINAL).
 */
export async function createWalSink({
  dir,
  client,
  maxBytes,
  flushRows = 1000,
  flushMs = 1000,
  log,
  segmentBytes = 16 * 1024 * 1024,
  retryCapMs = 5000,
  closeTimeoutMs = 10_000,
  onFlush = () => {},
  onInsertError = () => {},
  onStored = () => {},
  erasures,
  ready,
  retentionDays,
  expireEveryMs = EXPIRE_EVERY_MS,
}: WalSinkOptions): Promise<WalSink> {
  const { log: segments, backlog, arrivals } = await SegmentLog.open(dir, segmentBytes);

  let pendingRows = backlog.rows;
  let pendingBytes = backlog.bytes;
  // Rows committed but not yet read by the drainer, and since when some have waited (performance.now()): a backlog
  // replayed at start is due at once.
  let unreadRows = backlog.rows;
  let unreadSince = -Infinity;
  let readFrom: LogPosition = segments.checkpointed;

  let queue: QueuedWrite[] = [];
  let queuedBytes = 0;
  let commitScheduled = false;
  let commitsInFlight = 0;
  const commitWaiters: (() => void)[] = [];
  // A start whose replayed log leaves no room for a large batch is full from the first: it was refusing events when
  // it stopped, or about to (/readyz said 503 then, and says so again, rather than degraded until a batch is refused).
  const largeBatch = Math.min(DISK_CHECK_BYTES, maxBytes / 8);
  let refusedBytes = backlog.bytes > 0 && backlog.bytes + largeBatch > maxBytes ? largeBatch : 0;
  if (refusedBytes > 0) log.warn({ pendingBytes: backlog.bytes, maxBytes }, 'the write-ahead log is full (HEARTH_WAL_MAX_MB) from the last run: events are refused (503) until ClickHouse takes them');
  let closing = false;

  // The disk's error code from an append that failed, until one succeeds or a check finds the disk writable again.
  let diskError: string | null = null;
  let appendFailures = 0;
  let diskCheck: NodeJS.Timeout | undefined;

  let clickHouseReachable = true;
  let lastError: string | null = null;
  let failingInserts = 0;
  // When the insert on its way to ClickHouse was sent (Date.now()), null between inserts.
  let insertingSince: number | null = null;
  // The step of the drain that failed for a reason of the log's own (not ClickHouse's), until that step succeeds.
  let drainFailure: { step: DrainStep; message: string } | null = null;
  let rejectedRows = 0;

  let stopping = false;
  let signalStop = () => {};
  const stopped = new Promise<void>((resolve) => (signalStop = resolve));
  let storeReady = ready === undefined;
  void ready?.then(() => (storeReady = true));
  let wakeDrainer = () => {};
  const drainWaiters: { target: LogPosition; resolve(): void; reject(err: unknown): void }[] = [];
  // Purges waiting for the segments up to `through` to be drained and deleted.
  const purgeWaiters: { through: number; resolve(): void; reject(err: unknown): void }[] = [];
  // rejected.ndjson is appended to and rewritten one at a time.
  let rejectedFileBusy: Promise<unknown> = Promise.resolve();
  const withRejectedFile = <T>(work: () => Promise<T>): Promise<T> => {
    const run = rejectedFileBusy.then(work);
    rejectedFileBusy = run.catch(() => {});
    return run;
  };

  function write(rows: EventRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    if (closing) return Promise.reject(unavailable('the collector is shutting down; retry shortly', 'shutting_down'));
    const record = encodeRecord(rows);
    const room = maxBytes - pendingBytes - queuedBytes;
    // Once full, the log stays full, small batches refused too, until it has room for a large batch (or the largest it
    // refused) again: taking whatever still fit made /readyz answer 503 and 200 by turns with the size of the last
    // batch, a load balancer taking the collector out and back each time, and the log said "full" and "room again"
    // at every pair.
    if (record.length > room || (refusedBytes > 0 && room < refusedBytes)) {
      // Said once when refusing starts, and once when it ends (below), not at every refused batch.
      if (refusedBytes === 0) log.warn({ pendingBytes, maxBytes }, 'the write-ahead log is full (HEARTH_WAL_MAX_MB): events are refused (503) until ClickHouse takes them');
      refusedBytes = Math.max(refusedBytes, record.length, largeBatch);
      wakeDrainer();
      return Promise.reject(unavailable('the write-ahead log is full (HEARTH_WAL_MAX_MB) while ClickHouse catches up; retry later', 'log_full'));
    }
    if (refusedBytes > 0) log.info({ pendingBytes, maxBytes }, 'the write-ahead log has room again; events are accepted');
    refusedBytes = 0;
    queuedBytes += record.length;
    const written = new Promise<void>((resolve, reject) => queue.push({ record, rows: rows.length, resolve, reject }));
    scheduleCommit();
    return written;
  }

  // Group commit: the writes of one turn of the event loop go together, once the turn's requests have all been
  // read (setImmediate runs after the poll phase). Up to COMMITS_IN_FLIGHT groups wait for their fsync at once;
  // writes arriving meanwhile queue up for the next group.
  function scheduleCommit(): void {
    if (commitScheduled || commitsInFlight >= COMMITS_IN_FLIGHT || queue.length === 0) return;
    commitScheduled = true;
    setImmediate(commitQueued);
  }

  function commitQueued(): void {
    commitScheduled = false;
    if (queue.length === 0) return;
    const group = queue;
    queue = [];
    const bytes = group.reduce((sum, write) => sum + write.record.length, 0);
    commitsInFlight++;
    // The log commits groups in the order they were made, so these callbacks run in that order too.
    segments
      .append(Buffer.concat(group.map((write) => write.record), bytes))
      .then(
        () => {
          const rows = group.reduce((sum, write) => sum + write.rows, 0);
          pendingRows += rows;
          pendingBytes += bytes;
          arrivals.add(Date.now(), rows);
          // On the monotonic clock: a step back of the wall clock (NTP) held the log's events out of ClickHouse that long.
          if (unreadRows === 0) unreadSince = performance.now();
          unreadRows += rows;
          for (const write of group) write.resolve();
          diskWritableAgain();
          wakeDrainer();
        },
        (err: unknown) => {
          // The disk failed (full, read-only, I/O error) and nothing was acknowledged: a 503, which the snippet retries.
          const code = (err as NodeJS.ErrnoException).code ?? 'error';
          // Said when it starts failing (or fails otherwise), and when it takes writes again (diskWritableAgain): at
          // every refused batch, hundreds of lines a second filled the disk the logs share, if it was that one.
          if (diskError !== code) log.error({ err }, 'cannot append to the write-ahead log; events are refused (503) until it can be written again');
          const refusal = unavailable(`the write-ahead log cannot be written (${code}); retry later`, 'log_unwritable');
          for (const write of group) write.reject(refusal);
          diskError = code;
          appendFailures++;
          checkDiskLater();
        },
      )
      .finally(() => {
        queuedBytes -= bytes;
        commitsInFlight--;
        if (commitsInFlight === 0 && queue.length === 0) for (const resolve of commitWaiters.splice(0)) resolve();
        scheduleCommit();
      });
  }

  function diskWritableAgain(): void {
    if (diskError === null) return;
    diskError = null;
    log.info({}, 'the write-ahead log can be written again; events are accepted');
  }

  /**
   * A disk that filled up while the log was still in its first segment (or with no other drained segment to give
   * back) stays full once ClickHouse has taken every event: only sealed segments are deleted. Once everything is
   * drained, the segment being written is sealed and deleted as an erasure's purge does it, and its room is free again.
   */
  async function releaseDrainedSegment(warning = 'cannot give back the room of a drained segment of the write-ahead log; trying again'): Promise<void> {
    if (pendingRows > 0 || closing) return;
    await sealAndDeleteOrWarn(warning);
  }

  /**
   * Seals the segment being written, without waiting: the drainer, which calls this, deletes it once it has moved past
   * it. What the erasure's own purge did for the records before it, for those of the person that came after it.
   */
  function forgetErased(): void {
    void sealAndDeleteOrWarn("cannot delete the write-ahead log's segment that holds events of a person erased; it goes once full");
  }

  /** sealAndDelete, its failure logged as `warning` (unless the log is closing under it), never thrown. */
  function sealAndDeleteOrWarn(warning: string): Promise<void> {
    return sealAndDelete().catch((err: unknown) => {
      if (!stopping) log.warn({ err }, warning);
    });
  }

  /** Seals the segment being written, and resolves once it and those before it are drained and deleted. */
  async function sealAndDelete(): Promise<void> {
    const through = await segments.seal();
    // The drainer stopped while the segment was sealed: nothing would delete it.
    if (stopping) throw new Error('the write-ahead log is closed');
    await new Promise<void>((resolve, reject) => {
      purgeWaiters.push({ through, resolve, reject });
      settlePurgeWaiters();
      wakeDrainer();
    });
  }

  /** While appends fail, tries the disk every DISK_CHECK_MS until it takes a write again (status().diskError). */
  function checkDiskLater(): void {
    if (diskCheck !== undefined || closing) return;
    diskCheck = setTimeout(async () => {
      const failuresBefore = appendFailures;
      const writable = await diskWritable(dir);
      diskCheck = undefined;
      if (diskError === null) return;
      // An append that failed while the check ran is the later word on the disk.
      if (writable && appendFailures === failuresBefore) diskWritableAgain();
      else {
        if (!writable) await releaseDrainedSegment();
        checkDiskLater();
      }
    }, DISK_CHECK_MS);
    // Nothing to wait for at exit.
    diskCheck.unref();
  }

  function drainDue(): boolean {
    // A purge needs the checkpoint moved past the segment it sealed, even with nothing left to read.
    if (purgeWaiters.length > 0) return true;
    if (unreadRows === 0) return false;
    // Half full is due too: a small quota with a long flush interval refused events while ClickHouse sat idle.
    return unreadRows >= flushRows || drainWaiters.length > 0 || closing || performance.now() - unreadSince >= flushMs || pendingBytes >= maxBytes / 2;
  }

  /** Sleeps until woken (new rows, a drain request, close) or `ms` passes. */
  function pause(ms: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, Math.max(0, ms));
      wakeDrainer = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async function untilStoppedOr(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopped, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /**
   * ClickHouse refused the rows themselves: retrying them can never succeed, and would hold back everything
   * behind them until the log fills. Halve the insert until the refused row is alone, and set it aside in
   * `rejected.ndjson` (with ClickHouse's reason) so the rest is stored.
   */
  async function setAside(batches: LoggedBatch[], err: Error): Promise<boolean> {
    // Down to one batch, its rows are taken apart: one batch each.
    const parts = batches.length === 1 && batches[0]!.rows > 1 ? rowsOf(batches[0]!).map((row) => batchOfRows([row])) : batches;
    if (parts.length > 1) {
      const half = Math.ceil(parts.length / 2);
      return (await insertUntilStored(parts.slice(0, half))) && (await insertUntilStored(parts.slice(half)));
    }
    const [row] = rowsOf(parts[0]!);
    const line: SetAsideEvent = { at: new Date().toISOString(), error: err.message, row: row! };
    await withRejectedFile(() => appendFile(join(dir, REJECTED_FILE), JSON.stringify(line) + '\n', { mode: PRIVATE }));
    rejectedRows++;
    log.error({ err, eventId: row?.event_id, file: join(dir, REJECTED_FILE) }, 'ClickHouse refused an event; it is set aside, the rest goes on');
    return true;
  }

  const rowCount = (batches: LoggedBatch[]) => batches.reduce((sum, batch) => sum + batch.rows, 0);

  /** Inserts batches read from the log as one insert, retried until ClickHouse stores it (false: closed meanwhile). */
  async function insertUntilStored(logged: LoggedBatch[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      let batches = logged;
      try {
        // Asked again at each attempt: a person may be erased while ClickHouse is down.
        if (erasures) batches = await erasures.apply(logged);
        const rows = rowCount(batches);
        if (rows > 0) {
          const startedAt = performance.now();
          insertingSince = Date.now();
          try {
            await insertEncodedEvents(client, await insertBody(batches), batches.flatMap((batch) => batch.identities));
          } finally {
            insertingSince = null;
          }
          onFlush(performance.now() - startedAt, rows);
        }
        // An erasure that ran while the insert was on its way has not taken its rows: they go before the scorer hears
        // of them. What this insert carried; after a failed attempt, all the log gave, as that attempt may have stored
        // some of what this one dropped.
        const taken = erasures ? await erasures.stored(attempt === 0 ? batches : logged) : 0;
        if (taken > 0) log.info({ rows: taken }, 'deleted events of a person erased while they were being inserted');
        // Events of a person erased before they came (a phone's retry queue) are in the log's records all the same,
        // in clear, until their segment is deleted: sealed now, it is once drained, as after an erasure's purge.
        if (taken > 0 || rows < rowCount(logged)) forgetErased();
        onStored(
          batches.flatMap((batch) => batch.visitors),
          batches.flatMap((batch) => batch.identities),
        );
        if (failingInserts > 0) log.info({ attempts: attempt + 1, pendingRows }, 'ClickHouse accepts inserts again; draining the write-ahead log');
        failingInserts = 0;
        clickHouseReachable = true;
        return true;
      } catch (err) {
        if (refusesRows(err)) return setAside(batches, err as Error);
        failingInserts++;
        clickHouseReachable = false;
        onInsertError(err);
        lastError = (err as Error).message;
        // ClickHouse refusing the collector itself (its password rotated, its user or database dropped) waits for an
        // operator: an error, as at a start, where a server down or slow is a warning that passes by itself.
        const refused = refusesTheCollector(err);
        const what = refused ? 'ClickHouse refuses the collector (its user, password or database)' : 'insert into ClickHouse failed';
        log[refused ? 'error' : 'warn']({ err, pendingRows, pendingBytes }, `${what}; events stay in the write-ahead log and the insert is retried`);
        // Full jitter keeps several collectors from retrying in step against a recovering server. New writes
        // do not cut the wait short; only close() does.
        await untilStoppedOr(Math.random() * Math.min(retryCapMs, RETRY_BASE_MS * 2 ** attempt));
        if (stopping) return false;
      }
    }
  }

  /** Resolves the purges whose segments are all deleted; with a failure, rejects the others. */
  function settlePurgeWaiters(failure?: unknown): void {
    for (let i = purgeWaiters.length - 1; i >= 0; i--) {
      const waiter = purgeWaiters[i]!;
      const done = segments.deletedThrough(waiter.through);
      if (!done && failure === undefined) continue;
      purgeWaiters.splice(i, 1);
      if (done) waiter.resolve();
      else waiter.reject(failure);
    }
  }

  /** rejected.ndjson's lines, each with what it says when it is one the log wrote (a line that is not JSON says nothing). */
  async function rejectedLines(): Promise<{ line: string; entry: SetAsideEvent | undefined }[]> {
    const text = await readFile(join(dir, REJECTED_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => ({ line, entry: setAsideEventOf(line) }));
  }

  /** Rewrites rejected.ndjson without the refused events `dropped` picks (a line that is not JSON stays); resolves to how many went. */
  function dropRejected(dropped: (entry: SetAsideEvent) => boolean): Promise<number> {
    return withRejectedFile(async () => {
      const lines = await rejectedLines();
      const kept = lines.filter(({ entry }) => !(entry && dropped(entry)));
      if (kept.length === lines.length) return 0;
      const file = join(dir, REJECTED_FILE);
      const handle = await open(`${file}.tmp`, 'w', PRIVATE);
      try {
        await handle.writeFile(kept.map(({ line }) => `${line}\n`).join(''));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(`${file}.tmp`, file);
      return lines.length - kept.length;
    });
  }

  /**
   * Drops from rejected.ndjson the events storage.retentionDays has expired: by their time, as the events table's TTL
   * expires the stored ones (store/retention.ts). A refused event is no reason to keep what a person did longer.
   */
  async function expireRejected(): Promise<void> {
    if (retentionDays === undefined) return;
    const now = Date.now();
    try {
      const dropped = await dropRejected(({ row }) => eventExpired(retentionDays, row, now));
      if (dropped > 0) log.info({ events: dropped, retentionDays }, `dropped from ${REJECTED_FILE} the refused events older than storage.retentionDays`);
    } catch (err) {
      // Tried again at the next round; the log's work does not depend on it.
      log.warn({ err }, `cannot drop the refused events older than storage.retentionDays from ${REJECTED_FILE}`);
    }
  }

  function settleDrainWaiters(): void {
    for (let i = drainWaiters.length - 1; i >= 0; i--) {
      const waiter = drainWaiters[i]!;
      if (segments.drainedTo(waiter.target)) {
        drainWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /**
   * A step of the drain that failed before is over once it, or a step after it, succeeds: a segment read again while
   * ClickHouse fails is ClickHouse's failure, said as such, no longer the disk's.
   */
  function succeeded(done: DrainStep): void {
    if (drainFailure === null || DRAIN_STEPS.indexOf(drainFailure.step) > DRAIN_STEPS.indexOf(done)) return;
    drainFailure = null;
    log.info({ pendingRows }, 'the write-ahead log drains again');
  }

  async function drainLoop(): Promise<void> {
    if (!storeReady) await Promise.race([ready, stopped]);
    while (!stopping) {
      if (!drainDue()) {
        await pause(unreadRows > 0 ? flushMs - (performance.now() - unreadSince) : undefined);
        continue;
      }
      let step: DrainStep = 'read';
      try {
        const readStartedAt = performance.now();
        const batch = await segments.read(readFrom, MAX_INSERT_BYTES);
        const batches = batch.records.map(decodeRecord);
        succeeded(step);
        const rows = batches.reduce((sum, logged) => sum + logged.rows, 0);
        readFrom = batch.end;
        unreadRows -= rows;
        unreadSince = batch.capped ? readStartedAt - flushMs : readStartedAt;
        step = 'insert';
        if (rows > 0 && !(await insertUntilStored(batches))) return;
        step = 'checkpoint';
        await segments.checkpoint(batch.end);
        succeeded(step);
        pendingRows -= rows;
        pendingBytes -= batch.bytes;
        arrivals.take(rows);
        // Not an error for the drain: a segment left behind holds nothing to replay, and is tried again next time.
        // A purge waiting for it fails, though: the records it holds are still on disk.
        const notDeleted = await segments.deleteDrained().then(
          () => undefined,
          (err: unknown) => {
            log.warn({ err }, 'cannot delete a drained segment of the write-ahead log; trying again at the next checkpoint');
            return err;
          },
        );
        settleDrainWaiters();
        settlePurgeWaiters(notDeleted);
      } catch (err) {
        lastError = (err as Error).message;
        drainFailure = { step, message: lastError };
        log.error({ err }, 'cannot drain the write-ahead log');
        readFrom = segments.checkpointed;
        unreadRows = pendingRows;
        await untilStoppedOr(retryCapMs);
      }
    }
  }

  // A last line a crash cut short would swallow the next refused event, which no erasure or retention could pick then.
  await withRejectedFile(() => endCutLine(join(dir, REJECTED_FILE))).catch((err: unknown) => log.warn({ err }, `cannot end the line a crash cut short in ${REJECTED_FILE}`));
  const draining = drainLoop();
  // At start, then hourly: a collector runs for weeks, and its refused events age meanwhile. Hourly too, what it
  // stored is no longer kept on its disk.
  await expireRejected();
  const expiring = setInterval(() => {
    void expireRejected();
    void releaseDrainedSegment('cannot delete the drained segment of the write-ahead log being written; trying again in an hour');
  }, expireEveryMs);
  // Nothing to wait for at exit.
  expiring.unref();

  return {
    write,

    drained() {
      const target = segments.committedEnd;
      if (segments.drainedTo(target)) return Promise.resolve();
      if (stopping) return Promise.reject(new Error('the write-ahead log is closed'));
      return new Promise((resolve, reject) => {
        drainWaiters.push({ target, resolve, reject });
        wakeDrainer();
      });
    },

    async purge(erased) {
      if (closing) throw new Error('the write-ahead log is closed');
      // An erasure asks for it, recorded already: the inserts from now on check against it.
      if (erased) erasures?.recorded();
      await sealAndDelete();
      if (erased) await dropRejected(({ row }) => erased(row));
    },

    async setAsideEvents(picks) {
      const lines = await withRejectedFile(rejectedLines);
      return lines.flatMap(({ entry }) => (entry && picks(entry.row) ? [entry] : []));
    },

    status() {
      const full = refusedBytes > 0 && maxBytes - pendingBytes - queuedBytes < refusedBytes;
      const waited = insertingSince === null ? 0 : Date.now() - insertingSince;
      return {
        pendingRows,
        pendingBytes,
        oldestPendingAt: arrivals.oldest,
        clickHouseReachable: clickHouseReachable && storeReady,
        lastError: storeReady ? lastError : 'the store is not prepared yet',
        degraded: failingInserts > 0 || !storeReady || drainFailure !== null || waited > SLOW_INSERT_MS,
        slowInsertMs: waited > SLOW_INSERT_MS ? waited : null,
        full,
        diskError,
        // While inserts fail, that is what is wrong now: a checkpoint that failed before is tried once one succeeds.
        drainError: failingInserts > 0 ? null : (drainFailure?.message ?? null),
        maxBytes,
        segments: segments.segmentCount,
        fsyncs: segments.fsyncs,
        recovered: backlog,
        rejectedRows,
      };
    },

    async close() {
      if (closing) return;
      closing = true;
      clearTimeout(diskCheck);
      clearInterval(expiring);
      if (commitsInFlight > 0 || queue.length > 0) await new Promise<void>((resolve) => commitWaiters.push(resolve));
      wakeDrainer();
      let timer: NodeJS.Timeout | undefined;
      // With the store not prepared, nothing can drain: the log is left for the next start at once.
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, storeReady ? closeTimeoutMs : 0)));
      const everythingStored = new Promise<void>((resolve, reject) => {
        drainWaiters.push({ target: segments.committedEnd, resolve, reject });
        settleDrainWaiters();
      });
      await Promise.race([everythingStored.catch(() => {}), deadline]);
      // Everything stored: the segment being written goes too, so a stopped collector's log holds nothing ClickHouse has.
      if (pendingRows === 0) await Promise.race([sealAndDelete().catch(() => {}), deadline]);
      stopping = true;
      signalStop();
      wakeDrainer();
      // An insert still in flight is not waited for past the deadline; its rows stay in the log for the next start.
      await Promise.race([draining, deadline]);
      clearTimeout(timer);
      for (const waiter of drainWaiters.splice(0)) waiter.reject(new Error('the write-ahead log closed before these events reached ClickHouse'));
      settlePurgeWaiters(new Error('the write-ahead log closed before its drained segments were deleted'));
      if (pendingRows > 0) log.warn({ pendingRows, pendingBytes }, 'events left in the write-ahead log at shutdown; they are replayed on the next start');
      await segments.close();
    },
  };
}

/** Ends with a newline the last line of `file` when a crash cut it short (no file: nothing to do). */
async function endCutLine(file: string): Promise<void> {
  const handle = await open(file, 'r+').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!handle) return;
  try {
    const { size } = await handle.stat();
    const last = Buffer.alloc(1);
    if (size > 0 && (await handle.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] !== 0x0a) await handle.write('\n', size);
  } finally {
    await handle.close();
  }
}

/** A line of rejected.ndjson as the log wrote it (setAside), or undefined for one that is not (cut by a crash mid-append). */
function setAsideEventOf(line: string): SetAsideEvent | undefined {
  try {
    const entry = JSON.parse(line) as Partial<SetAsideEvent> | null;
    return entry?.row && typeof entry.row === 'object' ? { at: String(entry.at ?? ''), error: String(entry.error ?? ''), row: entry.row } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `dir`'s disk takes a write and its fdatasync, as an append to the log needs; the file is removed after. */
async function diskWritable(dir: string): Promise<boolean> {
  const path = join(dir, DISK_CHECK_FILE);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'w');
    const bytes = Buffer.alloc(DISK_CHECK_BYTES);
    // A disk that runs out of space mid-write writes less than asked.
    if (writeSync(fd, bytes) !== bytes.length) return false;
    await new Promise<void>((resolve, reject) => fdatasync(fd!, (err) => (err ? reject(err) : resolve())));
    return true;
  } catch {
    return false;
  } finally {
    // Neither matters to the answer: a file left behind (not there when the open failed, or the disk refuses this too)
    // is written over by the next check.
    if (fd !== undefined) ignoreErrors(() => closeSync(fd!));
    ignoreErrors(() => unlinkSync(path));
  }
}

function ignoreErrors(call: () => void): void {
  try {
    call();
  } catch {
    // See the caller.
  }
}
