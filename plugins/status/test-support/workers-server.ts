// A startup script with two workers and every plugin in use (services with an alias,
// websocket, cron, smtpda) and the status page: run as a child process by the workers test
// and the screenshot script. Environment: BACKEND (host:port of a live backend), SPOOL and
// LOGS (folders).
import { Kernel } from '@skitai/kernel';
import { App } from '@skitai/app';
import { services } from '@skitai/services';
import { websocket, wsRoute } from '@skitai/websocket';
import { cron } from '@skitai/cron';
import { smtpda } from '@skitai/smtpda';
import { statusPage } from '../src/index.js';

const kernel = new Kernel();
kernel.use(services());
kernel.use(websocket());
kernel.use(
  cron({
    seconds: true,
    jobs: [
      { spec: '*/2 * * * * *', command: 'true', name: 'heartbeat' },
      { spec: '0 0 3 * * *', command: 'find ./archive -name "*.gz" -mtime +30 -delete', name: 'nightly-archive' },
    ],
  }),
);
kernel.use(smtpda({ server: '127.0.0.1:9', spool: process.env.SPOOL, retryDelay: 600, pollInterval: 0.2 }));
kernel.alias('@api', 'http', [process.env.BACKEND ?? '127.0.0.1:9', '127.0.0.1:9']);

const app = new App();
app.route('/', () => 'hello');
app.route('/call', async (was) => {
  const r = await was.get.lb('@api/items');
  return { status: r.status, member: r.member };
});
app.route('/mail', async (was) => {
  await was.email('Report', 'ops@example.com', 'team@example.com').addContent('nightly report').send();
  return { spooled: true };
});
app.route(
  '/echo',
  wsRoute({ mode: 'simple' }, (_was, message) => `ECHO:${message}`),
);
kernel.mount('/', app);
kernel.mount('/status', statusPage({ allow: ['127.0.0.1/32', '::1/128'] }));
void kernel.run({ address: '127.0.0.1', port: Number(process.env.PORT ?? 0), workers: 2, logpath: process.env.LOGS });
