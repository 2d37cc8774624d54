import { cookieDomain } from './config.ts';

/** localStorage access that never throws (some privacy modes throw on any use). */
export function load(key: string): string | undefined {
  try {
    return localStorage[key];
  } catch {}
}

/** Stores a value; no value (undefined, null, false or '') removes the key. */
export function save(key: string, value?: string | false | null): void {
  try {
    value ? (localStorage[key] = value) : delete localStorage[key];
  } catch {}
}

/** localStorage key of "visitor.session.lastSeen"; the cookie of the same name holds the visitor id alone. */
export const KEY = 'hearth_vid';
const SESSION_IDLE_MS = 30 * 60_000;

/**
 * The first-party visitor id: localStorage, else the `hearth_vid` cookie (shared across subdomains), else new.
 * Event, visitor and session ids are crypto.randomUUID(), written out at each use (a helper costs bytes of gzip).
 * It exists on https pages and localhost, which is where Hearth runs; on a plain-http page it is missing, the
 * snippet's guard catches the error, and nothing is recorded.
 */
export let visitorId: string;
/** The session id (none before the first event); a session lasts while the visitor comes back within 30 minutes, in
 * any tab. */
export let sessionId: string | undefined;
let sessionSeen = 0;

export function readIdentity(): void {
  visitorId = (load(KEY) || '').split('.')[0] || /hearth_vid=([^;]+)/.exec(document.cookie)?.[1] || crypto.randomUUID();
}

/**
 * Marks activity at the event's time; marks the event `ss` when it starts a new session (the event rather than a
 * boolean returned: fewer bytes). The caller stores the ids once consent allows.
 */
export function touchSession(event: { t: number; ss?: 1 }): void {
  // All tabs share one session: take this visitor's from localStorage when another tab was active since.
  const [visitor, session, seen] = (load(KEY) || '').split('.');
  if (visitor == visitorId && +seen! > sessionSeen) (sessionId = session!), (sessionSeen = +seen!);
  if (!sessionId || event.t - sessionSeen > SESSION_IDLE_MS) (sessionId = crypto.randomUUID()), (event.ss = 1);
  sessionSeen = event.t;
}

/**
 * Writes the ids to localStorage and a first-party cookie for a year (`data-cookie-domain` for subdomains). With
 * `erase` (consent denied), removes both instead (the cookie expired with the path and domain it was set with) and
 * forgets the ids in memory: a later grant is a new visitor.
 */
export function persistIdentity(erase?: unknown): void {
  save(KEY, !erase && visitorId + '.' + sessionId + '.' + sessionSeen);
  // A page may refuse cookies (a setter that throws): the ids stay in localStorage, and a denial still forgets them.
  try {
    document.cookie =
      // Concatenation, not a template literal: backticks found nowhere else in the snippet cost bytes of gzip.
      'hearth_vid=' + visitorId + ';path=/;samesite=lax;max-age=' + (erase ? 0 : 31536000) +
      (cookieDomain ? ';domain=' + cookieDomain : '') +
      // Always Secure: the snippet runs in secure contexts only (crypto.randomUUID), https or localhost, where
      // browsers take a Secure cookie (Safari on http://localhost may not: the id stays in localStorage there).
      ';secure';
  } catch {}
  if (erase) (visitorId = crypto.randomUUID()), (sessionId = '');
}
