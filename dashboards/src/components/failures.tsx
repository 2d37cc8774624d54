import { useLayoutEffect, useRef } from 'preact/hooks';
import type { ApiError, Loaded } from '../api.ts';
import { focusLost, focusPageHeading } from '../focus.ts';
import { ErrorMessage } from './ui.tsx';

/** Asking again may help: Hearth could not be reached, or failed on its side. Not for a request it refused (400, 403). */
const worthRetrying = (error: ApiError) => error.status === 0 || error.status >= 500;

/** "the funnel", "the funnel and the content", "the sources, the funnel and the content". */
const listOf = (whats: string[]) => (whats.length > 1 ? `${whats.slice(0, -1).join(', ')} and ${whats.at(-1)}` : whats[0]!);

/**
 * Why what a page shows could not load, each cause said once (a stopped server made seven identical alerts on the
 * marketing page, one per panel), and "Try again" where asking again may help. Every panel of several failing for
 * one cause is "the figures". Each page's answers (its panels, or its one list or lead) are given with what they are
 * called in a message: `[loaded, 'the leads']`.
 */
export function Failures({ panels }: { panels: [Loaded<unknown>, string][] }) {
  const button = useRef<HTMLButtonElement>(null);
  const shown = useRef(false);
  // The button goes once the answers come again: the focus it had goes to the page's heading, above them, not to the
  // page's body; as it goes, before the browser paints. So it does when the page draws what loaded in place of this
  // message (a list, a lead), which takes the button with it.
  useLayoutEffect(() => {
    const gone = shown.current && !button.current;
    shown.current = button.current !== null;
    if (gone && focusLost()) focusPageHeading();
  });
  useLayoutEffect(
    () => () => {
      if (button.current && document.activeElement === button.current) queueMicrotask(() => focusLost() && focusPageHeading());
    },
    [],
  );
  const failed = panels.filter(([loaded]) => loaded.error);
  const causes = new Map<string, { error: ApiError; whats: string[] }>();
  for (const [{ error }, what] of failed) {
    const key = `${error!.status} ${error!.message}`;
    if (!causes.has(key)) causes.set(key, { error: error!, whats: [] });
    causes.get(key)!.whats.push(what);
  }
  const retried = failed.filter(([loaded]) => worthRetrying(loaded.error!)).map(([loaded]) => loaded);
  const trying = retried.some((loaded) => loaded.loading);
  if (failed.length === 0) return null;
  return (
    <div class="failures">
      {[...causes].map(([key, { error, whats }]) => (
        <ErrorMessage key={key} error={error} what={panels.length > 1 && whats.length === panels.length ? 'the figures' : listOf(whats)} />
      ))}
      {retried.length > 0 && (
        // Not disabled while trying: a disabled button loses the keyboard focus.
        <button type="button" ref={button} aria-disabled={trying ? 'true' : undefined} onClick={() => !trying && retried.forEach((loaded) => loaded.reload())}>
          {trying ? 'Trying again…' : 'Try again'}
        </button>
      )}
    </div>
  );
}
