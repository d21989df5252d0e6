// Baseline: fastify 5 with @fastify/http-proxy (undici upstream, keep-alive), the proxy a
// Node user would pick; logger off.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { args, ready, onStop } from './common.mjs';

const a = args();
const app = Fastify({ logger: false });
// Via as Skitai's proxy adds it, so both answer the same head (like-for-like).
await app.register(proxy, {
  upstream: new URL(a.backend).origin,
  http2: false,
  replyOptions: { rewriteHeaders: (headers) => ({ ...headers, via: '1.1 skitai' }) },
});
await app.listen({ port: a.port, host: a.address });
ready(app.server.address().port);
onStop(() => app.close());
