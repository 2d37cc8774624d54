import { afterEach, describe, expect, it, vi } from 'vitest';
import { recordBeacons } from './beacons.ts';

describe('the snippet on a page', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
    document.head.replaceChildren();
  });

  it('replays hearth() calls queued before it loaded, after the first page view', async () => {
    vi.useFakeTimers();
    const sent = recordBeacons();
    const script = document.createElement('script');
    script.src = 'https://hearth.acme.com/hearth.js';
    script.dataset.site = 'acme';
    document.head.append(script);
    const w = window as unknown as { hearth: ((...args: unknown[]) => void) & { q?: unknown[][] } };
    w.hearth = function (...args: unknown[]) {
      (w.hearth.q = w.hearth.q || []).push(args);
    };
    w.hearth('track', 'pricing-toggle', { plan: 'annual' });
    w.hearth('identify', 'Ada@Acme.com', { company: 'Acme' });
    w.hearth('no-such-command');

    await import('../../../sdk/src/index.ts');
    vi.advanceTimersByTime(300);

    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe('https://hearth.acme.com/collect');
    expect(sent[0]!.batch.e.map((e) => [e.n, e.k ?? e.em ?? null, e.p ?? null])).toEqual([
      ['pageview', null, null],
      ['track', 'pricing-toggle', { plan: 'annual' }],
      ['identify', 'Ada@Acme.com', { company: 'Acme' }],
    ]);
    expect(() => w.hearth('track', 42)).not.toThrow();
  });
});
