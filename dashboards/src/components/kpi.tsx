import type { Compared, ComparedAverage } from '../../../collector/api/dashboard-types.ts';
import { describeChange, describePointChange, formatNumber, formatShare } from '../format.ts';

/** A label as said inside a sentence: lower case, but for acronyms ("Hot leads" → "hot leads", "MQLs" stays). */
const spoken = (label: string) => label.split(' ').map((word) => (/^[A-Z]{2,}s?$/.test(word) ? word : word.toLowerCase())).join(' ');

/** What a change reads when a side has no figure (an average of nothing), or both show alike once formatted. */
function changeOf(value: Compared | ComparedAverage, format: (n: number) => string): ReturnType<typeof describeChange> {
  const { current, previous } = value;
  if (current === null || previous === null) return { text: current === previous ? 'no change' : current === null ? 'none in this period' : 'none before', direction: 'flat' };
  // "2 min 5 s, down 0.2% (previous: 2 min 5 s)" would contradict itself.
  if (format(current) === format(previous)) return { text: 'no change', direction: 'flat' };
  // A share changes by percentage points.
  return format === formatShare ? describePointChange(current, previous) : describeChange(current, previous);
}

/** A figure for the period, with its change from the previous period in words (colour only repeats them); "–" for an average of nothing. */
export function Kpi({ label, value, href, format = formatNumber, lowerIsBetter = false }: { label: string; value: Compared | ComparedAverage; href?: string; format?: (n: number) => string; lowerIsBetter?: boolean }) {
  const change = changeOf(value, format);
  const good = change.direction === 'flat' ? 'flat' : (change.direction === 'up') !== lowerIsBetter ? 'good' : 'bad';
  const shown = (n: number | null) => (n === null ? '–' : format(n));
  const figure = <span class="kpi-value">{shown(value.current)}</span>;
  return (
    <div class="kpi">
      <dt>{label}</dt>
      <dd>
        {href ? (
          // Named by its figure and label: read out of context, a link says "633 warm leads: see the list" ("1 MQL: …"), not "633".
          <a href={href} aria-label={`${shown(value.current)} ${spoken(value.current === 1 ? label.replace(/s$/, '') : label)}: see the list`}>
            {figure}
          </a>
        ) : (
          figure
        )}
        <span class={`kpi-change kpi-${good}`}>
          <span aria-hidden="true">{change.direction === 'up' ? '▲ ' : change.direction === 'down' ? '▼ ' : ''}</span>
          {change.text}
          <span class="muted"> (previous: {shown(value.previous)})</span>
        </span>
      </dd>
    </div>
  );
}
