import type { ClickHouseClient } from '@clickhouse/client';
import { accountKeyOf, byAccount, freeMailOf, scoreAccounts, type AccountMember, type FreeMail } from '../scoring/accounts.ts';
import type { Alert } from '../scoring/alerts/alert.ts';
import { leadPageUrl } from '../scoring/alerts/config.ts';
import { evaluateSignals, type SignalEvent } from '../scoring/alerts/evaluate.ts';
import type { LeadScore, LeadSlice } from '../scoring/compile.ts';
import { accountColleagues, currentSnapshots, goneSnapshot, reasonsOf, rulesHash, snapshotChanged, toSnapshot, writeSnapshots, type StoredScore } from '../scoring/snapshots.ts';
import { carryQualificationsOver, currentQualifications, forgetQualifications } from './api/lead-store.ts';
import { lifecycleOf, rulesOf, scoreSite, sitePatterns } from './api/scores.ts';
import type { HearthConfig, SiteConfig } from './config/schema.ts';
import type { StoredVisitor } from './ingest/sink.ts';
import { personName } from '../scoring/person-name.ts';
import { judgeQualification } from '../scoring/qualification.ts';
import { weightiestReasons } from '../scoring/labels.ts';
import { isoTime, toClickHouseTime } from '../scoring/sql.ts';
import { inTurns } from '../scoring/turns.ts';
import { encodedInsertOf } from './store/client.ts';
import { keepIdentities } from './store/retention.ts';
import type { ClusterTarget } from './store/cluster-ddl.ts';
import { unrunnablePatterns } from '../scoring/patterns.ts';

export interface ScorerOptions {
  config: HearthConfig;
  client: ClickHouseClient;
  log: { warn(details: object, message: string): void; info?(details: object, message: string): void };
  /** Resolves once every accepted event is stored in ClickHouse (the write-ahead log's drained()). */
  drained: () => Promise<void>;
  /** Receives the buying-signal alerts of each rescoring; resolves once they are safely recorded (the outbox). */
  onAlerts?: (alerts: Alert[]) => Promise<void>;
  /** Where people open a lead: `${dashboardUrl}/dashboard/leads/<id>`. */
  dashboardUrl: () => string;
  /** Every lead of every site is rescored this often, so scores decay without new events. Default: hourly. */
  fullEveryMs?: number;
  /** The shortest time between the starts of two rescoring rounds. Default 1 s. */
  roundGapMs?: number;
  /** Settings for the scoring queries, when they share the collector's CPUs (embedded chDB); see BACKGROUND in store/client.ts. */
  querySettings?: Record<string, number> | undefined;
  /** A full rescoring works in slices of about this many leads (default 100,000), so a large site fits in memory. */
  sliceLeads?: number;
  /** ... and of about this many events at most (default 250,000), so that a slice, which leads batches touch wait for, is short. */
  sliceEvents?: number;
  /** A one-shot rescoring (the CLI): a failure is not retried but ends the work, and settled() rejects with it. */
  giveUpOnFailure?: boolean;
  /** Resolves once the store may be read (prepared: store/prepare.ts); no rescoring starts before. */
  ready?: Promise<unknown> | undefined;
  /** The rules' patterns were found runnable as the collector started: not checked again once `ready`. */
  patternsChecked?: boolean;
  /** The cluster the store runs on, if any: the qualifications a retention forgets are deleted on every node. */
  cluster?: ClusterTarget | undefined;
  now?: () => number;
}

export interface Scorer {
  /** Told of the visitors of every batch stored in ClickHouse: their leads are rescored soon after. */
  /**
   * `identified`: those of them whose events just stored gave an email (a form, an identify): their leads may have
   * asked for sales, and are rescored first, in a round that starts at once (see work()).
   */
  noteStored(visitors: StoredVisitor[], identified?: { site_id: string; visitor_id: string }[]): void;
  /**
   * Resolves once every event accepted so far is stored and every lead it touched rescored, and the full passes under
   * way (start, hourly, rescoreAll) are done; what arrives meanwhile is not waited for (see giveUpOnFailure).
   */
  settled(): Promise<void>;
  /**
   * Resolves once every event accepted so far is stored and every lead it touched rescored, without waiting for a
   * full pass (minutes on a large site): what the API waits for before it erases or exports a person.
   */
  rescored(): Promise<void>;
  /** Rescores every lead of a site (all sites when absent) now. */
  rescoreAll(siteId?: string): Promise<void>;
  /**
   * Runs `fn` once the query in flight has ended (the round stops there; the rest waits), and starts no round until
   * it is done: an erasure deletes a person's events and stored scores, and a round that read the events before would
   * write the scores back after.
   */
  holding<T>(fn: () => Promise<T>): Promise<T>;
  /** Where rescoring stands, for /metrics: what waits, the full passes under way, when each site's last one ended. */
  status(): ScoringStatus;
  close(): Promise<void>;
}

export interface ScoringStatus {
  /** Browsers whose leads wait for their next round (their events are stored, their scores not yet updated). */
  pendingVisitors: number;
  /** Per site: its full pass under way (slices left of its count), and the last one that ended (when, how long). */
  sites: { site: string; slicesLeft: number; slices: number; lastPassEndedAt: number | null; lastPassMs: number | null }[];
}

/**
 * Visitors per scoring query: enough to amortise a query's planning, few enough that parsing its rows and writing
 * their snapshots never holds the event loop long. Measured under bench:ingest load, 2,000 → 500: p99 25–27 →
 * 22–23 ms with 10-event beacons (same req/s), 13–14 → 11–12 ms and +8 % req/s with 1-event beacons.
 */
const CHUNK = 500;
/**
 * Leads per query of a full rescoring. Each slice reads the site's events again but aggregates only its own leads,
 * and the collector holds one slice's scores at a time: a million leads at once would take gigabytes (and more
 * than the client can encode in one insert).
 */
export const SLICE_LEADS = 100_000;
/**
 * Events per slice of a full rescoring, at most: a slice cannot be cut, and the leads batches touch meanwhile wait for
 * its end. A site of 30,000 visitors and 690,000 events was one slice of 11 s under light traffic, and a demo request
 * sent during it alerted 11 s late; at ~3.5 s a slice here, it waits at most that.
 */
export const SLICE_EVENTS = 250_000;
const RETRY_MS = 2000;

/**
 * What a round of rescoring costs, in ms, that the gap after it (three times the cost) makes up for: the time the
 * process worked in it (its CPU time, which counts embedded ClickHouse's threads and the requests served meanwhile,
 * so a round on a busy collector costs its whole time), and at least two thirds of its time. A round that waited on a
 * slow ClickHouse server (or a timeout) was counted whole, and the first round after a slow spell waited three times
 * it (30 s for a new lead's score after 10 s queries); counted at its CPU time alone, rounds ran back to back on a
 * server slow because it is overloaded (in flight 85 % of the time). Now such rounds take at most half the time.
 */
const roundCost = (wallMs: number, cpu: NodeJS.CpuUsage): number => Math.min(wallMs, Math.max((cpu.user + cpu.system) / 1000, (wallMs * 2) / 3));

/**
 * Keeps the stored scores (lead_scores) current: after each batch reaches ClickHouse, the leads of the visitors it
 * touched are rescored from raw events, a snapshot is written for each lead whose score visibly changed, and the
 * buying signals that are news become alerts (recorded before the snapshot, so a crash in between re-evaluates the
 * same trigger and the outbox drops the copy). Every lead is rescored at start and hourly, so that rule changes
 * apply and scores decay without new events.
 */
export function createScorer({ config, client, log, drained, onAlerts, dashboardUrl, fullEveryMs = 3_600_000, roundGapMs = 1000, querySettings, sliceLeads = SLICE_LEADS, sliceEvents = SLICE_EVENTS, giveUpOnFailure = false, ready, patternsChecked = false, cluster, now = Date.now }: ScorerOptions): Scorer {
  let lastRoundAt = 0;
  let lastRoundMs = 0;
  const pending = new Map<string, Set<string>>();
  // Of them, the browsers whose events gave an email: a round starts for them without waiting out the gap, and takes
  // them first, so one site's flood of anonymous page views does not hold back another's demo request's alert.
  const identifiedPending = new Map<string, Set<string>>();
  // Each noteStored() that adds work takes a number; `rescoredThrough` is the last whose leads a round has rescored
  // (all of them: a round takes every pending visitor). settled() waits for the number it saw, not for a quiet moment,
  // which a busy collector never has.
  let noted = 0;
  let rescoredThrough = 0;
  // The last number a settled() or rescored() call waits for: its round starts without waiting out the gap (an
  // erasure or an export waits for it; a steady stream of batches, which nothing waits for, keeps the gaps).
  let awaited = 0;
  // The full passes under way, a site at a time, one slice per step: a round of touched leads runs between two slices.
  const passes = new Map<string, Pass>();
  // When each site's last full pass ended, and how long it took (ScoringStatus).
  const lastPasses = new Map<string, { endedAt: number; ms: number }>();
  let running: Promise<void> | undefined;
  // Closing: rescore what is pending without the gaps between rounds, and no more slices (the next start rescores
  // all). Closed: stop at the next query.
  let closing = false;
  let closed = false;
  // How many holding() calls are waiting or running: no round starts meanwhile.
  let holds = 0;
  let wake = () => {};
  let failure: unknown;
  const waiters: { done: () => boolean; resolve: () => void }[] = [];
  const sites = new Map(config.sites.map((site) => [site.id, site]));
  // The config is read once per start: so are the rules each site scores with.
  const hashes = new Map(config.sites.map((site) => [site.id, rulesHash(rulesOf(site), site.pageGroups)]));
  // As stored scores write their time: compared as text, as a round reads up to 100,000 of them.
  const startedAt = toClickHouseTime(now());
  // When each site's warning that another collector scores it with other rules was last logged: once an hour at most.
  const otherRulesWarned = new Map<string, number>();

  /**
   * Warns when stored scores written since this collector started carry other rules than its own: another collector
   * of the same ClickHouse runs another config (a change rolled out one collector at a time). Each rescores what its
   * beacons touch, and its full passes everything, so a lead's score flips with whichever rescored it last.
   */
  function warnOfOtherRules(siteId: string, hash: string, previous: StoredScore[]): void {
    if (now() - (otherRulesWarned.get(siteId) ?? -Infinity) < 3_600_000) return;
    const other = previous.find((row) => row.rules_hash !== hash && row.rules_hash !== '' && row.scored_at >= startedAt);
    if (!other) return;
    otherRulesWarned.set(siteId, now());
    log.warn(
      { site: siteId, rulesHash: hash, otherRulesHash: other.rules_hash, scoredAt: isoTime(other.scored_at) },
      `another collector scores site "${siteId}" with other rules (stored scores of rules ${other.rules_hash}, this collector's are ${hash}): leads' scores flip with whichever collector rescored them last until every collector runs the same config`,
    );
  }
  const countsBots = new Set(config.sites.filter((site) => rulesOf(site).countBots).map((site) => site.id));
  const insertEncoded = encodedInsertOf(client);
  const retentionDays = config.storage?.retentionDays;

  const hasWork = () => pending.size > 0 || (passes.size > 0 && !closing);

  // Sites whose rules hold a pattern ClickHouse cannot compile (the rules' check parses RE2 syntax, not the program's
  // size): their every scoring would fail, and hold up the other sites' behind it. Left unscored, said in the log;
  // `hearth start` refuses such a config when the store is ready as it starts.
  const unscorable = new Set<string>();
  async function checkPatterns(): Promise<void> {
    for (const [index, site] of config.sites.entries()) {
      const problems = await unrunnablePatterns(client, sitePatterns(site, index)).catch((err: unknown) => {
        log.warn({ err, site: site.id }, "the rules' patterns could not be checked");
        return [];
      });
      if (problems.length === 0) continue;
      unscorable.add(site.id);
      pending.delete(site.id);
      passes.delete(site.id);
      log.warn({ site: site.id, problems }, `site "${site.id}" is not scored: ${problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ')}`);
    }
    // What was noted of those sites before the check is done with: settled() waits for nothing of theirs.
    if (pending.size === 0) rescoredThrough = noted;
  }

  let storeReady = ready === undefined;
  void ready
    ?.then(() => (patternsChecked ? undefined : checkPatterns()))
    .then(() => {
      storeReady = true;
      kick();
      settleWaiters();
    });

  function kick(): void {
    if (running || closed || holds > 0 || !storeReady) return;
    running = work().finally(() => {
      running = undefined;
      settleWaiters();
      if (hasWork()) kick();
    });
  }

  /** Resolves when `done()` holds, or once the scorer is closed or has given up. */
  function until(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      waiters.push({ done, resolve });
      settleWaiters();
    });
  }

  function settleWaiters(): void {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i]!;
      if (!closed && failure === undefined && !waiter.done()) continue;
      waiters.splice(i, 1);
      waiter.resolve();
    }
  }

  /** A full pass of a site (again from here, after the slice in flight, when one is under way). */
  function startPass(siteId: string): Pass {
    // Never under way: ended as soon as it is asked for.
    if (unscorable.has(siteId)) return { count: 0, next: 0, left: 0, again: false, startedAt: 0, scored: 0 };
    const pass = passes.get(siteId);
    if (pass) {
      pass.again = true;
      return pass;
    }
    const fresh = { count: 0, next: 0, left: 0, again: false, startedAt: 0, scored: 0 };
    passes.set(siteId, fresh);
    return fresh;
  }

  /** Resolves once these passes have ended. */
  function passesEnded(waited: [string, Pass][]): () => boolean {
    return () => waited.every(([siteId, pass]) => passes.get(siteId) !== pass);
  }

  /** Waits `ms`, or less when close() cuts it short. */
  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async function work(): Promise<void> {
    while (!closed && holds === 0 && hasWork()) {
      // Under a steady stream of batches, a round of touched leads starts at least `roundGapMs` after the previous one
      // started, and works at most a third of the time: each round then takes in more visitors (one query per 500),
      // and ingest keeps most of the machine. Alerts wait longer only while the collector is that busy; rounds that
      // wait on a slow ClickHouse server take at most half the time (roundCost). A full pass
      // (start, hourly) uses the gaps, a slice at a time, so that a large site's takes no alert minutes late.
      const wait = lastRoundAt + Math.max(roundGapMs, 3 * lastRoundMs) - performance.now();
      const touchedDue = pending.size > 0 && (wait <= 0 || closing || awaited > rescoredThrough || identifiedPending.size > 0);
      if (!touchedDue && (passes.size === 0 || closing)) {
        await sleep(wait);
        continue;
      }
      try {
        if (touchedDue) await rescoreTouched();
        else await passStep();
      } catch (err) {
        if (giveUpOnFailure) {
          failure ??= err;
          pending.clear();
          passes.clear();
          break;
        }
        if (closed) break;
        // ClickHouse is down or slow: the work is kept (the visitors, the pass at its slice) and tried again; the
        // events themselves are safe. A slice that fails does not hold back the touched leads: they go first.
        log.warn({ err }, 'rescoring failed; it will be retried');
        await sleep(RETRY_MS);
      }
      settleWaiters();
    }
  }

  /** A round: the leads of every visitor noted so far. A holding() call (an erasure) stops it between two chunks. */
  async function rescoreTouched(): Promise<void> {
    // On the monotonic clock: a step of the wall clock (NTP) made the next round wait an hour, or three times a jump.
    lastRoundAt = performance.now();
    const cpuAtStart = process.cpuUsage();
    const through = noted;
    // The sites with a browser that gave an email first, then the quieter sites before the busier; in each, the
    // browsers that gave an email first. Alerts go out as each chunk is rescored.
    const urgentFirst = (siteId: string) => Number(identifiedPending.has(siteId));
    const touched = [...pending]
      .map(([siteId, visitors]): [string, Set<string>] => {
        const urgent = identifiedPending.get(siteId);
        return [siteId, urgent ? new Set([...urgent, ...visitors]) : visitors];
      })
      .sort(([a, one], [b, other]) => urgentFirst(b) - urgentFirst(a) || one.size - other.size);
    pending.clear();
    identifiedPending.clear();
    let stopped = false;
    try {
      for (const [siteId, visitors] of touched) {
        const list = [...visitors];
        for (let start = 0; start < list.length; start += CHUNK) {
          if (closed || holds > 0) {
            for (const visitor of list.slice(start)) addVisitor(siteId, visitor);
            stopped = true;
            break;
          }
          const chunk = list.slice(start, start + CHUNK);
          await rescore(sites.get(siteId)!, { visitors: chunk });
          // These browsers were seen: with a retention, their people's identity rows are kept from now.
          if (retentionDays !== undefined) await keepIdentities(client, siteId, chunk, now(), querySettings);
        }
      }
    } catch (err) {
      for (const [siteId, visitors] of touched) for (const visitor of visitors) addVisitor(siteId, visitor);
      throw err;
    } finally {
      lastRoundMs = roundCost(performance.now() - lastRoundAt, process.cpuUsage(cpuAtStart));
    }
    if (!stopped) rescoredThrough = through;
  }

  /** One step of the first pass under way: counting its slices when it starts, else its next slice. */
  async function passStep(): Promise<void> {
    const [siteId, pass] = passes.entries().next().value!;
    const site = sites.get(siteId)!;
    if (pass.count === 0) {
      // Timed from its first step: passes run a site at a time, and one asked for with others waited for them.
      pass.startedAt = performance.now();
      // Counted once per pass, so that the slices of a pass resumed after an erasure or a failure stay the same. With
      // them, the rules of the latest stored score: other rules than this collector's (a config changed since) are
      // said as the pass starts, since until it ends the lists and figures may mix scores of both. (A pass writes only
      // the scores that change: after a change of rules that changes none, the next start may say it again.)
      const result = await client.query({
        query: `SELECT uniq(visitor_id) AS visitors, count() AS events,
                  (SELECT argMax(rules_hash, scored_at) FROM lead_scores WHERE site_id = {site:String}) AS hash
                FROM events WHERE site_id = {site:String}`,
        query_params: { site: site.id },
        clickhouse_settings: querySettings,
        format: 'JSONEachRow',
      });
      const [{ visitors, events, hash } = { visitors: 0, events: 0, hash: '' }] = await result.json<{ visitors: number; events: number; hash: string }>();
      pass.count = pass.left = Math.max(1, Math.ceil(Number(visitors) / sliceLeads), Math.ceil(Number(events) / sliceEvents));
      pass.again = false;
      pass.rulesBefore = hash && hash !== hashes.get(siteId) ? hash : undefined;
      return;
    }
    const index = pass.next;
    if (pass.left === pass.count) {
      const slices = pass.count > 1 ? ` in ${pass.count} slices` : '';
      const changed = pass.rulesBefore && `: its latest stored scores are of other rules than this config's (rules ${pass.rulesBefore} → ${hashes.get(siteId)}), and lists and figures may mix scores of both until the pass ends`;
      log.info?.({ site: siteId, slices: pass.count, ...(changed && { rulesBefore: pass.rulesBefore, rules: hashes.get(siteId) }) }, `rescoring every lead and visitor of site "${siteId}"${slices}${changed || ''}`);
    }
    pass.scored += await rescore(site, pass.count > 1 ? { slice: { index, count: pass.count } } : undefined);
    pass.next = (index + 1) % pass.count;
    // Asked again while this slice was read: every slice once more, this one included.
    if (pass.again) Object.assign(pass, { scored: 0, startedAt: performance.now() });
    pass.left = pass.again ? pass.count : pass.left - 1;
    pass.again = false;
    if (pass.left === 0) {
      passes.delete(siteId);
      const ms = performance.now() - pass.startedAt;
      lastPasses.set(siteId, { endedAt: now(), ms });
      log.info?.({ site: siteId, scored: pass.scored, ms: Math.round(ms) }, `rescored every lead and visitor of site "${siteId}" (${pass.scored.toLocaleString('en-US')}) in ${(ms / 1000).toFixed(1)} s`);
      // At start and hourly, as the passes: the checklists of the leads the retention has expired since go too.
      if (retentionDays !== undefined) {
        const forgotten = await forgetQualifications(client, siteId, retentionDays, cluster);
        if (forgotten.length > 0) log.info?.({ site: siteId, leads: forgotten.length, retentionDays }, 'deleted the qualification history of leads storage.retentionDays has expired');
      }
    }
  }

  function addVisitor(siteId: string, visitor: string): void {
    if (unscorable.has(siteId)) return;
    let visitors = pending.get(siteId);
    if (!visitors) pending.set(siteId, (visitors = new Set()));
    visitors.add(visitor);
  }

  /**
   * Rescores a scope of a site's leads and stores what changed. `followUp` marks the rescoring of the leads a
   * previous round saw a visitor leave, which does not chain further.
   */
  async function rescore(site: SiteConfig, scope?: { visitors: string[] } | { slice: LeadSlice }, followUp = false): Promise<number> {
    const rules = rulesOf(site);
    const hash = hashes.get(site.id)!;
    const at = now();
    const visitors = scope && 'visitors' in scope ? scope.visitors : undefined;
    const slice = scope && 'slice' in scope ? scope.slice : undefined;
    const scores = await scoreSite(client, site, visitors, { now: new Date(at), settings: querySettings, slice });
    const previous = await currentSnapshots(client, site.id, visitors ? { leadIds: scores.map((score) => score.lead_id), visitors } : slice && { slice });
    warnOfOtherRules(site.id, hash, previous);
    const previousOf = new Map(previous.map((row) => [row.lead_id, row]));
    const scoredAt = toClickHouseTime(at);
    const rows: StoredScore[] = [];
    const news: { score: LeadScore; signal: SignalEvent }[] = [];
    // A lead new to the store whose browsers belonged to another identified lead that is no more (an email corrected
    // in the visit that gave it) carries on from that lead's last snapshot: the same demo request or hot score is not
    // news again. Someone else's lead on a shared browser lives on, and the new lead's news are its own.
    const current = new Set(scores.map((score) => score.lead_id));
    const identifiedBy = new Map(
      previous.flatMap((row) => (row.kind === 'lead' && !current.has(row.lead_id) ? row.visitor_ids.map((visitor) => [visitor, row] as const) : [])),
    );
    const carriedOn = (score: LeadScore) => score.visitor_ids.map((visitor) => identifiedBy.get(visitor)).find(Boolean);
    // Its qualification by sales carries over too (carryQualificationsOver), before its first snapshot is written.
    const moves: { from: string; to: string }[] = [];
    // A turn at a time (as the rows were read and will be written): a slice of a full pass holds up to 100,000.
    await inTurns(scores, (score) => {
      const before = previousOf.get(score.lead_id);
      const from = before ? undefined : score.kind === 'lead' ? carriedOn(score) : undefined;
      if (from) moves.push({ from: from.lead_id, to: score.lead_id });
      // A gone row (signals none, armed) still names the crossing, so a lead that comes back gets alerts of its own.
      const { hotArmed, signals } = evaluateSignals(site.id, rules, before ?? carriedOn(score), score, at, hash);
      for (const signal of signals) news.push({ score, signal });
      const row = toSnapshot(site.id, score, scoredAt, hotArmed, hash);
      if (snapshotChanged(before, row)) rows.push(row);
    });
    // Leads that no longer exist: an anonymous visitor now part of an identified lead, or a person erased. A lead
    // that one of these visitors left (it gave another email) may live on through its other visitors: they are
    // rescored next, and the lead ends only if none of them still belongs to it.
    const scored = new Set([...(visitors ?? []), ...scores.flatMap((score) => score.visitor_ids)]);
    const leftBehind = new Set<string>();
    await inTurns(previous, (row) => {
      if (row.kind === 'gone' || current.has(row.lead_id)) return;
      const others = visitors && !followUp ? row.visitor_ids.filter((visitor) => !scored.has(visitor)) : [];
      if (others.length > 0) for (const visitor of others) leftBehind.add(visitor);
      else rows.push(goneSnapshot(row, scoredAt));
    });
    await carryQualificationsOver(client, site.id, moves);
    if (news.length > 0 && onAlerts) await onAlerts(await toAlerts(site, news, scores, at));
    await writeSnapshots(insertEncoded, rows);
    if (leftBehind.size > 0) await rescore(site, { visitors: [...leftBehind] }, true);
    return scores.length;
  }

  /** The alerts of a round's news; `scored`: every lead the round scored, whose fresh scores its accounts count. */
  async function toAlerts(site: SiteConfig, news: { score: LeadScore; signal: SignalEvent }[], scored: LeadScore[], at: number): Promise<Alert[]> {
    const qualifications = await currentQualifications(client, site.id);
    const disqualified = new Set([...qualifications].flatMap(([leadId, state]) => (state.disqualified ? [leadId] : [])));
    const rules = rulesOf(site);
    const { thresholds } = rules;
    const freeMail = freeMailOf(rules);
    const stored = await accountColleagues(client, site.id, news.map(({ score }) => score), freeMail);
    // The colleagues this round scored count as they are now, not as last stored (if at all: two colleagues asking for
    // a demo at once are both new), as the account will read once the round's scores are stored.
    const fresh = new Map(scored.filter((score) => score.kind === 'lead').map((score) => [score.lead_id, score]));
    const freshOf = byAccount(fresh.values(), freeMail);
    const alerts: Alert[] = [];
    for (const { score, signal } of news) {
      const key = accountKeyOf(score, freeMail)?.id;
      const colleagues = [
        ...stored.get(score.lead_id)!.filter((member) => !fresh.has(member.lead_id)),
        ...(key === undefined ? [] : (freshOf.get(key) ?? [])).filter((member) => member.lead_id !== score.lead_id),
      ];
      const account = accountOf(score, colleagues, thresholds, disqualified, freeMail);
      const verdict = qualifications.get(score.lead_id);
      const lifecycle = lifecycleOf(score, verdict && judgeQualification(verdict, site.qualification));
      alerts.push({
        id: signal.id,
        site: site.id,
        signal: signal.signal,
        summary: signal.summary,
        triggeredAt: signal.triggeredAt,
        createdAt: new Date(at).toISOString(),
        lead: {
          id: score.lead_id,
          email: score.email,
          // The name as given, none when none was: a CRM would otherwise make a contact named after the address (the messages
          // and pages show the email in its place, leadTitle).
          name: personName(score.profile),
          company: score.profile.company ?? '',
          jobTitle: score.profile.job_title ?? '',
          country: score.country,
          owner: verdict?.owner ?? '',
          ...(verdict?.disqualified ? { disqualifiedFor: verdict.reason } : {}),
          score: score.score,
          temperature: score.temperature,
          // Alerts are about leads (an email given): never an anonymous visitor's lifecycle.
          lifecycle: lifecycle === 'visitor' ? 'lead' : lifecycle,
          stage: score.stage || null,
          firstTouch: score.first_touch,
          topReasons: weightiestReasons(score.reasons),
          url: leadPageUrl(dashboardUrl(), site.id, score.lead_id),
        },
        account,
      });
    }
    return alerts;
  }

  /** The lead's account scored from the stored scores of its colleagues (accountColleagues), those sales disqualified weighing nothing. */
  function accountOf(lead: LeadScore, colleagues: AccountMember[], thresholds: { warm: number; hot: number }, disqualified: ReadonlySet<string>, freeMail: FreeMail): Alert['account'] {
    const key = accountKeyOf(lead, freeMail)?.id;
    const mine = scoreAccounts([lead, ...colleagues], thresholds, disqualified, freeMail).find((account) => account.id === key);
    return mine ? { id: mine.id, name: mine.name, score: mine.score, temperature: mine.temperature } : null;
  }

  const fullTimer = setInterval(() => {
    // A pass still under way (a very large site) goes on rather than starting over.
    for (const site of config.sites) if (!passes.has(site.id)) startPass(site.id);
    kick();
  }, fullEveryMs);
  fullTimer.unref();
  // Every start rescores everything: a rules change, a crash between storing a batch and rescoring it, and the
  // decay since the last run are all caught up, and re-evaluated signals keep their alert ids.
  for (const site of config.sites) startPass(site.id);
  kick();

  /** Once every accepted event is stored and the leads of the visitors noted by then are rescored (and, `withPasses`, the passes under way done). */
  async function settledNow(withPasses: boolean): Promise<void> {
    await drained();
    const through = noted;
    if (through > rescoredThrough && through > awaited) {
      awaited = through;
      wake();
    }
    const waited = withPasses ? [...passes] : [];
    await until(() => rescoredThrough >= through && passesEnded(waited)());
  }

  return {
    noteStored(visitors, identified = []) {
      // Automated browsers' events change no score unless the site's rules count them.
      let added = false;
      const scorable = (site: string, isBot: number) => sites.has(site) && !unscorable.has(site) && (!isBot || countsBots.has(site));
      for (const visitor of visitors) {
        if (scorable(visitor.site_id, visitor.is_bot)) {
          addVisitor(visitor.site_id, visitor.visitor_id);
          added = true;
        }
      }
      for (const { site_id, visitor_id } of identified) {
        // Only a browser just noted as scorable (an automated one is not, unless the site counts bots).
        if (!pending.get(site_id)?.has(visitor_id)) continue;
        let urgent = identifiedPending.get(site_id);
        if (!urgent) identifiedPending.set(site_id, (urgent = new Set()));
        urgent.add(visitor_id);
      }
      // A round waiting out its gap starts now.
      if (identifiedPending.size > 0) wake();
      if (added) noted++;
      kick();
    },
    async settled() {
      await settledNow(true);
      if (failure !== undefined) throw failure;
    },
    async rescored() {
      await settledNow(false);
      if (failure !== undefined) throw failure;
    },
    status() {
      let pendingVisitors = 0;
      for (const visitors of pending.values()) pendingVisitors += visitors.size;
      return {
        pendingVisitors,
        sites: config.sites.map((site) => {
          const pass = passes.get(site.id);
          const last = lastPasses.get(site.id);
          // A pass not counted yet (its first step) has all of its slices left, however many they will be.
          return { site: site.id, slicesLeft: pass ? Math.max(1, pass.left) : 0, slices: pass ? Math.max(1, pass.count) : 0, lastPassEndedAt: last?.endedAt ?? null, lastPassMs: last?.ms ?? null };
        }),
      };
    },
    async rescoreAll(siteId) {
      const waited = config.sites.filter((site) => !siteId || site.id === siteId).map((site) => [site.id, startPass(site.id)] as [string, Pass]);
      kick();
      await until(passesEnded(waited));
    },
    async holding(fn) {
      holds++;
      // A round waiting out its gap gives way at once; one in flight ends first.
      wake();
      try {
        await running;
        return await fn();
      } finally {
        holds--;
        kick();
      }
    },
    async close() {
      // What the last batches touched is rescored if it can be in a few seconds (no longer waiting between rounds:
      // the collector takes no more requests); the next start rescores all anyway, so a full pass stops here.
      closing = true;
      wake();
      await Promise.race([settledNow(false).catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      closed = true;
      clearInterval(fullTimer);
      wake();
      await running;
      settleWaiters();
    },
  };
}

/** A full pass of a site: `count` slices (0 until counted), the next to do, how many are left. */
interface Pass {
  count: number;
  next: number;
  left: number;
  /** Asked for again (rescoreAll) while a step was in flight. */
  again: boolean;
  /** When its first step began (performance.now()), and the leads and visitors its slices scored so far. */
  startedAt: number;
  scored: number;
  /** The rules of the site's latest stored score when they are not this collector's (its config changed), once counted. */
  rulesBefore?: string | undefined;
}
