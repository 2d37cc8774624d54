export { SIGNALS, type Alert, type Signal } from './alert.ts';
export {
  alertsSchema,
  checkSmtpForEmail,
  leadPageUrl,
  smtpSchema,
  type AlertRoute,
  type AlertsConfig,
  type AlertsSetup,
  type Destination,
  type EmailDestination,
  type SlackDestination,
  type SmtpConfig,
  type WebhookDestination,
} from './config.ts';
export {
  afterAttempt,
  ALERT_SEND_TIMEOUT_MS,
  createAlertDispatcher,
  DEFAULT_BACKOFF,
  RETRY_FOR_MS,
  retryDelay,
  type AlertDispatcher,
  type AlertDispatcherOptions,
  type AlertLogger,
  type BackoffPolicy,
  type EnqueueResult,
} from './dispatcher.ts';
export { alertEmail, slackMessage, SIGNAL_LABELS, webhookBody, WEBHOOK_EVENT_TYPE } from './formats.ts';
export { alertDeliveries, alertStatus, DELIVERY_STATES, listAlerts, reviveDeadDeliveries, type Delivery, type DeliveryState, type OutboxClient } from './outbox.ts';
export { emailRecipients, routeAlert } from './routing.ts';
export { messageIdOf, type MailTransport, type Outcome } from './senders.ts';
export { signWebhook, webhookHeaders, webhookKey } from './signing.ts';
