// Baseline: fastify 5 (logger off, no schemas). Kinds: hello, json, static.
import Fastify from 'fastify';
import { args, ready, onStop, HELLO, user } from './common.mjs';

const a = args();
const app = Fastify({ logger: false });

if (a.kind === 'static') {
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(fastifyStatic, { root: a.dir, prefix: '/static/' });
} else if (a.kind === 'json') {
  app.get('/users/:id', async (req) => user(Number(req.params.id)));
} else {
  app.get('/', async (req, reply) => { reply.type('text/plain'); return HELLO; });
}

await app.listen({ port: a.port, host: a.address });
ready(app.server.address().port);
onStop(() => app.close());
