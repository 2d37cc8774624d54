import { isIP } from 'node:net';
import { z } from 'zod';
import { qualificationPolicySchema } from '../../scoring/qualification.ts';
import { unlessIssuesAt } from '../../scoring/checks.ts';
import { PAGE_GROUP_READS, rulesSchema, unknownPageGroups } from '../../scoring/rules.ts';
import { alertsSchema, checkSmtpForEmail, httpUrl, smtpSchema } from '../../scoring/alerts/config.ts';
import { apiTokensSchema, uniqueNames, unknownSitesOf, userSchema } from '../auth/users.ts';
import { hasAsciiHost, hasValidIpv4, hasValidIpv6, hasValidLabels, hasValidPort } from '../ingest/origins.ts';

/** An origin a site's pages are served from: scheme and host, optionally `:port` or `:*` for any port. The host may be
 * an internationalised domain, in Unicode or Punycode, or an IPv6 address in brackets (origins.ts compares it as
 * browsers send it). */
const originSchema = z
  .string()
  // Any case, spelt out: a JSON Schema pattern has no flags, and with /i the editor refused "https://WWW.Acme.com".
  .regex(/^[hH][tT][tT][pP][sS]?:\/\/((\*\.)?[a-zA-Z0-9.\u00a1-\uffff-]+|\[[0-9a-fA-F:.]+\])(:(\d{1,5}|\*))?$/, {
    message: 'expected an origin such as "https://www.example.com" or "http://localhost:*" (scheme and host, no path)',
  })
  // Only for an origin: one that is not has no host to check, and this message would be about a domain there is not.
  // (An `abort` on the pattern would also stop the site's checks of its other parts: unlessIssuesAt.)
  .refine(hasValidIpv4, { message: 'expected an IPv4 address of four numbers from 0 to 255, such as "http://127.0.0.1:8787"', when: (payload) => payload.issues.length === 0 })
  .refine(hasAsciiHost, {
    message: 'expected a host a browser can send: this internationalised domain has no valid ASCII (Punycode) form',
    when: (payload) => payload.issues.length === 0,
  })
  .refine(hasValidIpv6, { message: 'expected an IPv6 address in brackets, such as "[2001:db8::1]"', when: (payload) => payload.issues.length === 0 })
  .refine(hasValidLabels, {
    message: 'expected a host a browser can send: dot-separated names of letters and digits, a hyphen only inside one ("www.my-shop.com")',
    when: (payload) => payload.issues.length === 0,
  })
  .refine(hasValidPort, { message: 'expected a port from 1 to 65535', when: (payload) => payload.issues.length === 0 });

/** A URL path pattern; `*` matches any run of characters, e.g. "/pricing*". (A regex, not startsWith: that one's JSON
 * Schema has a format of zod's own, "starts_with", which validators in their strict mode refuse.) */
const pathPatternSchema = z.string().regex(/^\//, { message: 'a path pattern starts with "/", e.g. "/pricing*"' });

/** A site's page groups: a name, and the path patterns of its pages. (A backtest's rules file may give its own.) */
export const pageGroupsSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9_-]*$/, { message: 'a page group name is lowercase, e.g. "pricing"' }),
  // An empty group would match no page, silently: a rule on it would never give points.
  z.array(pathPatternSchema).min(1, { message: 'list at least one path pattern, e.g. "/pricing*"' }),
);

export const siteSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, {
      message: 'a site id is 1–64 lowercase letters, digits, "-" or "_", e.g. "acme-www"',
    }),
    name: z.string().min(1).optional(),
    origins: z.array(originSchema).min(1, { message: 'list at least one origin the site is served from' }),
    pageGroups: pageGroupsSchema.default({}),
    /** How sales qualify leads into prospects here: BANT (all four boxes) unless said otherwise. */
    qualification: qualificationPolicySchema.prefault({}),
    /**
     * The scoring rules; the default grid (scoring/rules.ts defaultRules) with this site's page groups when absent,
     * and the grid's lists for those they leave out (withGridLists, applied by parseConfig before this schema).
     */
    rules: rulesSchema.optional(),
    /** Where buying-signal alerts go (webhook, Slack, email), for which leads, and how often. */
    alerts: alertsSchema.optional(),
  })
  .strict()
  .superRefine((site, ctx) => {
    // Page groups belong to the site: a rule naming one it lacks is refused here, not when scoring first runs.
    if (!site.rules) return;
    for (const { path, message } of unknownPageGroups(site.rules, site.pageGroups)) ctx.addIssue({ code: 'custom', path: ['rules', ...path], message });
  }, unlessIssuesAt(['pageGroups'], ...PAGE_GROUP_READS.map((path) => ['rules', ...path])));

const PROXY_ADDRESS = 'expected an IP address, a CIDR range such as "10.0.0.0/8", or loopback, linklocal or uniquelocal';

/**
 * A proxy as Fastify's trustProxy list (proxy-addr) takes it: an address, a CIDR range or IPv4 netmask, or one of its
 * named ranges. Anything else made Fastify throw when the server was built, with a stack, after the store was opened.
 */
function isProxyAddress(text: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(text)) return true;
  const slash = text.lastIndexOf('/');
  const version = isIP(slash === -1 ? text : text.slice(0, slash));
  if (version === 0) return false;
  if (slash === -1) return true;
  const range = text.slice(slash + 1);
  if (/^\d+$/.test(range)) return Number(range) >= 1 && Number(range) <= (version === 4 ? 32 : 128);
  // An IPv4 netmask is ones then zeros (255.255.0.0), at least one of them a one.
  if (version !== 4 || isIP(range) !== 4) return false;
  return /^1+0*$/.test(range.split('.').map((part) => Number(part).toString(2).padStart(8, '0')).join(''));
}

export const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8787),
    /** Behind a reverse proxy, the client's address comes from X-Forwarded-For: `true` trusts the one proxy in front
     * (the address it appended, the last; see app.ts), a list trusts those proxy addresses or CIDR ranges. Off, the socket's address counts. */
    trustProxy: z
      .union([z.boolean(), z.array(z.string().refine(isProxyAddress, { message: PROXY_ADDRESS })).min(1)], {
        message: "expected true, false or a list of the proxies' addresses or CIDR ranges",
      })
      .default(false),
  })
  .strict();

/** Requests /collect takes per minute before answering 429; clients behind one NAT share the per-address limit. */
export const limitsSchema = z
  .object({
    requestsPerMinutePerIp: z.number().int().min(1).default(600),
    // High enough for a busy site's peaks (10,000 beacons a second): it stops abuse, not traffic.
    requestsPerMinutePerSite: z.number().int().min(1).default(600_000),
    /**
     * Batches that give an email (a form, an identify call) from one address a minute: beyond, their events are stored
     * without it, so a script posting forms makes no leads and no alerts. A person gives one in a visit.
     */
    identifyingBatchesPerMinutePerIp: z.number().int().min(1).default(20),
    /** POST /login attempts per 15 minutes from one address (an office behind one NAT shares it) and for one name. */
    loginAttemptsPerIp: z.number().int().min(1).default(10),
    loginAttemptsPerUser: z.number().int().min(1).default(10),
  })
  .strict();

export const metricsSchema = z
  .object({
    /** Serve /metrics without the API token, for a scraper on a private network. */
    public: z.boolean().default(false),
  })
  .strict();

/** The longest storage.retentionDays (see there). */
export const MAX_RETENTION_DAYS = 10_000;

/** Where events live beyond one ClickHouse server, and for how long. */
export const storageSchema = z
  .object({
    /** Run migrations as ON CLUSTER DDL for this cluster: replicated `*_local` tables behind Distributed ones.
     * Needs CLICKHOUSE_URL; CLICKHOUSE_CLUSTER overrides it. */
    cluster: z
      .string()
      .regex(/^[\w.-]{1,128}$/, { message: 'a cluster name as in the servers\' remote_servers: letters, digits, "_", "-" or "."' })
      .optional(),
    /**
     * Delete what names or identifies a person once older than this many days: events, identity rows and stored scores
     * of people not seen since, alerts (a TTL on each table), and the qualifications of the leads so forgotten; leave
     * out to keep them forever. Shorter than a site's scoring window (90 days), it shortens the window. At most
     * 10,000 days (27 years): a TTL's time is a 32-bit count of seconds, which ends in 2106, and ClickHouse wraps a later
     * one round to the past, deleting every row at once (36,500 days did).
     */
    retentionDays: z
      .number()
      .int()
      .min(1, { message: 'keep events for at least 1 day, or leave retentionDays out to keep them forever' })
      .max(MAX_RETENTION_DAYS, {
        message: `keep events at most ${MAX_RETENTION_DAYS} days (27 years: ClickHouse's TTL ends in 2106), or leave retentionDays out to keep them forever`,
      })
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    sites: z
      .array(siteSchema)
      .min(1, { message: 'configure at least one site' })
      .superRefine((sites, ctx) => {
        const seen = new Set<string>();
        sites.forEach((site, i) => {
          if (seen.has(site.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `site id "${site.id}" is used twice` });
          seen.add(site.id);
        });
      }, unlessIssuesAt(['*', 'id'])),
    server: serverSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    storage: storageSchema.optional(),
    /** Serve the bundled demo site at /demo/ (the `npm start` config turns this on). */
    serveDemoSite: z.boolean().default(false),
    /** The SMTP server email alerts are sent through. */
    smtp: smtpSchema.optional(),
    /** The public URL people open the dashboard at, for links in alerts; the server's own URL when absent. */
    // Without a user or password: the link goes out in every alert, to every webhook, Slack channel and mailbox.
    dashboardUrl: httpUrl('the link goes out in every alert; people log in at /login', 'expected the dashboard\'s public http(s) URL, e.g. "https://hearth.acme.com"')
      // Hearth's pages, redirects and snippet are at the root of its host (/login, /dashboard, /hearth.js): under a path
      // a proxy adds, its links in alerts would reach it, and the login and the snippet would not.
      .refine((text) => !URL.canParse(text) || `${new URL(text).pathname}${new URL(text).search}${new URL(text).hash}` === '/', {
        message: 'Hearth is served at the root of its host: give the URL without a path, e.g. "https://hearth.acme.com" (a reverse proxy cannot put it under a path such as /hearth)',
      })
      .optional(),
    /** People who log in at /login (HEARTH_USERS adds or replaces some); with none, the first start makes an admin. */
    users: uniqueNames(userSchema, 'user').default([]),
    /** Machines' API tokens, by hash (`hearth new-token`). */
    tokens: apiTokensSchema.default([]),
  })
  .strict()
  .superRefine(checkSmtpForEmail, unlessIssuesAt(['smtp'], ['sites', '*', 'alerts', 'destinations', '*', 'type']))
  .superRefine((config, ctx) => {
    const siteIds = config.sites.map((site) => site.id);
    for (const list of ['users', 'tokens'] as const) {
      for (const problem of unknownSitesOf(config[list], siteIds)) ctx.addIssue({ code: 'custom', path: [list, ...problem.path], message: problem.message });
    }
  }, unlessIssuesAt(['sites'], ['users'], ['tokens']));

export type HearthConfig = z.infer<typeof configSchema>;
export type SiteConfig = z.infer<typeof siteSchema>;

/** A port from 1 to 65535 (leading zeros taken, as Number reads them), or `*`, as a pattern (hasValidPort's check, which the loader does after its own pattern). */
const PORT_PATTERN = '(0*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])|\\*)';

/**
 * What the loader checks that the schema zod gives does not say, said in JSON Schema, so that an editor flags it as
 * `hearth start` would; never more than the loader refuses. A URL's `"format": "uri"` (RFC 3986, which refuses an
 * internationalised host, "é" or a space in a path, all of which Hearth takes as a browser does) becomes a pattern of
 * an http(s) scheme, which the loader requires; an email keeps the loader's pattern without `"format": "email"`; a
 * range takes `min`, `max` or both, not neither; an origin's port runs from 1 to 65535.
 */
function editorChecks(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(editorChecks);
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Record<string, any>;
  if (schema.format === 'uri') {
    delete schema.format;
    // The scheme alone: the loader trims the text first (a space, a tab, a byte-order mark) and reads it as browsers
    // do (`https:///host` is `https://host`), so a pattern of more would flag URLs Hearth takes.
    schema.pattern = '^[\\s\\uFEFF]*[hH][tT][tT][pP][sS]?:';
  }
  // An email's pattern is the loader's own check; the format's (RFC 5321 as validators read it) refuses addresses the
  // loader takes, such as a domain label ending in "-".
  if (schema.format === 'email' && typeof schema.pattern === 'string') delete schema.format;
  const keys = Object.keys(schema.properties ?? {});
  if (schema.type === 'object' && keys.length === 2 && keys.includes('min') && keys.includes('max')) schema.minProperties = 1;
  if (typeof schema.pattern === 'string' && schema.pattern.includes('(:(\\d{1,5}|\\*))?$')) schema.pattern = schema.pattern.replace('(:(\\d{1,5}|\\*))?$', `(:${PORT_PATTERN})?$`);
  // Letters and digits of any script (an address at société.fr), written for a validator that reads a pattern without
  // the u flag, as JSON Schema has none: every character past Latin-1's punctuation, as origins are written.
  if (typeof schema.pattern === 'string' && schema.pattern.includes('\\p{')) {
    schema.pattern = schema.pattern.replaceAll('\\p{L}\\p{N}', 'A-Za-z0-9\\u00c0-\\uffff').replaceAll('\\p{L}{2,}', '[A-Za-z\\u00c0-\\uffff]{2,}');
  }
  Object.values(schema).forEach(editorChecks);
}

/**
 * The config's JSON Schema for editors (`hearth schema`). A site's rules lists say where a list left out comes from:
 * the schema of rules alone gives them `[]`, but parseConfig fills them from the grid (and a backtest file takes them
 * from the site's rules).
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input' }) as Record<string, any>;
  editorChecks(schema);
  const lists = schema.properties?.sites?.items?.properties?.rules?.properties ?? {};
  for (const name of ['fit', 'engagement', 'negative', 'source', 'funnel']) {
    if (!lists[name]) continue;
    delete lists[name].default;
    const none = name === 'funnel' ? '{}' : '[]';
    // The grid's own: no source rule; the others, those of the article (engagement, negatives and funnel over the site's page groups).
    const grid = name === 'source' ? "the default grid's, none" : `the default grid's ${name}${name === 'fit' ? '' : ", over the site's page groups"}`;
    lists[name].description = `Left out: ${grid} (\`hearth rules\` prints it; docs/scoring.md). Given: it replaces the grid's; ${none} for none.`;
  }
  // What an editor shows on hovering a key, as docs/configuration.md's tables say it.
  for (const [path, description] of KEY_DESCRIPTIONS) {
    const node = path.reduce<Record<string, any> | undefined>((at, key) => (key === '[]' ? at?.items : at?.properties?.[key]), schema);
    if (node) node.description = description;
  }
  return schema;
}

/** The config's keys as docs/configuration.md describes them, by path in the config (`[]`: each item of a list). */
const KEY_DESCRIPTIONS: ReadonlyArray<readonly [string[], string]> = [
  [['sites'], 'The sites Hearth collects for, at least one (docs/configuration.md#sites).'],
  [['sites', '[]', 'id'], 'The site id the snippet sends (data-site) and the API\'s site=: 1-64 lowercase letters, digits, - or _.'],
  [['sites', '[]', 'name'], 'A name for people, shown in the dashboards.'],
  [['sites', '[]', 'origins'], 'The pages allowed to send events: scheme and host, no path ("https://www.example.com", "https://*.example.com"); others get 403 (docs/configuration.md#origins).'],
  [['sites', '[]', 'pageGroups'], 'Named URL path patterns, the parts of the site rules and dashboards name: {"pricing": ["/pricing*"]} (docs/configuration.md#page-groups).'],
  [['sites', '[]', 'qualification'], 'How sales qualify leads into prospects: a framework (bant, champ, meddicc) and the boxes required (default: BANT, all four) (docs/configuration.md#qualification).'],
  [['sites', '[]', 'rules'], 'The scoring rules; left out, the default grid over the site\'s page groups (docs/scoring.md#writing-rules).'],
  [['sites', '[]', 'alerts'], 'Where buying-signal alerts go (webhook, slack, email), for which leads, how often (docs/alerts.md).'],
  [['sites', '[]', 'alerts', 'destinations'], 'Webhooks (signed JSON), Slack incoming webhooks and email lists, each with an id the routes name (docs/alerts.md).'],
  [['sites', '[]', 'alerts', 'routes'], 'Which destinations get which alerts (by signals, owners, countries; a fallback route for the rest); none: every destination gets every alert (docs/alerts.md).'],
  [['sites', '[]', 'alerts', 'cooldownHours'], 'Hours before the same signal of the same lead alerts again (default 24).'],
  [['sites', '[]', 'alerts', 'maxPerHour'], 'Alerts a site sends an hour at most, every destination together, the last fifth kept for demo requests (default 100).'],
  [['sites', '[]', 'alerts', 'signals'], 'The signals that alert (hot, demo_request, pricing_dwell, pricing_returns, docs_download, weak_accumulation).'],
  [['server'], 'Where Hearth listens.'],
  [['server', 'host'], 'The address to listen on (default 127.0.0.1; --host overrides it).'],
  [['server', 'port'], 'The port (default 8787; --port overrides it).'],
  [['server', 'trustProxy'], 'Take the client\'s address from X-Forwarded-For: true for the one proxy in front, or a list of proxies\' addresses or CIDR ranges (default false).'],
  [['limits'], 'Rate limits: beyond them, 429 with Retry-After (docs/operations.md#limits-bots-and-metrics).'],
  [['limits', 'requestsPerMinutePerIp'], '/collect requests a minute from one address (default 600).'],
  [['limits', 'requestsPerMinutePerSite'], '/collect requests a minute for one site (default 600,000).'],
  [['limits', 'identifyingBatchesPerMinutePerIp'], 'Batches with an email a minute from one address (default 20).'],
  [['limits', 'loginAttemptsPerIp'], 'Login attempts in 15 minutes from one address (default 10).'],
  [['limits', 'loginAttemptsPerUser'], 'Login attempts in 15 minutes for one name (default 10).'],
  [['metrics', 'public'], 'Serve /metrics without a token or a login (default false).'],
  [['storage', 'cluster'], 'Run the migrations as ON CLUSTER DDL for this ClickHouse cluster (default none).'],
  [['storage', 'retentionDays'], 'Delete what names or identifies a person after this many days, 1 to 10,000 (default: kept).'],
  [['serveDemoSite'], 'Serve the bundled demo site at /demo/ (default false).'],
  [['smtp'], 'The SMTP server email alerts go through (docs/alerts.md).'],
  [['dashboardUrl'], 'The dashboards\' public URL, without a path, for the links in alerts and the lines hearth start prints (default: the server\'s own URL).'],
  [['users'], 'The people who log in: name, role (admin, marketing, sales) and passwordHash from `hearth hash-password`; none: the first start makes an admin (docs/access.md).'],
  [['tokens'], 'The machines\' API tokens: name, role and tokenHash from `hearth new-token` (docs/access.md).'],
];
