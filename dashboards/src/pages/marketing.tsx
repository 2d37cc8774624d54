import type {
  ContentResponse,
  ContentRow,
  DevicesResponse,
  FunnelResponse,
  LeadQuality,
  NamedVisitors,
  PricingResponse,
  ScoreDistributionResponse,
  SourcesResponse,
  SummaryResponse,
  TimeseriesResponse,
} from '../../../collector/api/dashboard-types.ts';
import type { ComponentChildren } from 'preact';
import { query, staleAttributes, useApi, type Loaded } from '../api.ts';
import { usePageTitle, type PageProps } from '../session.ts';
import { Chart } from '../components/chart.tsx';
import { COLORS, DASHES } from '../components/colors.ts';
import { Kpi } from '../components/kpi.tsx';
import { PeriodPicker } from '../components/period-picker.tsx';
import { DownloadLink } from '../components/download-link.tsx';
import { Failures } from '../components/failures.tsx';
import { Bar, Loading, Panel, TableScroll, TemperatureBadge } from '../components/ui.tsx';
import { formatDecimal, formatNumber, formatSeconds, formatShare } from '../format.ts';
import { periodDays, periodOf } from '../period.ts';
import { useScrollRestore } from '../router.ts';

/** What each panel's figures are called in a message. */
const WHAT = {
  summary: 'the key figures',
  series: 'the daily figures',
  sources: 'the sources',
  funnel: 'the funnel',
  distribution: 'the score distribution',
  content: 'the content',
  pricing: 'pricing-page engagement',
  devices: 'the devices',
};

/**
 * Shows a panel's content once its data is in (dimmed and busy while it is the period before's), a loading line
 * before, and that it could not load if it failed: why is said once for the page, by Failures.
 */
function Section<T>({ loaded, what, children }: { loaded: Loaded<T>; what: string; children: (data: T) => ComponentChildren }) {
  if (loaded.error) return <p class="empty">Could not load {what}.</p>;
  if (!loaded.data) return <Loading what={what} />;
  return <div {...staleAttributes(loaded)}>{children(loaded.data)}</div>;
}

export function MarketingPage({ site, location }: PageProps) {
  usePageTitle(`Marketing · ${site.name}`);
  const period = periodOf(location.params);
  // The API is asked for the URL's own days, so a refusal names the one the URL got wrong (a `from` worked out here
  // from a bad `to` had it name `from`, and a bad `from` was passed over for the default); `to` is today when none.
  // A rolling preset (`period=7d`) has no days in the URL: its own are asked for.
  const scope = query({ site: site.id, from: location.params.get('from') || (location.params.get('to') ? null : period.from), to: location.params.get('to') || period.to });
  const summary = useApi<SummaryResponse>(`/api/dashboard/summary${scope}`);
  const series = useApi<TimeseriesResponse>(`/api/dashboard/timeseries${scope}`);
  const funnel = useApi<FunnelResponse>(`/api/dashboard/funnel${scope}`);
  const sources = useApi<SourcesResponse>(`/api/dashboard/sources${scope}`);
  const content = useApi<ContentResponse>(`/api/dashboard/content${scope}`);
  const pricing = useApi<PricingResponse>(`/api/dashboard/pricing${scope}`);
  const distribution = useApi<ScoreDistributionResponse>(`/api/dashboard/score-distribution${scope}`);
  const devices = useApi<DevicesResponse>(`/api/dashboard/devices${scope}`);
  const panels: [Loaded<unknown>, string][] = [
    [summary, WHAT.summary],
    [series, WHAT.series],
    [sources, WHAT.sources],
    [funnel, WHAT.funnel],
    [distribution, WHAT.distribution],
    [content, WHAT.content],
    [pricing, WHAT.pricing],
    [devices, WHAT.devices],
  ];
  // The server refused the period (a day that does not exist, more than a view covers): it is none to describe.
  // Come back to by Back or Forward: where the reader was, once every panel is drawn (the page's height is theirs).
  useScrollRestore(panels.every(([loaded]) => !loaded.loading));
  const refused = panels.some(([loaded]) => loaded.error?.status === 400);
  /** A drill-down: the leads seen in the period that match `filters`, in the leads list (every temperature unless said). */
  const leads = (filters: Record<string, string>) => `/dashboard/leads${query({ site: site.id, from: period.from, to: period.to, temperature: 'all', ...filters })}`;

  return (
    <div class="page">
      <div class="page-header">
        <h1 tabIndex={-1}>Marketing</h1>
        <PeriodPicker period={period} location={location} />
        <DownloadLink class="button" href={`/api/leads.csv${query({ site: site.id, from: period.from, to: period.to })}`}>
          Export the period's leads (CSV)
        </DownloadLink>
      </div>
      {!refused && (
        <p class="muted intro">Leads figures count the identified leads seen in the period, as they stand now; changes compare with {earlier(periodDays(period.from, period.to))}.</p>
      )}
      <Failures panels={panels} />

      <Section loaded={summary} what={WHAT.summary}>
        {({ kpis }) => (
          <dl class="kpis" aria-label="Key figures">
            <Kpi label="Visitors" value={kpis.visitors} />
            <Kpi label="Identified leads" value={kpis.identifiedLeads} href={leads({})} />
            <Kpi label="New leads" value={kpis.newLeads} href={leads({ new: '1' })} />
            <Kpi label="Warm leads" value={kpis.warm} href={leads({ temperature: 'warm' })} />
            <Kpi label="Hot leads" value={kpis.hot} href={leads({ temperature: 'hot' })} />
            <Kpi label="MQLs" value={kpis.mqls} href={leads({ lifecycle: 'mql' })} />
            <Kpi label="Prospects" value={kpis.prospects} href={leads({ lifecycle: 'prospect' })} />
          </dl>
        )}
      </Section>

      <div class="panels">
        <Panel id="traffic" title="Visitors and leads per day" wide>
          <Section loaded={series} what={WHAT.series}>
            {(data) => (
              <div class="chart-pair">
                <Chart label="Visitors per day" x={data.days} series={[{ label: 'Visitors', values: data.visitors, color: COLORS.visitors, total: data.totals.visitors }]} />
                <Chart
                  label="Leads seen per day, by temperature"
                  x={data.days}
                  series={[
                    { label: 'Hot', values: data.leads.hot, color: COLORS.hot, total: data.totals.leads.hot },
                    { label: 'Warm', values: data.leads.warm, color: COLORS.warm, dash: DASHES.warm, total: data.totals.leads.warm },
                    { label: 'Cold', values: data.leads.cold, color: COLORS.cold, dash: DASHES.cold, total: data.totals.leads.cold },
                  ]}
                />
              </div>
            )}
          </Section>
        </Panel>

        <Panel id="sources" title="Lead quality by source" wide>
          <Section loaded={sources} what={WHAT.sources}>
            {(data) => <SourcesPanel data={data} leads={leads} />}
          </Section>
        </Panel>

        <Panel id="funnel" title="Funnel">
          <Section loaded={funnel} what={WHAT.funnel}>
            {(data) => <FunnelPanel data={data} leads={leads} />}
          </Section>
        </Panel>

        <Panel id="scores" title="Score distribution">
          <Section loaded={distribution} what={WHAT.distribution}>
            {(data) => <DistributionPanel data={data} leads={leads} />}
          </Section>
        </Panel>

        <Panel id="content" title="Top content by leads influenced" wide>
          <Section loaded={content} what={WHAT.content}>
            {(data) => (
              <div class="content-lists">
                <ContentTable title="Pages" kind="page" rows={data.pages} leads={leads} />
                <ContentTable title="Downloads" kind="download" rows={data.downloads} leads={leads} />
                <ContentTable title="Webinars" kind="webinar" rows={data.webinars} leads={leads} />
              </div>
            )}
          </Section>
        </Panel>

        <Panel id="pricing" title="Pricing-page engagement" wide>
          <Section loaded={pricing} what={WHAT.pricing}>
            {(data) => <PricingPanel data={data} site={site.id} leads={leads} />}
          </Section>
        </Panel>

        <Panel id="devices" title="Lead quality by device" wide>
          <Section loaded={devices} what={WHAT.devices}>
            {(data) => <DevicesPanel data={data} />}
          </Section>
        </Panel>

      </div>
    </div>
  );
}

type LeadsLink = (filters: Record<string, string>) => string;

/** The period before, in words: "the 30 days before", or "the period before" for dates that name no period (until the server's refusal hides it). */
const earlier = (days: number) => (Number.isInteger(days) && days > 0 ? `the ${days} ${days === 1 ? 'day' : 'days'} before` : 'the period before');

function FunnelPanel({ data, leads }: { data: FunnelResponse; leads: LeadsLink }) {
  const top = data.steps[0]?.leads ?? 0;
  return (
    <>
      <p class="muted">
        {formatNumber(data.leads)} identified {data.leads === 1 ? 'lead' : 'leads'} seen; each sits at the furthest step it reached, and a step counts the leads at it or beyond.
        {data.leads > top && ` ${formatNumber(data.leads - top)} of them reached no step: they saw no page of the funnel's page groups.`}
      </p>
      <ol class="funnel">
        {data.steps.map((step, i) => (
          <li key={step.step}>
            <a class="funnel-step" href={leads({ funnel: step.step })}>
              <span class="funnel-name">{step.step === 'prospect' ? 'Prospect' : step.step}</span>
              <Bar value={step.leads} max={top} tone={step.step === 'MQL' || step.step === 'prospect' ? 'hot' : 'accent'} />
              <span class="funnel-count">{formatNumber(step.leads)}</span>
              <span class="funnel-rate">
                {/* No rate out of nothing: "0 % of the step before" when the step before had no lead read as a loss. */}
                {i === 0 ? '' : step.conversion === null ? '– (none at the step before)' : `${formatShare(step.conversion)} of the step before`}
              </span>
            </a>
          </li>
        ))}
      </ol>
    </>
  );
}

/** The sources past those listed: the Leads page's Source filter finds the leads of those that have some. */
function MoreSources({ rest }: { rest: SourcesResponse['sources'] }) {
  const withLeads = rest.filter((row) => row.leads > 0).length;
  const more = `And ${formatNumber(rest.length)} more ${rest.length === 1 ? 'source' : 'sources'}, with fewer leads and visitors each`;
  return (
    <p class="muted">
      {withLeads === 0
        ? `${more}, none with a lead in this period.`
        : `${more}: the Leads page's Source filter finds the leads of the ${withLeads === 1 ? 'one' : formatNumber(withLeads)} with leads.`}
    </p>
  );
}

function SourcesPanel({ data, leads }: { data: SourcesResponse; leads: LeadsLink }) {
  if (data.sources.length === 0) return <p class="muted">No visits in this period.</p>;
  return (
    <QualityTable
      group="Source"
      caption="Visitors by the source of their sessions in the period; leads by their first-touch source. Longer bars, better leads."
      rows={data.sources.slice(0, SOURCES_SHOWN)}
      best={bestOf(data.sources)}
      keyOf={(row) => row.source}
      nameOf={(row) => (row.leads > 0 ? <a href={leads({ source: row.source })}>{row.source}</a> : row.source)}
    >
      {data.sources.length > SOURCES_SHOWN && <MoreSources rest={data.sources.slice(SOURCES_SHOWN)} />}
    </QualityTable>
  );
}

type QualityRow = LeadQuality & { visitors: number };

/** The best of each figure of some rows (at least a small one): the full length of their bars. */
const bestOf = (rows: QualityRow[]) => ({
  score: Math.max(1, ...rows.map((row) => row.averageScore)),
  rate: Math.max(0.01, ...rows.map((row) => (row.visitors > 0 ? row.leads / row.visitors : 0))),
});

/** The headers of a group's visitors, leads and their quality: the sources', the devices'. */
const QualityHeads = () => (
  <>
    <th scope="col" class="number wide-only">
      Visitors
    </th>
    <th scope="col" class="number wide-only">
      Leads
    </th>
    <th scope="col">Leads per 100 visitors</th>
    <th scope="col">Average score</th>
    <th scope="col">Hot leads</th>
  </>
);

/** On a phone, under the group's name, in place of the visitors and leads columns it has no room for. */
const PhoneCounts = ({ row }: { row: QualityRow }) => (
  <span class="sub phone-only">
    {formatNumber(row.visitors)} {row.visitors === 1 ? 'visitor' : 'visitors'} · {formatNumber(row.leads)} {row.leads === 1 ? 'lead' : 'leads'}
  </span>
);

/** A group's visitors, leads, leads per 100 visitors, average score and share of hot leads, the last three with bars. */
const QualityCells = ({ row, best }: { row: QualityRow; best: ReturnType<typeof bestOf> }) => (
  <>
    <td class="number wide-only">{formatNumber(row.visitors)}</td>
    <td class="number wide-only">{formatNumber(row.leads)}</td>
    <td>
      <span class="bar-pair">
        <span class="bar-value">{row.visitors > 0 ? formatDecimal((100 * row.leads) / row.visitors) : '–'}</span>
        <Bar value={row.visitors > 0 ? row.leads / row.visitors : 0} max={best.rate} tone="warm" />
      </span>
    </td>
    <td>
      <span class="bar-pair">
        <span class="bar-value">{row.leads > 0 ? formatDecimal(row.averageScore) : '–'}</span>
        <Bar value={row.averageScore} max={best.score} />
      </span>
    </td>
    <td>
      <span class="bar-pair">
        <span class="bar-value">{row.leads > 0 ? formatShare(row.hotShare) : '–'}</span>
        <Bar value={row.hotShare} max={1} tone="hot" />
      </span>
    </td>
  </>
);

/**
 * Groups (sources, kinds of device) with their visitors and the quality of their leads, a row each. The caption sits
 * above the scroll region, not in the table: a caption is as wide as its table, and was cut on a phone.
 */
function QualityTable<T extends QualityRow>(props: {
  group: string;
  caption: string;
  rows: T[];
  best: ReturnType<typeof bestOf>;
  keyOf: (row: T) => string;
  nameOf: (row: T) => ComponentChildren;
  children?: ComponentChildren;
}) {
  const { group, caption, rows, best, keyOf, nameOf, children } = props;
  const id = `${group.toLowerCase()}-caption`;
  return (
    <>
      <p class="muted" id={id}>
        {caption}
      </p>
      <TableScroll label={`${group}s table`}>
        <table class={`quality ${group.toLowerCase()}s`} aria-describedby={id}>
          <thead>
            <tr>
              <th scope="col">{group}</th>
              <QualityHeads />
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={keyOf(row)}>
                <th scope="row">
                  {nameOf(row)}
                  <PhoneCounts row={row} />
                </th>
                <QualityCells row={row} best={best} />
              </tr>
            ))}
          </tbody>
        </table>
        {children}
      </TableScroll>
    </>
  );
}

/** A kind of device as the panel names it. */
const DEVICE_NAMES: Record<string, string> = { desktop: 'Desktop', mobile: 'Mobile', tablet: 'Tablet', bot: 'Bot', '': 'Unknown' };

function DevicesPanel({ data }: { data: DevicesResponse }) {
  if (data.devices.length === 0) return <p class="muted">No visits in this period.</p>;
  return (
    <>
      <QualityTable
        group="Device"
        caption="Visitors by the kind of device their browser is; a lead under each kind it visited on in the period."
        rows={data.devices}
        best={bestOf(data.devices)}
        keyOf={(row) => row.device}
        nameOf={(row) => DEVICE_NAMES[row.device] ?? row.device}
      />
      <div class="content-lists">
        <NamedTable title="Browsers" rows={data.browsers} />
        <NamedTable title="Operating systems" rows={data.systems} />
      </div>
    </>
  );
}

/** The browsers or operating systems of the period's visitors, the most used first. */
function NamedTable({ title, rows }: { title: string; rows: NamedVisitors[] }) {
  const top = Math.max(1, ...rows.map((row) => row.visitors));
  return (
    <div>
      <h3>{title}</h3>
      <TableScroll label={title}>
        <table>
          <thead>
            <tr>
              <th scope="col">{title === 'Browsers' ? 'Browser' : 'System'}</th>
              <th scope="col">Visitors</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.name}>
                <th scope="row">{row.name || 'Unknown'}</th>
                <td>
                  <span class="bar-pair">
                    <span class="bar-value">{formatNumber(row.visitors)}</span>
                    <Bar value={row.visitors} max={top} />
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
    </div>
  );
}

/**
 * The sources a page lists, the best first: a referrer-spam run of made-up sources made a table of 300 rows, 18,000
 * pixels tall, with the real ones lost at its bottom.
 */
const SOURCES_SHOWN = 25;

function ContentTable({ title, kind, rows, leads }: { title: string; kind: string; rows: ContentRow[]; leads: LeadsLink }) {
  return (
    <div>
      <h3>{title}</h3>
      {rows.length === 0 ? (
        <p class="muted">None in this period.</p>
      ) : (
        <TableScroll label={`Top ${title.toLowerCase()}`}>
          <table>
            <thead>
              <tr>
                <th scope="col">{title.replace(/s$/, '')}</th>
                <th scope="col" class="number">
                  Leads
                </th>
                <th scope="col" class="number">
                  Hot
                </th>
                <th scope="col" class="number">
                  Visitors
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.item}>
                  <th scope="row" class="item">
                    {row.leads > 0 ? <a href={leads({ content: `${kind}:${row.item}` })}>{row.item}</a> : row.item}
                  </th>
                  <td class="number">{formatNumber(row.leads)}</td>
                  <td class="number">{formatNumber(row.hotLeads)}</td>
                  <td class="number">{formatNumber(row.visitors)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </div>
  );
}

function PricingPanel({ data, site, leads }: { data: PricingResponse; site: string; leads: LeadsLink }) {
  return (
    <>
      <p class="muted">Pages matching {data.patterns.join(', ')}.</p>
      <dl class="kpis kpis-small" aria-label="Pricing-page figures">
        <Kpi label="Pricing views" value={data.views} />
        <Kpi label="Visitors who viewed pricing" value={data.visitors} />
        <Kpi label="Share of all visitors" value={data.visitorShare} format={formatShare} />
        <Kpi label="Leads who viewed pricing" value={data.leads} href={leads({ pricing: '1' })} />
        <Kpi label="Engaged time per view" value={data.averageEngagedSeconds} format={formatSeconds} />
      </dl>
      <div class="chart-pair">
        <Chart label="Pricing-page views per day" x={data.days} series={[{ label: 'Views', values: data.dailyViews, color: COLORS.warm, total: data.views.current }]} />
        <div>
          <h3>Leads who spent longest on pricing</h3>
          {data.topLeads.length === 0 ? (
            <p class="muted">No identified lead viewed pricing in this period.</p>
          ) : (
            <TableScroll label="Leads who spent longest on pricing">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Lead</th>
                    <th scope="col" class="number">
                      Time
                    </th>
                    <th scope="col" class="number">
                      Views
                    </th>
                    <th scope="col" class="number">
                      Score
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.topLeads.map((lead) => (
                    <tr key={lead.id}>
                      <th scope="row">
                        <a href={`/dashboard/leads/${lead.id}${query({ site })}`}>{lead.name || lead.email}</a>
                        {lead.company && <span class="muted"> · {lead.company}</span>}
                      </th>
                      <td class="number">{formatSeconds(lead.engagedSeconds)}</td>
                      <td class="number">{formatNumber(lead.views)}</td>
                      <td class="number">
                        {formatNumber(lead.score)} <TemperatureBadge temperature={lead.temperature} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableScroll>
          )}
        </div>
      </div>
    </>
  );
}

function DistributionPanel({ data, leads }: { data: ScoreDistributionResponse; leads: LeadsLink }) {
  if (data.buckets.length === 0) return <p class="muted">No identified lead seen in this period.</p>;
  const { warm, hot } = data.thresholds;
  // Each lead counts under its own temperature: a threshold may fall inside a bucket (60 is warm, 61 hot).
  const band = (temperature: 'cold' | 'warm' | 'hot') => {
    const values = data.buckets.map((bucket) => bucket[temperature]);
    return { values, total: values.reduce((sum, value) => sum + value, 0) };
  };
  return (
    <>
      <p class="muted">
        Identified leads seen in the period by current score, in steps of {data.bucketSize} points: cold below {warm}, warm from {warm} to {hot}, hot above {hot}. The data table opens each step's leads.
      </p>
      <Chart
        label="Leads by score"
        kind="bars"
        stacked
        x={data.buckets.map((bucket) => bucket.from)}
        xStep={data.bucketSize}
        xLabel={(from) => `${from} to ${Number(from) + data.bucketSize - 1} points`}
        xHref={(from) => leads({ minScore: String(from), maxScore: String(Number(from) + data.bucketSize - 1) })}
        series={[
          { label: 'Cold', color: COLORS.cold, ...band('cold') },
          { label: 'Warm', color: COLORS.warm, ...band('warm') },
          { label: 'Hot', color: COLORS.hot, ...band('hot') },
        ]}
      />
    </>
  );
}
