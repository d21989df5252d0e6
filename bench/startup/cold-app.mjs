// Cold start: a kernel with one App route, listening on --port.
import { Kernel } from '@skitai/kernel';
import { App } from '@skitai/app';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const app = new App();
app.route('/hello', async () => ({ hello: 'world' }));
const kernel = new Kernel();
kernel.mount('/', app);
await kernel.start({ address: '127.0.0.1', port });
