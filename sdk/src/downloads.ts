import { push } from './transport.ts';

/**
 * Downloads (a file extension in the link's path, a `download` attribute, or `data-hearth-asset="NAME"` for
 * gated assets) and outbound links (to another host: mailto:, tel: and javascript: links have none). Left, middle and modified clicks and Enter on a focused link all count.
 * The event goes out at once (the click may be about to unload the page), by a keepalive fetch, which outlives the
 * page, and whose failure is kept for a retry when the page stays (a download, a link opened in another tab).
 */
export function trackDownloads(): void {
  const onClick = (event: MouseEvent) => {
    // Left click (also Enter on a link, and ctrl/cmd/shift clicks) or middle click; never the right button.
    if (event.button > 1) return;
    // The link is its own URL (its href resolved, host, pathname): one whose href does not parse has an empty host
    // and path, where new URL() threw into the page.
    const link = (event.target as Element).closest?.<HTMLAnchorElement>('a[href]');
    if (!link) return;
    const asset = link.getAttribute('data-hearth-asset');
    const type =
      asset != null ||
      link.hasAttribute('download') ||
      // A file extension: documents, archives, media and installers. (Regexes used once are written where they are
      // used, not in named constants: hoisted to the top of the snippet, they cost bytes of gzip.)
      /\.(pdf|(doc|xls|ppt)x?|od[tsp]|rtf|txt|csv|zip|rar|7z|t?gz|tar|bz2|xz|dmg|pkg|exe|msi|deb|rpm|apk|iso|epub|mp[34]|wav|mov|avi|mkv|webm)$/i.test(link.pathname)
        ? 'd'
        : link.host && link.host != location.host && 'o';
    // An SVG link's href is no string: as text, so the batch is not refused for it.
    // A data: or blob: link carries the file itself (an export of contacts, 100 KB of it): its download name instead.
    if (type) push(type, { h: /^[bd]/.test(link.protocol) ? link.download : link.href + '', x: link.textContent!.trim().slice(0, 200), k: asset }, true);
  };
  // On the window, whose capture phase comes first: a page's own capturing handler cannot stop the click unseen.
  addEventListener('click', onClick, true);
  addEventListener('auxclick', onClick, true);
}
