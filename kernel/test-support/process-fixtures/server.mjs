// A startup script for the process-model tests, configured by FX_* environment variables.
import fs from 'node:fs';
import { Kernel } from '@skitai/kernel';

const env = process.env;
const kernel = new Kernel();
if (env.FX_STOP_DEADLINE) kernel.setStopDeadline(Number(env.FX_STOP_DEADLINE));

if (kernel.processRole === 'worker' && env.FX_STARTS_FILE) {
  fs.appendFileSync(env.FX_STARTS_FILE, `${process.env.SKITAI_WORKER_SLOT} ${process.pid}\n`);
}
if (kernel.processRole === 'worker' && env.FX_CRASH_FILE && fs.existsSync(env.FX_CRASH_FILE)) {
  throw new Error('fixture: crashing at start on purpose');
}

kernel.addlu('k1', 'k2');
if (env.FX_CRITICAL) {
  const [cpuPercent, continuous, interval] = env.FX_CRITICAL.split(',').map(Number);
  kernel.setWorkerCriticalPoint({ cpuPercent, continuous, interval });
}
if (env.FX_BG_FILE) {
  kernel.registerProcess('fixture-bg', new URL('./background.mjs', import.meta.url), {
    restartDelay: 0.3,
    options: { file: env.FX_BG_FILE },
  });
}

if (env.FX_RELOADER_ROOT) {
  // The master watches the folders of mounted Apps: this one case needs the App framework.
  const { App } = await import('@skitai/app');
  const app = new App({ useReloader: true, root: env.FX_RELOADER_ROOT });
  app.route('/', async () => 'app');
  kernel.mount('/app', app);
}

let workerStartedAs;
kernel.hooks.workerStart.tap('fixture', (id) => {
  workerStartedAs = id;
});

const received = [];
kernel.onBroadcast((event, args, from) => received.push({ event, args, from }));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const json = (res, body) => {
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(body));
};

kernel.mount('/', async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const q = url.searchParams;
  const me = { id: kernel.workerId, pid: process.pid };
  switch (url.pathname) {
    case '/id':
      return json(res, me);
    case '/exec-argv':
      return json(res, { ...me, execArgv: process.execArgv, gc: typeof globalThis.gc });
    case '/worker-start':
      return json(res, { ...me, workerStartedAs });
    case '/slow':
      // The line tells a test the request is in flight (the sleep is the slow handler itself).
      console.log(`fixture: /slow in ${kernel.workerId}`);
      await sleep(Number(q.get('ms') ?? 1000));
      return json(res, { ...me, slept: true });
    case '/burn': {
      // Busy in slices: the event loop still turns, the CPU stays near 100%.
      const until = Date.now() + Number(q.get('ms') ?? 3000);
      while (Date.now() < until) {
        const slice = Date.now() + 20;
        while (Date.now() < slice) {
          /* spin */
        }
        await new Promise((r) => setImmediate(r));
      }
      return json(res, { ...me, burnt: true });
    }
    case '/block': {
      // Busy without a break: the event loop is blocked the whole time.
      const until = Date.now() + Number(q.get('ms') ?? 3000);
      while (Date.now() < until) {
        /* spin */
      }
      return json(res, { ...me, blocked: true });
    }
    case '/setlu':
      return json(res, { ...me, time: kernel.setlu(q.get('key') ?? 'k1', 'arg') });
    case '/getlu':
      return json(res, { ...me, time: kernel.getlu(...(q.getAll('key').length ? q.getAll('key') : ['k1'])) });
    case '/broadcast':
      kernel.broadcast(q.get('event') ?? 'ev', Number(q.get('n') ?? 0));
      return json(res, me);
    case '/sendto':
      return json(res, {
        ...me,
        sent: kernel.sendTo(q.get('to'), q.get('event') ?? 'direct', Number(q.get('n') ?? 0)),
      });
    case '/received':
      return json(res, { ...me, received });
    case '/shutdown':
      kernel.shutdownServer();
      return json(res, me);
    case '/restart':
      kernel.restartWorkers();
      return json(res, me);
    default:
      res.statusCode = 404;
      return json(res, me);
  }
});

kernel.run({
  address: '127.0.0.1',
  port: Number(env.FX_PORT ?? 0),
  workers: Number(env.FX_WORKERS ?? 2),
  logpath: env.FX_LOGPATH || undefined,
  varpath: env.FX_VARPATH || undefined,
  execArgv: env.FX_EXEC_ARGV ? JSON.parse(env.FX_EXEC_ARGV) : undefined,
});
