import { resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { backtest, ruleChanges, rulesSince, STANDINGS, TEMPERATURES, type BacktestReport, type MqlChange, type Outcome, type Prediction, type RuleChanges, type ScoreSide, type Standing } from '../scoring/backtest.ts';
import { compileScoring } from '../scoring/compile.ts';
import { judgeQualification } from '../scoring/qualification.ts';
import { isRecord, overCurrentRules, rulesSchema, unknownPageGroups, withGridListsOver, type PageGroupProblem, type PageGroups, type Rules } from '../scoring/rules.ts';
import { scoreLeads } from '../scoring/store.ts';
import { currentQualifications } from './api/lead-store.ts';
import { rulesOf } from './api/scores.ts';
import { formatPath, toProblems, type Problem } from './config/issues.ts';
import { ConfigError, readJsonFile } from './config/load.ts';
import { pageGroupsSchema, type SiteConfig } from './config/schema.ts';
import { MAX_FUTURE_MS } from './ingest/rows.ts';

/**
 * `hearth backtest`: a rules file (the shape of a site's `rules` in the config) scored over the site's history
 * next to the site's current rules. The comparison itself is scoring/backtest.ts; this reads the file, runs both
 * scorings and sales' verdicts from the store, and prints the report.
 */

/** Where the site's current rules are written: the config file, and the site's rules in it (`sites[0].rules`). */
export interface RulesInConfig {
  file: string;
  path: string;
  /** The site's rules as the file writes them (before defaults), to tell a value it gives from a default it leaves. */
  written?: unknown;
}

/** Whether a site's rules as written (RulesInConfig.written) give a setting (`section.name`), rather than leave it to its default. */
export const writes = (written: unknown, key: string) => {
  const [section, name] = key.split('.') as [string, string];
  return isRecord(written) && isRecord(written[section]) && Object.hasOwn(written[section], name);
};

/**
 * Reads and validates a rules file; a bad value is reported with the file and its path (`candidate.json:
 * engagement[2].points: …`). What the file leaves out is the site's current rules (those the "current" side scores
 * with, the grid's lists where the config leaves them out), not the grid: a file with only thresholds moves
 * temperatures alone.
 */
export function loadRulesFile(file: string, site: SiteConfig, config: RulesInConfig): Candidate {
  const { path, raw: written } = readJsonFile(file, 'rules');
  // The file may give page groups of its own (narrower product pages, say): the candidate's rules read them, where
  // the site's stay the current rules'. They are no rules setting: taken out before the rules are read (a file that
  // is no object is left as it is, for the schema to refuse).
  const { pageGroups: givenGroups, ...rulesWritten } = isRecord(written) ? written : {};
  const raw = isRecord(written) ? rulesWritten : written;
  let pageGroups = site.pageGroups;
  if (givenGroups !== undefined) {
    // Read under its key, so each problem has its path within the file: pageGroups, pageGroups.pricing[0].
    const groups = z.object({ pageGroups: pageGroupsSchema }).safeParse({ pageGroups: givenGroups }, { reportInput: true });
    if (!groups.success) throw new ConfigError(`invalid rules in ${path}:\n${toProblems(groups.error).map((problem) => `  ${path}: ${problem.path}: ${problem.message}`).join('\n')}`);
    pageGroups = groups.data.pageGroups;
  }
  const current = rulesOf(site);
  // The grid's lists the site keeps (all of them when its config gives no rules) read the file's page groups.
  const ownList = (list: string) => site.rules !== undefined && (!('written' in config) || (isRecord(config.written) && Object.hasOwn(config.written, list)));
  const base = givenGroups === undefined ? current : withGridListsOver(current, ownList, pageGroups);
  // Unknown (no config file read): a mark at the value the hot threshold derives is taken for derived.
  const merged = overCurrentRules(raw, base, 'written' in config ? writes(config.written, 'signals.hotRearmBelow') : undefined);
  const parsed = rulesSchema.safeParse(merged, { reportInput: true });
  if (!parsed.success) {
    // A re-arm mark the file leaves out is the site's, from the config: its path is not in the file, and what the
    // file changed is the hot threshold it is checked against.
    const givesMark = isRecord(raw) && isRecord(raw.signals) && Object.hasOwn(raw.signals, 'hotRearmBelow');
    const hot = isRecord(merged) && isRecord(merged.thresholds) ? merged.thresholds.hot : undefined;
    // Likewise a warm or hot threshold the file leaves out is the site's, which the one it gives clashes with.
    const given = isRecord(raw) && isRecord(raw.thresholds) ? raw.thresholds : {};
    const [gave, kept] = Object.hasOwn(given, 'hot') ? (['hot', 'warm'] as const) : (['warm', 'hot'] as const);
    const keptThreshold = !Object.hasOwn(given, kept) && Object.hasOwn(given, gave);
    // Where the kept value comes from: the site's rules in the config, or the grid's when the config gives none.
    const keptValue = (key: string, value: number) => {
      if (!site.rules) return `${key} is ${value}, the grid's: ${config.file} gives site "${site.id}" no rules`;
      return writes(config.written, key) ? `${config.file}: ${config.path}.${key} is ${value}` : `${key} is ${value}, the default: ${config.file}: ${config.path} gives none`;
    };
    const explain = (problem: Problem) => {
      if (problem.path === 'signals.hotRearmBelow' && !givesMark) {
        return (
          `thresholds.hot: the candidate's hot threshold (${hot}) is below the re-arm mark it keeps from the site's current rules ` +
          `(${keptValue('signals.hotRearmBelow', current.signals.hotRearmBelow)}); give the candidate a signals.hotRearmBelow of its own, at most ${hot}`
        );
      }
      if (problem.path === 'signals.hotRearmBelow' && !Object.hasOwn(given, 'hot')) {
        return (
          `signals.hotRearmBelow: the candidate's re-arm mark (${String((raw as { signals: Record<string, unknown> }).signals.hotRearmBelow)}) is above the hot threshold it keeps from the site's current rules ` +
          `(${keptValue('thresholds.hot', current.thresholds.hot)}); give the candidate a mark of at most ${current.thresholds.hot}, or a thresholds.hot of its own`
        );
      }
      if (problem.path === 'thresholds' && keptThreshold) {
        return (
          `thresholds.${gave}: the candidate's ${gave} threshold (${String(given[gave])}) is ${gave === 'hot' ? 'below' : 'above'} the ${kept} threshold it keeps from the site's current rules ` +
          `(${keptValue(`thresholds.${kept}`, current.thresholds[kept])}); give the candidate a thresholds.${kept} of its own`
        );
      }
      return `${problem.path}: ${problem.message}`;
    };
    throw new ConfigError(`invalid rules in ${path}:\n${toProblems(parsed.error).map((problem) => `  ${path}: ${explain(problem)}`).join('\n')}`);
  }
  const rules = parsed.data;
  // A rule naming a page group the site (or the file's own page groups) lacks is caught here, before any query.
  // With page groups of its own, the file's are those the rules lack; a list the file leaves out is the site's, kept.
  const explain = ({ path: at, message }: PageGroupProblem) => {
    const said = givenGroups === undefined ? message : message.replace(/^the site has no page group (".*") \(it has: (.*)\)$/, "the file's pageGroups have no group $1 (they have: $2)");
    const site = keptFromSite(raw, at);
    const kept = site ? `; ${site} is the site's current one, kept: give the file its own ${site}, or that group in its pageGroups` : '';
    return `${formatPath(at)}: ${said}${kept}`;
  };
  const unknown = unknownPageGroups(rules, pageGroups);
  if (unknown.length > 0) throw new ConfigError(`invalid rules in ${path} for site "${site.id}":\n${unknown.map((problem) => `  ${path}: ${explain(problem)}`).join('\n')}`);
  try {
    compileScoring(rules, { site: site.id, pageGroups });
  } catch (err) {
    throw new ConfigError(`invalid rules in ${path} for site "${site.id}":\n  ${path}: ${(err as Error).message}`);
  }
  return { rules, pageGroups };
}

/**
 * Where a value of the candidate's rules is the site's, kept: the path of the first key the file leaves out on the way
 * to it (`signals` for a file without signals, `signals.pricingPageGroup` for one that gives other signals); none when
 * the file gives it, or gives the list it is in (a list is the file's as a whole).
 */
function keptFromSite(file: unknown, at: readonly PropertyKey[]): string | undefined {
  let value = file;
  for (let depth = 0; depth < at.length && !Array.isArray(value); depth++) {
    if (!isRecord(value) || !Object.hasOwn(value, at[depth]!)) return formatPath(at.slice(0, depth + 1));
    value = value[at[depth] as string];
  }
  return undefined;
}

/** What a backtest scores against the site's current rules: the file's rules, over the file's page groups or the site's. */
export interface Candidate {
  rules: Rules;
  pageGroups: PageGroups;
}

export interface BacktestRun {
  site: string;
  rulesFile: string;
  since: string | null;
  now: string;
  /** Each rule set's temperature thresholds, which the report's "hot" means. */
  thresholds: { current: Rules['thresholds']; candidate: Rules['thresholds'] };
  /** What the candidate changes in the rules: rules dropped, added and changed, and settings changed. */
  changes: RuleChanges;
  report: BacktestReport;
}

export interface BacktestOptions {
  rulesFile: string;
  since?: Date | undefined;
  now?: Date | undefined;
  top?: number | undefined;
}

/** Scores the site's history with its current rules and with the candidate, as of one moment, and compares them. */
export async function backtestSite(client: ClickHouseClient, site: SiteConfig, { rules: candidateRules, pageGroups }: Candidate, options: BacktestOptions): Promise<BacktestRun> {
  const now = options.now ?? new Date();
  const currentRules = rulesOf(site);
  // scoring has no lower time bound of its own: the window, narrowed to start at --since, is one.
  const windowed = (rules: Rules) => (options.since ? rulesSince(rules, options.since, now) : rules);
  // Only identified leads are compared: a large site's anonymous visitors would be most of the rows, twice. Events
  // are counted up to where the collector keeps their times (a client's clock running fast), as the stored scores
  // count them: else a lead who just gave their email from such a browser would be missing from both sides.
  const until = new Date(now.getTime() + MAX_FUTURE_MS);
  const scoring = { site: site.id, pageGroups: site.pageGroups, now, until, identifiedOnly: true };
  const current = await scoreLeads(client, windowed(currentRules), scoring);
  const candidate = await scoreLeads(client, windowed(candidateRules), { ...scoring, pageGroups });
  const outcomes = new Map<string, Outcome>();
  for (const [leadId, state] of await currentQualifications(client, site.id)) {
    const verdict = judgeQualification(state, site.qualification);
    if (verdict.prospect) outcomes.set(leadId, 'prospect');
    else if (verdict.disqualified) outcomes.set(leadId, 'disqualified');
  }
  return {
    site: site.id,
    rulesFile: resolve(options.rulesFile),
    since: options.since?.toISOString() ?? null,
    now: now.toISOString(),
    thresholds: { current: currentRules.thresholds, candidate: candidateRules.thresholds },
    changes: withPageGroupChanges(ruleChanges(currentRules, candidateRules), site.pageGroups, pageGroups),
    report: backtest({ current, candidate, outcomes, since: options.since, top: options.top }),
  };
}

/** The page groups the file changes, adds or drops, named as settings (`pageGroups.product`). */
function withPageGroupChanges(changes: RuleChanges, current: PageGroups, candidate: PageGroups): RuleChanges {
  const names = [...new Set([...Object.keys(current), ...Object.keys(candidate)])].sort();
  const moved = names.filter((name) => JSON.stringify(current[name]) !== JSON.stringify(candidate[name])).map((name) => `pageGroups.${name}`);
  return { ...changes, settings: [...changes.settings, ...moved] };
}

/** A count as the other commands print them, grouped by thousands ("7,647"). */
const count = (n: number) => n.toLocaleString('en-US');
const signed = (n: number) => (n > 0 ? `+${count(n)}` : count(n));
/** A lead's state under a rule set that does not score it (countBots differs). */
const NOT_SCORED = 'not scored';
/** Rule ids named per kind of change in the report's "Rule changes" line. */
const NAMED_CHANGES = 10;
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;
const percent = (part: number, whole: number, ratio: number | null) => (ratio === null ? '—' : `${Math.round(ratio * 100)}% (${count(part)}/${count(whole)})`);

/** The report as a person reads it in a terminal. */
export function formatBacktest(run: BacktestRun): string {
  const { report, thresholds } = run;
  const out: string[] = [];
  // Labels (the first `left` columns) align left, figures right.
  const table = (rows: string[][], widths: number[], left = 1) => {
    for (const row of rows) out.push('  ' + row.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd());
  };

  out.push(`Backtest of ${run.rulesFile} against the current rules of site "${run.site}"`);
  out.push(`${plural(report.leads, 'identified lead')}${run.since ? ` seen since ${run.since}` : ''}, scored as of ${run.now}`);
  // Such a lead is in every figure below, so that they add up to the leads above (scoring/backtest.ts).
  const unscored = report.onlyCurrent > 0 || report.onlyCandidate > 0;
  if (unscored) {
    out.push(
      `(${count(report.onlyCurrent)} of them scored by the current rules only, ${count(report.onlyCandidate)} by the candidate only: countBots differs;`,
      ' below, such a lead is "not scored" under the other rules, and newly or no longer MQL if it is one under those that score it)',
    );
  }
  const hot = (t: Rules['thresholds']) => `warm from ${t.warm}, hot above ${t.hot}`;
  const same = thresholds.current.warm === thresholds.candidate.warm && thresholds.current.hot === thresholds.candidate.hot;
  out.push(same ? `Temperatures: ${hot(thresholds.current)}` : `Temperatures: current ${hot(thresholds.current)}; candidate ${hot(thresholds.candidate)}`);
  // A list the file gives replaces the whole list: the rules it leaves out of it are named, not only felt in the scores.
  const { dropped, added, changed, settings } = run.changes;
  // A list of a thousand rules is named by its first ones and counted.
  const named = (what: string, ids: string[]) => (ids.length ? [`${what} ${ids.slice(0, NAMED_CHANGES).join(', ')}${ids.length > NAMED_CHANGES ? ` and ${count(ids.length - NAMED_CHANGES)} more` : ''}`] : []);
  const changes = [...named('drops', dropped), ...named('adds', added), ...named('changes', changed), ...named('changes the settings', settings)];
  out.push(`Rule changes: ${changes.length ? changes.join('; ') : 'none'}`);

  out.push('', 'Leads per temperature');
  table(
    [
      ['', 'current', 'candidate', 'change'],
      ...TEMPERATURES.map((t) => [t, count(report.temperatures[t].current), count(report.temperatures[t].candidate), signed(report.temperatures[t].candidate - report.temperatures[t].current)]),
      ...(unscored ? [[NOT_SCORED, count(report.onlyCandidate), count(report.onlyCurrent), signed(report.onlyCurrent - report.onlyCandidate)]] : []),
    ],
    [12, 8, 9, 6],
  );

  out.push('', `Movements (rows: current, columns: candidate): ${count(report.moved)} of ${count(report.leads)} change temperature, ${count(report.rescored)} change score`);
  const states: Standing[] = unscored ? [...STANDINGS] : [...TEMPERATURES];
  const label = (state: Standing) => (state === 'notScored' ? NOT_SCORED : state);
  table([['', ...states.map(label)], ...states.map((from) => [label(from), ...states.map((to) => count(report.movements[from][to]))])], [12, 5, 5, 5, NOT_SCORED.length]);
  // What applying the rules sends sales: nothing at once, then a "became hot" alert at each newly hot lead's next visit.
  const newlyHot = states.filter((from) => from !== 'hot').reduce((sum, from) => sum + report.movements[from].hot, 0);
  if (newlyHot > 0) {
    out.push(
      `  Applied, these rules alert nobody at once; ${newlyHot === 1 ? 'the lead they make hot alerts' : `each of the ${count(newlyHot)} leads they make hot alerts`} sales ("hot") at its next visit, within the site's alerts.maxPerHour (a fifth of it kept for demo requests) and cooldown`,
    );
  }

  out.push('', 'MQL volume (hot, or asked for a demo)');
  out.push(`  ${count(report.mql.current)} → ${count(report.mql.candidate)} (${signed(report.mql.candidate - report.mql.current)}): ${count(report.mql.entering)} newly MQL, ${count(report.mql.leaving)} no longer MQL`);
  const who = (what: string, leads: MqlChange[], all: number) =>
    leads.length ? [`  ${what}: ${leads.map((lead) => lead.email).join(', ')}${all > leads.length ? ` and ${count(all - leads.length)} more (--limit N)` : ''}`] : [];
  out.push(...who('newly MQL', report.mql.newlyMql, report.mql.entering), ...who('no longer MQL', report.mql.noLongerMql, report.mql.leaving));

  out.push('', 'Leads whose score or temperature changes most');
  if (!report.topMovers.length) out.push('  none: every lead keeps its score and temperature');
  else {
    const side = (s: ScoreSide | null) => (s ? `${s.score} ${s.temperature}` : NOT_SCORED);
    const rows = report.topMovers.map((m) => [m.email, m.leadId, side(m.current), side(m.candidate), signed(m.change)]);
    // As wide as the longest email, as `hearth score` prints them: a cut address looks like another, real one.
    const width = (i: number, least: number) => Math.max(least, ...rows.map((row) => row[i]!.length));
    table([['lead', 'id', 'current', 'candidate', 'change'], ...rows], [width(0, 4), 22, width(2, 7), width(3, 9), 6], 2);
    if (report.movers > report.topMovers.length) out.push(`  the ${count(report.topMovers.length)} of ${count(report.movers)} that change most shown (--limit N for more)`);
  }

  const { prospects, disqualified } = report.outcomes;
  out.push('', `Known outcomes: ${plural(prospects, 'prospect')}, ${count(disqualified)} disqualified (sales' verdicts)`);
  if (!prospects && !disqualified) out.push('  none yet: qualify leads (POST /api/leads/:id/qualification) to measure precision and recall');
  else {
    const cells = (p: Prediction) => [percent(p.truePositives, p.selected, p.precision), percent(p.truePositives, prospects, p.recall)];
    table(
      [
        ['picks', 'current precision', 'recall', 'candidate precision', 'recall'],
        ...report.precisionRecall.map((row) => [row.threshold === 'hot' ? 'hot' : row.threshold === 'mql' ? 'MQL' : `score ≥ ${row.threshold}`, ...cells(row.current), ...cells(row.candidate)]),
      ],
      [12, 17, 12, 19, 12],
    );
  }
  return out.join('\n');
}
