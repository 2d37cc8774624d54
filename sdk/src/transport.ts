import { endpoint, site } from './config.ts';
import { DENIED, GRANTED, type Consent } from './consent.ts';
import { load, persistIdentity, save, sessionId, touchSession, uuid, visitorId } from './identity.ts';

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
}

const BATCH_WINDOW_MS = 300;
const MAX_BODY = 60_000;
/** The collector takes at most 100 events a batch. */
const MAX_EVENTS = 100;
const STASH_KEY = 'hearth_retry';
const STASH_MAX_EVENTS = 100;
const STASH_MAX_BYTES = 50_000;
const STASH_LIFE_MS = 24 * 3600_000;

let consent: Consent;
let queue: WireEvent[] = [];
let timer: ReturnType<typeof setTimeout> | 0 = 0;
let bot: true | undefined;

/** Events whose request failed, in localStorage: [failed attempts, no retry before (epoch ms), events]. */
type Stash = [attempts: number, notBefore: number, events: WireEvent[]];

function stashed(): Stash {
  try {
    return JSON.parse(load(STASH_KEY)!) || [0, 0, []];
  } catch {
    return [0, 0, []];
  }
}

/** Posts a body; on a network error, a 5xx or a 429 its events are stashed for a retry with backoff and jitter,
 * keeping the newest 100 events, 50 KB, 24 hours. The events keep their ids, so a retry never counts twice. */
function post(body: string, events: WireEvent[]) {
  const fail = () => {
    const [attempts, , kept] = stashed();
    const now = Date.now();
    const keep = kept.concat(events).filter((event) => now - event.t < STASH_LIFE_MS).slice(-STASH_MAX_EVENTS);
    while (JSON.stringify(keep).length > STASH_MAX_BYTES) keep.shift();
    save(STASH_KEY, JSON.stringify([attempts + 1, now + Math.min(2 ** attempts * 1000, 3600_000) * (0.5 + Math.random()), keep]));
  };
  // A string body goes as text/plain, which needs no CORS preflight.
  fetch(endpoint, { method: 'POST', body, keepalive: true }).then(
    (response) => (response.status > 499 || response.status == 429 ? fail() : stashed()[2][0] || save(STASH_KEY, null)),
    fail,
  );
}

/** On a new page and when the browser comes back online: resends stashed events once their backoff has passed. */
function retry() {
  const [attempts, notBefore, kept] = stashed();
  if (consent == GRANTED && kept[0] && notBefore <= Date.now()) {
    save(STASH_KEY, JSON.stringify([attempts, 0, []]));
    queue.push(...kept);
    flush();
  }
}

/** Sends events in bodies under 60 KB (the most sendBeacon and a keepalive fetch carry) and 100 events, halving as needed. */
function send(events: WireEvent[], leaving: unknown) {
  const body = JSON.stringify({ s: site, v: visitorId, sid: sessionId, b: bot, e: events });
  if ((body.length > MAX_BODY || events[MAX_EVENTS]) && events[1]) send(events.splice(0, events.length / 2), leaving), send(events, leaving);
  // A beacon outlives the page but cannot report failure, so it is kept for pages that are going away.
  else if (!(leaving && navigator.sendBeacon?.(endpoint, body))) post(body, events);
}

/** Sends the queue: by sendBeacon when the page is going away (`leaving`), by fetch otherwise. */
export function flush(leaving?: unknown): void {
  clearTimeout(timer);
  timer = 0;
  if (consent == GRANTED && queue[0]) send(queue.splice(0), leaving);
}

/** Queues an event, sent after a short window; at once when `now`, or when the page is already hidden. */
export function push(type: string, fields?: Partial<WireEvent>, now?: boolean): void {
  const event: WireEvent = { i: uuid(), n: type, t: Date.now(), u: location.href, ...fields };
  if (touchSession(event.t, consent == GRANTED)) event.ss = 1;
  if (consent != DENIED) queue.push(event);
  if (now || document.hidden) flush(1);
  else timer ||= setTimeout(flush, BATCH_WINDOW_MS);
}

export function setConsent(decision: Consent): void {
  consent = decision;
  if (decision == GRANTED) {
    persistIdentity();
    flush();
    retry();
  } else queue = [];
}

export function startTransport(initial: Consent): void {
  consent = initial;
  bot = navigator.webdriver || /headless/i.test(navigator.userAgent) || undefined;
  addEventListener('online', retry);
  if (consent == GRANTED) persistIdentity();
  retry();
}
