import type { LeadScore, Temperature } from '../../scoring/compile.ts';

/** The default grid's temperature of a score (cold < 30 ≤ warm ≤ 60 < hot). */
export const temperatureOf = (score: number): Temperature => (score > 60 ? 'hot' : score >= 30 ? 'warm' : 'cold');

/** A row of the scoring query for unit tests: an identified lead with `score` engagement points and nothing else. */
export function leadScore(name: string, score: number, fields: Partial<LeadScore> = {}): LeadScore {
  return {
    lead_id: `l_${name}`,
    kind: 'lead',
    email: `${name}@acme.test`,
    visitor_ids: [`v-${name}`],
    shared_visits: [],
    score,
    fit: 0,
    engagement: score,
    source: 0,
    negative: 0,
    temperature: temperatureOf(score),
    stage: '',
    reasons: [],
    profile: {},
    seniority: '',
    country: '',
    company_size_min: null,
    first_touch: { utm_source: '', utm_medium: '', referrer_host: '' },
    first_seen: '2026-03-01 09:00:00.000',
    last_seen: '2026-03-02 09:00:00.000',
    signals: [],
    ...fields,
  };
}
