/**
 * Moves the keyboard's focus to the page's heading, so keyboard and screen-reader users start there. A page still
 * loading has no heading yet: the main region takes the focus, and hands it to the heading once drawn, unless the
 * user has moved on meanwhile. Returns what stops waiting for the heading.
 */
export function focusPageHeading(region: HTMLElement | null = document.getElementById('main'), options?: FocusOptions): () => void {
  if (!region) return () => undefined;
  const heading = () => region.querySelector<HTMLElement>('h1');
  if (heading()) {
    heading()!.focus(options);
    return () => undefined;
  }
  region.focus(options);
  const drawn = new MutationObserver(() => {
    if (!heading()) return;
    drawn.disconnect();
    if (document.activeElement === region) heading()!.focus(options);
  });
  drawn.observe(region, { childList: true, subtree: true });
  return () => drawn.disconnect();
}

/** The focus is nowhere: on the page's body, where a focused element removed from the page leaves it. */
export const focusLost = () => document.activeElement === document.body || document.activeElement === null;
