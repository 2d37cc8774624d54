import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { trackPageviews } from '../../../sdk/src/pageviews.ts';
import { createTransport } from '../../../sdk/src/transport.ts';
import { isolateWindowListeners, recordBeacons } from './beacons.ts';

const { pushState, replaceState } = history;

describe('page views', () => {
  let sent: ReturnType<typeof recordBeacons>;
  let removeListeners: () => void;
  const views = () => sent.flatMap(({ batch }) => batch.e).filter((e) => e.n === 'pageview');

  beforeEach(() => {
    vi.useFakeTimers();
    removeListeners = isolateWindowListeners();
    sent = recordBeacons();
    replaceState.call(history, null, '', '/');
    document.title = 'Home';
    trackPageviews(createTransport('/collect', 'acme', 'visitor-123456', () => 'session-abcdef'));
  });
  afterEach(() => {
    removeListeners();
    history.pushState = pushState;
    history.replaceState = replaceState;
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('counts the page view on load, with the page title', () => {
    vi.advanceTimersByTime(300);
    expect(views()).toHaveLength(1);
    expect(views()[0]).toMatchObject({ u: 'http://localhost:3000/', ti: 'Home' });
  });

  it('counts an SPA navigation by pushState, with the previous page as referrer', () => {
    document.title = 'Pricing';
    history.pushState({}, '', '/pricing');
    vi.advanceTimersByTime(300);
    expect(views().map((v) => [v.u, v.r, v.ti])).toEqual([
      ['http://localhost:3000/', '', 'Home'],
      ['http://localhost:3000/pricing', 'http://localhost:3000/', 'Pricing'],
    ]);
  });

  it('counts replaceState only when the path changes', () => {
    history.replaceState({}, '', '/?tab=2');
    history.replaceState({}, '', '/#section');
    history.replaceState({}, '', '/product');
    vi.advanceTimersByTime(300);
    expect(views().map((v) => new URL(v.u).pathname)).toEqual(['/', '/product']);
  });

  it('counts back and forward navigation (popstate)', () => {
    history.pushState({}, '', '/product');
    replaceState.call(history, null, '', '/');
    dispatchEvent(new PopStateEvent('popstate'));
    vi.advanceTimersByTime(300);
    expect(views().map((v) => new URL(v.u).pathname)).toEqual(['/', '/product', '/']);
  });
});
