import { RE2JS } from 're2js';
import { z } from 'zod';
import { countryCodeOf, saysNothing, SENIORITY_LEVELS } from './normalize.ts';
import { unlessIssuesAt } from './checks.ts';

/**
 * The scoring section of the config: which declarative answers (fit) and behaviours (engagement) give points,
 * which take them away, how fast interest fades, and where the temperatures start. Every rule has an id, so a
 * score explains itself as the list of rules that gave it points.
 */

const ruleId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'a rule id is 1–64 lowercase letters, digits, "-" or "_", e.g. "pricing-page"' });

/** A glob: `*` matches any run of characters, everything else itself, case-insensitively. */
const glob = z.string().min(1, { message: 'expected a pattern such as "/pricing*" or "*white-paper*"' });
const globs = z.array(glob).min(1, { message: 'list at least one pattern' });
/** A word, as a file's name is read for words (docWords): letters and digits. */
const docWord = z.string().regex(/^[\p{L}\p{N}]+$/u, { message: 'expected one word of letters and digits, such as "datasheet"' });
/** URL paths start with "/": a pattern that starts with anything but "/" or "*" ("pricing") matches no page. */
const pathGlobs = z.array(glob.regex(/^[/*]/, { message: 'a path pattern starts with "/" or "*", e.g. "/pricing*"' })).min(1, { message: 'list at least one pattern' });

/**
 * A regular expression as ClickHouse runs it: RE2 syntax (re2js is a port of RE2's parser), prefixed with `(?i)`.
 * JavaScript's RegExp would accept lookarounds and backreferences that ClickHouse then refuses at every scoring.
 */
// An empty expression matches every answer: a pattern left blank would give its points to everyone who answered.
const regexSource = z.string().min(1, { message: 'an empty pattern matches every answer: write "." to mean any answer' }).superRefine((source, ctx) => {
  try {
    RE2JS.compile(source);
    RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
  } catch (err) {
    const reason = (err as Error).message.replace(/^error parsing regexp: /, '');
    ctx.addIssue({
      code: 'custom',
      message: `not a regular expression RE2 accepts (${reason}): ClickHouse runs patterns with RE2, which has no lookaheads, lookbehinds, backreferences or atomic groups`,
    });
  }
});

/** Bounds that keep every number inside what the scoring query's types hold (a score is an Int32). */
const LIMITS = {
  /** Points one rule gives or takes. */
  points: 10_000,
  /** Occurrences a cap, or a signal's count of visits or pages, counts. */
  count: 10_000,
  /** Seconds of engaged time: a day. */
  seconds: 86_400,
  /** Days of a window, a half-life or a signal's period: ten years. */
  days: 3650,
  /** Bounds of a range on a field's number, and of the thresholds (query parameters must be safe integers). */
  number: 1e12,
} as const;
const figure = (n: number) => n.toLocaleString('en-US');
const atMost = (max: number, unit: string) => ({ message: `expected at most ${figure(max)} ${unit}` });
const days = z.number().positive().max(LIMITS.days, atMost(LIMITS.days, 'days (10 years)'));
const seconds = z.number().positive().max(LIMITS.seconds, atMost(LIMITS.seconds, 'seconds (a day)'));
const count = (min: number, unit: string) => z.number().int().min(min).max(LIMITS.count, atMost(LIMITS.count, unit));
const boundedNumber = () => {
  const within = { message: `expected a number from -${figure(LIMITS.number)} to ${figure(LIMITS.number)}` };
  return z.number().min(-LIMITS.number, within).max(LIMITS.number, within);
};
const maxPoints = atMost(LIMITS.points, 'points per rule');

export const STAGES = ['TOFU', 'MOFU', 'BOFU'] as const;
export type Stage = (typeof STAGES)[number];
const stage = z.enum(STAGES, { message: 'expected TOFU, MOFU or BOFU' });

export const EVENT_RULE_TYPES = ['pageview', 'download', 'form', 'outbound', 'track', 'identify'] as const;

/**
 * Fields a rule can test: any declarative key the forms and identify traits carry (job_title, company_size,
 * industry, country, or a site's own such as "budget"), and three derived ones: `seniority` (from the job
 * title), `email_domain`, `email`. `country` compares ISO codes and `company_size` the range's lower bound.
 */
const fieldName = z.string().regex(/^[a-z0-9_-]{1,64}$/, { message: 'expected a field name such as "job_title", "seniority" or "company_size"' });

const numberRange = z
  .object({ min: boundedNumber().optional(), max: boundedNumber().optional() })
  .strict()
  .refine((r) => r.min !== undefined || r.max !== undefined, { message: 'give min, max or both' })
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min is above max' });

const fieldMatch = {
  field: fieldName,
  /** Any of these values; compared without case, accents or punctuation ("Île-de-France" = "ile de france"). */
  values: z.array(z.string().min(1)).min(1, { message: 'list at least one value' }).optional(),
  /** A regular expression (RE2 syntax, as ClickHouse runs it) tested without case against the value as typed. */
  pattern: regexSource.optional(),
  /** Inclusive bounds on the value's number (for a range such as "251-500", its lower bound). */
  range: numberRange.optional(),
};

const eventMatch = {
  event: z.enum(EVENT_RULE_TYPES, { message: `expected one of ${EVENT_RULE_TYPES.join(', ')}` }),
  /** A page group of the site (sites[].pageGroups) the event's page is in. */
  pageGroup: z.string().min(1).optional(),
  /** Patterns the event's URL path matches (any of them). */
  paths: pathGlobs.optional(),
  /** Patterns a download's asset name or link URL matches, or an outbound link's URL (download and outbound rules). */
  assets: globs.optional(),
  /** Patterns a form's name matches (form rules). */
  forms: globs.optional(),
  /** Patterns a custom (track) event's name matches (track rules). */
  names: globs.optional(),
  /** Count a page view only when the visitor was engaged this long on that page in that session. */
  minEngagedSeconds: seconds.optional(),
};

const eventTally = {
  /** At most this many occurrences count (the most recent ones): a content collector is not a buyer. */
  cap: count(1, 'occurrences').optional(),
  /** This rule's own half-life, when its signal fades faster or slower than the default. */
  halfLifeDays: days.optional(),
  /** The funnel stage an occurrence shows the lead reached. */
  stage: stage.optional(),
};

function checkFieldMatch(rule: { field?: string | undefined; values?: string[] | undefined; pattern?: string | undefined; range?: unknown }, ctx: z.RefinementCtx) {
  const given = (['values', 'pattern', 'range'] as const).filter((key) => rule[key] !== undefined);
  if (given.length !== 1) ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of values, pattern or range' });
  // Scoring counts an answer that says nothing ("-", "N/A") as not given, so no lead could match such a value (a
  // seniority has its own check below). "NA" and "NC" say nothing even as Namibia's and New Caledonia's codes: a
  // lead's answer is read as the name of the country.
  rule.values?.forEach((value, i) => {
    if (saysNothing(value) && rule.field !== 'seniority') {
      const hint = rule.field === 'country' ? `, even as a country's code: write the country's name` : ', so no lead would match it';
      ctx.addIssue({ code: 'custom', path: ['values', i], message: `${JSON.stringify(value)} says nothing: such answers count as not given${hint}`, input: value });
    }
  });
  // A seniority is a level read from the job title: a pattern would be tested against the level's name ("c_level"),
  // never the title, and a level has no number.
  if (rule.field === 'seniority' && (rule.pattern !== undefined || rule.range !== undefined)) {
    const key = rule.pattern !== undefined ? 'pattern' : 'range';
    ctx.addIssue({ code: 'custom', path: [key], message: `seniority is a level: give values (${SENIORITY_LEVELS.join(', ')}), or test the title itself with field "job_title"` });
  }
  if (rule.field === 'seniority' && rule.values) {
    rule.values.forEach((value, i) => {
      if (!(SENIORITY_LEVELS as readonly string[]).includes(value)) {
        ctx.addIssue({ code: 'custom', path: ['values', i], message: `expected a seniority level: ${SENIORITY_LEVELS.join(', ')}`, input: value });
      }
    });
  }
  if (rule.field === 'country' && rule.values) {
    rule.values.forEach((value, i) => {
      if (!saysNothing(value) && !countryCodeOf(value)) ctx.addIssue({ code: 'custom', path: ['values', i], message: 'expected a country name or ISO code, e.g. "France" or "FR"', input: value });
    });
  }
}

/** "a form", "an identify": an event type with its article. */
const article = (event: string) => `${/^[aeiou]/.test(event) ? 'an' : 'a'} ${event}`;

/**
 * An event rule's keys that only some events have something to match: engaged time is a page's, a name a form's or a
 * custom event's, a link a download's or an outbound click's. Anywhere else the key would make a rule that never
 * matches (`"event": "pageview", "forms": […]` for `"form"`), or one that matches more than it says.
 */
const KEYS_OF_EVENTS = {
  minEngagedSeconds: { events: ['pageview'], message: () => 'only a pageview rule can ask for engaged time' },
  forms: { events: ['form'], message: (event: string) => `forms match a form's name, which ${article(event)} has not: only a form rule takes them` },
  names: { events: ['track'], message: (event: string) => `names match a custom event's name, which ${article(event)} has not: only a track rule takes them` },
  assets: { events: ['download', 'outbound'], message: (event: string) => `assets match a link, which ${article(event)} has not: only a download or outbound rule takes them` },
} satisfies Record<string, { events: (typeof EVENT_RULE_TYPES)[number][]; message: (event: string) => string }>;

function checkEventMatch(rule: { event?: string | undefined } & Partial<Record<keyof typeof KEYS_OF_EVENTS, unknown>>, ctx: z.RefinementCtx) {
  for (const [key, { events, message }] of Object.entries(KEYS_OF_EVENTS)) {
    if (rule[key as keyof typeof KEYS_OF_EVENTS] !== undefined && !(events as string[]).includes(rule.event!)) ctx.addIssue({ code: 'custom', path: [key], message: message(rule.event!) });
  }
}

/**
 * The checks the rules' refinements make that JSON Schema can say too, for the editor schema (`hearth schema`): an
 * editor flags them as the loader would. (Others, a bad RE2 pattern, min above max, an unknown page group, an id used
 * twice, need Hearth: `hearth migrate --config FILE` checks a config whole.)
 */
const exactlyOneOf = (...keys: string[]) => ({ oneOf: keys.map((key) => ({ required: [key] })) });
const noneOf = (...keys: string[]) => ({ not: { anyOf: keys.map((key) => ({ required: [key] })) } });
const FIELD_MATCH_JSON = [
  exactlyOneOf('values', 'pattern', 'range'),
  {
    if: { properties: { field: { const: 'seniority' } }, required: ['field'] },
    then: { properties: { values: { type: 'array', items: { type: 'string', enum: [...SENIORITY_LEVELS] } } }, required: ['values'] },
  },
];
/** KEYS_OF_EVENTS, as JSON Schema says it: each key only beside the events it applies to. */
const KEYS_OF_EVENTS_JSON = Object.entries(KEYS_OF_EVENTS).map(([key, { events }]) => ({
  if: { required: [key] },
  then: { properties: { event: events.length === 1 ? { const: events[0] } : { enum: events } }, required: ['event'] },
}));
const EVENT_ONLY_KEYS = ['pageGroup', 'paths', 'assets', 'forms', 'names', 'minEngagedSeconds', 'cap', 'halfLifeDays', 'stage', 'lasting'] as const;

export const fitRuleSchema = z
  .object({ id: ruleId, ...fieldMatch, points: z.number().positive({ message: 'fit points are positive; use a negative rule to take points away' }).max(LIMITS.points, maxPoints) })
  .strict()
  .superRefine(checkFieldMatch)
  .meta({ allOf: FIELD_MATCH_JSON });

export const engagementRuleSchema = z
  .object({
    id: ruleId,
    ...eventMatch,
    ...eventTally,
    points: z.number().positive({ message: 'engagement points are positive; use a negative rule to take points away' }).max(LIMITS.points, maxPoints),
  })
  .strict()
  .superRefine(checkEventMatch)
  .meta({ allOf: KEYS_OF_EVENTS_JSON });

/** Either a field test (a free-mail or student email domain, a competitor) or an event test (careers pages, unsubscribes). */
export const negativeRuleSchema = z
  .object({
    id: ruleId,
    field: fieldMatch.field.optional(),
    values: fieldMatch.values,
    pattern: fieldMatch.pattern,
    range: fieldMatch.range,
    ...eventMatch,
    event: eventMatch.event.optional(),
    ...eventTally,
    /**
     * The event stands for a state rather than a signal (an unsubscribe): its points neither decay nor leave with
     * the window, however old it is.
     */
    lasting: z.boolean().optional(),
    points: z
      .number()
      .negative({ message: 'a negative rule takes points away: expected a negative number' })
      .min(-LIMITS.points, { message: `expected at most ${figure(LIMITS.points)} points taken away per rule` }),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if ((rule.field === undefined) === (rule.event === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a negative rule tests either a field or an event: give exactly one of field, event' });
      return;
    }
    if (rule.field !== undefined) {
      checkFieldMatch(rule, ctx);
      for (const key of EVENT_ONLY_KEYS) {
        if (rule[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to an event rule, not a field rule` });
      }
    } else {
      checkEventMatch(rule, ctx);
      if (rule.lasting) {
        if (rule.halfLifeDays !== undefined) ctx.addIssue({ code: 'custom', path: ['halfLifeDays'], message: 'a lasting rule does not decay: give lasting or halfLifeDays, not both' });
        if (rule.minEngagedSeconds !== undefined) ctx.addIssue({ code: 'custom', path: ['lasting'], message: 'a lasting rule counts events, not engaged page visits (minEngagedSeconds)' });
      }
      for (const key of ['values', 'pattern', 'range'] as const) {
        if (rule[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} applies to a field rule, not an event rule` });
      }
    }
  })
  .meta({
    allOf: [
      exactlyOneOf('field', 'event'),
      { if: { required: ['field'] }, then: { allOf: [...FIELD_MATCH_JSON, noneOf(...EVENT_ONLY_KEYS)] }, else: noneOf('values', 'pattern', 'range') },
      { if: { properties: { lasting: { const: true } }, required: ['lasting'] }, then: noneOf('halfLifeDays', 'minEngagedSeconds') },
      ...KEYS_OF_EVENTS_JSON,
    ],
  });

/**
 * A referrer's host, as a browser gives it (`new URL(referrer).hostname`): a URL ("https://www.linkedin.com/") would
 * match no referrer, however often LinkedIn sent visitors.
 */
const HOST = /^\s*[^\s/:?#@\\]+\s*$/;
const referrerHost = z.string().min(1).superRefine((value, ctx) => {
  if (HOST.test(value)) return;
  const host = value.trim();
  let suggestion = '';
  try {
    suggestion = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(host) ? host : `https://${host}`).hostname;
  } catch {}
  ctx.addIssue({ code: 'custom', message: `expected a host${suggestion ? ` ("${suggestion}")` : ', such as "linkedin.com"'}, not a URL: it matches the referrer's host and its subdomains` });
}).meta({ pattern: HOST.source });

/** Points for the channel of the lead's first touch (the earliest session that came from somewhere); any list may match. */
export const sourceRuleSchema = z
  .object({
    id: ruleId,
    utmSources: z.array(z.string().min(1)).min(1).optional(),
    utmMediums: z.array(z.string().min(1)).min(1).optional(),
    /** Hosts, matching their subdomains too: "linkedin.com" matches "www.linkedin.com". */
    referrerHosts: z.array(referrerHost).min(1).optional(),
    points: z
      .number()
      .min(-LIMITS.points, { message: `expected from -${figure(LIMITS.points)} to ${figure(LIMITS.points)} points` })
      .max(LIMITS.points, { message: `expected from -${figure(LIMITS.points)} to ${figure(LIMITS.points)} points` })
      .refine((n) => n !== 0, { message: 'a source rule gives or takes points: expected a non-zero number' }),
  })
  .strict()
  .refine((r) => r.utmSources || r.utmMediums || r.referrerHosts, { message: 'give utmSources, utmMediums or referrerHosts' })
  .meta({ allOf: [{ anyOf: [{ required: ['utmSources'] }, { required: ['utmMediums'] }, { required: ['referrerHosts'] }] }, { properties: { points: { type: 'number', not: { const: 0 } } } }] });

/** The pricing pages' group when the rules name none; a site without it finds them by `pricingPaths`. */
const DEFAULT_PRICING_PAGE_GROUP = 'pricing';

/** The pricing pages, as path globs: the signals' page group of the site, else their paths. The pricing signals and
 * the dashboards' pricing panel both read them here, so they count the same pages. */
export const pricingPages = (signals: Pick<SignalRules, 'pricingPageGroup' | 'pricingPaths'>, pageGroups: PageGroups): string[] =>
  pageGroups[signals.pricingPageGroup] ?? signals.pricingPaths;

/**
 * Buying signals (the article's "signaux d'achat forts", and an accumulation of weak ones): behaviour that says a
 * lead is ready for sales now, whatever its score. Each is computed per lead with the time it last happened, and
 * alerts sales when it happens anew. Pages are found by page group when the site has one, else by path.
 */
export const signalsSchema = z
  .object({
    /**
     * Forms that ask to talk to sales, the article's strongest signals: a demo, a quote, the pricing grid, a meeting
     * or a call (« sollicitation d'un rendez-vous commercial », « demande de rappel »), documentation, an offer
     * configured online. A plain contact form is not one: support, press and job seekers write there too (a site whose
     * contact form is its sales inquiry adds "*contact*").
     */
    // Patterns ignore case, not accents: "Demande de démo" needs its own.
    requestForms: globs.default([
      '*demo*', '*démo*', '*quote*', '*devis*', '*pricing*', '*tarif*', '*contact*sales*', '*commercial*', '*talk*', '*rendez*vous*',
      '*rdv*', '*meeting*', '*appointment*', '*call*', '*rappel*', '*documentation*', '*brochure*', '*configura*',
    ]),
    /** Where the pricing pages are: this page group of the site; a site without the default group finds them by these paths. */
    pricingPageGroup: z.string().min(1).default(DEFAULT_PRICING_PAGE_GROUP),
    pricingPaths: pathGlobs.default(['/pricing*', '/tarif*', '*/pricing*', '*/tarif*']),
    /** Engaged time on pricing pages within one visit (session) that counts as a strong signal. */
    pricingDwellSeconds: seconds.default(120),
    /** Returns to pricing: this many distinct visits with a pricing page… */
    pricingReturns: count(2, 'visits').default(3),
    /** …within this many days. */
    pricingReturnsDays: days.default(7),
    /**
     * Technical documentation asked for: downloads whose name or link path holds one of these words, as a whole word
     * in any case and accents or not ("API-reference.pdf", "SecurityWhitepaper.pdf", "fiche_technique.pdf",
     * "Sécurité des données.pdf"; not "capital-guide.pdf", "rapid-roi.pdf" or "special-offer.pdf", which patterns
     * such as "*api*" and "*spec*" took for documentation)…
     */
    docWords: z.array(docWord).default(['spec', 'specs', 'specification', 'specifications', 'technical', 'technique', 'techniques', 'api', 'architecture', 'security', 'securite', 'datasheet']),
    /** …or whose name or link matches one of these patterns. */
    docAssets: globs.default(['*/docs/*']),
    /** Weak signals piling up: this many visits within `weakDays`… */
    weakVisits: count(2, 'visits').default(5),
    weakDays: days.default(30),
    /** …or one visit this deep (page views in one session). */
    weakPagesPerSession: count(2, 'pages').default(8),
    /** Hysteresis of "became hot": after alerting, the score must fall below this before it can alert again
     * (default: 10 below the hot threshold, at most 50). */
    hotRearmBelow: boundedNumber().optional(),
  })
  .strict();

const DEFAULT_THRESHOLDS = { warm: 30, hot: 60 };

export const rulesSchema = z
  .object({
    fit: z.array(fitRuleSchema).default([]),
    engagement: z.array(engagementRuleSchema).default([]),
    negative: z.array(negativeRuleSchema).default([]),
    source: z.array(sourceRuleSchema).default([]),
    /** Points × 0.5^(age / half-life): last quarter's pricing visit is worth less than this morning's. */
    decay: z.object({ halfLifeDays: days.default(30) }).strict().default({ halfLifeDays: 30 }),
    /** Behaviour older than this gives no points; declarative answers and identity never expire. */
    windowDays: z.number().int().positive().max(LIMITS.days, atMost(LIMITS.days, 'days (10 years)')).default(90),
    /** Below `warm` a lead is cold (nurture), above `hot` it is hot (to sales), warm in between. */
    thresholds: z
      .object({ warm: boundedNumber().default(DEFAULT_THRESHOLDS.warm), hot: boundedNumber().default(DEFAULT_THRESHOLDS.hot) })
      .strict()
      // Both values said, as one of them may be the default the user never wrote.
      .superRefine((t, ctx) => {
        if (t.warm > t.hot) ctx.addIssue({ code: 'custom', message: `warm must not be above hot (warm is ${t.warm}, hot ${t.hot}; by default warm is ${DEFAULT_THRESHOLDS.warm} and hot ${DEFAULT_THRESHOLDS.hot})` });
      })
      .default(DEFAULT_THRESHOLDS),
    /** The funnel stage of each page group's content; a lead's stage is the deepest it engaged with. */
    funnel: z.record(z.string().min(1), stage).default({}),
    signals: signalsSchema.prefault({}),
    /** Count events of browsers flagged as automated (the snippet marks headless browsers and webdriver). */
    countBots: z.boolean().default(false),
  })
  .strict()
  .superRefine((rules, ctx) => {
    if (rules.signals.hotRearmBelow !== undefined && rules.signals.hotRearmBelow > rules.thresholds.hot) {
      ctx.addIssue({ code: 'custom', path: ['signals', 'hotRearmBelow'], message: `the re-arm mark must not be above the hot threshold (${rules.thresholds.hot})` });
    }
    const seen = new Set<string>();
    for (const kind of ['fit', 'engagement', 'negative', 'source'] as const) {
      rules[kind].forEach((rule, i) => {
        if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: [kind, i, 'id'], message: `rule id "${rule.id}" is used twice` });
        seen.add(rule.id);
      });
    }
  }, unlessIssuesAt(['signals', 'hotRearmBelow'], ['thresholds'], ...(['fit', 'engagement', 'negative', 'source'] as const).map((kind) => [kind, '*', 'id'])))
  .transform((rules) => ({ ...rules, signals: { ...rules.signals, hotRearmBelow: rules.signals.hotRearmBelow ?? defaultHotRearm(rules.thresholds.hot) } }));

/** 10 below the hot threshold, at most 50 (the default thresholds' mark): lowering `hot` lowers the mark with it. */
const defaultHotRearm = (hot: number) => Math.min(50, hot - 10);

export type Rules = z.infer<typeof rulesSchema>;
export type SignalRules = Rules['signals'];
export type RulesInput = z.input<typeof rulesSchema>;
export type FitRule = z.infer<typeof fitRuleSchema>;
export type EngagementRule = z.infer<typeof engagementRuleSchema>;
export type NegativeRule = z.infer<typeof negativeRuleSchema>;
export type SourceRule = z.infer<typeof sourceRuleSchema>;
export type PageGroups = Record<string, string[]>;

/** A rule naming a page group the site lacks: where in the rules, and what is wrong. */
export interface PageGroupProblem {
  path: (string | number)[];
  message: string;
}

/**
 * The rules' references to page groups the site lacks: event rules' `pageGroup`, the funnel's groups, and a
 * `signals.pricingPageGroup` other than the default (which falls back to `pricingPaths` on a site without it).
 */
/** What unknownPageGroups reads of the rules. */
export const PAGE_GROUP_READS = [['engagement', '*', 'pageGroup'], ['negative', '*', 'pageGroup'], ['funnel'], ['signals', 'pricingPageGroup']] as const;

export function unknownPageGroups(rules: Rules, pageGroups: PageGroups): PageGroupProblem[] {
  const known = Object.keys(pageGroups);
  const has = (group: string) => Object.hasOwn(pageGroups, group);
  const problem = (path: (string | number)[], group: string) => ({ path, message: `the site has no page group "${group}" (it has: ${known.join(', ') || 'none'})` });
  const problems: PageGroupProblem[] = [];
  for (const kind of ['engagement', 'negative'] as const) {
    rules[kind].forEach((rule, i) => {
      if (rule.pageGroup !== undefined && !has(rule.pageGroup)) problems.push(problem([kind, i, 'pageGroup'], rule.pageGroup));
    });
  }
  for (const group of Object.keys(rules.funnel)) if (!has(group)) problems.push(problem(['funnel', group], group));
  const pricing = rules.signals.pricingPageGroup;
  if (pricing !== DEFAULT_PRICING_PAGE_GROUP && !has(pricing)) problems.push(problem(['signals', 'pricingPageGroup'], pricing));
  return problems;
}

/** Page-group names sites commonly use, and the funnel stage of their content. */
const USUAL_STAGES: Record<string, Stage> = {
  blog: 'TOFU',
  resources: 'TOFU',
  guides: 'TOFU',
  product: 'MOFU',
  features: 'MOFU',
  webinar: 'MOFU',
  docs: 'MOFU',
  customers: 'BOFU',
  pricing: 'BOFU',
  demo: 'BOFU',
  contact: 'BOFU',
};

/**
 * Free-mail providers: a personal address says nothing about a company. The grid's covered countries' own providers
 * (Belgium, Switzerland, Luxembourg) are here too: without them, strangers on skynet.be made one account; so are the
 * world's largest (Russia, China, Korea, India…), the privacy relays and the throwaway mailboxes form spam comes from, which the accounts'
 * wider list (accounts.ts) had and the score had not: a CEO's demo request from yopmail.com lost no points. The rule
 * is matched against each lead in the scoring query, so it lists the providers that matter rather than all 8,700.
 */
export const FREE_MAIL_DOMAINS = [
  'gmail.com', 'googlemail.com', 'yahoo.com', 'yahoo.fr', 'hotmail.com', 'hotmail.fr', 'outlook.com', 'outlook.fr', 'live.com',
  'live.fr', 'msn.com', 'aol.com', 'icloud.com', 'me.com', 'gmx.com', 'gmx.fr', 'gmx.de', 'web.de', 'proton.me', 'protonmail.com',
  'orange.fr', 'wanadoo.fr', 'free.fr', 'sfr.fr', 'laposte.net', 'bbox.fr', 'neuf.fr', 'yandex.com', 'mail.com',
  'aliceadsl.fr', 'club-internet.fr', 'numericable.fr', 'aol.fr', 'ymail.com', 'mac.com', 'pm.me', 'protonmail.ch', 'gmx.net',
  'yahoo.co.uk', 'hotmail.co.uk', 'live.co.uk', 'yahoo.de', 'hotmail.de', 't-online.de', 'yahoo.es', 'hotmail.es', 'yahoo.it',
  'hotmail.it', 'libero.it', 'skynet.be', 'telenet.be', 'proximus.be', 'scarlet.be', 'voo.be', 'hotmail.be', 'outlook.be',
  'live.be', 'bluewin.ch', 'hispeed.ch', 'sunrise.ch', 'gmx.ch', 'hotmail.ch', 'pt.lu',
  'mail.ru', 'yandex.ru', 'ya.ru', 'rambler.ru', 'bk.ru', 'inbox.ru', 'list.ru', 'ukr.net', 'qq.com', 'foxmail.com', '163.com', '126.com',
  'yeah.net', 'sina.com', 'naver.com', 'daum.net', 'hanmail.net', 'rediffmail.com', 'yahoo.co.jp', 'yahoo.co.in', 'yahoo.com.br',
  'uol.com.br', 'bol.com.br', 'hotmail.com.br', 'seznam.cz', 'wp.pl', 'o2.pl', 'onet.pl', 'interia.pl', 'tutanota.com', 'tuta.io',
  'zohomail.com', 'fastmail.com', 'hushmail.com', 'mailbox.org', 'posteo.de', 'comcast.net', 'verizon.net', 'att.net',
  'yopmail.com', 'yopmail.fr', 'mailinator.com', 'guerrillamail.com', 'sharklasers.com', 'grr.la', '10minutemail.com',
  'temp-mail.org', 'tempmail.com', 'trashmail.com', 'throwawaymail.com', 'getnada.com', 'maildrop.cc', 'dispostable.com',
  'mailnesia.com', 'spamgourmet.com', 'jetable.org', 'mytrashmail.com', 'mohmal.com', 'emailondeck.com',
  // Privacy relays, which forward to a personal mailbox: strangers on duck.com made one hot account.
  'duck.com', 'mozmail.com', 'privaterelay.appleid.com', 'passmail.net', 'passinbox.com', 'simplelogin.com', 'simplelogin.co',
  'slmail.me', 'aleeas.com', 'anonaddy.me', 'anonaddy.com', 'addy.io', '33mail.com',
];

/**
 * The article's scoring grid for a site with these page groups: fit (CEO/PDG/founder 30, manager/director/head
 * 20, company of 250 employees or more 25, target industry 20, covered country 15) and engagement (product page
 * view 5, white-paper download 10, webinar sign-up 15, pricing page view 20). Pages are found by the site's
 * page groups when it names them ("product", "pricing", "careers"), else by common English and French paths.
 * Target industries and covered countries are examples (software; France and its French-speaking neighbours):
 * every site sets its own.
 */
export function defaultRules(pageGroups: PageGroups = {}): Rules {
  return rulesSchema.parse(gridInput(pageGroups));
}

/** The lists of rules a site's `rules` take from the grid, and a backtest file from the site's rules, when they leave them out. */
const GRID_LISTS = ['fit', 'engagement', 'negative', 'source', 'funnel'] as const;

/**
 * A site's `rules` as written with the grid's lists for those they leave out: changing the thresholds or adding an
 * engagement list keeps the fit, negative and source rules (before, each list left out was empty, and
 * `{ "thresholds": … }` alone scored every lead 0). A list given replaces the grid's; `[]` is none. Anything but an
 * object is returned as it is, for the schema to refuse.
 */
export function withGridLists(raw: unknown, pageGroups: unknown): unknown {
  if (!isRecord(raw)) return raw;
  return withListsOf(raw, gridInput(isRecord(pageGroups) ? (pageGroups as PageGroups) : {}));
}

/**
 * `current` (a site's rules) with the grid's lists over `pageGroups` in place of those `ownList` says the site's
 * rules leave to the grid: a backtest file's page groups are read by the grid's rules the site keeps (its pricing
 * page found by a "pricing" group or by the grid's paths), as they would be with those groups in the config.
 */
export function withGridListsOver(current: Rules, ownList: (list: string) => boolean, pageGroups: PageGroups): Rules {
  const grid = defaultRules(pageGroups);
  return { ...current, ...Object.fromEntries(GRID_LISTS.filter((list) => !ownList(list)).map((list) => [list, grid[list]])) };
}

/** The settings a backtest file may give in part: what it leaves out of them stays the site's. */
const SETTINGS = ['decay', 'thresholds', 'signals'] as const;

/**
 * A backtest candidate as written (the shape of a site's `rules`) over the rules the site scores with now: what the
 * file leaves out is the site's, not the grid's, so a file with only thresholds changes temperatures alone and an
 * empty file changes nothing. A list (or the funnel) given replaces the site's; within decay, thresholds and
 * signals, each setting given replaces the site's. The re-arm mark the site's thresholds derived is derived again
 * from the candidate's; one the site's rules write (`markWritten`, when known) is kept, whatever its value: one
 * written at the value its hot threshold would derive (50 for 60) was taken for derived, so a candidate that moved
 * the hot threshold passed with a mark the config does not have, and was reported as changing it. Without
 * `markWritten`, a mark at the derived value is taken for derived. Anything but an object is returned as it is, for
 * the schema to refuse.
 */
export function overCurrentRules(raw: unknown, current: Rules, markWritten?: boolean): unknown {
  if (!isRecord(raw)) return raw;
  const { hotRearmBelow, ...signals } = current.signals;
  const derived = !(markWritten ?? hotRearmBelow !== defaultHotRearm(current.thresholds.hot));
  const base: Record<string, unknown> = { ...current, signals: derived ? signals : current.signals };
  const merged = { ...base, ...withListsOf(raw, base) };
  for (const key of SETTINGS) {
    if (isRecord(raw[key]) && isRecord(base[key])) merged[key] = { ...base[key], ...raw[key] };
  }
  return merged;
}

/**
 * `raw` with `base`'s lists for those it leaves out. A rule given under the id of a base rule in a list left out
 * takes its place (the careers page made engagement, say): kept as well, the two would be refused as an id "used
 * twice" at a path that is nowhere in the user's file.
 */
function withListsOf(raw: Record<string, unknown>, base: Record<string, unknown>): Record<string, unknown> {
  const leftOut = GRID_LISTS.filter((list) => !Object.hasOwn(raw, list));
  const given = new Set(GRID_LISTS.flatMap((list) => (Array.isArray(raw[list]) ? raw[list].flatMap((rule) => (isRecord(rule) && typeof rule.id === 'string' ? [rule.id] : [])) : [])));
  const fromBase = (list: (typeof GRID_LISTS)[number]) => {
    const rules = base[list];
    return Array.isArray(rules) ? rules.filter((rule: { id: string }) => !given.has(rule.id)) : rules;
  };
  return { ...Object.fromEntries(leftOut.map((list) => [list, fromBase(list)])), ...raw };
}

/** A JSON object (not an array, not null), as parsed from a config or rules file. */
export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function gridInput(pageGroups: PageGroups): RulesInput & Required<Pick<RulesInput, (typeof GRID_LISTS)[number]>> {
  const pages = (group: string, paths: string[]) => (Object.hasOwn(pageGroups, group) ? { pageGroup: group } : { paths });
  return {
    fit: [
      { id: 'c-level', field: 'seniority', values: ['c_level'], points: 30 },
      { id: 'manager-director', field: 'seniority', values: ['vp_director', 'manager'], points: 20 },
      // The article's "> 250 salariés" are the large companies: forms ask by brackets that start there ("250-4999",
      // "250+", INSEE's and the EU's), and a "250-4999" answer is a company above 250 employees.
      { id: 'company-over-250', field: 'company_size', range: { min: 250 }, points: 25 },
      // Words in the answer, as people and LinkedIn write industries: "Computer Software", "IT services",
      // "Information Technology and Services", "Logiciel / SaaS", "Informatique, télécoms", "Édition de logiciels",
      // "Services informatiques", "Technologies de l'information", "ESN" (entreprise de services du numérique), "SSII".
      { id: 'target-industry', field: 'industry', pattern: '\\b(software|saas|it|ict|information technolog(?:y|ies)|technolog(?:y|ie|ies)|tech|logiciels?|informatiques?|esn|ssii|services? (?:du )?num[eé]riques?)\\b', points: 20 },
      { id: 'covered-country', field: 'country', values: ['FR', 'BE', 'CH', 'LU'], points: 15 },
    ],
    engagement: [
      { id: 'product-page', event: 'pageview', ...pages('product', ['/product*', '/produit*', '*/product/*', '*/produit/*']), points: 5, cap: 4, stage: 'MOFU' },
      { id: 'white-paper', event: 'download', assets: ['*white*paper*', '*livre*blanc*'], points: 10, cap: 2, stage: 'TOFU' },
      { id: 'webinar-signup', event: 'form', forms: ['*webinar*', '*webinaire*'], points: 15, cap: 2, stage: 'MOFU' },
      { id: 'pricing-page', event: 'pageview', ...pages('pricing', ['/pricing*', '/tarif*', '*/pricing*', '*/tarif*']), points: 20, cap: 2, stage: 'BOFU' },
    ],
    negative: [
      { id: 'careers-page', event: 'pageview', ...pages('careers', ['*/careers*', '*/jobs*', '*/carrieres*', '*/carrières*', '*/recrutement*', '*/emploi*']), points: -15, cap: 1 },
      { id: 'free-mail', field: 'email_domain', values: FREE_MAIL_DOMAINS, points: -10 },
      { id: 'student', field: 'seniority', values: ['student'], points: -15 },
      { id: 'unsubscribed', event: 'track', names: ['unsubscribe*', 'desabonnement*', 'désabonnement*', 'desinscription*', 'désinscription*'], points: -20, cap: 1, lasting: true },
    ],
    source: [],
    // Own names only: a group called "constructor" is not a usual stage's name.
    funnel: Object.fromEntries(Object.keys(pageGroups).flatMap((group) => (Object.hasOwn(USUAL_STAGES, group) ? [[group, USUAL_STAGES[group]!]] : []))),
  };
}
