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

/**
 * A customer's site on 127.0.0.1 (a secure context, like https): `pages` maps a path to its HTML;
 * `/files/*` answers any document, `/blank` an empty page without the snippet.
 */
export async function startFixtureSite(pages: Record<string, string>): Promise<FixtureSite> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path.startsWith('/files/')) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-disposition': 'attachment' });
      return response.end('file');
    }
    const html = path === '/blank' ? '<!doctype html><title>Blank</title>' : pages[path];
    if (html === undefined) {
      response.writeHead(404);
      return response.end();
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
