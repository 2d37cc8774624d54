// @vitest-environment node
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../../collector/config/load.ts';
import { configJsonSchema } from '../../../collector/config/schema.ts';
import { defaultRules } from '../../../scoring/rules.ts';

// readFileSync stays Node's own unless a test makes it fail as a permission problem would (tests may run as root).
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, readFileSync: vi.fn(fs.readFileSync) };
});
afterEach(() => vi.mocked(readFileSync).mockRestore());

const dir = mkdtempSync(join(tmpdir(), 'hearth-config-load-'));
function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** What `hearth start --config FILE` prints after "hearth: ". */
function loadError(file: string): string {
  try {
    loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected the config to be refused');
}

const SITE = { id: 'acme', origins: ['https://www.acme.test'], pageGroups: { pricing: ['/pricing*'], product: ['/product/*'] } };
/** The problems of a config with one site, as the user reads them. */
function problemsOf(site: Record<string, unknown>): string[] {
  try {
    parseConfig({ sites: [{ ...SITE, ...site }] }, 'hearth.config.json');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n').slice(1).map((line) => line.trim());
    throw err;
  }
  return [];
}

describe('reading the config file', () => {
  it('says at which line and column a file stops being JSON', () => {
    const missingComma = configFile('missing-comma.json', '{\n  "sites": [\n    {\n      "id": "acme"\n      "origins": []\n    }\n  ]\n}\n');
    expect(loadError(missingComma)).toBe(`${missingComma}:5:7: the config file is not valid JSON: Expected ',' or '}' after property value`);
    // V8 gives no position for an unexpected token: Hearth finds it.
    const bareWord = configFile('bare-word.json', '{\n  "sites": [],\n  "serveDemoSite": yes\n}\n');
    expect(loadError(bareWord)).toBe(`${bareWord}:3:20: the config file is not valid JSON: Unexpected token 'y'`);
    const trailingComma = configFile('trailing-comma.json', '{\n  "sites": [1, 2, ]\n}');
    // A comma after the last item, which editors in JSONC mode allow, is named as such, at the comma (QA: the next line's "}" was blamed).
    expect(loadError(trailingComma)).toBe(`${trailingComma}:2:17: the config file is not valid JSON: a comma after the last item (JSON takes none)`);
    const trailingKey = configFile('trailing-key.json', '{\n  "sites": [],\n  "serveDemoSite": true,\n}\n');
    expect(loadError(trailingKey)).toBe(`${trailingKey}:3:24: the config file is not valid JSON: a comma after the last item (JSON takes none)`);
    const cutShort = configFile('cut-short.json', '{ "sites": [ ');
    expect(loadError(cutShort)).toBe(`${cutShort}:1:14: the config file is not valid JSON: Unexpected end of JSON input`);
    // Thousands deep, the place is found all the same (it was a stack overflow's trace).
    const deep = configFile('deep.json', `{ "sites": ${'['.repeat(20_000)}\n  1, }`);
    expect(loadError(deep)).toBe(`${deep}:2:6: the config file is not valid JSON: Unexpected token '}'`);
  });

  it('refuses a key given twice in one object, which JSON.parse would silently drop but for its last', () => {
    // The first "rules" is the one the user edits; parsed as is, the second alone counted, and nothing said so.
    const twice = configFile(
      'twice.json',
      '{\n  "sites": [\n    {\n      "id": "acme",\n      "origins": ["https://www.acme.test"],\n      "rules": { "thresholds": { "warm": 20, "hot": 40 } },\n      "rules": {}\n    }\n  ]\n}\n',
    );
    expect(loadError(twice)).toBe(`${twice}:7:7: the config file gives "rules" twice in sites[0]; only the last would count`);
    const atRoot = configFile('twice-at-root.json', '{ "sites": [], "sites": [] }');
    expect(loadError(atRoot)).toBe(`${atRoot}:1:16: the config file gives "sites" twice; only the last would count`);
    // The same key in two objects is no repetition.
    const siblings = configFile('siblings.json', JSON.stringify({ sites: [SITE, { ...SITE, id: 'other' }] }));
    expect(loadConfig(siblings).sites.map((site) => site.id)).toEqual(['acme', 'other']);
  });

  it('says a file written in UTF-16 (PowerShell 5\'s Out-File) is no UTF-8 text, rather than "Unexpected token" at 1:1', () => {
    const path = join(dir, 'utf16.json');
    writeFileSync(path, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify({ sites: [SITE] }), 'utf16le')]));
    expect(loadError(path)).toBe(`${path}: the config file is not UTF-8 text (it holds NUL bytes, as UTF-16 has); save it as UTF-8`);
  });

  it('refuses a "__proto__" key, which vanished as the file was read (a page group, a funnel entry) without a word', () => {
    const group = configFile('proto-group.json', '{ "sites": [{ "id": "acme", "origins": ["https://www.acme.test"], "pageGroups": { "__proto__": ["/x*"], "pricing": ["/p*"] } }] }');
    expect(loadError(group)).toBe(`${group}: sites[0].pageGroups.__proto__: a "__proto__" key names no setting, page group or stage; rename it`);
    const funnel = configFile('proto-funnel.json', '{ "sites": [{ "id": "acme", "origins": ["https://www.acme.test"], "rules": { "funnel": { "__proto__": "BOFU" } } }] }');
    expect(loadError(funnel)).toBe(`${funnel}: sites[0].rules.funnel.__proto__: a "__proto__" key names no setting, page group or stage; rename it`);
  });

  it('reads comments, and names the lines and columns of the file as written around them', () => {
    const commented = configFile(
      'commented.json',
      `{\n  // our one site\n  "sites": [\n    /* the shop,\n       and its blog */ ${JSON.stringify(SITE)} // "https://example.test"\n  ]\n}\n`,
    );
    expect(loadConfig(commented).sites.map((site) => site.origins)).toEqual([SITE.origins]);
    const afterComment = configFile('after-comment.json', '{\n  /* one\n     two */ "sites": [],\n  "serveDemoSite": yes // no\n}\n');
    expect(loadError(afterComment)).toBe(`${afterComment}:4:20: the config file is not valid JSON: Unexpected token 'y'`);
    // Below a header of comments, one after the other, the lines are still the file's.
    const header = configFile('header.json', `// acme's config\n// owner: ops\n/* a */\n// b\n{\n  "sites": [${JSON.stringify(SITE)}],\n  "server": { "port": 4831 } "x": 1\n}\n`);
    expect(loadError(header)).toBe(`${header}:7:30: the config file is not valid JSON: Expected ',' or '}' after property value`);
    // A slash in a string is no comment.
    const url = configFile('url.json', JSON.stringify({ sites: [{ ...SITE, origins: ['https://www.acme.test'], name: 'a // b /* c */' }] }));
    expect(loadConfig(url).sites[0]!.name).toBe('a // b /* c */');
  });

  it('reads a file that starts with a UTF-8 byte-order mark', () => {
    const file = configFile('bom.json', `\uFEFF${JSON.stringify({ sites: [SITE] })}`);
    expect(loadConfig(file).sites[0]!.id).toBe('acme');
  });

  it('says when the path is a directory, cannot be read, or does not exist', () => {
    const folder = join(dir, 'folder.json');
    mkdirSync(folder);
    expect(loadError(folder)).toBe(`config file ${folder} is a directory`);
    const locked = configFile('locked.json', '{}');
    vi.mocked(readFileSync).mockImplementationOnce(() => {
      throw Object.assign(new Error(`EACCES: permission denied, open '${locked}'`), { code: 'EACCES', syscall: 'open', path: locked });
    });
    expect(loadError(locked)).toBe(`config file ${locked} cannot be read: permission denied`);
    expect(loadError(join(dir, 'nope.json'))).toBe(`config file ${join(dir, 'nope.json')} does not exist`);
  });

  it('names a file nested too deeply to read, where it ended in a stack overflow', () => {
    const deep = configFile('deep.json', `{"sites": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(loadError(deep)).toBe(`${deep}: the config file nests lists or objects too deeply to be read`);
  });
});

describe('what a config gets wrong', () => {
  it('refuses a dashboardUrl with a path, which the login, the redirects and the snippet would not follow', () => {
    const refused = 'hearth.config.json: dashboardUrl: Hearth is served at the root of its host: give the URL without a path, e.g. "https://hearth.acme.com" (a reverse proxy cannot put it under a path such as /hearth)';
    for (const url of ['https://acme.test/hearth', 'https://acme.test/hearth/', 'https://acme.test/?x=1']) expect(() => parseConfig({ sites: [SITE], dashboardUrl: url }, 'hearth.config.json'), url).toThrow(refused);
    for (const url of ['https://hearth.acme.test', 'https://hearth.acme.test/', 'https://hearth.acme.test:8443']) expect(parseConfig({ sites: [SITE], dashboardUrl: url }, 'hearth.config.json').dashboardUrl, url).toBe(url);
  });

  it('names a misspelt key by its own path, and a missing one as missing', () => {
    const { origins, ...withoutOrigins } = SITE;
    expect(problemsOf({ origns: origins })).toEqual(['hearth.config.json: sites[0].origns: unknown key']);
    expect(() => parseConfig({ sites: [withoutOrigins] }, 'hearth.config.json')).toThrow('hearth.config.json: sites[0].origins: missing (expected a list [ … ])');
  });

  it('quotes a key that holds a dot or a space, which would read as a path of keys that may well be right', () => {
    expect(problemsOf({ 'rules.thresholds': { hot: 70 } })).toEqual(['hearth.config.json: sites[0]["rules.thresholds"]: unknown key']);
    expect(problemsOf({ rules: { 'decay.halfLifeDays': 20, 'window days': 30 } })).toEqual([
      'hearth.config.json: sites[0].rules["decay.halfLifeDays"]: unknown key',
      'hearth.config.json: sites[0].rules["window days"]: unknown key',
    ]);
    expect(problemsOf({ pageGroups: { 'a.b': [] } })[0]).toMatch(/^hearth\.config\.json: sites\[0\]\.pageGroups\["a\.b"\]: /);
  });

  it('says a value is of the wrong kind in the words of a JSON file, quoting it', () => {
    expect(problemsOf({ origins: 'https://www.acme.test' })).toEqual(['hearth.config.json: sites[0].origins: expected a list [ … ], not a text (got "https://www.acme.test")']);
    expect(problemsOf({ pageGroups: ['/pricing*'] })).toEqual(['hearth.config.json: sites[0].pageGroups: expected an object { … }, not a list']);
  });

  it('says what a page group’s name must be, and which threshold is the default one', () => {
    expect(problemsOf({ pageGroups: { 'Bad Name': ['/x*'] } })).toEqual(['hearth.config.json: sites[0].pageGroups["Bad Name"]: a page group name is lowercase, e.g. "pricing" (got "Bad Name")']);
    expect(problemsOf({ rules: { thresholds: { hot: 20 } } })).toEqual(['hearth.config.json: sites[0].rules.thresholds: warm must not be above hot (warm is 30, hot 20; by default warm is 30 and hot 60)']);
  });
});

describe('a number, a text or a list out of bounds', () => {
  /** The problems of a whole config, as the user reads them. */
  function configProblems(config: Record<string, unknown>): string[] {
    try {
      parseConfig({ sites: [SITE], ...config }, 'hearth.config.json');
    } catch (err) {
      if (err instanceof ConfigError) return err.message.split('\n').slice(1).map((line) => line.trim());
      throw err;
    }
    return [];
  }

  it("is said in Hearth's words, not zod's (“Too small: expected number to be >0”)", () => {
    expect(problemsOf({ rules: { decay: { halfLifeDays: 0 }, windowDays: 1.5 } })).toEqual([
      'hearth.config.json: sites[0].rules.decay.halfLifeDays: expected a number above 0 (got 0)',
      'hearth.config.json: sites[0].rules.windowDays: expected a whole number, not 1.5',
    ]);
    expect(configProblems({ server: { port: 70000 }, limits: { requestsPerMinutePerIp: 0 } })).toEqual([
      'hearth.config.json: server.port: expected a number at most 65535 (got 70000)',
      'hearth.config.json: limits.requestsPerMinutePerIp: expected a number at least 1 (got 0)',
    ]);
    expect(configProblems({ server: { port: -1 } })).toEqual(['hearth.config.json: server.port: expected a number at least 0 (got -1)']);
    expect(problemsOf({ name: '' })).toEqual(['hearth.config.json: sites[0].name: expected at least 1 character (got "")']);
  });

  it('says a number is too large to read, where it said "expected a number, not a number"', () => {
    // JSON.parse reads 1e400 as Infinity, and -1e400 as -Infinity, which zod named in its own words.
    const huge = configFile('huge.json', JSON.stringify({ sites: [SITE] }).replace('"origins"', '"rules":{"thresholds":{"hot":1e400},"windowDays":-1e400},"origins"'));
    expect(loadError(huge).split('\n').slice(1).map((line) => line.trim())).toEqual([
      `${huge}: sites[0].rules.windowDays: expected a number, not one too large to read (it reads as -Infinity)`,
      `${huge}: sites[0].rules.thresholds.hot: expected a number, not one too large to read (it reads as Infinity)`,
    ]);
  });
});

describe('a config with several mistakes', () => {
  it('names them all at once, the references to what is not there among them, with one message each', () => {
    expect(
      problemsOf({
        origins: ['not a url'],
        rules: {
          engagement: [{ id: 'pricing', event: 'pageview', pageGroup: 'pricng', points: 'ten' }],
          fit: [{ id: 'pricing', field: 'job_title', values: ['ceo'], points: 5 }],
          windowDays: 'long',
        },
        alerts: { destinations: [{ type: 'webhook', id: 'crm', url: 'ftp://crm.test', secret: 'x'.repeat(32) }], routes: [{ destinations: ['cmr'] }], cooldownHours: 'x' },
      }),
    ).toEqual([
      'hearth.config.json: sites[0].origins[0]: expected an origin such as "https://www.example.com" or "http://localhost:*" (scheme and host, no path) (got "not a url")',
      'hearth.config.json: sites[0].rules.engagement[0].points: expected a number, not a text (got "ten")',
      'hearth.config.json: sites[0].rules.windowDays: expected a number, not a text (got "long")',
      'hearth.config.json: sites[0].rules.engagement[0].id: rule id "pricing" is used twice',
      'hearth.config.json: sites[0].alerts.destinations[0].url: expected an http(s) URL (got "ftp://crm.test")',
      'hearth.config.json: sites[0].alerts.cooldownHours: expected a number, not a text (got "x")',
      'hearth.config.json: sites[0].alerts.routes[0].destinations[0]: no destination has the id "cmr"; destinations: crm',
      'hearth.config.json: sites[0].alerts.destinations[0]: no route sends to "crm"; add it to a route (a route without conditions sends everything)',
      'hearth.config.json: sites[0].rules.engagement[0].pageGroup: the site has no page group "pricng" (it has: pricing, product)',
    ]);
  });
});

describe('page groups', () => {
  it('need at least one pattern each', () => {
    expect(problemsOf({ pageGroups: { pricing: [] } })).toEqual(['hearth.config.json: sites[0].pageGroups.pricing: list at least one path pattern, e.g. "/pricing*"']);
  });

  it('that the site lacks are refused where its rules name them', () => {
    const missing = (name: string) => `the site has no page group "${name}" (it has: pricing, product)`;
    expect(
      problemsOf({
        rules: {
          engagement: [{ id: 'demo-page', event: 'pageview', pageGroup: 'nope', points: 5 }],
          negative: [{ id: 'jobs', event: 'pageview', pageGroup: 'careers', points: -5 }],
          funnel: { nope: 'BOFU', pricing: 'BOFU' },
          signals: { pricingPageGroup: 'pricng' },
        },
      }),
    ).toEqual([
      `hearth.config.json: sites[0].rules.engagement[0].pageGroup: ${missing('nope')}`,
      `hearth.config.json: sites[0].rules.negative[0].pageGroup: ${missing('careers')}`,
      `hearth.config.json: sites[0].rules.funnel.nope: ${missing('nope')}`,
      `hearth.config.json: sites[0].rules.signals.pricingPageGroup: ${missing('pricng')}`,
    ]);
  });

  it('let the pricing signal fall back to its paths on a site without a "pricing" group', () => {
    expect(problemsOf({ pageGroups: { product: ['/product/*'] }, rules: { signals: { pricingPaths: ['/tarifs*'] } } })).toEqual([]);
  });
});

describe('a site’s rules', () => {
  const rulesOfSite = (rules: Record<string, unknown>) => parseConfig({ sites: [{ ...SITE, rules }] }, 'hearth.config.json').sites[0]!.rules!;
  const grid = defaultRules(SITE.pageGroups);

  it('keep the article’s grid for the lists they leave out: changing the thresholds changes only them', () => {
    const rules = rulesOfSite({ thresholds: { warm: 20, hot: 50 } });
    expect(rules.thresholds).toEqual({ warm: 20, hot: 50 });
    expect(rules.signals.hotRearmBelow).toBe(40);
    expect({ fit: rules.fit, engagement: rules.engagement, negative: rules.negative, source: rules.source, funnel: rules.funnel }).toEqual({
      fit: grid.fit,
      engagement: grid.engagement,
      negative: grid.negative,
      source: grid.source,
      funnel: grid.funnel,
    });
  });

  it('replace a list they give, and an empty list means none', () => {
    const mine = [{ id: 'demo-form', event: 'form', forms: ['demo*'], points: 30 }];
    const rules = rulesOfSite({ engagement: mine, negative: [] });
    expect(rules.engagement.map((rule) => rule.id)).toEqual(['demo-form']);
    expect(rules.negative).toEqual([]);
    expect(rules.fit).toEqual(grid.fit);
  });
});

describe('a site’s rules with a rule of the grid moved to a list they give', () => {
  it('take it as theirs: the grid’s list they leave out no longer has it, and nothing is “used twice”', () => {
    // A site selling to recruiters counts careers-page views as interest: the user's engagement rule of that id
    // replaces the grid's negative one; it is not a second rule of theirs at a path that is nowhere in their file.
    const careers = { id: 'careers-page', event: 'pageview', paths: ['/careers*'], points: 5 };
    expect(problemsOf({ rules: { engagement: [careers] } })).toEqual([]);
    const rules = parseConfig({ sites: [{ ...SITE, rules: { engagement: [careers] } }] }, 'hearth.config.json').sites[0]!.rules!;
    expect(rules.engagement.map((rule) => rule.id)).toEqual(['careers-page']);
    expect(rules.negative.map((rule) => rule.id)).toEqual(['free-mail', 'student', 'unsubscribed']);
    expect(rules.fit).toEqual(defaultRules(SITE.pageGroups).fit);
  });

  it('still refuse an id they use twice themselves, at their own path', () => {
    const rule = { id: 'demo-form', event: 'form', forms: ['demo*'], points: 30 };
    expect(problemsOf({ rules: { engagement: [rule, rule] } })).toEqual(['hearth.config.json: sites[0].rules.engagement[1].id: rule id "demo-form" is used twice']);
  });
});

describe('the article’s grid on a site whose page groups have unusual names', () => {
  it('gives a funnel stage only to the usual names, whatever a group is called', () => {
    // "constructor" is a fine page-group name; it is not one of the usual stages' names.
    const site = { ...SITE, pageGroups: { ...SITE.pageGroups, constructor: ['/builder*'] } };
    expect(problemsOf({ pageGroups: site.pageGroups, rules: { thresholds: { warm: 20, hot: 50 } } })).toEqual([]);
    // Without rules of its own, the site scores with the grid: it must be made, not fail at start.
    expect(defaultRules(site.pageGroups).funnel).toEqual({ pricing: 'BOFU', product: 'MOFU' });
  });
});

describe('server.trustProxy', () => {
  const problemsOfServer = (server: Record<string, unknown>) => {
    try {
      parseConfig({ sites: [SITE], server }, 'hearth.config.json');
    } catch (err) {
      if (err instanceof ConfigError) return err.message.split('\n').slice(1).map((line) => line.trim());
      throw err;
    }
    return [];
  };

  it('refuses what is no proxy address or range when the file is read (Fastify threw it at start, with a stack)', () => {
    expect(problemsOfServer({ trustProxy: ['10.0.0.1', 'proxy.internal', '10.0.0.0/33', '::1/129', '10.0.0.0/255.0.255.0', '10.0.0.0/0'] })).toEqual([
      'hearth.config.json: server.trustProxy[1]: expected an IP address, a CIDR range such as "10.0.0.0/8", or loopback, linklocal or uniquelocal (got "proxy.internal")',
      'hearth.config.json: server.trustProxy[2]: expected an IP address, a CIDR range such as "10.0.0.0/8", or loopback, linklocal or uniquelocal (got "10.0.0.0/33")',
      'hearth.config.json: server.trustProxy[3]: expected an IP address, a CIDR range such as "10.0.0.0/8", or loopback, linklocal or uniquelocal (got "::1/129")',
      'hearth.config.json: server.trustProxy[4]: expected an IP address, a CIDR range such as "10.0.0.0/8", or loopback, linklocal or uniquelocal (got "10.0.0.0/255.0.255.0")',
      'hearth.config.json: server.trustProxy[5]: expected an IP address, a CIDR range such as "10.0.0.0/8", or loopback, linklocal or uniquelocal (got "10.0.0.0/0")',
    ]);
    expect(problemsOfServer({ trustProxy: 'yes' })).toEqual([
      'hearth.config.json: server.trustProxy: expected true, false or a list of the proxies\' addresses or CIDR ranges (got "yes")',
    ]);
  });

  it('takes what the proxy list of Fastify takes: addresses, ranges, netmasks and its named ranges', () => {
    expect(problemsOfServer({ trustProxy: ['10.0.0.1', '10.0.0.0/8', '172.16.0.0/255.240.0.0', 'fd00::/8', '::ffff:10.0.0.1', 'loopback', 'uniquelocal'] })).toEqual([]);
    expect(problemsOfServer({ trustProxy: true })).toEqual([]);
  });
});

describe('the JSON Schema (`hearth schema`)', () => {
  // JSON Schema patterns are ECMA-262 regular expressions, without flags.
  const schema = configJsonSchema() as any;
  const site = schema.properties.sites.items.properties;

  it('allows the origins the loader allows, whatever their case', () => {
    const origin = new RegExp(site.origins.items.pattern, 'u');
    for (const text of ['https://www.acme.com', 'HTTPS://WWW.Acme.com', 'http://localhost:*', 'https://*.Acme.com:8443', 'https://bücher.de', 'https://xn--bcher-kva.de:443']) {
      expect(problemsOf({ origins: [text] }), text).toEqual([]);
      expect(origin.test(text), text).toBe(true);
    }
    expect(origin.test('https://acme.com/pricing')).toBe(false);
  });

  it("says of each rules list where it comes from when left out, and how to give none, as the loader takes it", () => {
    const rules = schema.properties.sites.items.properties.rules.properties;
    expect(rules.fit.description).toMatch(/Given: it replaces the grid's; \[\] for none\.$/);
    expect(rules.funnel.description).toMatch(/Given: it replaces the grid's; \{\} for none\.$/);
    expect(problemsOf({ rules: { fit: [], funnel: {} } })).toEqual([]);
    expect(problemsOf({ rules: { fit: {} } })).toEqual(['hearth.config.json: sites[0].rules.fit: expected a list [ … ], not an object']);
    // The grid has no source rule, and its fit rules read no page group (QA: the schema said otherwise).
    expect(rules.source.description).toMatch(/^Left out: the default grid's, none /);
    expect(rules.fit.description).toMatch(/^Left out: the default grid's fit \(/);
  });

  it('describes every key an editor shows, as docs/configuration.md does (QA: 5 of ~150 had a word)', () => {
    const described = (node: any) => typeof node?.description === 'string' && node.description.length > 10;
    for (const key of ['sites', 'server', 'limits', 'smtp', 'dashboardUrl', 'users', 'tokens', 'serveDemoSite']) expect(described(schema.properties[key]), key).toBe(true);
    for (const key of ['id', 'name', 'origins', 'pageGroups', 'qualification', 'rules', 'alerts']) expect(described(site[key]), key).toBe(true);
    for (const key of ['destinations', 'routes', 'cooldownHours', 'maxPerHour', 'signals']) expect(described(site.alerts.properties[key]), key).toBe(true);
    expect(site.origins.description).toContain('scheme and host, no path');
  });

  it("takes an alert address at a domain in any script, with patterns a validator reads without the u flag, as the loader does", () => {
    expect(JSON.stringify(schema)).not.toContain('\\\\p{');
    const email = (site.alerts.properties.destinations.items.anyOf ?? site.alerts.properties.destinations.items.oneOf).find((one: any) => one.properties?.type?.const === 'email').properties.to.items.anyOf[1];
    const address = new RegExp(email.pattern);
    for (const [text, taken] of [['ventes@société.fr', true], ['ivan@пример.рф', true], ['x@acme.com', true], ['a@b', false], ['x@acme.1', false]] as const) expect(address.test(text), text).toBe(taken);
  });

  it('refuses a host or port no browser can send, which would refuse every post of the site', () => {
    const labels = 'expected a host a browser can send: dot-separated names of letters and digits, a hyphen only inside one ("www.my-shop.com")';
    for (const [origin, message] of [
      ['https://acme.com:99999', 'expected a port from 1 to 65535'],
      ['https://acme.com:0', 'expected a port from 1 to 65535'],
      ['https://-', labels],
      ['https://.', labels],
      ['https://a..b', labels],
      ['https://-acme.com', labels],
    ]) {
      expect(problemsOf({ origins: [origin] }), origin).toEqual([`hearth.config.json: sites[0].origins[0]: ${message} (got "${origin}")`]);
    }
    for (const origin of ['https://my-shop.co.uk:65535', 'http://127.0.0.1:8787', 'https://*.acme.com', 'http://[::1]:8080', 'https://[2001:db8::1]']) {
      expect(problemsOf({ origins: [origin] }), origin).toEqual([]);
    }
    const notIpv6 = 'expected an IPv6 address in brackets, such as "[2001:db8::1]"';
    for (const origin of ['http://[1:2:3]', 'http://[::1::2]']) {
      expect(problemsOf({ origins: [origin] }), origin).toEqual([`hearth.config.json: sites[0].origins[0]: ${notIpv6} (got "${origin}")`]);
    }
    expect(problemsOf({ origins: ['https://*.[::1]'] })[0]).toMatch(/expected an origin such as/);
    const notIpv4 = 'expected an IPv4 address of four numbers from 0 to 255, such as "http://127.0.0.1:8787"';
    for (const origin of ['http://999.1.1.1', 'http://10.0.0', 'http://1.2.3.4.5:8080']) {
      expect(problemsOf({ origins: [origin] }), origin).toEqual([`hearth.config.json: sites[0].origins[0]: ${notIpv4} (got "${origin}")`]);
    }
  });

  it('refuses an internationalised domain with no ASCII form a browser could send', () => {
    expect(problemsOf({ origins: ['https://xn--zz.de'] })).toEqual([
      'hearth.config.json: sites[0].origins[0]: expected a host a browser can send: this internationalised domain has no valid ASCII (Punycode) form (got "https://xn--zz.de")',
    ]);
  });

  it('refuses in an editor the rules the loader refuses that JSON Schema can say, and takes the ones it takes', () => {
    // Strict, but for `required` inside a branch naming properties the rule itself defines, as JSON Schema allows.
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const configWith = (rules: unknown) => ({ sites: [{ ...SITE, rules }] });
    const bad = {
      'a seniority that is no level': { fit: [{ id: 'x', field: 'seniority', values: ['ceo'], points: 5 }] },
      'engaged seconds on a download': { engagement: [{ id: 'x', event: 'download', minEngagedSeconds: 30, points: 5 }] },
      'forms on a page view': { engagement: [{ id: 'x', event: 'pageview', forms: ['*demo*'], points: 5 }] },
      'names on a form': { negative: [{ id: 'x', event: 'form', names: ['unsubscribe'], points: -5 }] },
      'assets on a track event': { engagement: [{ id: 'x', event: 'track', assets: ['*.pdf'], points: 5 }] },
      'a source rule of 0 points': { source: [{ id: 'x', utmSources: ['linkedin'], points: 0 }] },
      'a source rule matching nothing': { source: [{ id: 'x', points: 5 }] },
      'lasting and a half-life': { negative: [{ id: 'x', event: 'track', names: ['unsubscribe'], lasting: true, halfLifeDays: 7, points: -5 }] },
      'a field and an event': { negative: [{ id: 'x', field: 'email_domain', values: ['gmail.com'], event: 'pageview', points: -5 }] },
      'neither a field nor an event': { negative: [{ id: 'x', points: -5 }] },
      'values and a pattern': { fit: [{ id: 'x', field: 'industry', values: ['saas'], pattern: 'saas', points: 5 }] },
      'no values, pattern or range': { fit: [{ id: 'x', field: 'industry', points: 5 }] },
      'an empty pattern': { fit: [{ id: 'x', field: 'industry', pattern: '', points: 5 }] },
      'a cap on a field rule': { negative: [{ id: 'x', field: 'email_domain', values: ['gmail.com'], cap: 1, points: -5 }] },
      'values on an event rule': { negative: [{ id: 'x', event: 'pageview', values: ['a'], points: -5 }] },
    };
    for (const [name, rules] of Object.entries(bad)) {
      expect(() => parseConfig(configWith(rules), 'hearth.config.json'), name).toThrow(ConfigError);
      expect(validate(configWith(rules)), name).toBe(false);
    }
    const good = [
      {},
      defaultRules(SITE.pageGroups),
      {
        fit: [{ id: 'boss', field: 'seniority', values: ['c_level'], points: 30 }, { id: 'big', field: 'company_size', range: { min: 250 }, points: 25 }],
        engagement: [
          { id: 'dwell', event: 'pageview', pageGroup: 'pricing', minEngagedSeconds: 60, cap: 1, points: 15 },
          { id: 'demo', event: 'form', pageGroup: 'pricing', forms: ['*demo*'], points: 15 },
          { id: 'book', event: 'outbound', assets: ['*calendly.com*'], points: 10 },
        ],
        negative: [
          { id: 'unsub', event: 'track', names: ['unsubscribe'], lasting: true, points: -20 },
          { id: 'free', field: 'email_domain', pattern: 'gmail|yahoo', points: -10 },
        ],
        source: [{ id: 'display', utmMediums: ['display'], points: -5 }],
      },
    ];
    for (const rules of good) {
      expect(() => parseConfig(configWith(rules), 'hearth.config.json')).not.toThrow();
      expect(validate(configWith(rules)), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  it('flags in an editor the URLs, emails, ranges and ports the loader refuses, and none it takes', () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const webhook = (url: string, secret = 'a-secret-of-enough-length-0123456789') => ({ sites: [{ ...SITE, alerts: { destinations: [{ id: 'crm', type: 'webhook', url, secret }] } }] });
    const cases: [string, unknown][] = [
      ...['https://hearth.bücher.de', 'https://hearth.acme.com/équipe', 'https://hearth.acme.com/a b', 'HTTPS://Hearth.Acme.com', ' https://hearth.acme.com', '\uFEFFhttps://hearth.acme.com', 'https:///hearth.acme.com'].map((url): [string, unknown] => [url, { sites: [SITE], dashboardUrl: url }]),
      ...['ftp://hearth.acme.com', 'hearth.acme.com', 'https://'].map((url): [string, unknown] => [url, { sites: [SITE], dashboardUrl: url }]),
      ...['https://hooks.bücher.de/in', 'ftp://hooks.acme.com/in'].map((url): [string, unknown] => [url, webhook(url)]),
      ...['ada@acme-.com', 'ada@acme.com', 'ada'].map((to): [string, unknown] => [to, { sites: [{ ...SITE, alerts: { destinations: [{ id: 'sales', type: 'email', to: [to] }] } }], smtp: { host: 'smtp.acme.com', from: 'hearth@acme.com' } }]),
      ...[{}, { min: 250 }, { max: 10 }].map((range): [string, unknown] => [JSON.stringify(range), { sites: [{ ...SITE, rules: { fit: [{ id: 'size', field: 'company_size', range, points: 5 }] } }] }]),
      ...['https://acme.com:0', 'https://acme.com:99999', 'https://acme.com:65535', 'https://acme.com:080', 'http://localhost:*'].map((origin): [string, unknown] => [origin, { sites: [{ ...SITE, origins: [origin] }] }]),
      ...['https://hooks.slack.com/services/T0/B0/x', 'env:SLACK_URL_FOR_TESTS', 'nope'].map((url): [string, unknown] => [`slack ${url}`, { sites: [{ ...SITE, alerts: { destinations: [{ id: 'team', type: 'slack', url }] } }] }]),
      ...['env:SLACK_URL_FOR_TESTS', 'ENV:SLACK_URL_FOR_TESTS', 'env: SLACK_URL_FOR_TESTS'].map((secret): [string, unknown] => [`secret ${secret}`, webhook('https://hooks.acme.com/in', secret)]),
      ...['env:SLACK_URL_FOR_TESTS', 'Env:SLACK_URL_FOR_TESTS'].map((password): [string, unknown] => [`password ${password}`, { sites: [SITE], smtp: { host: 'smtp.acme.com', user: 'hearth', password, from: 'hearth@acme.com' } }]),
      ...[
        { required: ['need', 'budget'] },
        { framework: 'champ', required: ['money'] },
        { required: ['budget', 'budget'] },
        { framework: 'champ', required: ['budget'] },
        { framework: 'meddicc', required: ['budgett'] },
      ].map((qualification): [string, unknown] => [JSON.stringify(qualification), { sites: [{ ...SITE, qualification }] }]),
    ];
    process.env.SLACK_URL_FOR_TESTS = 'https://hooks.slack.com/services/T0/B0/x-and-a-key-long-enough';
    const loads = (config: unknown) => {
      try {
        parseConfig(config, 'hearth.config.json');
        return true;
      } catch {
        return false;
      }
    };
    // Never flagged when Hearth takes it; flagged where the loader refuses what JSON Schema can say.
    for (const [name, config] of cases) if (loads(config)) expect(validate(config), `${name}: the loader takes it`).toBe(true);
    const flagged = cases.filter(([, config]) => !validate(config)).map(([name]) => name);
    expect(flagged).toEqual([
      'ftp://hearth.acme.com',
      'hearth.acme.com',
      'ftp://hooks.acme.com/in',
      'ada',
      '{}',
      'https://acme.com:0',
      'https://acme.com:99999',
      'slack nope',
      'secret ENV:SLACK_URL_FOR_TESTS',
      'secret env: SLACK_URL_FOR_TESTS',
      'password Env:SLACK_URL_FOR_TESTS',
      '{"required":["budget","budget"]}',
      '{"framework":"champ","required":["budget"]}',
      '{"framework":"meddicc","required":["budgett"]}',
    ]);
    for (const name of flagged) expect(loads(cases.find(([given]) => given === name)![1]), name).toBe(false);
    delete process.env.SLACK_URL_FOR_TESTS;
    // Left to Hearth, which names it at its path: a scheme with no host.
    expect(loads({ sites: [SITE], dashboardUrl: 'https://' })).toBe(false);
  });

  it('uses only formats JSON Schema defines, so a validator in its strict mode takes it', () => {
    const formats = JSON.stringify(schema).match(/"format":"[^"]*"/g) ?? [];
    expect(formats).toEqual([]);
    const pattern = new RegExp(site.pageGroups.additionalProperties.items.pattern, 'u');
    expect([pattern.test('/pricing*'), pattern.test('pricing*')]).toEqual([true, false]);
  });
});
