import { flush, push } from './transport.ts';

/** Activity keeps a page engaged for this long after the last pointer, key, scroll or touch event. */
const ACTIVE_MS = 30_000;
/** While engaged, a checkpoint goes out every 15 s, so a crash or a killed tab loses at most that much. */
const CHECKPOINT_MS = 15_000;

/**
 * Engaged time per page, the pricing-page signal. Time counts only while the page is visible AND focused AND
 * the visitor was active in the last 30 s; a background tab or a walk away from the desk does not count.
 * Pieces are sent when the page is hidden or left, on blur, before an SPA navigation and every 15 s of
 * engagement; the server adds the pieces up.
 * Returns `onPage(url)`, to be called before each page view.
 */
export function trackDwell(): (url: string) => void {
  const now = () => Date.now();
  let pageUrl = '';
  let engagedMs = 0;
  let sentMs = 0;
  let maxScroll = 0;
  let lastActive = now();
  let accounted = lastActive;
  let attentive = false;

  /** Counts the time since the last settle that was both attentive and within 30 s of activity. */
  function settle() {
    const t = now();
    if (attentive) engagedMs += Math.max(0, Math.min(t, lastActive + ACTIVE_MS) - accounted);
    accounted = t;
    attentive = !document.hidden && document.hasFocus();
  }

  function send() {
    settle();
    const piece = engagedMs - sentMs;
    if (piece > 0) {
      sentMs = engagedMs;
      push('e', { u: pageUrl, ms: piece, sd: maxScroll });
    }
  }

  function active() {
    settle();
    lastActive = accounted;
    // |0 turns the NaN of an empty, zero-height document into 0.
    maxScroll = Math.max(maxScroll, Math.min(100, ((scrollY + innerHeight) / document.documentElement.scrollHeight) * 100) | 0);
  }

  // Pointer events cover mouse, pen and touch, and keys; none of these can block scrolling, so they need no
  // `passive`. Scrolling counts for the page itself only (scroll events do not bubble): an inner element that
  // scrolls by itself (a carousel) is no visitor.
  for (const type of ['pointerdown', 'pointermove', 'keydown']) addEventListener(type, active, true);
  addEventListener('scroll', active);
  // Leaving is when the last piece of dwell is known, so this is also where the whole queue goes out, by beacon.
  const leave = () => (send(), flush(1));
  addEventListener('focus', active);
  addEventListener('blur', send);
  addEventListener('pagehide', leave);
  document.addEventListener('visibilitychange', () => (document.hidden ? leave() : active()));
  setInterval(() => {
    settle();
    if (engagedMs - sentMs >= CHECKPOINT_MS) send();
  }, 1000);

  return (url) => {
    send();
    pageUrl = url;
    engagedMs = sentMs = maxScroll = 0;
    active();
  };
}
