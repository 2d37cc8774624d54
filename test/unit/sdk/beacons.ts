import { vi } from 'vitest';

export interface SentBatch {
  s: string;
  v: string;
  sid: string;
  e: Array<{ i: string; n: string; t: number; u: string; r?: string; ti?: string; k?: string; em?: string; p?: Record<string, unknown> }>;
}

/** Replaces navigator.sendBeacon with a recorder of what the browser would post; returns the decoded batches. */
export function recordBeacons(accept = true): { url: string; type: string; batch: SentBatch }[] {
  const sent: { url: string; type: string; batch: SentBatch }[] = [];
  vi.stubGlobal('navigator', Object.assign(Object.create(navigator), {
    sendBeacon(url: string, body: string) {
      // sendBeacon with a string body posts it as text/plain;charset=UTF-8.
      if (accept) sent.push({ url, type: typeof body === 'string' ? 'text/plain' : 'other', batch: JSON.parse(body) });
      return accept;
    },
  }));
  return sent;
}

/** Records the window listeners a test adds and removes them afterwards, so each test sees only its own snippet. */
export function isolateWindowListeners(): () => void {
  const added: [string, EventListenerOrEventListenerObject][] = [];
  const original = window.addEventListener;
  window.addEventListener = function (this: Window, type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions) {
    added.push([type, listener]);
    original.call(this, type, listener, options);
  } as typeof window.addEventListener;
  return () => {
    window.addEventListener = original;
    for (const [type, listener] of added) window.removeEventListener(type, listener);
  };
}
