import { createTransport } from 'nodemailer';
import type { Alert } from './alert.ts';
import type { AlertsConfig, AlertsSetup, Destination, SmtpConfig } from './config.ts';
import { utcMoment } from './formats.ts';
import { alertDeliveries, alertedSince, cooldownKey, knownAlertIds, lastAlerted, pendingDeliveries, writeDeliveries, type Delivery, type OutboxClient } from './outbox.ts';
import { emailRecipients, routeAlert } from './routing.ts';
import { sendEmail, sendSlack, sendWebhook, type MailTransport, type Outcome } from './senders.ts';

/**
 * Alert delivery: `enqueue` records each alert in the outbox (one row per destination) before it resolves; a loop
 * sends what is due, a few at a time per destination, and records every outcome as a new row. Each destination's
 * queue is served on its own: a receiver that hangs until the timeout, or is slow, holds only its own few sending
 * slots, so the alerts of the other destinations go out meanwhile. Failures are retried with
 * exponential backoff and full jitter for 24 hours, then the delivery is a dead letter. The outbox is the only
 * state: a new dispatcher over the same store (after a restart) carries on where the last one stopped. A send in
 * flight when the process dies is repeated (at-least-once); receivers dedupe by the alert id (webhook-id).
 */

export interface AlertLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface BackoffPolicy {
  /** The first retry waits up to this long; each further one up to twice as long as the last, ... */
  baseMs: number;
  /** ... but never more than this. */
  capMs: number;
  /** [0, 1): the jitter. */
  random: () => number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 2_000, capMs: 30 * 60_000, random: Math.random };
/** How long a delivery is retried before it becomes a dead letter. */
export const RETRY_FOR_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;

export interface AlertDispatcherOptions {
  /** The collector's ClickHouse client. */
  client: OutboxClient;
  /** Sites with their `alerts` settings, and `smtp` (the parsed hearth.config.json fits). */
  config: AlertsSetup;
  log: AlertLogger;
  now?: () => number;
  fetch?: typeof globalThis.fetch;
  /** The mail transport for the config's SMTP settings; nodemailer's SMTP transport by default. */
  transportFor?: (smtp: SmtpConfig) => MailTransport;
  /** Sends at the same time to one destination (a site's destination id). Default 4. */
  concurrencyPerDestination?: number;
  /**
   * Sends at the same time across every destination: a bound on sockets and outbox writes. Default 32, so it takes
   * eight destinations stalled at once to reach it with the default per destination.
   */
  concurrency?: number;
  /** Each HTTP request, and an SMTP connection or greeting, gives up after this long. Default 10 s. */
  requestTimeoutMs?: number;
  /** How long an SMTP server may take to answer, the end of a message above all. Default 10 minutes. */
  smtpReplyTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Default 24 hours. */
  retryForMs?: number;
  /** The outbox is read at least this often, for rows another process wrote (a retry through another collector). Default 5 s. */
  pollMs?: number;
  /** Told of each attempt to send, with the delivery as it is after it (delivered, pending for a retry, or dead): /metrics counts them. */
  onAttempt?: (delivery: Delivery) => void;
}

/** Why an alert goes nowhere: /metrics counts them by it. */
export const SUPPRESSION_REASONS = ['no_destinations', 'disqualified', 'signal_disabled', 'cooldown', 'hourly_cap', 'no_route', 'no_recipient'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];

export interface EnqueueResult {
  /** Alerts recorded with at least one delivery to make. */
  queued: number;
  /** Alerts recorded as suppressed, by why (cooldown, disabled signal, hourly cap, no route, no destination…). */
  suppressedBy: Partial<Record<SuppressionReason, number>>;
  /** Alerts the outbox already had (the same trigger evaluated again): ignored. */
  duplicates: number;
}

export interface AlertDispatcher {
  /** Records the alerts in the outbox (idempotent by alert id, cooldown applied); resolves once they are stored. */
  enqueue(alerts: Alert[]): Promise<EnqueueResult>;
  /** Starts sending what is due, now and as it becomes due. */
  start(): void;
  /** Starts no send until start() is called again (another collector sends now); those in flight go on. */
  pause(): void;
  /** Looks at the outbox now (after a retry was requested, say) instead of at the next poll. */
  wake(): void;
  /**
   * Runs `fn` once the sends in flight are done and recorded, and starts none meanwhile: an erasure deletes a person's
   * alerts, and a send recorded just after (its check that the alert is still there made just before) brought one back.
   */
  holding<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Starts no send from now on (alerts enqueued later are recorded for the next start); those in flight go on. A
   * shutdown calls it first, so that a slow receiver's answer has the whole shutdown to come, not the end of it.
   */
  stopSending(): void;
  /** Stops starting sends and waits for those in flight to finish and be recorded. */
  close(): Promise<void>;
}

/** How long a send waits for the receiver's answer, by default. */
export const ALERT_SEND_TIMEOUT_MS = 10_000;
/**
 * How long an SMTP server may take to reply, by default: RFC 5321 (4.5.3.2.6) gives the end of a message 10 minutes,
 * while it scans the message, because a client that gives up sooner sends it again, and mailboxes cannot tell a
 * repeat (sales got an alert six times in 100 s from a server taking 12 s). A stop does not wait that long: an
 * unrecorded send is sent again after the restart, as any send in flight then is.
 */
export const SMTP_REPLY_TIMEOUT_MS = 10 * 60_000;

/** Full jitter: a random wait between 0 and min(cap, base × 2^(attempts − 1)). */
export function retryDelay(attempts: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.floor(policy.random() * ceiling);
}

/** The delivery after one attempt with this outcome: delivered, due again later, or dead. */
export function afterAttempt(delivery: Delivery, outcome: Outcome, now: number, policy: BackoffPolicy): Delivery {
  const attempts = delivery.attempts + 1;
  const next = { ...delivery, attempts, updatedAt: now, version: delivery.version + 1 };
  if (outcome.kind === 'delivered') return { ...next, state: 'delivered', deliveredAt: now, ...(outcome.refused ? { lastError: outcome.refused } : {}) };
  if (outcome.kind === 'dead') return { ...next, state: 'dead', lastError: outcome.error };
  // The backoff's cap bounds Hearth's own waits, not the receiver's: a Retry-After of two hours is honoured whole.
  const asked = outcome.retryAfterMs ?? 0;
  const wait = Math.max(retryDelay(attempts, policy), asked);
  if (now + wait > delivery.giveUpAt) {
    const window = new Date(delivery.giveUpAt).toISOString();
    // A Retry-After of 10^13 seconds (an epoch in microseconds) is past the last date JavaScript can write.
    const until = new Date(now + asked);
    const askedFor = Number.isNaN(until.getTime()) ? `a wait of ${asked / 1000} s` : `no retry before ${until.toISOString()}`;
    const reason = asked === wait && now < delivery.giveUpAt ? `the receiver asked for ${askedFor}, after the retry window ends ${window}` : `the retry window ended ${window}`;
    return { ...next, state: 'dead', lastError: `gave up after ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'} (${reason}): ${outcome.error}` };
  }
  return { ...next, state: 'pending', nextAttemptAt: now + wait, lastError: outcome.error };
}

const keyOf = (delivery: Pick<Delivery, 'site' | 'alertId' | 'destinationId'>) => `${delivery.site}\u0000${delivery.alertId}\u0000${delivery.destinationId}`;
/** Destination ids are a site's own: two sites may both have a "crm". */
const destinationOf = (delivery: Pick<Delivery, 'site' | 'destinationId'>) => `${delivery.site}\u0000${delivery.destinationId}`;

/**
 * An email address in free text, such as a receiver's answer ("contact jane@acme.test already exists"). Before the @,
 * every character /collect takes in an address (RFC 5322's atext: `o'brien`, `jane{crm}`), so none is half masked.
 */
const EMAIL_IN_TEXT = /[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]{},;:"'`]+\.[^\s@<>()[\]{},;:"'`.]+/g;

/**
 * A delivery error as the log says it: addresses masked. The outbox keeps the receiver's answer whole, where an
 * erasure reaches it; a log line stays in files and collectors Hearth cannot erase.
 */
export const withoutEmails = (text: string) => text.replace(EMAIL_IN_TEXT, '[email]');

export function createAlertDispatcher(options: AlertDispatcherOptions): AlertDispatcher {
  const { client, config, log } = options;
  const now = options.now ?? Date.now;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const perDestination = Math.max(1, options.concurrencyPerDestination ?? 4);
  const concurrency = Math.max(1, options.concurrency ?? 32);
  const timeoutMs = options.requestTimeoutMs ?? ALERT_SEND_TIMEOUT_MS;
  const policy: BackoffPolicy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const retryForMs = options.retryForMs ?? RETRY_FOR_MS;
  const pollMs = options.pollMs ?? 5_000;
  const sites = new Map(config.sites.map((site) => [site.id, site]));
  const transportFor =
    options.transportFor ??
    ((smtp: SmtpConfig) =>
      createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.secure ?? smtp.port === 465,
        // Without it, STARTTLS was used only when offered: a server without it, or a network that strips the offer,
        // got the password in clear.
        requireTLS: smtp.requireTls ?? smtp.user !== undefined,
        ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: Math.max(timeoutMs, options.smtpReplyTimeoutMs ?? SMTP_REPLY_TIMEOUT_MS),
      }));
  let transport: MailTransport | undefined;

  /** Sends running now, by delivery key: the outbox still says pending for them, so the next scan must skip them. */
  const inFlight = new Map<string, { destination: string; running: Promise<void> }>();
  /** How many sends to a destination are running (at most `concurrency` in all: counted, not kept). */
  const sendingTo = (destination: string) => [...inFlight.values()].filter((send) => send.destination === destination).length;
  /**
   * The version each finished send wrote, by key: a scan whose query started before that write may still return the
   * older pending row, which must not be sent again. Forgotten after a while, when no scan can be that stale.
   */
  const recorded = new Map<string, { version: number; at: number }>();
  const RECORDED_FOR_MS = 10 * 60_000;
  let started = false;
  let closing = false;
  // How many holding() calls are waiting or running: no send starts meanwhile.
  let holds = 0;
  let scanning: Promise<void> | undefined;
  let scanAgain = false;
  let timer: NodeJS.Timeout | undefined;
  let enqueueChain: Promise<unknown> = Promise.resolve();
  let stopWaiting: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stopWaiting = resolve));
  function stopSending() {
    closing = true;
    stopWaiting();
    clearTimeout(timer);
  }

  // ---- enqueue ---------------------------------------------------------------------------------------------

  /** The alert's createdAt, which the cooldown counts from; the moment it reached the outbox if unreadable. */
  function createdAtOf(alert: Alert, at: number): number {
    const created = Date.parse(alert.createdAt);
    return Number.isNaN(created) ? at : created;
  }

  /** A delivery row for an alert, pending now unless a reason to suppress it is given. */
  function deliveryOf(alert: Alert, destination: Destination | undefined, at: number, suppressedBecause?: string): Delivery {
    return {
      site: alert.site,
      alertId: alert.id,
      destinationId: destination?.id ?? '',
      destinationType: destination?.type ?? '',
      leadId: alert.lead.id,
      signal: alert.signal,
      state: suppressedBecause === undefined ? 'pending' : 'suppressed',
      attempts: 0,
      nextAttemptAt: at,
      giveUpAt: at + retryForMs,
      lastError: suppressedBecause ?? '',
      deliveredAt: null,
      createdAt: createdAtOf(alert, at),
      updatedAt: at,
      alert,
      version: 1,
    };
  }

  /** Why the alert as a whole goes nowhere, if it does: the reason, and the words the Alerts page says it in. */
  function suppression(alert: Alert, alerts: AlertsConfig | undefined, lastSent: Map<string, number>, createdAt: number): [SuppressionReason, string] | undefined {
    if (!alerts) return ['no_destinations', `site "${alert.site}" has no alert destinations (sites[].alerts)`];
    // As HubSpot's "unqualified": sales said not to pursue the lead, and a rep is not called back to it.
    if (alert.lead.disqualifiedFor !== undefined) return ['disqualified', `the lead is disqualified (${alert.lead.disqualifiedFor || 'no reason given'}): its alerts are not sent`];
    if (!alerts.signals.includes(alert.signal)) return ['signal_disabled', `the signal "${alert.signal}" is not enabled for this site (alerts.signals)`];
    const last = lastSent.get(cooldownKey(alert.lead.id, alert.signal));
    if (last !== undefined && createdAt - last < alerts.cooldownHours * HOUR_MS) {
      // Read by sales on the Alerts and lead pages, beside times written as the emails and pages write them.
      return ['cooldown', `cooldown: this lead had a "${alert.signal}" alert at ${utcMoment(last)}, less than ${alerts.cooldownHours} h before`];
    }
    return undefined;
  }

  async function persist(alerts: Alert[]): Promise<EnqueueResult> {
    const result: EnqueueResult = { queued: 0, suppressedBy: {}, duplicates: 0 };
    const suppressed = (reason: SuppressionReason) => (result.suppressedBy[reason] = (result.suppressedBy[reason] ?? 0) + 1);
    const bySite = new Map<string, Map<string, Alert>>();
    for (const alert of alerts) {
      let ofSite = bySite.get(alert.site);
      if (!ofSite) bySite.set(alert.site, (ofSite = new Map()));
      if (ofSite.has(alert.id)) result.duplicates++;
      else ofSite.set(alert.id, alert);
    }
    for (const [siteId, ofSite] of bySite) {
      const known = await knownAlertIds(client, siteId, [...ofSite.keys()]);
      result.duplicates += known.size;
      const fresh = [...ofSite.values()].filter((alert) => !known.has(alert.id));
      if (fresh.length === 0) continue;
      const at = now();
      const createdAt = (alert: Alert) => createdAtOf(alert, at);
      // Oldest first, so that within one batch the first alert of a lead and signal is the one sent, and the hourly cap
      // lets the first to happen through: one scoring pass raises several at one createdAt, when their signals came.
      fresh.sort((a, b) => createdAt(a) - createdAt(b) || a.triggeredAt.localeCompare(b.triggeredAt) || a.id.localeCompare(b.id));
      const alertsConfig = sites.get(siteId)?.alerts;
      const cooldownMs = (alertsConfig?.cooldownHours ?? 0) * HOUR_MS;
      const lastSent =
        cooldownMs > 0
          ? await lastAlerted(client, siteId, [...new Set(fresh.map((alert) => alert.lead.id))], createdAt(fresh[0]!) - cooldownMs)
          : new Map<string, number>();
      // The alerts sent in the hour before the first of these, and those sent from here on: the hourly cap's count.
      const sent = alertsConfig ? await alertedSince(client, siteId, createdAt(fresh[0]!) - HOUR_MS) : [];
      // A fifth of the cap is kept for demo requests, the hand-raisers: a wave of other signals (a lower hot threshold
      // makes hundreds of leads hot at their next visit) filled the hour, and a demo request was held back for it.
      const capped = (alert: Alert): [SuppressionReason, string] | undefined => {
        if (!alertsConfig) return undefined;
        const inHour = sent.filter((time) => time > createdAt(alert) - HOUR_MS && time <= createdAt(alert)).length;
        const { maxPerHour } = alertsConfig;
        const kept = alert.signal === 'demo_request' ? 0 : Math.floor(maxPerHour / 5);
        if (inHour < maxPerHour - kept) return undefined;
        const forRequests = kept > 0 ? `, the last ${kept} of them kept for demo requests` : '';
        return ['hourly_cap', `hourly cap: the site sent ${inHour} alerts in the hour before this one (alerts.maxPerHour: ${maxPerHour}${forRequests}); kept here, not sent`];
      };
      const rows: Delivery[] = [];
      for (const alert of fresh) {
        const because = suppression(alert, alertsConfig, lastSent, createdAt(alert)) ?? capped(alert);
        const destinations = because || !alertsConfig ? [] : routeAlert(alert, alertsConfig);
        if (because || destinations.length === 0) {
          const [reason, words] = because ?? ['no_route', `no route matches (signal ${alert.signal}, owner "${alert.lead.owner}", country "${alert.lead.country}")`];
          rows.push(deliveryOf(alert, undefined, at, words));
          suppressed(reason);
          continue;
        }
        let sending = false;
        for (const destination of destinations) {
          const noRecipient = destination.type === 'email' && emailRecipients(destination, alert).length === 0;
          rows.push(deliveryOf(alert, destination, at, noRecipient ? 'no recipient: the lead has no owner with an email address and the destination lists no address' : undefined));
          sending ||= !noRecipient;
        }
        if (sending) {
          lastSent.set(cooldownKey(alert.lead.id, alert.signal), createdAt(alert));
          sent.push(createdAt(alert));
          result.queued++;
        } else suppressed('no_recipient');
      }
      await writeDeliveries(client, rows);
    }
    return result;
  }

  // ---- sending ---------------------------------------------------------------------------------------------

  /** The delivery's destination in the config; undefined once its site or destination left it. */
  const destinationFor = (delivery: Delivery) => sites.get(delivery.site)?.alerts?.destinations.find((candidate) => candidate.id === delivery.destinationId);

  /**
   * A delivery this config does not know the destination of, recorded since it was loaded: another collector recorded
   * it under a config that has it (a config change rolled out one collector at a time), and one that has it will send
   * it. One recorded before is of a destination the config no longer has.
   */
  const configuredAt = now();
  const ofAnotherConfig = (delivery: Delivery) => delivery.createdAt >= configuredAt;
  /** What a delivery that waits for a sender with its destination says, until one sends it: at once, not after the backoff. */
  const NOT_IN_CONFIG = "is not in this collector's config";

  /**
   * One attempt; never throws. A delivery whose site or destination left the config is dead, saying so; one recorded
   * by a collector with a newer config waits, retried as a failed send is, for a sender that has its destination.
   */
  async function attempt(delivery: Delivery): Promise<Outcome> {
    const destination = destinationFor(delivery);
    const named = `destination "${delivery.destinationId}" of site "${delivery.site}"`;
    if (!destination && ofAnotherConfig(delivery)) {
      return { kind: 'retry', error: `${named} ${NOT_IN_CONFIG}: another collector recorded the alert under a config that has it (a config change being rolled out); it waits for a sender with that config` };
    }
    if (!destination) return { kind: 'dead', error: `${named} is no longer configured` };
    const http = { fetch: fetchImpl, timeoutMs, now };
    try {
      if (destination.type === 'webhook') return await sendWebhook(destination, delivery.alert, http);
      if (destination.type === 'slack') return await sendSlack(destination, delivery.alert, http);
      if (!config.smtp) return { kind: 'dead', error: 'email needs the top-level "smtp" settings' };
      transport ??= transportFor(config.smtp);
      return await sendEmail(destination, delivery.alert, config.smtp, transport, destination.id);
    } catch (err) {
      return { kind: 'retry', error: (err as Error).message ?? String(err) };
    }
  }

  /** Waits `ms`, or less if the dispatcher closes meanwhile. */
  const pause = (ms: number) => Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), stopped]);

  /** Writes the outcome; while ClickHouse refuses, keeps trying (the delivery stays blocked, so it is not re-sent). */
  async function record(delivery: Delivery): Promise<void> {
    for (let failures = 0; ; failures++) {
      try {
        await writeDeliveries(client, [delivery]);
        return;
      } catch (err) {
        if (closing && failures > 0) {
          log.error({ err, alert: delivery.alertId, destination: delivery.destinationId, state: delivery.state }, 'could not record a delivery outcome; the outbox still says pending, so it is sent again after a restart');
          return;
        }
        log.warn({ err, alert: delivery.alertId }, 'could not record a delivery outcome; retrying');
        await pause(Math.min(30_000, 500 * 2 ** failures));
      }
    }
  }

  /**
   * Whether the delivery is still in the outbox. Erasing a person (DELETE /api/leads/:id) deletes their alerts, maybe
   * while one is being sent: recording its outcome then would bring their name and email back, and a retry would
   * send them again. When the outbox cannot be read, yes: record() waits for ClickHouse anyway.
   */
  async function stillQueued(delivery: Delivery): Promise<boolean> {
    try {
      return (await alertDeliveries(client, delivery.site, delivery.alertId)).some((row) => row.destinationId === delivery.destinationId);
    } catch {
      return true;
    }
  }

  async function send(delivery: Delivery): Promise<void> {
    const outcome = await attempt(delivery);
    const next = afterAttempt(delivery, outcome, now(), policy);
    options.onAttempt?.(next);
    if (!(await stillQueued(delivery))) {
      log.info({ alert: delivery.alertId, site: delivery.site, destination: delivery.destinationId }, 'alert erased while being sent: its outcome is not recorded');
      return;
    }
    await record(next);
    const details = { alert: delivery.alertId, site: delivery.site, destination: delivery.destinationId, attempts: next.attempts };
    if (outcome.kind === 'delivered' && outcome.refused) log.warn({ ...details, error: withoutEmails(outcome.refused) }, 'alert delivered, but not to every recipient');
    else if (next.state === 'delivered') log.info(details, 'alert delivered');
    else if (next.state === 'dead') log.warn({ ...details, error: withoutEmails(next.lastError) }, 'alert delivery failed for good: a dead letter (GET /api/alerts?status=dead)');
    // The first failure a warning, which a log kept at warn shows a day before the dead letter would; the retries after it are its news.
    else log[next.attempts === 1 ? 'warn' : 'info']({ ...details, error: withoutEmails(next.lastError), retryAt: new Date(next.nextAttemptAt).toISOString() }, 'alert delivery failed; will retry');
  }

  /** Starts one send, counted against its destination until it is recorded. */
  function launch(delivery: Delivery): void {
    const key = keyOf(delivery);
    // A fault of Hearth's own while sending is logged; left unhandled, it would end the collector, and again at each
    // start while the delivery is pending. The delivery is tried again once the version recorded here has aged out.
    const failed = (err: unknown) => log.error({ err, alert: delivery.alertId, site: delivery.site, destination: delivery.destinationId }, 'alert delivery failed unexpectedly; tried again later');
    const running = send(delivery).catch(failed).finally(() => {
      recorded.set(key, { version: delivery.version + 1, at: Date.now() });
      inFlight.delete(key);
      requestScan();
    });
    inFlight.set(key, { destination: destinationOf(delivery), running });
  }

  /**
   * Reads the soonest pending deliveries of each destination, starts those due (up to the concurrency of their
   * destination, and overall), and sets the timer for the next. Within a destination the soonest go first.
   */
  async function scan(): Promise<void> {
    clearTimeout(timer);
    let wakeIn = pollMs;
    try {
      if (inFlight.size < concurrency) {
        for (const [key, { at }] of recorded) if (at < Date.now() - RECORDED_FOR_MS) recorded.delete(key);
        const fresh = (delivery: Delivery) => delivery.version >= (recorded.get(keyOf(delivery))?.version ?? 0);
        // A destination's sends in flight are still pending in the outbox and come back too: twice its concurrency
        // leaves enough rows to fill every slot it has free.
        const candidates = (await pendingDeliveries(client, 2 * perDestination)).filter((delivery) => !inFlight.has(keyOf(delivery)) && fresh(delivery));
        const at = now();
        // A delivery to a destination the config no longer has is due at once, whatever its next attempt said: it is
        // a dead letter now, not a pending retry of something that no longer exists.
        // One that waited for a sender with its destination (a config change rolled out) is due at once for one that has it.
        const dueAt = (delivery: Delivery) =>
          destinationFor(delivery) ? (delivery.lastError.includes(NOT_IN_CONFIG) ? at : delivery.nextAttemptAt) : ofAnotherConfig(delivery) ? delivery.nextAttemptAt : at;
        for (const delivery of candidates) {
          if (!started || closing || holds > 0 || inFlight.size >= concurrency) break;
          if (dueAt(delivery) > at || sendingTo(destinationOf(delivery)) >= perDestination) continue;
          launch(delivery);
        }
        const later = candidates.find((candidate) => dueAt(candidate) > at);
        if (later) wakeIn = Math.min(pollMs, later.nextAttemptAt - at);
      }
    } catch (err) {
      log.warn({ err }, 'cannot read the alert outbox; trying again shortly');
    }
    if (started && !closing) timer = setTimeout(requestScan, Math.max(0, wakeIn));
  }

  /** One scan at a time; a request during a scan runs another right after it. */
  function requestScan(): void {
    if (!started || closing) return;
    if (scanning) {
      scanAgain = true;
      return;
    }
    scanning = scan().finally(() => {
      scanning = undefined;
      if (scanAgain) {
        scanAgain = false;
        requestScan();
      }
    });
  }

  return {
    async enqueue(alerts) {
      // One enqueue at a time: the duplicate and cooldown checks see what the previous one wrote.
      const run = enqueueChain.then(() => persist(alerts));
      enqueueChain = run.catch(() => {});
      const result = await run;
      requestScan();
      return result;
    },
    async holding(fn) {
      holds++;
      try {
        // A scan under way may still start sends; then every send in flight ends, recorded or found erased.
        await scanning;
        await Promise.all([...inFlight.values()].map((send) => send.running));
        await enqueueChain;
        return await fn();
      } finally {
        holds--;
        requestScan();
      }
    },
    start() {
      if (started || closing) return;
      started = true;
      requestScan();
    },
    pause() {
      started = false;
      clearTimeout(timer);
    },
    wake: requestScan,
    stopSending,
    async close() {
      stopSending();
      await scanning;
      await Promise.all([...inFlight.values()].map((send) => send.running));
      await enqueueChain;
      transport?.close?.();
    },
  };
}
