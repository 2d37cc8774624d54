import { useEffect, useState } from 'preact/hooks';

/**
 * Client-side routing inside the one HTML shell the collector serves for every /dashboard path: links within
 * /dashboard change the history instead of loading a page, and back/forward work as usual.
 */
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());
addEventListener('popstate', notify);

export function navigate(href: string, { replace = false } = {}): void {
  if (href === location.pathname + location.search) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', href);
  notify();
}

/** Follows a click on a link to another dashboard page without reloading; leaves modified clicks, downloads and other origins to the browser. */
export function interceptLinks(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || link.target || link.hasAttribute('download')) return;
  const url = new URL(link.href, location.href);
  // In-page anchors (the skip link) and other origins or paths are the browser's.
  if (url.hash || url.origin !== location.origin || !/^\/dashboard(\/|$)/.test(url.pathname)) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

export interface Location {
  path: string;
  params: URLSearchParams;
}

export function useLocation(): Location {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((version) => version + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return { path: location.pathname.replace(/\/+$/, '') || '/', params: new URLSearchParams(location.search) };
}

/** A lead list's first page, as a change to its URL: no offset and no page edge (`after`, `before`). */
export const FIRST_PAGE = { offset: undefined, after: undefined, before: undefined };

/** The current URL with some parameters changed (undefined or '' removes one). */
export function hrefWith(path: string, params: URLSearchParams, changes: Record<string, string | undefined>): string {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === '') next.delete(key);
    else next.set(key, value);
  }
  const search = next.toString();
  return search ? `${path}?${search}` : path;
}

const LEADS_LIST = 'hearth.leadsList';

/** Keeps the leads list's URL as filtered, sorted and paged, for the way back to it from a lead (for the tab's life). */
export function rememberLeadsList(href: string): void {
  try {
    sessionStorage.setItem(LEADS_LIST, href);
  } catch {
    // Storage refused (a privacy mode): the way back is the unfiltered list.
  }
}

/** The leads list of this site as last seen in this tab, else the list itself. */
export function leadsListHref(site: string): string {
  let kept: string | null = null;
  try {
    kept = sessionStorage.getItem(LEADS_LIST);
  } catch {
    // As above.
  }
  const url = kept === null ? undefined : new URL(kept, location.origin);
  return url && url.pathname === '/dashboard/leads' && url.searchParams.get('site') === site ? url.pathname + url.search : `/dashboard/leads?site=${encodeURIComponent(site)}`;
}
