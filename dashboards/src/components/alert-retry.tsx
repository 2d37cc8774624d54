import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { AlertListResponse, AlertView } from '../../../collector/api/alerts.routes.ts';
import type { DeliveryState } from '../../../scoring/alerts/outbox.ts';
import { ApiError, query, request } from '../api.ts';
import { humanize } from '../../../scoring/labels.ts';

/**
 * Retry for a dead letter, wherever an alert is listed (the Alerts page, a lead's page): the button, what the retry
 * did, and the alert as it fares afterwards. Only shown to roles that see alerts, which are the ones that may retry.
 */

/** A status as both lists of alerts (the Alerts page, a lead's page) show it. */
const STATUS_BADGES: Record<DeliveryState, string> = { pending: 'Pending', delivered: 'Delivered', dead: 'Dead letter', suppressed: 'Suppressed' };

/** How many alerts `counts` (an alert list's answer) counts in all, whatever their status. */
export const alertsCounted = (counts: Record<DeliveryState, number>): number => Object.values(counts).reduce((sum, count) => sum + count, 0);

export const AlertStatusBadge = ({ status }: { status: DeliveryState }) => <span class={`badge badge-${status}`}>{STATUS_BADGES[status]}</span>;

/** After a retry, the alert is asked how it fares this often, as long as it is pending, at most this many times. */
const FOLLOW_MS = 1500;
const FOLLOW_TIMES = 20;

/** What the note says a retry did, as the alert goes on. */
const AFTER_RETRY: Record<DeliveryState, string> = {
  pending: 'pending, on its way again.',
  delivered: 'delivered.',
  dead: 'failed again (the error is next to it).',
  suppressed: 'held back.',
};

/** What a retry said: sent again (the alert then tells how it fares), or why not. */
type RetryNote = { retried: true } | { failed: string };

function retryFailure(error: ApiError): string {
  if (error.code === 'not_dead') return 'Not sent again: this alert is no longer a dead letter (retried meanwhile?). It is shown as it stands now.';
  if (error.code === 'alert_not_found') return 'Not sent again: this alert no longer exists (its lead may have been erased).';
  if (error.unavailable) return 'Not sent again: the data is temporarily unavailable. Try again in a moment.';
  return `Not sent again: ${error.message}`;
}

export interface AlertRetry {
  /** The alert as last learnt: as listed, or as a retry and the looks after it found it. */
  alert: AlertView;
  note: RetryNote | undefined;
  busy: boolean;
  retry(): void;
  button: RefObject<HTMLButtonElement | null>;
  noteText: RefObject<HTMLParagraphElement | null>;
}

/**
 * A listed alert and its retry. What it learns (a retry's answer, how the alert fared since) is shown until the list
 * is read again. The list itself is not read again after a retry: in the dead letters, the alert would vanish under
 * the keyboard's focus. `moved` is told each status the alert goes to meanwhile, for the list's counts to follow.
 */
export function useAlertRetry(listed: AlertView, siteId: string, moved?: (alert: AlertView) => void): AlertRetry {
  const [own, setOwn] = useState<{ from: AlertView; alert: AlertView; note?: RetryNote }>();
  const { alert, note } = own?.from === listed ? own : { alert: listed, note: undefined };
  const learn = (changes: { alert?: AlertView; note?: RetryNote | undefined }) =>
    setOwn((previous) => ({ ...(previous?.from === listed ? previous : { from: listed, alert: listed }), ...changes }));
  const [busy, setBusy] = useState(false);
  const [following, setFollowing] = useState(0);
  const button = useRef<HTMLButtonElement>(null);
  const noteText = useRef<HTMLParagraphElement>(null);
  const keepFocus = useRef(false);

  // The Retry button goes once the alert is no longer dead: the focus goes to what the retry did, not to the page's
  // body, unless the user has moved on meanwhile. Moved as the alert is drawn, before the browser paints it: a screen
  // reader would otherwise hear the page's body for a moment.
  useLayoutEffect(() => {
    if (!keepFocus.current || button.current) return;
    keepFocus.current = false;
    if (document.activeElement === document.body || document.activeElement === null) noteText.current?.focus();
  });

  // The list's counts follow the alert as a retry moves it: it stays listed where it was, in its new status.
  useEffect(() => {
    if (alert !== listed) moved?.(alert);
  }, [alert.status]);

  // After a retry, the alert's state as the dispatcher moves it on, read from the lead's alerts.
  useEffect(() => {
    if (following === 0) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let asked = 0;
    const look = async () => {
      const found = await request<AlertListResponse>(`/api/alerts${query({ site: siteId, lead: alert.lead.id })}`).then(
        (answer) => answer.alerts.find((candidate) => candidate.id === alert.id),
        () => undefined,
      );
      if (stopped) return;
      if (found) learn({ alert: found });
      if ((!found || found.status === 'pending') && ++asked < FOLLOW_TIMES) timer = setTimeout(look, FOLLOW_MS);
    };
    timer = setTimeout(look, FOLLOW_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [following]);

  async function retry() {
    if (busy) return;
    keepFocus.current = true;
    setBusy(true);
    learn({ note: undefined });
    try {
      const after = await request<AlertView>(`/api/alerts/${encodeURIComponent(alert.id)}/retry${query({ site: siteId })}`, { method: 'POST' });
      learn({ alert: after, note: { retried: true } });
      setFollowing((n) => n + 1);
    } catch (error) {
      const failure = error instanceof ApiError ? error : new ApiError(0, String(error));
      learn({ note: { failed: retryFailure(failure) } });
      // Retried meanwhile (in another tab, by a colleague): the alert is brought up to date.
      if (failure.code === 'not_dead') setFollowing((n) => n + 1);
    } finally {
      setBusy(false);
    }
  }

  return { alert, note, busy, retry: () => void retry(), button, noteText };
}

/** The Retry button of a dead letter, and the note that says what a retry did (empty until one is made). */
export function RetryControls({ retry }: { retry: AlertRetry }) {
  const { alert, note, busy } = retry;
  const noteId = `retry-${alert.id}`;
  // Styled by how the alert fares, not by whether the retry was taken: sent again to fail again is no success.
  const outcome = !note ? '' : 'failed' in note || alert.status === 'dead' ? ' error' : alert.status === 'delivered' ? ' done' : '';
  return (
    <>
      {alert.status === 'dead' && (
        // Not disabled while it works: a disabled button drops the keyboard's focus.
        <button type="button" class="retry" ref={retry.button} aria-disabled={busy ? 'true' : undefined} aria-describedby={noteId} onClick={retry.retry}>
          {busy ? 'Retrying…' : 'Retry'}
          <span class="visually-hidden">
            {' '}
            {humanize(alert.signal)} for {alert.lead.name || alert.lead.email}
          </span>
        </button>
      )}
      <p id={noteId} ref={retry.noteText} class={`retry-note${outcome}`} role="status" tabIndex={-1}>
        {!note ? '' : 'failed' in note ? note.failed : `Sent again: ${AFTER_RETRY[alert.status]}`}
      </p>
    </>
  );
}
