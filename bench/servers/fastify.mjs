// Baseline: fastify 5 (logger off, no schemas). Kinds: hello, json, static.
// hello and json answer the App routes' bytes (Content-Type, Server, Keep-Alive timeout 30 s):
// bench/run.mjs compares the heads before the load.
import Fastify from 'fastify';
import { args, ready, onStop, HELLO, SERVER, user } from './common.mjs';

const a = args();
const app = Fastify({ logger: false, keepAliveTimeout: 30_000 });

if (a.kind === 'static') {
  const { default: fastifyStatic } = await import('@fastify/static');
  await app.register(fastifyStatic, { root: a.dir, prefix: '/static/' });
} else if (a.kind === 'json') {
  app.get('/users/:id', async (req, reply) => {
    reply.header('server', SERVER);
    return user(Number(req.params.id));
  });
} else {
  app.get('/', async (req, reply) => {
    reply.header('server', SERVER).type('text/html; charset=utf-8');
    return HELLO;
  });
}

await app.listen({ port: a.port, host: a.address });
ready(app.server.address().port);
onStop(() => app.close());
