// A notes page on @skitai/db: every query goes through was.backend('@notes'), so the same code
// runs on SQLite (development) and PostgreSQL (production); serve.mjs picks the alias.
// Portable SQL: $1 placeholders (rewritten for SQLite) and standard types.
import { App, HttpError } from '@skitai/app';

const page = (notes, cached) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Notes</title></head><body>
<h1>Notes</h1>
<form method="post" action="notes"><input name="text" maxlength="200" required> <button>Add</button></form>
<ul>${notes.map((n) => `<li>${escape(n.text)}</li>`).join('')}</ul>
<p><small>${notes.length} note${notes.length === 1 ? '' : 's'}${cached ? ' (from the result cache)' : ''}</small></p>
</body></html>`;

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The schema, for either engine. */
export const SCHEMA = 'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text VARCHAR(200) NOT NULL)';

export function notesApp() {
  const app = new App();
  app.route('/notes', { methods: ['GET', 'POST'] }, async (was, args) => {
    if (was.request.method === 'POST') {
      const text = typeof args.text === 'string' ? args.text.trim() : '';
      if (text === '' || text.length > 200) throw new HttpError(400, 'text must be 1 to 200 characters');
      const r = await was
        .backend('@notes')
        .execute('INSERT INTO notes (id, text) VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM notes), $1)', [text]);
      r.raiseForStatus();
      was.setlu('notes');
      return was.redirect('notes');
    }
    // Cached until a note is added (setlu above drops it).
    const r = await was
      .backend('@notes', { useCache: was.getlu('notes') })
      .execute('SELECT id, text FROM notes ORDER BY id');
    r.raiseForStatus().cache(60);
    return page(r.rows, r.cached);
  });
  app.route('/notes.json', async (was) => {
    const r = await was.backend('@notes').execute('SELECT id, text FROM notes ORDER BY id');
    return r.raiseForStatus().rows;
  });
  return app;
}
