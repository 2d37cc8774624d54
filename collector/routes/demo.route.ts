import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { demoSiteDir } from '../paths.ts';

/** The bundled demo site at `/demo/`; its forms post to `/demo/thanks/`, which answers like a real site would. */
export const demoSiteRoutes: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, { root: demoSiteDir, prefix: '/demo/', redirect: true, cacheControl: false });
  // The plugin redirects a folder without its slash (/demo/pricing) but not its own prefix's: /demo was a 404. The query
  // goes along, as the plugin's does: a campaign link's utm tags are the visit's source.
  app.get('/demo', (request, reply) => reply.redirect(`/demo/${request.url.slice('/demo'.length)}`, 301));
  // The demo has no back end: accept the form post, drop its body, and show the thank-you page.
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], (_request, payload, done) => {
    payload.resume();
    payload.on('end', () => done(null, undefined));
  });
  app.post('/demo/thanks/', async (_request, reply) => reply.redirect('/demo/thanks/', 303));
};
