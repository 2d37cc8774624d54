// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { fewAtOnce } from '../../../collector/few-at-once.ts';

/** A task that runs until it is let go. */
function held() {
  let release = () => {};
  const done = new Promise<void>((resolve) => (release = resolve));
  let started = false;
  return { task: () => ((started = true), done), release: () => release(), started: () => started };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('a few tasks at once', () => {
  it('runs two at once, keeps three in turn, is full past them, and starts the next as one ends', async () => {
    const limit = fewAtOnce(2, 3);
    const tasks = Array.from({ length: 5 }, held);
    const runs = tasks.map((one) => limit.run(one.task));
    await tick();
    expect(tasks.map((one) => one.started())).toEqual([true, true, false, false, false]);
    expect(limit.full).toBe(true);
    tasks[0]!.release();
    await tick();
    expect(tasks.map((one) => one.started())).toEqual([true, true, true, false, false]);
    expect(limit.full).toBe(false);
    for (const one of tasks) one.release();
    await Promise.all(runs);
    expect(tasks.every((one) => one.started())).toBe(true);
  });

  it('frees its place when a task fails', async () => {
    const limit = fewAtOnce(1, 0);
    await expect(limit.run(() => Promise.reject(new Error('scrypt failed')))).rejects.toThrow('scrypt failed');
    expect(limit.full).toBe(false);
    expect(await limit.run(async () => 'next')).toBe('next');
  });
});
