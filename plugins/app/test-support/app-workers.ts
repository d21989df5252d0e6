// A startup script for the App broadcast test across workers: run as a child process.
import { Kernel } from '@skitai/kernel';
import { App, type RemoteSource } from '../src/index.js';

const kernel = new Kernel();
const app = new App();
const seen: unknown[] = [];
app.onBroadcast('note', (source, msg, sender) => {
  const remote = (source as RemoteSource).from !== undefined && !('request' in (source as object));
  seen.push({ msg, sender, remote });
});
app.route('/bcast', async (was, args) => {
  await was.broadcast('note', args.msg, kernel.workerId);
  return { by: kernel.workerId };
});
app.route('/seen', () => ({ id: kernel.workerId, seen }));
kernel.mount('/', app);
void kernel.run({ address: '127.0.0.1', port: 0, workers: 2 });
