import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { sideBySide } from '../../../collector/store/client.ts';

/** A session of the embedded engine as sideBySide sees it: each statement it is handed runs until the test ends it. */
function fakeEngine() {
  const handed: { session: number; query: string; end: () => void }[] = [];
  let opened = 0;
  const session = () => {
    const id = ++opened;
    const run = ({ query }: { query: string }) => new Promise<unknown>((resolve) => handed.push({ session: id, query, end: () => resolve({ query }) }));
    return { query: run, command: run, close: async () => {} } as unknown as ClickHouseClient;
  };
  return { handed, open: session, main: session() };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('the embedded client running statements side by side', () => {
  it('hands each session one statement at a time: the others wait their turn, first come first served, holding no thread', async () => {
    const engine = fakeEngine();
    const client = sideBySide(engine.main, engine.open);
    const answers = Array.from({ length: 7 }, (_, n) => client.query({ query: `SELECT ${n}` }));
    await tick();
    // Four sessions, one statement each; three statements wait (handed to a busy session, each held a thread of
    // libuv's pool until the statement before it ended: the write-ahead log's fsync, and beacons' 202s, queued behind).
    expect(engine.handed.map(({ session, query }) => [session, query])).toEqual([
      [2, 'SELECT 0'],
      [3, 'SELECT 1'],
      [4, 'SELECT 2'],
      [5, 'SELECT 3'],
    ]);
    engine.handed[2]!.end();
    await tick();
    expect(engine.handed.slice(4).map(({ session, query }) => [session, query])).toEqual([[4, 'SELECT 4']]);
    for (const statement of engine.handed.slice(0, 2)) statement.end();
    await tick();
    expect(engine.handed.slice(5).map(({ session, query }) => [session, query])).toEqual([
      [2, 'SELECT 5'],
      [3, 'SELECT 6'],
    ]);
    for (const statement of engine.handed.slice(3)) statement.end();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 7 }, (_, n) => ({ query: `SELECT ${n}` })));
  });

  it('lets a waiting statement whose caller gives up leave the queue, never to run', async () => {
    const engine = fakeEngine();
    const client = sideBySide(engine.main, engine.open);
    const busy = Array.from({ length: 4 }, (_, n) => client.query({ query: `SELECT ${n}` }));
    const caller = new AbortController();
    const given = client.query({ query: 'SELECT given_up', abort_signal: caller.signal });
    const next = client.query({ query: 'SELECT next' });
    caller.abort(new Error('the page was closed'));
    await expect(given).rejects.toThrow('the page was closed');
    await tick();
    engine.handed[0]!.end();
    await tick();
    expect(engine.handed.map(({ query }) => query)).toEqual(['SELECT 0', 'SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT next']);
    for (const statement of engine.handed.slice(1)) statement.end();
    await Promise.all([...busy, next]);
  });
});
