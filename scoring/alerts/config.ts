import { z } from 'zod';
import { unlessIssuesAt } from '../checks.ts';
import { countryCodeOf } from '../normalize.ts';
import { SIGNALS } from './alert.ts';
import { webhookKey } from './signing.ts';

/**
 * A site's alert settings (`sites[].alerts`) and the SMTP server email alerts go through (top-level `smtp`).
 * Secrets may be written as "env:NAME" and are read from the environment when the config is loaded, so a missing
 * variable is a config error that names the path, not a failed delivery a day later.
 */

const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
/**
 * What a reference to a variable looks like, written otherwise too ("ENV:NAME", "env: NAME", "env:MY-KEY"): a pattern
 * without flags, as JSON Schema's are, for the editor schema and the loader alike.
 */
const ENV_LIKE_PATTERN = '^\\s*[Ee][Nn][Vv]\\s*:';
const ENV_LIKE = new RegExp(ENV_LIKE_PATTERN);

/**
 * A string, or "env:NAME" for the value of that environment variable without its surrounding whitespace (a secret
 * file's last newline is no part of the secret, as for HEARTH_ADMIN_TOKEN). `problemOf` checks the value, wherever it
 * came from; its message never quotes it, and names the variable it was read from.
 */
const secretString = (what: string, problemOf: (value: string) => string | undefined = () => undefined, json: Record<string, unknown> = {}) =>
  z
    .string()
    .min(1)
    // The editor schema flags a reference written otherwise, as the loader refuses it.
    .meta({ not: { allOf: [{ type: 'string', pattern: ENV_LIKE_PATTERN }, { not: { type: 'string', pattern: ENV_REFERENCE.source } }] }, ...json })
    .transform((value, ctx) => {
      const fail = (message: string) => {
        ctx.addIssue({ code: 'custom', message, input: undefined });
        return z.NEVER;
      };
      const name = ENV_REFERENCE.exec(value)?.[1];
      if (name === undefined) {
        // Taken as it is, it would be the secret itself: the variable's name sent as a password or a signing key.
        if (ENV_LIKE.test(value)) return fail(`${what} reads like a reference to an environment variable, written otherwise than "env:NAME" (lower-case "env:", then letters, digits and "_")`);
        const problem = problemOf(value);
        return problem ? fail(problem) : value;
      }
      const fromEnv = process.env[name]?.trim();
      if (!fromEnv) return fail(`${what} refers to the environment variable ${name}, which is ${process.env[name] === undefined ? 'not set' : 'empty'}`);
      const problem = problemOf(fromEnv);
      return problem ? fail(`${problem} (${what}, from the environment variable ${name})`) : fromEnv;
    });

const destinationId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
  message: 'a destination id is 1–64 lowercase letters, digits, "-" or "_", e.g. "crm-webhook"',
});

const signalSchema = z.enum(SIGNALS, { message: `expected a signal: ${SIGNALS.join(', ')}` });

const SENDER = 'expected a sender such as "alerts@acme.com" or "Hearth <alerts@acme.com>"';
/** The address of a sender written "alerts@acme.com" or "Name <alerts@acme.com>", or undefined. */
const senderAddress = (text: string) => {
  const parts = /^\s*(?:[^<>\r\n]*<([^<>\s]+)>|([^<>\s]+))\s*$/.exec(text);
  return parts ? (parts[1] ?? parts[2]) : undefined;
};

/** An http(s) URL without a user or password; `instead` says what a destination of its kind uses instead of them. */
export const httpUrl = (instead: string, message = 'expected an http(s) URL') =>
  z.url({ protocol: /^https?$/, message }).superRefine((text, ctx) => {
    // zod runs this check even when the URL check above failed: a value that is no URL at all is already reported.
    if (!URL.canParse(text)) return;
    const url = new URL(text);
    if (!url.username && !url.password) return;
    url.username = url.password = '***';
    // Quoted without the credentials: a config error is printed and logged.
    const message = `a URL cannot carry a user or password (HTTP clients refuse it, and it would show in errors): ${instead}`;
    ctx.addIssue({ code: 'custom', message, input: url.href });
  });

/** A Slack incoming-webhook URL's problems as httpUrl finds them, in one message. */
const slackUrl = httpUrl("a Slack incoming-webhook URL's key is in its path");
const slackUrlProblem = (text: string) => {
  const checked = slackUrl.safeParse(text);
  return checked.success ? undefined : checked.error.issues.map((issue) => issue.message).join('; ');
};

export const webhookDestinationSchema = z
  .object({
    type: z.literal('webhook'),
    id: destinationId,
    url: httpUrl('sign with the secret instead'),
    /** The signing key: `whsec_<base64>` as Standard Webhooks libraries take it, or any string of 24+ bytes. */
    secret: secretString('the webhook secret', (secret) => webhookKey(secret).problem),
  })
  .strict();

export const slackDestinationSchema = z
  .object({
    type: z.literal('slack'),
    id: destinationId,
    /**
     * A Slack incoming-webhook URL; it is a secret (its path is its key), so "env:NAME" works here too, and its
     * problems never quote it: a config error is printed and logged.
     */
    url: secretString('the Slack webhook URL', slackUrlProblem, { anyOf: [{ type: 'string', pattern: ENV_REFERENCE.source }, { type: 'string', pattern: '^[\\s\\uFEFF]*[hH][tT][tT][pP][sS]?://' }] }),
  })
  .strict();

/**
 * An address as an alert is sent to or from: zod's (an ASCII mailbox) at a domain in any script, as origins and URLs
 * take one (ventes@société.fr, sent in Punycode or over SMTPUTF8); a last label of letters.
 */
const MAIL_ADDRESS = /^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[\p{L}\p{N}][\p{L}\p{N}\-]*\.)+(?:\p{L}{2,}|xn--[a-z0-9\-]+)$/u;
const emailAddress = z.email({ pattern: MAIL_ADDRESS, message: 'expected an email address, or "owner" for the lead\'s owner' });

export const emailDestinationSchema = z
  .object({
    type: z.literal('email'),
    id: destinationId,
    /** Addresses, and/or "owner": the lead's owner when it has one (an email address), else the addresses listed. */
    to: z.array(z.union([z.literal('owner'), emailAddress])).min(1, { message: 'list at least one address, or "owner"' }),
  })
  .strict();

export const destinationSchema = z.discriminatedUnion('type', [webhookDestinationSchema, slackDestinationSchema, emailDestinationSchema], {
  message: 'a destination\'s type is "webhook", "slack" or "email"',
});

/** A country as ISO 3166-1 alpha-2 ("FR"), alpha-3 or an English or French name, stored as alpha-2. */
const countrySchema = z.string().transform((text, ctx) => {
  const code = countryCodeOf(text);
  if (code) return code;
  ctx.addIssue({ code: 'custom', message: 'unknown country; use an ISO code such as "FR" or a name such as "France"' });
  return z.NEVER;
});

export const routeSchema = z
  .object({
    /** Who gets the alerts this route matches. */
    destinations: z.array(destinationId).min(1, { message: 'a route sends to at least one destination' }),
    /** Only these signals; any signal when absent. */
    signals: z.array(signalSchema).min(1).optional(),
    /** Only leads owned by one of these owners (as set through qualification, compared without case). */
    owners: z.array(z.string().min(1)).min(1).optional(),
    /** Only leads from this territory: a list of countries. */
    countries: z.array(countrySchema).min(1).optional(),
    /** The catch-all for leads outside every territory and owner: applies only when no route naming countries or owners matched. */
    fallback: z.boolean().default(false),
  })
  .strict();

export const alertsSchema = z
  .object({
    destinations: z.array(destinationSchema).min(1, { message: 'list at least one destination (webhook, slack or email)' }),
    /** Which destinations get which alerts; every destination gets every alert when there are none. */
    routes: z.array(routeSchema).default([]),
    /** After an alert for a lead and signal, the same lead and signal stay quiet this long (recorded as suppressed). */
    cooldownHours: z.number().min(0).max(8760).default(24),
    /**
     * The most alerts the site sends in any hour; past it, alerts are kept as suppressed, with the reason, until the
     * hour's count falls back: a burst (a form flooded with made-up emails from many addresses) cannot bury sales.
     */
    maxPerHour: z.number().int().min(1).max(100_000).default(100),
    /** The signals that alert here; every one by default. */
    signals: z.array(signalSchema).min(1, { message: 'list at least one signal (or leave signals out for all of them); to send no alerts, remove the alerts section' }).default([...SIGNALS]),
  })
  .strict()
  .superRefine((alerts, ctx) => {
    const ids = new Set<string>();
    alerts.destinations.forEach((destination, i) => {
      if (ids.has(destination.id)) ctx.addIssue({ code: 'custom', path: ['destinations', i, 'id'], message: `destination id "${destination.id}" is used twice` });
      ids.add(destination.id);
    });
    const routed = new Set<string>();
    alerts.routes.forEach((route, i) =>
      route.destinations.forEach((id, j) => {
        routed.add(id);
        if (!ids.has(id)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'destinations', j], message: `no destination has the id "${id}"; destinations: ${[...ids].join(', ')}` });
      }),
    );
    // With routes, a destination no route names would never get anything: almost surely a mistake.
    if (alerts.routes.length > 0) {
      alerts.destinations.forEach((destination, i) => {
        if (!routed.has(destination.id)) {
          ctx.addIssue({ code: 'custom', path: ['destinations', i], message: `no route sends to "${destination.id}"; add it to a route (a route without conditions sends everything)` });
        }
      });
    }
  }, unlessIssuesAt(['destinations', '*', 'id'], ['routes', '*', 'destinations']));

export const smtpSchema = z
  .object({
    // A name or an address as the mail server is reached: "smtp acme com" or "smtp://…" was retried for a day.
    host: z.string().regex(/^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?|\[?[0-9A-Fa-f:.]+\]?)$/, { message: 'expected a host name or address, e.g. "smtp.acme.com"' }),
    port: z.number().int().min(1).max(65535).default(587),
    /** TLS from the start (port 465); otherwise STARTTLS is used when the server offers it. Default: port is 465. */
    secure: z.boolean().optional(),
    /**
     * STARTTLS required before anything is sent, the password above all: a server that does not offer it (or a
     * network in between that strips the offer) gets nothing. Default: true when a user is given. false lets a relay
     * without TLS, on a network you trust, take the password in clear.
     */
    requireTls: z.boolean().optional(),
    user: z.string().min(1).optional(),
    password: secretString('the SMTP password').optional(),
    /** The sender, e.g. "Hearth <alerts@acme.com>". */
    from: z
      .string()
      // Once: a sender of the wrong shape is not also checked as an address (the problem was said twice).
      .regex(/^[^\r\n]*[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/, { message: SENDER, abort: true })
      // The address itself, as the "to" addresses are checked: "Hearth <alerts@acme.com" or two addresses were taken.
      .refine((text) => MAIL_ADDRESS.test(senderAddress(text) ?? ''), { message: SENDER }),
  })
  .strict()
  .superRefine((smtp, ctx) => {
    if (smtp.user && !smtp.password) ctx.addIssue({ code: 'custom', path: ['password'], message: 'an SMTP user needs a password (e.g. "env:HEARTH_SMTP_PASSWORD")' });
  });

export type AlertsConfig = z.infer<typeof alertsSchema>;
export type AlertRoute = z.infer<typeof routeSchema>;
export type Destination = z.infer<typeof destinationSchema>;
export type WebhookDestination = z.infer<typeof webhookDestinationSchema>;
export type SlackDestination = z.infer<typeof slackDestinationSchema>;
export type EmailDestination = z.infer<typeof emailDestinationSchema>;
export type SmtpConfig = z.infer<typeof smtpSchema>;
export type DestinationType = Destination['type'];

/** What alert delivery reads from the whole config; hearth.config.json's parsed form satisfies it as it is. */
export interface AlertsSetup {
  sites: ReadonlyArray<{ id: string; name?: string | undefined; alerts?: AlertsConfig | undefined }>;
  smtp?: SmtpConfig | undefined;
}

/** For the top-level config: an email destination needs the `smtp` section. */
export function checkSmtpForEmail(config: AlertsSetup, ctx: z.RefinementCtx): void {
  if (config.smtp) return;
  config.sites.forEach((site, i) =>
    site.alerts?.destinations.forEach((destination, j) => {
      if (destination.type === 'email') {
        ctx.addIssue({ code: 'custom', path: ['sites', i, 'alerts', 'destinations', j], message: 'an email destination needs the top-level "smtp" settings (host, port, from, …)' });
      }
    }),
  );
}

/** The lead's page in the dashboard, which alerts link to. */
export function leadPageUrl(baseUrl: string, site: string, leadId: string): string {
  return new URL(`dashboard/leads/${encodeURIComponent(leadId)}?site=${encodeURIComponent(site)}`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
}
