import { useEffect, useState } from 'preact/hooks';
import { leavePage, mayLeave } from './router.ts';

/** What the API said went wrong: its message (for a 400, each bad parameter and what is wrong) and machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
    /** A 503's Retry-After, in seconds: the server is back soon. */
    readonly retryAfter?: number,
    /** A 404's leads that hold a lead's visits now (GET /api/leads/:id of a lead that is no more). */
    readonly replacedBy?: { id: string; email: string }[],
    /** The error's whole answer, for what a page reads of it (a 409's current state). */
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** The server cannot answer for now (its database unreachable, its log full, a restart): not the request's fault. */
  get unavailable(): boolean {
    return this.status === 503;
  }

  /** No answer at all (Hearth stopped or restarting, the network down): not the request's fault either. */
  get unreachable(): boolean {
    return this.code === 'unreachable';
  }
}

let csrfToken: string | null = null;

/** Changes made with the session cookie must echo the session's CSRF token (GET /api/session gives it). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Where to send a browser whose session ended; it comes back to this page after logging in. */
export const loginUrl = () => `/login?next=${encodeURIComponent(location.pathname + location.search)}`;

/** Set as the page signs out: the answers still on their way then meet a 401, and must not send it elsewhere. */
let signingOut = false;

/**
 * Ends the session and goes to the login page (once the user says so, when the page holds changes not saved yet). A
 * panel's request in flight that got its 401 first sent the browser to the login page with this page as `next`, and
 * the two navigations aborted each other: the user could be left where they were, or signed in again straight back
 * to the page they left.
 */
export async function signOut(): Promise<void> {
  // Asked before the session ends: a user who stays keeps a page that can still save.
  if (!mayLeave()) return;
  leavePage();
  signingOut = true;
  await request('/logout', { method: 'POST' }).catch(() => undefined);
  location.assign('/login');
}

/**
 * A 400's problems as people read them: "from: a view covers at most 366 days (got "2024-01-01")". Its error alone
 * ("invalid query") does not say which parameter to change.
 */
function problemsOf(data: { problems?: { path: string; message: string }[] } | null): string | undefined {
  const problems = Array.isArray(data?.problems) ? data.problems : [];
  return problems.length ? problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ') : undefined;
}

export async function request<T>(path: string, { method = 'GET', body }: { method?: string; body?: unknown } = {}): Promise<T> {
  const send = () => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' }).catch(() => {
      throw new ApiError(0, 'Hearth cannot be reached: check the connection, then try again.', 'unreachable');
    });
  };
  let response = await send();
  // Signed in again in another tab: the browser's cookie is a new session, whose token this page does not hold yet.
  if (response.status === 403 && method !== 'GET' && (await response.clone().json().catch(() => null))?.code === 'csrf') {
    const session = await request<{ csrfToken: string | null }>('/api/session');
    setCsrfToken(session.csrfToken);
    response = await send();
  }
  if (response.status === 401) {
    // A change (a qualification saved, an alert sent again) leaves the page as it is: going to the login page would
    // throw away what was typed. Signed in again in another tab, it is sent again as it stands.
    if (method !== 'GET') throw new ApiError(401, 'Not saved: your session has ended. Sign in again in another tab (this page keeps what you typed), then try again.', 'unauthorized');
    if (!signingOut) location.assign(loginUrl());
    throw new ApiError(401, 'Your session has ended: sign in again.', 'unauthorized');
  }
  const data = (await response.json().catch(() => null)) as { error?: string; code?: string; problems?: { path: string; message: string }[]; replacedBy?: { id: string; email: string }[] } | null;
  const retryAfter = Number(response.headers.get('retry-after')) || undefined;
  if (!response.ok) throw new ApiError(response.status, problemsOf(data) ?? data?.error ?? `${response.status} ${response.statusText}`, data?.code, retryAfter, data?.replacedBy, data);
  return data as T;
}

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** `data` answers the request before (another period, other filters): shown meanwhile, it is not this one's. */
  stale: boolean;
  reload(): void;
}

/** How soon a page asks again after a 503 without Retry-After, and at the latest after one with it. */
const RETRY_UNAVAILABLE_S = 5;
const RETRY_UNAVAILABLE_MAX_S = 60;

/**
 * GETs `path` (nothing when null) and again whenever it changes; the previous answer stays meanwhile, marked `stale`.
 * An answer the server could not give for now (503: its database unreachable) is asked for again by itself, after its
 * Retry-After, until it comes; so is one Hearth could not be reached for, every few seconds (a server started again
 * tells the browser nothing) and as soon as the browser is back online: the page recovers without a reload. Their
 * error stays shown while asking again, rather than coming back (and being announced again) every few seconds.
 */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ path?: string; data?: T; error?: ApiError; loading: boolean }>({ loading: path !== null });
  const [attempt, setAttempt] = useState(0);
  const again = () => setAttempt((n) => n + 1);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    let retry: ReturnType<typeof setTimeout> | undefined;
    setState((previous) => ({ ...previous, error: previous.error?.unavailable || previous.error?.unreachable ? previous.error : undefined, loading: true }));
    request<T>(path).then(
      (data) => current && setState({ path, data, loading: false }),
      (error: unknown) => {
        if (!current) return;
        const failure = error instanceof ApiError ? error : new ApiError(0, String(error));
        setState((previous) => ({ ...previous, error: failure, loading: false }));
        if (failure.unavailable) retry = setTimeout(again, Math.min(failure.retryAfter ?? RETRY_UNAVAILABLE_S, RETRY_UNAVAILABLE_MAX_S) * 1000);
        if (failure.unreachable) {
          retry = setTimeout(again, RETRY_UNAVAILABLE_S * 1000);
          addEventListener('online', again);
        }
      },
    );
    return () => {
      current = false;
      clearTimeout(retry);
      removeEventListener('online', again);
    };
  }, [path, attempt]);
  return { data: state.data, error: state.error, loading: state.loading, stale: state.data !== undefined && state.path !== path, reload: again };
}

/**
 * Attributes for what shows `loaded`'s data. While it is the request before's (`stale`), it is marked busy and dimmed,
 * so that no figure reads as the new period's (or filters'), and takes no click (an old figure's link opens the new
 * list). Not `inert`: the keyboard's focus, on a pager's button or a count line, would drop to the page's body.
 */
export const staleAttributes = (loaded: Loaded<unknown>) => (loaded.stale ? { 'aria-busy': 'true' as const, class: 'stale' } : {});

/** A query string from the values that are set, in a stable order. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
