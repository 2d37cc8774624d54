import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { periodOf, seenPeriod } from '../../../dashboards/src/period.ts';

/** The days a page's URL names, on 10 December 2026 (UTC). */
describe('the days a dashboard URL names', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-10T15:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());
  const url = (search: string) => new URLSearchParams(search);

  it('lists leads of every day without a period, and the last 7, 30 or 90 days up to today for a rolling preset', () => {
    expect(seenPeriod(url('site=acme'))).toBeUndefined();
    expect(seenPeriod(url('site=acme&period=7d'))).toEqual({ from: '2026-12-04', to: '2026-12-10', preset: '7' });
    // The bare list is every day: its last 30 days are named, where the marketing page's are its bare URL.
    expect(seenPeriod(url('period=30d'))).toEqual({ from: '2026-11-11', to: '2026-12-10', preset: '30' });
    expect(seenPeriod(url('period=90d'))).toEqual({ from: '2026-09-12', to: '2026-12-10', preset: '90' });
    expect(periodOf(url(''))).toEqual({ from: '2026-11-11', to: '2026-12-10', preset: '30' });
    // Not a preset: no period, as none.
    expect(seenPeriod(url('period=14d'))).toBeUndefined();
  });

  it('reads days given over a preset left in the URL, and fills a missing end as the API does', () => {
    expect(seenPeriod(url('period=7d&from=2026-01-05&to=2026-01-20'))).toEqual({ from: '2026-01-05', to: '2026-01-20', preset: 'custom' });
    expect(seenPeriod(url('to=2026-11-30'))).toEqual({ from: '2026-11-01', to: '2026-11-30', preset: 'custom' });
    // The days of "the last 7" fixed on the day they were picked: that preset today only.
    expect(seenPeriod(url('from=2026-12-04&to=2026-12-10'))?.preset).toBe('7');
  });
});
