import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatDay, formatNumber, formatTime } from '../format.ts';
import { stackedValues } from './stack.ts';
import { TableScroll } from './ui.tsx';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  color: string;
  /** A line's dash pattern (uPlot's: drawn, gap, in pixels), for lines told apart by more than their colour. */
  dash?: number[];
  /**
   * The series' figure for the whole chart, which its summary for screen readers says. Give it only where it is
   * known: daily counts of distinct visitors or leads do not add up to the period's (one seen on two days is one).
   */
  total?: number;
}

export interface ChartProps {
  /** What the chart shows; also its accessible name. */
  label: string;
  /** Days (YYYY-MM-DD) or ISO times (a score's changes, several a day) for a time series, or numbers (e.g. score buckets). */
  x: string[] | number[];
  series: ChartSeries[];
  kind?: 'line' | 'bars';
  /** Bars only: each x's bars stacked, the first series at the bottom (the table and the legend keep each one's own values). */
  stacked?: boolean;
  /** Bars over numbers: the width of each x's band (a score bucket's size); the gap between the first two x by default. */
  xStep?: number;
  height?: number;
  /** How an x value reads in the data table, e.g. "40–49 points". */
  xLabel?: (x: string | number) => string;
  /** Where an x value's row of the data table leads: the list of its leads (a score bucket's). */
  xHref?: (x: string | number) => string;
  /** Time series only: moments marked with a dashed vertical line and a short label (e.g. the scoring rules changed), each at one of `x`. */
  marks?: ChartMark[];
}

export interface ChartMark {
  /** One of the chart's x values. */
  x: string;
  /** A word or two, drawn at the line's top and listed in the data table, e.g. "rules changed". */
  label: string;
}

const isDays = (x: ChartProps['x']): x is string[] => typeof x[0] === 'string';
/** ISO times rather than days: each point at its time, and labelled with it. */
const isTimes = (x: ChartProps['x']) => isDays(x) && x.some((value) => value.length > 10);
const shortDay = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
const shortTime = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
const clockTime = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'UTC' });
/** A time axis' steps in seconds: never a fraction of one, the precision of a score's changes. */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 2_592_000, 7_776_000, 31_536_000];
/**
 * A day axis' steps in seconds, uPlot's own from one day up (30 days is its month, 365 its year: ticks on the 1st).
 * Left to pick, uPlot spaced a short period's ticks by hours, each labelled with its day: "1 Dec, 1 Dec, 2 Dec".
 */
const DAY_STEPS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 30, 60, 90, 120, 180, 365].map((days) => days * 86_400);
/**
 * A time axis' range: the data's, or half a day either side of a lone point, which then sits in the middle, at its
 * label. uPlot gave one point a day's width in milliseconds, counted as seconds: an axis of years.
 */
const timeRange = (xs: number[]) => (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => (xs.length === 1 ? [xs[0]! - 43_200, xs[0]! + 43_200] : [min, max]);
/** A time axis' ticks as precise as their spacing: days, minutes, or seconds (each tick would read the same minute). */
const tickFormat = (times: boolean, step: number) => (!times || step >= 86_400 ? shortDay : step >= 60 ? shortTime : clockTime);
/** Whole-number steps up to billions: past its largest step, uPlot draws an axis without a label. */
const COUNT_STEPS = [1, 2, 5].flatMap((step) => Array.from({ length: 10 }, (_, power) => step * 10 ** power)).sort((a, b) => a - b);
const toSeconds = (value: string) => Date.parse(value.length > 10 ? value : `${value}T00:00:00Z`) / 1000;

/**
 * The counts axis' width: its widest label as the canvas draws it, with the tick and the gap beside it. At uPlot's
 * fixed 50 px, "20,000" lost its first digits at the chart's left edge and the axis read "0,000 / 5,000 / 0,000": a
 * site's 18,000 visitors a day looked like 0 to 5,000. (Before its first labels, uPlot asks with none.)
 */
function countAxisSize(u: uPlot, values: string[] | null, axisIndex: number): number {
  const axis = u.axes[axisIndex]!;
  // uPlot keeps an axis' font as [CSS font at the device's pixel ratio, its size] once the chart is made.
  u.ctx.font = (axis.font as unknown as [string, number])[0];
  const widest = Math.max(0, ...(values ?? []).map((value) => u.ctx.measureText(value).width)) / devicePixelRatio;
  return Math.max(50, Math.ceil((axis.ticks?.size ?? 10) + (axis.gap ?? 5) + widest + 4));
}

/**
 * A uPlot chart that follows its container's width, with the same figures as a table under a disclosure for
 * keyboard and screen-reader users (a canvas says nothing to them).
 */
export function Chart({ label, x, series, kind = 'line', height = 220, xLabel, xHref, stacked = false, xStep, marks = [] }: ChartProps) {
  const target = useRef<HTMLDivElement>(null);
  const legend = useRef<HTMLDivElement>(null);
  const days = isDays(x);
  const times = isTimes(x);
  /** How a time-series x (epoch seconds) reads: its day, or its time. */
  const describeSeconds = (seconds: number) => (times ? formatTime(new Date(seconds * 1000).toISOString()) : formatDay(new Date(seconds * 1000).toISOString().slice(0, 10)));
  useEffect(() => {
    const element = target.current;
    if (!element) return;
    const xs = days ? (x as string[]).map(toSeconds) : (x as number[]);
    // Points at their times (a score's changes) hold until the next: a step, not a slope between two changes.
    const bars = kind === 'bars' ? uPlot.paths.bars!({ size: [0.8, 48], align: 1 }) : times ? uPlot.paths.stepped!({ align: 1 }) : undefined;
    // A stack is drawn as each series' running sum, the tallest first, so every bar shows its own band.
    const stack = stacked && kind === 'bars';
    const drawn = stack ? stackedSeries(series) : series.map((one) => ({ ...one, plotted: one.values }));
    /** The legend's toggle of each series, by its index in uPlot's series (0 is x, which has none). */
    const toggles: HTMLElement[] = [];
    const options: uPlot.Options = {
      width: Math.max(element.clientWidth, 200),
      height,
      // Days are UTC days, as the API counts them.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
      scales: {
        // Over days or times, timeRange. A bar starts at its x (align 1): the axis runs one step past the last x, or
        // the last bar would be cut off.
        x: { time: days, range: days ? timeRange(xs) : bars ? (_u: uPlot, min: number, max: number) => [min, max + (xStep ?? (xs.length > 1 ? xs[1]! - xs[0]! : 1))] as uPlot.Range.MinMax : undefined },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        {
          stroke: '#3e4c59',
          grid: { stroke: '#e4e7eb' },
          ticks: { stroke: '#cbd2d9' },
          ...(days
            ? { values: (_u: uPlot, ticks: number[], _axis: number, _space: number, step: number) => ticks.map((tick) => tickFormat(times, step).format(new Date(tick * 1000))) }
            : {}),
          // A time's label ("2 Dec, 17:05") is about 80 px wide: ticks at uPlot's usual 50 px drew them on each other.
          ...(times ? { incrs: TIME_STEPS, space: 110 } : days ? { incrs: DAY_STEPS } : {}),
        },
        // Counts: whole-number steps only, so a small series does not read "0, 0, 1, 1".
        { stroke: '#3e4c59', grid: { stroke: '#e4e7eb' }, ticks: { stroke: '#cbd2d9' }, incrs: COUNT_STEPS, values: (_u, ticks) => ticks.map((tick) => formatNumber(tick)), size: countAxisSize },
      ],
      series: [
        { label: times ? 'Time' : days ? 'Day' : 'From', value: (_u, value) => (value == null ? '' : days ? describeSeconds(value) : String(value)) },
        ...drawn.map((one) => ({
          label: one.label,
          stroke: one.color,
          width: kind === 'bars' ? 1 : 2,
          fill: kind === 'bars' ? one.color : undefined,
          dash: one.dash,
          paths: bars,
          points: { show: kind !== 'bars' && xs.length <= 45 },
          value: (_u: uPlot, _plotted: number | null, _series: number, i: number | null) => {
            const value = i == null ? null : one.values[i];
            return value == null ? '–' : formatNumber(value);
          },
        })),
      ],
      cursor: { drag: { x: false, y: false } },
      legend: {
        // Next to the chart's image rather than in it: what an image holds is not read, nor reached with the keyboard.
        mount: (_u, table) => legend.current?.append(table),
        // Each series' marker drawn as its line is: solid, dashed or dotted.
        markers: { dash: (u, i) => (!u.series[i]?.dash ? 'solid' : u.series[i]!.dash![0]! <= 2 ? 'dotted' : 'dashed') },
      },
      hooks: {
        draw: [(u) => drawMarks(u, marks)],
        setSeries: [
          (u) => {
            toggles.forEach((toggle, i) => toggle.setAttribute('aria-pressed', String(u.series[i]!.show)));
            // A stack is drawn again without the hidden bands: drawn from the top, so the bottom series is uPlot's last.
            if (stack) u.setData([xs, ...stackedValues(series.map((one) => one.values), series.map((_, n) => u.series[series.length - n]!.show !== false))] as uPlot.AlignedData);
          },
        ],
      },
    };
    const plot = new uPlot(options, [xs, ...drawn.map((one) => one.plotted)] as uPlot.AlignedData, element);
    if (legend.current) keyboardLegend(plot, legend.current, toggles);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(element.clientWidth, 200), height }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify(x), JSON.stringify(series), kind, height, stacked, xStep, JSON.stringify(marks)]);

  const describeX = (value: string | number) => (xLabel ? xLabel(value) : typeof value === 'string' ? (times ? formatTime(value) : formatDay(value)) : String(value));
  const totals = series.flatMap((one) => (one.total === undefined ? [] : [`${one.label}: ${formatNumber(one.total)} in all. `]));
  const marked = marks.map((mark) => `${mark.label} at ${describeX(mark.x)}. `);
  const marksAt = (value: string | number) => marks.filter((mark) => mark.x === value).map((mark) => mark.label).join(', ');
  return (
    <figure class="chart">
      <div ref={target} class="chart-canvas" role="img" aria-label={`${label}. ${totals.join('')}${marked.join('')}The data table below lists every value.`} />
      <div ref={legend} class="chart-legend" role="group" aria-label={`${label}: series shown`} />
      <details class="chart-data">
        <summary>{label}: data table</summary>
        <TableScroll label={`${label}, as a table`}>
          <table>
            <thead>
              <tr>
                <th scope="col">{times ? 'Time' : days ? 'Day' : 'Bucket'}</th>
                {series.map((one) => (
                  <th scope="col" class="number" key={one.label}>
                    {one.label}
                  </th>
                ))}
                {marks.length > 0 && <th scope="col">Note</th>}
              </tr>
            </thead>
            <tbody>
              {(x as (string | number)[]).map((value, i) => (
                <tr key={String(value)}>
                  <th scope="row">{xHref ? <a href={xHref(value)}>{describeX(value)}</a> : describeX(value)}</th>
                  {series.map((one) => (
                    <td class="number" key={one.label}>
                      {one.values[i] == null ? '–' : formatNumber(one.values[i]!)}
                    </td>
                  ))}
                  {marks.length > 0 && <td>{marksAt(value)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      </details>
    </figure>
  );
}

/**
 * uPlot's legend is a table of the series whose names show or hide them on a click. Made a row of toggle buttons, for
 * the keyboard (Enter, Space) and screen readers (pressed while shown), with no table (it has no header: nothing to
 * read as one); the values it shows under the mouse are those of the data table, hidden from screen readers. With a
 * live legend, its rows are uPlot's series, x first.
 */
function keyboardLegend(plot: uPlot, holder: HTMLElement, toggles: HTMLElement[]) {
  holder.querySelector('table')?.setAttribute('role', 'none');
  holder.querySelectorAll<HTMLTableRowElement>('tr.u-series').forEach((row, i) => {
    const [name, ...values] = [...row.cells];
    for (const value of values) value.setAttribute('aria-hidden', 'true');
    if (!name || i === 0) return name?.setAttribute('aria-hidden', 'true');
    name.setAttribute('role', 'button');
    // Its name without the colon uPlot's stylesheet writes after it.
    name.setAttribute('aria-label', String(plot.series[i]!.label));
    name.setAttribute('aria-pressed', String(plot.series[i]!.show));
    name.tabIndex = 0;
    name.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      plot.setSeries(i, { show: !plot.series[i]!.show });
    });
    toggles[i] = name;
  });
}

/** The marks as dashed vertical lines across the plot, each labelled at its top (uPlot's draw hook: canvas pixels). */
function drawMarks(u: uPlot, marks: ChartMark[]) {
  if (marks.length === 0) return;
  const { ctx, bbox } = u;
  const px = devicePixelRatio;
  ctx.save();
  ctx.strokeStyle = '#7b8794';
  ctx.fillStyle = '#3e4c59';
  ctx.lineWidth = px;
  ctx.setLineDash([4 * px, 4 * px]);
  ctx.font = `${11 * px}px system-ui, sans-serif`;
  ctx.textBaseline = 'top';
  for (const mark of marks) {
    const left = Math.round(u.valToPos(toSeconds(mark.x), 'x', true));
    if (left < bbox.left || left > bbox.left + bbox.width) continue;
    ctx.beginPath();
    ctx.moveTo(left, bbox.top);
    ctx.lineTo(left, bbox.top + bbox.height);
    ctx.stroke();
    // The label on the side of the line with room for it.
    const right = left + 4 * px + ctx.measureText(mark.label).width <= bbox.left + bbox.width;
    ctx.textAlign = right ? 'left' : 'right';
    ctx.fillText(mark.label, left + (right ? 4 : -4) * px, bbox.top + 2 * px);
  }
  ctx.restore();
}

/** Stacked bars' series, top first, each with the running sums drawn (stackedValues). */
function stackedSeries(series: ChartSeries[]): (ChartSeries & { plotted: (number | null)[] })[] {
  const plotted = stackedValues(series.map((one) => one.values));
  return [...series].reverse().map((one, k) => ({ ...one, plotted: plotted[k]! }));
}
