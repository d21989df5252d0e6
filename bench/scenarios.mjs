// The scenarios: each names its servers (the first is the baseline its ratios are taken
// against), the path the load generator requests, a check on one response, and its targets.
import fs from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, ROOT } from './lib/proc.mjs';
import { nginxSpec } from './lib/nginx.mjs';

const S = (f) => path.join(BENCH_DIR, 'servers', f);

/** A node scenario server: `node <script> <kind> --port N ...`. */
function nodeServer(script, kind, extra = []) {
  return (ctx, port) => ({
    cmd: process.execPath,
    args: [...(ctx.nodeFlags || []), S(script), kind, '--port', String(port), ...extra(ctx)],
  });
}
const none = () => [];
const dirArg = (ctx) => ['--dir', ctx.staticDir];
/** A self-signed certificate made for the run (bench/run.mjs, with openssl). */
const tlsArgs = (ctx) => ['--cert', ctx.tlsCert(), '--key', ctx.tlsKey()];

const HELLO = 'Hello World';
const helloCheck = (status, body) => status === 200 && body.toString() === HELLO;
const jsonCheck = (status, body) => {
  if (status !== 200) return false;
  try {
    const j = JSON.parse(body.toString());
    return j.id === 42 && j.name === 'user42';
  } catch {
    return false;
  }
};
const sizeCheck = (n) => (status, body) => status === 200 && body.length === n;

/**
 * What a static target's two servers may answer differently: nginx's ETag has another format
 * (same validator: size and mtime), its Server names nginx, and it sends no Keep-Alive header
 * (both keep the connection open).
 */
const STATIC_SAME = { ignore: { etag: 'format only', server: 'the product name', 'keep-alive': 'nginx sends none' } };

/** A cold-start script of bench/startup, listening on --port. */
const startupScript = (f) => (ctx, port) => ({
  cmd: process.execPath,
  args: [path.join(BENCH_DIR, 'startup', f), '--port', String(port)],
});
/** The demo as its README starts it, data in a fresh temp folder per start. */
function demoScript(ctx, port) {
  const data = fs.mkdtempSync(path.join(ctx.tmp, 'demo-'));
  return {
    cmd: process.execPath,
    args: [path.join(ROOT, 'examples', 'demo', 'serve.mjs'), '--port', String(port)],
    env: { DEMO_DATA: data, DATABASE: '' },
    cwd: path.join(ROOT, 'examples', 'demo'),
  };
}

function nginx(ctx, port) {
  if (!ctx.nginx) return { skip: ctx.nginxMissing };
  return nginxSpec({ bin: ctx.nginx, dir: path.join(ctx.tmp, `nginx-${port}`), root: ctx.staticRoot, port });
}

function nginxProxy(ctx, port) {
  if (!ctx.nginx) return { skip: ctx.nginxMissing };
  return nginxSpec({
    bin: ctx.nginx,
    dir: path.join(ctx.tmp, `nginx-${port}`),
    port,
    upstream: new URL(ctx.backendUrl).host,
  });
}

function pkgExists(name) {
  return fs.existsSync(path.join(ROOT, 'node_modules', ...name.split('/'), 'package.json'));
}

/** A plugin package counts as landed when it imports and exports something. */
async function pluginReady(name) {
  if (!pkgExists(name)) return false;
  try {
    const mod = await import(name);
    return Object.keys(mod).some(
      (k) => k !== 'default' || (mod.default && typeof mod.default === 'object' && Object.keys(mod.default).length),
    );
  } catch {
    return false;
  }
}

export const scenarios = [
  {
    name: 'hello',
    title: 'hello',
    path: '/',
    check: helloCheck,
    // Every target's two servers answer the same bytes (status, headers but Date, body):
    // bench/run.mjs compares them before the load and fails the scenario if they differ.
    servers: [
      { id: 'node:http', spec: nodeServer('node-http.mjs', 'hello-app', none) },
      { id: 'fastify', spec: nodeServer('fastify.mjs', 'hello', none) },
      { id: 'node:http (req,res) + Server', spec: nodeServer('node-http.mjs', 'handler', none) },
      { id: 'skitai App route', subject: true, spec: nodeServer('skitai.mjs', 'app-hello', none) },
      { id: 'skitai (req,res) mount', subject: true, spec: nodeServer('skitai.mjs', 'handler', none) },
    ],
    targets: [
      { server: 'skitai App route', vs: 'node:http', min: 0.95 },
      { server: 'skitai App route', vs: 'fastify', min: 1.1 },
      { server: 'skitai (req,res) mount', vs: 'node:http (req,res) + Server', min: 0.97 },
      { server: 'skitai App route', vs: 'node:http', metric: 'p99', max: 1.5 },
    ],
  },
  {
    // What the status page costs the requests it counts: the same App hello, page mounted or not.
    name: 'hello-status',
    title: 'hello, App route, with and without the status page mounted',
    path: '/',
    check: helloCheck,
    servers: [
      { id: 'skitai App route', subject: true, spec: nodeServer('skitai.mjs', 'app-hello', none) },
      { id: 'skitai App route + status page', subject: true, spec: nodeServer('skitai.mjs', 'app-hello-status', none) },
    ],
    targets: [{ server: 'skitai App route + status page', vs: 'skitai App route', min: 0.97 }],
  },
  {
    // What sharing state across instances costs a request that shares nothing: the same App
    // hello, alone or connected to Redis through @skitai/shared (pub/sub subscribed, keys declared).
    name: 'hello-shared',
    title: 'hello, App route, with and without sharing through Redis',
    path: '/',
    check: helloCheck,
    servers: [
      { id: 'skitai App route', subject: true, spec: nodeServer('skitai.mjs', 'app-hello', none) },
      {
        id: 'skitai App route + shared (Redis)',
        subject: true,
        spec: nodeServer('skitai.mjs', 'app-hello-shared', none),
      },
      {
        id: 'skitai App route + ioredis loaded',
        subject: true,
        spec: nodeServer('skitai.mjs', 'app-hello-ioredis', none),
      },
    ],
    targets: [{ server: 'skitai App route + shared (Redis)', vs: 'skitai App route', min: 0.97 }],
  },
  {
    name: 'json',
    title: 'JSON, path parameter',
    path: '/users/42',
    check: jsonCheck,
    servers: [
      { id: 'node:http', spec: nodeServer('node-http.mjs', 'json', none) },
      { id: 'fastify', spec: nodeServer('fastify.mjs', 'json', none) },
      { id: 'skitai App route', subject: true, spec: nodeServer('skitai.mjs', 'app-json', none) },
    ],
    targets: [
      { server: 'skitai App route', vs: 'fastify', min: 1.0 },
      { server: 'skitai App route', vs: 'node:http', metric: 'p99', max: 1.5 },
    ],
  },
  {
    name: 'express',
    title: 'Express app',
    path: '/',
    check: helloCheck,
    servers: [
      { id: 'express alone', spec: nodeServer('express.mjs', 'hello', () => ['--mode', 'alone']) },
      { id: 'express in skitai', subject: true, spec: nodeServer('express.mjs', 'hello', () => ['--mode', 'mounted']) },
    ],
    targets: [{ server: 'express in skitai', vs: 'express alone', min: 0.95 }],
  },
  {
    name: 'static-1k',
    title: 'static file, 1 KiB',
    path: '/static/file-1k.bin',
    check: sizeCheck(1024),
    sameHead: STATIC_SAME,
    servers: [
      { id: 'nginx (open_file_cache)', spec: nginx },
      { id: '@fastify/static', spec: nodeServer('fastify.mjs', 'static', dirArg) },
      // node:http writing the same head and 1 KiB from memory: what node's HTTP stack costs
      // for this answer, so what bounds a node server against nginx here.
      { id: 'node:http (same head, from memory)', spec: nodeServer('node-http.mjs', 'static-1k', dirArg) },
      { id: 'skitai static', subject: true, spec: nodeServer('skitai.mjs', 'static', dirArg) },
    ],
    targets: [
      { server: 'skitai static', vs: 'nginx (open_file_cache)', min: 0.5 },
      { server: 'skitai static', vs: 'node:http (same head, from memory)', min: 0.9 },
    ],
  },
  {
    name: 'static-1m',
    title: 'static file, 1 MiB (at the memory cache limit: served from memory)',
    path: '/static/file-1m.bin',
    check: sizeCheck(1024 * 1024),
    connections: 32,
    sameHead: STATIC_SAME,
    servers: [
      { id: 'nginx (open_file_cache)', spec: nginx },
      { id: '@fastify/static', spec: nodeServer('fastify.mjs', 'static', dirArg) },
      { id: 'skitai static', subject: true, spec: nodeServer('skitai.mjs', 'static', dirArg) },
    ],
    targets: [{ server: 'skitai static', vs: 'nginx (open_file_cache)', min: 0.35 }],
  },
  {
    // The kernel keeps files up to 1 MiB (memoryFileSize) in memory: one 1 KiB over it is
    // streamed from disk, the other path.
    name: 'static-1m-disk',
    title: 'static file, 1 MiB + 1 KiB (just over the memory cache limit: streamed from disk)',
    path: '/static/file-1m-over.bin',
    check: sizeCheck(1024 * 1024 + 1024),
    connections: 32,
    sameHead: STATIC_SAME,
    servers: [
      { id: 'nginx (open_file_cache)', spec: nginx },
      { id: '@fastify/static', spec: nodeServer('fastify.mjs', 'static', dirArg) },
      { id: 'skitai static', subject: true, spec: nodeServer('skitai.mjs', 'static', dirArg) },
    ],
    targets: [{ server: 'skitai static', vs: 'nginx (open_file_cache)', min: 0.35 }],
  },
  {
    name: 'idle',
    title: '10,000 idle keep-alive connections',
    kind: 'idle',
    path: '/',
    check: helloCheck,
    servers: [
      { id: 'node:http', spec: nodeServer('node-http.mjs', 'idle', none) },
      { id: 'skitai (req,res) mount', subject: true, spec: nodeServer('skitai.mjs', 'idle', none) },
    ],
    targets: [{ server: 'skitai (req,res) mount', vs: 'node:http', max: 1.5, metric: 'rss' }],
  },
  {
    // Time from `node <script>` to the first 200 on GET /hello, and RSS then: a fresh process
    // each round (bench/startup/cold-*.mjs; the demo is examples/demo/serve.mjs).
    name: 'cold-start',
    title: 'cold start: node script.mjs to the first 200, and RSS then',
    kind: 'cold',
    path: '/hello',
    servers: [
      { id: 'express alone', spec: startupScript('cold-express.mjs') },
      { id: 'fastify alone', spec: startupScript('cold-fastify.mjs') },
      { id: 'skitai kernel + express', subject: true, spec: startupScript('cold-kernel-express.mjs') },
      { id: 'skitai App', subject: true, spec: startupScript('cold-app.mjs') },
      { id: 'skitai demo (examples/demo)', subject: true, path: '/', spec: demoScript },
    ],
    // A slim install starts as fast as the framework it mounts (a tenth more for the kernel).
    targets: [{ server: 'skitai kernel + express', vs: 'express alone', metric: 'start', max: 1.1 }],
  },
  {
    name: 'workers',
    title: 'hello, workers 1 vs 2',
    path: '/',
    check: helloCheck,
    // Two cores only: both servers may use both cores, the load generator runs on core 1 and
    // so shares it with the server (the same for both sides, so the ratio is fair).
    serverCpus: '0,1',
    loadCpus: '1',
    requireWorkers: true,
    servers: [
      { id: 'skitai workers=1', spec: nodeServer('skitai.mjs', 'workers', () => ['--workers', '1']) },
      {
        id: 'skitai workers=2',
        subject: true,
        workers: 2,
        spec: nodeServer('skitai.mjs', 'workers', () => ['--workers', '2']),
      },
    ],
    targets: [],
  },
  {
    name: 'websocket',
    title: 'WebSocket echo',
    // bench/clients/ws-echo.mjs: raw-socket client, 50 connections x 4 messages in flight;
    // req/s here is echoed messages per second.
    loader: 'ws-echo',
    path: '/echo',
    connections: 50,
    depth: 4,
    pending: async () =>
      (await pluginReady('@skitai/websocket')) && pkgExists('ws')
        ? null
        : 'waiting for the websocket plugin (@skitai/websocket) and the `ws` package',
    servers: [
      { id: 'ws (bare)', spec: nodeServer('ws-bare.mjs', 'echo', none) },
      { id: 'skitai App wsRoute', subject: true, spec: nodeServer('skitai.mjs', 'ws-echo', none) },
    ],
    targets: [{ server: 'skitai App wsRoute', vs: 'ws (bare)', min: 0.95 }],
  },
  {
    name: 'was-get',
    title: 'was.get to a keep-alive backend',
    path: '/',
    check: jsonCheck,
    // One node:http backend answering /users/42, shared by the three front servers. It runs on
    // the load core (CPU 1) with wrk, so the front server under test keeps CPU 0 to itself.
    backend: {
      id: 'backend (node:http json)',
      cpus: '1',
      path: '/users/42',
      spec: nodeServer('node-http.mjs', 'json', none),
    },
    servers: [
      {
        id: 'node:http + undici Pool',
        spec: nodeServer('backend-client.mjs', 'x', (ctx) => ['--mode', 'undici', '--backend', ctx.backendUrl]),
      },
      {
        id: 'node:http + http.Agent',
        spec: nodeServer('backend-client.mjs', 'x', (ctx) => ['--mode', 'agent', '--backend', ctx.backendUrl]),
      },
      {
        id: 'skitai App + was.get',
        subject: true,
        spec: nodeServer('skitai.mjs', 'wasget', (ctx) => ['--backend', ctx.backendUrl]),
      },
    ],
    // The target's two servers answer the same bytes (the baselines write the App's head), which
    // the like-for-like check before the load confirms.
    targets: [{ server: 'skitai App + was.get', vs: 'node:http + undici Pool', min: 0.9 }],
  },
  {
    name: 'db',
    title: 'one PostgreSQL SELECT per request',
    path: '/users/42',
    check: jsonCheck,
    // PostgreSQL from PGHOST/PGPORT (eval "$(scripts/services.sh start)"); it runs unpinned,
    // beside both servers alike. Both sides keep 10 connections.
    pending: async () =>
      process.env.PGHOST && process.env.PGPORT
        ? null
        : 'PostgreSQL is not configured: run eval "$(scripts/services.sh start)" first (sets PGHOST, PGPORT ...)',
    servers: [
      { id: 'node:http + pg.Pool', spec: nodeServer('db.mjs', 'pg-pool', none) },
      { id: 'skitai App + was.backend', subject: true, spec: nodeServer('db.mjs', 'skitai', none) },
    ],
    targets: [{ server: 'skitai App + was.backend', vs: 'node:http + pg.Pool', min: 0.9 }],
  },
  {
    name: 'proxy',
    title: 'reverse proxy to a keep-alive backend',
    path: '/users/42',
    check: jsonCheck,
    backend: {
      id: 'backend (node:http json)',
      cpus: '1',
      path: '/users/42',
      spec: nodeServer('node-http.mjs', 'json', none),
    },
    pending: async () =>
      (await pluginReady('@skitai/gateway'))
        ? null
        : 'waiting for the gateway plugin (@skitai/gateway); compares with nginx proxy_pass and @fastify/http-proxy',
    servers: [
      { id: 'nginx proxy_pass', spec: nginxProxy },
      { id: '@fastify/http-proxy', spec: nodeServer('fastify-proxy.mjs', 'x', (ctx) => ['--backend', ctx.backendUrl]) },
      { id: 'node:http proxy (pipe)', spec: nodeServer('node-proxy.mjs', 'x', (ctx) => ['--backend', ctx.backendUrl]) },
      {
        id: 'skitai @alias mount',
        subject: true,
        spec: nodeServer('skitai.mjs', 'proxy', (ctx) => ['--backend', ctx.backendUrl]),
      },
    ],
    targets: [
      { server: 'skitai @alias mount', vs: 'nginx proxy_pass', min: 0.5 },
      { server: 'skitai @alias mount', vs: '@fastify/http-proxy', min: 1.5 },
    ],
  },
  {
    // A proxied 1 KiB answer the backend marks fresh for an hour: through the gateway with the
    // response cache (answered from memory after the first request), without it (each request
    // goes to the backend), the same 1 KiB as a static file, and node:http sending the HIT's
    // head and body from memory.
    name: 'proxy-cached',
    title: 'reverse proxy with the response cache, 1 KiB',
    path: '/static/file-1k.bin',
    check: sizeCheck(1024),
    // The cached server is checked on its second answer (primed), a HIT as the load gets. A
    // HIT is the member's answer as the uncached proxy relays it (Server, Via, Content-Type,
    // Cache-Control, ETag, Content-Length, the member's Date) plus two fields RFC 9111 has a
    // cache add, by design: X-Cache and Age.
    sameHead: {
      ignore: {
        'x-cache': 'the cache says HIT; no cache, no X-Cache',
        age: 'seconds the answer has been stored (RFC 9111 5.1): only a cache sends it',
      },
    },
    backend: {
      id: 'backend (node:http 1 KiB, max-age=3600)',
      cpus: '1',
      path: '/static/file-1k.bin',
      spec: nodeServer('node-http.mjs', 'cacheable-1k', none),
    },
    pending: async () =>
      (await pluginReady('@skitai/gateway')) && (await pluginReady('@skitai/cachefs'))
        ? null
        : 'waiting for the gateway (@skitai/gateway) and cachefs (@skitai/cachefs) plugins',
    servers: [
      { id: 'skitai @alias mount', spec: nodeServer('skitai.mjs', 'proxy', (ctx) => ['--backend', ctx.backendUrl]) },
      { id: 'skitai static', spec: nodeServer('skitai.mjs', 'static', dirArg) },
      // node:http writing the HIT's head (the backend's fields, Date, Via, Age, X-Cache) and the
      // same 1 KiB from memory: what node's HTTP stack costs for this answer, the bound of a HIT.
      { id: 'node:http (same head, from memory)', spec: nodeServer('node-http.mjs', 'cached-1k', none) },
      {
        id: 'skitai @alias mount + cachefs',
        subject: true,
        primed: true,
        spec: nodeServer('skitai.mjs', 'proxy-cached', (ctx) => ['--backend', ctx.backendUrl]),
      },
    ],
    targets: [
      { server: 'skitai @alias mount + cachefs', vs: 'skitai @alias mount', min: 3 },
      { server: 'skitai @alias mount + cachefs', vs: 'node:http (same head, from memory)', min: 0.9 },
    ],
  },
  {
    name: 'http2',
    title: 'HTTP/2 cleartext, h2c by prior knowledge (h2load)',
    loader: 'h2load',
    path: '/',
    check: helloCheck,
    connections: 10,
    streams: 10,
    pending: async () =>
      (await pluginReady('@skitai/http2'))
        ? null
        : 'waiting for the http2 plugin (@skitai/http2); compares with node:http2 using h2load',
    // The plugin serves (req, res) handlers through node's compatibility API: that is the
    // like-for-like baseline; the stream API (no req/res objects) is shown beside it.
    servers: [
      { id: 'node:http2 (req,res)', spec: nodeServer('node-http2.mjs', 'compat', none) },
      { id: 'node:http2 stream API', spec: nodeServer('node-http2.mjs', 'hello', none) },
      { id: 'skitai h2c', subject: true, spec: nodeServer('skitai.mjs', 'http2', none) },
    ],
    targets: [{ server: 'skitai h2c', vs: 'node:http2 (req,res)', min: 0.95 }],
  },
  {
    name: 'http2-tls',
    title: 'HTTP/2 over TLS, ALPN h2 (h2load)',
    loader: 'h2load',
    scheme: 'https',
    path: '/',
    check: helloCheck,
    connections: 10,
    streams: 10,
    pending: async () =>
      (await pluginReady('@skitai/http2'))
        ? null
        : 'waiting for the http2 plugin (@skitai/http2); compares with node:http2 using h2load',
    servers: [
      { id: 'node:http2 TLS (req,res)', spec: nodeServer('node-http2.mjs', 'compat', tlsArgs) },
      { id: 'node:http2 TLS stream API', spec: nodeServer('node-http2.mjs', 'hello', tlsArgs) },
      { id: 'skitai h2 TLS', subject: true, spec: nodeServer('skitai.mjs', 'http2', tlsArgs) },
    ],
    targets: [{ server: 'skitai h2 TLS', vs: 'node:http2 TLS (req,res)', min: 0.95 }],
  },
];
