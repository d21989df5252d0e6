// One instance of a server for the tests, run as its own process: the App, WebSocket chat,
// the services' result cache and cron, sharing through Redis. Given JSON in argv[2]:
// { redis, backend, cronFile?, name, workers? }. Writes JSON lines to stdout: { port } once
// listening (with workers, the master's "N workers listening on ...:port" log line says it),
// then { event, key, getlu, at, worker, role } for each model-changed or hello-all event a
// process hears (with workers, each worker and the master write to the same pipe, a line at a
// time).
import cluster from 'node:cluster';
import fs from 'node:fs';
import { Kernel } from '@skitai/kernel';
import { App } from '@skitai/app';
import { services } from '@skitai/services';
import { websocket } from '@skitai/websocket';
import { createChatApp } from '@skitai/websocket/chat';
import { cron } from '@skitai/cron';
import { shared } from '@skitai/shared';

const config = JSON.parse(process.argv[2]!) as {
  redis: string;
  backend: string;
  cronFile?: string;
  name: string;
  off?: boolean;
  workers?: number;
};
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const kernel = new Kernel();
if (!config.off) kernel.use(shared({ redis: config.redis, startWait: 5000 }));
kernel.use(services());
kernel.use(websocket());
if (config.cronFile) {
  kernel.use(
    cron({
      seconds: true,
      jobs: [
        {
          spec: '* * * * * *',
          module: new URL('./cron-job.js', import.meta.url).href,
          export: 'tick',
          args: { file: config.cronFile, instance: config.name },
          name: 'tick',
        },
      ],
    }),
  );
}
kernel.addlu('k');
/**
 * Milliseconds this process's threads (the main one, the Redis thread, V8's) waited for a CPU
 * since they started (Linux's schedstat).
 */
const runQueueMs = () =>
  fs
    .readdirSync('/proc/self/task')
    .reduce((sum, tid) => sum + Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]), 0) /
  1e6;
let mark = 0;
kernel.onBroadcast((event, args, from) => {
  const at = Date.now();
  const who = { worker: kernel.workerId, role: kernel.processRole, pid: process.pid };
  // waited: run-queue time since GET /mark (the process idle meanwhile, until the message woke it).
  if (event === 'model-changed')
    say({ event, key: args[0], getlu: kernel.getlu('k'), from, at, waited: runQueueMs() - mark, ...who });
  else if (event === 'hello-all') say({ event, token: args[0], from, at, ...who });
});

const app = new App();
app.route('/hello', () => 'ok');
app.route('/lu', (was) => ({ t: was.getlu('k') }));
app.route('/mark', () => {
  mark = runQueueMs();
  return { mark };
});
app.route('/setlu', (was) => ({ t: was.setlu('k'), worker: kernel.workerId }));
app.route('/broadcast', { params: ['token'] }, (was, { token }) => {
  void was.broadcast('hello-all', token);
  return { worker: kernel.workerId };
});
app.route('/cached', async (was) => {
  const r = await was.get(`${config.backend}/data`);
  r.cache(60);
  return { data: r.data, cached: r.cached };
});
kernel.mount('/', app);
kernel.mount('/chat', createChatApp());

if (config.workers) {
  // The master's log line gives the port; run() owns the processes and SIGTERM from here.
  if (!cluster.isWorker) say({ instance: kernel.instanceId });
  await kernel.run({ address: '127.0.0.1', port: 0, workers: config.workers, argv: false });
  await new Promise(() => {});
}
const listening = await kernel.start({ address: '127.0.0.1', port: 0 });
say({ port: listening.port, instance: kernel.instanceId });
process.on('SIGTERM', () => {
  kernel.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
