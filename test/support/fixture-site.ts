import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureSite {
  /** e.g. http://127.0.0.1:41234 — another origin than Hearth's, as a customer's site is. */
  url: string;
  close(): Promise<void>;
}

/** The snippet tag as a customer embeds it, with extra data-* attributes. */
export function embed(hearthUrl: string, attributes: Record<string, string> = {}): string {
  const extra = Object.entries(attributes)
    .map(([name, value]) => ` data-${name}="${value}"`)
    .join('');
  return `<script>window.hearth=window.hearth||function(){(window.hearth.q=window.hearth.q||[]).push(arguments)}</script>
<script async src="${hearthUrl}/hearth.js" data-site="demo"${extra}></script>`;
}

/** Pages /a and /b, each a title and the snippet: the least a test of what happens across pages needs. */
export function twoPlainPages(hearthUrl: string): Record<string, FixturePage> {
  return Object.fromEntries(['a', 'b'].map((name) => [`/${name}`, `<!doctype html><title>${name.toUpperCase()}</title>${embed(hearthUrl)}`]));
}

/** A page's HTML, or its HTML with response headers (a Content-Security-Policy, say). */
export type FixturePage = string | { html: string; headers: Record<string, string> };

/**
 * A customer's site on 127.0.0.1 (a secure context, like https): `pages` maps a path to its page;
 * `/files/*` answers any document, `/blank` an empty page without the snippet.
 */
export async function startFixtureSite(pages: Record<string, FixturePage>): Promise<FixtureSite> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === '/favicon.ico') {
      response.writeHead(204);
      return response.end();
    }
    if (path.startsWith('/files/')) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment' });
      return response.end('file');
    }
    const page = path === '/blank' ? '<!doctype html><title>Blank</title>' : pages[path];
    if (page === undefined) {
      response.writeHead(404);
      return response.end();
    }
    const { html, headers } = typeof page === 'string' ? { html: page, headers: {} } : page;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
