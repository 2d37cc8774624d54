import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Client-side routing inside the one HTML shell the collector serves for every /dashboard path: links within
 * /dashboard change the history instead of loading a page, and back/forward work as usual. A page with changes not
 * saved yet (useUnsavedChanges) is left only once the user says so.
 */
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());
const here = () => location.pathname + location.search;

/**
 * The history entry shown: its address, and its place in the tab's history, numbered in each entry's state as this
 * page makes them, so that a Back or Forward the user takes back can be undone by as many steps the other way.
 */
let shown = { href: here(), index: entryIndex() ?? 0 };
if (entryIndex() === undefined) history.replaceState({ ...history.state, index: shown.index }, '');
function entryIndex(): number | undefined {
  const index: unknown = history.state?.index;
  return typeof index === 'number' ? index : undefined;
}

/** Set while the history steps back to the entry the user chose to stay on: that step shows nothing new. */
let stayingPut = false;
addEventListener('popstate', () => {
  if (stayingPut) {
    stayingPut = false;
    return;
  }
  const index = entryIndex();
  // An anchor in the page (the skip link) is the same page: nothing to lose.
  if (here() !== shown.href && !mayLeave()) {
    // The browser has already moved: back to the entry the user stays on. One it cannot find (an anchor's entry, which
    // this page did not number) is added again.
    if (index !== undefined && index !== shown.index) {
      stayingPut = true;
      history.go(shown.index - index);
    } else history.pushState({ index: shown.index + 1 }, '', shown.href);
    return;
  }
  shown = { href: here(), index: index ?? shown.index };
  notify();
});

export function navigate(href: string, { replace = false } = {}): void {
  if (href === here() || !mayLeave()) return;
  const index = replace ? shown.index : shown.index + 1;
  history[replace ? 'replaceState' : 'pushState']({ index }, '', href);
  shown = { href: here(), index };
  notify();
}

/** The forms of the page shown, each saying whether it holds changes not saved yet. */
const unsavedForms = new Set<{ current: boolean }>();
const UNSAVED = 'This page has changes that are not saved. Leave it and lose them?';
/** Whether the page may be left: it holds nothing unsaved, or the user says to leave it anyway. */
export const mayLeave = () => ![...unsavedForms].some((form) => form.current) || confirm(UNSAVED);

/** Set as the page is unloaded once the user said it may go (signing out): the browser is not to ask again. */
let leaving = false;
export function leavePage(): void {
  leaving = true;
}

/**
 * Keeps the user from losing what a form holds and has not saved (`unsaved`): leaving the page within the dashboards
 * (a link, Back or Forward, another site picked, signing out) asks first; a reload, closing the tab or typing another
 * address is asked about by the browser itself. A page left with changes lost them without a word.
 */
export function useUnsavedChanges(unsaved: boolean): void {
  const form = useRef(unsaved);
  form.current = unsaved;
  useEffect(() => {
    unsavedForms.add(form);
    return () => void unsavedForms.delete(form);
  }, []);
  // Listened to only while something is unsaved: a page that listens is kept out of the browser's back/forward cache.
  useEffect(() => {
    if (!unsaved) return;
    const warn = (event: BeforeUnloadEvent) => {
      if (leaving) return;
      event.preventDefault();
      // Chromium before 119 asks only when a value is returned.
      event.returnValue = '';
    };
    addEventListener('beforeunload', warn);
    return () => removeEventListener('beforeunload', warn);
  }, [unsaved]);
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
