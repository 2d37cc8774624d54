// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseFile } from '../../../collector/config/load.ts';
import { globsToRegex } from '../../../scoring/compile.ts';
import { defaultRules, overCurrentRules, rulesSchema } from '../../../scoring/rules.ts';

const problems = (input: unknown) => {
  const result = rulesSchema.safeParse(input);
  if (result.success) throw new Error('expected the rules to be refused');
  return result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};

/** The lines a user reads for a rules file `candidate.json` (hearth backtest --rules), without the heading. */
const refusal = (input: unknown) => {
  try {
    parseFile(rulesSchema, input, 'candidate.json', 'rules');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n').slice(1).map((line) => line.trim());
    throw err;
  }
  throw new Error('expected the rules to be refused');
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

  it('give the target-industry points to software and IT however the answer words them, in French and English', () => {
    const industry = defaultRules({}).fit.find((r) => r.id === 'target-industry');
    const targets = (answer: string) => new RegExp(industry!.pattern!, 'i').test(answer);
    const answers = ['Computer Software', 'IT services', 'Informatique', 'Services informatiques', 'Technologies de l’information', 'Information Technologies', 'Technologie', 'ESN', 'SSII', 'Services numériques', 'Entreprise de services du numérique', 'Logiciel / SaaS'];
    expect(answers.filter((answer) => !targets(answer))).toEqual([]);
    expect(['Retail', 'Banque', 'Presse', 'Édition', 'Digital marketing', 'Kitchen'].filter(targets)).toEqual([]);
  });

  it('read a request for sales however the form is named', () => {
    const requestForm = new RegExp(globsToRegex(defaultRules({}).signals.requestForms).replace('(?i)', ''), 'i');
    const named = ['demo-request', 'Request a Demo', 'Contact Sales', 'contact_sales', 'contactSales', 'contact-our-sales-team', 'Contacter un commercial', 'demande-de-devis', 'Get a Quote'];
    // The article's other strong signals (QA: a meeting or a callback made no MQL).
    named.push('prise-de-rendez-vous', 'rdv-commercial', 'demande-de-rappel', 'talk-to-sales', 'schedule-a-call', 'book-a-meeting', 'demande-documentation', 'configurateur');
    expect(named.filter((name) => !requestForm.test(name))).toEqual([]);
    expect(['newsletter', 'contact', 'nous-contacter', 'webinar-signup', 'sales-newsletter', 'livre-blanc', 'inscription-evenement'].filter((name) => requestForm.test(name))).toEqual([]);
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
    // Scoring counts such answers as not given: a rule on them would never match anyone.
    [{ negative: [{ id: 'x', field: 'company', values: ['Acme', 'N/A'], points: -5 }] }, 'negative.0.values.1: "N/A" says nothing'],
    [{ fit: [{ id: 'x', field: 'industry', values: ['-'], points: 5 }] }, 'fit.0.values.0: "-" says nothing'],
    [{ fit: [{ id: 'x', field: 'country', values: ['France', 'NA'], points: 5 }] }, `fit.0.values.1: "NA" says nothing: such answers count as not given, even as a country's code: write the country's name`],
    [{ negative: [{ id: 'x', field: 'country', values: ['nc'], points: -5 }] }, 'negative.0.values.0: "nc" says nothing'],
    [{ fit: [{ id: 'x', field: 'industry', pattern: '(', points: 5 }] }, 'fit.0.pattern: not a regular expression RE2 accepts (missing closing ): `(`)'],
    [{ negative: [{ id: 'x', field: 'job_title', pattern: '', points: -5 }] }, 'negative.0.pattern: an empty pattern matches every answer: write "." to mean any answer'],
    [{ fit: [{ id: 'x', field: 'company_size', range: { min: 500, max: 10 }, points: 5 }] }, 'fit.0.range: min is above max'],
    [{ fit: [{ id: 'x', field: 'industry', values: ['saas'], points: -5 }] }, 'fit.0.points: fit points are positive'],
    [{ engagement: [{ id: 'x', event: 'click', points: 5 }] }, 'engagement.0.event: expected one of pageview'],
    [{ engagement: [{ id: 'x', event: 'download', minEngagedSeconds: 30, points: 5 }] }, 'engagement.0.minEngagedSeconds: only a pageview rule'],
    // A key no event of the rule's type has anything for would make a rule that never matches (`forms` for "form").
    [{ engagement: [{ id: 'x', event: 'pageview', forms: ['*demo*'], points: 5 }] }, "engagement.0.forms: forms match a form's name, which a pageview has not: only a form rule takes them"],
    [{ engagement: [{ id: 'x', event: 'download', forms: ['*demo*'], points: 5 }] }, "engagement.0.forms: forms match a form's name, which a download has not"],
    [{ engagement: [{ id: 'x', event: 'pageview', names: ['signup'], points: 5 }] }, "engagement.0.names: names match a custom event's name, which a pageview has not: only a track rule takes them"],
    [{ engagement: [{ id: 'x', event: 'form', assets: ['*.pdf'], points: 5 }] }, 'engagement.0.assets: assets match a link, which a form has not: only a download or outbound rule takes them'],
    [{ negative: [{ id: 'x', event: 'pageview', names: ['unsubscribe'], points: -5 }] }, "negative.0.names: names match a custom event's name, which a pageview has not"],
    [{ engagement: [{ id: 'x', event: 'identify', names: ['signup'], points: 5 }] }, "engagement.0.names: names match a custom event's name, which an identify has not"],
    [{ engagement: [{ id: 'x', event: 'outbound', forms: ['*demo*'], points: 5 }] }, "engagement.0.forms: forms match a form's name, which an outbound has not"],
    [{ engagement: [{ id: 'x', event: 'pageview', points: 5, cap: 0 }] }, 'engagement.0.cap'],
    [{ negative: [{ id: 'x', event: 'pageview', points: 5 }] }, 'negative.0.points: a negative rule takes points away'],
    [{ negative: [{ id: 'x', points: -5 }] }, 'negative.0: a negative rule tests either a field or an event'],
    [{ negative: [{ id: 'x', event: 'pageview', values: ['a'], points: -5 }] }, 'negative.0.values: values applies to a field rule'],
    [{ source: [{ id: 'x', points: 5 }] }, 'source.0: give utmSources, utmMediums or referrerHosts'],
    // A URL matches no referrer's host: the rule would never give its points.
    [{ source: [{ id: 'x', referrerHosts: ['linkedin.com', 'https://www.linkedin.com/feed'], points: 5 }] }, 'source.0.referrerHosts.1: expected a host ("www.linkedin.com"), not a URL'],
    [{ source: [{ id: 'x', referrerHosts: ['news.ycombinator.com/item'], points: 5 }] }, 'source.0.referrerHosts.0: expected a host ("news.ycombinator.com"), not a URL'],
    // A seniority is a level: a pattern would be tested against "c_level", never the title.
    [{ fit: [{ id: 'x', field: 'seniority', pattern: 'ceo|pdg', points: 5 }] }, 'fit.0.pattern: seniority is a level: give values (c_level, vp_director, manager, individual, student), or test the title itself with field "job_title"'],
    [{ negative: [{ id: 'x', field: 'seniority', range: { min: 1 }, points: -5 }] }, 'negative.0.range: seniority is a level'],
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

describe('rule patterns', () => {
  const fit = (pattern: string) => ({ fit: [{ id: 'title', field: 'job_title', pattern, points: 5 }] });
  const RE2_LACKS = 'ClickHouse runs patterns with RE2, which has no lookaheads, lookbehinds, backreferences or atomic groups';

  it('are refused when RE2, which runs them in ClickHouse, cannot compile them', () => {
    expect(refusal(fit('^(?!intern)'))).toEqual([
      `candidate.json: fit[0].pattern: not a regular expression RE2 accepts (invalid or unsupported Perl syntax: \`(?!\`): ${RE2_LACKS} (got "^(?!intern)")`,
    ]);
    expect(refusal(fit('(a)\\1'))).toEqual([`candidate.json: fit[0].pattern: not a regular expression RE2 accepts (invalid escape sequence: \`\\1\`): ${RE2_LACKS} (got "(a)\\\\1")`]);
    expect(refusal(fit('[^]'))).toEqual([`candidate.json: fit[0].pattern: not a regular expression RE2 accepts (missing closing ]: \`[^]\`): ${RE2_LACKS} (got "[^]")`]);
    expect(refusal(fit('(?<=chief )officer'))).toEqual([
      `candidate.json: fit[0].pattern: not a regular expression RE2 accepts (invalid named capture: \`(?<=chief )officer\`): ${RE2_LACKS} (got "(?<=chief )officer")`,
    ]);
  });

  it('accept RE2 syntax that JavaScript lacks, such as inline flags', () => {
    expect(rulesSchema.parse(fit('(?i)^ceo$')).fit[0]!.pattern).toBe('(?i)^ceo$');
    expect(rulesSchema.parse(fit('^\\pL+ officer$')).fit[0]!.pattern).toBe('^\\pL+ officer$');
  });
});

describe('numbers the scoring query cannot hold', () => {
  it.each([
    [{ engagement: [{ id: 'x', event: 'pageview', points: 3_000_000_000 }] }, 'engagement[0].points: expected at most 10,000 points per rule (got 3000000000)'],
    [{ fit: [{ id: 'x', field: 'industry', values: ['saas'], points: 1e16 }] }, 'fit[0].points: expected at most 10,000 points per rule (got 10000000000000000)'],
    [{ negative: [{ id: 'x', event: 'pageview', points: -20_000 }] }, 'negative[0].points: expected at most 10,000 points taken away per rule (got -20000)'],
    [{ source: [{ id: 'x', utmSources: ['ads'], points: -1e16 }] }, 'source[0].points: expected from -10,000 to 10,000 points (got -10000000000000000)'],
    [{ engagement: [{ id: 'x', event: 'pageview', points: 5, cap: 100_000_000 }] }, 'engagement[0].cap: expected at most 10,000 occurrences (got 100000000)'],
    [{ engagement: [{ id: 'x', event: 'pageview', points: 5, minEngagedSeconds: 1e300 }] }, 'engagement[0].minEngagedSeconds: expected at most 86,400 seconds (a day) (got 1e+300)'],
    [{ engagement: [{ id: 'x', event: 'pageview', points: 5, halfLifeDays: 1e6 }] }, 'engagement[0].halfLifeDays: expected at most 3,650 days (10 years) (got 1000000)'],
    [{ signals: { pricingDwellSeconds: 1e20 } }, 'signals.pricingDwellSeconds: expected at most 86,400 seconds (a day) (got 100000000000000000000)'],
    [{ signals: { pricingReturnsDays: 1e10 } }, 'signals.pricingReturnsDays: expected at most 3,650 days (10 years) (got 10000000000)'],
    [{ signals: { weakVisits: 1e10 } }, 'signals.weakVisits: expected at most 10,000 visits (got 10000000000)'],
    [{ fit: [{ id: 'x', field: 'company_size', range: { min: 1e308 }, points: 5 }] }, 'fit[0].range.min: expected a number from -1,000,000,000,000 to 1,000,000,000,000 (got 1e+308)'],
    [{ thresholds: { warm: 30, hot: 1e20 } }, 'thresholds.hot: expected a number from -1,000,000,000,000 to 1,000,000,000,000 (got 100000000000000000000)'],
  ])('refuses %j, saying the bound', (input, expected) => {
    expect(refusal(input)).toEqual([`candidate.json: ${expected}`]);
  });
});

describe('documentation words', () => {
  it('refuses a word that is no single word, naming its place', () => {
    expect(refusal({ signals: { docWords: ['datasheet', 'data sheet'] } })).toEqual(['candidate.json: signals.docWords[1]: expected one word of letters and digits, such as "datasheet" (got "data sheet")']);
    expect(rulesSchema.parse({ signals: { docWords: [] } }).signals.docWords).toEqual([]);
  });
});

describe('the hot re-arm mark', () => {
  it('is 50 with the default thresholds, and follows a lowered hot threshold', () => {
    expect(rulesSchema.parse({}).signals.hotRearmBelow).toBe(50);
    expect(rulesSchema.parse({ thresholds: { warm: 10, hot: 40 } }).signals.hotRearmBelow).toBe(30);
    expect(rulesSchema.parse({ thresholds: { warm: 30, hot: 90 } }).signals.hotRearmBelow).toBe(50);
    expect(rulesSchema.parse({ thresholds: { warm: 10, hot: 40 }, signals: { hotRearmBelow: 20 } }).signals.hotRearmBelow).toBe(20);
  });

  it('is refused above the hot threshold when given', () => {
    expect(refusal({ thresholds: { warm: 10, hot: 40 }, signals: { hotRearmBelow: 45 } })).toEqual([
      'candidate.json: signals.hotRearmBelow: the re-arm mark must not be above the hot threshold (40)',
    ]);
  });
});

describe('a backtest candidate over the current rules', () => {
  // A site's own rules: a fit and an engagement rule the grid lacks, thresholds and a half-life of its own.
  const current = rulesSchema.parse({
    fit: [{ id: 'engineer', field: 'job_title', values: ['Engineer'], points: 25 }],
    engagement: [{ id: 'any-pricing', event: 'pageview', paths: ['/pricing*'], points: 10 }],
    negative: [{ id: 'careers', event: 'pageview', paths: ['/careers*'], points: -15 }],
    decay: { halfLifeDays: 14 },
    windowDays: 60,
    thresholds: { warm: 25, hot: 50 },
    signals: { pricingDwellSeconds: 90 },
  });
  const candidate = (raw: unknown) => rulesSchema.parse(overCurrentRules(raw, current));

  it('is the current rules when the file gives nothing, or the current rules themselves', () => {
    expect(candidate({})).toEqual(current);
    expect(candidate(JSON.parse(JSON.stringify(current)))).toEqual(current);
  });

  it('takes what the file leaves out from the current rules, not the grid', () => {
    const moved = candidate({ thresholds: { warm: 15, hot: 32 } });
    expect(moved).toEqual({ ...current, thresholds: { warm: 15, hot: 32 }, signals: { ...current.signals, hotRearmBelow: 22 } });
    // One list given replaces that list alone; a setting given in part keeps the site's others.
    const engagement = [{ id: 'pricing', event: 'pageview', paths: ['/pricing*'], points: 30 }];
    expect(candidate({ engagement, thresholds: { hot: 70 } })).toMatchObject({ fit: current.fit, engagement, negative: current.negative, thresholds: { warm: 25, hot: 70 }, decay: { halfLifeDays: 14 }, windowDays: 60 });
    expect(candidate({ signals: { pricingReturns: 4 } }).signals).toMatchObject({ pricingDwellSeconds: 90, pricingReturns: 4 });
    expect(candidate({ fit: [] }).fit).toEqual([]);
  });

  it('lets a rule given in one list take the place of a current rule of the same id in a list left out', () => {
    const careers = { id: 'careers', event: 'pageview', paths: ['/jobs*'], points: 5 };
    expect(candidate({ engagement: [careers] })).toMatchObject({ engagement: [careers], negative: [] });
  });

  it('keeps a re-arm mark the site gave, and refuses a bad value at its path in the file', () => {
    const given = rulesSchema.parse({ ...current, signals: { hotRearmBelow: 20 } });
    expect(rulesSchema.parse(overCurrentRules({ thresholds: { warm: 10, hot: 30 } }, given)).signals.hotRearmBelow).toBe(20);
    expect(refusal(overCurrentRules({ engagement: [{ id: 'x', event: 'pageview', points: -1 }], thresholds: { warm: 60 } }, current))).toEqual([
      'candidate.json: engagement[0].points: engagement points are positive; use a negative rule to take points away (got -1)',
      'candidate.json: thresholds: warm must not be above hot (warm is 60, hot 50; by default warm is 30 and hot 60)',
    ]);
    expect(overCurrentRules([], current)).toEqual([]);
  });

  it('keeps a re-arm mark the site writes at the value its hot threshold would derive, and derives one it leaves out', () => {
    // 50 is what a hot threshold of 60 derives: written so in the config, it is the site's mark all the same.
    const site = rulesSchema.parse({ signals: { hotRearmBelow: 50 } });
    expect(refusal(overCurrentRules({ thresholds: { hot: 45 } }, site, true))).toEqual(['candidate.json: signals.hotRearmBelow: the re-arm mark must not be above the hot threshold (45)']);
    expect(rulesSchema.parse(overCurrentRules({ thresholds: { hot: 45 } }, site, false)).signals.hotRearmBelow).toBe(35);
    expect(rulesSchema.parse(overCurrentRules({ thresholds: { hot: 45 } }, site)).signals.hotRearmBelow).toBe(35);
  });
});
