import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { LeadListResponse } from '../../../collector/api/dashboard-types.ts';
import { query, staleAttributes, useApi } from '../api.ts';
import { OWNERS_LIST, usePageTitle, type PageProps } from '../session.ts';
import { DownloadLink } from '../components/download-link.tsx';
import { Failures } from '../components/failures.tsx';
import { NavigatingSelect } from '../components/navigating-select.tsx';
import { lastPageStart, LifecycleBadge, Loading, Pager, ReasonChips, TableScroll, TemperatureBadge, usePageTurn } from '../components/ui.tsx';
import { formatAgo, formatDay, formatDecimal, formatNumber, formatTime } from '../format.ts';
import { PRESETS, rollingPeriod, seenPeriod } from '../period.ts';
import { FIRST_PAGE, hrefWith, navigate, rememberLeadsList, useScrollRestore } from '../router.ts';

const PAGE_SIZE = 50;

const TEMPERATURES = [
  { value: 'hot', label: 'Hot' },
  { value: 'warm,hot', label: 'Warm or hot' },
  { value: 'warm', label: 'Warm' },
  { value: 'cold', label: 'Cold' },
  { value: 'all', label: 'All temperatures' },
];
const LIFECYCLES = [
  { value: 'any', label: 'Any status' },
  { value: 'lead', label: 'Lead' },
  { value: 'mql', label: 'MQL' },
  { value: 'prospect', label: 'Prospect' },
  { value: 'disqualified', label: 'Disqualified' },
];
const STAGES = [
  { value: '', label: 'Any stage' },
  ...['TOFU', 'MOFU', 'BOFU'].map((stage) => ({ value: stage, label: stage })),
];
const SORTS = [
  { value: 'score', label: 'Highest score' },
  { value: 'recent', label: 'Most recent' },
  { value: 'fit', label: 'Best fit' },
  { value: 'engagement', label: 'Most engaged' },
];

/** A list of temperatures in the order the options write it: `hot,warm` is the option `warm,hot`. */
const TEMPERATURE_ORDER = ['cold', 'warm', 'hot'];
const inOrder = (temperatures: string) =>
  temperatures
    .split(',')
    .sort((a, b) => TEMPERATURE_ORDER.indexOf(a) - TEMPERATURE_ORDER.indexOf(b))
    .join(',');

/** One of the list's filters: a labelled select whose choice rewrites the URL. */
function FilterSelect({ label, value, options, onChange }: { label: string; value: string; options: { value: string; label: string }[]; onChange(value: string): void }) {
  return (
    <label>
      {label}{' '}
      <NavigatingSelect value={value} onPick={onChange}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </NavigatingSelect>
    </label>
  );
}

/** No days, whether given or a rolling preset. */
const WITHOUT_DAYS = { from: undefined, to: undefined, period: undefined };
/** No period, and none of the filters that only mean something within one (content, pricing, new). */
const WITHOUT_PERIOD = { ...WITHOUT_DAYS, content: undefined, pricing: undefined, new: undefined };

/**
 * Sales' inbox, and every lead list the marketing panels drill down to: filters live in the URL, so a list can be
 * shared, and its CSV export carries the same filters.
 */
export function LeadsPage({ site, location }: PageProps) {
  const params = location.params;
  const get = (name: string) => params.get(name) ?? '';
  // The inbox (no temperature or status asked for) is the MQLs, the leads sales call: hot, or asked for a demo, at any
  // temperature (a hand-raiser can be cold), and neither a prospect nor disqualified yet (scoring/lifecycle.ts). A
  // status asked for is listed at every temperature unless one is asked for too, and a temperature at any status.
  const inbox = !get('temperature') && !get('lifecycle');
  const temperature = inOrder(get('temperature')) || 'all';
  const lifecycle = inbox ? 'mql' : get('lifecycle') || 'any';
  const offset = Math.max(0, Number(get('offset')) || 0);
  // The page: after or before a page's edge (the pager's turns), else at an offset (a link kept from before).
  const page = get('after') ? `&after=${encodeURIComponent(get('after'))}` : get('before') ? `&before=${encodeURIComponent(get('before'))}` : `&offset=${offset}`;
  const here = hrefWith(location.path, params, {});
  useEffect(() => rememberLeadsList(here), [here]);
  // A rolling preset (`period=7d`) has no days in the URL: its own are asked for. Days given are asked for as written,
  // so a refusal names the one the URL got wrong.
  const rolling = rollingPeriod(params);
  const filters = {
    site: site.id,
    from: rolling?.from ?? get('from'),
    to: rolling?.to ?? get('to'),
    temperature: temperature === 'all' ? '' : temperature,
    lifecycle: lifecycle === 'any' ? '' : lifecycle,
    stage: get('stage'),
    funnel: get('funnel'),
    source: get('source'),
    content: get('content'),
    owner: get('owner'),
    q: get('q'),
    account: get('account'),
    pricing: get('pricing'),
    new: get('new'),
    minScore: get('minScore'),
    maxScore: get('maxScore'),
    sort: get('sort') || 'score',
  };
  // An empty owner asks for the unassigned, which a plain query string would drop.
  const unassigned = get('unassigned') === '1';
  const listQuery = query(filters) + (unassigned ? '&owner=' : '');
  const list = useApi<LeadListResponse>(`/api/dashboard/leads${listQuery}&limit=${PAGE_SIZE}${page}`);
  // Come back to by Back or Forward: where the reader was, once the list is drawn.
  useScrollRestore(!list.loading);
  const title = lifecycle === 'mql' && temperature === 'all' ? 'MQLs' : temperature === 'hot' && lifecycle === 'any' ? 'Hot leads' : 'Leads';
  usePageTitle(`${title} · ${site.name}`);

  // What the free-text fields hold, applied or not: a filter picked after typing a search applies the search too,
  // where the list ignored it while the box still showed it.
  const typed = useRef<Record<string, string | undefined>>({});
  const set = (changes: Record<string, string | undefined>) => navigate(hrefWith(location.path, params, { ...typed.current, ...changes, ...FIRST_PAGE }));
  const searchField = useRef<HTMLInputElement>(null);
  const period = seenPeriod(params);
  const seen = period?.preset ?? '';

  return (
    <div class="page">
      <div class="page-header">
        <h1 tabIndex={-1}>{title}</h1>
        <DownloadLink class="button" href={`/api/leads.csv${listQuery}`}>
          Export this list (CSV)
        </DownloadLink>
      </div>

      <Filters params={params} onApply={set} searchField={searchField} typed={typed} />
      <div class="filter-bar" role="group" aria-label="Filters">
        <FilterSelect label="Temperature" value={temperature} options={TEMPERATURES} onChange={(value) => set({ temperature: value })} />
        <FilterSelect label="Status" value={lifecycle} options={LIFECYCLES} onChange={(value) => set({ lifecycle: value })} />
        <FilterSelect label="Stage" value={filters.stage} options={STAGES} onChange={(value) => set({ stage: value })} />
        <label>
          Seen{' '}
          <NavigatingSelect
            value={seen}
            onPick={(value) => {
              if (value === 'custom') return;
              // Kept rolling, as the marketing page's period: a bookmark of "In the last 7 days" lists the last 7 days
              // whenever it is opened, where it listed the same days ever after.
              set(value ? { ...WITHOUT_DAYS, period: `${value}d` } : WITHOUT_PERIOD);
            }}
          >
            <option value="">Any time</option>
            {PRESETS.map((days) => (
              <option key={days} value={String(days)}>
                In the last {days} days
              </option>
            ))}
            {period?.preset === 'custom' && <option value="custom">{`${formatDay(period.from)} – ${formatDay(period.to)}`}</option>}
          </NavigatingSelect>
        </label>
        <FilterSelect label="Sort by" value={filters.sort} options={SORTS} onChange={(value) => set({ sort: value })} />
      </div>
      <ActiveDrillDowns params={params} onRemove={set} afterLast={() => searchField.current} />

      <Failures panels={[[list, 'the leads']]} />
      {list.error ? null : !list.data ? (
        <Loading what="the leads" />
      ) : (
        <div {...staleAttributes(list)}>
          <LeadTable data={list.data} site={site.id} onPage={(turn) => navigate(hrefWith(location.path, params, { ...FIRST_PAGE, ...turn }))} />
        </div>
      )}
    </div>
  );
}

/** The free-text filters, applied together with a button (or Enter). */
function Filters({
  params,
  onApply,
  searchField,
  typed,
}: {
  params: URLSearchParams;
  onApply: (changes: Record<string, string | undefined>) => void;
  searchField: RefObject<HTMLInputElement | null>;
  /** Set at each drawing to what the fields hold, as changes to the URL. */
  typed: RefObject<Record<string, string | undefined>>;
}) {
  const given = { search: params.get('q') ?? '', source: params.get('source') ?? '', owner: params.get('owner') ?? '', unassigned: params.get('unassigned') === '1' };
  const [search, setSearch] = useState(given.search);
  const [source, setSource] = useState(given.source);
  const [owner, setOwner] = useState(given.owner);
  const [unassigned, setUnassigned] = useState(given.unassigned);
  // The fields follow the URL (a search applied, back and forward) without being drawn anew: a field drawn anew
  // loses the keyboard focus to the page's body. Only when the URL changes: an effect runs after the page is painted,
  // and on a busy machine what was typed in between (the box is there, the list still loading) was wiped, then left
  // out of the next filter picked.
  const inUrl = [given.search, given.source, given.owner, given.unassigned].join('\u0000');
  const followed = useRef(inUrl);
  useEffect(() => {
    if (inUrl === followed.current) return;
    followed.current = inUrl;
    setSearch(given.search);
    setSource(given.source);
    setOwner(given.owner);
    setUnassigned(given.unassigned);
  }, [inUrl]);
  typed.current = { q: search.trim(), source: source.trim(), owner: unassigned ? undefined : owner.trim(), unassigned: unassigned ? '1' : undefined };
  return (
    <form
      class="filter-bar"
      role="search"
      aria-label="Search leads"
      onSubmit={(event) => {
        event.preventDefault();
        onApply(typed.current);
      }}
    >
      <label>
        Search <input type="search" ref={searchField} value={search} placeholder="Email, name or company" onInput={(event) => setSearch((event.target as HTMLInputElement).value)} />
      </label>
      <label>
        Source <input type="text" value={source} placeholder="e.g. linkedin" size={12} onInput={(event) => setSource((event.target as HTMLInputElement).value)} />
      </label>
      <label>
        Owner <input type="text" value={owner} list={OWNERS_LIST} disabled={unassigned} size={12} onInput={(event) => setOwner((event.target as HTMLInputElement).value)} />
      </label>
      <label class="checkbox">
        <input type="checkbox" checked={unassigned} onChange={(event) => setUnassigned((event.target as HTMLInputElement).checked)} /> Unassigned only
      </label>
      <button type="submit">Apply</button>
    </form>
  );
}

/**
 * Filters that came from another page (an account, a marketing panel's funnel step or content), shown so they can be
 * seen and removed. The focus goes from a removed filter's button to the next filter's, else the last one's, else to
 * `afterLast` (the search field): not to the page's body, where the removed button left it.
 */
/** A score range as a filter reads: "Score 60 to 69", "Score 60 or more", "Score up to 29". */
const scoreRange = (min: string | null, max: string | null) => (min && max ? `Score ${min} to ${max}` : min ? `Score ${min} or more` : `Score up to ${max}`);

function ActiveDrillDowns({ params, onRemove, afterLast }: { params: URLSearchParams; onRemove: (changes: Record<string, string | undefined>) => void; afterLast: () => HTMLElement | null }) {
  const list = useRef<HTMLUListElement>(null);
  const removedAt = useRef<number | undefined>(undefined);
  const period = seenPeriod(params);
  const active = [
    params.get('account') && { key: 'account', text: `Account: ${params.get('account')!.replace(/^company:/, '')}` },
    (params.get('minScore') || params.get('maxScore')) && { key: 'score', text: scoreRange(params.get('minScore'), params.get('maxScore')) },
    params.get('funnel') && { key: 'funnel', text: `Funnel: ${params.get('funnel')} or beyond` },
    params.get('content') && { key: 'content', text: `Engaged with ${params.get('content')!.replace(':', ' ')}` },
    params.get('pricing') && { key: 'pricing', text: 'Viewed pricing' },
    params.get('new') && { key: 'new', text: 'New: first gave their email in the period' },
    // Days as the API counts them, midnight to midnight UTC (the marketing page's period says so too).
    period && { key: 'from', text: `Seen ${formatDay(period.from)} – ${formatDay(period.to)}, UTC` },
  ].filter(Boolean) as { key: string; text: string }[];
  useEffect(() => {
    const at = removedAt.current;
    if (at === undefined) return;
    removedAt.current = undefined;
    const buttons = [...(list.current?.querySelectorAll('button') ?? [])];
    (buttons[Math.min(at, buttons.length - 1)] ?? afterLast())?.focus();
  }, [active.map((filter) => filter.key).join()]);
  if (active.length === 0) return null;
  return (
    <ul class="drill-downs" aria-label="Other filters" ref={list}>
      {active.map((filter, at) => (
        <li key={filter.key}>
          {filter.text}{' '}
          <button
            type="button"
            class="link-button"
            aria-label={`Remove filter: ${filter.text}`}
            onClick={() => {
              removedAt.current = at;
              onRemove(
                filter.key === 'from' ? WITHOUT_PERIOD : filter.key === 'score' ? { minScore: undefined, maxScore: undefined } : { [filter.key]: undefined },
              );
            }}
          >
            ✕
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A turn of the page: after or before a page's edge, or to an offset (the last page, from past the end; '' for none). */
type PageTurn = { after: string } | { before: string } | { offset: string };
/** To the last page of a list of `total` leads ('' leaves the offset out of the URL: the first page). */
const toLastPage = (total: number): PageTurn => ({ offset: String(lastPageStart(total, PAGE_SIZE) || '') });

function LeadTable({ data, site, onPage }: { data: LeadListResponse; site: string; onPage: (turn: PageTurn) => void }) {
  // A page turned from the pager at the bottom: the reader is taken to the top of the new page, its count line.
  const pages = usePageTurn<HTMLParagraphElement>(data);
  const count = pages.count;
  const turn = (to: PageTurn) => pages.turn(() => onPage(to));
  const last = Math.min(data.position + data.leads.length - 1, data.total);
  // One status line, whatever the list holds: a screen reader hears it change, an empty list included.
  return (
    <>
      <p class={data.leads.length === 0 ? 'empty' : 'muted'} role="status" ref={count} tabIndex={-1}>
        {data.total === 0 ? (
          'No lead matches these filters.'
        ) : data.leads.length === 0 ? (
          // Past the end: a link kept from when the list was longer.
          <>
            This page is past the end of the list: {formatNumber(data.total)} leads match these filters.{' '}
            <button type="button" class="link-button" onClick={() => turn(toLastPage(data.total))}>
              Go to the last page
            </button>
          </>
        ) : data.total === 1 && data.position === 1 ? (
          '1 lead'
        ) : (
          `${formatNumber(data.position)}–${formatNumber(last)} of ${formatNumber(data.total)} leads`
        )}
      </p>
      {data.leads.length > 0 && <LeadRows data={data} site={site} turn={turn} />}
    </>
  );
}

/** The table of a page of leads, and the pager under it. */
function LeadRows({ data, site, turn }: { data: LeadListResponse; site: string; turn: (to: PageTurn) => void }) {
  return (
    <>
      <TableScroll label="Leads">
        <table class="leads">
          <thead>
            <tr>
              <th scope="col" class="number">
                Score
              </th>
              {/* The parts the other sorts go by: who they are, and what they did. */}
              <th scope="col" class="number wide-only roomy-only">
                Fit
              </th>
              <th scope="col" class="number wide-only roomy-only">
                Engagement
              </th>
              <th scope="col">Lead</th>
              <th scope="col" class="wide-only">Temperature</th>
              <th scope="col" class="wide-only">Status</th>
              <th scope="col" class="wide-only roomy-only">
                Stage
              </th>
              <th scope="col">Owner</th>
              <th scope="col" class="wide-only">Top reasons</th>
              <th scope="col" class="wide-only roomy-only">
                Source
              </th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {data.leads.map((lead) => (
              <tr key={lead.id}>
                <td class="number score">{formatNumber(lead.score)}</td>
                {/* To a tenth, as the lead's page shows them. */}
                <td class="number wide-only roomy-only">{formatDecimal(lead.fit)}</td>
                <td class="number wide-only roomy-only">{formatDecimal(lead.engagement)}</td>
                <th scope="row">
                  <a href={`/dashboard/leads/${lead.id}${query({ site })}`}>{lead.name || lead.email}</a>
                  <span class="sub">{[lead.name ? lead.email : '', lead.jobTitle, lead.company].filter(Boolean).join(' · ')}</span>
                  {/* On a phone, where their columns are not shown: a salesperson between meetings sees who is hot and whose. */}
                  <span class="phone-only badges">
                    <TemperatureBadge temperature={lead.temperature} />
                    <LifecycleBadge lifecycle={lead.lifecycle} />
                  </span>
                </th>
                <td class="wide-only">
                  <TemperatureBadge temperature={lead.temperature} />
                </td>
                <td class="wide-only">
                  <LifecycleBadge lifecycle={lead.lifecycle} />
                </td>
                <td class="wide-only roomy-only">{lead.stage ?? '–'}</td>
                <td>{lead.owner ?? <span class="muted">unassigned</span>}</td>
                <td class="wide-only">
                  <ReasonChips reasons={lead.topReasons} />
                </td>
                <td class="wide-only roomy-only">{lead.source}</td>
                <td>
                  <time dateTime={lead.lastSeen} title={formatTime(lead.lastSeen)}>
                    {formatAgo(lead.lastSeen)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {data.total > PAGE_SIZE && (
        <Pager
          label="Pages of leads"
          onFirst={data.previous ? () => turn({ offset: '' }) : undefined}
          onPrevious={data.previous ? () => turn({ before: data.previous! }) : undefined}
          onNext={data.next ? () => turn({ after: data.next! }) : undefined}
          onLast={data.next ? () => turn(toLastPage(data.total)) : undefined}
        />
      )}
    </>
  );
}
