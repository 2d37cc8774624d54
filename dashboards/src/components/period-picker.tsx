import { useEffect, useRef, useState } from 'preact/hooks';
import { formatDay } from '../format.ts';
import { daysBefore, MAX_DAYS, periodDays, PRESETS, today, type ViewPeriod } from '../period.ts';
import { FIRST_PAGE, hrefWith, navigate, type Location } from '../router.ts';
import { NavigatingSelect } from './navigating-select.tsx';

/** Whose days a period counts (the dashboards' and the API's, whatever the computer's time zone), said where it is picked. */
const UTC = <abbr title="Days run from midnight to midnight UTC, whatever this computer's time zone">UTC</abbr>;

/** The period a page shows: the last 7, 30 or 90 days, or two days picked by hand; kept in the URL. */
export function PeriodPicker({ period, location }: { period: ViewPeriod; location: Location }) {
  const [custom, setCustom] = useState(period.preset === 'custom');
  const [from, setFrom] = useState(period.from);
  const [to, setTo] = useState(period.to);
  // Said next to the days picked, before asking: the API refuses such a period too, in each panel.
  const [tooLong, setTooLong] = useState<string>();
  // The fields follow the URL (a period shown, back and forward) without being drawn anew: a control drawn anew
  // loses the keyboard focus to the page's body. Days shown from the custom fields keep them open, even when they
  // make one of the presets; a period reached otherwise opens them only if it is none.
  const shownByHand = useRef(false);
  useEffect(() => {
    if (!shownByHand.current) setCustom(period.preset === 'custom');
    shownByHand.current = false;
    setFrom(period.from);
    setTo(period.to);
    setTooLong(undefined);
  }, [period.from, period.to, period.preset]);
  const go = (changes: { from?: string; to?: string; period?: string }) => navigate(hrefWith(location.path, location.params, { from: undefined, to: undefined, period: undefined, ...changes, ...FIRST_PAGE }));
  const pick = (set: (day: string) => void) => (event: Event) => {
    set((event.target as HTMLInputElement).value);
    setTooLong(undefined);
  };

  return (
    <form
      class="period-picker"
      aria-label="Period"
      onSubmit={(event) => {
        event.preventDefault();
        const days = periodDays(from, to);
        if (days > MAX_DAYS) setTooLong(`A period covers at most ${MAX_DAYS} days; this one has ${days}. Pick days closer together.`);
        else {
          shownByHand.current = from !== period.from || to !== period.to;
          go({ from, to });
        }
      }}
    >
      <label>
        Period{' '}
        <NavigatingSelect
          value={custom ? 'custom' : period.preset}
          onPick={(value) => {
            if (value === 'custom') return setCustom(true);
            setCustom(false);
            const end = today();
            const start = daysBefore(end, Number(value) - 1);
            setFrom(start);
            setTo(end);
            // Kept rolling: a bookmark of "Last 7 days" shows the last 7 days whenever it is opened (the 30 days are the bare URL).
            go(value === '30' ? {} : { period: `${value}d` });
          }}
        >
          {PRESETS.map((days) => (
            <option key={days} value={String(days)}>
              Last {days} days
            </option>
          ))}
          <option value="custom">Custom…</option>
        </NavigatingSelect>
      </label>
      {custom ? (
        <>
          <label>
            From <input type="date" value={from} max={to < today() ? to : today()} required aria-invalid={tooLong ? true : undefined} aria-describedby={tooLong ? 'period-too-long' : undefined} onInput={pick(setFrom)} />
          </label>
          <label>
            To <input type="date" value={to} min={from} max={today()} required aria-invalid={tooLong ? true : undefined} aria-describedby={tooLong ? 'period-too-long' : undefined} onInput={pick(setTo)} />
          </label>
          <button type="submit">Show</button> <span class="muted">days in {UTC}</span>
          {tooLong && (
            <span class="error" id="period-too-long" role="alert">
              {tooLong}
            </span>
          )}
        </>
      ) : (
        <span class="muted period-days">
          {formatDay(period.from)} – {formatDay(period.to)}, {UTC}
        </span>
      )}
    </form>
  );
}
