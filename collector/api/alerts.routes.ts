import type { ClickHouseClient } from '@clickhouse/client';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { alertDeliveries, alertStatus, DELIVERY_STATES, listAlerts, reviveDeadDeliveries, type AlertCursor, type Delivery, type DeliveryState } from '../../scoring/alerts/outbox.ts';
import { RETRY_FOR_MS } from '../../scoring/alerts/dispatcher.ts';
import { alertAsSent } from '../../scoring/alerts/formats.ts';
import { requireRole } from '../auth/roles.ts';
import { bodyless, noBody } from '../hooks/no-body.hook.ts';
import type { HearthConfig } from '../config/schema.ts';
import { toProblems } from '../config/issues.ts';
import { findPerson } from './lead-store.ts';
import { siteCountsBots } from './scores.ts';
import { siteParam, wholeNumber } from './site-query.ts';

export interface AlertRouteOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  /** The process's alert dispatcher, told to look at the outbox at once after a retry; it polls anyway. */
  alerts?: { wake(): void } | undefined;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** An alert as the API shows it: the alert itself, its overall status, and where each destination stands. */
function present(status: DeliveryState, deliveries: Delivery[]) {
  const whole = deliveries.find((delivery) => delivery.destinationId === '');
  return {
    ...alertAsSent(deliveries[0]!.alert),
    status,
    // An alert suppressed as a whole (cooldown, disabled signal, no route) says why here.
    ...(whole ? { reason: whole.lastError } : {}),
    deliveries: deliveries
      .filter((delivery) => delivery.destinationId !== '')
      .map((delivery) => ({
        destination: delivery.destinationId,
        type: delivery.destinationType,
        state: delivery.state,
        attempts: delivery.attempts,
        lastError: delivery.lastError || null,
        nextAttemptAt: delivery.state === 'pending' ? iso(delivery.nextAttemptAt) : null,
        deliveredAt: iso(delivery.deliveredAt),
        updatedAt: iso(delivery.updatedAt),
      })),
  };
}

/** An alert as `GET /api/alerts` lists it and a retry answers with it: the shape the dashboards' Alerts page reads. */
export type AlertView = ReturnType<typeof present>;
export interface AlertListResponse {
  site: string;
  /** The `status=` the alerts were picked by (null: every status), so a client tells an answer for an earlier filter. */
  status: DeliveryState | null;
  alerts: AlertView[];
  /** The alerts of the site (of the lead, with `lead=`) with each status, whatever `status=` and `before=` say. */
  counts: Record<DeliveryState, number>;
  /** `before=` for the next page, older; null on the last page. */
  next: string | null;
}

/**
 * The cursor `next` gives and `before=` takes: the page's oldest alert's created time (epoch milliseconds) and id.
 * Clients pass it back as it is; it is readable only so that a log of requests is.
 */
const cursorText = ({ createdAt, alertId }: AlertCursor) => `${createdAt}.${alertId}`;
const cursorParam = z
  .string()
  .regex(/^\d{1,13}\.[\w-]{1,100}$/, { message: 'expected the "next" of an earlier answer' })
  .transform((text): AlertCursor => {
    const dot = text.indexOf('.');
    return { createdAt: Number(text.slice(0, dot)), alertId: text.slice(dot + 1) };
  });

/** Buying-signal alerts and their delivery: page by page, newest first, counted by status; and a retry for a dead letter. */
export const alertRoutes: FastifyPluginAsync<AlertRouteOptions> = async (app, { config, client, alerts }) => {
  // Strict, as the other lists' queries: a misspelt parameter is named, not ignored.
  const listQuery = z
    .object({
      site: siteParam(config),
      // An id as the lead lists give it: an email here found nothing, and said nothing.
      lead: z
        .string()
        .regex(/^(l_[0-9a-f]{20}|v_[\w-]{1,62})$/, { message: 'expected a lead id as GET /api/leads gives it ("l_" and 20 hex digits), not an email' })
        .optional(),
      status: z.enum(DELIVERY_STATES, { message: `expected one of ${DELIVERY_STATES.join(', ')}` }).optional(),
      before: cursorParam.optional(),
      limit: wholeNumber({ min: 1, max: 1000 }).default(100),
    })
    .strict();
  const siteQuery = z.object({ site: siteParam(config) }).strict();
  const seeAlerts = { onRequest: requireRole('admin', 'sales') };

  app.get('/api/alerts', seeAlerts, async (request, reply) => {
    const parsed = listQuery.safeParse(request.query, { reportInput: true });
    if (!parsed.success) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
    const { lead, ...asked } = parsed.data;
    // A lead's alerts are its person's: those raised about an email they mistyped and put right in the same visit,
    // whose lead has no visit left (its alerts' links lead here), are listed with theirs, as their export lists them.
    const person = lead?.startsWith('l_') ? await findPerson(client, asked.site, lead, siteCountsBots(config, asked.site)) : undefined;
    const found = await listAlerts(client, { ...asked, leads: lead === undefined ? undefined : (person?.leadIds ?? [lead]) });
    return {
      site: parsed.data.site,
      status: parsed.data.status ?? null,
      alerts: found.alerts.map(({ status, deliveries }) => present(status, deliveries)),
      counts: found.counts,
      next: found.next && cursorText(found.next),
    } satisfies AlertListResponse;
  });

  app.post('/api/alerts/:id/retry', { onRequest: [bodyless, seeAlerts.onRequest], preHandler: noBody }, async (request, reply) => {
    const parsed = siteQuery.safeParse(request.query, { reportInput: true });
    if (!parsed.success) return reply.code(400).send({ error: 'invalid query', code: 'invalid_query', problems: toProblems(parsed.error) });
    const { site } = parsed.data;
    const { id } = request.params as { id: string };
    const deliveries = await alertDeliveries(client, site, id);
    if (deliveries.length === 0) return reply.code(404).send({ error: `no alert "${id}" on site "${site}"`, code: 'alert_not_found' });
    if (!deliveries.some((delivery) => delivery.state === 'dead')) {
      const status = alertStatus(deliveries);
      return reply.code(409).send({ error: `alert "${id}" is ${status}, not a dead letter: only dead deliveries are retried`, code: 'not_dead', status });
    }
    // A destination removed from the config since: retried, it would be a dead letter again at once, for good.
    const configured = new Set(config.sites.find((candidate) => candidate.id === site)?.alerts?.destinations.map((destination) => destination.id) ?? []);
    const gone = [...new Set(deliveries.filter((delivery) => delivery.state === 'dead' && !configured.has(delivery.destinationId)).map((delivery) => delivery.destinationId))];
    if (deliveries.every((delivery) => delivery.state !== 'dead' || !configured.has(delivery.destinationId))) {
      const named = gone.map((destination) => `"${destination}"`).join(', ');
      return reply.code(409).send({
        error: `alert "${id}" went to ${named}, no longer configured for site "${site}": add it back to the config's alerts to retry`,
        code: 'destination_gone',
        destinations: gone,
      });
    }
    const after = await reviveDeadDeliveries(client, deliveries, Date.now(), RETRY_FOR_MS, (destination) => configured.has(destination));
    alerts?.wake();
    return present(alertStatus(after), after);
  });
};
