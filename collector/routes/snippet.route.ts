import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import { snippetPath } from '../paths.ts';
import { preferredEncoding } from './encoding.ts';

/** `GET /hearth.js`: the built snippet, pre-compressed once, with an ETag so browsers revalidate cheaply. */
export const snippetRoute: FastifyPluginAsync = async (app) => {
  let source: Buffer;
  try {
    source = readFileSync(snippetPath);
  } catch {
    throw new Error(`the snippet is not built (${snippetPath} is missing): run "npm run build"`);
  }
  const hash = createHash('sha256').update(source).digest('base64url').slice(0, 22);
  // One ETag per coding: a strong validator names the bytes sent, so a cache never pairs a 304 with the wrong coding.
  const etags = { br: `"${hash}-br"`, gzip: `"${hash}-gz"`, identity: `"${hash}"` };
  const encoded = { br: brotliCompressSync(source), gzip: gzipSync(source, { level: 9 }) };

  app.get('/hearth.js', async (request, reply) => {
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
      .header('vary', 'accept-encoding')
      .header('cross-origin-resource-policy', 'cross-origin')
      // Public, the same for everyone: a page may load it with crossorigin="anonymous", as Subresource Integrity needs.
      .header('access-control-allow-origin', '*');
    const encoding = preferredEncoding(request);
    reply.header('etag', etags[encoding]);
    if (namesEtag(request.headers['if-none-match'], etags[encoding])) return reply.code(304).send();
    if (encoding !== 'identity') reply.header('content-encoding', encoding);
    return reply.send(encoding === 'identity' ? source : encoded[encoding]);
  });
};

/**
 * Whether an If-None-Match header holds the response's ETag, as RFC 9110 (13.1.2) reads it: `*`, or a list of tags
 * compared weakly, so a proxy that marked the tag weak (`W/"…"`) or a cache that sends several still gets its 304.
 */
function namesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.trim() === '*' || header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
