import { afterEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage, setHidden, STASH_KEY } from './harness.ts';

type Hearth = (...args: unknown[]) => void;
const hearth = (...args: unknown[]) => (window as unknown as { hearth: Hearth }).hearth(...args);
/** The stash as [attempts, notBefore, events]: stored flat, [attempts, notBefore, ...events]. */
const stash = () => {
  const stored = JSON.parse(localStorage.getItem(STASH_KEY) ?? 'null');
  return stored && [stored[0], stored[1], stored.slice(2)];
};
const stashedIds = (): string[] => (stash()?.[2] ?? []).map((e: { i: string }) => e.i);
/** UTF-8 bytes, as the collector counts a body. */
const bytes = (text: string) => new Blob([text]).size;
/** 20 properties of 490 CJK characters: 9,800 characters, 29,400 bytes in UTF-8. */
const cjkProps = () => Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`k${k}`, '価格表'.repeat(163) + '価']));

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
    const saved = localStorage.getItem(STASH_KEY)!;
    const visitor = localStorage.getItem('hearth_vid')!;
    closePage();
    localStorage.setItem(STASH_KEY, saved);
    localStorage.setItem('hearth_vid', visitor);
    vi.useFakeTimers({ now: 1_700_000_000_000 + 5_000 });
    const next = await openPage();
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const delivered = next.events().map((e) => e.i);
    expect(delivered).toEqual(expect.arrayContaining(kept.map((e: { i: string }) => e.i)));
    expect(next.requests.map((r) => r.batch.sid)).toEqual(next.requests.map(() => expect.stringMatching(/^[0-9a-f-]{36}$/)));
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(stash()).toBeNull();
  });

  it('resends stashed events under their own site and collector, never those of a page of another site on the origin', async () => {
    let now = 1_700_000_000_000;
    vi.useFakeTimers({ now });
    await openPage({ fetchStatus: 'network-error' });
    hearth('track', 'recorded-on-acme');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const kept = stash()[2].map((e: { i: string }) => e.i);
    expect(kept).toHaveLength(2);
    /** The next page of the origin: the stored ids and stashes carried over, as a browser keeps them. */
    const nextPage = async (attributes: Record<string, string>) => {
      const stored = { ...localStorage };
      closePage();
      for (const [key, value] of Object.entries(stored)) localStorage.setItem(key, value);
      vi.useFakeTimers({ now: (now += 5_000) });
      const page = await openPage({ attributes });
      vi.advanceTimersByTime(300);
      await vi.advanceTimersByTimeAsync(0);
      return page.requests.filter((request) => request.batch.e.some((e) => kept.includes(e.i)));
    };
    // Another site on the same origin (two Hearth sites, or localhost shared by projects), and the same site sending
    // to another collector: acme's events are not theirs to send.
    expect(await nextPage({ site: 'docs' })).toEqual([]);
    expect(await nextPage({ api: 'https://staging.hearth.example' })).toEqual([]);
    // Back on a page of acme: they go to acme's collector, as acme's.
    const resent = await nextPage({});
    expect(resent.map((request) => [request.url, request.batch.s])).toEqual([['https://hearth.example/collect', 'acme']]);
    expect(resent[0]!.batch.e.map((e) => e.i)).toEqual(kept);
    expect(stash()).toBeNull();
  });

  it('resends the queue an earlier snippet kept for the whole origin (hearth_retry), once, and takes it over', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const older = [{ i: 'before-the-upgrade', n: 'i', em: 'ada@acme.test', t: Date.now() - 60_000, u: 'https://acme.test/signup' }];
    const page = await openPage({ before: () => localStorage.setItem('hearth_retry', JSON.stringify([1, 0, older])) });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests.filter((request) => request.batch.e.some((e) => e.i === 'before-the-upgrade')).map((request) => request.batch.s)).toEqual(['acme']);
    expect([localStorage.getItem('hearth_retry'), stash()]).toEqual([null, null]);
    hearth('track', 'later');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.events().filter((e) => e.i === 'before-the-upgrade')).toHaveLength(1);
  });

  it('sends in full what is over the browser\'s 64 KB of keepalive requests while the page is open, without the retry queue', async () => {
    vi.useFakeTimers();
    const page = await openPage({ keepaliveQuota: 64 * 1024 });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    // Ten events of 20 answers of 490 characters: about 100 KB, sent as two halves of about 50 KB at once.
    for (let i = 0; i < 10; i++) hearth('track', `big-${i}`, Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`k${k}`, 'y'.repeat(490)])));
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.events('t').map((e) => e.k)).toEqual(Array.from({ length: 10 }, (_, i) => `big-${i}`));
    expect(page.requests.slice(1).map((r) => r.keepalive)).toEqual([true, false]);
    // The half the quota cannot take goes without keepalive at once, rather than being refused first.
    expect(page.fetches.slice(1)).toEqual([{ keepalive: true }, { keepalive: false }]);
    expect(stash()).toBeNull();
  });

  it('sends a batch once when the collector cannot be reached, not again without keepalive', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 'network-error' });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    hearth('track', 'during-outage');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    // The page view, then the event (its batch carries no stashed events: their backoff has not passed).
    expect(page.fetches).toEqual([{ keepalive: true }, { keepalive: true }]);
    expect(stashedIds()).toHaveLength(2);
  });

  it('resends stashed events under the session they were recorded in, not the one current then', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 'network-error' });
    hearth('track', 'during-outage');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const first = localStorage.getItem('hearth_vid')!.split('.')[1];
    expect(stashedIds()).toHaveLength(2);

    // 40 minutes later (a new session) the collector is back; the next event brings the stash with it.
    // Async: each request of the outage fails while it lasts (engagement is sent during it), not once it is over.
    await vi.advanceTimersByTimeAsync(40 * 60_000);
    page.setFetchStatus(202);
    hearth('track', 'back');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const [now, resent] = page.requests;
    expect(now!.batch.e.map((e) => [e.k, e.ss, e.sid])).toEqual([['back', 1, undefined]]);
    expect(now!.batch.sid).not.toBe(first);
    // Everything of the outage: the page view, the event and the engaged time measured meanwhile.
    expect(resent!.batch.e.map((e) => e.n).sort()).toEqual(['e', 'e', 't', 'v']);
    expect(resent!.batch.e.map((e) => e.sid)).toEqual(resent!.batch.e.map(() => first));
    expect(stash()).toBeNull();
  });

  it('keeps stashed events until the request that resends them is answered, so a tab closed meanwhile loses nothing', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const events = ['a', 'b'].map((k) => ({ i: `stashed-${k}`, n: 't', k, t: Date.now() - 60_000, u: 'http://localhost:3000/' }));
    localStorage.setItem(STASH_KEY, JSON.stringify([1, 0, events]));
    const page = await openPage({ fetchStatus: 'pending' });
    vi.advanceTimersByTime(300);
    expect(page.requests.map((r) => r.batch.e.map((e) => e.i))).toContainEqual(['stashed-a', 'stashed-b']);
    // In flight: still stashed, and leased, so that another page does not resend them at once.
    expect(stashedIds()).toEqual(['stashed-a', 'stashed-b']);
    expect(stash()[1]).toBeGreaterThan(Date.now());

    // The tab dies with the request in flight; another page opens a second later, then after the lease.
    const saved = localStorage.getItem(STASH_KEY)!;
    closePage();
    localStorage.setItem(STASH_KEY, saved);
    vi.useFakeTimers({ now: 1_700_000_000_000 + 1_000 });
    const soon = await openPage();
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(soon.events().map((e) => e.i)).not.toContain('stashed-a');
    expect(stashedIds()).toEqual(['stashed-a', 'stashed-b']);

    vi.setSystemTime(1_700_000_000_000 + 60_000);
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(soon.events().map((e) => e.i)).toEqual(expect.arrayContaining(['stashed-a', 'stashed-b']));
    expect(stash()).toBeNull();
  });

  it('keeps one copy of each event when a resend fails', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const events = ['a', 'b'].map((k) => ({ i: `stashed-${k}`, n: 't', k, t: Date.now() - 60_000, u: 'http://localhost:3000/' }));
    localStorage.setItem(STASH_KEY, JSON.stringify([1, 0, events]));
    const page = await openPage({ fetchStatus: 503 });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    vi.setSystemTime(Math.ceil(stash()[1]));
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(3);
    const ids = stashedIds();
    expect(ids).toHaveLength(3);
    expect(new Set(ids)).toEqual(new Set(['stashed-a', 'stashed-b', page.events('v')[0]!.i]));
  });

  it('keeps bodies under 60 KB of UTF-8, the unit the collector counts (CJK text is 3 bytes a character)', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    vi.advanceTimersByTime(300);
    for (let i = 0; i < 5; i++) hearth('track', `cjk-${i}`, cjkProps());
    vi.advanceTimersByTime(300);
    expect(page.events('t')).toHaveLength(5);
    for (const request of page.requests) expect(bytes(request.body)).toBeLessThan(60_000);
  });

  it('retries with the next batch of a page that stays open, once the backoff has passed', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 503 });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const kept = stashedIds();
    expect(kept).toHaveLength(1);

    page.setFetchStatus(202);
    vi.setSystemTime(Math.ceil(stash()[1]));
    hearth('track', 'later');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    // Sent twice: the request that failed, then the retry that went with the next batch.
    expect(page.events().filter((e) => e.i === kept[0])).toHaveLength(2);
    expect(stash()).toBeNull();
  });

  it('backs off more after each failure, and resends at once when the browser comes back online', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 503 });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(stash()[0]).toBe(1);
    const firstWait = stash()[1] - Date.now();

    // A batch sent before the backoff has passed goes alone; the stash waits.
    hearth('track', 'meanwhile');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(2);
    expect(page.requests[1]!.batch.e.map((e) => e.k)).toEqual(['meanwhile']);
    expect(stash()[0]).toBe(2);
    expect(stash()[1] - Date.now()).toBeGreaterThan(firstWait / 1.5);

    // Back online long before the backoff ends (offline, every batch failed and raised it): sent at once.
    page.setFetchStatus(202);
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(3);
    expect(stash()).toBeNull();
  });

  it('resets the backoff once the collector answers: what is still stashed goes with the next batch', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 503 });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    for (const name of ['two', 'three']) {
      hearth('track', name);
      vi.advanceTimersByTime(300);
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(stash()[0]).toBe(3);
    const stuck = stashedIds();

    // The collector is back: a new batch is answered, and the stash no longer waits out its backoff (minutes by now).
    page.setFetchStatus(202);
    hearth('track', 'four');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(stash()[0]).toBe(0);
    vi.advanceTimersByTime(10_000);
    hearth('track', 'five');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.events().map((e) => e.i)).toEqual(expect.arrayContaining(stuck));
    expect(stash()).toBeNull();
  });

  it('stashes a batch answered by a 5xx or a 429, and no other status', async () => {
    for (const [status, stashed] of [[500, true], [503, true], [599, true], [429, true], [499, false], [400, false], [413, false], [202, false], [301, false]] as const) {
      vi.useFakeTimers();
      const page = await openPage({ fetchStatus: status });
      vi.advanceTimersByTime(300);
      await vi.advanceTimersByTimeAsync(0);
      expect(page.requests, String(status)).toHaveLength(1);
      expect(stash() !== null, String(status)).toBe(stashed);
      closePage();
    }
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
    localStorage.setItem(STASH_KEY, JSON.stringify([1, 0, [{ i: 'old', n: 't', k: 'old', t: Date.now() - 25 * 3600_000, u: 'http://localhost:3000/' }]]));
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
    expect(localStorage.getItem(STASH_KEY)!.length).toBeLessThanOrEqual(50_100);
  });

  it('never resends an event stashed more than 24 h ago: a visitor back days after an outage', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const stashedEvent = (i: string, hoursAgo: number) => ({ i, n: 't', k: i, t: Date.now() - hoursAgo * 3600_000, u: 'http://localhost:3000/pricing' });
    localStorage.setItem(STASH_KEY, JSON.stringify([3, 0, [stashedEvent('three-days-old', 72), stashedEvent('an-hour-old', 1)]]));
    const page = await openPage();
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.events('t').map((e) => e.i)).toEqual(['an-hour-old']);
    expect(stash()).toBeNull();
  });

  it('sends no request for a stash whose events are all older than 24 h', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const stale = { i: 'stale', n: 't', k: 'stale', t: Date.now() - 25 * 3600_000, u: 'http://localhost:3000/pricing' };
    localStorage.setItem(STASH_KEY, JSON.stringify([3, 0, [stale]]));
    const page = await openPage({ fetchStatus: 'pending' });
    // The page view's batch goes alone: the retry after it finds only the stale event, and sends no (empty) request.
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests.map((r) => r.batch.e.map((e) => e.n))).toEqual([['v']]);
    // Nor when the browser comes back online.
    dispatchEvent(new Event('online'));
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(1);
    // The page view's answer drops the stale event.
    page.answer(202);
    await vi.advanceTimersByTimeAsync(0);
    expect(stash()).toBeNull();
    expect(page.events().map((e) => e.i)).not.toContain('stale');
  });

  it('keeps a form submit, a download and an outbound click whose request fails while the page stays open, and delivers them once the collector is back', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    // The collector cannot be reached for a moment.
    const page = await openPage({ fetchStatus: 'network-error' });
    // A page that sends its form itself: it cancels the submit, posts with fetch, and stays open.
    const form = document.createElement('form');
    form.innerHTML = '<input name="email" value="ada@acme.test"><button>Book a demo</button>';
    form.addEventListener('submit', (event) => event.preventDefault());
    document.body.append(form);
    form.requestSubmit();
    for (const href of ['/files/pricing.pdf', 'https://www.linkedin.com/company/acme']) {
      const link = document.createElement('a');
      link.href = href;
      link.textContent = 'link';
      // A download, or an outbound link opened in a new tab: the page stays.
      link.addEventListener('click', (event) => event.preventDefault());
      document.body.append(link);
      link.click();
    }
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toEqual([]);
    // Kept for a retry (a beacon would have said "queued", and been lost).
    expect((stash()?.[2] ?? []).map((e: { n: string }) => e.n)).toEqual(['v', 'f', 'd', 'o']);

    // Back: the next batch after the backoff brings them.
    page.setFetchStatus(202);
    vi.setSystemTime(Math.ceil(stash()[1]));
    hearth('track', 'later');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.events('f').map((e) => e.p)).toEqual([{ 'text email  ': 'ada@acme.test' }]);
    expect(page.events('d').map((e) => new URL(e.h!).pathname)).toEqual(['/files/pricing.pdf']);
    expect(page.events('o').map((e) => e.h)).toEqual(['https://www.linkedin.com/company/acme']);
    expect(page.events('t').map((e) => e.k)).toEqual(['later']);
    expect(stash()).toBeNull();
  });

  it('sends a submit at once, by a keepalive fetch that outlives a page the submit navigates away', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    const form = document.createElement('form');
    form.innerHTML = '<input name="email" value="ada@acme.test">';
    form.addEventListener('submit', (event) => event.preventDefault());
    document.body.append(form);
    form.requestSubmit();
    expect(page.requests.map((r) => [r.via, r.keepalive, r.batch.e.map((e) => e.n)])).toEqual([['fetch', true, ['v', 'f']]]);
  });

  it('keeps at most 50 KB of UTF-8 in the stash', async () => {
    vi.useFakeTimers();
    await openPage({ fetchStatus: 'network-error' });
    for (let i = 0; i < 4; i++) hearth('track', `cjk-${i}`, cjkProps());
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(stash()[2].length).toBeGreaterThan(0);
    expect(bytes(localStorage.getItem(STASH_KEY)!)).toBeLessThanOrEqual(50_100);
  });
});
