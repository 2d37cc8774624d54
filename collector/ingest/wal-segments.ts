import { closeSync, fdatasync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { constants, copyFile, lstat, open, readdir, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { privateDir } from '../paths.ts';
import { acceptedAtOf, Arrivals, nextRecordAt, parseRecords, SLICE_BYTES, type IntactRecord } from './wal-records.ts';

/** The log's files hold what people typed in forms (emails, job titles): readable by the collector's user alone. */
export const PRIVATE = 0o600;

/** A place in the log: everything before it (earlier segments, earlier bytes of this one) comes first. */
export interface LogPosition {
  segment: number;
  offset: number;
}

export const comparePositions = (a: LogPosition, b: LogPosition) => a.segment - b.segment || a.offset - b.offset;

interface Segment {
  seq: number;
  path: string;
  /** Bytes of intact, fsync'd records; nothing beyond is ever read. */
  end: number;
  /** No record will be appended any more: a reader at `end` moves on to the next segment. */
  sealed: boolean;
}

export interface RecoveredBacklog {
  /** Rows and bytes left by earlier runs after the checkpoint: they will be replayed. */
  rows: number;
  bytes: number;
  /** Bytes of half-written records found at segment tails, ignored. */
  tornBytes: number;
  /**
   * Segments with bytes that are no record between intact records (a disk's or someone's doing, not a crash's: a
   * crash only cuts a segment's tail). The intact records are kept and replayed; the segment as it was is set aside.
   */
  corrupt: { setAside: string; stretches: { offset: number; bytes: number }[] }[];
  /** Why the checkpoint file could not be read, when it could not: every segment is replayed (nothing is stored twice). */
  checkpointProblem?: string;
}

export interface RecordBatch {
  records: IntactRecord[];
  bytes: number;
  /** Where the next read starts, and the checkpoint once these records are stored. */
  end: LogPosition;
  /** The byte budget was reached with more records waiting. */
  capped: boolean;
}

const CHECKPOINT_FILE = 'checkpoint.json';
/**
 * The checkpoint's length: its position and their checksum, padded, written over the last one in place. A new file
 * renamed over it needed a block of the disk, which a full disk did not have once the log had filled it: the drain
 * stored its events again and again and never got to delete the segments that held the room.
 */
const CHECKPOINT_BYTES = 96;

/** The checksum of a position, which tells a checkpoint written whole from one a crash cut in the middle of its write. */
const positionCrc = ({ segment, offset }: LogPosition) => crc32(`${segment},${offset}`);

const checkpointBytes = (position: LogPosition) =>
  Buffer.from(`${JSON.stringify({ segment: position.segment, offset: position.offset, crc: positionCrc(position) }).padEnd(CHECKPOINT_BYTES - 1)}\n`);
const segmentName = (seq: number) => `segment-${String(seq).padStart(12, '0')}.wal`;
const segmentSeq = (file: string) => {
  const match = /^segment-(\d{12})\.wal$/.exec(file);
  return match ? Number(match[1]) : null;
};

/**
 * The write-ahead log on disk: append-only segment files plus a checkpoint file saying how far ClickHouse has
 * stored them. Each run appends to a segment of its own, so a torn tail from a crash is never written after.
 */
export class SegmentLog {
  /** fdatasync calls that committed a group of records; a measure of group commit. */
  fsyncs = 0;
  /** Bytes written to the active segment: its committed records, then those whose fsync is in flight. */
  private written = 0;
  /** Settles once the latest append has: true if it committed. Appends commit in the order they were made. */
  private lastCommitted: Promise<boolean> = Promise.resolve(true);
  /** Why an append failed, until the file is cut back to the last committed record. */
  private failure: unknown;
  private recovering: Promise<void> | undefined;
  /** Appends since the last commit (or recovery) wrote to this segment and later ones only: what recover() cuts back. */
  private uncommittedFrom: number;
  /** The checkpoint file, open once it exists: each checkpoint is written over the last (CHECKPOINT_BYTES). */
  private checkpointFile: FileHandle | undefined;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
    private active: { segment: Segment; fd: number },
    public checkpointed: LogPosition,
  ) {
    this.uncommittedFrom = active.segment.seq;
  }

  static async open(dir: string, segmentBytes: number): Promise<{ log: SegmentLog; backlog: RecoveredBacklog; arrivals: Arrivals }> {
    // The owner's alone, as its files are (PRIVATE).
    privateDir(dir);
    const checkpointRead = await readCheckpoint(dir);
    const seqs = (await readdir(dir))
      .map(segmentSeq)
      .filter((seq) => seq !== null)
      .sort((a, b) => a - b);
    // A checkpoint no run writes: past the last segment, or past the end of its own (a wal/ restored in part, a file
    // written by hand). Taken as it was, it deleted the segments before it, or skipped their records, and said nothing.
    const { saved, problem } = await withinTheLog(dir, checkpointRead, seqs);
    const segments: Segment[] = [];
    const backlog: RecoveredBacklog = { rows: 0, bytes: 0, tornBytes: 0, corrupt: [], ...(problem && { checkpointProblem: problem }) };
    let firstPending: LogPosition | undefined;
    const arrivals = new Arrivals();
    for (const seq of seqs) {
      const path = join(dir, segmentName(seq));
      // Drained before the last run stopped, but not yet deleted.
      if (seq < saved.segment) {
        await unlink(path);
        continue;
      }
      const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
        throw Object.assign(new Error(`cannot read the write-ahead log's segment ${path} (${err.code ?? err.message}): it holds accepted events not yet stored; give the collector's user access to it, or move it out of ${dir} to start without them`), { code: err.code });
      });
      // A record of an older log says not when it came: as old as its segment's last write, at least.
      const written = Math.round((await stat(path)).mtimeMs);
      const from = seq === saved.segment ? Math.min(saved.offset, bytes.length) : 0;
      const read = readSegment(bytes, from);
      const intactBytes = read.pieces.reduce((sum, piece) => sum + piece.length, 0);
      if (read.stretches.length > 0) {
        // The segment as it was is kept for whoever looks into it; the segment becomes its intact records.
        const setAside = join(dir, `corrupt-${segmentName(seq)}`);
        await copyFile(path, setAside, constants.COPYFILE_EXCL).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        await writeDurably(dir, segmentName(seq), Buffer.concat([bytes.subarray(0, from), ...read.pieces]));
        backlog.corrupt.push({ setAside, stretches: read.stretches });
      }
      backlog.tornBytes += read.tornBytes;
      backlog.bytes += intactBytes;
      for (const record of read.records) {
        backlog.rows += record.rows;
        arrivals.add(acceptedAtOf(record) ?? written, record.rows);
      }
      if (intactBytes > 0) firstPending ??= { segment: seq, offset: from };
      segments.push({ seq, path, end: from + intactBytes, sealed: true });
    }
    const activeSeq = Math.max((seqs.at(-1) ?? 0) + 1, saved.segment, 1);
    const activeSegment: Segment = { seq: activeSeq, path: join(dir, segmentName(activeSeq)), end: 0, sealed: false };
    const fd = openSync(activeSegment.path, 'w', PRIVATE);
    await syncDir(dir);
    segments.push(activeSegment);
    const log = new SegmentLog(dir, segmentBytes, segments, { segment: activeSegment, fd }, saved);
    // Skips segments holding nothing to replay, so they are deleted now rather than after the next insert.
    const start = firstPending ?? { segment: activeSeq, offset: 0 };
    if (comparePositions(start, saved) !== 0) {
      try {
        await log.checkpoint(start);
      } catch (err) {
        await log.close();
        throw err;
      }
      await log.deleteDrained();
    }
    return { log, backlog, arrivals };
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The end of the last committed record. */
  get committedEnd(): LogPosition {
    return { segment: this.active.segment.seq, offset: this.active.segment.end };
  }

  /**
   * Whether every record committed before `target` is checkpointed. The checkpoint can stop at the end of a
   * segment while `target` is in a later one with nothing committed before it (after a failed append, or a read
   * that ended there): the drainer has nothing more to read, so that counts as drained.
   */
  drainedTo(target: LogPosition): boolean {
    if (comparePositions(this.checkpointed, target) >= 0) return true;
    return this.segments.every((segment) => {
      if (segment.seq < this.checkpointed.segment || segment.seq > target.segment) return true;
      const from = segment.seq === this.checkpointed.segment ? this.checkpointed.offset : 0;
      return (segment.seq === target.segment ? target.offset : segment.end) <= from;
    });
  }

  /**
   * Appends records and resolves once they are durable. The write is made at once and blocks (it only reaches the
   * page cache: tens of microseconds); the fdatasync runs in libuv's pool, and several may be in flight, each
   * covering its own write. Handing the write to the pool too cost a thread hand-off each way, which on a busy
   * machine is a good part of a millisecond per group. A group commits once its fsync is done and every earlier
   * group has committed, so acknowledgements keep their order. After a failure, the appends in flight fail with
   * it, and the next append first cuts the file back to the last committed record.
   */
  async append(group: Buffer): Promise<void> {
    while (this.failure !== undefined) await this.recover();
    if (this.written > 0 && this.written + group.length > this.segmentBytes) this.rotate();
    const { segment, fd } = this.active;
    const at = this.written;
    try {
      const bytesWritten = writeSync(fd, group, 0, group.length, at);
      // A disk that runs out of room mid-write writes less than asked: said as the full disk it is (ENOSPC).
      if (bytesWritten !== group.length) throw Object.assign(new Error(`short write to ${segment.path}: ${bytesWritten} of ${group.length} bytes (the disk is full)`), { code: 'ENOSPC' });
    } catch (err) {
      cutBack(fd, at);
      throw err;
    }
    this.written = at + group.length;
    const fsyncError = new Promise<unknown>((resolve) => fdatasync(fd, (err) => resolve(err ?? undefined)));
    const committed = Promise.all([fsyncError, this.lastCommitted]).then(([err, earlierCommitted]) => {
      if (err !== undefined) this.failure ??= err;
      if (err !== undefined || !earlierCommitted) throw err ?? this.failure;
      this.fsyncs++;
      segment.end = at + group.length;
      this.uncommittedFrom = segment.seq;
    });
    this.lastCommitted = committed.then(
      () => true,
      () => false,
    );
    return committed;
  }

  /** After a failed append: waits for the appends in flight, then cuts off what they wrote. */
  private recover(): Promise<void> {
    this.recovering ??= this.lastCommitted.then(() => {
      const { segment, fd } = this.active;
      // Failed appends may have filled segments a rotation sealed since the last commit; a restart reads those
      // to the end of the file, so they are cut back too (their files are closed by now).
      for (const sealed of this.segments) {
        if (sealed.seq >= this.uncommittedFrom && sealed !== segment) cutBackSealed(sealed);
      }
      cutBack(fd, segment.end);
      this.uncommittedFrom = segment.seq;
      this.written = segment.end;
      this.failure = undefined;
      this.recovering = undefined;
      this.lastCommitted = Promise.resolve(true);
    });
    return this.recovering;
  }

  /** Committed records from `from` on, about `maxBytes` of them (at least one record when there is one). */
  async read(from: LogPosition, maxBytes: number): Promise<RecordBatch> {
    const records: IntactRecord[] = [];
    let bytes = 0;
    let position = from;
    for (;;) {
      const index = this.segments.findIndex((segment) => segment.seq >= position.segment);
      const segment = this.segments[index];
      if (!segment) break;
      if (segment.seq > position.segment) position = { segment: segment.seq, offset: 0 };
      if (position.offset >= segment.end) {
        const next = this.segments[index + 1];
        if (!segment.sealed || !next) break;
        // A read ends with its segment: once stored, the segment is deleted (deleteDrained), its room given back. Going
        // on into the next, an insert too large for a disk left with little room was tried again and again, while
        // inserting the segment's last records alone would have freed the whole of it.
        if (records.length > 0) return { records, bytes, end: position, capped: true };
        position = { segment: next.seq, offset: 0 };
        continue;
      }
      // Checked only here, so a read that uses up the budget at a sealed segment's end still steps onto the next
      // one: a checkpoint left at that end would never move on while nothing new is written.
      if (bytes >= maxBytes) break;
      // A slice at a time: each is checked (parseRecords) on the event loop, and a whole 8 MiB held it up to 20 ms.
      let region = await readRegion(segment.path, position.offset, Math.min(segment.end - position.offset, maxBytes - bytes, SLICE_BYTES));
      let parsed = parseRecords(region);
      if (parsed.records.length === 0 && parsed.cutRecordBytes !== null && position.offset + parsed.cutRecordBytes <= segment.end) {
        if (records.length > 0) return { records, bytes, end: position, capped: true };
        region = await readRegion(segment.path, position.offset, parsed.cutRecordBytes);
        parsed = parseRecords(region);
      }
      if (parsed.records.length === 0) {
        // The intact records before it are stored first.
        if (records.length > 0) return { records, bytes, end: position, capped: true };
        throw new Error(`write-ahead log ${segment.path} is corrupt at byte ${position.offset}, inside records that were committed: restart the collector to set the damaged stretch aside and store the intact records after it`);
      }
      records.push(...parsed.records);
      bytes += parsed.intactBytes;
      position = { segment: segment.seq, offset: position.offset + parsed.intactBytes };
    }
    return { records, bytes, end: position, capped: bytes >= maxBytes };
  }

  /** Records that everything before `position` is stored. */
  async checkpoint(position: LogPosition): Promise<void> {
    const path = join(this.dir, CHECKPOINT_FILE);
    const bytes = checkpointBytes(position);
    try {
      // The file open may be gone from its name since (deleted or replaced by hand, a restore): written through the
      // handle, the position would go where no restart reads it.
      if (this.checkpointFile && !(await isAt(this.checkpointFile, path))) {
        await this.checkpointFile.close().catch(() => {});
        this.checkpointFile = undefined;
      }
      this.checkpointFile ??= await openToOverwrite(path);
      if (this.checkpointFile) {
        await this.checkpointFile.write(bytes, 0, bytes.length, 0);
        await this.checkpointFile.datasync();
      } else await writeDurably(this.dir, CHECKPOINT_FILE, bytes);
    } catch (err) {
      throw Object.assign(new Error(`cannot write the write-ahead log's checkpoint ${path}: ${(err as Error).message}`), { code: (err as NodeJS.ErrnoException).code, syscall: (err as NodeJS.ErrnoException).syscall });
    }
    this.checkpointed = position;
  }

  /**
   * Ends the segment being written, if anything was written to it, so that it is deleted like the others once
   * drained, and returns the last segment holding a record appended so far (an erasure's purge waits for it to go).
   * Resolves once the appends in flight to it have settled.
   */
  async seal(): Promise<number> {
    while (this.failure !== undefined) await this.recover();
    if (this.written > 0) this.rotate();
    const last = this.active.segment.seq - 1;
    await this.lastCommitted;
    return last;
  }

  /** Whether every segment up to `seq` is deleted (drained, and the checkpoint past it). */
  deletedThrough(seq: number): boolean {
    return this.segments.every((segment) => segment.seq > seq);
  }

  /**
   * Deletes the segments wholly before the checkpoint, the one it ends included once sealed. One that cannot be deleted
   * is kept, to be tried again next time.
   */
  async deleteDrained(): Promise<void> {
    let failure: unknown;
    const { segment: at, offset } = this.checkpointed;
    // A sealed segment the checkpoint ends was kept until an insert of the next one's records succeeded: on a full disk,
    // one that needed room the kept segment held, so never.
    const drained = (segment: Segment) => segment.seq < at || (segment.seq === at && segment.sealed && offset >= segment.end && segment !== this.active.segment);
    for (const segment of this.segments.filter(drained)) {
      try {
        await unlink(segment.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          failure ??= err;
          continue;
        }
      }
      this.segments.splice(this.segments.indexOf(segment), 1);
    }
    if (failure !== undefined) throw failure;
  }

  async close(): Promise<void> {
    await this.lastCommitted;
    this.active.segment.sealed = true;
    closeSync(this.active.fd);
    await this.checkpointFile?.close().catch(() => {});
  }

  private rotate(): void {
    const previous = this.active;
    const segment: Segment = { seq: previous.segment.seq + 1, path: join(this.dir, segmentName(previous.segment.seq + 1)), end: 0, sealed: false };
    const fd = openSync(segment.path, 'w', PRIVATE);
    // The new file's name must survive a crash as surely as the records written into it.
    syncDirSync(this.dir);
    this.segments.push(segment);
    this.active = { segment, fd };
    this.written = 0;
    // Sealed and closed once the appends in flight to it have settled; the next commit waits for that.
    this.lastCommitted = this.lastCommitted.then((committed) => {
      previous.segment.sealed = true;
      closeQuietly(previous.fd);
      return committed;
    });
  }
}

/** Cuts off whatever an unacknowledged append left; if that fails too, the next append writes over it. */
function cutBack(fd: number, length: number): void {
  try {
    ftruncateSync(fd, length);
  } catch {
    // Records are read only up to the last committed one, and replaying a copy is harmless (events collapse).
  }
}

/** cutBack for a segment whose file is closed; the cut is fsync'd, as no later commit writes to this file. */
function cutBackSealed(segment: Segment): void {
  let fd: number | undefined;
  try {
    fd = openSync(segment.path, 'r+');
    ftruncateSync(fd, segment.end);
    fdatasyncSync(fd);
  } catch {
    // Unlike in cutBack, nothing writes over what is left: a restart replays it.
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Everything written to it is committed; a failing close loses nothing.
  }
}

/**
 * The records of a segment from `from` on: the intact ones, their bytes (`pieces`), the stretches of bytes between
 * intact records that are no record, and the bytes at its end that hold no whole record (a crash mid-write).
 */
function readSegment(bytes: Buffer, from: number) {
  const records: IntactRecord[] = [];
  const pieces: Buffer[] = [];
  const stretches: { offset: number; bytes: number }[] = [];
  let tornBytes = 0;
  for (let at = from; at < bytes.length; ) {
    const parsed = parseRecords(bytes.subarray(at));
    records.push(...parsed.records);
    pieces.push(bytes.subarray(at, at + parsed.intactBytes));
    at += parsed.intactBytes;
    if (at === bytes.length) break;
    const next = nextRecordAt(bytes, at + 1);
    if (next < 0) {
      tornBytes = bytes.length - at;
      break;
    }
    stretches.push({ offset: at, bytes: next - at });
    at = next;
  }
  return { records, pieces, stretches, tornBytes };
}

/** Writes the file `name` of `dir` whole or not at all: a copy beside it, synced, renamed over it. */
async function writeDurably(dir: string, name: string, data: string | Buffer): Promise<void> {
  const file = join(dir, name);
  const handle = await open(`${file}.tmp`, 'w', PRIVATE);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // A rename that fails (the name is a directory's) leaves no file behind.
  await rename(`${file}.tmp`, file).catch(async (err: unknown) => {
    await unlink(`${file}.tmp`).catch(() => {});
    throw err;
  });
  await syncDir(dir);
}

/**
 * The checkpoint file open for its bytes to be written over, cut to CHECKPOINT_BYTES (an earlier release's was
 * shorter, which the first write covers); undefined when there is none yet, or when it may not be written (a data
 * directory restored with its files read-only): a new one is renamed over it, which needs the directory alone.
 */
async function openToOverwrite(path: string): Promise<FileHandle | undefined> {
  let handle: FileHandle;
  try {
    // Not through a link put in its place: the file it points to is not the log's to write (a new one replaces the link).
    handle = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (err) {
    if (['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ELOOP'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw err;
  }
  try {
    if ((await handle.stat()).size > CHECKPOINT_BYTES) await handle.truncate(CHECKPOINT_BYTES);
    return handle;
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

/** Whether `path` names the file `handle` has open (itself, not a link to it). */
async function isAt(handle: FileHandle, path: string): Promise<boolean> {
  const [open, named] = await Promise.all([handle.stat(), lstat(path).catch(() => undefined)]);
  return named !== undefined && named.ino === open.ino && named.dev === open.dev;
}

/** The checkpoint, or the log's start (every segment replayed, which stores nothing twice) with why it is unreadable. */
/** The checkpoint, or the start of the log with a problem when it points past the last segment or past its own end. */
async function withinTheLog(dir: string, read: { saved: LogPosition; problem?: string }, seqs: number[]): Promise<{ saved: LogPosition; problem?: string }> {
  const { saved } = read;
  const last = seqs.at(-1);
  if (read.problem || last === undefined || (saved.segment === 0 && saved.offset === 0)) return read;
  const path = join(dir, CHECKPOINT_FILE);
  const replayed = 'every segment left is replayed (events already stored are not stored twice)';
  if (saved.segment > last) {
    return { saved: { segment: 0, offset: 0 }, problem: `${path} points past the log's last segment (${segmentName(saved.segment)}, the last is ${segmentName(last)}): ${replayed}` };
  }
  if (seqs.includes(saved.segment)) {
    const size = (await stat(join(dir, segmentName(saved.segment)))).size;
    if (saved.offset > size) return { saved: { segment: 0, offset: 0 }, problem: `${path} points past the end of ${segmentName(saved.segment)} (byte ${saved.offset} of ${size}): ${replayed}` };
  }
  return read;
}

async function readCheckpoint(dir: string): Promise<{ saved: LogPosition; problem?: string }> {
  const path = join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { saved: { segment: 0, offset: 0 } };
    return { saved: { segment: 0, offset: 0 }, problem: `${path} cannot be read (${(err as Error).message})` };
  }
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch {}
  const count = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
  if (typeof saved === 'object' && saved !== null && count((saved as LogPosition).segment) && count((saved as LogPosition).offset)) {
    const { segment, offset, crc } = saved as LogPosition & { crc?: unknown };
    // Written in place: one a crash cut short may read as a position, of its bytes and the last one's. An earlier
    // release's, renamed into place, has no checksum.
    if (crc === undefined || crc === positionCrc({ segment, offset })) return { saved: { segment, offset } };
    return { saved: { segment: 0, offset: 0 }, problem: `${path} holds a position its checksum does not match, a write cut short (${JSON.stringify(text.trim().slice(0, 80))})` };
  }
  return { saved: { segment: 0, offset: 0 }, problem: `${path} holds no position (${JSON.stringify(text.slice(0, 80))})` };
}

async function readRegion(path: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
