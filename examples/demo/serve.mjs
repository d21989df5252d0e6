// The demo, as a Skitai startup script: on one port, a static site (/), an Express API (/api),
// a site on the App framework (/site) and a WebSocket chat (/chat).
//   node serve.mjs          foreground, server log on the console
//   node serve.mjs -v       and the request log too
//   node serve.mjs --port 8080
//   SKITAI_TLS_CERT=cert.pem SKITAI_TLS_KEY=key.pem node serve.mjs
//                           HTTPS with HTTP/2 (and HTTP/1.1) on the port; SKITAI_TLS_PASSPHRASE
//                           for an encrypted key
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { Kernel } from '@skitai/kernel';
import { websocket } from '@skitai/websocket';
import { http2, hintPromise } from '@skitai/http2';
import { createChatApp } from '@skitai/websocket/chat';
import { createSiteApp } from './site.mjs';

const kernel = new Kernel();

// Notes live in a file next to this script (var/notes.json), written atomically.
const store = kernel.abspath('var', 'notes.json');
function readNotes() {
  try { return JSON.parse(fs.readFileSync(store, 'utf8')); } catch { return []; }
}
function writeNotes(notes) {
  fs.mkdirSync(path.dirname(store), { recursive: true });
  fs.writeFileSync(`${store}.tmp`, JSON.stringify(notes, null, 2));
  fs.renameSync(`${store}.tmp`, store);
}

const api = express();
api.use(express.json({ limit: '16kb' }));
api.get('/notes', (req, res) => res.json(readNotes()));
api.post('/notes', (req, res) => {
  const text = typeof req.body?.text === 'string' ? req.body.text.trim() : '';
  if (!text || text.length > 500) return res.status(400).json({ code: 400, message: 'text must be 1 to 500 characters' });
  const notes = readNotes();
  const note = { id: (notes.at(-1)?.id ?? 0) + 1, text, at: new Date().toISOString() };
  notes.push(note);
  writeNotes(notes);
  res.status(201).json(note);
});
api.delete('/notes/:id', (req, res) => {
  const notes = readNotes();
  const left = notes.filter((n) => String(n.id) !== req.params.id);
  if (left.length === notes.length) return res.status(404).json({ code: 404, message: 'no such note' });
  writeNotes(left);
  res.status(204).end();
});
api.get('/status', (req, res) => res.json({ server: `Skitai/${kernel.version}`, url: req.originalUrl, uptime: process.uptime() }));

// Sessions are sealed with this key: made once, kept in var/ so sign-ins survive a restart.
function secureKey() {
  if (process.env.SKITAI_SECUREKEY) return process.env.SKITAI_SECUREKEY;
  const file = kernel.abspath('var', 'securekey');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

kernel.use(websocket());
if (process.env.SKITAI_TLS_CERT) {
  const { SKITAI_TLS_CERT: cert, SKITAI_TLS_KEY: key, SKITAI_TLS_PASSPHRASE: passphrase } = process.env;
  kernel.use(http2({ cert, key, passphrase }));
  // The notes page's stylesheet and script, announced before the page: pushed to clients that
  // take push, a 103 Early Hints response for browsers. Then the folder serves the page.
  kernel.mount('/', (req, res, next) => {
    if (req.url === '/' || req.url === '/index.html') hintPromise(req, res, '/assets/site.css', '/assets/notes.js');
    next();
  });
}
kernel.mount('/', './public');
kernel.mount('/api', api);
kernel.mount('/site', createSiteApp({ securekey: secureKey() }));
kernel.mount('/chat', createChatApp());
kernel.setMaxAge('/assets/', 3600);
kernel.logOff('/assets/', '*.ico');

kernel.run({ address: process.env.SKITAI_ADDRESS ?? '127.0.0.1', port: 5000 });
