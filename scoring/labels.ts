/**
 * Ids as people read them, on the dashboards and in the CSV exports alike (a spreadsheet says what the screen says):
 * rules, roles, signals and boxes. Plain data, so the dashboards' bundle takes it without the scoring code.
 */

/** Rule ids and box names as words: "pricing-page" → "Pricing page", "economic_buyer" → "Economic buyer". */
export const humanize = (id: string) => id.charAt(0).toUpperCase() + id.slice(1).replace(/[-_]+/g, ' ');

/** The default grid's rules (scoring/rules.ts) as sales read them; a site's own rules by their ids, humanized. */
const GRID_RULES: Record<string, string> = {
  'c-level': 'CEO, founder (C-level)',
  'manager-director': 'Manager or director',
  'company-over-250': '250+ employees',
  'target-industry': 'Target industry',
  'covered-country': 'Covered country',
  'product-page': 'Product pages',
  'white-paper': 'White paper',
  'webinar-signup': 'Webinar sign-up',
  'pricing-page': 'Pricing page',
  'careers-page': 'Careers page',
  'free-mail': 'Free email address',
  student: 'Student',
  unsubscribed: 'Unsubscribed',
};

/** A scoring rule's name: "Pricing page", "CEO, founder (C-level)", "Budget confirmed" for `budget-confirmed`. */
export const ruleName = (rule: string) => GRID_RULES[rule] ?? humanize(rule);

/** The seniority levels (scoring/normalize.ts's SENIORITY_LEVELS) as an account's roles are read. */
const ROLES: Record<string, string> = { c_level: 'C-level', vp_director: 'VP or director', manager: 'Manager', individual: 'Individual contributor', student: 'Student' };

/** A kind of role among an account's leads: "C-level", "Individual contributor". */
export const roleName = (level: string) => ROLES[level] ?? humanize(level);

/**
 * The reasons that weigh most either way, at most `count`, heaviest first: a cold lead's minus points say why it is
 * cold (a student's "Student −15" is what tells sales not to call). As the lists, the exports, alerts and the CLI show them.
 */
export function weightiestReasons<T extends { rule: string; points: number }>(reasons: readonly T[], count = 3): T[] {
  return reasons
    .filter((reason) => Math.round(reason.points) !== 0)
    .sort((a, b) => Math.abs(b.points) - Math.abs(a.points) || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0))
    .slice(0, count);
}

/** Owners as people type them: "Sam@ACME.com " is sam@acme.com, in routes, filters and "Assign to me" alike. */
export const sameOwner = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * Where a lead or a visit came from, as every list, filter and export names it: its utm_source, else the referring host
 * without "www.", else "(direct)", in lower case ("Salon-Été" is salon-été). The dashboards' queries say the same in
 * SQL (dashboard-queries.ts SOURCE).
 */
export function sourceName(utmSource: string, referrerHost: string): string {
  if (utmSource !== '') return utmSource.toLowerCase();
  if (referrerHost !== '') return referrerHost.toLowerCase().replace(/^www\./, '');
  return '(direct)';
}

const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
/** A number to one decimal at most, as people read it in English: "12.5", "1,234". */
export const formatDecimal = (value: number) => oneDecimal.format(value);

/**
 * Seconds as "12.5 s", "2 min 5 s" or "1 h 5 min" (the dashboards' durations, a buying signal's time on pricing):
 * rounded before minutes are split off, so 119.5 s reads "2 min", never "1 min 60 s"; past an hour, the seconds are
 * left out.
 */
export function formatSeconds(seconds: number): string {
  if (Math.round(seconds * 10) < 600) return `${oneDecimal.format(seconds)} s`;
  const whole = Math.round(seconds);
  if (whole >= 3600) {
    const minutes = Math.floor((whole % 3600) / 60);
    return minutes ? `${Math.floor(whole / 3600)} h ${minutes} min` : `${Math.floor(whole / 3600)} h`;
  }
  const rest = whole % 60;
  return rest ? `${Math.floor(whole / 60)} min ${rest} s` : `${whole / 60} min`;
}
