import { vi } from 'vitest';

/** A batch as the collector receives it (wire format: collector/ingest/wire.ts). */
export interface SentBatch {
  s: string;
  v: string;
  sid: string;
  b?: boolean;
  e: Array<{ i: string; n: string; t: number; u: string; r?: string; k?: string | null; em?: string; p?: Record<string, unknown>; ms?: number; sd?: number; h?: string; x?: string; ss?: 1; sid?: string }>;
}
export interface Request {
  via: 'beacon' | 'fetch';
  /** A fetch that outlives the page (always false for a beacon). */
  keepalive: boolean;
  url: string;
  body: string;
  batch: SentBatch;
}

export interface PageOptions {
  /** data-* attributes of the script tag, besides data-site="acme". */
  attributes?: Record<string, string>;
  /** What sendBeacon answers (false: the browser refused to queue it). */
  beacon?: boolean;
  /**
   * What fetch answers: a status, a network error, or nothing until `answer()` (a request in flight). With a network
   * error, a beacon is still queued (sendBeacon says true) but never reaches the collector (it is not recorded).
   */
  fetchStatus?: number | 'network-error' | 'pending';
  /** Bytes of keepalive fetches the browser carries at once (Chromium: 64 KB); over it, a keepalive fetch fails. */
  keepaliveQuota?: number;
  /** navigator.webdriver: an automated browser. */
  webdriver?: boolean;
  /** Runs before the snippet loads: queue calls, set up the page. */
  before?: () => void;
}

const undo: Array<() => void> = [];
const originals = {
  pushState: history.pushState,
  replaceState: history.replaceState,
  submit: HTMLFormElement.prototype.submit,
};

/**
 * Loads a fresh copy of the snippet into the page as a site embeds it, recording every request it makes.
 * `closePage()` removes everything it attached, so each test starts from a clean page.
 */
export async function openPage(options: PageOptions = {}) {
  const requests: Request[] = [];
  // The URL as the browser sends to it (the snippet may pass a URL object, which fetch and sendBeacon take as it is).
  const record = (via: Request['via'], url: string | URL, body: string, keepalive = false) => requests.push({ via, url: String(url), body, keepalive, batch: JSON.parse(body) });
  let keepaliveInFlight = 0;
  let fetchStatus = options.fetchStatus ?? 202;
  const pending: Array<(status: number | 'network-error') => void> = [];
  Object.defineProperties(navigator, {
    // happy-dom says it is automated; a real visitor's browser does not.
    webdriver: { configurable: true, value: options.webdriver ?? false },
    sendBeacon: {
      configurable: true,
      value(url: string | URL, body: string) {
        if (options.beacon === false) return false;
        // Queued, as a browser says, even when the collector cannot be reached: the beacon is then lost.
        if (fetchStatus !== 'network-error') record('beacon', url, body);
        return true;
      },
    },
  });
  // Every fetch the snippet starts, those the browser refuses or that never reach the collector included.
  const fetches: Array<{ keepalive: boolean }> = [];
  vi.stubGlobal('fetch', (url: string | URL, init: RequestInit) => {
    fetches.push({ keepalive: !!init.keepalive });
    if (fetchStatus === 'network-error') return Promise.reject(new TypeError('Failed to fetch'));
    const size = new Blob([init.body as string]).size;
    const keepalive = !!init.keepalive;
    if (keepalive && options.keepaliveQuota !== undefined) {
      if (keepaliveInFlight + size > options.keepaliveQuota) return Promise.reject(new TypeError('Failed to fetch'));
      keepaliveInFlight += size;
    }
    record('fetch', url, init.body as string, keepalive);
    const answer: Promise<Response> =
      fetchStatus === 'pending'
        ? new Promise((resolve, reject) =>
            pending.push((status) => (status === 'network-error' ? reject(new TypeError('Failed to fetch')) : resolve(new Response(null, { status })))),
          )
        : Promise.resolve(new Response(null, { status: fetchStatus }));
    return keepalive && options.keepaliveQuota !== undefined ? answer.finally(() => (keepaliveInFlight -= size)) : answer;
  });
  // Listeners the snippet adds to window and document are removed when the page closes.
  for (const target of [window, document] as EventTarget[]) {
    const add = target.addEventListener;
    target.addEventListener = function (this: EventTarget, type: string, listener: any, opts?: any) {
      undo.push(() => target.removeEventListener(type, listener, opts));
      return add.call(target, type, listener, opts);
    };
    undo.push(() => (target.addEventListener = add));
  }
  const script = document.createElement('script');
  script.src = 'https://hearth.example/hearth.js';
  script.setAttribute('data-site', 'acme');
  for (const [name, value] of Object.entries(options.attributes ?? {})) script.setAttribute(`data-${name}`, value);
  document.head.append(script);
  options.before?.();
  vi.resetModules();
  await import('../../../sdk/src/index.ts');

  return {
    requests,
    fetches,
    /** Every event sent so far, optionally of one wire type (v, e, d, o, f, i, t). */
    events: (type?: string) => requests.flatMap((r) => r.batch.e).filter((e) => !type || e.n === type),
    setFetchStatus: (status: number | 'network-error' | 'pending') => (fetchStatus = status),
    /** Answers the requests still in flight (fetchStatus 'pending'). */
    answer: (status: number | 'network-error') => pending.splice(0).forEach((reply) => reply(status)),
  };
}

export function closePage(): void {
  for (const fn of undo.splice(0)) fn();
  history.pushState = originals.pushState;
  history.replaceState = originals.replaceState;
  HTMLFormElement.prototype.submit = originals.submit;
  vi.clearAllTimers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  document.head.replaceChildren();
  document.body.replaceChildren();
  localStorage.clear();
  for (const cookie of document.cookie.split('; ')) if (cookie) document.cookie = `${cookie.split('=')[0]}=; max-age=0; path=/`;
  originals.replaceState.call(history, null, '', '/');
  delete (window as { hearth?: unknown }).hearth;
  for (const property of ['hidden', 'visibilityState', 'hasFocus', 'prerendering']) delete (document as any)[property];
  for (const property of ['webdriver', 'sendBeacon', 'doNotTrack', 'globalPrivacyControl']) delete (navigator as any)[property];
}

/** Gives or takes the keyboard focus of the page, as clicking into another window does. */
export function setFocused(focused: boolean): void {
  document.hasFocus = () => focused;
  dispatchEvent(new Event(focused ? 'focus' : 'blur'));
}

/** Makes the page hidden or visible, as switching tabs does. */
export function setHidden(hidden: boolean): void {
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  // As browsers fire it: it bubbles to the window.
  document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
}

/** Lets pending promise callbacks (a fetch's answer) run. */
/** The retry stash's localStorage key for the harness's page: `hearth_retry`, its site id, its collector's URL. */
export const STASH_KEY = 'hearth_retryacmehttps://hearth.example/collect';

export const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
