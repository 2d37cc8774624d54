import { describe, expect, it } from 'vitest';
import { formatAgo, formatDay, formatReason, formatSeconds, formatTime, linkPath } from '../../../dashboards/src/format.ts';
import { utcMoment } from '../../../scoring/alerts/formats.ts';
import { ruleName } from '../../../scoring/labels.ts';

describe('times as the dashboards show them', () => {
  it('says how long ago in hours within a day, then in calendar days where the reader is', () => {
    // Local times, whatever the machine's zone: the reader's calendar is what counts.
    const local = (day: number, hours: number, minutes = 0) => new Date(2026, 11, day, hours, minutes).toISOString();
    const now = Date.parse(local(2, 0, 5));
    expect(formatAgo(local(1, 23, 0), now)).toBe('1 h ago');
    expect(formatAgo(local(1, 0, 1), now)).toBe('yesterday');
    expect(formatAgo(new Date(2026, 10, 30, 13, 45).toISOString(), now)).toBe('2 days ago');
    expect(formatAgo(new Date(2026, 10, 25, 23, 59).toISOString(), now)).toBe('7 days ago');
  });

  it('says hours, not "0 days", past 24 hours on the day the clocks go back', () => {
    const zone = process.env.TZ;
    try {
      process.env.TZ = 'Europe/Paris';
      // 25 October 2026 in Paris lasts 25 hours: 00:10 to 23:50 the same day is 24 h 40 min.
      expect(formatAgo('2026-10-24T22:10:00Z', Date.parse('2026-10-25T22:50:00Z'))).toBe('24 h ago');
      expect(formatAgo('2026-10-24T21:50:00Z', Date.parse('2026-10-25T22:50:00Z'))).toBe('yesterday');
      process.env.TZ = 'America/New_York';
      expect(formatAgo('2026-11-01T04:10:00Z', Date.parse('2026-11-02T04:50:00Z'))).toBe('24 h ago');
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  it('rounds the engaged time before splitting off the minutes, so it never reads "60 s"', () => {
    expect(formatSeconds(119.5)).toBe('2 min');
    expect(formatSeconds(179.6)).toBe('3 min');
    expect(formatSeconds(59.96)).toBe('1 min');
    expect(formatSeconds(125.4)).toBe('2 min 5 s');
  });

  it('writes an hour or more in hours and minutes, as a pricing visit\'s signal says it', () => {
    expect(formatSeconds(3930)).toBe('1 h 5 min');
    expect(formatSeconds(3599.6)).toBe('1 h');
    expect(formatSeconds(7260)).toBe('2 h 1 min');
    expect(formatSeconds(3599)).toBe('59 min 59 s');
  });

  it('keeps a tenth of a second under a minute', () => {
    expect(formatSeconds(59.94)).toBe('59.9 s');
    expect(formatSeconds(12.5)).toBe('12.5 s');
    expect(formatSeconds(0)).toBe('0 s');
  });
});

describe('why an alert was held back', () => {
  it('writes the time in a reason as every other time on the page, a reason stored in ISO 8601 before included', () => {
    expect(formatReason('cooldown: this lead had a "hot" alert at 2026-11-20T10:00:01.362Z, less than 24 h before')).toBe(
      'cooldown: this lead had a "hot" alert at 20 Nov 2026, 10:00 UTC, less than 24 h before',
    );
    // As the collector writes it now, which the page leaves as it is; the emails write times the same way.
    const now = 'cooldown: this lead had a "hot" alert at 20 Nov 2026, 10:00 UTC, less than 24 h before';
    expect(formatReason(now)).toBe(now);
    expect(utcMoment(Date.parse('2026-11-20T10:00:01.362Z'))).toBe(formatTime('2026-11-20T10:00:01.362Z'));
    // No time, or none that exists: as it came.
    expect(formatReason('hourly cap: the site sent 100 alerts in the hour before this one')).toBe('hourly cap: the site sent 100 alerts in the hour before this one');
    expect(formatReason('at 2026-13-45T99:00:00Z')).toBe('at 2026-13-45T99:00:00Z');
  });
});

describe('days as the dashboards show them', () => {
  it('writes a day out in words, in UTC', () => {
    expect(formatDay('2026-11-03')).toBe('3 Nov 2026');
    expect(formatDay('2024-02-29')).toBe('29 Feb 2024');
  });

  it('shows a day that is no calendar day as it was written, rather than throwing or moving it to another month', () => {
    // Typed into the URL: the page draws and the API's answer names the bad parameter.
    expect(formatDay('2026-13-01')).toBe('2026-13-01');
    expect(formatDay('2026-02-30')).toBe('2026-02-30');
    expect(formatDay('yesterday')).toBe('yesterday');
  });
});

describe('a downloaded file in a lead\'s timeline', () => {
  it('is named by its path, as the content panel names it, not by the whole URL', () => {
    expect(linkPath('https://acme.example/assets/whitepaper-lead-scoring.pdf?utm_source=newsletter#page=2')).toBe('/assets/whitepaper-lead-scoring.pdf');
    expect(linkPath('https://cdn.acme.example/files/guide%202026%20(FR).pdf')).toBe('/files/guide 2026 (FR).pdf');
    expect(linkPath('https://acme.example/files/100%.pdf')).toBe('/files/100%.pdf');
    expect(linkPath('mailto:sales@acme.example')).toBe('mailto:sales@acme.example');
    expect(linkPath('not a url')).toBe('not a url');
  });
});

describe('a scoring rule on screen', () => {
  it('reads the grid\'s rules as sales say them, and a site\'s own rule by its id', () => {
    expect(['c-level', 'manager-director', 'company-over-250', 'pricing-page', 'free-mail', 'budget-confirmed'].map(ruleName)).toEqual([
      'CEO, founder (C-level)',
      'Manager or director',
      '250+ employees',
      'Pricing page',
      'Free email address',
      'Budget confirmed',
    ]);
  });
});
