/** The days a view covers (UTC, both included), from the URL's `from` and `to`; the last 30 days by default. */
export interface ViewPeriod {
  from: string;
  to: string;
  /** "7", "30" or "90" when the period is the last N days up to today, else "custom". */
  preset: string;
}

export const PRESETS = [7, 30, 90];
/** The longest period a view covers, as the API counts it (MAX_DAYS in collector/api/dashboard.routes.ts). */
export const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

export const today = () => new Date().toISOString().slice(0, 10);
export const daysBefore = (day: string, days: number) => new Date(Date.parse(`${day}T00:00:00Z`) - days * DAY_MS).toISOString().slice(0, 10);
/** The days from `from` to `to`, both included. */
export const periodDays = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS) + 1;
const isDay = (text: string | null): text is string => text !== null && /^\d{4}-\d{2}-\d{2}$/.test(text);

/**
 * A preset as the URL keeps it, `period=7d`, `period=30d` or `period=90d` (the marketing page's last 30 days are its URL
 * without a period): the last N days up to the day the link is opened, as a bookmark or a shared link of Plausible's or
 * PostHog's reads.
 */
const rollingDays = (params: URLSearchParams) => PRESETS.find((days) => params.get('period') === `${days}d`);

/** The last N days up to today when the URL keeps a rolling preset and gives no days (days given win over a preset). */
export function rollingPeriod(params: URLSearchParams): ViewPeriod | undefined {
  const rolling = params.get('from') || params.get('to') ? undefined : rollingDays(params);
  return rolling ? { from: daysBefore(today(), rolling - 1), to: today(), preset: String(rolling) } : undefined;
}

/**
 * The days a lead list is filtered to ("Seen"), if any: a rolling preset (`period=7d`, `30d` or `90d`: the bare list is
 * every day, so the 30 days are named too), else `from` and `to` with a missing end filled in as the API fills it.
 */
export function seenPeriod(params: URLSearchParams): ViewPeriod | undefined {
  return rollingPeriod(params) ?? (params.get('from') || params.get('to') ? periodOf(params) : undefined);
}

/** As the API reads it: a period runs up to today at most (a `to` to come is today). Days given win over a preset. */
export function periodOf(params: URLSearchParams): ViewPeriod {
  const rolling = rollingPeriod(params);
  if (rolling) return rolling;
  const to = isDay(params.get('to')) && params.get('to')! <= today() ? params.get('to')! : today();
  const from = isDay(params.get('from')) ? params.get('from')! : daysBefore(to, 29);
  const preset = to === today() ? PRESETS.find((days) => from === daysBefore(to, days - 1)) : undefined;
  return { from, to, preset: preset ? String(preset) : 'custom' };
}
