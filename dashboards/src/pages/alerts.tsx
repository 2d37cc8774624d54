import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { AlertListResponse, AlertView } from '../../../collector/api/alerts.routes.ts';
import type { SiteInfo } from '../../../collector/api/dashboard-types.ts';
import { DELIVERY_STATES, type DeliveryState } from '../../../scoring/alerts/outbox.ts';
import { ApiError, query, request, useApi } from '../api.ts';
import { ErrorMessage, Loading, TableScroll } from '../components/ui.tsx';
import { formatAgo, formatList, formatNumber, formatTime, humanize } from '../format.ts';
import { hrefWith, navigate } from '../router.ts';
import { ALERTS_NOT_SHOWN, canSeeAlerts, usePageTitle, type PageProps } from '../session.ts';

/** The latest alerts the page lists; it asks for one more, to know whether older ones are left out. */
const LIMIT = 100;
/** After a retry, the row asks how the alert fares this often, as long as it is pending, at most this many times. */
const FOLLOW_MS = 1500;
const FOLLOW_TIMES = 20;

/** Each status as the filter offers it, as a badge, counted (`one`, which takes an s for more), and when no alert has it. */
const STATUSES: Record<DeliveryState, { filter: string; badge: string; one: string; none: (site: string) => string }> = {
  pending: { filter: 'Pending', badge: 'Pending', one: 'pending alert', none: (site) => `No alert of ${site} is waiting to be sent.` },
  delivered: { filter: 'Delivered', badge: 'Delivered', one: 'delivered alert', none: (site) => `No alert of ${site} has been delivered.` },
  dead: {
    filter: 'Dead letters',
    badge: 'Dead letter',
    one: 'dead letter',
    none: (site) => `No dead letter on ${site}: no alert has failed for good.`,
  },
  suppressed: {
    filter: 'Suppressed',
    badge: 'Suppressed',
    one: 'suppressed alert',
    none: (site) => `No alert of ${site} was held back (by the cooldown, a signal turned off, or no route).`,
  },
};
const ANY_STATUS = { one: 'alert', none: (site: string) => `No alert on ${site} yet.` };
/** What the row says a retry did, as the alert goes on. */
const AFTER_RETRY: Record<DeliveryState, string> = {
  pending: 'pending, on its way again.',
  delivered: 'delivered.',
  dead: 'failed again (the error is next to it).',
  suppressed: 'held back.',
};
const DESTINATION_TYPES: Record<string, string> = { webhook: 'webhook', slack: 'Slack', email: 'email' };

const stateOf = (text: string) => DELIVERY_STATES.find((state) => state === text);
const times = (count: number, what: string) => `${formatNumber(count)} ${what}${count === 1 ? '' : 's'}`;

/**
 * The alerts inbox: a site's buying-signal alerts, newest first, where each went and what failed, filtered by status
 * in the URL (as the lead lists are), and a retry for a dead letter.
 */
export function AlertsPage({ session, site, location }: PageProps) {
  usePageTitle(`Alerts · ${site.name}`);
  const allowed = canSeeAlerts(session);
  const status = location.params.get('status') ?? '';
  const list = useApi<AlertListResponse>(allowed ? `/api/alerts${query({ site: site.id, status, limit: LIMIT + 1 })}` : null);
  const refused = !allowed || list.error?.status === 403;
  return (
    <div class="page">
      <div class="page-header">
        <h1 tabIndex={-1}>Alerts</h1>
        {!refused && (
          <label>
            Status{' '}
            <select value={status} onChange={(event) => navigate(hrefWith(location.path, location.params, { status: (event.target as HTMLSelectElement).value }))}>
              <option value="">All statuses</option>
              {DELIVERY_STATES.map((state) => (
                <option key={state} value={state}>
                  {STATUSES[state].filter}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {refused ? (
        <p class="muted">{ALERTS_NOT_SHOWN}</p>
      ) : (
        <>
          <p class="muted intro">
            <Destinations site={site} />
          </p>
          {list.error ? (
            <ErrorMessage error={list.error} what="the alerts" />
          ) : !list.data ? (
            <Loading what="the alerts" />
          ) : (
            <AlertTable alerts={list.data.alerts} status={status} site={site} />
          )}
        </>
      )}
    </div>
  );
}

function Destinations({ site }: { site: SiteInfo }) {
  if (site.alertDestinations.length === 0) {
    return (
      <>
        {site.name} has no alert destination: its buying signals are sent to nobody. An admin adds a webhook, a Slack channel or an email address to the
        site's configuration.
      </>
    );
  }
  const where = site.alertDestinations.map((destination) => `${destination.id} (${DESTINATION_TYPES[destination.type] ?? destination.type})`);
  return (
    <>
      Buying-signal alerts for sales, newest first. {site.name} sends them to {formatList(where)}.
    </>
  );
}

function AlertTable({ alerts, status, site }: { alerts: AlertView[]; status: string; site: SiteInfo }) {
  const state = stateOf(status);
  const words = state ? STATUSES[state] : ANY_STATUS;
  const shown = alerts.slice(0, LIMIT);
  if (shown.length === 0) return <p class="empty">{words.none(site.name)}</p>;
  return (
    <>
      <p class="muted" role="status">
        {alerts.length > LIMIT ? `The latest ${LIMIT} ${words.one}s; older ones are not listed.` : times(shown.length, words.one)}
      </p>
      <TableScroll label="Alerts">
        <table class="alerts-table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Lead</th>
              <th scope="col">Signal</th>
              <th scope="col">Status</th>
              <th scope="col">Destinations</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((alert) => (
              <AlertRow key={alert.id} listed={alert} siteId={site.id} />
            ))}
          </tbody>
        </table>
      </TableScroll>
    </>
  );
}

/** What a retry said: sent again (the row then tells how the alert fares), or why not. */
type RetryNote = { retried: true } | { failed: string };

function retryFailure(error: ApiError): string {
  if (error.code === 'not_dead') return 'Not sent again: this alert is no longer a dead letter (retried meanwhile?). Its row shows it as it stands now.';
  if (error.code === 'alert_not_found') return 'Not sent again: this alert no longer exists (its lead may have been erased).';
  if (error.unavailable) return 'Not sent again: the data is temporarily unavailable. Try again in a moment.';
  return `Not sent again: ${error.message}`;
}

function AlertRow({ listed, siteId }: { listed: AlertView; siteId: string }) {
  // What the row learnt since the list was read (a retry's answer, how the alert fared since): shown until the list is
  // read again. The list itself is not read again after a retry: in the dead letters, the row would vanish under
  // the keyboard's focus.
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
  // body, unless the user has moved on meanwhile. Moved as the row is drawn, before the browser paints it: a screen
  // reader would otherwise hear the page's body for a moment.
  useLayoutEffect(() => {
    if (!keepFocus.current || button.current) return;
    keepFocus.current = false;
    if (document.activeElement === document.body || document.activeElement === null) noteText.current?.focus();
  });

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
      // Retried meanwhile (in another tab, by a colleague): the row is brought up to date.
      if (failure.code === 'not_dead') setFollowing((n) => n + 1);
    } finally {
      setBusy(false);
    }
  }

  const { lead } = alert;
  const name = lead.name || lead.email;
  const noteId = `retry-${alert.id}`;
  return (
    <tr>
      <td class="when">
        <time dateTime={alert.triggeredAt}>{formatAgo(alert.triggeredAt)}</time>
        <span class="sub">{formatTime(alert.triggeredAt)}</span>
      </td>
      <th scope="row">
        <a href={`/dashboard/leads/${encodeURIComponent(lead.id)}${query({ site: siteId })}`}>{name}</a>
        <span class="sub">{[lead.name ? lead.email : '', lead.company].filter(Boolean).join(' · ')}</span>
      </th>
      <td>
        <strong>{humanize(alert.signal)}</strong>
        {alert.summary && <span class="sub">{alert.summary}</span>}
      </td>
      <td class="alert-status">
        <span class={`badge badge-${alert.status}`}>{STATUSES[alert.status].badge}</span>
        {alert.reason && <span class="sub">{alert.reason}</span>}
        {alert.status === 'dead' && (
          // Not disabled while it works: a disabled button drops the keyboard's focus.
          <button type="button" ref={button} aria-disabled={busy ? 'true' : undefined} aria-describedby={noteId} onClick={retry}>
            {busy ? 'Retrying…' : 'Retry'}
            <span class="visually-hidden">
              {' '}
              {humanize(alert.signal)} for {name}
            </span>
          </button>
        )}
        <p id={noteId} ref={noteText} class={note && 'failed' in note ? 'retry-note error' : 'retry-note done'} role="status" tabIndex={-1}>
          {!note ? '' : 'failed' in note ? note.failed : `Sent again: ${AFTER_RETRY[alert.status]}`}
        </p>
      </td>
      <td>
        <Deliveries alert={alert} />
      </td>
    </tr>
  );
}

function Deliveries({ alert }: { alert: AlertView }) {
  if (alert.deliveries.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="plain deliveries">
      {alert.deliveries.map((delivery) => (
        <li key={delivery.destination}>
          <strong>{delivery.destination}</strong> <span class="muted">({DESTINATION_TYPES[delivery.type] ?? delivery.type})</span>: <DeliveryState delivery={delivery} />
          {/* A pending delivery's error is its last attempt's (before a retry, say), not a failure for good. */}
          {delivery.lastError && delivery.state !== 'delivered' && (
            <span class="delivery-error">
              {delivery.state === 'pending' ? 'Last error: ' : ''}
              {delivery.lastError}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

function DeliveryState({ delivery }: { delivery: AlertView['deliveries'][number] }) {
  const { attempts } = delivery;
  if (delivery.state === 'delivered' && delivery.deliveredAt) {
    return (
      <>
        delivered{' '}
        <time dateTime={delivery.deliveredAt} title={formatTime(delivery.deliveredAt)}>
          {formatAgo(delivery.deliveredAt)}
        </time>
      </>
    );
  }
  if (delivery.state === 'pending') {
    const next = delivery.nextAttemptAt && Date.parse(delivery.nextAttemptAt) > Date.now() ? `next attempt ${formatTime(delivery.nextAttemptAt)}` : 'due now';
    return <>{attempts ? `pending after ${times(attempts, 'failed attempt')}, ${next}` : `pending, ${next}`}</>;
  }
  if (delivery.state === 'dead') return <>{attempts ? `dead after ${times(attempts, 'attempt')}` : 'dead'}</>;
  return <>{delivery.state === 'suppressed' ? 'held back' : delivery.state}</>;
}
