import type { ComponentChildren, RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { ApiError } from '../api.ts';
import { ruleName } from '../../../scoring/labels.ts';
import type { Lifecycle, Temperature } from '../../../collector/api/dashboard-types.ts';

/** A titled region of a page; its heading names it for screen readers' landmark lists. */
export function Panel({ id, title, actions, wide, children }: { id: string; title: string; actions?: ComponentChildren; wide?: boolean; children: ComponentChildren }) {
  return (
    <section class={wide ? 'panel panel-wide' : 'panel'} aria-labelledby={`${id}-title`}>
      <header class="panel-header">
        <h2 id={`${id}-title`}>{title}</h2>
        {actions && <div class="panel-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function ErrorMessage({ error, what }: { error: ApiError; what: string }) {
  const text =
    error.status === 403
      ? `You cannot see ${what}: ${error.message}`
      : error.unavailable
        ? `${what[0]!.toUpperCase()}${what.slice(1)}: temporarily unavailable. This page tries again by itself.`
        : `Could not load ${what}: ${error.message}`;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** Shown while the first answer is on its way; later reloads keep the old figures on screen. */
export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

const TEMPERATURE_LABELS: Record<Temperature, string> = { cold: 'Cold', warm: 'Warm', hot: 'Hot' };
const LIFECYCLE_LABELS: Record<Lifecycle, string> = { lead: 'Lead', mql: 'MQL', prospect: 'Prospect', disqualified: 'Disqualified' };

export const TemperatureBadge = ({ temperature }: { temperature: Temperature }) => <span class={`badge badge-${temperature}`}>{TEMPERATURE_LABELS[temperature]}</span>;
export const LifecycleBadge = ({ lifecycle }: { lifecycle: Lifecycle }) => <span class={`badge badge-${lifecycle}`}>{LIFECYCLE_LABELS[lifecycle]}</span>;
export const lifecycleLabel = (lifecycle: Lifecycle) => LIFECYCLE_LABELS[lifecycle];

/** A horizontal bar for a value out of `max`; decorative, the number is always written next to it. */
export function Bar({ value, max, tone = 'accent' }: { value: number; max: number; tone?: string }) {
  const width = max > 0 ? Math.max(0, Math.min(100, (value / max) * 100)) : 0;
  return (
    <span class="bar" aria-hidden="true">
      <span class={`bar-fill bar-${tone}`} style={{ width: `${width}%` }} />
    </span>
  );
}

/** A box that scrolls on its own (a wide table sideways, a long list down); focusable and named so the keyboard can scroll it too. */
export function ScrollRegion({ label, class: className, children }: { label: string; class: string; children: ComponentChildren }) {
  return (
    <div class={className} tabIndex={0} role="region" aria-label={label}>
      {children}
    </div>
  );
}

/** A table that scrolls sideways on a narrow screen. */
export const TableScroll = ({ label, children }: { label: string; children: ComponentChildren }) => (
  <ScrollRegion label={label} class="table-scroll">
    {children}
  </ScrollRegion>
);

/** The reasons of a score as short chips, in whole points: "Pricing page +40" for 39.54. */
export function ReasonChips({ reasons }: { reasons: { rule: string; points: number }[] }) {
  if (reasons.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="chips">
      {reasons.map((reason) => {
        const points = Math.round(reason.points);
        return (
          <li key={reason.rule}>
            {ruleName(reason.rule)} <span class={points >= 0 ? 'plus' : 'minus'}>{points >= 0 ? `+${points}` : points}</span>
          </li>
        );
      })}
    </ul>
  );
}

/** Where the last page of a list of `total` items, `size` a page, starts (0 for a list of one page or none). */
export const lastPageStart = (total: number, size: number) => Math.max(0, Math.floor((total - 1) / size) * size);

/**
 * A list's First / Previous / Next / Last page. A turn past either end is marked unavailable rather than disabled: a
 * disabled button drops the keyboard's focus. A turn undefined: no page that way.
 */
export function Pager({ label, onFirst, onPrevious, onNext, onLast }: { label: string } & Record<'onFirst' | 'onPrevious' | 'onNext' | 'onLast', (() => void) | undefined>) {
  const turns = [
    ['First page', onFirst],
    ['Previous page', onPrevious],
    ['Next page', onNext],
    ['Last page', onLast],
  ] as const;
  return (
    <nav class="pager" aria-label={label}>
      {turns.map(([name, turn]) => (
        <button key={name} type="button" aria-disabled={turn ? undefined : 'true'} onClick={() => turn?.()}>
          {name}
        </button>
      ))}
    </nav>
  );
}

/**
 * A list's pager is under it: a page turned from there (`turn` wraps the turn) takes the reader to the top of the new
 * page, its count line (`count`), focused and scrolled to once the new page is drawn (`page`, the list's answer). Not
 * when the user has moved on meanwhile: the focus stays where they took it.
 */
export function usePageTurn<T extends HTMLElement>(page: unknown): { count: RefObject<T | null>; turn: (go: () => void) => void } {
  const count = useRef<T>(null);
  /** What had the focus as the page was turned (the pager's button); undefined when no turn is on its way. */
  const pressed = useRef<Element | null | undefined>(undefined);
  useEffect(() => {
    if (pressed.current === undefined) return;
    const from = pressed.current;
    pressed.current = undefined;
    // The button may be gone with the page it was on (Last page, from past the end): the focus is on the page's body then.
    const active = document.activeElement;
    if (active !== from && active !== document.body && active !== null) return;
    count.current?.focus();
    count.current?.scrollIntoView({ block: 'start' });
  }, [page]);
  const turn = (go: () => void) => {
    pressed.current = document.activeElement;
    go();
  };
  return { count, turn };
}
