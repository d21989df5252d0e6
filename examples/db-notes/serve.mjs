// The notes example: `node serve.mjs` (SQLite, var/notes.sqlite3 next to this file), or with
// DATABASE=postgresql://user:password@host:port/db the same app on PostgreSQL: only the alias
// changes. Then open http://127.0.0.1:5000/notes (--port N for another port).
import fs from 'node:fs';
import { Kernel } from '@skitai/kernel';
import { services, servicesOf } from '@skitai/services';
import { db, dbCallers } from '@skitai/db';
import { notesApp, SCHEMA } from './notes.mjs';

const kernel = new Kernel().use(services()).use(db());
const url = process.env.DATABASE;
if (url?.startsWith('postgresql://')) {
  kernel.alias('@notes', 'postgresql', url.slice('postgresql://'.length));
} else {
  fs.mkdirSync(kernel.abspath('var'), { recursive: true });
  kernel.alias('@notes', 'sqlite3', kernel.abspath('var', 'notes.sqlite3'));
}
kernel.addlu('notes');
kernel.mount('/', notesApp());
const i = process.argv.indexOf('--port');
await kernel.start({ port: i > 0 ? Number(process.argv[i + 1]) : 5000 });
// The table, through the same alias.
(await dbCallers(servicesOf(kernel)).backend('@notes').execute(SCHEMA)).raiseForStatus();
