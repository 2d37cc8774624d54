import { uuid } from './identity.ts';

/** One event on the wire; the short keys are explained in collector/ingest/wire.ts. */
export interface WireEvent {
  i: string;
  n: string;
  t: number;
  u: string;
  r?: string;
  ti?: string;
  k?: string;
  em?: string;
  p?: Record<string, unknown>;
}

export interface Transport {
  /** Queues an event; the queue is sent after a short window, or at once when the page is hidden. */
  push(type: string, fields?: Partial<WireEvent>): void;
  flush(): void;
}

const BATCH_WINDOW_MS = 250;

export function createTransport(endpoint: string, site: string, visitor: string, session: () => string): Transport {
  let queue: WireEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  function flush() {
    clearTimeout(timer);
    timer = undefined;
    if (!queue.length) return;
    const body = JSON.stringify({ s: site, v: visitor, sid: session(), e: queue });
    queue = [];
    // sendBeacon survives the page being closed and posts text/plain, which needs no CORS preflight.
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
    fetch(endpoint, { method: 'POST', body, keepalive: true, headers: { 'content-type': 'text/plain' } }).catch(() => {});
  }

  addEventListener('pagehide', flush);
  addEventListener('visibilitychange', () => document.visibilityState == 'hidden' && flush());

  return {
    push(type, fields) {
      queue.push({ i: uuid(), n: type, t: Date.now(), u: location.href, ...fields });
      if (queue.length >= 20) flush();
      else timer ??= setTimeout(flush, BATCH_WINDOW_MS);
    },
    flush,
  };
}
