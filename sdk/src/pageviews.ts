import { hashRouting } from './config.ts';
import { push } from './transport.ts';

/**
 * Counts a page view on load and on each SPA navigation that changes the page: pushState, replaceState
 * (only when the path changes), back/forward, and hash changes too with `data-hash`. A page restored from the
 * back/forward cache counts again; a prerendered page counts only once the visitor actually sees it.
 * `onPage` runs before each view is recorded, while the previous page is still current for dwell.
 */
export function trackPageviews(onPage: () => void): void {
  /** The last page counted; 0 after a back/forward-cache restore, which counts the page again. */
  let lastPage: string | 0 | undefined;
  let lastUrl = document.referrer;

  const view = () => {
    // With data-hash, the path and the route's path: a change of the route's query (#/pricing?billing=annual) is the
    // same page, as a change of the query is in path routing.
    const page = location.pathname + (hashRouting ? location.hash.split('?')[0] : '');
    // With data-hash, a fragment that is no route (#faq, #équipe, #-top: an anchor in the page, where a route starts
    // with / or !/) is no new page; but the page landed on with one is a page view. (Only with data-hash does the
    // page hold a #.)
    if (page == lastPage || (lastPage && /#[^/!]/.test(page))) return;
    lastPage = page;
    onPage();
    // No page title: an SPA sets it after the navigation, so at this point it would still be the previous page's.
    push('v', { r: lastUrl });
    lastUrl = location.href;
  };

  for (const method of ['pushState', 'replaceState'] as const) {
    const original = history[method];
    history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
      original.apply(this, args);
      view();
    };
  }
  // Back/forward and, with data-hash, hash changes: a fragment navigation fires popstate too.
  addEventListener('popstate', view);
  // A page restored from the back/forward cache is a new view of the same page.
  addEventListener('pageshow', (event) => event.persisted && ((lastPage = 0), view()));
  // prerenderingchange fires once, when the prerendered page is activated.
  if ((document as Document & { prerendering?: boolean }).prerendering) document.addEventListener('prerenderingchange', view);
  else view();
}
