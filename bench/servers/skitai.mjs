// The Skitai kernel under test. Kinds:
//   app-hello   App route '/' returning 'Hello World'           (needs App)
//   app-json    App route '/users/<int:id>' returning an object  (needs App)
//   handler     plain (req, res) handler mounted at '/'
//   static      kernel.mount('/static', dir)
//   idle        plain handler, for the idle keep-alive connections scenario
//   workers     App hello (or the plain handler without App) with --workers N
//   wasget      App route that awaits was.get(--backend url)     (needs App and was.get)
//   app-hello-status  app-hello with @skitai/status's page mounted at /status (request counters on)
//   proxy       gateway-only server, '@backend' (--backend url) mounted at '/'
//   proxy-cached  the same with @skitai/cachefs (16 MiB memory tier) as the gateway's cache
//   app-hello-shared  app-hello sharing its state through Redis (@skitai/shared), with a
//                     redis-server of its own on a unix socket, connected before ready
import { args, ready, skip, onStop, HELLO, user } from './common.mjs';
import { loadKernel } from './skitai-load.mjs';

const a = args();
const mod = await loadKernel();
if (!mod.Kernel) skip(mod.reason);
const { Kernel } = mod;
const { App } = await import('@skitai/app').catch(() => ({}));

function plain(req, res) {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(HELLO);
}

/** A plugin package's factory (`name` or default export), or a skip line saying why not. */
async function pluginFactory(pkg, name) {
  let mod;
  try {
    mod = await import(pkg);
  } catch (e) {
    skip(`${pkg} cannot be imported: ${e.message}`);
  }
  const factory = mod[name] ?? mod.default;
  if (typeof factory !== 'function')
    skip(`${pkg} exports no ${name}() plugin factory yet (bench/servers/skitai.mjs expects one)`);
  return factory;
}

function needApp() {
  if (typeof App !== 'function') skip('@skitai/app cannot be imported (build it: npx tsc -b)');
  return new App();
}

/** A redis-server on a unix socket in a temporary folder, stopped when this process exits. */
async function startRedis() {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-bench-redis-'));
  const socket = path.join(dir, 'r.sock');
  let redis;
  try {
    redis = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (e) {
    skip(`redis-server cannot be started: ${e.message}`);
  }
  process.on('exit', () => {
    redis.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((resolve) => {
    let out = '';
    redis.once('error', (e) => skip(`redis-server cannot be started (apt-get install -y redis-server): ${e.message}`));
    redis.once('exit', () => skip(`redis-server exited: ${out}`));
    redis.stdout.on('data', (c) => {
      out += c;
      if (/ready to accept connections/i.test(out)) resolve();
    });
  });
  redis.removeAllListeners('exit');
  return socket;
}

const kernel = new Kernel();
const startOpts = { address: a.address, port: a.port };

switch (a.kind) {
  case 'app-hello': {
    const app = needApp();
    app.route('/', async (was) => HELLO);
    kernel.mount('/', app);
    break;
  }
  case 'app-hello-status': {
    const app = needApp();
    app.route('/', async (was) => HELLO);
    kernel.mount('/', app);
    kernel.mount('/status', (await pluginFactory('@skitai/status', 'statusPage'))());
    break;
  }
  case 'app-hello-shared': {
    const socket = await startRedis();
    kernel.use((await pluginFactory('@skitai/shared', 'shared'))({ redis: socket }));
    kernel.addlu('tables.users');
    const app = needApp();
    app.route('/', async (was) => HELLO);
    kernel.mount('/', app);
    break;
  }
  case 'app-hello-ioredis': {
    // Diagnosis: ioredis loaded, nothing connected.
    await import('ioredis');
    const app = needApp();
    app.route('/', async (was) => HELLO);
    kernel.mount('/', app);
    break;
  }
  case 'app-json': {
    const app = needApp();
    app.route('/users/<int:id>', async (was, args) => user(args.id));
    kernel.mount('/', app);
    break;
  }
  case 'ws-echo': {
    let wsmod;
    try {
      wsmod = await import('@skitai/websocket');
    } catch (e) {
      skip(`@skitai/websocket cannot be imported: ${e.message}`);
    }
    if (typeof wsmod.websocket !== 'function' || typeof wsmod.wsRoute !== 'function')
      skip('@skitai/websocket does not export websocket() and wsRoute() yet');
    kernel.use(wsmod.websocket());
    const app = needApp();
    app.route(
      '/echo',
      wsmod.wsRoute({ mode: 'simple' }, (was, message) => message),
    );
    kernel.mount('/', app);
    break;
  }
  case 'http2': {
    // h2c on the kernel's port (prior knowledge, as h2load speaks it), or TLS with --cert/--key.
    const http2 = await pluginFactory('@skitai/http2', 'http2');
    kernel.use(http2(a.cert ? { cert: a.cert, key: a.key } : { h2c: true }));
    kernel.mount('/', plain);
    break;
  }
  case 'proxy':
  case 'proxy-cached': {
    // A gateway-only server: no handler of its own uses the imported `was`, so no per-request
    // AsyncLocalStorage context (the services plugin's wasContext option).
    kernel.use((await pluginFactory('@skitai/services', 'services'))({ wasContext: false }));
    let cache;
    if (a.kind === 'proxy-cached') {
      cache = (await pluginFactory('@skitai/cachefs', 'cachefs'))({ memmax: 16 << 20 });
      kernel.use(cache);
    }
    kernel.use((await pluginFactory('@skitai/gateway', 'gateway'))(cache ? { cache } : {}));
    const b = new URL(a.backend);
    kernel.alias('@backend', 'http', [`${b.hostname}:${b.port}`]);
    kernel.mount('/', '@backend');
    break;
  }
  case 'static':
    kernel.mount('/static', a.dir);
    break;
  case 'static-mem':
    // What a larger memory cache would give: the same handler with files up to 4 MiB in memory.
    if (typeof mod.createStaticHandler !== 'function') skip('@skitai/kernel does not export createStaticHandler');
    kernel.mount('/static', mod.createStaticHandler(a.dir, { memoryFileSize: 4 << 20, memoryTotalSize: 64 << 20 }));
    break;
  case 'workers': {
    if (typeof App === 'function') {
      const app = new App();
      app.route('/', async (was) => HELLO);
      kernel.mount('/', app);
    } else {
      kernel.mount('/', plain);
    }
    // Workers come from kernel.run() (the startup script's entry), not start(): run() reads
    // the command line, so hide ours from it. The master and each worker print a ready line.
    process.argv.length = 2;
    const listening = await kernel.run({ address: a.address, port: a.port, workers: a.workers || 1 });
    if (listening && listening.port) ready(listening.port, { workers: a.workers || 1, role: kernel.processRole });
    // run() stops on SIGTERM itself; leave when the harness goes away too.
    process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
    process.stdin.resume();
    break;
  }
  case 'wasget': {
    kernel.use((await pluginFactory('@skitai/services', 'services'))({ wasContext: false }));
    const app = needApp();
    const backend = a.backend;
    app.route('/', async (was) => {
      const r = await was.get(backend);
      if (r.status !== 'done' || r.statusCode !== 200)
        throw new Error(`was.get: ${r.status} ${r.statusCode} ${r.error?.message ?? ''}`);
      return r.data;
    });
    kernel.mount('/', app);
    break;
  }
  default:
    kernel.mount('/', plain);
}

if (a.kind === 'workers') await new Promise(() => {}); // run() owns this process from here
const started = await kernel.start(startOpts);
if (a.kind === 'app-hello-shared') {
  // Ready once connected (under valgrind start is slow): nothing of the connection's set-up
  // may fall into the measured requests.
  const { sharedBridge } = await import('@skitai/shared');
  const bridge = sharedBridge(kernel);
  while (!bridge.up) await new Promise((r) => setTimeout(r, 50));
}
// With workers, the master may be the only one to get here, or each worker too; the harness
// reads the first ready line only.
if (started && started.port) ready(started.port, { workers: startOpts.workers });
onStop(() => kernel.stop());
