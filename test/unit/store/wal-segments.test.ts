// @vitest-environment node
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EventRow } from '../../../collector/ingest/rows.ts';
import { encodeRecord } from '../../../collector/ingest/wal-records.ts';
import { SegmentLog } from '../../../collector/ingest/wal-segments.ts';

// The log's fdatasync calls, held until a test lets them finish (in any order it picks), or failed on demand.
const fsyncs = vi.hoisted(() => ({
  hold: false,
  held: [] as { finish(err?: Error): void }[],
  failNext: 0,
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fdatasync = (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => {
    if (fsyncs.failNext > 0) {
      fsyncs.failNext--;
      setImmediate(() => callback(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
    } else if (fsyncs.hold) {
      // Held in the order they were called; each finishes no sooner than the real fsync.
      const done = new Promise<NodeJS.ErrnoException | null>((resolve) => fs.fdatasync(fd, resolve));
      fsyncs.held.push({ finish: (failure) => void done.then((err) => callback(failure ?? err)) });
    } else fs.fdatasync(fd, callback);
  };
  return { ...fs, default: { ...fs, fdatasync }, fdatasync };
});

// Files made read-only, as a restore that keeps modes leaves them (the tests run as root, whom modes do not stop).
const readOnly = vi.hoisted(() => new Set<string>());
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (path: string, flags?: string, mode?: number) => {
    if (readOnly.has(path) && flags !== 'r') throw Object.assign(new Error(`EACCES: permission denied, open '${path}'`), { code: 'EACCES' });
    return fs.open(path, flags, mode);
  }) as typeof fs.open;
  return { ...fs, default: { ...fs, open }, open };
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hearth-wal-'));
  Object.assign(fsyncs, { hold: false, held: [], failNext: 0 });
  readOnly.clear();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A record of `rows` events of one visitor, as the collector appends it. */
const record = (visitor: string, rows = 1) =>
  encodeRecord(Array.from({ length: rows }, () => ({ site_id: 'acme', visitor_id: visitor, is_bot: 0, email: '' }) as EventRow));

/** The visitors of every record committed, read as the drainer reads them: a segment at a time. */
const visitorsIn = async (log: SegmentLog) => {
  const visitors: string[] = [];
  for (let from = { segment: 0, offset: 0 }; ; ) {
    const batch = await log.read(from, 1 << 20);
    if (batch.records.length === 0) return visitors;
    visitors.push(...batch.records.map((intact) => /"visitor_id":"([^"]+)"/.exec(intact.payload.toString())![1]!));
    from = batch.end;
  }
};

/** Waits until `count` fsyncs are held. */
async function heldFsyncs(count: number): Promise<void> {
  await vi.waitFor(() => expect(fsyncs.held.length).toBe(count));
}

describe('the write-ahead log file', () => {
  it('acknowledges overlapping appends in the order they were made, whatever order their fsyncs finish in', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    fsyncs.hold = true;
    const acknowledged: string[] = [];
    const appends = ['a', 'b', 'c'].map((visitor) => log.append(record(visitor)).then(() => acknowledged.push(visitor)));
    await heldFsyncs(3);
    fsyncs.held[2]!.finish();
    fsyncs.held[1]!.finish();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // b and c are on disk, but a is not yet: nothing may be acknowledged, nor read by the drainer.
    expect(acknowledged).toEqual([]);
    expect(await visitorsIn(log)).toEqual([]);
    fsyncs.held[0]!.finish();
    await Promise.all(appends);
    expect(acknowledged).toEqual(['a', 'b', 'c']);
    expect(await visitorsIn(log)).toEqual(['a', 'b', 'c']);
    expect(log.fsyncs).toBe(3);
    await log.close();
  });

  it('fails the appends behind a failed fsync, and the next append follows the last acknowledged record', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    await log.append(record('a', 2));
    fsyncs.failNext = 1;
    const failed = log.append(record('b'));
    const behind = log.append(record('c'));
    await expect(failed).rejects.toThrow('EIO');
    await expect(behind).rejects.toThrow('EIO');
    await log.append(record('d', 3));
    expect(await visitorsIn(log)).toEqual(['a', 'd']);
    await log.close();

    // The file holds a and d only: b and c were cut off, so a restart replays exactly what was acknowledged.
    const [file] = readdirSync(dir).filter((name) => name.endsWith('.wal'));
    expect(statSync(join(dir, file!)).size).toBe(record('a', 2).length + record('d', 3).length);
    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(reopened.backlog).toEqual({ rows: 5, bytes: record('a', 2).length + record('d', 3).length, tornBytes: 0, corrupt: [] });
    await reopened.log.close();
  });

  it('moves to a new segment while appends are in flight, and reads them back in order across both', async () => {
    const size = record('a').length;
    const { log } = await SegmentLog.open(dir, size * 2);
    fsyncs.hold = true;
    const appends = ['a', 'b', 'c', 'd', 'e'].map((visitor) => log.append(record(visitor)));
    await heldFsyncs(5);
    for (const fsync of fsyncs.held.reverse()) fsync.finish();
    await Promise.all(appends);
    expect(readdirSync(dir).filter((name) => name.endsWith('.wal'))).toHaveLength(3);
    expect(await visitorsIn(log)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(log.committedEnd.offset).toBe(size);
    await log.close();
  });

  it('cuts a failed append out of a segment a rotation sealed, so a restart does not replay it', async () => {
    const size = record('a').length;
    const { log } = await SegmentLog.open(dir, size * 2);
    await log.append(record('a'));
    fsyncs.hold = true;
    const failed = log.append(record('b'));
    // The first segment is full: c goes to a new one, and fails only because b did.
    const behind = log.append(record('c'));
    await heldFsyncs(2);
    fsyncs.held[0]!.finish(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    fsyncs.held[1]!.finish();
    await expect(failed).rejects.toThrow('EIO');
    await expect(behind).rejects.toThrow('EIO');
    fsyncs.hold = false;
    await log.append(record('d'));
    expect(await visitorsIn(log)).toEqual(['a', 'd']);
    await log.close();

    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(await visitorsIn(reopened.log)).toEqual(['a', 'd']);
    expect(reopened.backlog).toEqual({ rows: 2, bytes: size * 2, tornBytes: 0, corrupt: [] });
    await reopened.log.close();
  });

  it('seals the segment being written once the appends in flight to it commit, and is rid of it once drained', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    await log.append(record('a'));
    fsyncs.hold = true;
    const inFlight = log.append(record('b'));
    await heldFsyncs(1);
    let sealed: number | undefined;
    const sealing = log.seal().then((last) => (sealed = last));
    // Appended after the seal: into the next segment, which the purge leaves alone.
    const after = log.append(record('c'));
    await heldFsyncs(2);
    expect(sealed).toBeUndefined();
    fsyncs.held[0]!.finish();
    await Promise.all([inFlight, sealing]);
    expect(sealed).toBe(1);
    fsyncs.held[1]!.finish();
    await after;
    expect(await visitorsIn(log)).toEqual(['a', 'b', 'c']);
    expect(log.deletedThrough(1)).toBe(false);

    const drained = await log.read(log.checkpointed, 1 << 20);
    await log.checkpoint(drained.end);
    await log.deleteDrained();
    expect(log.deletedThrough(1)).toBe(true);
    expect(readdirSync(dir).filter((name) => name.endsWith('.wal'))).toEqual(['segment-000000000002.wal']);
    await log.close();
  });

  it('ends a read with its segment, which a checkpoint there lets go before anything of the next is stored', async () => {
    const size = record('a').length;
    const { log } = await SegmentLog.open(dir, size * 2);
    for (const visitor of ['a', 'b', 'c']) await log.append(record(visitor));
    // The budget would take all three: the read stops at the first segment's end, for its room to be given back once
    // its records are stored (on a full disk, an insert of the next segment's records too may find no room).
    const first = await log.read({ segment: 0, offset: 0 }, 1 << 20);
    expect([first.records.length, first.end, first.capped]).toEqual([2, { segment: 1, offset: size * 2 }, true]);
    await log.checkpoint(first.end);
    await log.deleteDrained();
    expect(readdirSync(dir).filter((name) => name.endsWith('.wal'))).toEqual(['segment-000000000002.wal']);
    const second = await log.read(first.end, 1 << 20);
    expect(second.records).toHaveLength(1);
    expect(second.end).toEqual(log.committedEnd);
    await log.close();
    // A restart from that checkpoint, its segment gone, reads on from the next.
    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect([await visitorsIn(reopened.log), reopened.backlog.checkpointProblem]).toEqual([['c'], undefined]);
    await reopened.log.close();
  });

  it('stores the intact records read before corrupt bytes it finds while running, then names the file and what to do', async () => {
    const size = record('a').length;
    const { log } = await SegmentLog.open(dir, 1 << 20);
    for (const visitor of ['a', 'b', 'c']) await log.append(record(visitor));
    const path = join(dir, 'segment-000000000001.wal');
    const bytes = readFileSync(path);
    bytes[size + 30]! ^= 0xff;
    writeFileSync(path, bytes);
    const before = await log.read({ segment: 0, offset: 0 }, 1 << 20);
    expect([before.records.length, before.end]).toEqual([1, { segment: 1, offset: size }]);
    await expect(log.read(before.end, 1 << 20)).rejects.toThrow(`write-ahead log ${path} is corrupt at byte ${size}, inside records that were committed: restart the collector to set the damaged stretch aside and store the intact records after it`);
    await log.close();
  });

  it('replays every segment, and says why, from a checkpoint past the last segment or past its own end (a wal/ restored in part)', async () => {
    const size = record('a').length;
    const { log } = await SegmentLog.open(dir, size * 2);
    for (const visitor of ['a', 'b', 'c']) await log.append(record(visitor));
    await log.close();
    const checkpoint = join(dir, 'checkpoint.json');
    // The last segment is the one the writer below opened to write in, empty.
    const last = () => readdirSync(dir).filter((name) => name.startsWith('segment-')).sort().at(-1);
    const cases: [{ segment: number; offset: number }, () => string][] = [
      [{ segment: 99, offset: 0 }, () => `${checkpoint} points past the log's last segment (segment-000000000099.wal, the last is ${last()}): every segment left is replayed (events already stored are not stored twice)`],
      [{ segment: 1, offset: 999_999 }, () => `${checkpoint} points past the end of segment-000000000001.wal (byte 999999 of ${size * 2}): every segment left is replayed (events already stored are not stored twice)`],
    ];
    for (const [position, said] of cases) {
      const writer = await SegmentLog.open(dir, size * 2);
      await writer.log.checkpoint(position);
      await writer.log.close();
      const problem = said();
      // The segments it pointed past were deleted, or their records skipped, and nothing was said.
      const reopened = await SegmentLog.open(dir, 1 << 20);
      expect([reopened.backlog.rows, reopened.backlog.checkpointProblem]).toEqual([3, problem]);
      expect(await visitorsIn(reopened.log)).toEqual(['a', 'b', 'c']);
      await reopened.log.close();
    }
  });

  it('names a segment it cannot read at start, and what to do about it', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    await log.append(record('a'));
    await log.close();
    // A directory where a segment should be: unreadable as a file, whoever runs the tests (root reads any file).
    mkdirSync(join(dir, 'segment-000000000007.wal'));
    await expect(SegmentLog.open(dir, 1 << 20)).rejects.toThrow(
      `cannot read the write-ahead log's segment ${join(dir, 'segment-000000000007.wal')} (EISDIR): it holds accepted events not yet stored; give the collector's user access to it, or move it out of ${dir} to start without them`,
    );
  });

  it('replays the intact records around corrupt bytes, and sets the segment as it was aside', async () => {
    const size = record('a').length;
    const { log } = await SegmentLog.open(dir, 1 << 20);
    for (const visitor of ['a', 'b', 'c', 'd', 'e']) await log.append(record(visitor));
    await log.close();
    // A byte of the second record's payload flipped on disk: its checksum fails; the records after it are whole.
    const path = join(dir, 'segment-000000000001.wal');
    const bytes = readFileSync(path);
    bytes[size + 30]! ^= 0xff;
    writeFileSync(path, bytes);

    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(await visitorsIn(reopened.log)).toEqual(['a', 'c', 'd', 'e']);
    expect(reopened.backlog).toEqual({
      rows: 4, bytes: size * 4, tornBytes: 0, corrupt: [{ setAside: join(dir, 'corrupt-segment-000000000001.wal'), stretches: [{ offset: size, bytes: size }] }],
    });
    expect(readFileSync(join(dir, 'corrupt-segment-000000000001.wal'))).toEqual(bytes);
    await reopened.log.close();
    // Once repaired, the segment reads whole: the next start finds nothing corrupt and the same records.
    const again = await SegmentLog.open(dir, 1 << 20);
    expect([await visitorsIn(again.log), again.backlog.corrupt]).toEqual([['a', 'c', 'd', 'e'], []]);
    await again.log.close();
  });

  it('ignores a half-written record at the end of a segment, as a crash mid-write leaves it', async () => {
    const size = record('a').length;
    const { log } = await SegmentLog.open(dir, 1 << 20);
    for (const visitor of ['a', 'b']) await log.append(record(visitor));
    await log.close();
    const path = join(dir, 'segment-000000000001.wal');
    writeFileSync(path, Buffer.concat([readFileSync(path), record('c').subarray(0, size - 5)]));
    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(await visitorsIn(reopened.log)).toEqual(['a', 'b']);
    expect(reopened.backlog).toEqual({ rows: 2, bytes: size * 2, tornBytes: size - 5, corrupt: [] });
    await reopened.log.close();
  });

  it('replays every segment from the start when the checkpoint is unreadable, and says so', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    for (const visitor of ['a', 'b']) await log.append(record(visitor));
    await log.checkpoint(log.committedEnd);
    await log.close();
    for (const text of ['garbage', '{"segment":"x","offset":0}']) {
      writeFileSync(join(dir, 'checkpoint.json'), text);
      const reopened = await SegmentLog.open(dir, 1 << 20);
      expect(reopened.backlog.rows).toBe(2);
      expect(reopened.backlog.checkpointProblem).toBe(`${join(dir, 'checkpoint.json')} holds no position (${JSON.stringify(text)})`);
      expect(await visitorsIn(reopened.log)).toEqual(['a', 'b']);
      expect(readdirSync(dir).filter((name) => name.includes('NaN'))).toEqual([]);
      await reopened.log.close();
    }
  });

  it('writes the checkpoint over the last one, and replays every segment from a checkpoint a crash cut short', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    for (const visitor of ['a', 'b']) await log.append(record(visitor));
    const path = join(dir, 'checkpoint.json');
    const inode = statSync(path).ino;
    const first = log.committedEnd;
    await log.checkpoint(first);
    await log.append(record('c'));
    await log.checkpoint(log.committedEnd);
    // In place: a full disk has no block for a new file, and the drain could not get past its first insert.
    expect(statSync(path).ino).toBe(inode);
    await log.close();
    const written = readFileSync(path, 'utf8');
    expect(JSON.parse(written)).toMatchObject({ segment: 1, offset: record('a').length * 3 });

    // The second checkpoint's first bytes, then the first one's, as a write cut short leaves them: a position, not one written.
    const torn = written.slice(0, 20) + JSON.stringify({ ...first, crc: 0 }).padEnd(95).slice(20, 95) + '\n';
    writeFileSync(path, torn);
    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(reopened.backlog.rows).toBe(3);
    expect(reopened.backlog.checkpointProblem).toMatch(/checkpoint\.json holds a position its checksum does not match, a write cut short/);
    await reopened.log.close();
  });

  it('replaces a checkpoint file it may not write, as it did before writing it in place', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    for (const visitor of ['a', 'b']) await log.append(record(visitor));
    await log.close();
    const path = join(dir, 'checkpoint.json');
    readOnly.add(path);
    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(reopened.backlog.rows).toBe(2);
    // The drain's checkpoint: it failed, and the drain stored its events again and again.
    await reopened.log.checkpoint(reopened.log.committedEnd);
    await reopened.log.close();
    expect((await SegmentLog.open(dir, 1 << 20)).backlog.rows).toBe(0);
  });

  it('reads the checkpoint an earlier release wrote, without a checksum', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    for (const visitor of ['a', 'b']) await log.append(record(visitor));
    await log.close();
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ segment: 1, offset: record('a').length }));
    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(reopened.backlog).toMatchObject({ rows: 1 });
    expect(reopened.backlog.checkpointProblem).toBeUndefined();
    expect(reopened.log.checkpointed).toEqual({ segment: 1, offset: record('a').length });
    await reopened.log.close();
  });

  it('writes its checkpoint where a restart reads it, the file deleted by hand meanwhile, and names the file it cannot write', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    const path = join(dir, 'checkpoint.json');
    await log.append(record('a'));
    await log.checkpoint(log.committedEnd);
    await log.append(record('b'));
    rmSync(path);
    await log.checkpoint(log.committedEnd);
    await log.close();
    const reopened = await SegmentLog.open(dir, 1 << 20);
    expect(reopened.backlog.rows).toBe(0);

    // Replaced by a directory (a restore gone wrong): the drain's error, and /readyz's detail, name the file.
    await reopened.log.append(record('c'));
    rmSync(path);
    mkdirSync(path);
    await expect(reopened.log.checkpoint(reopened.log.committedEnd)).rejects.toThrow(`cannot write the write-ahead log's checkpoint ${path}: EISDIR`);
    await reopened.log.close();
    // So does a start, with every segment to replay.
    await expect(SegmentLog.open(dir, 1 << 20)).rejects.toThrow(`cannot write the write-ahead log's checkpoint ${path}: EISDIR`);
    // Once it is gone, the start replays what was not checkpointed: the record written after the last checkpoint.
    rmSync(path, { recursive: true });
    const restarted = await SegmentLog.open(dir, 1 << 20);
    expect(await visitorsIn(restarted.log)).toEqual(['c']);
    await restarted.log.close();
  });

  it('replaces a link put in the place of the checkpoint, leaving the file it points to as it was', async () => {
    const { log } = await SegmentLog.open(dir, 1 << 20);
    await log.append(record('a'));
    await log.checkpoint(log.committedEnd);
    const path = join(dir, 'checkpoint.json');
    const elsewhere = join(dir, '..', `${basename(dir)}-elsewhere.txt`);
    writeFileSync(elsewhere, 'x'.repeat(1000));
    try {
      rmSync(path);
      symlinkSync(elsewhere, path);
      await log.append(record('b'));
      await log.checkpoint(log.committedEnd);
      expect(readFileSync(elsewhere, 'utf8')).toBe('x'.repeat(1000));
      expect(lstatSync(path).isFile()).toBe(true);
      await log.close();
      expect((await SegmentLog.open(dir, 1 << 20)).backlog.rows).toBe(0);
    } finally {
      rmSync(elsewhere, { force: true });
    }
  });
});

