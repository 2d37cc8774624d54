import type { onRequestHookHandler } from 'fastify';

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
