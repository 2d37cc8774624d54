import type { AlertListResponse, AlertView } from '../../../collector/api/alerts.routes.ts';
import type { SiteInfo } from '../../../collector/api/dashboard-types.ts';
import { DELIVERY_STATES, type DeliveryState } from '../../../scoring/alerts/outbox.ts';
import { query, useApi } from '../api.ts';
import { RetryControls, useAlertRetry } from '../components/alert-retry.tsx';
import { ErrorMessage, Loading, TableScroll } from '../components/ui.tsx';
import { formatAgo, formatList, formatNumber, formatTime, humanize } from '../format.ts';
import { hrefWith, navigate } from '../router.ts';
import { ALERTS_NOT_SHOWN, canSeeAlerts, usePageTitle, type PageProps } from '../session.ts';

/** The latest alerts the page lists; it asks for one more, to know whether older ones are left out. */
const LIMIT = 100;

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

function AlertRow({ listed, siteId }: { listed: AlertView; siteId: string }) {
  const retry = useAlertRetry(listed, siteId);
  const { alert } = retry;
  const { lead } = alert;
  const name = lead.name || lead.email;
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
        <RetryControls retry={retry} />
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
