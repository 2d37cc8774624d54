import { DENIED } from './consent.ts';
import { consent, flush, push } from './transport.ts';

/** Activity keeps a page engaged for this long after the last pointer, key, scroll or touch event. */
const ACTIVE_MS = 30_000;
/** While engaged, a checkpoint goes out every 15 s, so a crash or a killed tab loses at most that much. */
const CHECKPOINT_MS = 15_000;

/**
 * Engaged time per page, the pricing-page signal. Time counts only while the page is visible AND focused AND
 * the visitor was active in the last 30 s; a background tab or a walk away from the desk does not count.
 * Pieces are sent when the page is hidden or left, on blur, before an SPA navigation and every 15 s of
 * engagement; the server adds the pieces up.
 * Returns `onPage()`, to be called before each page view (the new page is location.href by then).
 */
export function trackDwell(): () => void {
  // The first page view (onPage) sets the page and marks activity: no time counts before it.
  let pageUrl: string;
  /** Engaged time not sent yet. */
  let engagedMs = 0;
  // Not read before the first page view (onPage), which settles (setting `accounted`) and resets `maxScroll`.
  let maxScroll: number;
  let lastActive = 0;
  let accounted: number;
  /** Visible and focused at the last settle (not before the first). */
  let attentive: boolean | undefined;

  /** Counts the time since the last settle that was both attentive and within 30 s of activity. */
  const settle = () => {
    const t = Date.now();
    // Denied (checked at least once a second): what was not sent is dropped, and nothing counts until a new grant.
    if (consent == DENIED) engagedMs = 0;
    else if (attentive) engagedMs += Math.max(0, Math.min(t, lastActive + ACTIVE_MS) - accounted);
    accounted = t;
    // Focus first (fewer bytes of gzip); both are plain reads.
    attentive = document.hasFocus() && !document.hidden;
  };

  /**
   * The deepest the page was seen, in %: measured when the page scrolls and when a piece is sent, never as a page is
   * shown, when its content may not be there yet (a slow page, an SPA's next route): a short document read as 100.
   * Only then: reading the page's height makes the browser lay the page out at once when it changed (a page that
   * changes on hover paid a layout on each pointermove; a long page's first, forced mid-parse, 0.6 s).
   */
  const measure = () =>
    // |0 turns the NaN of an empty, zero-height document into 0.
    (maxScroll = Math.max(maxScroll, Math.min(100, ((scrollY + innerHeight) / document.documentElement.scrollHeight) * 100) | 0));

  const send = () => {
    settle();
    // Never without the page's URL (the collector refuses the whole batch): the time waits for the first view.
    if (engagedMs && pageUrl) {
      measure();
      push('e', { u: pageUrl, ms: engagedMs, sd: maxScroll, t: Math.min(accounted, lastActive + ACTIVE_MS) });
      engagedMs = 0;
    }
  };

  const activity = () => {
    settle();
    lastActive = accounted;
  };

  // Pointer events cover mouse, pen and touch, and keys; none of these can block scrolling, so they need no
  // `passive`. The wheel (or a touchpad) is a visitor scrolling, the page or an element of it (an app whose content
  // scrolls in a panel); browsers make a window's wheel listeners passive. Focus: the window's, and a field's
  // (captured: it does not bubble), which a visitor's click or key gives anyway. A scroll event counts for the page
  // itself only (scroll events do not bubble): an inner element that scrolls by itself (a carousel) is no visitor.
  for (const type of ['pointerdown', 'pointermove', 'keydown', 'wheel', 'focus']) addEventListener(type, activity, true);
  addEventListener('scroll', () => {
    activity();
    measure();
  });
  // Leaving is when the last piece of dwell is known, so this is also where the whole queue goes out, by beacon.
  // pagehide and the hidden state both mean leaving, in either order (pagehide first, in Chromium): the second adds
  // no piece of a few ms.
  // Statement bodies here rather than comma expressions: the listeners' values are ignored, and these gzip smaller.
  const leave = () => {
    send();
    attentive = false;
    flush(1);
  };
  addEventListener('blur', send);
  addEventListener('pagehide', leave);
  // visibilitychange bubbles from the document to the window.
  addEventListener('visibilitychange', () => (document.hidden ? leave : activity)());
  setInterval(() => {
    settle();
    if (engagedMs >= CHECKPOINT_MS) send();
  }, 1000);

  return () => {
    send();
    pageUrl = location.href;
    maxScroll = 0;
    activity();
  };
}
