import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTransport } from '../../../sdk/src/transport.ts';
import { isolateWindowListeners, recordBeacons } from './beacons.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('transport', () => {
  let removeListeners: () => void;
  beforeEach(() => {
    vi.useFakeTimers();
    removeListeners = isolateWindowListeners();
  });
  afterEach(() => {
    removeListeners();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('sends the events of a short window as one text/plain beacon carrying site, visitor, session and event ids', () => {
    const sent = recordBeacons();
    const transport = createTransport('https://collect.example/collect', 'acme', 'visitor-123456', () => 'session-abcdef');
    transport.push('pageview', { ti: 'Home' });
    transport.push('track', { k: 'signup' });
    expect(sent).toHaveLength(0);
    vi.advanceTimersByTime(300);
    expect(sent).toHaveLength(1);
    const [{ url, type, batch }] = sent as [(typeof sent)[number]];
    expect(url).toBe('https://collect.example/collect');
    expect(type).toBe('text/plain');
    expect(batch).toMatchObject({ s: 'acme', v: 'visitor-123456', sid: 'session-abcdef' });
    expect(batch.e.map((e) => [e.n, e.ti ?? e.k])).toEqual([['pageview', 'Home'], ['track', 'signup']]);
    expect(batch.e.every((e) => UUID.test(e.i))).toBe(true);
    expect(new Set(batch.e.map((e) => e.i)).size).toBe(2);
    expect(batch.e[0]!.u).toBe(location.href);
  });

  it('sends at once when the page is hidden, so closing a tab loses nothing', () => {
    const sent = recordBeacons();
    const transport = createTransport('/collect', 'acme', 'visitor-123456', () => 'session-abcdef');
    transport.push('pageview');
    dispatchEvent(new Event('pagehide'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.batch.e).toHaveLength(1);
  });

  it('falls back to fetch with keepalive when the beacon is refused', async () => {
    recordBeacons(false);
    const fetchCalls: [string, RequestInit][] = [];
    vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
      fetchCalls.push([url, init]);
      return Promise.resolve(new Response(null, { status: 202 }));
    });
    const transport = createTransport('/collect', 'acme', 'visitor-123456', () => 'session-abcdef');
    transport.push('pageview');
    transport.flush();
    expect(fetchCalls).toHaveLength(1);
    const [url, init] = fetchCalls[0]!;
    expect(url).toBe('/collect');
    expect(init).toMatchObject({ method: 'POST', keepalive: true, headers: { 'content-type': 'text/plain' } });
    expect(JSON.parse(init.body as string).e[0].n).toBe('pageview');
  });

  it('never throws into the page when the network call fails', async () => {
    recordBeacons(false);
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('offline')));
    const transport = createTransport('/collect', 'acme', 'visitor-123456', () => 'session-abcdef');
    transport.push('pageview');
    expect(() => transport.flush()).not.toThrow();
    await vi.runAllTimersAsync();
  });
});
