import type { ComponentChildren } from 'preact';
import { ApiError, request } from '../api.ts';

/** Saves `href` as a file, as a link with `download` does. */
function download(href: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = '';
  link.click();
}

/**
 * A link that downloads an export (a list's CSV, a person's JSON). Followed after the session had ended, it saved the
 * API's 401 as the file, a JSON error under the export's name. The session is checked first, as each page's requests
 * do (api.ts): one that has ended sends the browser to the login page, which comes back to this page; otherwise the
 * file is downloaded. A click with a modifier key (a new tab or window) is left to the browser.
 */
export function DownloadLink({ href, class: className, children }: { href: string; class?: string; children: ComponentChildren }) {
  return (
    <a
      class={className}
      href={href}
      download=""
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        // Anything but an ended session (Hearth unreachable, say) is the download's to report, as before.
        request('/api/session').then(
          () => download(href),
          (error: unknown) => !(error instanceof ApiError && error.status === 401) && download(href),
        );
      }}
    >
      {children}
    </a>
  );
}
