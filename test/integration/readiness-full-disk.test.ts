import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

// A small disk under the write-ahead log: the room its files take as they grow, in blocks of 4 KB as a file system
// gives it, given back as they shrink or go, and a write that needs more than is left fails with ENOSPC (having
// written what fitted), as a real full disk's does. Room is counted from `disk.room` being set; ClickHouse's own files
// are not on it.
const disk = vi.hoisted(() => {
  const BLOCK = 4096;
  const blocks = (bytes: number) => Math.ceil(bytes / BLOCK) * BLOCK;
  const disk = {
    room: Infinity,
    /** Bytes given to each file: whole blocks. */
    sizes: new Map<string, number>(),
    paths: new Map<number, string>(),
    onDisk: (path: unknown): path is string => typeof path === 'string' && /[/\\]wal[/\\]/.test(path),
    noSpace: () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }),
    /** Gives `path` room up to `end` bytes, as far as there is; the bytes of a write of `length` ending there that fit. */
    grow(path: string, end: number, length: number): number {
      const before = disk.sizes.get(path) ?? 0;
      if (end <= before) return length;
      const given = Math.min(blocks(end) - before, Math.floor(disk.room / BLOCK) * BLOCK);
      disk.room -= given;
      disk.sizes.set(path, before + given);
      return Math.max(0, length - Math.max(0, end - (before + given)));
    },
    shrink(path: string, size: number) {
      const before = disk.sizes.get(path) ?? 0;
      const after = Math.min(before, blocks(size));
      disk.room += before - after;
      disk.sizes.set(path, after);
    },
    free(path: string) {
      disk.room += disk.sizes.get(path) ?? 0;
      disk.sizes.delete(path);
    },
  };
  return disk;
});
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync = ((path: string, ...rest: unknown[]) => {
    const fd = (fs.openSync as (...a: unknown[]) => number)(path, ...rest);
    if (disk.onDisk(path)) {
      disk.paths.set(fd, path);
      if (rest[0] === 'w') disk.shrink(path, 0);
    }
    return fd;
  }) as typeof fs.openSync;
  // With no room at all a write is refused; with a little, it writes what fits (a short write).
  const writeSync = ((fd: number, buffer: Buffer, offset?: number, length?: number, position?: number) => {
    const path = disk.paths.get(fd);
    const asked = length ?? buffer.length - (offset ?? 0);
    const fits = path ? disk.grow(path, (position ?? disk.sizes.get(path) ?? 0) + asked, asked) : asked;
    if (fits === 0 && asked > 0) throw disk.noSpace();
    return (fs.writeSync as (...a: unknown[]) => number)(fd, buffer, offset ?? 0, fits, position);
  }) as typeof fs.writeSync;
  const ftruncateSync = ((fd: number, length = 0) => {
    const path = disk.paths.get(fd);
    if (path) disk.shrink(path, length);
    return fs.ftruncateSync(fd, length);
  }) as typeof fs.ftruncateSync;
  const unlinkSync = ((path: string) => {
    fs.unlinkSync(path);
    if (disk.onDisk(path)) disk.free(path);
  }) as typeof fs.unlinkSync;
  const closeSync = ((fd: number) => {
    disk.paths.delete(fd);
    return fs.closeSync(fd);
  }) as typeof fs.closeSync;
  const mocked = { openSync, writeSync, ftruncateSync, unlinkSync, closeSync };
  return { ...fs, default: { ...fs, ...mocked }, ...mocked };
});
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const unlink = async (path: string) => {
    await fs.unlink(path);
    if (disk.onDisk(path)) disk.free(path);
  };
  // The checkpoint is written through a file handle (a new file renamed over the last one, or over its bytes in place).
  const open = (async (path: string, flags?: string, mode?: number) => {
    const handle = await fs.open(path, flags, mode);
    if (!disk.onDisk(path)) return handle;
    if (flags === 'w') disk.shrink(path, 0);
    const [writeFile, write] = [handle.writeFile.bind(handle), handle.write.bind(handle)];
    const fitting = (end: number, length: number) => {
      if (disk.grow(path, end, length) < length) throw disk.noSpace();
    };
    return Object.assign(handle, {
      writeFile: async (data: string | Buffer) => (fitting(Buffer.byteLength(data), Buffer.byteLength(data)), writeFile(data)),
      write: async (buffer: Buffer, offset = 0, length = buffer.length - offset, position = 0) => (fitting(position + length, length), write(buffer, offset, length, position)),
    });
  }) as typeof fs.open;
  const rename = async (from: string, to: string) => {
    await fs.rename(from, to);
    if (!disk.onDisk(to)) return;
    disk.free(to);
    disk.sizes.set(to, disk.sizes.get(from) ?? 0);
    disk.sizes.delete(from);
  };
  const mocked = { unlink, open, rename };
  return { ...fs, default: { ...fs, ...mocked }, ...mocked };
});

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  disk.room = Infinity;
  await server?.close();
});

/** What /readyz answers anyone (no token). */
const readiness = () => getJson(server, '/readyz', null);

describe('a write-ahead log whose disk fills up in its first segment', () => {
  it('gives the room of what ClickHouse has taken back, and says ready again with no event needed to find out', async () => {
    // Less room than the log's first segment holds (16 MB): the disk fills before any segment is sealed and deleted.
    disk.room = 400_000;
    const visitor = newVisitor();
    const long = 'x'.repeat(1500);
    let acknowledged = 0;
    let refused: Awaited<ReturnType<typeof postBatch>> | undefined;
    for (let n = 0; n < 100 && !refused; n++) {
      const response = await postBatch(server, { s: 'acme', v: visitor, e: Array.from({ length: 20 }, (_, i) => wireEvent({ u: `${SITE_ORIGIN}/${long}?n=${n}&i=${i}` })) });
      if (response.status === 202) acknowledged += 20;
      else refused = response;
    }
    expect(refused).toMatchObject({ status: 503, body: { code: 'log_unwritable', error: expect.stringContaining('(ENOSPC)') } });
    expect(acknowledged).toBeGreaterThan(0);

    // Everything acknowledged is in ClickHouse: the segment that holds it has nothing left to replay, and goes.
    await expect.poll(async () => (await readiness()).body.status, { timeout: 10_000, interval: 250 }).toBe('ready');
    expect((await postBatch(server, { s: 'acme', v: visitor, e: [wireEvent()] })).status).toBe(202);
    await drained(server);
    const result = await server.client.query({ query: 'SELECT count() AS n FROM events FINAL WHERE visitor_id = {visitor:String}', query_params: { visitor }, format: 'JSONEachRow' });
    expect(Number((await result.json<{ n: string }>())[0]!.n)).toBe(acknowledged + 1);
  });
});
