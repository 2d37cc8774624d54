// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defaultRules, rulesSchema } from '../../../scoring/rules.ts';

const problems = (input: unknown) => {
  const result = rulesSchema.safeParse(input);
  if (result.success) throw new Error('expected the rules to be refused');
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};

describe('default rules', () => {
  it('are the article’s grid', () => {
    const rules = defaultRules({ product: ['/product/*'], pricing: ['/pricing/*'] });
    expect(Object.fromEntries(rules.fit.map((r) => [r.id, r.points]))).toEqual({
      'c-level': 30, 'manager-director': 20, 'company-over-250': 25, 'target-industry': 20, 'covered-country': 15,
    });
    expect(Object.fromEntries(rules.engagement.map((r) => [r.id, r.points]))).toEqual({ 'product-page': 5, 'white-paper': 10, 'webinar-signup': 15, 'pricing-page': 20 });
    expect(rules.thresholds).toEqual({ warm: 30, hot: 60 });
    expect(rules.decay.halfLifeDays).toBe(30);
    expect(rules.windowDays).toBe(90);
    expect(rules.negative.every((r) => r.points < 0)).toBe(true);
  });

  it('find pages by the site’s page groups when it has them, else by common paths', () => {
    const withGroups = defaultRules({ pricing: ['/tarifs*'], careers: ['/jobs*'], resources: ['/ressources*'] });
    expect(withGroups.engagement.find((r) => r.id === 'pricing-page')).toMatchObject({ pageGroup: 'pricing' });
    expect(withGroups.negative.find((r) => r.id === 'careers-page')).toMatchObject({ pageGroup: 'careers' });
    expect(withGroups.funnel).toEqual({ pricing: 'BOFU', resources: 'TOFU' });
    const without = defaultRules({});
    expect(without.engagement.find((r) => r.id === 'pricing-page')?.paths).toContain('/tarif*');
    expect(without.funnel).toEqual({});
  });

  it('make a JSON Schema for editors', () => {
    expect(z.toJSONSchema(rulesSchema, { io: 'input' })).toHaveProperty('properties.fit');
  });
});

describe('rules validation', () => {
  it('fills the defaults of an empty section', () => {
    expect(rulesSchema.parse({})).toMatchObject({ fit: [], engagement: [], windowDays: 90, decay: { halfLifeDays: 30 }, thresholds: { warm: 30, hot: 60 }, countBots: false });
  });

  it.each([
    [{ fit: [{ id: 'x', field: 'industry', values: ['saas'], pattern: 'saas', points: 5 }] }, 'fit.0: give exactly one of values, pattern or range'],
    [{ fit: [{ id: 'x', field: 'industry', points: 5 }] }, 'fit.0: give exactly one of values, pattern or range'],
    [{ fit: [{ id: 'x', field: 'country', values: ['France', 'Narnia'], points: 5 }] }, 'fit.0.values.1: expected a country name or ISO code'],
    [{ fit: [{ id: 'x', field: 'seniority', values: ['boss'], points: 5 }] }, 'fit.0.values.0: expected a seniority level'],
    [{ fit: [{ id: 'x', field: 'industry', pattern: '(', points: 5 }] }, 'fit.0.pattern: expected a regular expression'],
    [{ fit: [{ id: 'x', field: 'company_size', range: { min: 500, max: 10 }, points: 5 }] }, 'fit.0.range: min is above max'],
    [{ fit: [{ id: 'x', field: 'industry', values: ['saas'], points: -5 }] }, 'fit.0.points: fit points are positive'],
    [{ engagement: [{ id: 'x', event: 'click', points: 5 }] }, 'engagement.0.event: expected one of pageview'],
    [{ engagement: [{ id: 'x', event: 'download', minEngagedSeconds: 30, points: 5 }] }, 'engagement.0.minEngagedSeconds: only a pageview rule'],
    [{ engagement: [{ id: 'x', event: 'pageview', points: 5, cap: 0 }] }, 'engagement.0.cap'],
    [{ negative: [{ id: 'x', event: 'pageview', points: 5 }] }, 'negative.0.points: a negative rule takes points away'],
    [{ negative: [{ id: 'x', points: -5 }] }, 'negative.0: a negative rule tests either a field or an event'],
    [{ negative: [{ id: 'x', event: 'pageview', values: ['a'], points: -5 }] }, 'negative.0.values: values applies to a field rule'],
    [{ source: [{ id: 'x', points: 5 }] }, 'source.0: give utmSources, utmMediums or referrerHosts'],
    [{ thresholds: { warm: 70, hot: 60 } }, 'thresholds: warm must not be above hot'],
    [{ fit: [{ id: 'Bad Id', field: 'industry', values: ['saas'], points: 5 }] }, 'fit.0.id: a rule id is'],
    [
      { fit: [{ id: 'same', field: 'industry', values: ['saas'], points: 5 }], engagement: [{ id: 'same', event: 'pageview', points: 5 }] },
      'engagement.0.id: rule id "same" is used twice',
    ],
    [{ fit: [], extra: true }, ': Unrecognized key: "extra"'],
  ])('refuses %j, naming the path', (input, expected) => {
    expect(problems(input).some((line) => line.startsWith(expected))).toBe(true);
  });
});
