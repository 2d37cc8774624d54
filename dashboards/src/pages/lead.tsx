import { Fragment } from 'preact';
import { useRef, useState } from 'preact/hooks';
import type { AlertListResponse, AlertView } from '../../../collector/api/alerts.routes.ts';
import type { Lifecycle, Temperature } from '../../../collector/api/dashboard-types.ts';
import type { QualificationRecord } from '../../../collector/api/lead-store.ts';
import { personName } from '../../../scoring/person-name.ts';
import { ApiError, query, request, useApi } from '../api.ts';
import { ALERTS_NOT_SHOWN, canQualify, canSeeAlerts, OWNERS_LIST, usePageTitle, type PageProps, type Session } from '../session.ts';
import { alertsCounted, AlertStatusBadge, RetryControls, useAlertRetry } from '../components/alert-retry.tsx';
import { Chart } from '../components/chart.tsx';
import { DownloadLink } from '../components/download-link.tsx';
import { Failures } from '../components/failures.tsx';
import { COLORS } from '../components/colors.ts';
import { Bar, ErrorMessage, LifecycleBadge, lifecycleLabel, Loading, Panel, ScrollRegion, TableScroll, TemperatureBadge } from '../components/ui.tsx';
import { checklistChange, describeKeptAside, describeQualificationChange, type ChecklistFields } from '../checklist.ts';
import { formatDecimal, formatNumber, formatReason, formatSeconds, formatTime, linkPath } from '../format.ts';
import { humanize, ruleName, sameOwner, sourceName } from '../../../scoring/labels.ts';
import { leadsListHref, useScrollRestore, useUnsavedChanges } from '../router.ts';

/** GET /api/leads/:id, as far as this page reads it. */
interface LeadDetail {
  id: string;
  email: string;
  visitorIds: string[];
  profile: Record<string, string>;
  lifecycle?: Lifecycle;
  owner?: string | null;
  score: number | null;
  fit?: number;
  engagement?: number;
  source?: number;
  negative?: number;
  temperature?: Temperature;
  stage?: string | null;
  reasons?: { rule: string; kind: string; count: number; points: number; capped: boolean }[];
  signals?: { signal: string; at: string; detail: string }[];
  /** `null` for a lead with no score. */
  firstTouch?: { utm_source: string; utm_medium: string; referrer_host: string } | null;
  /** `visitor` for an anonymous visitor's page (a `v_` id), which has no qualification (`null`). */
  kind?: 'lead' | 'visitor';
  qualification: Verdict | null;
  recentEvents: TimelineEvent[];
  /** Whether the lead has events older than recentEvents (the API sends its latest 100). */
  olderEvents?: boolean;
  /** `rulesChanged`: scored under other rules than the point before (the score moved with the rules). */
  scoreHistory?: { at: string; score: number; temperature: Temperature; rulesChanged?: boolean }[];
}

interface Verdict {
  framework: string;
  boxes: Record<string, boolean>;
  notes: Record<string, string>;
  /** Those of a framework the site had before: shown under the checklist (describeKeptAside). */
  keptAside?: { boxes: Record<string, boolean>; notes: Record<string, string> };
  /** `null` for none. */
  owner: string | null;
  disqualified: boolean;
  reason: string;
  missing: string[];
  prospect: boolean;
  /** Who changed it last, and when; `null` for a lead never qualified. */
  changedBy: string | null;
  changedAt: string | null;
  /** Every change, oldest first: the state it made, who made it and when. */
  history?: (Omit<QualificationRecord, 'owner'> & { owner: string | null })[];
}

interface TimelineEvent {
  event_id: string;
  ts: string;
  type: string;
  name: string;
  path: string;
  title: string;
  link_url: string;
  engaged_ms: number;
  /** How far down the page the visitor saw at most, in percent (0: not said). */
  scroll_depth: number;
  email: string;
  utm_source: string;
  referrer_host: string;
  session_start: number;
}

export function LeadPage({ session, site, id }: PageProps & { id: string }) {
  const lead = useApi<LeadDetail>(`/api/leads/${encodeURIComponent(id)}${query({ site: site.id })}`);
  const visitor = id.startsWith('v_');
  const name = lead.data ? personName(lead.data.profile) || lead.data.email || 'Anonymous visitor' : visitor ? 'Anonymous visitor' : 'Lead';
  usePageTitle(name);
  useScrollRestore(!lead.loading);
  if (lead.error) {
    const successors = lead.error.replacedBy ?? [];
    return (
      <div class="page">
        <h1 tabIndex={-1}>{visitor ? 'Anonymous visitor' : 'Lead'}</h1>
        {successors.length ? (
          // A link to a lead whose visits went to another (an alert's, sent before the email was put right), or to the
          // leads an anonymous visitor became.
          <p role="alert">
            {visitor
              ? 'This anonymous visitor gave an email since: its visits belong to '
              : 'This lead is no more: another email was given after its own in the same visit (an email put right). Its visits belong to '}
            {successors.map((successor, n) => (
              <Fragment key={successor.id}>
                {n > 0 ? ', ' : ''}
                <a href={`/dashboard/leads/${successor.id}${query({ site: site.id })}`}>{successor.email || successor.id}</a>
              </Fragment>
            ))}{' '}
            now.
          </p>
        ) : (
          <Failures panels={[[lead, 'this lead']]} />
        )}
        <p>
          <a href={leadsListHref(site.id)}>Back to the leads</a>
        </p>
      </div>
    );
  }
  if (!lead.data) return <Loading what="the lead" />;
  const data = lead.data;
  const profile = data.profile;
  const firstSource = sourceName(data.firstTouch?.utm_source ?? '', data.firstTouch?.referrer_host ?? '');
  const subtitle = [profile.job_title, profile.company, profile.country].filter(Boolean).join(' · ');

  return (
    <div class="page">
      <p class="breadcrumb">
        {/* Back to the list as it was left: its filters, sort and page. */}
        <a href={leadsListHref(site.id)}>Leads</a> <span aria-hidden="true">›</span> {name}
      </p>
      <div class="lead-header">
        <div>
          <h1 tabIndex={-1}>{name}</h1>
          <p class="muted">
            {/* A tap writes to them, on a phone between meetings as at a desk. */}
            {data.email && (
              <>
                <a href={`mailto:${data.email}`}>{data.email}</a>
                {subtitle && ' · '}
              </>
            )}
            {subtitle}
          </p>
        </div>
        <div class="lead-status" role="group" aria-label="Status">
          {data.score !== null && (
            <span class="lead-score">
              <span class="lead-score-value">{formatNumber(data.score)}</span> points
            </span>
          )}
          {data.temperature && <TemperatureBadge temperature={data.temperature} />}
          {data.lifecycle && <LifecycleBadge lifecycle={data.lifecycle} />}
          {data.stage && <span class="badge">{data.stage}</span>}
        </div>
      </div>

      <div class="panels">
        {/* An anonymous visitor is no one's to qualify. */}
        {data.qualification && (
          <Panel id="qualification" title="Qualification">
            <Qualification key={data.id} session={session} site={site} lead={{ ...data, qualification: data.qualification }} onSaved={lead.reload} />
          </Panel>
        )}

        <Panel id="score" title="Fit and engagement">
          {data.score === null ? <p class="muted">Seen only through an automated browser: not scored.</p> : <ScoreParts lead={data} />}
        </Panel>

        <Panel id="reasons" title="Why this score" wide>
          {data.reasons?.length ? <Reasons reasons={data.reasons} /> : <p class="muted">No rule gave or took points.</p>}
        </Panel>

        <Panel id="signals" title="Buying signals and alerts">
          <Signals lead={data} siteId={site.id} showAlerts={canSeeAlerts(session)} />
        </Panel>

        <Panel id="profile" title="Profile">
          <dl class="profile">
            {Object.entries(profile).map(([field, value]) => (
              <div key={field}>
                <dt>{humanize(field)}</dt>
                <dd>{PHONE_FIELD.test(field) && callable(value) ? <a href={`tel:${callable(value)}`}>{value}</a> : value}</dd>
              </div>
            ))}
            {/* A lead with no score has no first touch worked out (its visits are an automated browser's). */}
            {data.firstTouch && (
              <div>
                <dt>First touch</dt>
                <dd>
                  {/* Named as the lists and their Source filter name it: the leads who came the same way, one click away. */}
                  <a href={`/dashboard/leads${query({ site: site.id, temperature: 'all', source: firstSource })}`}>{firstSource}</a>
                </dd>
              </div>
            )}
            <div>
              <dt>Browsers</dt>
              <dd>{data.visitorIds.length}</dd>
            </div>
          </dl>
          <p>
            <DownloadLink href={`/api/leads/${data.id}/export${query({ site: site.id })}`}>Export everything about this person (JSON)</DownloadLink>
          </p>
        </Panel>

        <Panel id="timeline" title="Timeline" wide>
          <Timeline events={data.recentEvents} older={data.olderEvents === true} />
        </Panel>
      </div>
    </div>
  );
}

function ScoreParts({ lead }: { lead: LeadDetail }) {
  const parts = [
    { label: 'Fit (who they are)', value: lead.fit ?? 0, tone: 'accent' },
    { label: 'Engagement (what they did)', value: lead.engagement ?? 0, tone: 'warm' },
    { label: 'Source', value: lead.source ?? 0, tone: 'accent' },
    { label: 'Negative', value: lead.negative ?? 0, tone: 'hot' },
  ];
  const max = Math.max(1, ...parts.map((part) => Math.abs(part.value)));
  const history = lead.scoreHistory ?? [];
  return (
    <>
      <dl class="score-parts">
        {parts.map((part) => (
          <div key={part.label}>
            <dt>{part.label}</dt>
            <dd>
              <span class="bar-value">{formatDecimal(part.value)}</span>
              <Bar value={Math.abs(part.value)} max={max} tone={part.tone} />
            </dd>
          </div>
        ))}
      </dl>
      {history.length > 1 ? (
        <>
          <Chart
            label="Score over time"
            x={history.map((point) => point.at)}
            series={[{ label: 'Score', values: history.map((point) => point.score), color: COLORS.hot }]}
            marks={history.flatMap((point) => (point.rulesChanged ? [{ x: point.at, label: 'rules changed' }] : []))}
            height={160}
          />
          <RulesChanges history={history} />
        </>
      ) : (
        history[0] && <p class="muted">Score unchanged since {formatTime(history[0].at)}.</p>
      )}
    </>
  );
}

/**
 * When the scoring rules changed under the lead's score: the score moved then with the rules, not with anything the lead
 * did, which the chart alone would let a salesperson think.
 */
/** A form field that holds a phone number, by its name ("phone", "Téléphone", "mobile", "tel"). */
const PHONE_FIELD = /phone|t[ée]l[ée]?phone|^tel\b|mobile|portable|cell/i;
/** A phone number as a tel: link dials it (digits and a leading +), or '' when it holds too few digits to be one. */
const callable = (value: string) => {
  const number = value.replace(/(?!^\+)[^\d]/g, '');
  return number.replace(/\D/g, '').length >= 6 ? number : '';
};

function RulesChanges({ history }: { history: NonNullable<LeadDetail['scoreHistory']> }) {
  const changes = history.flatMap((point, i) => (point.rulesChanged && i > 0 ? [{ at: point.at, from: history[i - 1]!.score, to: point.score }] : []));
  if (changes.length === 0) return null;
  return (
    <p class="muted">
      {changes.map((change, i) => (
        <span key={change.at}>
          {i > 0 && ' '}
          The scoring rules changed on {formatTime(change.at)}: the score went from {formatNumber(change.from)} to {formatNumber(change.to)} then.
        </span>
      ))}
    </p>
  );
}

function Reasons({ reasons }: { reasons: NonNullable<LeadDetail['reasons']> }) {
  return (
    <TableScroll label="Scoring reasons">
      <table>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col" class="wide-only">
              Kind
            </th>
            <th scope="col" class="number">
              Times
            </th>
            <th scope="col" class="number">
              Points
            </th>
          </tr>
        </thead>
        <tbody>
          {reasons.map((reason) => (
            <tr key={reason.rule}>
              <th scope="row">
                {ruleName(reason.rule)}
                {/* On a phone, under the rule: four columns leave the points cut at 375 pixels ("+3" for +30). */}
                <span class="sub phone-only">{reason.kind}</span>
              </th>
              <td class="wide-only">{reason.kind}</td>
              <td class="number">
                {formatNumber(reason.count)}
                {reason.capped && <span class="muted"> (capped)</span>}
              </td>
              <td class={`number ${reason.points < 0 ? 'minus' : 'plus'}`}>{reason.points > 0 ? `+${formatDecimal(reason.points)}` : formatDecimal(reason.points)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}

function Signals({ lead, siteId, showAlerts }: { lead: LeadDetail; siteId: string; showAlerts: boolean }) {
  const alerts = useApi<AlertListResponse>(showAlerts ? `/api/alerts${query({ site: siteId, lead: lead.id })}` : null);
  const signals = lead.signals ?? [];
  return (
    <>
      {signals.length === 0 ? (
        <p class="muted">No active buying signal.</p>
      ) : (
        <ul class="signals">
          {signals.map((signal) => (
            <li key={`${signal.signal}-${signal.at}`}>
              <strong>{humanize(signal.signal)}</strong> {signal.detail && <span>— {signal.detail}</span>} <span class="muted">{formatTime(signal.at)}</span>
            </li>
          ))}
        </ul>
      )}
      <h3>Alerts</h3>
      {!showAlerts ? (
        <p class="muted">{ALERTS_NOT_SHOWN}</p>
      ) : alerts.error ? (
        alerts.error.status === 403 ? (
          <p class="muted">{ALERTS_NOT_SHOWN}</p>
        ) : (
          <ErrorMessage error={alerts.error} what="the alerts" />
        )
      ) : !alerts.data ? (
        <Loading what="the alerts" />
      ) : alerts.data.alerts.length === 0 ? (
        <p class="muted">No alert about this lead.</p>
      ) : (
        <>
          {alerts.data.next !== null && (
            <p class="muted">
              The latest {formatNumber(alerts.data.alerts.length)} of {formatNumber(alertsCounted(alerts.data.counts))} alerts about this lead.
            </p>
          )}
          <ul class="alerts">
            {alerts.data.alerts.map((alert) => (
              <LeadAlert key={alert.id} listed={alert} siteId={siteId} email={lead.email} />
            ))}
          </ul>
        </>
      )}
    </>
  );
}

/**
 * An alert about the lead, and a Retry when it is a dead letter (the list is only shown to roles that may retry). One
 * sent about another email of theirs (mistyped, then put right in the same visit) says which.
 */
function LeadAlert({ listed, siteId, email }: { listed: AlertView; siteId: string; email: string }) {
  const retry = useAlertRetry(listed, siteId);
  const { alert } = retry;
  return (
    <li>
      <strong>{alert.summary || humanize(alert.signal)}</strong> <span class="muted">{formatTime(alert.createdAt)}</span>{' '}
      {alert.lead.email !== email && <span class="muted">(sent about {alert.lead.email}) </span>}
      <AlertStatusBadge status={alert.status} />
      {alert.deliveries.length > 0 && <span class="muted"> to {alert.deliveries.map((delivery) => `${delivery.destination} (${delivery.state})`).join(', ')}</span>}
      {alert.reason && <span class="muted"> — {formatReason(alert.reason)}</span>}
      <RetryControls retry={retry} />
    </li>
  );
}

/** How much of the page the visitor saw, when the snippet said (a page read to its end says 100 %). */
const seen = (event: TimelineEvent) => (event.scroll_depth > 0 ? `, saw ${event.scroll_depth}% of the page` : '');

function describeEvent(event: TimelineEvent): string {
  switch (event.type) {
    case 'pageview':
      // Its engaged time in all and the deepest scroll: the API takes them from the pieces the snippet sent them in.
      return `Viewed ${event.path}${event.title ? ` (${event.title})` : ''}${event.session_start && (event.utm_source || event.referrer_host) ? `, arriving from ${sourceName(event.utm_source, event.referrer_host)}` : ''}${event.engaged_ms >= 1000 ? `, engaged for ${formatSeconds(event.engaged_ms / 1000)}` : ''}${seen(event)}`;
    // Engaged time whose page view the lead's events do not hold.
    case 'engagement':
      return `Spent ${formatSeconds(event.engaged_ms / 1000)} on ${event.path}${seen(event)}`;
    case 'download':
      return `Downloaded ${event.name || linkPath(event.link_url)}`;
    case 'outbound':
      return `Followed a link to ${event.link_url}`;
    case 'form':
      return `Submitted the form ${event.name || event.path}${event.email ? ` as ${event.email}` : ''}`;
    case 'identify':
      return `Identified as ${event.email}`;
    default:
      return `${humanize(event.type)} ${event.name}`.trim();
  }
}

function Timeline({ events, older }: { events: TimelineEvent[]; older: boolean }) {
  // The API leaves out engaged time under a second, which says nothing of interest (leadEvents).
  if (events.length === 0) return <p class="muted">No events.</p>;
  return (
    <>
      <p class="muted">
        {older
          ? `The latest ${formatNumber(events.length)} events, newest first; older ones are in the export above.`
          : `All ${formatNumber(events.length)} events, newest first.`}
      </p>
      <ScrollRegion label="Timeline events" class="timeline-scroll">
        <ol class="timeline">
          {events.map((event) => (
            <li key={event.event_id} class={`event-${event.type}`}>
              <time dateTime={event.ts}>{formatTime(event.ts)}</time> <span>{describeEvent(event)}</span>
            </li>
          ))}
        </ol>
      </ScrollRegion>
    </>
  );
}

/** A note's field is one line high, as tall as its lines up to six: a long note scrolls, or is made taller by hand. */
const noteRows = (note: string) => Math.min(6, note.split('\n').length);

/** A verdict as the form holds it: the site's framework, its boxes and notes, the owner. */
function fields(verdict: Verdict): ChecklistFields {
  return { framework: verdict.framework, boxes: verdict.boxes, notes: verdict.notes, owner: verdict.owner ?? '' };
}

/** The checklist sales fill in (the site's framework, as its config says), the owner, and disqualification. */
function Qualification({ session, site, lead, onSaved }: { session: Session; site: PageProps['site']; lead: LeadDetail & { qualification: Verdict }; onSaved: () => void }) {
  const verdict = lead.qualification;
  // The qualification the form was last filled from, whole: what the user changed is measured against it, a save's
  // message too, and the lines of its history are those the user has seen (changedMeanwhile).
  const [filled, setFilled] = useState(verdict);
  const loaded = fields(filled);
  const [boxes, setBoxes] = useState<Record<string, boolean>>(loaded.boxes);
  const [notes, setNotes] = useState<Record<string, string>>(loaded.notes);
  const [owner, setOwner] = useState(loaded.owner);
  const [reason, setReason] = useState('');
  const [message, setMessage] = useState<{ text: string; error?: boolean }>();
  const [saving, setSaving] = useState(false);
  // The qualification a save is made from (its changedAt): the form's, or, once a save was refused for what someone
  // else changed meanwhile, theirs, so that saving again replaces it knowingly.
  const [basedOn, setBasedOn] = useState(filled.changedAt);
  const ownerField = useRef<HTMLInputElement>(null);
  const disqualifyButton = useRef<HTMLButtonElement>(null);
  // A role that only reads sees the text fields read-only, not disabled: they can still be reached, read and copied.
  const readOnly = !canQualify(session);
  // The verdict is given under the site's framework, whichever a checklist was kept under before.
  const framework = verdict.framework;
  const frameworkBoxes = session.frameworks[framework] ?? [];
  const required = site.qualification.required;
  const keptAside = describeKeptAside(verdict.keptAside, humanize);
  const status = lead.lifecycle ? lifecycleLabel(lead.lifecycle) : verdict.prospect ? 'Prospect' : 'Lead';
  // A box ticked, a note or an owner typed, a reason for disqualifying: leaving the page asks first.
  const unsaved = checklistChange(loaded, { framework, boxes, notes, owner }, frameworkBoxes);
  useUnsavedChanges(!readOnly && (Object.keys(unsaved).length > 0 || reason.trim() !== ''));

  /** Shows the qualification as the server has it, every change included, and measures the next changes from it. */
  function fill(current: Verdict) {
    setFilled(current);
    setBasedOn(current.changedAt);
    setBoxes(current.boxes);
    setNotes(current.notes);
    setOwner(fields(current).owner);
    setReason('');
  }

  /**
   * What was changed since the form was last filled, as the history says it ("sam: ticked Budget; assigned to sam"):
   * a save merges onto those changes, and may replace their owner, so the one who saves is told of them, their own in
   * another tab included (the save's message counts from the form's state, before them). The line this save wrote is
   * the last of the answer's history, when it is this user's (a save that changed nothing wrote none); without `made`
   * (nothing saved: refused, or nothing to save), every line since is told.
   */
  function changedMeanwhile(current: Verdict, made?: Verdict): string {
    const history = current.history ?? [];
    const last = made?.history?.at(-1);
    const mine = last && (!session.user || last.changedBy === session.user.name) ? last : undefined;
    const others = history
      .map((record, i) => ({ record, said: describeQualificationChange(history[i - 1], record, humanize) }))
      .slice(filled.history?.length ?? 0)
      .filter(({ record, said }) => said.length > 0 && !(record.changedAt === mine?.changedAt && record.changedBy === mine.changedBy));
    if (others.length === 0) return '';
    return ` While this page was open, ${others.map(({ record, said }) => `${record.changedBy || 'someone'} changed it: ${said.join('; ')}`).join('; then ')}.`;
  }

  async function save(change: Record<string, unknown>, done: (verdict: Verdict, change: Record<string, unknown>) => string) {
    setSaving(true);
    setMessage(undefined);
    try {
      const path = `/api/leads/${lead.id}/qualification${query({ site: site.id })}`;
      const made = await request<Verdict>(path, { method: 'POST', body: { ...change, basedOn } });
      // The answer is the state this change made; one another collector took at the same moment is missing from it,
      // but not from the lead's qualification, which replays every change.
      const current = await request<Verdict>(path).catch(() => made);
      const meanwhile = changedMeanwhile(current, made);
      fill(current);
      setMessage({ text: done(current, change) + meanwhile });
      onSaved();
    } catch (error) {
      // Someone else changed a field this save sets since the form was filled: said, and the form kept as typed; a
      // second save replaces what they wrote.
      const conflict = error instanceof ApiError && error.code === 'qualification_conflict' ? (error.details as { current?: Verdict } | undefined)?.current : undefined;
      if (conflict) {
        setBasedOn(conflict.changedAt);
        const theirs = changedMeanwhile(conflict).trim() || `${conflict.changedBy || 'Someone'} changed it while this page was open.`;
        setMessage({ text: `Not saved. ${theirs} Your changes are still in the form: save again to replace theirs, or reload the page to start from theirs.`, error: true });
        return;
      }
      // The server could not take it for now: the change is still in the form, to be saved again.
      const text = error instanceof ApiError ? (error.unavailable ? 'Not saved: the data is temporarily unavailable. Your changes are still in the form; save again in a moment.' : error.message) : String(error);
      setMessage({ text, error: true });
    } finally {
      setSaving(false);
    }
  }

  /**
   * Save pressed with nothing changed: nothing is sent, and the checklist is shown as it stands now, with what others
   * changed while the page was open (a page out of date kept showing the old owner).
   */
  async function showCurrent() {
    const current = await request<Verdict>(`/api/leads/${lead.id}/qualification${query({ site: site.id })}`).catch(() => undefined);
    const meanwhile = current ? changedMeanwhile(current) : '';
    if (current && meanwhile) fill(current);
    setMessage({ text: meanwhile ? `Nothing to save.${meanwhile} The checklist shows it now.` : 'Nothing to save: the checklist is as it was loaded.' });
  }

  /** What a lead still lacks to be a prospect: its unticked boxes, and an owner (named `owner` as in "an owner"). */
  const lacking = (next: Verdict, owner: string) => [...next.missing.map(humanize), ...(next.owner ? [] : [owner])].join(', ');
  const needs = (next: Verdict) => lacking(next, 'an owner');
  // Measured from the qualification the form was filled from: a note saved on a prospect leaves it one, and says no more.
  // A disqualification someone else saved meanwhile is theirs: the message's "while this page was open" says it.
  const describe = (next: Verdict, change: Record<string, unknown>) =>
    next.disqualified
      ? filled.disqualified
        ? 'Saved. The lead stays disqualified.'
        : change.disqualified === true
          ? 'Saved: disqualified.'
          : 'Saved. The lead is disqualified.'
      : next.prospect
        ? filled.prospect
          ? 'Saved.'
          : 'Saved: this lead is now a prospect.'
        : filled.prospect
          ? `Saved: no longer a prospect. It needs ${needs(next)}.`
          : `Saved. To become a prospect it still needs ${needs(next)}.`;

  return (
    <>
      <p class="qualification-status">
        Status: <strong>{status}</strong>
        {verdict.disqualified && verdict.reason && <span> — {verdict.reason}</span>}
        {!verdict.prospect && !verdict.disqualified && (
          <span class="muted">
            {' '}
            (missing: {lacking(verdict, 'owner') || 'nothing'})
          </span>
        )}
      </p>
      {readOnly && <p class="muted">Your role ({session.user?.role}) can read qualifications; sales and admins change them.</p>}
      <form
        class="qualification"
        onSubmit={(event) => {
          event.preventDefault();
          if (readOnly || saving) return;
          if (Object.keys(unsaved).length === 0) void showCurrent();
          else void save(unsaved, describe);
        }}
      >
        {/* Nothing disabled while it saves: a disabled control drops the keyboard's focus. The buttons say they are
            unavailable, and a second submit is refused. */}
        <fieldset>
          <legend>Checklist</legend>
          <p class="framework">
            Framework: <strong>{framework.toUpperCase()}</strong> <span class="muted">(the site's, as its config says)</span>
          </p>
          <ul class="boxes">
            {frameworkBoxes.map((box) => (
              <li key={box}>
                <label class="checkbox">
                  <input type="checkbox" name={box} checked={boxes[box] === true} disabled={readOnly} onChange={(event) => setBoxes({ ...boxes, [box]: (event.target as HTMLInputElement).checked })} />{' '}
                  {humanize(box)}
                  {required.includes(box) && <span class="muted"> (required)</span>}
                </label>
                {/* A text area: a note of several lines (written through the API, or here) keeps its line breaks,
                    which a one-line field dropped, and saved so. */}
                <textarea
                  class="note"
                  rows={noteRows(notes[box] ?? '')}
                  aria-label={`Note on ${humanize(box).toLowerCase()}`}
                  placeholder={readOnly ? undefined : 'Note'}
                  readOnly={readOnly}
                  maxLength={2000}
                  value={notes[box] ?? ''}
                  onInput={(event) => setNotes({ ...notes, [box]: (event.target as HTMLTextAreaElement).value })}
                />
              </li>
            ))}
          </ul>
          {keptAside.length > 0 && (
            <p class="muted kept-aside">Kept from the site's earlier framework: {keptAside.join('; ')}</p>
          )}
          <div class="owner">
            <label>
              Owner <input type="text" name="owner" list={readOnly ? undefined : OWNERS_LIST} ref={ownerField} value={owner} maxLength={200} readOnly={readOnly} onInput={(event) => setOwner((event.target as HTMLInputElement).value)} />
            </label>
            {!readOnly && session.user && !sameOwner(owner, session.user.name) && (
              <button
                type="button"
                class="link-button"
                onClick={() => {
                  setOwner(session.user!.name);
                  // The button goes once the owner is the user: the keyboard goes on from the field that now says so.
                  ownerField.current?.focus();
                }}
              >
                Assign to me
              </button>
            )}
          </div>
          <button type="submit" disabled={readOnly} aria-disabled={saving ? 'true' : undefined}>
            Save qualification
          </button>
        </fieldset>
      </form>
      <form
        class="disqualify"
        onSubmit={(event) => {
          event.preventDefault();
          if (readOnly || saving) return;
          // The reason goes once disqualified (Enter in it submits too): the keyboard goes on from the button.
          disqualifyButton.current?.focus();
          // With the checklist's changes not saved yet: the notes typed before deciding are kept, not thrown away.
          if (verdict.disqualified) void save({ ...unsaved, disqualified: false }, describe);
          else void save({ ...unsaved, disqualified: true, reason: reason.trim() }, describe);
        }}
      >
        <fieldset>
          <legend>{verdict.disqualified ? 'Disqualified' : 'Disqualify'}</legend>
          {!verdict.disqualified && (
            <>
              <label>
                Reason <input type="text" value={reason} required pattern=".*\S.*" title="Say why this lead is disqualified" maxLength={2000} placeholder={readOnly ? undefined : 'e.g. no budget this year'} readOnly={readOnly} onInput={(event) => setReason((event.target as HTMLInputElement).value)} />
              </label>{' '}
            </>
          )}
          {/* One button, relabelled rather than replaced: the keyboard's focus stays on it from Disqualify to Requalify and back. */}
          <button type="submit" ref={disqualifyButton} class={verdict.disqualified ? undefined : 'danger'} disabled={readOnly} aria-disabled={saving ? 'true' : undefined}>
            {verdict.disqualified ? 'Requalify' : 'Disqualify'}
          </button>
        </fieldset>
      </form>
      <p class={message?.error ? 'error' : 'saved'} role="status" aria-live="polite">
        {message?.text ?? ''}
      </p>
      <QualificationHistory history={verdict.history ?? []} />
    </>
  );
}

/** Who changed the qualification, when, and what each change did: newest first. */
function QualificationHistory({ history }: { history: NonNullable<Verdict['history']> }) {
  if (history.length === 0) return null;
  const changes = history.map((record, i) => ({ record, said: describeQualificationChange(history[i - 1], record, humanize) })).reverse();
  return (
    <>
      <h3>History</h3>
      <ScrollRegion label="Qualification history" class="history-scroll">
        <ol class="qualification-history">
          {changes.map(({ record, said }, i) => (
            <li key={i}>
              <time dateTime={record.changedAt}>{formatTime(record.changedAt)}</time> · <strong>{record.changedBy || 'someone'}</strong>: {said.length > 0 ? said.join('; ') : 'saved, nothing changed'}
            </li>
          ))}
        </ol>
      </ScrollRegion>
    </>
  );
}
