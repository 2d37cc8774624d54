import type { onRequestHookHandler, preHandlerHookHandler } from 'fastify';
import { formatPath, wholeProblem } from '../config/issues.ts';

/**
 * For a route that takes no body: a request labelled JSON that carries none is read as one without a label. HTTP
 * clients and CRM middleware send `Content-Type: application/json` on every request, and the body parser answered a
 * DELETE with nothing in it "the body is empty". A body that is there is still parsed (and refused when it is not JSON).
 */
export const bodyless: onRequestHookHandler = (request, _reply, done) => {
  const { headers } = request;
  if (headers['content-length'] === '0' || (headers['content-length'] === undefined && headers['transfer-encoding'] === undefined)) delete headers['content-type'];
  done();
};

/**
 * For a route that takes no body: one that says something is refused before anything is done. An option sent in the
 * body (`{"dryRun": true}`, as some API clients send options) would otherwise be dropped without a word, and an
 * erasure meant as a trial would erase for real. Nothing at all, `{}` or `null` is no body.
 */
export const noBody: preHandlerHookHandler = (request, reply, done) => {
  const { body } = request;
  const isObject = typeof body === 'object' && body !== null && !Array.isArray(body);
  if (body === undefined || body === null || body === '' || (isObject && Object.keys(body).length === 0)) {
    done();
    return;
  }
  const error = `${request.method} ${request.routeOptions.url} takes no body, and nothing was done: its options, if any, go in the query string`;
  // Each key sent is a problem of its own, as a query parameter the route does not take is; any other body, one.
  const problems = isObject ? Object.keys(body).map((key) => ({ path: formatPath([key]), message: 'unexpected: this request takes no body' })) : wholeProblem(error);
  void reply.code(400).send({ error, code: 'unexpected_body', ...(isObject ? { keys: Object.keys(body) } : {}), problems });
};
