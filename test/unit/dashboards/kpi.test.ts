import { h, render } from 'preact';
import { describe, expect, it } from 'vitest';
import { Kpi } from '../../../dashboards/src/components/kpi.tsx';
import { formatSeconds, formatShare } from '../../../dashboards/src/format.ts';

/** The key figure as a reader sees it: its value and the words of its change. */
function shown(value: { current: number | null; previous: number | null }, format = formatSeconds): string {
  const root = document.createElement('dl');
  render(h(Kpi, { label: 'Engaged time per view', value, format }), root);
  const text = (selector: string) => root.querySelector(selector)!.textContent!.replace(/\s+/g, ' ').trim();
  return `${text('.kpi-value')} | ${text('.kpi-change')}`;
}

describe('a key figure', () => {
  it('says no change when the two periods read alike, rather than "down" beside the same figure', () => {
    expect(shown({ current: 124.8, previous: 125.1 })).toBe('2 min 5 s | no change (previous: 2 min 5 s)');
    expect(shown({ current: 90, previous: 125 })).toBe('1 min 30 s | ▼ down 28% (previous: 2 min 5 s)');
    // Averages either side of a rounding step, a change too small for a decimal: not "up 0%".
    expect(shown({ current: 10.05, previous: 10.049 })).toBe('10.1 s | ▲ up less than 0.1% (previous: 10 s)');
    // Worked out from the averages, not from their rounding (55 s over 3 views against 27 s).
    expect(shown({ current: 18.333, previous: 27 })).toBe('18.3 s | ▼ down 32.1% (previous: 27 s)');
  });

  it('shows an average of nothing (no page views) as "–", not "0 s"', () => {
    expect(shown({ current: null, previous: null })).toBe('– | no change (previous: –)');
    expect(shown({ current: 40, previous: null })).toBe('40 s | none before (previous: –)');
    expect(shown({ current: null, previous: 40 })).toBe('– | none in this period (previous: 40 s)');
  });

  it('says how many percentage points a share moved, not its relative change', () => {
    expect(shown({ current: 0.258, previous: 0.253 }, formatShare)).toBe('25.8% | ▲ up 0.5 percentage points (previous: 25.3%)');
    expect(shown({ current: 0.2, previous: 0.21 }, formatShare)).toBe('20% | ▼ down 1 percentage point (previous: 21%)');
    // Either side of a rounding step: not "no change" beside two figures.
    expect(shown({ current: 0.25355, previous: 0.25345 }, formatShare)).toBe('25.4% | ▲ up less than 0.1 percentage points (previous: 25.3%)');
    expect(shown({ current: 0.25, previous: 0.2502 }, formatShare)).toBe('25% | no change (previous: 25%)');
  });
});
