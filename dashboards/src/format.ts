/** Numbers, shares, changes and times as people read them, in English. */
import { formatDecimal } from '../../scoring/labels.ts';

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });

export const formatNumber = (value: number) => integer.format(value);
export { formatDecimal, formatSeconds } from '../../scoring/labels.ts';
export const formatShare = (share: number) => `${formatDecimal(share * 100)}%`;

/** The change from `previous` to `current` in words and an arrow; the arrow is not the only cue (the words say it). */
export function describeChange(current: number, previous: number): { text: string; direction: 'up' | 'down' | 'flat' } {
  if (current === previous) return { text: 'no change', direction: 'flat' };
  if (previous === 0) return { text: `up from 0`, direction: 'up' };
  const change = (current - previous) / previous;
  const direction = change > 0 ? 'up' : 'down';
  // A change too small for a decimal ("10.1 s, up 0% (previous: 10 s)" read as a contradiction).
  const percent = formatDecimal(Math.abs(change) * 100);
  return { text: percent === '0' ? `${direction} less than 0.1%` : `${direction} ${percent}%`, direction };
}

/**
 * The change of a share (0 to 1) in percentage points: 25.3% to 25.8% is "up 0.5 percentage points", where a relative
 * change ("up 2.1%") reads as the share's own rise.
 */
export function describePointChange(current: number, previous: number): { text: string; direction: 'up' | 'down' | 'flat' } {
  const points = Math.round((current - previous) * 1000) / 10;
  if (current === previous) return { text: 'no change', direction: 'flat' };
  const direction = current > previous ? 'up' : 'down';
  // Shares either side of a rounding step (25.4% against 25.3%), a change too small for a decimal: not "no change".
  if (points === 0) return { text: `${direction} less than 0.1 percentage points`, direction };
  return { text: `${direction} ${formatDecimal(Math.abs(points))} percentage ${Math.abs(points) === 1 ? 'point' : 'points'}`, direction };
}


const dateTime = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
const dateOnly = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

/** An ISO time as "3 Nov 2026, 14:05 UTC". */
export const formatTime = (iso: string) => `${dateTime.format(new Date(iso))} UTC`;

/**
 * Why Hearth held an alert back, its times as the pages write them: a cooldown's reason stored before it was written so
 * read "alert at 2026-11-20T10:00:01.362Z" beside "20 Nov 2026, 10:00 UTC" everywhere else. Only Hearth's own reasons
 * go through here, never a receiver's answer, which is shown as it came.
 */
export const formatReason = (reason: string) =>
  reason.replace(/\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\b/g, (iso) => (Number.isNaN(Date.parse(iso)) ? iso : formatTime(iso)));
/**
 * A YYYY-MM-DD day as "3 Nov 2026". Anything else (a day edited in the URL: 2026-13-01, 2026-02-30) is shown as it
 * is, for the API's answer to name it: formatting an invalid date throws, which drew an empty page.
 */
export function formatDay(day: string): string {
  const time = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(time) || !new Date(time).toISOString().startsWith(day) ? day : dateOnly.format(time);
}

/** How long ago, coarsely: "just now", "5 min ago", "3 h ago", "4 days ago". */
export function formatAgo(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  // Beyond a day, in calendar days where the reader is: 34 h before 00:05 is the day before yesterday.
  const midnight = (time: number) => new Date(time).setHours(0, 0, 0, 0);
  const days = Math.round((midnight(now) - midnight(Date.parse(iso))) / 86_400_000);
  // Still the same day: the 25 hours of a day the clocks go back.
  if (days < 1) return `${Math.floor(seconds / 3600)} h ago`;
  return days === 1 ? 'yesterday' : `${days} days ago`;
}


const conjunction = new Intl.ListFormat('en', { type: 'conjunction' });
/** Items as a sentence reads them: "crm, sales-fr, and sales-world". */
export const formatList = (items: string[]) => conjunction.format(items);

/**
 * A downloaded file as the content panel names it when its link has no name: its path (`/assets/guide 2026.pdf`),
 * not the whole URL with its host and query. Anything that is not a web address stays as it is.
 */
export function linkPath(url: string): string {
  try {
    const { protocol, pathname } = new URL(url);
    if (protocol !== 'http:' && protocol !== 'https:') return url;
    try {
      return decodeURIComponent(pathname);
    } catch {
      return pathname;
    }
  } catch {
    return url;
  }
}
