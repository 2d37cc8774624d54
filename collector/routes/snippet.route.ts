import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { FastifyPluginAsync } from 'fastify';
import { snippetPath } from '../paths.ts';

/** `GET /hearth.js`: the built snippet, pre-compressed once, with an ETag so browsers revalidate cheaply. */
export const snippetRoute: FastifyPluginAsync = async (app) => {
  let source: Buffer;
  try {
    source = readFileSync(snippetPath);
  } catch {
    throw new Error(`the snippet is not built (${snippetPath} is missing): run "npm run build"`);
  }
  const etag = `"${createHash('sha256').update(source).digest('base64url').slice(0, 22)}"`;
  const encoded = { br: brotliCompressSync(source), gzip: gzipSync(source, { level: 9 }) };

  app.get('/hearth.js', async (request, reply) => {
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
      .header('etag', etag)
      .header('vary', 'accept-encoding')
      .header('cross-origin-resource-policy', 'cross-origin');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    const accepted = String(request.headers['accept-encoding'] ?? '');
    const encoding = /\bbr\b/.test(accepted) ? 'br' : /\bgzip\b/.test(accepted) ? 'gzip' : undefined;
    if (encoding) reply.header('content-encoding', encoding);
    return reply.send(encoding ? encoded[encoding] : source);
  });
};
