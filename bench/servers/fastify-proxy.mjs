// Baseline: fastify 5 with @fastify/http-proxy (undici upstream, keep-alive), the proxy a
// Node user would pick; logger off.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { args, ready, onStop } from './common.mjs';

const a = args();
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: new URL(a.backend).origin, http2: false });
await app.listen({ port: a.port, host: a.address });
ready(app.server.address().port);
onStop(() => app.close());
