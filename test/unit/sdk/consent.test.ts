import { afterEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage, setHidden, STASH_KEY } from './harness.ts';

type Hearth = (...args: unknown[]) => void;
const hearth = (...args: unknown[]) => (window as unknown as { hearth: Hearth }).hearth(...args);

describe('consent and opt-out', () => {
  afterEach(closePage);

  it('with data-consent="required", sends and stores nothing until granted, then sends what it kept', async () => {
    vi.useFakeTimers();
    const page = await openPage({ attributes: { consent: 'required' } });
    hearth('track', 'video-play');
    vi.advanceTimersByTime(5000);
    expect(page.requests).toEqual([]);
    expect(localStorage.length).toBe(0);
    expect(document.cookie).toBe('');

    hearth('consent', 'granted');
    vi.advanceTimersByTime(300);
    expect(page.events().map((e) => e.n)).toEqual(['v', 't']);
    expect(document.cookie).toContain('hearth_vid=');
  });

  it('drops what it kept when consent is denied, and sends nothing after', async () => {
    vi.useFakeTimers();
    const page = await openPage({ attributes: { consent: 'required' } });
    hearth('consent', 'denied');
    history.pushState({}, '', '/pricing');
    hearth('track', 'x');
    vi.advanceTimersByTime(5000);
    dispatchEvent(new Event('pagehide'));
    expect(page.requests).toEqual([]);
    expect(localStorage.length).toBe(0);
  });

  it('erases the visitor id, the session, the cookie and the retry queue when consent is denied after a grant', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const page = await openPage({ fetchStatus: 'network-error' });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const [visitor, session] = localStorage.getItem('hearth_vid')!.split('.');
    const stashed = JSON.parse(localStorage.getItem(STASH_KEY)!).slice(2).map((e: { i: string }) => e.i);
    expect(stashed).toHaveLength(1);
    expect(document.cookie).toContain(`hearth_vid=${visitor}`);

    page.setFetchStatus(202);
    hearth('track', 'before-denial');
    hearth('consent', 'denied');
    hearth('track', 'after-denial');
    vi.advanceTimersByTime(5000);
    expect(page.requests).toEqual([]);
    expect([localStorage.length, document.cookie]).toEqual([0, '']);

    // A later grant on the same page starts afresh: a new visitor and session, and nothing from before is sent.
    vi.advanceTimersByTime(3_600_000);
    hearth('consent', 'granted');
    hearth('track', 'after-grant');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(page.requests).toHaveLength(1);
    const { batch } = page.requests[0]!;
    expect(batch.e.map((e) => [e.n, e.k, e.ss])).toEqual([['t', 'after-grant', 1]]);
    expect(batch.v).not.toBe(visitor);
    expect(batch.sid).not.toBe(session);
    expect(localStorage.getItem('hearth_vid')!.split('.')[0]).toBe(batch.v);
    expect(document.cookie).toBe(`hearth_vid=${batch.v}`);
    expect(localStorage.getItem(STASH_KEY)).toBeNull();
  });

  it('erases, when denied, the retry queues of every site of the origin and the one an earlier snippet kept', async () => {
    let now = 1_700_000_000_000;
    vi.useFakeTimers({ now });
    // A page of another Hearth site on this origin could not send: its page view and identify wait in its queue.
    await openPage({ attributes: { site: 'docs' }, fetchStatus: 'network-error' });
    hearth('identify', 'ada@docs.test');
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    const stored: Record<string, string> = { ...(localStorage as unknown as Record<string, string>), hearth_retry: JSON.stringify([1, 0, [{ i: 'older', n: 'i', em: 'ada@acme.test', t: now, u: 'https://acme.test/' }]]) };
    expect(Object.keys(stored).filter((key) => key.startsWith('hearth_retry'))).toHaveLength(2);
    closePage();
    for (const [key, value] of Object.entries(stored)) localStorage.setItem(key, value);
    vi.useFakeTimers({ now: (now += 5_000) });
    await openPage();
    hearth('consent', 'denied');
    expect(Object.keys({ ...localStorage })).toEqual([]);
    // The next page of docs starts afresh: nothing of before the denial goes with its new visitor id.
    closePage();
    vi.useFakeTimers({ now: (now += 5_000) });
    const docs = await openPage({ attributes: { site: 'docs' } });
    vi.advanceTimersByTime(300);
    await vi.advanceTimersByTimeAsync(0);
    expect(docs.events().map((e) => e.n)).toEqual(['v']);
  });

  it('stops when consent is denied in another tab: sends nothing more and does not store the erased ids again', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    vi.advanceTimersByTime(300);
    const visitor = localStorage.getItem('hearth_vid')!.split('.')[0];
    // The stash emptied by another tab is no denial.
    localStorage.setItem(STASH_KEY, '[0,0,[]]');
    localStorage.removeItem(STASH_KEY);
    dispatchEvent(new StorageEvent('storage', { key: STASH_KEY, oldValue: '[0,0,[]]', newValue: null }));
    hearth('track', 'still-granted');
    vi.advanceTimersByTime(300);
    expect(page.events('t').map((e) => e.k)).toEqual(['still-granted']);

    // The other tab's deny erases the ids from localStorage and the cookie, as this snippet does.
    const stored = localStorage.getItem('hearth_vid');
    localStorage.removeItem('hearth_vid');
    document.cookie = 'hearth_vid=; max-age=0; path=/';
    dispatchEvent(new StorageEvent('storage', { key: 'hearth_vid', oldValue: stored, newValue: null }));
    history.pushState({}, '', '/pricing');
    hearth('track', 'after-denial-elsewhere');
    vi.advanceTimersByTime(5000);
    dispatchEvent(new Event('pagehide'));
    expect(page.events('t').map((e) => e.k)).toEqual(['still-granted']);
    expect(page.events('v')).toHaveLength(1);
    expect([localStorage.getItem('hearth_vid'), document.cookie]).toEqual([null, '']);
    expect(visitor).toBeTruthy();
  });

  it('erases, when denied, what an earlier page stored, and expires the cookie on the data-cookie-domain it was set for', async () => {
    const written: string[] = [];
    Object.defineProperty(document, 'cookie', { configurable: true, get: () => 'hearth_vid=v-earlier', set: (value: string) => written.push(value) });
    try {
      vi.useFakeTimers();
      localStorage.setItem('hearth_vid', `v-earlier.s-earlier.${Date.now()}`);
      localStorage.setItem(STASH_KEY, JSON.stringify([1, 0, [{ i: 'stashed', n: 't', k: 'x', t: Date.now(), u: 'http://localhost:3000/' }]]));
      const page = await openPage({ attributes: { consent: 'required', 'cookie-domain': '.acme.test' } });
      hearth('consent', 'denied');
      vi.advanceTimersByTime(5000);
      expect(page.requests).toEqual([]);
      expect(localStorage.length).toBe(0);
      expect(written).toEqual([expect.stringMatching(/^hearth_vid=[^;]*;path=\/;samesite=lax;max-age=0;domain=\.acme\.test;secure$/)]);
    } finally {
      delete (document as any).cookie;
    }
  });

  it('drops the engaged time counted before consent was denied, and while denied: a new grant sends only the time after it', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    const activeFor = (s: number) => {
      for (let t = 0; t < s; t++) dispatchEvent(new Event('pointermove')), vi.advanceTimersByTime(1000);
    };
    activeFor(6);
    hearth('consent', 'denied');
    activeFor(4);
    hearth('consent', 'granted');
    activeFor(3);
    setHidden(true);
    expect(page.events('e').map((e) => e.ms)).toEqual([3000]);
  });

  it('does not stash the events of a request that fails after consent was denied', async () => {
    vi.useFakeTimers();
    const page = await openPage({ fetchStatus: 'pending' });
    vi.advanceTimersByTime(300);
    expect(page.requests).toHaveLength(1);
    hearth('consent', 'denied');
    page.answer('network-error');
    await vi.advanceTimersByTimeAsync(0);
    expect(localStorage.length).toBe(0);
  });

  it.each([
    ['Global Privacy Control', () => Object.defineProperty(navigator, 'globalPrivacyControl', { configurable: true, value: true })],
    ['Do-Not-Track', () => Object.defineProperty(navigator, 'doNotTrack', { configurable: true, value: '1' })],
    ['localStorage.hearth_ignore', () => localStorage.setItem('hearth_ignore', '1')],
  ])('honours %s: nothing is sent', async (_name, optOut) => {
    vi.useFakeTimers();
    const page = await openPage({ before: optOut });
    history.pushState({}, '', '/pricing');
    vi.advanceTimersByTime(5000);
    dispatchEvent(new Event('pagehide'));
    expect(page.requests).toEqual([]);
  });

  it('sends despite Do-Not-Track with data-respect-dnt="false"; hearth_ignore still wins', async () => {
    vi.useFakeTimers();
    const dnt = () => Object.defineProperty(navigator, 'doNotTrack', { configurable: true, value: '1' });
    const page = await openPage({ attributes: { 'respect-dnt': 'false' }, before: dnt });
    vi.advanceTimersByTime(300);
    expect(page.events('v')).toHaveLength(1);
    closePage();
    vi.useFakeTimers();
    const ignored = await openPage({ attributes: { 'respect-dnt': 'false' }, before: () => (dnt(), localStorage.setItem('hearth_ignore', '1')) });
    vi.advanceTimersByTime(300);
    expect(ignored.requests).toEqual([]);
  });
});
