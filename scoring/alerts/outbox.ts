import type { ClickHouseClient } from '@clickhouse/client';
import type { Alert, Signal } from './alert.ts';
import type { DestinationType } from './config.ts';
import { timeOf, toClickHouseTime } from '../sql.ts';

/**
 * The alert outbox in ClickHouse (migration 006_alert_outbox.sql): one row per (alert, destination), a new row per
 * state change, read with FINAL. Only this file writes SQL for it; every query is parameterised.
 */

export const DELIVERY_STATES = ['pending', 'delivered', 'dead', 'suppressed'] as const;

/** How a delivered alert's lastError starts when some recipients did not get it (an older delivered row may hold its last retry's error). */
export const NOT_DELIVERED_TO = 'not delivered to ';
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** What the outbox needs from a store: @clickhouse/client's query and insert (the collector's client as it is). */
export type OutboxClient = Pick<ClickHouseClient, 'query' | 'insert'>;

/** One (alert, destination) and where its delivery stands. Times are epoch milliseconds. */
export interface Delivery {
  site: string;
  alertId: string;
  /** '' for the one row of an alert that goes nowhere (suppressed as a whole). */
  destinationId: string;
  destinationType: DestinationType | '';
  leadId: string;
  signal: Signal;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  giveUpAt: number;
  /** Why the last attempt failed, or why the delivery was suppressed. */
  lastError: string;
  deliveredAt: number | null;
  createdAt: number;
  updatedAt: number;
  alert: Alert;
  version: number;
}

interface OutboxRow {
  site_id: string;
  alert_id: string;
  destination_id: string;
  destination_type: string;
  lead_id: string;
  signal: string;
  state: string;
  attempts: number;
  next_attempt_at: string;
  give_up_at: string;
  last_error: string;
  delivered_at: string | null;
  created_at: string;
  updated_at: string;
  alert: string;
  version: number;
}

const toRow = (delivery: Delivery): OutboxRow => ({
  site_id: delivery.site,
  alert_id: delivery.alertId,
  destination_id: delivery.destinationId,
  destination_type: delivery.destinationType,
  lead_id: delivery.leadId,
  signal: delivery.signal,
  state: delivery.state,
  attempts: delivery.attempts,
  next_attempt_at: toClickHouseTime(delivery.nextAttemptAt),
  give_up_at: toClickHouseTime(delivery.giveUpAt),
  last_error: delivery.lastError,
  delivered_at: delivery.deliveredAt === null ? null : toClickHouseTime(delivery.deliveredAt),
  created_at: toClickHouseTime(delivery.createdAt),
  updated_at: toClickHouseTime(delivery.updatedAt),
  alert: JSON.stringify(delivery.alert),
  version: delivery.version,
});

const fromRow = (row: OutboxRow): Delivery => ({
  site: row.site_id,
  alertId: row.alert_id,
  destinationId: row.destination_id,
  destinationType: row.destination_type as Delivery['destinationType'],
  leadId: row.lead_id,
  signal: row.signal as Signal,
  state: row.state as DeliveryState,
  attempts: Number(row.attempts),
  nextAttemptAt: timeOf(row.next_attempt_at),
  giveUpAt: timeOf(row.give_up_at),
  lastError: row.last_error,
  deliveredAt: row.delivered_at === null ? null : timeOf(row.delivered_at),
  createdAt: timeOf(row.created_at),
  updatedAt: timeOf(row.updated_at),
  alert: JSON.parse(row.alert) as Alert,
  version: Number(row.version),
});

async function rows<T>(client: OutboxClient, query: string, query_params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params, format: 'JSONEachRow' });
  return result.json<T>();
}

const COLUMNS = `site_id, alert_id, destination_id, destination_type, lead_id, signal, state, attempts, next_attempt_at, give_up_at,
  last_error, delivered_at, created_at, updated_at, alert, version`;

export async function writeDeliveries(client: OutboxClient, deliveries: Delivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  await client.insert({ table: 'alert_outbox', values: deliveries.map(toRow), format: 'JSONEachRow' });
}

/** The ids among `ids` the outbox already holds for the site, whatever their state. */
export async function knownAlertIds(client: OutboxClient, site: string, ids: string[]): Promise<Set<string>> {
  const found = await rows<{ alert_id: string }>(
    client,
    `SELECT DISTINCT alert_id FROM alert_outbox WHERE site_id = {site:String} AND has({ids:Array(String)}, alert_id)`,
    { site, ids },
  );
  return new Set(found.map((row) => row.alert_id));
}

export const cooldownKey = (leadId: string, signal: string) => `${leadId}\u0000${signal}`;

/** For the cooldown: when each (lead, signal) of these leads last had an alert that was not suppressed, since `since`. */
export async function lastAlerted(client: OutboxClient, site: string, leadIds: string[], since: number): Promise<Map<string, number>> {
  const found = await rows<{ lead_id: string; signal: string; last: string }>(
    client,
    `SELECT lead_id, signal, max(created_at) AS last FROM alert_outbox FINAL
     WHERE site_id = {site:String} AND has({leads:Array(String)}, lead_id) AND state != 'suppressed' AND created_at > {since:DateTime64(3, 'UTC')}
     GROUP BY lead_id, signal`,
    { site, leads: leadIds, since: toClickHouseTime(since) },
  );
  return new Map(found.map((row) => [cooldownKey(row.lead_id, row.signal), timeOf(row.last)]));
}

/** For the hourly cap: when each alert of the site that was not suppressed was made, since `since`, oldest first. */
export async function alertedSince(client: OutboxClient, site: string, since: number): Promise<number[]> {
  const found = await rows<{ created: string }>(
    client,
    `SELECT min(created_at) AS created FROM alert_outbox FINAL
     WHERE site_id = {site:String} AND state != 'suppressed' AND created_at > {since:DateTime64(3, 'UTC')}
     GROUP BY alert_id ORDER BY created`,
    { site, since: toClickHouseTime(since) },
  );
  return found.map((row) => timeOf(row.created));
}

/**
 * The pending deliveries of every site, soonest first, at most `perDestination` of each destination: each
 * destination's queue is read on its own, so a long backlog for one (a receiver that is down) cannot crowd the
 * others' due deliveries out of the page.
 */
export async function pendingDeliveries(client: OutboxClient, perDestination: number): Promise<Delivery[]> {
  const found = await rows<OutboxRow>(
    client,
    `SELECT ${COLUMNS} FROM alert_outbox FINAL WHERE state = 'pending'
     ORDER BY next_attempt_at, alert_id, destination_id LIMIT {perDestination:UInt32} BY site_id, destination_id`,
    { perDestination },
  );
  return found.map(fromRow);
}

/** Every delivery of one alert. */
export async function alertDeliveries(client: OutboxClient, site: string, alertId: string): Promise<Delivery[]> {
  const found = await rows<OutboxRow>(
    client,
    `SELECT ${COLUMNS} FROM alert_outbox FINAL WHERE site_id = {site:String} AND alert_id = {id:String} ORDER BY destination_id`,
    { site, id: alertId },
  );
  return found.map(fromRow);
}

/**
 * An alert's status from its deliveries: dead if any destination gave up (a dead letter to look at), else pending
 * while any is still trying, else delivered if any received it, else suppressed.
 */
export function alertStatus(deliveries: Pick<Delivery, 'state'>[]): DeliveryState {
  const states = new Set(deliveries.map((delivery) => delivery.state));
  return states.has('dead') ? 'dead' : states.has('pending') ? 'pending' : states.has('delivered') ? 'delivered' : 'suppressed';
}

/** Where a page of alerts ends: its oldest alert, by the list's order (created, then id, both descending). */
export interface AlertCursor {
  createdAt: number;
  alertId: string;
}

export interface AlertQuery {
  site: string;
  /** The alerts about these leads only (a person's: GET /api/alerts?lead=); the site's when left out. */
  leads?: string[] | undefined;
  status?: DeliveryState | undefined;
  /** The alerts after this one in the list's order, older: the next page. */
  before?: AlertCursor | undefined;
  limit: number;
}

export interface AlertPage {
  alerts: { status: DeliveryState; deliveries: Delivery[] }[];
  /** How many alerts of the site (of the lead, with `lead`) have each status, whatever `status` and `before` say. */
  counts: Record<DeliveryState, number>;
  /** Where the next page starts; null on the last page. */
  next: AlertCursor | null;
}

// An alert's status as alertStatus() says it, over its deliveries' rows.
const ALERT_STATUS_SQL = `multiIf(countIf(state = 'dead') > 0, 'dead', countIf(state = 'pending') > 0, 'pending', countIf(state = 'delivered') > 0, 'delivered', 'suppressed')`;
const SITE_AND_LEAD_SQL = `site_id = {site:String} AND ({all_leads:Bool} OR has({leads:Array(String)}, lead_id))`;

/**
 * A page of a site's alerts, newest first, each with its deliveries, and the site's count of each status.
 * A page starts where the last one ended (a keyset on the alert's created_at and id, which never change), not at an
 * offset: alerts that arrive meanwhile are newer, so they neither repeat nor push an alert past the next page. The
 * outbox is ordered by (site_id, alert_id): both queries read the site's range of it, and the page's only the alerts
 * older than the cursor (created_at is the same on every row of an alert, so filtering rows before grouping is exact).
 */
export async function listAlerts(client: OutboxClient, query: AlertQuery): Promise<AlertPage> {
  const params = {
    site: query.site,
    all_leads: query.leads === undefined,
    leads: query.leads ?? [],
    status: query.status ?? '',
    limit: query.limit + 1,
    ...(query.before ? { beforeTime: toClickHouseTime(query.before.createdAt), beforeId: query.before.alertId } : {}),
  };
  const [listed, counted] = await Promise.all([
    rows<{ alert_id: string; created: string }>(
      client,
      `SELECT alert_id, ${ALERT_STATUS_SQL} AS status, max(created_at) AS created
       FROM alert_outbox FINAL
       WHERE ${SITE_AND_LEAD_SQL}${query.before ? ` AND (created_at, alert_id) < ({beforeTime:DateTime64(3, 'UTC')}, {beforeId:String})` : ''}
       GROUP BY alert_id
       HAVING {status:String} = '' OR status = {status:String}
       ORDER BY created DESC, alert_id DESC
       LIMIT {limit:UInt32}`,
      params,
    ),
    rows<{ status: DeliveryState; alerts: string }>(
      client,
      `SELECT status, count() AS alerts
       FROM (SELECT ${ALERT_STATUS_SQL} AS status FROM alert_outbox FINAL WHERE ${SITE_AND_LEAD_SQL} GROUP BY alert_id)
       GROUP BY status`,
      params,
    ),
  ]);
  const counts = Object.fromEntries(DELIVERY_STATES.map((state) => [state, 0])) as Record<DeliveryState, number>;
  for (const row of counted) counts[row.status] = Number(row.alerts);
  // One more than the page was asked for: whether there is a next page.
  const page = listed.slice(0, query.limit);
  const last = page.at(-1);
  const next = listed.length > query.limit && last ? { createdAt: timeOf(last.created), alertId: last.alert_id } : null;
  if (page.length === 0) return { alerts: [], counts, next };
  const found = await rows<OutboxRow>(
    client,
    `SELECT ${COLUMNS} FROM alert_outbox FINAL WHERE site_id = {site:String} AND has({ids:Array(String)}, alert_id) ORDER BY destination_id`,
    { site: query.site, ids: page.map((row) => row.alert_id) },
  );
  const byAlert = new Map<string, Delivery[]>(page.map((row) => [row.alert_id, []]));
  for (const row of found) byAlert.get(row.alert_id)?.push(fromRow(row));
  const alerts = [...byAlert.values()].filter((deliveries) => deliveries.length > 0).map((deliveries) => ({ status: alertStatus(deliveries), deliveries }));
  return { alerts, counts, next };
}

/**
 * An alert's dead letters back to pending, due now, with a fresh retry window: what `POST /api/alerts/:id/retry`
 * does; those to a destination no longer `configured` stay dead (the dispatcher would kill them again at once).
 * Takes the alert's deliveries and returns them as they are afterwards.
 */
export async function reviveDeadDeliveries(client: OutboxClient, deliveries: Delivery[], now: number, retryForMs: number, configured: (destinationId: string) => boolean = () => true): Promise<Delivery[]> {
  const revive = (delivery: Delivery): Delivery =>
    delivery.state !== 'dead' || !configured(delivery.destinationId)
      ? delivery
      : { ...delivery, state: 'pending', attempts: 0, nextAttemptAt: now, giveUpAt: now + retryForMs, updatedAt: now, version: delivery.version + 1 };
  const after = deliveries.map(revive);
  await writeDeliveries(client, after.filter((delivery, i) => delivery !== deliveries[i]));
  return after;
}
