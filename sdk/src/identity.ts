import { cookieDomain } from './config.ts';

/** Event, visitor and session ids. crypto.randomUUID exists on https pages and localhost, which is where Hearth
 * runs; on a plain-http page it is missing, the snippet's guard catches the error, and nothing is recorded. */
export const uuid = (): string => crypto.randomUUID();

/** localStorage access that never throws (some privacy modes throw on any use). */
export function load(key: string): string | undefined {
  try {
    return localStorage[key];
  } catch {}
}

export function save(key: string, value: string | null): void {
  try {
    value == null ? delete localStorage[key] : (localStorage[key] = value);
  } catch {}
}

/** localStorage key of "visitor.session.lastSeen"; the cookie of the same name holds the visitor id alone. */
const KEY = 'hearth_vid';
const SESSION_IDLE_MS = 30 * 60_000;

/** The first-party visitor id: localStorage, else the `hearth_vid` cookie (shared across subdomains), else new. */
export let visitorId = '';
/** The session id; a session lasts while the visitor comes back within 30 minutes. */
export let sessionId = '';
let sessionSeen = 0;

export function readIdentity(): void {
  const cookie = /hearth_vid=([^;]+)/.exec(document.cookie);
  const [visitor, session, seen] = (load(KEY) || '').split('.');
  visitorId = visitor || (cookie && cookie[1]) || uuid();
  sessionId = session || '';
  sessionSeen = +seen! || 0;
}

const saveIds = () => save(KEY, visitorId + '.' + sessionId + '.' + sessionSeen);

/** Marks activity at `now`; true when it starts a new session. Stores only once consent allows (`store`). */
export function touchSession(now: number, store: boolean): boolean {
  const started = !sessionId || now - sessionSeen > SESSION_IDLE_MS;
  if (started) sessionId = uuid();
  sessionSeen = now;
  if (store) saveIds();
  return started;
}

/** Writes the ids to localStorage and a first-party cookie (a year; `data-cookie-domain` for subdomains). */
export function persistIdentity(): void {
  saveIds();
  document.cookie =
    `hearth_vid=${visitorId};path=/;max-age=31536000;samesite=lax` +
    (cookieDomain ? ';domain=' + cookieDomain : '') +
    (location.protocol == 'https:' ? ';secure' : '');
}
