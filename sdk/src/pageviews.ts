import type { Transport } from './transport.ts';

/** Counts a page view on load and on each SPA navigation that changes the path (never twice for one path in a row). */
export function trackPageviews(transport: Transport): void {
  let lastPath: string | undefined;
  let lastUrl = document.referrer;

  function view() {
    const path = location.pathname;
    if (path == lastPath) return;
    lastPath = path;
    transport.push('pageview', { r: lastUrl, ti: document.title });
    lastUrl = location.href;
  }

  for (const method of ['pushState', 'replaceState'] as const) {
    const original = history[method];
    history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args);
      view();
    };
  }
  addEventListener('popstate', view);
  view();
}
