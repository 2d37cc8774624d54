import { afterEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage, setHidden } from './harness.ts';

type Hearth = (...args: unknown[]) => void;
const hearth = (...args: unknown[]) => (window as unknown as { hearth: Hearth }).hearth(...args);
const stash = () => JSON.parse(localStorage.getItem('hearth_retry') ?? 'null');

describe('transport', () => {
  afterEach(closePage);

  it('sends the events of a short window as one fetch while the page is open', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    hearth('track', 'a');
    hearth('track', 'b');
    expect(page.requests).toEqual([]);
    vi.advanceTimersByTime(300);
    expect(page.requests.map((r) => [r.via, r.batch.e.length])).toEqual([['fetch', 3]]);
  });

  it('sends by beacon at once when the page is hidden', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    setHidden(true);
    expect(page.requests.map((r) => r.via)).toEqual(['beacon']);
    hearth('track', 'late');
    expect(page.requests.map((r) => r.via)).toEqual(['beacon', 'beacon']);
  });

  it('falls back to a keepalive fetch when the browser refuses the beacon', async () => {
    vi.useFakeTimers();
    const page = await openPage({ beacon: false });
    dispatchEvent(new Event('pagehide'));
    expect(page.requests.map((r) => r.via)).toEqual(['fetch']);
  });

  it('keeps bodies under 60 KB and 100 events', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    for (let i = 0; i < 150; i++) hearth('track', `event-${i}`, { note: 'x'.repeat(i < 20 ? 490 : 10) });
    for (let i = 0; i < 30; i++) hearth('track', 'big', Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`k${k}`, 'y'.repeat(490)])));
    vi.advanceTimersByTime(300);
    expect(page.requests.length).toBeGreaterThan(2);
    for (const request of page.requests) {
      expect(request.body.length).toBeLessThan(60_000);
      expect(request.batch.e.length).toBeLessThanOrEqual(100);
    }
    expect(page.events('t')).toHaveLength(180);
  });

  it('stashes events whose request failed and delivers them on the next page, once', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 'network-error' });
    hearth('track', 'during-outage');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const [attempts, notBefore, kept] = stash();
    expect(attempts).toBe(1);
    expect(notBefore).toBeGreaterThan(Date.now());
    expect(kept.map((e: { n: string }) => e.n)).toEqual(['v', 't']);

    // The next page, after the backoff, with the collector back.
    const saved = localStorage.getItem('hearth_retry')!;
    const visitor = localStorage.getItem('hearth_vid')!;
    closePage();
    localStorage.setItem('hearth_retry', saved);
    localStorage.setItem('hearth_vid', visitor);
    vi.useFakeTimers({ now: 1_700_000_000_000 + 5_000 });
    const next = await openPage();
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const delivered = next.events().map((e) => e.i);
    expect(delivered).toEqual(expect.arrayContaining(kept.map((e: { i: string }) => e.i)));
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(stash()).toBeNull();
  });

  it('retries when the browser comes back online, with a growing backoff', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 503 });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(stash()[0]).toBe(1);
    const firstWait = stash()[1] - Date.now();

    dispatchEvent(new Event('online'));
    expect(page.requests).toHaveLength(1); // still backing off
    vi.setSystemTime(Math.ceil(stash()[1]));
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(2);
    expect(stash()[0]).toBe(2);
    expect(stash()[1] - Date.now()).toBeGreaterThan(firstWait / 1.5);

    page.setFetchStatus(202);
    vi.setSystemTime(Math.ceil(stash()[1]));
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(3);
    expect(stash()).toBeNull();
  });

  it('drops a batch the collector refuses as invalid (4xx): retrying cannot help', async () => {
    vi.useFakeTimers();
    const page = await openPage({ fetchStatus: 400 });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(1);
    expect(stash()).toBeNull();
  });

  it('keeps at most 100 events and 50 KB in the stash, none older than 24 h', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    localStorage.setItem('hearth_retry', JSON.stringify([1, 0, [{ i: 'old', n: 't', k: 'old', t: Date.now() - 25 * 3600_000, u: 'http://localhost:3000/' }]]));
    const page = await openPage({ fetchStatus: 'network-error' });
    for (let i = 0; i < 150; i++) hearth('track', `e${i}`);
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const kept = stash()[2];
    expect(kept.length).toBe(100);
    expect(kept.some((e: { i: string }) => e.i === 'old')).toBe(false);
    expect(kept.at(-1).k).toBe('e149');
    expect(page.requests).toEqual([]);

    for (let i = 0; i < 60; i++) hearth('track', 'big', { note: 'z'.repeat(490), more: 'z'.repeat(490) });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(localStorage.getItem('hearth_retry')!.length).toBeLessThanOrEqual(50_100);
  });
});
