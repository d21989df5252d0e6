// A Skitai startup script for the plugin tests, configured by FX_* environment variables:
// an App whose handlers call was.email(...).send(), and the smtpda plugin with its agent in
// the master's care.
import { App } from '@skitai/app';
import { Kernel } from '@skitai/kernel';
import { smtpda } from '../src/index.js';

const env = process.env;
const kernel = new Kernel();
kernel.use(
  smtpda({
    server: env.FX_SMTP_SERVER,
    spool: env.FX_SPOOL,
    logPath: env.FX_LOG,
    maxRetry: Number(env.FX_MAX_RETRY ?? 10),
    keepDays: 3,
    retryDelay: 0.2,
    maxRetryDelay: 1,
    pollInterval: 0.2,
    timeout: 5,
    restartDelay: 0.3,
    maxRestartDelay: 1,
    transport: { ignoreTLS: true },
    agent: env.FX_AGENT !== 'off',
  }),
);

const app = new App();
app.route('/send', async (was, args) => {
  const e = was.email(
    String(args.subject ?? 'hello'),
    String(args.from ?? 'app@example.com'),
    args.to === undefined ? undefined : String(args.to),
  );
  e.addContent(String(args.body ?? 'Hello from a handler'));
  if (args.attach) e.addAttachment(String(args.attach));
  try {
    const spooled = await e.send();
    return { ok: true, ...spooled, worker: kernel.workerId };
  } catch (err) {
    return was.response(400, { ok: false, code: (err as { code?: string }).code, message: (err as Error).message });
  }
});
kernel.mount('/', app);
void kernel.run({ address: '127.0.0.1', port: Number(env.FX_PORT ?? 0), workers: Number(env.FX_WORKERS ?? 1) });
