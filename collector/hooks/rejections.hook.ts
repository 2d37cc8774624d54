import type { onSendHookHandler } from 'fastify';
import type { HearthMetrics } from '../metrics.ts';

/**
 * Counts each refused batch (POST) by the `code` of its JSON error body. Refusals come from the route, the body parser,
 * the rate limits and the write-ahead log (through the error handler); reading the body that went out counts them
 * all in one place, under the code the client saw.
 */
export function countRejections(metrics: HearthMetrics): onSendHookHandler {
  // Callback style: no promise per beacon on the hot path (see app.ts).
  return (request, reply, payload, done) => {
    // A batch is posted: a CORS preflight refused (an unknown origin) carries none.
    if (reply.statusCode >= 400 && request.method === 'POST') metrics.rejected(errorCodeOf(payload));
    done(null, payload);
  };
}

function errorCodeOf(payload: unknown): string {
  if (typeof payload !== 'string') return 'other';
  try {
    const { code } = JSON.parse(payload) as { code?: unknown };
    return typeof code === 'string' ? code : 'other';
  } catch {
    return 'other';
  }
}
