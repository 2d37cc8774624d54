import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseBatch } from '../../../collector/ingest/wire.ts';
import { closePage, openPage } from './harness.ts';

const paths = (events: { u: string }[]) => events.map((e) => new URL(e.u).pathname + new URL(e.u).hash);

/** The visitor follows a link to `hash` in the page (or goes back to it): the address changes, then popstate. */
function followHash(hash: string): void {
  location.hash = hash;
  dispatchEvent(new PopStateEvent('popstate'));
}

describe('page views', () => {
  afterEach(closePage);

  it('counts the page on load, with the referrer', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    vi.advanceTimersByTime(300);
    expect(page.events('v')).toHaveLength(1);
    expect(page.events('v')[0]).toMatchObject({ u: 'http://localhost:3000/', r: '' });
  });

  it('counts an SPA navigation by pushState, with the previous page as referrer', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    history.pushState({}, '', '/pricing');
    vi.advanceTimersByTime(300);
    expect(page.events('v').map((v) => [new URL(v.u).pathname, v.r])).toEqual([
      ['/', ''],
      ['/pricing', 'http://localhost:3000/'],
    ]);
  });

  it('counts replaceState only when the path changes, never a query or hash change', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    history.replaceState({}, '', '/?tab=2');
    history.replaceState({}, '', '/#section');
    history.pushState({}, '', '/?utm_source=x');
    history.replaceState({}, '', '/product');
    vi.advanceTimersByTime(300);
    expect(paths(page.events('v'))).toEqual(['/', '/product']);
  });

  it('counts back and forward navigation', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    history.pushState({}, '', '/product');
    history.replaceState.call(history, null, '', '/');
    dispatchEvent(new PopStateEvent('popstate'));
    vi.advanceTimersByTime(300);
    // replaceState to "/" already counted "/" again; the popstate finds the same path and adds nothing.
    expect(paths(page.events('v'))).toEqual(['/', '/product', '/']);
  });

  it('with data-hash, counts hash routes as pages', async () => {
    vi.useFakeTimers();
    const page = await openPage({ attributes: { hash: '' } });
    history.pushState({}, '', '/#/pricing');
    followHash('#/contact');
    // An anchor in the page is no page, whatever its first character (#équipe, #-top), nor is coming back from it to
    // the route it was on.
    for (const hash of ['#faq', '#/contact', '#section-2', '#/contact', '#équipe', '#-top', '#_top', '#/contact']) {
      followHash(hash);
    }
    vi.advanceTimersByTime(300);
    expect(paths(page.events('v'))).toEqual(['/', '/#/pricing', '/#/contact']);
  });

  it('with data-hash, counts the page landed on at an anchor, with its utm tags, and sends every engagement with its URL', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    const landing = 'http://localhost:3000/hashapp/?utm_source=newsletter&utm_medium=email#faq';
    const page = await openPage({ attributes: { hash: '' }, before: () => history.replaceState(null, '', landing) });
    dispatchEvent(new Event('pointermove'));
    vi.advanceTimersByTime(5_000);
    followHash('#/pricing');
    vi.advanceTimersByTime(300);
    expect(page.events().map((e) => [e.n, e.u, e.ms])).toEqual([
      ['v', landing, undefined],
      ['e', landing, 5_000],
      ['v', 'http://localhost:3000/hashapp/?utm_source=newsletter&utm_medium=email#/pricing', undefined],
    ]);
    // The collector takes every batch whole.
    for (const request of page.requests) expect(parseBatch(request.batch)).toMatchObject({ ok: true, ignored: [] });
  });

  it('with data-hash, counts a change of the route\'s query as the same page, as path routing does', async () => {
    vi.useFakeTimers();
    const page = await openPage({ attributes: { hash: '' } });
    history.pushState({}, '', '/#/pricing');
    followHash('#/pricing?billing=annual');
    history.replaceState({}, '', '/#/pricing?billing=monthly');
    history.pushState({}, '', '/#/contact?ref=pricing');
    vi.advanceTimersByTime(300);
    expect(paths(page.events('v'))).toEqual(['/', '/#/pricing', '/#/contact?ref=pricing']);
  });

  it('counts a page restored from the back/forward cache', async () => {
    vi.useFakeTimers();
    const page = await openPage();
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: true }));
    dispatchEvent(Object.assign(new Event('pageshow'), { persisted: false }));
    vi.advanceTimersByTime(300);
    expect(paths(page.events('v'))).toEqual(['/', '/']);
  });

  it('counts a prerendered page only once it is shown', async () => {
    vi.useFakeTimers();
    const page = await openPage({ before: () => Object.defineProperty(document, 'prerendering', { configurable: true, value: true }) });
    vi.advanceTimersByTime(300);
    expect(page.events('v')).toHaveLength(0);
    Object.defineProperty(document, 'prerendering', { configurable: true, value: false });
    document.dispatchEvent(new Event('prerenderingchange'));
    document.dispatchEvent(new Event('prerenderingchange'));
    vi.advanceTimersByTime(300);
    expect(page.events('v')).toHaveLength(1);
  });
});
