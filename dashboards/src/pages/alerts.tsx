import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { AlertListResponse, AlertView } from '../../../collector/api/alerts.routes.ts';
import type { SiteInfo } from '../../../collector/api/dashboard-types.ts';
import { DELIVERY_STATES, NOT_DELIVERED_TO, type DeliveryState } from '../../../scoring/alerts/outbox.ts';
import { ApiError, query, request, useApi, type Loaded } from '../api.ts';
import { alertsCounted, AlertStatusBadge, RetryControls, useAlertRetry } from '../components/alert-retry.tsx';
import { Failures } from '../components/failures.tsx';
import { NavigatingSelect } from '../components/navigating-select.tsx';
import { Loading, TableScroll } from '../components/ui.tsx';
import { formatAgo, formatList, formatNumber, formatReason, formatTime } from '../format.ts';
import { humanize } from '../../../scoring/labels.ts';
import { hrefWith, navigate, useScrollRestore } from '../router.ts';
import { ALERTS_NOT_SHOWN, canSeeAlerts, usePageTitle, type PageProps } from '../session.ts';

/** The alerts the page lists at first; "Show older" adds as many again. */
const PAGE_SIZE = 100;

/** Each status as the filter offers it, counted (`one`, which takes an s for more), and when no alert has it. */
const STATUSES: Record<DeliveryState, { filter: string; one: string; none: (site: string) => string }> = {
  pending: { filter: 'Pending', one: 'pending alert', none: (site) => `No alert of ${site} is waiting to be sent.` },
  delivered: { filter: 'Delivered', one: 'delivered alert', none: (site) => `No alert of ${site} has been delivered.` },
  dead: { filter: 'Dead letters', one: 'dead letter', none: (site) => `No dead letter on ${site}: no alert has failed for good.` },
  suppressed: {
    filter: 'Suppressed',
    one: 'suppressed alert',
    none: (site) => `No alert of ${site} was held back (by the cooldown, a signal turned off, or no route).`,
  },
};
const ANY_STATUS = { one: 'alert', none: (site: string) => `No alert on ${site} yet.` };
const DESTINATION_TYPES: Record<string, string> = { webhook: 'webhook', slack: 'Slack', email: 'email' };

const times = (count: number, what: string) => `${formatNumber(count)} ${what}${count === 1 ? '' : 's'}`;

/**
 * The alerts inbox: a site's buying-signal alerts, newest first, where each went and what failed, filtered by status
 * in the URL (as the lead lists are), older ones shown on demand, and a retry for a dead letter.
 */
export function AlertsPage({ session, site, location }: PageProps) {
  const allowed = canSeeAlerts(session);
  const status = location.params.get('status') ?? '';
  const pages = useAlertPages(allowed ? `/api/alerts${query({ site: site.id, status, limit: PAGE_SIZE })}` : null);
  const { first } = pages;
  const fresh = useNewAlerts(allowed ? `/api/alerts${query({ site: site.id, status, limit: NEW_ALERTS_LOOK })}` : null, first.data);
  // Counted in the tab's title too, as a mail inbox does: sales keep the page open in a tab.
  usePageTitle(`${fresh ? `(${fresh >= NEW_ALERTS_LOOK ? `${NEW_ALERTS_LOOK}+` : fresh}) ` : ''}Alerts · ${site.name}`);
  useScrollRestore(!first.loading);
  const refused = !allowed || first.error?.status === 403;
  const { counts } = pages;
  return (
    <div class="page">
      <div class="page-header">
        <h1 tabIndex={-1}>Alerts</h1>
        {!refused && (
          <label>
            Status{' '}
            <NavigatingSelect value={status} onPick={(picked) => navigate(hrefWith(location.path, location.params, { status: picked }))}>
              <option value="">All statuses{counts && ` (${formatNumber(alertsCounted(counts))})`}</option>
              {DELIVERY_STATES.map((state) => (
                <option key={state} value={state}>
                  {STATUSES[state].filter}
                  {counts && ` (${formatNumber(counts[state])})`}
                </option>
              ))}
            </NavigatingSelect>
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
          <Failures panels={[[first, 'the alerts']]} />
          {/* Always there, so that a screen reader hears the button as it comes. */}
          <p class="new-alerts" aria-live="polite">
            {fresh > 0 && (
              <button type="button" onClick={first.reload}>
                {fresh >= NEW_ALERTS_LOOK ? `${NEW_ALERTS_LOOK} or more new alerts` : fresh === 1 ? '1 new alert' : `${fresh} new alerts`}: show
              </button>
            )}
          </p>
          {/* A list already shown stays when showing the new alerts fails (the error says so above it). */}
          {first.error && !first.data ? null : !pages.last ? (
            <Loading what="the alerts" />
          ) : (
            <AlertTable pages={pages} site={site} />
          )}
        </>
      )}
    </div>
  );
}

/** How often the page looks for alerts made since it was loaded (a lead turning hot while sales watch), and how many it counts. */
const NEW_ALERTS_POLL_MS = 30_000;
const NEW_ALERTS_LOOK = 20;

/**
 * How many alerts of the filter were made since `shown` was loaded, looked for every 30 s: the page says so (and its
 * tab's title) and shows them on a click, rather than moving its rows under the reader (QA: a lead turning hot while
 * the page was open never showed).
 */
function useNewAlerts(path: string | null, shown: AlertListResponse | undefined): number {
  const [fresh, setFresh] = useState(0);
  useEffect(() => {
    setFresh(0);
    if (path === null || shown === undefined) return;
    const known = new Set(shown.alerts.map((alert) => alert.id));
    const newest = shown.alerts[0]?.createdAt ?? '';
    const look = () => {
      request<AlertListResponse>(path).then(
        (answer) => setFresh(answer.alerts.filter((alert) => !known.has(alert.id) && alert.createdAt >= newest).length),
        // A look that fails says nothing: the next one may not, and the list shown is still right as of its load.
        () => undefined,
      );
    };
    // In a tab in the background too, whose title counts them (browsers slow its timers to once a minute at most).
    const timer = setInterval(look, NEW_ALERTS_POLL_MS);
    return () => clearInterval(timer);
  }, [path, shown]);
  return fresh;
}

interface AlertPages {
  first: Loaded<AlertListResponse>;
  /** The latest answer, whose `next` is where older alerts start. */
  last: AlertListResponse | undefined;
  /** The alerts of each status: the latest answer's, or read again since a retried alert moved. */
  counts: Record<DeliveryState, number> | undefined;
  alerts: AlertView[];
  /** An alert's status: as listed, or as a retry and the looks after it found it. */
  statusOf(alert: AlertView): DeliveryState;
  /** Told by a row each status its retried alert goes to. */
  moved(alert: AlertView): void;
  olderLoading: boolean;
  olderError: ApiError | undefined;
  showOlder(): void;
}

/**
 * The first page of `path` and the older pages shown since, each asked from where the one before ended (the API's
 * cursor): alerts that arrive meanwhile neither repeat a row nor hide one. Another filter or site starts over.
 */
function useAlertPages(path: string | null): AlertPages {
  const first = useApi<AlertListResponse>(path);
  const [older, setOlder] = useState<{ after: AlertListResponse; pages: AlertListResponse[]; error?: ApiError }>();
  const [olderLoading, setOlderLoading] = useState(false);
  const current = older && older.after === first.data ? older : undefined;
  const pages = first.data ? [first.data, ...(current?.pages ?? [])] : [];
  const last = pages.at(-1);
  // A retried alert stays listed, in its new status (see useAlertRetry); the counts are read again as it moves, so
  // that the filter and the count line agree with the rows.
  const [moves, setMoves] = useState<{ of: AlertListResponse; statuses: Record<string, DeliveryState> }>();
  const [recount, setRecount] = useState<{ after: AlertListResponse; counts: Record<DeliveryState, number> }>();
  const recounts = useRef(0);
  const statuses = moves && moves.of === first.data ? moves.statuses : {};

  function moved(alert: AlertView) {
    const base = first.data;
    const after = last;
    if (!base || !after) return;
    setMoves((previous) => ({ of: base, statuses: { ...(previous?.of === base ? previous.statuses : {}), [alert.id]: alert.status } }));
    // The counts are the site's whatever the filter: the smallest page gives them. The latest answer wins; when none
    // comes, the counts before stay (the row says what the retry did).
    const asked = ++recounts.current;
    request<AlertListResponse>(`/api/alerts${query({ site: base.site, limit: 1 })}`).then(
      (answer) => asked === recounts.current && setRecount({ after, counts: answer.counts }),
      () => undefined,
    );
  }

  async function showOlder() {
    const base = first.data;
    if (olderLoading || !base || !last?.next || path === null) return;
    const keep = (previous: typeof older) => (previous?.after === base ? previous.pages : []);
    setOlderLoading(true);
    try {
      const page = await request<AlertListResponse>(`${path}&before=${encodeURIComponent(last.next)}`);
      setOlder((previous) => ({ after: base, pages: [...keep(previous), page] }));
    } catch (error) {
      const failure = error instanceof ApiError ? error : new ApiError(0, String(error));
      setOlder((previous) => ({ after: base, pages: keep(previous), error: failure }));
    } finally {
      setOlderLoading(false);
    }
  }

  return {
    first,
    last,
    counts: recount && recount.after === last ? recount.counts : last?.counts,
    alerts: pages.flatMap((page) => page.alerts),
    statusOf: (alert) => statuses[alert.id] ?? alert.status,
    moved,
    olderLoading,
    olderError: current?.error,
    showOlder: () => void showOlder(),
  };
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

function AlertTable({ pages, site }: { pages: AlertPages; site: SiteInfo }) {
  const { alerts, last, counts } = pages;
  // The words are those of the alerts shown: after another status is picked, the rows stay until its answer comes.
  const state = last?.status;
  const words = state ? STATUSES[state] : ANY_STATUS;
  const body = useRef<HTMLTableSectionElement>(null);
  const count = useRef<HTMLParagraphElement>(null);
  const olderButton = useRef<HTMLButtonElement>(null);
  /** How many rows there were when older ones were asked for: the first new row takes the focus from the button. */
  const focusFrom = useRef<number | undefined>(undefined);

  // The keyboard goes on from the first older row, not from the button below them all, unless the user has moved on
  // meanwhile; as the rows are drawn, before the browser paints them, in case the button went (no older alert left)
  // and left the focus on the page's body. When they could not be loaded, the focus stays on the button.
  useLayoutEffect(() => {
    const from = focusFrom.current;
    if (from === undefined || pages.olderLoading) return;
    focusFrom.current = undefined;
    const active = document.activeElement;
    if (active !== olderButton.current && active !== document.body && active !== null) return;
    const firstOlder = body.current?.rows[from]?.querySelector<HTMLElement>('th a');
    if (firstOlder) firstOlder.focus();
    else if (!olderButton.current) count.current?.focus();
  });

  // In a fragment, as the list is: the same status line says there is none, and a screen reader hears it change.
  if (alerts.length === 0 || !last || !counts) {
    return (
      <>
        <p class="empty" role="status" ref={count} tabIndex={-1}>
          {words.none(site.name)}
        </p>
      </>
    );
  }
  // The rows whose alert a retry took out of the status stay, but are not counted in it.
  const shown = state ? alerts.filter((alert) => pages.statusOf(alert) === state).length : alerts.length;
  // The counts are the latest: an alert retried since an earlier page may have left the status.
  const total = Math.max(state ? counts[state] : alertsCounted(counts), shown);
  const plural = `${words.one}s`;
  return (
    <>
      <p class="muted" role="status" ref={count} tabIndex={-1}>
        {last.next === null ? times(shown, words.one) : `${formatNumber(shown)} of ${times(total, words.one)}`}
      </p>
      <TableScroll label="Alerts">
        <table class="alerts-table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Lead</th>
              <th scope="col" class="wide-only">
                Signal
              </th>
              <th scope="col">Status</th>
              <th scope="col" class="wide-only">
                Destinations
              </th>
            </tr>
          </thead>
          <tbody ref={body}>
            {alerts.map((alert) => (
              <AlertRow key={alert.id} listed={alert} siteId={site.id} moved={pages.moved} />
            ))}
          </tbody>
        </table>
      </TableScroll>
      {last.next !== null && (
        <div class="pager">
          {/* Not disabled while it loads: a disabled button drops the keyboard's focus. */}
          <button
            type="button"
            ref={olderButton}
            aria-disabled={pages.olderLoading ? 'true' : undefined}
            onClick={() => {
              if (pages.olderLoading) return;
              focusFrom.current = alerts.length;
              pages.showOlder();
            }}
          >
            {pages.olderLoading ? `Loading older ${plural}…` : `Show older ${plural}`}
          </button>
        </div>
      )}
      {pages.olderError && (
        <p class="error" role="alert">
          {pages.olderError.unavailable
            ? `The older ${plural} are temporarily unavailable: show them again in a moment.`
            : `Could not load the older ${plural}: ${pages.olderError.message}`}
        </p>
      )}
    </>
  );
}

function AlertRow({ listed, siteId, moved }: { listed: AlertView; siteId: string; moved: (alert: AlertView) => void }) {
  const retry = useAlertRetry(listed, siteId, moved);
  const { alert } = retry;
  const { lead } = alert;
  const name = lead.name || lead.email;
  return (
    <tr>
      {/* When the alert was raised, as the list is ordered; and when what it tells of began, when that was well before
          (a long pricing visit is told of once it has lasted, dated by its start). */}
      <td class="when">
        <time dateTime={alert.createdAt}>{formatAgo(alert.createdAt)}</time>
        <span class="sub">{formatTime(alert.createdAt)}</span>
        {Date.parse(alert.createdAt) - Date.parse(alert.triggeredAt) >= 5 * 60_000 && <span class="sub">behaviour from {formatTime(alert.triggeredAt)}</span>}
      </td>
      <th scope="row">
        <a href={`/dashboard/leads/${encodeURIComponent(lead.id)}${query({ site: siteId })}`}>{name}</a>
        <span class="sub">{[lead.name ? lead.email : '', lead.company].filter(Boolean).join(' · ')}</span>
        {/* On a phone, where the signal's column is not shown: the signal and what it tells, under the lead. */}
        <span class="phone-only stacked">
          <strong>{humanize(alert.signal)}</strong>
          {alert.summary && <span class="sub">{alert.summary}</span>}
        </span>
      </th>
      <td class="wide-only">
        <strong>{humanize(alert.signal)}</strong>
        {alert.summary && <span class="sub">{alert.summary}</span>}
      </td>
      <td class="alert-status">
        <AlertStatusBadge status={alert.status} />
        {alert.reason && <span class="sub">{formatReason(alert.reason)}</span>}
        <RetryControls retry={retry} />
        {/* On a phone, where the destinations' column is not shown: how each went, and why one failed, under the
            status (a dead letter's Retry is blind without it). */}
        <div class="phone-only">
          <Deliveries alert={alert} />
        </div>
      </td>
      <td class="wide-only">
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
          {/* A pending delivery's error is its last attempt's (before a retry, say), not a failure for good; a delivered
              one says only whom it missed (its error may be that of the attempt before the one that delivered it). */}
          {delivery.lastError && (delivery.state !== 'delivered' || delivery.lastError.startsWith(NOT_DELIVERED_TO)) && (
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
