import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunningServer } from '../../collector/server.ts';
import { drained, getJson, newVisitor, postBatch, SITE_ORIGIN, startTestServer, wireEvent } from '../support/server.ts';

// A small disk under the write-ahead log: the room its files take as they grow, given back as they shrink or go, and a
// write that needs more than is left fails with ENOSPC, as a real full disk's does. Room is counted from `disk.room`
// being set; ClickHouse's own files are not on it.
const disk = vi.hoisted(() => ({ room: Infinity, sizes: new Map<string, number>(), paths: new Map<number, string>() }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const onDisk = (path: unknown) => typeof path === 'string' && /[/\\]wal[/\\]/.test(path);
  // The bytes of a write that fit: a disk with a little room left writes that much (a short write), with none it refuses.
  const grow = (path: string, size: number, length: number) => {
    const before = disk.sizes.get(path) ?? 0;
    if (size <= before) return length;
    if (disk.room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    const fits = Math.min(size - before, disk.room);
    disk.room -= fits;
    disk.sizes.set(path, before + fits);
    return length - (size - before - fits);
  };
  const openSync = ((path: string, ...rest: unknown[]) => {
    const fd = (fs.openSync as (...a: unknown[]) => number)(path, ...rest);
    if (onDisk(path)) {
      disk.paths.set(fd, path);
      if (rest[0] === 'w') shrink(path, 0);
    }
    return fd;
  }) as typeof fs.openSync;
  const shrink = (path: string, size: number) => {
    const before = disk.sizes.get(path) ?? 0;
    if (size < before) disk.room += before - size;
    disk.sizes.set(path, Math.min(before, size));
  };
  const writeSync = ((fd: number, buffer: Buffer, offset?: number, length?: number, position?: number) => {
    const path = disk.paths.get(fd);
    const asked = length ?? buffer.length - (offset ?? 0);
    const fits = path ? grow(path, (position ?? disk.sizes.get(path) ?? 0) + asked, asked) : asked;
    return (fs.writeSync as (...a: unknown[]) => number)(fd, buffer, offset ?? 0, fits, position);
  }) as typeof fs.writeSync;
  const ftruncateSync = ((fd: number, length = 0) => {
    const path = disk.paths.get(fd);
    if (path) shrink(path, length);
    return fs.ftruncateSync(fd, length);
  }) as typeof fs.ftruncateSync;
  const unlinkSync = ((path: string) => {
    fs.unlinkSync(path);
    if (onDisk(path)) shrink(path, 0);
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
    const before = disk.sizes.get(path) ?? 0;
    disk.room += before;
    disk.sizes.delete(path);
  };
  return { ...fs, default: { ...fs, unlink }, unlink };
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
