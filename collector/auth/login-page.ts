import { createHash } from 'node:crypto';

/**
 * The login page: one plain HTML form, no script, no external resource. Its only inline style is allowed by hash,
 * so the page runs under `default-src 'none'`. Colours keep a contrast of at least 4.5:1 for text and 3:1 for
 * borders and the focus ring, in light and dark schemes.
 */
const STYLE = `
:root { color-scheme: light dark; --bg: #f5f5f4; --card: #ffffff; --text: #1c1917; --muted: #44403c; --border: #78716c;
  --accent: #9a3412; --accent-text: #ffffff; --error: #b91c1c; --error-bg: #fef2f2; --focus: #1d4ed8; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #1c1917; --card: #292524; --text: #fafaf9; --muted: #d6d3d1; --border: #a8a29e;
    --accent: #fdba74; --accent-text: #1c1917; --error: #fecaca; --error-bg: #450a0a; --focus: #93c5fd; }
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: min(24rem, calc(100% - 2rem)); background: var(--card); border: 1px solid var(--border); border-radius: 8px; padding: 2rem; }
h1 { margin: 0 0 1.5rem; font-size: 1.5rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input { width: 100%; font: inherit; padding: .5rem .75rem; color: var(--text); background: var(--card); border: 1px solid var(--border); border-radius: 4px; }
button { margin-top: 1.5rem; width: 100%; font: inherit; font-weight: 600; padding: .625rem; border: 0; border-radius: 4px;
  background: var(--accent); color: var(--accent-text); cursor: pointer; }
input:focus-visible, button:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.error { margin: 0 0 1rem; padding: .75rem; border-left: 4px solid var(--error); background: var(--error-bg); color: var(--text); }
.hint { margin: 1.5rem 0 0; font-size: .875rem; color: var(--muted); }
.notice { margin: 0 0 1rem; padding: .75rem; border-left: 4px solid var(--border); }
`;

export const LOGIN_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);

export interface LoginPageState {
  /** Where to go after logging in (already checked to be a local path). */
  next?: string | undefined;
  /** The name typed before, kept when the page comes back with an error. */
  name?: string | undefined;
  error?: string | undefined;
  /** Why the browser was sent here (its session ended), said above the form. */
  notice?: string | undefined;
}

export function renderLoginPage({ next, name = '', error, notice }: LoginPageState): string {
  // After an error the name is kept: focus goes where the person will type next.
  const focusPassword = Boolean(error && name);
  const describedBy = error ? ' aria-describedby="login-error"' : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${error ? 'Error: ' : ''}Log in · Hearth</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Log in to Hearth</h1>
${notice && !error ? `<p class="notice" role="status">${escapeHtml(notice)}</p>\n` : ''}${error ? `<p class="error" id="login-error" role="alert">${escapeHtml(error)}</p>\n` : ''}<form method="post" action="/login">
${next ? `<input type="hidden" name="next" value="${escapeHtml(next)}">\n` : ''}<label for="name">Name</label>
<input id="name" name="name" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="100" value="${escapeHtml(name)}"${focusPassword ? '' : ' autofocus'}${describedBy}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${focusPassword ? ' autofocus' : ''}${describedBy}>
<button type="submit">Log in</button>
</form>
<p class="hint">No account? Ask your Hearth admin.</p>
</main>
</body>
</html>
`;
}
