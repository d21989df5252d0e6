// Cold start: an Express-only kernel (one Express app mounted at /), listening on --port.
// bench/run.mjs (scenario cold-start) times `node <script>` to the first 200 on /hello.
import { Kernel } from '@skitai/kernel';
import express from 'express';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const api = express();
api.get('/hello', (req, res) => res.json({ hello: 'world' }));
const kernel = new Kernel();
kernel.mount('/', api);
await kernel.start({ address: '127.0.0.1', port });
