// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { generateHistory, PERSONAS, SOURCES } from '../../collector/demo/history.ts';

const NOW = Date.UTC(2026, 10, 26, 12);
const history = (seed = 7, visitors = 400) => generateHistory({ site: 'demo', origin: 'http://127.0.0.1:8787', visitors, days: 90, seed, now: NOW });

describe('hearth demo history', () => {
  it('is the same for the same seed, and different for another', () => {
    expect(history(7).map((row) => row.event_id)).toEqual(history(7).map((row) => row.event_id));
    expect(history(8)[0]!.event_id).not.toBe(history(7)[0]!.event_id);
  });

  it('is the same all day, and on another day or over another period a history of its own: no event id is stored again at another time', () => {
    const ids = (now: number, days = 90) => generateHistory({ site: 'demo', origin: 'http://127.0.0.1:8787', visitors: 400, days, seed: 7, now }).map((row) => row.event_id);
    // Today's visits are planned for the whole day: three hours later, the same rows and those of the three hours.
    const rows = (now: number) => generateHistory({ site: 'demo', origin: 'http://127.0.0.1:8787', visitors: 400, days: 90, seed: 7, now }).map((row) => `${row.event_id} ${row.ts}`);
    const later = rows(NOW + 3 * 3_600_000);
    const before = new Set(rows(NOW));
    const since = later.filter((row) => !before.has(row));
    expect(later.filter((row) => before.has(row))).toHaveLength(before.size);
    expect(since.length).toBeGreaterThan(0);
    for (const row of since) expect(Date.parse(row.split(' ').slice(1).join('T') + 'Z')).toBeGreaterThanOrEqual(NOW - 60_000);
    // `npm run demo` again a day or a week later, or with --days 30: the events table keeps a row per (visitor, time,
    // event id), so an id generated again with another time would be a second copy of the same event.
    const first = new Set(ids(NOW));
    for (const later of [1, 7]) expect(ids(NOW + later * 86_400_000).filter((id) => first.has(id)), `${later} days later`).toEqual([]);
    expect(ids(NOW, 30).filter((id) => first.has(id)), 'over 30 days').toEqual([]);
  });

  it('spreads visits over the window, in office hours, mostly on weekdays', () => {
    const times = history().map((row) => Date.parse(row.ts.replace(' ', 'T') + 'Z'));
    // Within the 90-day window, where every visit scores, up to a minute ago: today too, as a live site has.
    expect(Math.min(...times)).toBeGreaterThan(NOW - 90 * 86_400_000);
    expect(Math.max(...times)).toBeLessThan(NOW - 60_000);
    expect(times.filter((t) => t >= NOW - (NOW % 86_400_000)).length).toBeGreaterThan(10);
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

  it("has each persona's visitors fill forms as often as its rate says, whatever their number of sessions", () => {
    // The form used to be placed in a session numbered up to the persona's most sessions: a visitor with fewer never
    // reached it, and decision-makers (2 to 6 sessions) filled two thirds of the forms their rate gives.
    const visitors = 8000;
    const forms = history(7, visitors).filter((row) => row.type === 'form');
    const shares = PERSONAS.reduce((sum, persona) => sum + persona.share, 0);
    const sourceShares = SOURCES.reduce((sum, source) => sum + source.share, 0);
    const outOfLine = PERSONAS.filter((persona) => persona.formRate > 0).flatMap((persona) => {
      const leads = new Set(forms.filter((form) => persona.jobTitles.includes(form.props.job_title ?? '')).map((form) => form.email)).size;
      // A visitor's chance of a form is the persona's rate weighed by the source's quality, at most 95%.
      const rate = SOURCES.reduce((sum, source) => sum + (source.share / sourceShares) * Math.min(0.95, persona.formRate * source.quality), 0);
      const expected = Math.round(visitors * (persona.share / shares) * rate);
      // Within a fifth: the persona's share of 8,000 visitors varies by a few percent, a third fewer forms does not.
      return Math.abs(leads / expected - 1) < 0.2 ? [] : [`${persona.name}: ${leads} leads, ${expected} expected`];
    });
    expect(outOfLine).toEqual([]);
    // 8,000 visitors' history takes ~3 s to make on a quiet 2-core machine: the unit tests' 5 s is too close.
  }, 30_000);

  it('has its visitors on computers, phones and tablets, each browser on one kind of device throughout', () => {
    const rows = generateHistory({ site: 'demo', origin: 'http://127.0.0.1:8787', visitors: 2000, days: 90, seed: 3, now: NOW });
    const deviceOf = new Map<string, string>();
    for (const row of rows) {
      expect(deviceOf.get(row.visitor_id) ?? row.device, row.visitor_id).toBe(row.device);
      deviceOf.set(row.visitor_id, row.device);
      expect(row.is_bot).toBe(0);
    }
    const share = (device: string) => [...deviceOf.values()].filter((kind) => kind === device).length / deviceOf.size;
    // 75 % computers, 22 % phones, 3 % tablets, give or take the draw's 3 points.
    for (const [device, expected] of [['desktop', 0.75], ['mobile', 0.22], ['tablet', 0.03]] as const) expect(Math.abs(share(device) - expected), device).toBeLessThan(0.03);
  });

  it('makes about 19 events a visitor', () => {
    const rows = history(7, 1000);
    expect(rows.length / 1000).toBeGreaterThan(12);
    expect(rows.length / 1000).toBeLessThan(30);
  });
});
