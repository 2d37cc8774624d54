// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../collector/config/load.ts';
import { SIGNALS } from '../../../scoring/alerts/alert.ts';
import { alertsSchema } from '../../../scoring/alerts/config.ts';
import { emailRecipients, routeAlert } from '../../../scoring/alerts/routing.ts';
import { sampleAlert } from '../../support/alerts.ts';

const SECRET = 'whsec_' + Buffer.alloc(32, 1).toString('base64');
const site = (alerts: unknown) => ({ id: 'acme', origins: ['https://www.acme.test'], alerts });
const problemsOf = (raw: unknown) => {
  try {
    parseConfig(raw, 'hearth.config.json');
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'no problem';
};

afterEach(() => {
  delete process.env.TEST_HOOK_SECRET;
  delete process.env.TEST_SMTP_PASSWORD;
  delete process.env.TEST_SLACK_URL;
});

describe('alert settings in hearth.config.json', () => {
  it('defaults to every signal, a 24 h cooldown, at most 100 alerts an hour and every destination getting every alert', () => {
    const config = parseConfig({ sites: [site({ destinations: [{ type: 'webhook', id: 'crm', url: 'https://crm.acme.test/hooks/hearth', secret: SECRET }] })] }, 'test');
    expect(config.sites[0]!.alerts).toEqual({
      destinations: [{ type: 'webhook', id: 'crm', url: 'https://crm.acme.test/hooks/hearth', secret: SECRET }],
      routes: [],
      cooldownHours: 24,
      maxPerHour: 100,
      signals: [...SIGNALS],
    });
  });

  it('reads "env:NAME" secrets from the environment, and says which path refers to a variable that is not set', () => {
    process.env.TEST_HOOK_SECRET = SECRET;
    process.env.TEST_SMTP_PASSWORD = 'hunter2';
    const config = parseConfig(
      {
        sites: [site({ destinations: [{ type: 'webhook', id: 'crm', url: 'https://crm.acme.test/', secret: 'env:TEST_HOOK_SECRET' }, { type: 'email', id: 'sales', to: ['owner', 'sales@acme.test'] }] })],
        smtp: { host: 'smtp.acme.test', user: 'hearth', password: 'env:TEST_SMTP_PASSWORD', from: 'Hearth <alerts@acme.test>' },
      },
      'test',
    );
    expect(config.sites[0]!.alerts!.destinations[0]).toMatchObject({ secret: SECRET });
    expect(config.smtp).toEqual({ host: 'smtp.acme.test', port: 587, user: 'hearth', password: 'hunter2', from: 'Hearth <alerts@acme.test>' });
    expect(problemsOf({ sites: [site({ destinations: [{ type: 'slack', id: 'team', url: 'env:TEST_UNSET_SLACK_URL' }] })] })).toContain(
      'hearth.config.json: sites[0].alerts.destinations[0].url: the Slack webhook URL refers to the environment variable TEST_UNSET_SLACK_URL, which is not set',
    );
  });

  it('reads a secret from the environment without its last newline, and names the variable a bad value came from', () => {
    // A secret mounted as a file ends in a newline, as `echo` writes it.
    process.env.TEST_HOOK_SECRET = `${SECRET}\n`;
    process.env.TEST_SMTP_PASSWORD = ' hunter2\r\n';
    const config = parseConfig(
      {
        sites: [site({ destinations: [{ type: 'webhook', id: 'crm', url: 'https://crm.acme.test/', secret: 'env:TEST_HOOK_SECRET' }] })],
        smtp: { host: 'smtp.acme.test', user: 'hearth', password: 'env:TEST_SMTP_PASSWORD', from: 'alerts@acme.test' },
      },
      'test',
    );
    expect(config.sites[0]!.alerts!.destinations[0]).toMatchObject({ secret: SECRET });
    expect(config.smtp?.password).toBe('hunter2');
    process.env.TEST_SLACK_URL = 'notaurl';
    process.env.TEST_HOOK_SECRET = 'short';
    process.env.TEST_SMTP_PASSWORD = '\n';
    const message = problemsOf({
      sites: [site({ destinations: [{ type: 'slack', id: 'team', url: 'env:TEST_SLACK_URL' }, { type: 'webhook', id: 'crm', url: 'https://crm.acme.test/', secret: 'env:TEST_HOOK_SECRET' }] })],
      smtp: { host: 'smtp.acme.test', user: 'hearth', password: 'env:TEST_SMTP_PASSWORD', from: 'alerts@acme.test' },
    });
    expect(message).toContain('sites[0].alerts.destinations[0].url: expected an http(s) URL (the Slack webhook URL, from the environment variable TEST_SLACK_URL)');
    expect(message).toMatch(/sites\[0\]\.alerts\.destinations\[1\]\.secret: the secret is 5 bytes long.* \(the webhook secret, from the environment variable TEST_HOOK_SECRET\)/);
    expect(message).toContain('smtp.password: the SMTP password refers to the environment variable TEST_SMTP_PASSWORD, which is empty');
    expect(message).not.toContain('notaurl');
  });

  it("says of a Slack URL with a user or password that its key is in its path (a Slack destination has no secret)", () => {
    const message = problemsOf({ sites: [site({ destinations: [{ type: 'slack', id: 'team', url: 'https://bot:hunter2@hooks.slack.com/services/T0/B0/x' }] })] });
    expect(message).toContain("sites[0].alerts.destinations[0].url: a URL cannot carry a user or password (HTTP clients refuse it, and it would show in errors): a Slack incoming-webhook URL's key is in its path");
    expect(message).not.toContain('hunter2');
    expect(problemsOf({ sites: [site({ destinations: [{ type: 'webhook', id: 'crm', url: 'https://bot:hunter2@crm.acme.test/', secret: SECRET }] })] })).toContain('sign with the secret instead');
  });

  it('takes a sender as an address or a name and an address, and refuses one whose address is no address', () => {
    const smtp = (from: string) => ({ sites: [site({ destinations: [] })], smtp: { host: 'smtp.acme.test', from } });
    // At a domain in any script too, as origins take one (QA: refused, where the editor's schema took it).
    for (const from of ['alerts@acme.test', 'Hearth <alerts@acme.test>', 'Hearth Alerts <alerts@acme.test>', 'alertes@société.fr', 'Hearth <alertes@xn--socit-esab.fr>']) {
      expect(problemsOf(smtp(from)), from).not.toContain('smtp.from');
    }
    // A problem said once (it was twice).
    expect(problemsOf(smtp('alerts')).split('smtp.from:').length).toBe(2);
    for (const from of ['Hearth <alerts@acme.test', 'alerts@acme.test>', 'alerts@acme..test', 'a@acme.test, b@acme.test', 'Hearth alerts@acme.test', 'Hearth <>']) {
      expect(problemsOf(smtp(from)), from).toContain('smtp.from: expected a sender such as "alerts@acme.com" or "Hearth <alerts@acme.com>"');
    }
  });

  it('refuses a dashboard URL with a user or password: the link goes out in every alert', () => {
    const message = problemsOf({ sites: [site({ destinations: [] })], dashboardUrl: 'https://alice:S3cretPw@hearth.acme.test' });
    expect(message).toContain('dashboardUrl: a URL cannot carry a user or password (HTTP clients refuse it, and it would show in errors): the link goes out in every alert; people log in at /login');
    expect(message).not.toContain('S3cretPw');
  });

  it('refuses a reference to a variable written otherwise, which would be taken for the secret itself', () => {
    for (const password of ['ENV:HEARTH_SMTP_PASSWORD', 'Env:HEARTH_SMTP_PASSWORD', 'env: HEARTH_SMTP_PASSWORD', 'env:HEARTH-SMTP-PASSWORD']) {
      expect(problemsOf({ sites: [site({ destinations: [] })], smtp: { host: 'smtp.acme.test', user: 'hearth', password, from: 'alerts@acme.test' } }), password).toContain(
        'hearth.config.json: smtp.password: the SMTP password reads like a reference to an environment variable, written otherwise than "env:NAME" (lower-case "env:", then letters, digits and "_")',
      );
    }
  });

  it('names the path of every bad value', () => {
    const message = problemsOf({
      sites: [
        site({
          destinations: [
            { type: 'webhook', id: 'crm', url: 'ftp://crm.acme.test/', secret: 'too short' },
            { type: 'email', id: 'crm', to: ['not an address', 'ventes@société.fr', 'x@acme.1'] },
            { type: 'pager', id: 'oncall' },
            { type: 'webhook', id: 'crm-basic', url: 'https://hearth:S3cretPass@crm.acme.test/hooks', secret: 'x'.repeat(32) },
          ],
          routes: [{ destinations: ['nowhere'], countries: ['Atlantis'] }],
          signals: ['became_hot'],
        }),
      ],
    });
    expect(message).toContain('sites[0].alerts.destinations[0].url: expected an http(s) URL');
    expect(message).toContain('sites[0].alerts.destinations[0].secret: the secret is 9 bytes long; use at least 24');
    expect(message).toContain('sites[0].alerts.destinations[1].to[0]: expected an email address, or "owner" for the lead\'s owner (got "not an address")');
    // An address at a domain in any script is one; a domain ending in digits is not.
    expect(message).not.toContain('destinations[1].to[1]');
    expect(message).toContain('sites[0].alerts.destinations[1].to[2]: expected an email address');
    expect(message).toContain('sites[0].alerts.destinations[2].type: a destination\'s type is "webhook", "slack" or "email"');
    expect(message).toContain('sites[0].alerts.destinations[3].url: a URL cannot carry a user or password');
    expect(message).not.toContain('S3cretPass');
    expect(message).toContain('sites[0].alerts.routes[0].countries[0]: unknown country; use an ISO code such as "FR" or a name such as "France" (got "Atlantis")');
    expect(message).toContain('sites[0].alerts.signals[0]: expected a signal: hot, demo_request, pricing_dwell, pricing_returns, docs_download, weak_accumulation (got "became_hot")');
  });

  it('refuses an empty list of signals, which would send nothing without a word', () => {
    const message = problemsOf({ sites: [site({ destinations: [{ type: 'webhook', id: 'crm', url: 'https://crm.acme.test/hooks' }], signals: [] })] });
    expect(message).toContain('sites[0].alerts.signals: list at least one signal (or leave signals out for all of them); to send no alerts, remove the alerts section');
  });

  it('names the path of a destination URL that is not a URL at all, instead of failing with a bare "Invalid URL"', () => {
    let message = '';
    expect(() => {
      message = problemsOf({
        sites: [
          site({
            destinations: [
              { type: 'webhook', id: 'crm', url: 'crm.acme.test/hooks/hearth', secret: SECRET },
              { type: 'slack', id: 'team', url: 'hooks.slack.test/services/T0/B0/x' },
            ],
          }),
        ],
      });
    }).not.toThrow();
    expect(message).toContain('sites[0].alerts.destinations[0].url: expected an http(s) URL (got "crm.acme.test/hooks/hearth")');
    expect(message).toContain('sites[0].alerts.destinations[1].url: expected an http(s) URL');
  });

  it('never quotes a secret in a config error: a webhook secret, a Slack URL (inline or from the environment)', () => {
    process.env.TEST_HOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw-base64url';
    const message = problemsOf({
      sites: [
        site({
          destinations: [
            { type: 'webhook', id: 'crm', url: 'https://crm.acme.test/', secret: 'hunter2-crm-secret' },
            { type: 'webhook', id: 'crm-env', url: 'https://crm.acme.test/', secret: 'env:TEST_HOOK_SECRET' },
            { type: 'slack', id: 'team', url: 'ftp://hooks.slack.test/services/T0/B0/sl4ckT0ken' },
            { type: 'slack', id: 'team-typo', url: 'hooks.slack.test/services/T0/B0/sl4ckT0ken' },
          ],
        }),
      ],
    });
    expect(message).toContain('sites[0].alerts.destinations[0].secret: the secret is 18 bytes long; use at least 24');
    expect(message).toContain('sites[0].alerts.destinations[1].secret: a "whsec_" secret is followed by standard base64');
    expect(message).toContain('sites[0].alerts.destinations[2].url: expected an http(s) URL');
    expect(message).toContain('sites[0].alerts.destinations[3].url: expected an http(s) URL');
    for (const secret of ['hunter2', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'sl4ckT0ken']) expect(message).not.toContain(secret);
  });

  it('checks that routes name known destinations, that every destination is routed, that ids are unique, and that email has SMTP', () => {
    const hook = { type: 'webhook', url: 'https://crm.acme.test/', secret: SECRET };
    const message = problemsOf({
      sites: [
        site({
          destinations: [{ ...hook, id: 'crm' }, { ...hook, id: 'crm' }, { type: 'email', id: 'sales', to: ['sales@acme.test'] }, { type: 'slack', id: 'team', url: 'https://hooks.slack.test/x' }],
          routes: [{ destinations: ['crm', 'sales', 'nowhere'] }],
        }),
      ],
    });
    expect(message).toContain('sites[0].alerts.destinations[1].id: destination id "crm" is used twice');
    expect(message).toContain('sites[0].alerts.routes[0].destinations[2]: no destination has the id "nowhere"; destinations: crm, sales, team');
    expect(message).toContain('sites[0].alerts.destinations[3]: no route sends to "team"');
    const noSmtp = problemsOf({ sites: [site({ destinations: [{ type: 'email', id: 'sales', to: ['sales@acme.test'] }] })] });
    expect(noSmtp).toContain('sites[0].alerts.destinations[0]: an email destination needs the top-level "smtp" settings');
    expect(problemsOf({ sites: [site(undefined)], smtp: { host: 'smtp.acme.test', user: 'hearth', from: 'alerts@acme.test' } })).toContain('smtp.password: an SMTP user needs a password');
    // A host that no mail server has: refused here, not retried for a day.
    for (const host of ['smtp acme com', 'smtp://smtp.acme.test', 'smtp.acme.test:587']) {
      expect(problemsOf({ sites: [site(undefined)], smtp: { host, from: 'alerts@acme.test' } })).toContain(`smtp.host: expected a host name or address, e.g. "smtp.acme.com" (got ${JSON.stringify(host)})`);
    }
    for (const host of ['localhost', '127.0.0.1', '::1', 'mail-1.eu.acme.test']) expect(problemsOf({ sites: [site(undefined)], smtp: { host, from: 'alerts@acme.test' } })).toBe('no problem');
  });
});

describe('routing an alert to destinations', () => {
  const alerts = alertsSchema.parse({
    destinations: [
      { type: 'slack', id: 'sales-fr', url: 'https://hooks.slack.test/fr' },
      { type: 'slack', id: 'sales-de', url: 'https://hooks.slack.test/de' },
      { type: 'slack', id: 'sales-world', url: 'https://hooks.slack.test/world' },
      { type: 'email', id: 'sam', to: ['sam@vendor.test'] },
      { type: 'webhook', id: 'crm', url: 'https://crm.acme.test/', secret: SECRET },
    ],
    routes: [
      { destinations: ['sales-fr'], countries: ['France', 'BE', 'che'] },
      { destinations: ['sales-de'], countries: ['DE', 'AT'] },
      { destinations: ['sam'], owners: ['Sam@Vendor.test'] },
      { destinations: ['crm'], signals: ['demo_request', 'hot'] },
      { destinations: ['sales-world'], fallback: true },
    ],
  });
  const ids = (overrides: Parameters<typeof sampleAlert>[0]) => routeAlert(sampleAlert(overrides), alerts).map((destination) => destination.id);

  it('sends by territory, by owner and by signal, to every matching route', () => {
    expect(ids({ signal: 'demo_request', lead: { country: 'BE' } })).toEqual(['sales-fr', 'crm']);
    expect(ids({ signal: 'pricing_dwell', lead: { country: 'CH', owner: 'sam@vendor.test' } })).toEqual(['sales-fr', 'sam']);
    expect(ids({ signal: 'pricing_dwell', lead: { country: 'AT' } })).toEqual(['sales-de']);
  });

  it('uses the fallback route only when no other route matched', () => {
    expect(ids({ signal: 'docs_download', lead: { country: 'US' } })).toEqual(['sales-world']);
    expect(ids({ signal: 'docs_download', lead: { country: '' } })).toEqual(['sales-world']);
  });

  it('uses the fallback for leads outside every territory and owner, even when a route for every lead or for a signal matched (the README\'s example)', () => {
    const readme = alertsSchema.parse({
      destinations: [
        { type: 'webhook', id: 'crm', url: 'https://crm.acme.test/hooks/hearth', secret: SECRET },
        { type: 'slack', id: 'sales-fr', url: 'https://hooks.slack.test/fr' },
        { type: 'slack', id: 'sales-world', url: 'https://hooks.slack.test/world' },
        { type: 'email', id: 'owner', to: ['owner', 'sales@acme.test'] },
      ],
      routes: [
        { destinations: ['crm'] },
        { destinations: ['sales-fr'], countries: ['FR', 'BE', 'CH', 'LU'] },
        { destinations: ['sales-world'], fallback: true },
        { destinations: ['owner'], signals: ['demo_request', 'hot'] },
      ],
    });
    const to = (overrides: Parameters<typeof sampleAlert>[0]) => routeAlert(sampleAlert(overrides), readme).map((destination) => destination.id);
    expect(to({ signal: 'demo_request', lead: { country: 'US' } })).toEqual(['crm', 'sales-world', 'owner']);
    expect(to({ signal: 'docs_download', lead: { country: 'US' } })).toEqual(['crm', 'sales-world']);
    expect(to({ signal: 'demo_request', lead: { country: 'FR' } })).toEqual(['crm', 'sales-fr', 'owner']);
    // In the routing above, sam's leads are his wherever they are: the fallback is for nobody's.
    expect(ids({ signal: 'demo_request', lead: { country: 'US' } })).toEqual(['sales-world', 'crm']);
    expect(ids({ signal: 'demo_request', lead: { country: 'US', owner: 'sam@vendor.test' } })).toEqual(['sam', 'crm']);
  });

  it('sends everything everywhere without routes', () => {
    const open = alertsSchema.parse({ destinations: alerts.destinations });
    expect(routeAlert(sampleAlert({ lead: { country: 'JP' } }), open).map((destination) => destination.id)).toEqual(['sales-fr', 'sales-de', 'sales-world', 'sam', 'crm']);
  });

  it('mails the lead\'s owner when "owner" is listed and the owner is an address, the listed addresses otherwise', () => {
    const destination = { type: 'email' as const, id: 'sales', to: ['owner' as const, 'sales@acme.test'] };
    expect(emailRecipients(destination, sampleAlert({ lead: { owner: 'kim@acme.test' } }))).toEqual(['kim@acme.test']);
    expect(emailRecipients(destination, sampleAlert({ lead: { owner: '' } }))).toEqual(['sales@acme.test']);
    expect(emailRecipients(destination, sampleAlert({ lead: { owner: 'kim' } }))).toEqual(['sales@acme.test']);
    expect(emailRecipients({ ...destination, to: ['owner'] }, sampleAlert({ lead: { owner: '' } }))).toEqual([]);
  });
});
