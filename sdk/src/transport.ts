import { endpoint, site } from './config.ts';
import { DENIED, GRANTED, type Consent } from './consent.ts';
import { KEY, load, persistIdentity, save, sessionId, touchSession, visitorId } from './identity.ts';

/** One event on the wire; the short keys and one-letter types are explained in collector/ingest/wire.ts. */
export interface WireEvent {
  i: string;
  n: string;
  t: number;
  u: string;
  r?: string;
  ti?: string;
  k?: string | null;
  em?: string;
  p?: Record<string, unknown>;
  ms?: number;
  sd?: number;
  h?: string;
  x?: string;
  ss?: 1;
  sid?: string;
}

const BATCH_WINDOW_MS = 300;
/** UTF-8 bytes, as the collector (413 above 64 KB), sendBeacon and a keepalive fetch count them: a CJK character is 3. */
const MAX_BODY = 60_000;
/** The collector takes at most 100 events a batch. */
const MAX_EVENTS = 100;
// The retry stash is localStorage's stashKey, one per site and collector. Its events live 24 hours (24 * 3600_000 ms,
// written at its two uses: a named constant is hoisted to the top of the snippet, 4 bytes of gzip).
const STASH_MAX_EVENTS = 100;
const STASH_MAX_BYTES = 50_000;
/** While one page resends the stash, other pages and tabs leave it alone for this long. */
const RETRY_LEASE_MS = 10_000;
/** Chromium carries at most 64 KB of keepalive request bodies at once, and fails a keepalive fetch beyond. */
const KEEPALIVE_QUOTA = 65_536;

export let consent: Consent;
/**
 * The retry stash's localStorage key: `hearth_retry`, the site id and the collector's URL. Each site and collector has
 * a stash of its own: with one for all, a page of another site on the same origin (two sites, or localhost shared by
 * projects) sent the stashed events under its own site id, to its own collector. A denial erases them all.
 */
let stashKey: string;
let queue: WireEvent[] = [];
let timer: ReturnType<typeof setTimeout> | 0 = 0;
/** Body bytes of this page's keepalive fetches in flight. */
let keepaliveBytes = 0;

// Callers first, then what they call: in this order the built snippet gzips a few bytes smaller.

/**
 * Queues an event, sent after a short window; at once when `now` (a submit, a download, an outbound click: the page
 * may be about to go), by a keepalive fetch, which outlives the page as a beacon does but reports a failure, so the
 * events are kept for a retry when the page stays; at once by beacon when the page is already hidden.
 */
export function push(type: string, fields?: Partial<WireEvent>, now?: boolean): void {
  // Never into the page: push runs inside the page's own calls (history.pushState) and handlers.
  try {
    // Denied: not even the session moves, so a later grant starts one with its first event.
    if (consent == DENIED) return;
    const event: WireEvent = { i: crypto.randomUUID(), n: type, t: Date.now(), u: location.href, ...fields };
    touchSession(event);
    if (consent == GRANTED) persistIdentity();
    queue.push(event);
    if (now) flush();
    else if (document.hidden) flush(1);
    else timer ||= setTimeout(flush, BATCH_WINDOW_MS);
  } catch {}
}

/** Sends the queue: by sendBeacon when the page is going away (`leaving`), by fetch otherwise, then the stash. */
export function flush(leaving?: unknown): void {
  try {
    // The timer is not cleared: firing after a flush, it sends what came since, or nothing (fewer bytes).
    timer = 0;
    if (consent == GRANTED && queue[0]) send(queue.splice(0), leaving);
    // Not while leaving: the page would be gone before the answer that empties the stash.
    if (!leaving) retry();
  } catch {}
}

/** Granted: stores the ids and sends. Denied: drops the queue and erases the retry queue and the ids. */
export function setConsent(decision: Consent): void {
  consent = decision;
  if (decision == GRANTED) {
    persistIdentity();
    flush();
  } else {
    queue = [];
    persistIdentity(1);
    // Every site's retry queue on the origin (and the one a snippet before them kept, `hearth_retry`): another site's
    // page would send its events, answers and email with them, under the new visitor id.
    for (const key in localStorage) /^hearth_retry/.test(key) && save(key);
  }
}

export function startTransport(initial: Consent): void {
  consent = initial;
  stashKey = 'hearth_retry' + site + endpoint;
  // Back online: the stash goes at once, whatever its backoff (offline, every batch failed and raised it). The event
  // is retry's truthy `online`.
  addEventListener('online', retry);
  // Another tab's deny erased the ids: this one stops too, instead of storing them again with its next event.
  addEventListener('storage', (event) => {
    if (event.key == KEY && !event.newValue) setConsent(DENIED);
  });
}

/** Sends events in bodies under 60 KB (the most sendBeacon and a keepalive fetch carry) and 100 events, halving as needed. */
function send(events: WireEvent[], leaving?: unknown) {
  // b: an automated browser says so (the collector also reads the User-Agent against a well-kept bot list).
  const body = JSON.stringify({ s: site, v: visitorId, sid: sessionId, b: navigator.webdriver, e: events });
  const size = new Blob([body]).size;
  if ((size > MAX_BODY || events[MAX_EVENTS]) && events[1]) send(events.splice(0, events.length / 2), leaving), send(events, leaving);
  // A beacon outlives the page but cannot report failure, so it is kept for pages that are going away.
  else if (!(leaving && navigator.sendBeacon?.(endpoint, body))) post(body, events, size);
}

/**
 * Posts a body; on a network error, a 5xx or a 429 its events are stashed for a retry with backoff and jitter,
 * once each (a resend carries events that are still stashed), keeping the newest 100 events, 50 KB of UTF-8 and
 * 24 hours. Any other answer delivered them (a 4xx: retrying cannot help), so they leave the stash. The events
 * keep their ids, so a retry never counts twice. Once consent is denied, nothing is stashed.
 */
function post(body: string, events: WireEvent[], size: number) {
  // A string body goes as text/plain, which needs no CORS preflight. A body the browser's keepalive quota cannot
  // take with those in flight goes without keepalive, while the page is open: sent once, not refused and sent
  // again, so a collector that cannot be reached gets one request a batch, not two.
  const held = keepaliveBytes + size > KEEPALIVE_QUOTA ? 0 : size;
  const answered = (failed: unknown) => {
    keepaliveBytes -= held;
    if (consent == GRANTED) {
      const [attempts, notBefore, ...kept] = stashed();
      const now = Date.now();
      const keep = kept.filter((event) => now - event.t < 24 * 3600_000 && !events.some((sent) => sent.i == event.i)).concat(failed ? events : []);
      while (keep[STASH_MAX_EVENTS] || new Blob([JSON.stringify(keep)]).size > STASH_MAX_BYTES) keep.shift();
      // Saved, or removed once empty. An answer resets the backoff (the collector is back): what is left goes with the
      // next batch, once a resend in flight has had its lease.
      save(stashKey, keep[0] && JSON.stringify(failed ? [attempts + 1, now + Math.min(2 ** attempts * 1000, 3600_000) * (0.5 + Math.random()), ...keep] : [0, Math.min(notBefore, now + RETRY_LEASE_MS), ...keep]));
    }
  };
  // Stashed events are resent under the session they belong to, not the one current then.
  for (const event of events) event.sid ||= sessionId;
  keepaliveBytes += held;
  // A 5xx or a 429 (a status has three digits: one from 5 up is over 499; 429 is the only one holding "429"). A
  // pattern rather than two comparisons: 2 bytes of gzip.
  // A page's own fetch may be missing or throw (a polyfill, a wrapper): its events are kept for a retry as well.
  try {
    // The answer read in a callback of its own: a page's fetch wrapper may resolve to nothing (one that catches a
    // network error and returns what its handler did), whose reading fails into answered too.
    fetch(endpoint, { method: 'POST', body, keepalive: !!held })
      .then((response) => /^[5-9]|429/.test(response.status as any))
      .then(answered, answered);
  } catch {
    answered(1);
  }
}

/**
 * With each batch an open page sends (so soon after a new page opens): resends stashed events once their backoff has
 * passed; at once when the browser comes back `online`. They stay stashed until the collector answers (the tab may
 * close first), under a lease that keeps other pages and tabs from resending them meanwhile.
 */
function retry(online?: unknown) {
  const now = Date.now();
  const [attempts, notBefore, ...kept] = stashed();
  // Never an event stashed more than 24 hours ago (a visitor back days after an outage): the next answer drops it.
  const fresh = kept.filter((event) => now - event.t < 24 * 3600_000);
  if (consent == GRANTED && fresh[0] && (online || notBefore <= now)) {
    save(stashKey, JSON.stringify([attempts, now + RETRY_LEASE_MS, ...kept]));
    // Taken over (stashed): the queue a snippet before the per-site ones kept for the whole origin.
    save('hearth_retry');
    send(fresh);
  }
}

/**
 * Events whose request failed, in localStorage: [failed attempts, no retry before (epoch ms), ...events]. One level of
 * array, so that a page whose arrays write themselves as JSON texts (Prototype.js) makes one text of it, read again.
 */
type Stash = [attempts: number, notBefore: number, ...events: WireEvent[]];

function stashed(): Stash {
  try {
    // Nothing stored is undefined, which JSON.parse refuses too.
    // The site's queue, else the origin's from a snippet before the per-site queues, which the next resend takes over.
    const stash = JSON.parse(load(stashKey) || load('hearth_retry')!);
    // Written as a JSON text on a page whose arrays have a toJSON of their own: read again. Flattened, as a snippet
    // before this one wrote it: [attempts, notBefore, events].
    return (typeof stash == 'string' ? JSON.parse(stash) : stash).flat();
  } catch {
    return [0, 0];
  }
}
