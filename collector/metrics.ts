import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SUPPRESSION_REASONS, type EnqueueResult } from '../scoring/alerts/dispatcher.ts';
import type { SinkStatus } from './ingest/sink.ts';
import type { ScoringStatus } from './scorer.ts';

/** What the sink reports; the write-ahead log also counts the events ClickHouse refused since start. */
type BacklogStatus = SinkStatus & { rejectedRows?: number };

/** Why /collect refused a request: the `code` of its error body. Anything else is counted as `other`. */
export const REJECTION_REASONS = [
  'invalid_json',
  'invalid_encoding',
  'invalid_batch',
  'unknown_site',
  'origin_not_allowed',
  'body_too_large',
  'unsupported_media_type',
  'unsupported_encoding',
  'rate_limited',
  'log_full',
  'log_unwritable',
  'shutting_down',
  'other',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export interface HearthMetrics {
  /** Prometheus text for GET /metrics. */
  registry: Registry;
  /** One answer of a route under /api (its pattern, as `/api/leads/:id`), in `seconds`. */
  apiAnswered(method: string, route: string, status: number, seconds: number): void;
  accepted(events: number): void;
  /** Values an accepted batch was stored without (the entries of its 202's `ignored`). */
  ignored(values: number): void;
  rejected(code: string): void;
  /** For the write-ahead log's hooks: one insert into ClickHouse stored `rows` in `durationMs`… */
  flushed(durationMs: number, rows: number): void;
  /** …or failed (it is retried; the rows wait in the log). */
  clickHouseFailed(): void;
  /** Reads the backlog gauges from the sink at each scrape. */
  watchBacklog(status: () => BacklogStatus): void;
  /** One attempt to send an alert to a destination, and the delivery's state after it. */
  alertAttempt(channel: AlertChannel, state: 'delivered' | 'pending' | 'dead'): void;
  /** Alerts recorded: to be sent, or suppressed and why. */
  alertsRecorded(result: Pick<EnqueueResult, 'queued' | 'suppressedBy'>): void;
  /** Reads the scorer's gauges at each scrape. */
  watchScoring(status: () => ScoringStatus): void;
  /** Reads at each scrape whether this collector sends the alerts. */
  watchAlertSending(sending: () => boolean): void;
}

/** The kinds of alert destination (sites[].alerts.destinations[].type). */
export const ALERT_CHANNELS = ['webhook', 'slack', 'email'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];
/** What an attempt to send an alert came to: delivered, failed and retried later, or failed for good (a dead letter). */
const ALERT_OUTCOMES = { delivered: 'delivered', pending: 'retrying', dead: 'dead' } as const;

/** One registry per app, so that several apps in one process (tests) keep their own counts. `version`: Hearth's, for hearth_build_info. */
export function createMetrics(version?: string): HearthMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (version) new Gauge({ name: 'hearth_build_info', help: 'Always 1; its label says which release of Hearth runs (for a dashboard across an upgrade).', labelNames: ['version'], registers: [registry] }).set({ version }, 1);

  // The API's answers (the dashboards' panels, a CRM's reads), by route pattern: how long the figures take to come.
  // /collect has counters of its own above, and no histogram: each observation there costs every beacon.
  const apiSeconds = new Histogram({
    name: 'hearth_api_request_duration_seconds',
    help: 'Time to answer a request under /api, by method, route (its pattern, e.g. /api/leads/:id) and status class (2xx, 4xx, 5xx).',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  const batches = new Counter({ name: 'hearth_collect_batches_accepted_total', help: 'Batches /collect accepted (202).', registers: [registry] });
  const events = new Counter({ name: 'hearth_collect_events_accepted_total', help: 'Events in the batches /collect accepted.', registers: [registry] });
  const ignoredValues = new Counter({
    name: 'hearth_collect_ignored_total',
    help: "What accepted batches were stored without or otherwise (properties, emails, identify events a page's code passed that cannot be stored, repeated events, ids in another shape, forms without an address): the entries of the 202s' `ignored`.",
    registers: [registry],
  });
  const rejections = new Counter({
    name: 'hearth_collect_rejected_total',
    help: 'Requests /collect refused, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  // Every reason shows from the first scrape, so a rate() over it never starts from a missing series.
  for (const reason of REJECTION_REASONS) rejections.inc({ reason }, 0);

  const insertSeconds = new Histogram({
    name: 'hearth_clickhouse_insert_duration_seconds',
    help: 'Time of each successful insert (flush) from the write-ahead log into ClickHouse.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const insertRows = new Histogram({
    name: 'hearth_clickhouse_insert_rows',
    help: 'Rows per insert (flush) into ClickHouse.',
    buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10_000, 50_000],
    registers: [registry],
  });
  const clickHouseErrors = new Counter({
    name: 'hearth_clickhouse_insert_errors_total',
    help: 'Inserts into ClickHouse that failed (each is retried; the events wait in the write-ahead log).',
    registers: [registry],
  });

  let backlog: (() => BacklogStatus) | undefined;
  // The one way an accepted event never reaches ClickHouse: it refused the row itself (it cannot parse it), and the
  // write-ahead log set it aside in rejected.ndjson. Retried inserts count above; these would otherwise show nowhere.
  let refusedSeen = 0;
  new Counter({
    name: 'hearth_clickhouse_refused_events_total',
    help: 'Accepted events ClickHouse refused (it cannot parse them), set aside in the write-ahead log\'s rejected.ndjson instead of stored.',
    registers: [registry],
    collect() {
      const refused = backlog?.().rejectedRows;
      if (typeof refused === 'number' && refused > refusedSeen) {
        this.inc(refused - refusedSeen);
        refusedSeen = refused;
      }
    },
  });
  new Gauge({
    name: 'hearth_wal_pending_bytes',
    help: 'Bytes of accepted events in the write-ahead log not yet stored in ClickHouse.',
    registers: [registry],
    collect() {
      if (backlog) this.set(backlog().pendingBytes);
    },
  });
  new Gauge({
    name: 'hearth_wal_max_bytes',
    help: 'The most the write-ahead log keeps before it refuses events (HEARTH_WAL_MAX_MB): hearth_wal_pending_bytes over it is how full it is.',
    registers: [registry],
    collect() {
      const max = backlog?.().maxBytes;
      if (max !== undefined) this.set(max);
    },
  });
  new Gauge({
    name: 'hearth_wal_pending_rows',
    help: 'Accepted events in the write-ahead log not yet stored in ClickHouse.',
    registers: [registry],
    collect() {
      if (backlog) this.set(backlog().pendingRows);
    },
  });

  new Gauge({
    name: 'hearth_wal_oldest_pending_seconds',
    help: 'How long the oldest accepted event not yet stored in ClickHouse has waited in the write-ahead log (0 when none waits).',
    registers: [registry],
    collect() {
      const oldest = backlog?.().oldestPendingAt;
      if (oldest !== undefined) this.set(oldest === null ? 0 : Math.max(0, Date.now() - oldest) / 1000);
    },
  });
  const alertAttempts = new Counter({
    name: 'hearth_alert_attempts_total',
    help: 'Attempts to send an alert to a destination, by channel and outcome: delivered, retrying (failed, tried again later) or dead (failed for good: a dead letter).',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  });
  for (const channel of ALERT_CHANNELS) for (const outcome of Object.values(ALERT_OUTCOMES)) alertAttempts.inc({ channel, outcome }, 0);
  const alertsQueued = new Counter({ name: 'hearth_alerts_queued_total', help: 'Alerts recorded with at least one destination to send them to.', registers: [registry] });
  const alertsSuppressed = new Counter({
    name: 'hearth_alerts_suppressed_total',
    help: 'Alerts recorded and sent nowhere, by reason: hourly_cap, cooldown, disqualified, signal_disabled, no_route, no_recipient, no_destinations (the Alerts page says it of each).',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of SUPPRESSION_REASONS) alertsSuppressed.inc({ reason }, 0);
  let alertSending: (() => boolean) | undefined;
  new Gauge({
    name: 'hearth_alerts_sending',
    help: 'Whether this collector sends the alerts (1) or only records them (0: HEARTH_SEND_ALERTS=false, or another collector of the ClickHouse server holds the alert sender lease).',
    registers: [registry],
    collect() {
      if (alertSending) this.set(alertSending() ? 1 : 0);
    },
  });

  // Whether scores are current: what waits for its round, a full pass (start, hourly, a rules change) under way and
  // how far it got, and when the last one ended. Read from the scorer at each scrape.
  let scoring: (() => ScoringStatus) | undefined;
  new Gauge({
    name: 'hearth_scoring_pending_visitors',
    help: 'Browsers whose events are stored but whose leads wait for their next rescoring round.',
    registers: [registry],
    collect() {
      const status = scoring?.();
      if (status) this.set(status.pendingVisitors);
    },
  });
  const perSite = (name: string, help: string, value: (site: ScoringStatus['sites'][number]) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['site'],
      registers: [registry],
      collect() {
        this.reset();
        for (const site of scoring?.().sites ?? []) {
          const measured = value(site);
          if (measured !== null) this.set({ site: site.site }, measured);
        }
      },
    });
  perSite('hearth_scoring_full_pass_slices_left', "Slices left of the site's full rescoring under way (0: none under way; a slice is up to 100,000 leads).", (site) => site.slicesLeft);
  perSite('hearth_scoring_last_full_pass_end_time_seconds', "When the site's last full rescoring ended (Unix time); absent until one has since the start.", (site) => (site.lastPassEndedAt === null ? null : site.lastPassEndedAt / 1000));
  perSite('hearth_scoring_last_full_pass_duration_seconds', "How long the site's last full rescoring took; absent until one has ended since the start.", (site) => (site.lastPassMs === null ? null : site.lastPassMs / 1000));

  return {
    registry,
    apiAnswered: (method, route, status, seconds) => apiSeconds.observe({ method, route, status: `${Math.floor(status / 100)}xx` }, seconds),
    accepted(count) {
      batches.inc();
      events.inc(count);
    },
    ignored: (values) => ignoredValues.inc(values),
    rejected(code) {
      const reason = (REJECTION_REASONS as readonly string[]).includes(code) ? code : 'other';
      rejections.inc({ reason });
    },
    flushed(durationMs, rows) {
      insertSeconds.observe(durationMs / 1000);
      insertRows.observe(rows);
    },
    clickHouseFailed: () => clickHouseErrors.inc(),
    watchBacklog(status) {
      backlog = status;
    },
    alertAttempt: (channel, state) => alertAttempts.inc({ channel, outcome: ALERT_OUTCOMES[state] }),
    alertsRecorded({ queued, suppressedBy }) {
      alertsQueued.inc(queued);
      for (const [reason, count] of Object.entries(suppressedBy)) alertsSuppressed.inc({ reason }, count);
    },
    watchScoring(status) {
      scoring = status;
    },
    watchAlertSending(sending) {
      alertSending = sending;
    },
  };
}
