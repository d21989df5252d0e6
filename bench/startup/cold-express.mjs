// Cold start: the same Express app on its own (http.createServer), listening on --port.
import http from 'node:http';
import express from 'express';

const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const api = express();
api.get('/hello', (req, res) => res.json({ hello: 'world' }));
http.createServer(api).listen(port, '127.0.0.1');
