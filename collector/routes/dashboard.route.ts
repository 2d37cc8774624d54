import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, gzip } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { packageRoot } from '../paths.ts';
import { preferredEncoding, type ContentCoding } from './encoding.ts';

export const dashboardsDir = join(packageRoot, 'dist', 'dashboards');

/**
 * Nothing but this origin: no inline script or style, no eval, no framing. uPlot and Preact set styles through the
 * CSSOM (element.style), which style-src does not govern, so charts work without 'unsafe-inline'.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
};

type Encoding = Exclude<ContentCoding, 'identity'>;

interface Asset {
  type: string;
  raw: Buffer;
  /** Each encoding made once, when a browser first asks for it. */
  encoded: Partial<Record<Encoding, Promise<Buffer>>>;
}

// Compressed off the event loop (zlib's thread pool) and only when asked: brotli at its best quality takes ~2 s
// for the bundle and its source map, which made every start, and /collect meanwhile, wait.
const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);
const encoders: Record<Encoding, (raw: Buffer) => Promise<Buffer>> = { br: brotli, gzip: (raw) => gzipped(raw, { level: 9 }) };

const assetOf = (raw: Buffer, type: string): Asset => ({ type, raw, encoded: {} });

/** Sends the best encoding the browser accepts. */
async function send(request: FastifyRequest, reply: FastifyReply, asset: Asset) {
  const encoding = preferredEncoding(request);
  reply.header('content-type', asset.type).header('vary', 'accept-encoding');
  if (encoding === 'identity') return reply.send(asset.raw);
  const body = await (asset.encoded[encoding] ??= encoders[encoding](asset.raw));
  return reply.header('content-encoding', encoding).send(body);
}

/**
 * `GET /dashboard` and every path under it: the dashboards' HTML shell, which routes on the client (no-store: a new
 * build is seen at the next load, and a browser's back-forward cache does not keep the page a user filled with leads
 * once they have logged out of a shared computer), and `/dashboard/assets/*`, whose names carry a hash of their content and so
 * are cached for a year. Built by `npm run build:dashboards` into dist/dashboards/. Logging in is required for
 * every /dashboard route (hooks/auth.hook.ts).
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  let shell: Asset | undefined;
  const assets = new Map<string, Asset>();
  try {
    shell = assetOf(readFileSync(join(dashboardsDir, 'index.html')), 'text/html; charset=utf-8');
    for (const file of readdirSync(join(dashboardsDir, 'assets'))) {
      const type = TYPES[extname(file)];
      if (type) assets.set(file, assetOf(readFileSync(join(dashboardsDir, 'assets', file)), type));
    }
  } catch {
    // The API and the collector work without the pages; say how to get them rather than refusing to start.
    app.log.warn({ dir: dashboardsDir }, 'the dashboards are not built: run "npm run build"');
  }

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!shell) return reply.code(503).send({ error: 'the dashboards are not built: run "npm run build"', code: 'dashboards_not_built' });
    reply
      .header('cache-control', 'no-store')
      .header('content-security-policy', DASHBOARD_CSP)
      .header('referrer-policy', 'same-origin')
      .header('x-frame-options', 'DENY');
    return send(request, reply, shell);
  };
  app.get('/dashboard', page);
  app.get('/dashboard/*', page);

  app.get('/dashboard/assets/:file', async (request, reply) => {
    const { file } = request.params as { file: string };
    const asset = assets.get(file);
    if (!asset) return reply.code(404).send({ error: `no dashboard asset "${file}"`, code: 'not_found' });
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    return send(request, reply, asset);
  });
};
