import type { Compared } from '../../../collector/api/dashboard-types.ts';
import { describeChange, formatNumber } from '../format.ts';

/** A label as said inside a sentence: lower case, but for acronyms ("Hot leads" → "hot leads", "MQLs" stays). */
const spoken = (label: string) => label.split(' ').map((word) => (/^[A-Z]{2,}s?$/.test(word) ? word : word.toLowerCase())).join(' ');

/** A figure for the period, with its change from the previous period in words (colour only repeats them). */
export function Kpi({ label, value, href, format = formatNumber, lowerIsBetter = false }: { label: string; value: Compared; href?: string; format?: (n: number) => string; lowerIsBetter?: boolean }) {
  const change = describeChange(value.current, value.previous);
  const good = change.direction === 'flat' ? 'flat' : (change.direction === 'up') !== lowerIsBetter ? 'good' : 'bad';
  const figure = <span class="kpi-value">{format(value.current)}</span>;
  return (
    <div class="kpi">
      <dt>{label}</dt>
      <dd>
        {href ? (
          // Named by its figure and label: read out of context, a link says "633 warm leads: see the list" ("1 MQL: …"), not "633".
          <a href={href} aria-label={`${format(value.current)} ${spoken(value.current === 1 ? label.replace(/s$/, '') : label)}: see the list`}>
            {figure}
          </a>
        ) : (
          figure
        )}
        <span class={`kpi-change kpi-${good}`}>
          <span aria-hidden="true">{change.direction === 'up' ? '▲ ' : change.direction === 'down' ? '▼ ' : ''}</span>
          {change.text}
          <span class="muted"> (previous: {format(value.previous)})</span>
        </span>
      </dd>
    </div>
  );
}
