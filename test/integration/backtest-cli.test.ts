import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { leadIdOf } from '../../collector/api/lead-store.ts';
import { defaultRules } from '../../scoring/rules.ts';
import type { BacktestRun } from '../../collector/backtest.ts';
import type { LeadScore } from '../../scoring/compile.ts';
import { freshDataDir } from '../support/data-dir.ts';
import { runHearth, startHearthProcess } from '../support/hearth-process.ts';
import { BROWSER_USER_AGENT } from '../support/server.ts';

const ORIGIN = 'https://www.acme.test';
const PAGE_GROUPS = { product: ['/product*'], pricing: ['/pricing*'] };
const MINUTE = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'hearth-backtest-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(content, null, 2));
  return path;
}

// The site scores with the article's grid (no rules in its config); the candidate doubles the pricing page's points.
const CONFIG = file('hearth.config.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS }] });
const rules = defaultRules(PAGE_GROUPS);
const CANDIDATE = file('candidate.json', {
  ...rules,
  engagement: rules.engagement.map((rule) => (rule.id === 'pricing-page' ? { ...rule, points: 40 } : rule)),
});

const dataDir = freshDataDir();
const started = Date.now();
/** An hour before the recent visits, eleven hours after the old one. */
const SINCE = new Date(started - 60 * MINUTE).toISOString();

interface Visit {
  email: string;
  minutesAgo: number;
  pages: string[];
  form: { name: string; jobTitle: string };
}

// Fit and engagement per the default grid; points decay by minutes only, so each score is its rounded sum.
const VISITS: Visit[] = [
  // Head of Sales 20 + pricing 20 + product 5 = 45 warm; with pricing at 40: 65 hot. Sales made her a prospect.
  { email: 'ada@lovelace.test', minutesAgo: 30, pages: ['/product/', '/pricing/'], form: { name: 'demo-request', jobTitle: 'Head of Sales' } },
  // CEO 30 + pricing 2 × 20 = 70 hot; 110 hot. Disqualified: no budget.
  { email: 'bob@builder.test', minutesAgo: 30, pages: ['/pricing/', '/pricing/'], form: { name: 'demo-request', jobTitle: 'CEO' } },
  // Engineer 0 + pricing 20 = 20 cold; 40 warm. No verdict.
  { email: 'cy@cyber.test', minutesAgo: 30, pages: ['/pricing/'], form: { name: 'contact', jobTitle: 'Engineer' } },
  // Marketing Manager 20 + webinar 15 = 35 warm, pricing-free: unchanged. A prospect.
  { email: 'dee@delta.test', minutesAgo: 30, pages: ['/webinar/'], form: { name: 'webinar-signup', jobTitle: 'Marketing Manager' } },
  // Twelve hours ago, before --since: CTO 30 + pricing 20 = 50 warm; 70 hot.
  { email: 'eve@eden.test', minutesAgo: 12 * 60, pages: ['/pricing/'], form: { name: 'demo-request', jobTitle: 'CTO' } },
];

async function api(url: string, token: string, path: string, body?: unknown) {
  const response = await fetch(`${url}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: (await response.json()) as any };
}

/** Replays the visits through /collect as browsers would, and records sales' verdicts through the API. */
async function seedHistory() {
  const hearth = await startHearthProcess(['--config', CONFIG], { HEARTH_DATA_DIR: dataDir });
  try {
    for (const [n, visit] of VISITS.entries()) {
      const at = started - visit.minutesAgo * MINUTE;
      const events = [
        ...visit.pages.map((path, i) => ({ i: randomUUID(), n: 'v', t: at + i * 1000, u: `${ORIGIN}${path}` })),
        { i: randomUUID(), n: 'f', t: at + 10_000, u: `${ORIGIN}/contact/`, k: visit.form.name, p: { email: visit.email, job_title: visit.form.jobTitle } },
      ];
      const response = await fetch(`${hearth.url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': BROWSER_USER_AGENT },
        body: JSON.stringify({ s: 'acme', v: `visitor-${n}-${randomUUID().slice(0, 8)}`, sid: `session-${n}-0001`, e: events }),
      });
      expect(response.status).toBe(202);
    }
    // Accepted means in the write-ahead log; qualifying a lead needs its events in ClickHouse.
    await vi.waitFor(async () => expect((await api(hearth.url, hearth.token, '/api/leads?site=acme&kind=lead')).body.total).toBe(VISITS.length), { timeout: 15_000, interval: 200 });
    const bant = { budget: true, authority: true, need: true, timing: true };
    for (const [email, change] of [
      ['ada@lovelace.test', { boxes: bant, owner: 'sam' }],
      ['dee@delta.test', { boxes: bant, owner: 'kim' }],
      ['bob@builder.test', { disqualified: true, reason: 'no budget for two years' }],
    ] as const) {
      expect((await api(hearth.url, hearth.token, `/api/leads/${leadIdOf(email)}/qualification?site=acme`, change)).status).toBe(200);
    }
  } finally {
    expect(await hearth.stop()).toBe(0);
  }
}

/** The output's lines with runs of spaces collapsed, so a test reads a table row as words. */
const lines = (text: string) => text.split('\n').map((line) => line.trim().replace(/ {2,}/g, ' '));

describe('hearth backtest', () => {
  beforeAll(seedHistory, 60_000);

  it('compares the candidate with the current rules over the leads seen since --since: temperatures, movements, MQL, movers, precision and recall', async () => {
    const { code, stdout, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', CANDIDATE, '--since', SINCE], { HEARTH_DATA_DIR: dataDir });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out[0]).toBe(`Backtest of ${CANDIDATE} against the current rules of site "acme"`);
    expect(out[1]).toMatch(new RegExp(`^4 identified leads seen since ${SINCE.replace(/[.]/g, '\\.')}, scored as of `));
    expect(out).toContain('Temperatures: warm from 30, hot above 60');
    expect(out).toContain('Rule changes: changes engagement/pricing-page');

    const after = (heading: string, count: number) => out.slice(out.findIndex((line) => line.startsWith(heading)) + 1).slice(0, count);
    expect(after('Leads per temperature', 4)).toEqual(['current candidate change', 'cold 1 0 -1', 'warm 2 2 0', 'hot 1 2 +1']);
    expect(after('Movements', 4)).toEqual(['cold warm hot', 'cold 0 1 0', 'warm 0 1 1', 'hot 0 0 1']);
    expect(out).toContain('Movements (rows: current, columns: candidate): 2 of 4 change temperature, 3 change score');
    // Ada, warm to hot: what applying the rules will send sales.
    expect(out).toContain(
      'Applied, these rules alert nobody at once; the lead they make hot alerts sales ("hot") at its next visit, within the site\'s alerts.maxPerHour (a fifth of it kept for demo requests) and cooldown',
    );
    // Ada (warm, then hot) and Bob (hot) asked for a demo: MQLs under both rule sets; Cy becomes warm only.
    expect(after('MQL volume (hot, or asked for a demo)', 1)).toEqual(['2 → 2 (0): 0 newly MQL, 0 no longer MQL']);

    // Ada and Cy both gain 20: the tie is broken by lead id.
    const tied = [
      `ada@lovelace.test ${leadIdOf('ada@lovelace.test')} 45 warm 65 hot +20`,
      `cy@cyber.test ${leadIdOf('cy@cyber.test')} 20 cold 40 warm +20`,
    ].sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!));
    expect(after('Leads whose score or temperature changes most', 4)).toEqual([
      'lead id current candidate change',
      `bob@builder.test ${leadIdOf('bob@builder.test')} 70 hot 110 hot +40`,
      ...tied,
    ]);

    expect(out).toContain("Known outcomes: 2 prospects, 1 disqualified (sales' verdicts)");
    // Prospects Ada (45 → 65) and Dee (35 → 35); Bob (70 → 110) disqualified.
    expect(after('Known outcomes', 14)).toEqual([
      'picks current precision recall candidate precision recall',
      'score ≥ 10 67% (2/3) 100% (2/2) 67% (2/3) 100% (2/2)',
      'score ≥ 20 67% (2/3) 100% (2/2) 67% (2/3) 100% (2/2)',
      'score ≥ 30 67% (2/3) 100% (2/2) 67% (2/3) 100% (2/2)',
      'score ≥ 40 50% (1/2) 50% (1/2) 50% (1/2) 50% (1/2)',
      'score ≥ 50 0% (0/1) 0% (0/2) 50% (1/2) 50% (1/2)',
      'score ≥ 60 0% (0/1) 0% (0/2) 50% (1/2) 50% (1/2)',
      'score ≥ 70 0% (0/1) 0% (0/2) 0% (0/1) 0% (0/2)',
      'score ≥ 80 — 0% (0/2) 0% (0/1) 0% (0/2)',
      'score ≥ 90 — 0% (0/2) 0% (0/1) 0% (0/2)',
      'score ≥ 100 — 0% (0/2) 0% (0/1) 0% (0/2)',
      // A judged lead scores 110 or more under the candidate rules: the thresholds go that far.
      'score ≥ 110 — 0% (0/2) 0% (0/1) 0% (0/2)',
      'hot 0% (0/1) 0% (0/2) 50% (1/2) 50% (1/2)',
      // Ada asked for a demo: under the current rules, warm, she is an MQL all the same, and "MQL" finds her where
      // "hot" does not; so is Bob, hot and disqualified.
      'MQL 50% (1/2) 50% (1/2) 50% (1/2) 50% (1/2)',
    ]);
  });

  it('prints the whole report as JSON, over all history without --since', async () => {
    const { code, stdout } = await runHearth(['backtest', '--config', CONFIG, '--rules', CANDIDATE, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(0);
    const run = JSON.parse(stdout) as BacktestRun;
    expect(run).toMatchObject({ site: 'acme', rulesFile: CANDIDATE, since: null, thresholds: { current: { warm: 30, hot: 60 }, candidate: { warm: 30, hot: 60 } } });
    // Eve, from twelve hours ago, now counts: 50 warm → 70 hot. She, Ada and Bob asked for a demo: MQLs under both.
    expect(run.report).toMatchObject({
      leads: 5,
      temperatures: { cold: { current: 1, candidate: 0 }, warm: { current: 3, candidate: 2 }, hot: { current: 1, candidate: 3 } },
      mql: { current: 3, candidate: 3, entering: 0, leaving: 0 },
      outcomes: { prospects: 2, disqualified: 1 },
    });
    expect(run.report.topMovers.find((mover) => mover.email === 'eve@eden.test')).toMatchObject({ current: { score: 50, temperature: 'warm' }, candidate: { score: 70, temperature: 'hot' } });
  });

  it('starts a candidate from `hearth rules`: the site\'s rules as it scores with them, which the backtest finds unchanged', async () => {
    const printed = await runHearth(['rules', '--config', CONFIG]);
    expect([printed.code, printed.stderr]).toEqual([0, '']);
    // Every default filled in, but the re-arm mark of "became hot", which follows the hot threshold unless written.
    const { hotRearmBelow: _derived, ...signals } = rules.signals;
    expect(JSON.parse(printed.stdout)).toEqual(JSON.parse(JSON.stringify({ ...rules, signals })));
    const same = file('same.json', JSON.parse(printed.stdout));
    const { code, stdout } = await runHearth(['backtest', '--config', CONFIG, '--rules', same, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(0);
    const run = JSON.parse(stdout) as BacktestRun;
    expect(run.changes).toEqual({ dropped: [], added: [], changed: [], settings: [] });
    expect(run.report).toMatchObject({ leads: 5, moved: 0, rescored: 0, topMovers: [] });
    // Written back as the site's rules, they print the same: nothing is lost on the way.
    const edited = file('edited.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: JSON.parse(printed.stdout) }] });
    expect((await runHearth(['rules', '--config', edited])).stdout).toBe(printed.stdout);
    // A mark the config writes is printed; one it leaves follows the hot threshold it is given.
    const withRules = (extra: object) => file('marked.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: { ...JSON.parse(printed.stdout), ...extra } }] });
    const marked = JSON.parse((await runHearth(['rules', '--config', withRules({ signals: { ...signals, hotRearmBelow: 45 } })])).stdout);
    expect(marked.signals.hotRearmBelow).toBe(45);
    const lower = JSON.parse((await runHearth(['rules', '--config', withRules({ thresholds: { warm: 20, hot: 40 } })])).stdout);
    expect([lower.thresholds, Object.hasOwn(lower.signals, 'hotRearmBelow')]).toEqual([{ warm: 20, hot: 40 }, false]);
  });

  it('names the leads that change temperature when the candidate only moves the thresholds', async () => {
    // Same points, warm from 20 and hot above 40: Ada 45 warm → hot, Cy 20 cold → warm; Bob 70 hot and Dee 35 warm stay.
    const lower = file('lower-thresholds.json', { thresholds: { warm: 20, hot: 40 } });
    const { code, stdout, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', lower, '--since', SINCE], { HEARTH_DATA_DIR: dataDir });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out).toContain('Temperatures: current warm from 30, hot above 60; candidate warm from 20, hot above 40');
    expect(out).toContain('Movements (rows: current, columns: candidate): 2 of 4 change temperature, 0 change score');
    const after = (heading: string, count: number) => out.slice(out.findIndex((line) => line.startsWith(heading)) + 1).slice(0, count);
    // Ada turns hot, but she asked for a demo: an MQL already.
    expect(after('MQL volume (hot, or asked for a demo)', 1)).toEqual(['2 → 2 (0): 0 newly MQL, 0 no longer MQL']);
    // Both change by 0 and both change temperature: by lead id.
    const moving = [`ada@lovelace.test ${leadIdOf('ada@lovelace.test')} 45 warm 45 hot 0`, `cy@cyber.test ${leadIdOf('cy@cyber.test')} 20 cold 20 warm 0`];
    expect(after('Leads whose score or temperature changes most', 4)).toEqual([
      'lead id current candidate change',
      ...moving.sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!)),
      '',
    ]);
    // Hot: Bob (disqualified) under the current rules; Ada (prospect) and Bob under the candidate's.
    expect(out).toContain('hot 0% (0/1) 0% (0/2) 50% (1/2) 50% (1/2)');

    const json = await runHearth(['backtest', '--config', CONFIG, '--rules', lower, '--since', SINCE, '--json'], { HEARTH_DATA_DIR: dataDir });
    const run = JSON.parse(json.stdout) as BacktestRun;
    expect(run.thresholds.candidate).toEqual({ warm: 20, hot: 40 });
    expect(run.report.topMovers.map((mover) => [mover.email, mover.current?.temperature, mover.candidate?.temperature, mover.change]).sort()).toEqual([
      ['ada@lovelace.test', 'warm', 'hot', 0],
      ['cy@cyber.test', 'cold', 'warm', 0],
    ]);
  });

  it('scores the candidate over page groups of its own, where the file gives them, and names the groups it changes', async () => {
    // Pricing pages narrowed to none of the visited ones: Ada 45 → 25, Bob 70 → 30, Cy 20 → 0; Dee unchanged.
    const narrower = file('narrower-pricing.json', { pageGroups: { ...PAGE_GROUPS, pricing: ['/pricing/enterprise*'] } });
    const { code, stdout, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', narrower, '--since', SINCE, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect([code, stderr]).toEqual([0, '']);
    const run = JSON.parse(stdout) as BacktestRun;
    expect(run.changes).toEqual({ dropped: [], added: [], changed: [], settings: ['pageGroups.pricing'] });
    expect(run.report.topMovers.map((mover) => [mover.email, mover.current?.score, mover.candidate?.score]).sort()).toEqual([
      ['ada@lovelace.test', 45, 25],
      ['bob@builder.test', 70, 30],
      ['cy@cyber.test', 20, 0],
    ]);
    const text = await runHearth(['backtest', '--config', CONFIG, '--rules', narrower, '--since', SINCE], { HEARTH_DATA_DIR: dataDir });
    expect(lines(text.stdout)).toContain('Rule changes: changes the settings pageGroups.pricing');
    // A page group the file writes wrong is named at its path; a rule on a group the file's groups lack too.
    const bad = file('bad-groups.json', { pageGroups: { product: [], pricing: ['pricing*'] } });
    const refused = await runHearth(['backtest', '--config', CONFIG, '--rules', bad], { HEARTH_DATA_DIR: dataDir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${bad}: pageGroups.product: list at least one path pattern, e.g. "/pricing*"`);
    expect(refused.stderr).toContain(`${bad}: pageGroups.pricing[0]: a path pattern starts with "/", e.g. "/pricing*"`);
    // Page groups that are no object are named at pageGroups itself.
    const nullGroups = file('null-groups.json', { pageGroups: null });
    const refusedNull = await runHearth(['backtest', '--config', CONFIG, '--rules', nullGroups], { HEARTH_DATA_DIR: dataDir });
    expect([refusedNull.code, refusedNull.stderr]).toEqual([2, `hearth: invalid rules in ${nullGroups}:\n  ${nullGroups}: pageGroups: expected an object { … }, not null\n`]);
    // A file that is no object is refused as one, not read as an empty candidate.
    const list = file('a-list.json', []);
    const notObject = await runHearth(['backtest', '--config', CONFIG, '--rules', list], { HEARTH_DATA_DIR: dataDir });
    expect([notObject.code, notObject.stderr]).toEqual([2, `hearth: invalid rules in ${list}:\n  ${list}: (root): expected an object { … }, not a list\n`]);
    // The grid's lists the site keeps read the file's groups, as they would in the config: without a pricing group,
    // the pricing page is found by the grid's paths (the same pages here), and the funnel has no pricing stage.
    const lacking = file('lacking-group.json', { pageGroups: { product: ['/product*'] } });
    const byPaths = await runHearth(['backtest', '--config', CONFIG, '--rules', lacking, '--since', SINCE, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect([byPaths.code, byPaths.stderr]).toEqual([0, '']);
    const paths = JSON.parse(byPaths.stdout) as BacktestRun;
    expect(paths.changes).toEqual({ dropped: [], added: [], changed: ['engagement/pricing-page'], settings: ['funnel.pricing', 'pageGroups.pricing'] });
    expect(paths.report.topMovers).toEqual([]);
    // A list the site's config writes is kept as written: its rule on the group the file's groups lack is named.
    const ownLists = file('hearth.own-lists.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: { engagement: [{ id: 'any-pricing', event: 'pageview', pageGroup: 'pricing', points: 10 }] } }] });
    const unknown = await runHearth(['backtest', '--config', ownLists, '--rules', lacking], { HEARTH_DATA_DIR: dataDir });
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      `hearth: invalid rules in ${lacking} for site "acme":\n  ${lacking}: engagement[0].pageGroup: the file's pageGroups have no group "pricing" (they have: product); engagement is the site's current one, kept: give the file its own engagement, or that group in its pageGroups\n`,
    ]);
    // A value kept from the site's rules inside a section the file gives in part is named as far as the file leaves it out.
    const ownPlans = file('hearth.own-plans.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: { ...PAGE_GROUPS, plans: ['/plans*'] }, rules: { signals: { pricingPageGroup: 'plans' } } }] });
    const someSignals = file('some-signals.json', { pageGroups: PAGE_GROUPS, signals: { weakVisits: 3 } });
    const unknownPlans = await runHearth(['backtest', '--config', ownPlans, '--rules', someSignals], { HEARTH_DATA_DIR: dataDir });
    expect([unknownPlans.code, unknownPlans.stderr]).toEqual([
      2,
      `hearth: invalid rules in ${someSignals} for site "acme":\n  ${someSignals}: signals.pricingPageGroup: the file's pageGroups have no group "plans" (they have: product, pricing); signals.pricingPageGroup is the site's current one, kept: give the file its own signals.pricingPageGroup, or that group in its pageGroups\n`,
    ]);
  });

  it("reads the file's page groups with the grid's rules the site keeps, where its config names no such group", async () => {
    // The site finds its pricing pages by the grid's paths; the candidate names a narrower pricing group, which the
    // grid's pricing rule then reads, as it would in the config: Ada 45 → 25, Bob 70 → 30, Cy 20 → 0.
    const config = file('hearth.no-pricing-group.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: { product: ['/product*'] } }] });
    const narrower = file('pricing-group.json', { pageGroups: { product: ['/product*'], pricing: ['/pricing/enterprise*'] } });
    const { code, stdout, stderr } = await runHearth(['backtest', '--config', config, '--rules', narrower, '--since', SINCE, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect([code, stderr]).toEqual([0, '']);
    const run = JSON.parse(stdout) as BacktestRun;
    expect(run.changes).toEqual({ dropped: [], added: [], changed: ['engagement/pricing-page'], settings: ['funnel.pricing', 'pageGroups.pricing'] });
    expect(run.report.topMovers.map((mover) => [mover.email, mover.current?.score, mover.candidate?.score]).sort()).toEqual([
      ['ada@lovelace.test', 45, 25],
      ['bob@builder.test', 70, 30],
      ['cy@cyber.test', 20, 0],
    ]);
  });

  it('names the leads that enter or leave the MQLs at the same score, and says when a list is cut', async () => {
    // Quotes, not demos, are the requests that make an MQL: Ada and Eve, warm, asked for a demo; Bob is hot.
    const quotes = file('quotes.json', { signals: { requestForms: ['*quote*'] } });
    const { code, stdout } = await runHearth(['backtest', '--config', CONFIG, '--rules', quotes, '--limit', '1'], { HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out).toContain('3 → 1 (-2): 0 newly MQL, 2 no longer MQL');
    expect(out).toContain('no longer MQL: ada@lovelace.test and 1 more (--limit N)');
    const json = JSON.parse((await runHearth(['backtest', '--config', CONFIG, '--rules', quotes, '--json'], { HEARTH_DATA_DIR: dataDir })).stdout) as BacktestRun;
    expect(json.report.mql).toMatchObject({ entering: 0, leaving: 2, newlyMql: [], noLongerMql: [{ email: 'ada@lovelace.test' }, { email: 'eve@eden.test' }] });
    // Thresholds that move every lead: one shown, and the count of the others.
    const moving = await runHearth(['backtest', '--config', CONFIG, '--rules', file('low-marks.json', { thresholds: { warm: 1, hot: 2 } }), '--limit', '1'], { HEARTH_DATA_DIR: dataDir });
    expect(lines(moving.stdout)).toContain('the 1 of 4 that change most shown (--limit N for more)');
  });

  it("fills what the candidate leaves out from the site's current rules, not from the grid", async () => {
    // The same history, read by a config whose site has rules of its own: a fit rule and engagement rules the grid
    // lacks, thresholds of its own (negative, source and funnel left out: the grid's, as the config loader fills them).
    const custom = {
      fit: [{ id: 'engineer', field: 'job_title', values: ['Engineer'], points: 25 }],
      engagement: [
        { id: 'any-pricing', event: 'pageview', pageGroup: 'pricing', points: 10 },
        { id: 'webinar-form', event: 'form', forms: ['*webinar*'], points: 30 },
      ],
      thresholds: { warm: 25, hot: 50 },
    };
    const config = file('hearth.custom.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: custom }] });
    const run = async (rules: string) => {
      const { code, stdout, stderr } = await runHearth(['backtest', '--config', config, '--rules', rules, '--since', SINCE, '--json'], { HEARTH_DATA_DIR: dataDir });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      return JSON.parse(stdout) as BacktestRun;
    };
    const moves = (result: BacktestRun) => result.report.topMovers.map((m) => [m.email, m.current?.score, m.current?.temperature, m.candidate?.score, m.candidate?.temperature]).sort();

    // Only thresholds: Ada 10 cold, Bob 20 cold → warm, Cy 35 warm → hot, Dee 30 warm. No score changes.
    const thresholds = file('custom-thresholds.json', { thresholds: { warm: 15, hot: 32 } });
    const moved = await run(thresholds);
    expect(moved.rulesFile).toBe(thresholds);
    expect(moved.thresholds).toEqual({ current: { warm: 25, hot: 50 }, candidate: { warm: 15, hot: 32 } });
    expect(moved.report).toMatchObject({ leads: 4, moved: 2, rescored: 0 });
    // The re-arm mark the site leaves to its default follows the hot threshold (10 below it).
    expect(moved.changes).toEqual({ dropped: [], added: [], changed: [], settings: ['thresholds.warm', 'thresholds.hot', 'signals.hotRearmBelow'] });
    expect(moves(moved)).toEqual([
      ['bob@builder.test', 20, 'cold', 20, 'warm'],
      ['cy@cyber.test', 35, 'warm', 35, 'hot'],
    ]);
    const text = await runHearth(['backtest', '--config', config, '--rules', thresholds, '--since', SINCE], { HEARTH_DATA_DIR: dataDir });
    expect(lines(text.stdout)[0]).toBe(`Backtest of ${thresholds} against the current rules of site "acme"`);
    expect(lines(text.stdout)).toContain('Movements (rows: current, columns: candidate): 2 of 4 change temperature, 0 change score');

    // An empty file, or the site's rules as its config writes them: the current rules, nothing moves.
    for (const same of [file('custom-empty.json', {}), file('custom-same.json', custom)]) {
      const unchanged = await run(same);
      expect(unchanged.report).toMatchObject({ leads: 4, moved: 0, rescored: 0, topMovers: [] });
      expect(unchanged.changes).toEqual({ dropped: [], added: [], changed: [], settings: [] });
    }

    // One list given replaces that list alone: the engineer's fit points and the site's thresholds stay, the
    // webinar form gives nothing. Ada 10 → 30 warm, Bob 20 → 60 hot, Cy 35 → 55 hot, Dee 30 warm → 0 cold.
    const engagement = file('custom-engagement.json', { engagement: [{ id: 'any-pricing', event: 'pageview', pageGroup: 'pricing', points: 30 }] });
    const replaced = await run(engagement);
    expect(replaced.thresholds.candidate).toEqual({ warm: 25, hot: 50 });
    // The webinar form's rule, left out of the list the file gives, is named as dropped.
    expect(replaced.changes).toEqual({ dropped: ['engagement/webinar-form'], added: [], changed: ['engagement/any-pricing'], settings: [] });
    expect(moves(replaced)).toEqual([
      ['ada@lovelace.test', 10, 'cold', 30, 'warm'],
      ['bob@builder.test', 20, 'cold', 60, 'hot'],
      ['cy@cyber.test', 35, 'warm', 55, 'hot'],
      ['dee@delta.test', 30, 'warm', 0, 'cold'],
    ]);
  });

  it('names the rules file and the path of each bad value, and exits 2', async () => {
    const bad = file('bad-rules.json', {
      ...rules,
      engagement: rules.engagement.map((rule, i) => (i === 2 ? { ...rule, points: -15 } : rule)),
      thresholds: { warm: 70, hot: 60 },
    });
    const { code, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', bad], { HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(2);
    expect(stderr).toContain(`${bad}: engagement[2].points: engagement points are positive; use a negative rule to take points away (got -15)`);
    expect(stderr).toContain(`${bad}: thresholds: warm must not be above hot`);

    // Every unknown page group is named, not the first alone.
    const unknownGroup = file('unknown-group.json', { engagement: [{ id: 'blog', event: 'pageview', pageGroup: 'blog', points: 5 }], signals: { pricingPageGroup: 'prices' } });
    const group = await runHearth(['backtest', '--config', CONFIG, '--rules', unknownGroup], { HEARTH_DATA_DIR: dataDir });
    expect(group.code).toBe(2);
    expect(group.stderr).toContain(`${unknownGroup}: engagement[0].pageGroup: the site has no page group "blog" (it has: product, pricing)`);
    expect(group.stderr).toContain(`${unknownGroup}: signals.pricingPageGroup: the site has no page group "prices" (it has: product, pricing)`);

    // A path pattern that starts with neither "/" nor "*" matches no page, as in the config's page groups.
    const noSlash = file('no-slash.json', { engagement: [{ id: 'pricing-views', event: 'pageview', paths: ['/pricing*', 'tarifs*'], points: 5 }] });
    const slash = await runHearth(['backtest', '--config', CONFIG, '--rules', noSlash], { HEARTH_DATA_DIR: dataDir });
    expect(slash.code).toBe(2);
    expect(slash.stderr).toContain(`${noSlash}: engagement[0].paths[1]: a path pattern starts with "/" or "*", e.g. "/pricing*" (got "tarifs*")`);

    // A pattern ClickHouse's RE2 cannot run, or a misspelt pricing group, is refused before any query, without a stack.
    const unrunnable = file('unrunnable.json', { fit: [{ id: 'not-intern', field: 'job_title', pattern: '^(?!intern)', points: 5 }] });
    const refused = await runHearth(['backtest', '--config', CONFIG, '--rules', unrunnable], { HEARTH_DATA_DIR: dataDir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${unrunnable}: fit[0].pattern: not a regular expression RE2 accepts (invalid or unsupported Perl syntax: \`(?!\`)`);
    expect(refused.stderr).not.toContain('    at ');
    const misspelt = file('misspelt.json', { signals: { pricingPageGroup: 'pricng' } });
    const fallback = await runHearth(['backtest', '--config', CONFIG, '--rules', misspelt], { HEARTH_DATA_DIR: dataDir });
    expect(fallback.code).toBe(2);
    expect(fallback.stderr).toBe(`hearth: invalid rules in ${misspelt} for site "acme":\n  ${misspelt}: signals.pricingPageGroup: the site has no page group "pricng" (it has: product, pricing)\n`);
  });

  it("names the config as where a value the candidate keeps from the site's current rules comes from", async () => {
    // The site's re-arm mark, 45, is the candidate's too (it gives none), and its hot threshold of 40 is below it.
    const config = file('hearth.rearm.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: { signals: { hotRearmBelow: 45 } } }] });
    const hot40 = file('hot40.json', { thresholds: { hot: 40 } });
    const { code, stderr } = await runHearth(['backtest', '--config', config, '--rules', hot40], { HEARTH_DATA_DIR: dataDir });
    expect(code).toBe(2);
    expect(stderr).toBe(
      `hearth: invalid rules in ${hot40}:\n  ${hot40}: thresholds.hot: the candidate's hot threshold (40) is below the re-arm mark it keeps from the site's current rules ` +
        `(${config}: sites[0].rules.signals.hotRearmBelow is 45); give the candidate a signals.hotRearmBelow of its own, at most 40\n`,
    );
    // Also when the config writes the mark at the value its hot threshold would derive (50 for 60): it is written.
    const written50 = file('hearth.rearm50.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: { signals: { hotRearmBelow: 50 } } }] });
    const hot45 = file('hot45.json', { thresholds: { hot: 45 } });
    const kept = await runHearth(['backtest', '--config', written50, '--rules', hot45], { HEARTH_DATA_DIR: dataDir });
    expect([kept.code, kept.stderr]).toEqual([
      2,
      `hearth: invalid rules in ${hot45}:\n  ${hot45}: thresholds.hot: the candidate's hot threshold (45) is below the re-arm mark it keeps from the site's current rules ` +
        `(${written50}: sites[0].rules.signals.hotRearmBelow is 50); give the candidate a signals.hotRearmBelow of its own, at most 45\n`,
    ]);
    // So is the warm threshold of a file that gives only a hot one below it (the site's own warm, not the grid's).
    const warmConfig = file('hearth.warm10.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: { thresholds: { warm: 10, hot: 35 } } }] });
    const hot5 = file('hot5.json', { thresholds: { hot: 5 } });
    const clash = await runHearth(['backtest', '--config', warmConfig, '--rules', hot5], { HEARTH_DATA_DIR: dataDir });
    expect(clash.stderr).toBe(
      `hearth: invalid rules in ${hot5}:\n  ${hot5}: thresholds.hot: the candidate's hot threshold (5) is below the warm threshold it keeps from the site's current rules ` +
        `(${warmConfig}: sites[0].rules.thresholds.warm is 10); give the candidate a thresholds.warm of its own\n`,
    );
    // A site with no rules in its config keeps the grid's: no path of the config holds the value.
    const warm70 = file('warm70.json', { thresholds: { warm: 70 } });
    const grid = await runHearth(['backtest', '--config', CONFIG, '--rules', warm70], { HEARTH_DATA_DIR: dataDir });
    expect(grid.stderr).toBe(
      `hearth: invalid rules in ${warm70}:\n  ${warm70}: thresholds.warm: the candidate's warm threshold (70) is above the hot threshold it keeps from the site's current rules ` +
        `(thresholds.hot is 60, the grid's: ${CONFIG} gives site "acme" no rules); give the candidate a thresholds.hot of its own\n`,
    );
    // A site whose rules give no hot threshold keeps the default one: no path of the config holds it either.
    const defaultHot = await runHearth(['backtest', '--config', config, '--rules', warm70], { HEARTH_DATA_DIR: dataDir });
    expect(defaultHot.stderr).toBe(
      `hearth: invalid rules in ${warm70}:\n  ${warm70}: thresholds.warm: the candidate's warm threshold (70) is above the hot threshold it keeps from the site's current rules ` +
        `(thresholds.hot is 60, the default: ${config}: sites[0].rules gives none); give the candidate a thresholds.hot of its own\n`,
    );
    // Given in the file, the mark is the file's own mistake, at its own path.
    const both = file('hot40-rearm50.json', { thresholds: { hot: 40 }, signals: { hotRearmBelow: 50 } });
    const own = await runHearth(['backtest', '--config', config, '--rules', both], { HEARTH_DATA_DIR: dataDir });
    expect(own.stderr).toBe(`hearth: invalid rules in ${both}:\n  ${both}: signals.hotRearmBelow: the re-arm mark must not be above the hot threshold (40)\n`);
    // Given alone, the mark is checked against the hot threshold the candidate keeps: the config's, named.
    const hot50Config = file('hearth.hot50.json', { sites: [{ id: 'acme', origins: [ORIGIN], pageGroups: PAGE_GROUPS, rules: { thresholds: { hot: 50 } } }] });
    const rearm55 = file('rearm55.json', { signals: { hotRearmBelow: 55 } });
    const mark = await runHearth(['backtest', '--config', hot50Config, '--rules', rearm55], { HEARTH_DATA_DIR: dataDir });
    expect([mark.code, mark.stderr]).toEqual([
      2,
      `hearth: invalid rules in ${rearm55}:\n  ${rearm55}: signals.hotRearmBelow: the candidate's re-arm mark (55) is above the hot threshold it keeps from the site's current rules ` +
        `(${hot50Config}: sites[0].rules.thresholds.hot is 50); give the candidate a mark of at most 50, or a thresholds.hot of its own\n`,
    ]);
  });

  it('checks the rules file before it opens the store, so a bad file is named while `hearth start` holds it', async () => {
    const held = freshDataDir();
    const hearth = await startHearthProcess(['--config', CONFIG], { HEARTH_DATA_DIR: held });
    try {
      const bad = file('bad-while-held.json', { thresholds: { warm: 70, hot: 60 } });
      const { code, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', bad], { HEARTH_DATA_DIR: held });
      expect(code).toBe(2);
      expect(stderr).toBe(`hearth: invalid rules in ${bad}:\n  ${bad}: thresholds: warm must not be above hot (warm is 70, hot 60; by default warm is 30 and hot 60)\n`);
    } finally {
      expect(await hearth.stop()).toBe(0);
    }
  });

  it('asks for --rules and a date it can read', async () => {
    const missing = await runHearth(['backtest', '--config', CONFIG], { HEARTH_DATA_DIR: dataDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('backtest needs --rules FILE');
    const badDate = await runHearth(['backtest', '--config', CONFIG, '--rules', CANDIDATE, '--since', 'last week'], { HEARTH_DATA_DIR: dataDir });
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('--since expects a date such as 2026-03-01 or 2026-03-01T09:00:00Z, got "last week"');
  });
});

describe('hearth backtest of a candidate that counts automated browsers', () => {
  it("counts the leads only one rule set scores in every figure, so that they add up, and prints each address whole", async () => {
    const dataDir = freshDataDir();
    const hearth = await startHearthProcess(['--config', CONFIG], { HEARTH_DATA_DIR: dataDir });
    // Two automated browsers (the snippet flags them: "b") and one person, who asked for a demo: Head of Sales 20 +
    // pricing 20 + product 5 = 45 warm, an MQL. The site's rules leave the bots out; the candidate counts them:
    // CEO 30 + pricing 2 × 20 = 70 hot (an MQL), and Engineer 0 + webinar 15 = 15 cold.
    const visits = [
      { bot: true, email: 'hugo.lovelace.1147@massivedynamic.example.com', pages: ['/pricing/', '/pricing/'], form: 'contact', jobTitle: 'CEO' },
      { bot: true, email: 'crawler@bots.test', pages: ['/webinar/'], form: 'webinar-signup', jobTitle: 'Engineer' },
      { bot: false, email: 'ada@lovelace.test', pages: ['/product/', '/pricing/'], form: 'demo-request', jobTitle: 'Head of Sales' },
    ];
    try {
      const at = Date.now() - 30 * MINUTE;
      for (const [n, visit] of visits.entries()) {
        const events = [
          ...visit.pages.map((path, i) => ({ i: randomUUID(), n: 'v', t: at + i * 1000, u: `${ORIGIN}${path}` })),
          { i: randomUUID(), n: 'f', t: at + 10_000, u: `${ORIGIN}/contact/`, k: visit.form, p: { email: visit.email, job_title: visit.jobTitle } },
        ];
        const response = await fetch(`${hearth.url}/collect`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': BROWSER_USER_AGENT },
          body: JSON.stringify({ s: 'acme', v: `visitor-${n}-${randomUUID().slice(0, 8)}`, sid: `session-${n}-0001`, ...(visit.bot ? { b: true } : {}), e: events }),
        });
        expect(response.status).toBe(202);
      }
      // The person, sent last, is listed once the events are in ClickHouse (the bots are not: the site leaves them out).
      const leads = async () => (await (await fetch(`${hearth.url}/api/leads?site=acme&kind=lead`, { headers: { authorization: `Bearer ${hearth.token}` } })).json()) as { total: number };
      await vi.waitFor(async () => expect((await leads()).total).toBe(1), { timeout: 15_000, interval: 200 });
    } finally {
      expect(await hearth.stop()).toBe(0);
    }

    const countBots = file('count-bots.json', { countBots: true });
    const { code, stdout, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', countBots], { HEARTH_DATA_DIR: dataDir });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = lines(stdout);
    const after = (heading: string, count: number) => out.slice(out.findIndex((line) => line.startsWith(heading)) + 1).slice(0, count);
    expect(out[1]).toMatch(/^3 identified leads, scored as of /);
    expect(out[2]).toMatch(/^\(0 of them scored by the current rules only, 2 by the candidate only: countBots differs;$/);
    // Each column adds up to the 3 leads.
    expect(after('Leads per temperature', 5)).toEqual(['current candidate change', 'cold 0 1 +1', 'warm 1 1 0', 'hot 0 1 +1', 'not scored 2 0 -2']);
    expect(out).toContain('Movements (rows: current, columns: candidate): 2 of 3 change temperature, 2 change score');
    // The hot bot is newly an MQL: 1 + 1 - 0 = 2.
    expect(after('MQL volume (hot, or asked for a demo)', 1)).toEqual(['1 → 2 (+1): 1 newly MQL, 0 no longer MQL']);
    // The address whole, as `hearth score` prints it: cut, it would read as another ("…@massivedynamic.exampl").
    expect(after('Leads whose score or temperature changes most', 3)).toEqual([
      'lead id current candidate change',
      `hugo.lovelace.1147@massivedynamic.example.com ${leadIdOf('hugo.lovelace.1147@massivedynamic.example.com')} not scored 70 hot +70`,
      `crawler@bots.test ${leadIdOf('crawler@bots.test')} not scored 15 cold +15`,
    ]);
  }, 60_000);
});

/** The site's own rules (the grid), as a file: the backtest must find what the stored scores show. */
const SAME = file('same.json', rules);

describe('hearth backtest, events from a clock running ahead', () => {
  it('scores the leads the stored scores show, events a few minutes ahead of the clock included', async () => {
    const dataDir = freshDataDir();
    const hearth = await startHearthProcess(['--config', CONFIG], { HEARTH_DATA_DIR: dataDir });
    try {
      // A laptop whose clock runs two minutes fast: the collector keeps those times (up to five minutes ahead).
      const at = Date.now() + 2 * MINUTE;
      const response = await fetch(`${hearth.url}/collect`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: ORIGIN, 'user-agent': BROWSER_USER_AGENT },
        body: JSON.stringify({
          s: 'acme',
          v: `visitor-${randomUUID().slice(0, 8)}`,
          sid: 'session-ahead-0001',
          e: [
            { i: randomUUID(), n: 'v', t: at, u: `${ORIGIN}/product/` },
            { i: randomUUID(), n: 'v', t: at + 1000, u: `${ORIGIN}/pricing/` },
            { i: randomUUID(), n: 'f', t: at + 10_000, u: `${ORIGIN}/contact/`, k: 'demo-request', p: { email: 'ada@lovelace.test', job_title: 'Head of Sales' } },
          ],
        }),
      });
      expect(response.status).toBe(202);
      const leads = async () => (await (await fetch(`${hearth.url}/api/leads?site=acme&kind=lead`, { headers: { authorization: `Bearer ${hearth.token}` } })).json()) as { total: number };
      await vi.waitFor(async () => expect((await leads()).total).toBe(1), { timeout: 15_000, interval: 200 });
    } finally {
      expect(await hearth.stop()).toBe(0);
    }

    // Head of Sales 20 + pricing 20 + product 5: 45, warm, in the stored scores lists and dashboards read.
    const score = await runHearth(['score', '--config', CONFIG, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect(score.code, score.stderr).toBe(0);
    const stored = (JSON.parse(score.stdout) as { leads: LeadScore[] }).leads.filter((lead) => lead.kind === 'lead');
    expect(stored.map((lead) => [lead.email, lead.score, lead.temperature])).toEqual([['ada@lovelace.test', 45, 'warm']]);

    // The same rules over the same history: the same lead, the same score, nothing moves.
    const { code, stdout, stderr } = await runHearth(['backtest', '--config', CONFIG, '--rules', SAME, '--json'], { HEARTH_DATA_DIR: dataDir });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const run = JSON.parse(stdout) as BacktestRun;
    expect(run.report).toMatchObject({
      leads: 1,
      temperatures: { cold: { current: 0, candidate: 0 }, warm: { current: 1, candidate: 1 }, hot: { current: 0, candidate: 0 } },
      moved: 0,
      rescored: 0,
      topMovers: [],
    });
  }, 60_000);
});
