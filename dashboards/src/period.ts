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

/** As the API reads it: a period runs up to today at most (a `to` to come is today). */
export function periodOf(params: URLSearchParams): ViewPeriod {
  const to = isDay(params.get('to')) && params.get('to')! <= today() ? params.get('to')! : today();
  const from = isDay(params.get('from')) ? params.get('from')! : daysBefore(to, 29);
  const preset = to === today() ? PRESETS.find((days) => from === daysBefore(to, days - 1)) : undefined;
  return { from, to, preset: preset ? String(preset) : 'custom' };
}
