// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { generateHistory } from '../../collector/demo/history.ts';

const NOW = Date.UTC(2026, 10, 26, 12);
const history = (seed = 7, visitors = 400) => generateHistory({ site: 'demo', origin: 'http://127.0.0.1:8787', visitors, days: 90, seed, now: NOW });

describe('hearth demo history', () => {
  it('is the same for the same seed, and different for another', () => {
    expect(history(7).map((row) => row.event_id)).toEqual(history(7).map((row) => row.event_id));
    expect(history(8)[0]!.event_id).not.toBe(history(7)[0]!.event_id);
  });

  it('is the same all day, and on another day or over another period a history of its own: no event id is stored again at another time', () => {
    const ids = (now: number, days = 90) => generateHistory({ site: 'demo', origin: 'http://127.0.0.1:8787', visitors: 400, days, seed: 7, now }).map((row) => row.event_id);
    expect(ids(NOW + 3 * 3_600_000)).toEqual(ids(NOW));
    // `npm run demo` again a day or a week later, or with --days 30: the events table keeps a row per (visitor, time,
    // event id), so an id generated again with another time would be a second copy of the same event.
    const first = new Set(ids(NOW));
    for (const later of [1, 7]) expect(ids(NOW + later * 86_400_000).filter((id) => first.has(id)), `${later} days later`).toEqual([]);
    expect(ids(NOW, 30).filter((id) => first.has(id)), 'over 30 days').toEqual([]);
  });

  it('spreads visits over the window, in office hours, mostly on weekdays', () => {
    const times = history().map((row) => Date.parse(row.ts.replace(' ', 'T') + 'Z'));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(NOW - 91 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(NOW + 86_400_000);
    const weekend = times.filter((t) => [0, 6].includes(new Date(t).getUTCDay())).length;
    expect(weekend / times.length).toBeLessThan(0.15);
  });

  it('has leads with declarative fields from forms, anonymous visitors, and sources of every kind', () => {
    const rows = history();
    const forms = rows.filter((row) => row.type === 'form');
    expect(forms.length).toBeGreaterThan(20);
    for (const form of forms) {
      expect(form.email).toMatch(/^[a-z0-9.]+@[a-z0-9.-]+$/);
      expect(['demo-request', 'webinar-signup']).toContain(form.name);
    }
    expect(forms.some((form) => /CEO|PDG|Founder/.test(form.props.job_title ?? ''))).toBe(true);
    expect(forms.some((form) => /Stagiaire|Student|Intern|Étudiant/.test(form.props.job_title ?? ''))).toBe(true);
    const visitorsWithForm = new Set(forms.map((row) => row.visitor_id));
    expect(new Set(rows.map((row) => row.visitor_id)).size).toBeGreaterThan(visitorsWithForm.size * 2);
    const sources = new Set(rows.filter((row) => row.type === 'pageview').map((row) => row.utm_source));
    expect([...sources].sort()).toEqual(['', 'display', 'google', 'linkedin', 'newsletter']);
    expect(rows.some((row) => row.type === 'download' && row.link_url.endsWith('whitepaper-lead-scoring-2026.pdf'))).toBe(true);
    expect(rows.filter((row) => row.type === 'engagement').every((row) => row.engaged_ms > 0)).toBe(true);
  });

  it('makes about 19 events a visitor', () => {
    const rows = history(7, 1000);
    expect(rows.length / 1000).toBeGreaterThan(12);
    expect(rows.length / 1000).toBeLessThan(30);
  });
});
