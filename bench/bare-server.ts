// The baseline: Fastify doing the least an ingest route can do (parse the text/plain JSON body, answer 202), so
// the benchmark can say how much of Fastify's own throughput Hearth keeps.
import Fastify from 'fastify';

const app = Fastify({ bodyLimit: 64 * 1024 });

app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
  try {
    done(null, JSON.parse(body as string));
  } catch (err) {
    done(err as Error);
  }
});

// The same response body as Hearth's, so both send the same bytes back.
app.post('/collect', async (request, reply) => reply.code(202).send({ accepted: (request.body as { e: unknown[] }).e.length }));

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`bare Fastify is running at ${address}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
