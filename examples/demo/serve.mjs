// The demo, Skitai Notes, as a Skitai startup script: one kernel, one port.
//   /          the Notes App (notes.mjs): pages, sign-in, attachments, a JSON API, the chat
//   /legacy    an Express service (legacy.mjs) reading the same notes
//   /assets    static files (assets/), cached by browsers for an hour
//   /status    the server's status page and metrics, for this machine only (@skitai/status)
// The notes live in SQLite (var/notes.sqlite3) behind the alias @notes (@skitai/db);
// DATABASE=postgresql://user:password@host:port/db puts them in PostgreSQL instead.
// node serve.mjs [-v] [--port 8080]; data in ./var, or in the folder $DEMO_DATA names.
//   SKITAI_TLS_CERT=cert.pem SKITAI_TLS_KEY=key.pem node serve.mjs
//        HTTPS with HTTP/2 (and HTTP/1.1) on the port; SKITAI_TLS_PASSPHRASE for an encrypted key
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kernel } from '@skitai/kernel';
import { websocket } from '@skitai/websocket';
import { services, servicesOf } from '@skitai/services';
import { db, dbCallers } from '@skitai/db';
import { statusPage } from '@skitai/status';
import { openStore } from './store.mjs';
import { createNotesApp } from './notes.mjs';
import { createLegacyApi } from './legacy.mjs';

const kernel = new Kernel().use(services()).use(db());
const data = process.env.DEMO_DATA ? path.resolve(process.env.DEMO_DATA) : kernel.abspath('var');
fs.mkdirSync(data, { recursive: true });
const url = process.env.DATABASE;
const engine = url?.startsWith('postgresql://') ? 'postgresql' : 'sqlite3';
kernel.alias(
  '@notes',
  engine,
  engine === 'postgresql' ? url.slice('postgresql://'.length) : path.join(data, 'notes.sqlite3'),
);
const store = openStore(() => dbCallers(servicesOf(kernel)).backend('@notes'), {
  engine,
  legacyFile: path.join(data, 'notes.json'),
});

// Sessions are sealed with this key: made once and kept, so sign-ins survive a restart.
function secureKey() {
  const file = path.join(data, 'securekey');
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

kernel.use(websocket());
if (process.env.SKITAI_TLS_CERT) {
  // With HTTP/2, the notes page's hints (notes.mjs) go out as push or 103 Early Hints.
  // Loaded only here: a plain HTTP/1.1 start does not pay for node:http2 and the plugin.
  const { http2 } = await import('@skitai/http2');
  const { SKITAI_TLS_CERT: cert, SKITAI_TLS_KEY: key, SKITAI_TLS_PASSPHRASE: passphrase } = process.env;
  kernel.use(http2({ cert, key, passphrase }));
}
kernel.mount('/', createNotesApp({ store, uploadDir: path.join(data, 'uploads'), securekey: secureKey() }));
kernel.mount('/legacy', createLegacyApi(store, kernel));
kernel.mount('/assets', './assets');
kernel.mount('/status', statusPage()); // loopback clients only; see plugins/status for allow and users
kernel.setMaxAge('/assets/', 3600);
kernel.logOff('/assets/');

kernel.run({ address: process.env.SKITAI_ADDRESS ?? '127.0.0.1', port: 5000 });
