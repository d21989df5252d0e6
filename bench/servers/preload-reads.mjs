// Diagnosis preload (`npm run bench -- --node-flags "--import ./bench/servers/preload-reads.mjs"`):
// reads this file 40 times through node:fs/promises before the server starts, as node's ESM
// loader reads 40 module files. Each read makes a FileHandle, an EventEmitter: node's
// EventEmitter.init gets its feedback early and then sees every emitter class the process
// makes (stdio, the server, its sockets, requests, responses), which makes it megamorphic,
// as it is in any process that loads a few dozen modules. Without this a bare node:http
// script starts so little that init's feedback sees only requests and responses.
import fs from 'node:fs/promises';

for (let i = 0; i < 40; i++) await fs.readFile(new URL(import.meta.url));
