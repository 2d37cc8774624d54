import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closePage, openPage, setFocused, setHidden } from './harness.ts';

const seconds = (s: number) => vi.advanceTimersByTime(s * 1000);
/** The visitor moves the mouse every 5 s for `s` seconds. */
function activeFor(s: number) {
  for (let t = 0; t < s; t += 5) {
    dispatchEvent(new Event('pointermove'));
    seconds(Math.min(5, s - t));
  }
}

describe('engaged dwell', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(closePage);

  const engagement = (page: Awaited<ReturnType<typeof openPage>>) => page.events('e');
  const total = (page: Awaited<ReturnType<typeof openPage>>) => engagement(page).reduce((sum, e) => sum + e.ms!, 0);

  it('counts visible, focused, active time and sends it when the page is hidden', async () => {
    const page = await openPage();
    activeFor(10);
    setHidden(true);
    expect(engagement(page)).toEqual([expect.objectContaining({ u: 'http://localhost:3000/', ms: 10_000 })]);
    expect(page.requests.at(-1)!.via).toBe('beacon');
  });

  it('stops counting 30 s after the last activity', async () => {
    const page = await openPage();
    dispatchEvent(new Event('keydown'));
    seconds(90);
    setHidden(true);
    expect(total(page)).toBe(30_000);
  });

  it('dates a piece left from before the visitor went idle when its time stopped counting, in the visit it belongs to', async () => {
    const page = await openPage();
    const start = Date.now();
    activeFor(10);
    // The last move at 5 s; an hour later, the tab still visible and focused, the visitor closes it.
    seconds(3600);
    dispatchEvent(new Event('pagehide'));
    // Checkpoints at 15 and 30 s, then the rest: not a visit of its own an hour later (QA: a third "visit to pricing"
    // and a false alert), but the visit's, dated 30 s after the last move.
    expect(engagement(page).map((piece) => [piece.ms, piece.t - start, piece.ss])).toEqual([
      [15_000, 15_000, undefined],
      [15_000, 30_000, undefined],
      [5_000, 35_000, undefined],
    ]);
    expect(new Set(page.requests.map((request) => request.batch.sid)).size).toBe(1);
  });

  it('keeps a piece in its visit when the laptop slept with the page open (timers stopped meanwhile)', async () => {
    const page = await openPage();
    const start = Date.now();
    activeFor(5);
    // The lid closed: no timer runs for 8 hours; the page wakes up focused and visible, and the first tick comes.
    vi.setSystemTime(Date.now() + 8 * 3600_000);
    seconds(1);
    setFocused(false);
    seconds(1);
    expect(engagement(page)).toEqual([expect.objectContaining({ ms: 30_000, t: start + 30_000 })]);
    expect(engagement(page)[0]!.ss).toBeUndefined();
    expect(new Set(page.requests.map((request) => request.batch.sid)).size).toBe(1);
  });

  it('counts the page’s own scrolling as activity, not an inner element scrolling by itself (a carousel)', async () => {
    const page = await openPage();
    const carousel = document.createElement('div');
    document.body.append(carousel);
    for (let t = 0; t < 600; t += 5) {
      carousel.dispatchEvent(new Event('scroll'));
      seconds(5);
    }
    dispatchEvent(new Event('scroll'));
    seconds(10);
    setHidden(true);
    // At the start, 30 s of grace after loading; then 10 s after the visitor scrolled the page.
    expect(total(page)).toBe(40_000);
  });

  it('counts a visitor scrolling with the wheel or a touchpad, a panel of the page as well as the page', async () => {
    const page = await openPage();
    // An app whose content scrolls in a panel: the document never scrolls, the wheel turns over the panel.
    const panel = document.createElement('div');
    document.body.append(panel);
    for (let t = 0; t < 60; t += 5) {
      panel.dispatchEvent(new WheelEvent('wheel', { bubbles: true, deltaY: 150 }));
      seconds(5);
    }
    setHidden(true);
    expect(total(page)).toBe(60_000);
  });

  it('does not count hidden or unfocused time', async () => {
    const page = await openPage();
    activeFor(5);
    setHidden(true);
    seconds(20);
    setHidden(false);
    activeFor(5);
    setFocused(false);
    seconds(20);
    setFocused(true);
    activeFor(5);
    dispatchEvent(new Event('pagehide'));
    expect(total(page)).toBe(15_000);
    // Hiding and blurring each sent a piece.
    expect(engagement(page).map((e) => e.ms)).toEqual([5_000, 5_000, 5_000]);
  });

  it('sends one engagement piece per exit, whichever of pagehide and the hidden state comes first', async () => {
    const page = await openPage();
    activeFor(5);
    // Leaving the page (Chromium: pagehide, then the page is hidden a few ms later).
    dispatchEvent(new Event('pagehide'));
    vi.advanceTimersByTime(2);
    setHidden(true);
    expect(engagement(page).map((e) => e.ms)).toEqual([5_000]);
    // Restored from the back/forward cache: counted again, and left the other way round.
    setHidden(false);
    activeFor(3);
    setHidden(true);
    vi.advanceTimersByTime(2);
    dispatchEvent(new Event('pagehide'));
    expect(engagement(page).map((e) => e.ms)).toEqual([5_000, 3_000]);
  });

  it('sends a checkpoint every 15 s of engagement, so a crash loses at most that', async () => {
    const page = await openPage();
    activeFor(40);
    await vi.advanceTimersByTimeAsync(300);
    expect(engagement(page).map((e) => e.ms)).toEqual([15_000, 15_000]);
    setHidden(true);
    // The 300 ms that let the checkpoints go out were engaged too: the last activity was under 30 s before.
    expect(total(page)).toBe(40_300);
  });

  it('sends the piece of the page being left before an SPA navigation, with its URL', async () => {
    const page = await openPage();
    history.pushState({}, '', '/pricing');
    activeFor(12);
    history.pushState({}, '', '/contact');
    activeFor(3);
    setHidden(true);
    expect(engagement(page).map((e) => [new URL(e.u).pathname, e.ms])).toEqual([
      ['/pricing', 12_000],
      ['/contact', 3_000],
    ]);
    const order = page.events().map((e) => `${e.n} ${new URL(e.u).pathname}`);
    expect(order.indexOf('e /pricing')).toBeLessThan(order.indexOf('v /contact'));
  });

  it('reports the deepest scroll reached', async () => {
    Object.defineProperty(document.documentElement, 'scrollHeight', { configurable: true, value: 4000 });
    vi.stubGlobal('innerHeight', 1000);
    vi.stubGlobal('scrollY', 0);
    const page = await openPage();
    vi.stubGlobal('scrollY', 2000);
    dispatchEvent(new Event('scroll'));
    vi.stubGlobal('scrollY', 500);
    dispatchEvent(new Event('scroll'));
    seconds(2);
    setHidden(true);
    delete (document.documentElement as any).scrollHeight;
    expect(engagement(page)[0]!.sd).toBe(75);
  });

  it('reads the page\'s height (a layout the browser may have to make at once) on scrolls and when it sends, never on a pointer, key or wheel, nor as the page opens', async () => {
    let reads = 0;
    Object.defineProperty(document.documentElement, 'scrollHeight', { configurable: true, get: () => (reads++, 4000) });
    vi.stubGlobal('innerHeight', 1000);
    vi.stubGlobal('scrollY', 0);
    const page = await openPage();
    for (const type of ['pointermove', 'pointerdown', 'keydown', 'wheel', 'focus']) for (let i = 0; i < 50; i++) dispatchEvent(new Event(type));
    expect(reads).toBe(0);
    vi.stubGlobal('scrollY', 1000);
    dispatchEvent(new Event('scroll'));
    seconds(2);
    setHidden(true);
    delete (document.documentElement as any).scrollHeight;
    expect(reads).toBe(2);
    expect(engagement(page).map((e) => e.sd)).toEqual([50]);
  });

  it('measures the depth of the page as it is read, not as it was when shown (a slow page, an SPA route)', async () => {
    // Shown while its body is still loading: the whole of it fits in the window.
    Object.defineProperty(document.documentElement, 'scrollHeight', { configurable: true, value: 800 });
    vi.stubGlobal('innerHeight', 1000);
    vi.stubGlobal('scrollY', 0);
    const page = await openPage();
    // Loaded, 5,000 px long, and read at its top without scrolling.
    Object.defineProperty(document.documentElement, 'scrollHeight', { configurable: true, value: 5000 });
    seconds(2);
    setHidden(true);
    // Back, read to the bottom; then an SPA route, drawn after the navigation, read at its top.
    setHidden(false);
    vi.stubGlobal('scrollY', 4000);
    dispatchEvent(new Event('scroll'));
    seconds(2);
    history.pushState({}, '', '/next');
    vi.stubGlobal('scrollY', 0);
    seconds(2);
    setHidden(true);
    delete (document.documentElement as any).scrollHeight;
    expect(engagement(page).map((e) => [new URL(e.u).pathname, e.sd])).toEqual([
      ['/', 20],
      ['/', 100],
      ['/next', 20],
    ]);
  });
});
