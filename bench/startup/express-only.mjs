// An Express-only startup script: one kernel, one Express app, nothing else.
import { Kernel } from '@skitai/kernel';
import express from 'express';

const api = express();
api.get('/hello', (req, res) => res.json({ hello: 'world' }));
const kernel = new Kernel();
kernel.mount('/api', api);
const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
const reply = await (await fetch(`http://127.0.0.1:${port}/api/hello`)).text();
if (reply !== '{"hello":"world"}') throw new Error(`unexpected reply ${reply}`);
process.send?.({ port });
await kernel.stop();
