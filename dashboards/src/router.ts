import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * Client-side routing inside the one HTML shell the collector serves for every /dashboard path: links within
 * /dashboard change the history instead of loading a page, and back/forward work as usual. A page with changes not
 * saved yet (useUnsavedChanges) is left only once the user says so.
 */
const listeners = new Set<() => void>();
const notify = () => listeners.forEach((listener) => listener());
const here = () => location.pathname + location.search;

/** What this page keeps in each history entry's state: its place in the tab's history, and a key of its own. */
interface Entry {
  index: number;
  key: string;
}
const newEntry = (index: number): Entry => ({ index, key: `${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}` });
function entryOf(state: unknown): Entry | undefined {
  const { index, key } = (state ?? {}) as Partial<Entry>;
  return typeof index === 'number' && typeof key === 'string' ? { index, key } : undefined;
}

/**
 * The history entry shown: its address, its place in the tab's history (numbered as this page makes entries, so that
 * a Back or Forward the user takes back can be undone by as many steps the other way) and its key (which its scroll
 * position is kept under).
 */
let shown = { href: here(), ...(entryOf(history.state) ?? newEntry(0)) };
if (!entryOf(history.state)) history.replaceState({ ...history.state, index: shown.index, key: shown.key }, '');

/**
 * Each entry's scroll position, by its key, for the tab's life (a reload, a login page in between). The page puts it
 * back itself once its data is drawn (useScrollRestore): the browser's own restoring came before a list was there, on
 * a page too short to scroll, and left the reader at the top.
 */
history.scrollRestoration = 'manual';
const SCROLLS = 'hearth.scroll';
const scrolls = new Map<string, number>(readScrolls());
addEventListener('scroll', () => scrolls.set(shown.key, scrollY), { passive: true });
addEventListener('pagehide', () => {
  try {
    sessionStorage.setItem(SCROLLS, JSON.stringify([...scrolls].slice(-100)));
  } catch {
    // Storage refused (a privacy mode): a reload starts at the top.
  }
});
function readScrolls(): [string, number][] {
  try {
    const kept: unknown = JSON.parse(sessionStorage.getItem(SCROLLS) ?? '[]');
    const isPosition = (pair: unknown): pair is [string, number] => Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'number';
    return Array.isArray(kept) ? kept.filter(isPosition) : [];
  } catch {
    // Storage refused, or what it holds unreadable: no position kept.
    return [];
  }
}

/** Where the page shown was left, while it is to be put back there: come back to by Back or Forward, or reloaded. */
const arrival = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
let restoreTo = arrival?.type === 'reload' || arrival?.type === 'back_forward' ? scrolls.get(shown.key) : undefined;
/** Whether the page shown was come back to by Back or Forward, rather than newly opened. */
let traversed = false;

/** Set while the history steps back to the entry the user chose to stay on: that step shows nothing new. */
let stayingPut = false;
addEventListener('popstate', (event) => {
  if (stayingPut) {
    stayingPut = false;
    return;
  }
  const entry = entryOf(event.state);
  // An anchor in the page (the skip link) is the same page: nothing to lose, nothing to draw.
  if (here() === shown.href) return;
  if (!mayLeave()) {
    // The browser has already moved: back to the entry the user stays on. One it cannot find (an anchor's entry, which
    // this page did not number) is added again.
    if (entry && entry.index !== shown.index) {
      stayingPut = true;
      history.go(shown.index - entry.index);
    } else {
      shown = { ...shown, index: shown.index + 1 };
      history.pushState({ index: shown.index, key: shown.key }, '', shown.href);
    }
    return;
  }
  shown = { href: here(), ...(entry ?? newEntry(shown.index)) };
  restoreTo = scrolls.get(shown.key);
  traversed = true;
  notify();
});

export function navigate(href: string, { replace = false } = {}): void {
  if (href === here() || !mayLeave()) return;
  scrolls.set(shown.key, scrollY);
  const entry = replace ? { index: shown.index, key: shown.key } : newEntry(shown.index + 1);
  history[replace ? 'replaceState' : 'pushState'](entry, '', href);
  shown = { href: here(), ...entry };
  restoreTo = undefined;
  traversed = false;
  notify();
}

/** Whether the page shown was come back to by Back or Forward: it goes back to where it was left, not to its top. */
export const cameBack = () => traversed;

/**
 * Scrolls back to where the reader left this page, once `drawn` (its data in and drawn), when they come back to it by
 * Back or Forward or reload it: going back to a list landed at its top.
 */
export function useScrollRestore(drawn: boolean): void {
  useEffect(() => {
    if (!drawn || restoreTo === undefined) return;
    scrollTo(0, restoreTo);
    restoreTo = undefined;
  }, [drawn]);
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
