// The notes store, shared by the App (notes.mjs) and the Express service (legacy.mjs): one
// small async API over a JSON file. The seam for a database: these four functions are all
// the rest of the demo calls, so moving the notes to SQLite (through the kernel's backend
// aliases, `was.backend('@notes')`, once the db plugin is there) changes this file only.
import fs from 'node:fs/promises';
import path from 'node:path';

export function openStore(file) {
  async function read() {
    try {
      return JSON.parse(await fs.readFile(file, 'utf8'));
    } catch (err) {
      if (err.code === 'ENOENT') return [];
      throw err; // a damaged file is an error, not an empty list to overwrite
    }
  }

  async function write(notes) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(`${file}.tmp`, JSON.stringify(notes, null, 2));
    await fs.rename(`${file}.tmp`, file); // readers see the old file or the new one, never half
  }

  // Changes run one after another, so two requests cannot both read, then both write.
  let queue = Promise.resolve();
  function change(fn) {
    const done = queue.then(async () => {
      const notes = await read();
      const result = fn(notes);
      await write(notes);
      return result;
    });
    queue = done.catch(() => {});
    return done;
  }

  return {
    /** Every note, newest first. */
    list: async () => (await read()).reverse(),
    get: async (id) => (await read()).find((n) => n.id === id),
    /** Adds { text, author, file? } and returns the note with its id and time. */
    add: (fields) => change((notes) => {
      const note = { id: Math.max(0, ...notes.map((n) => n.id)) + 1, ...fields, at: new Date().toISOString() };
      notes.push(note);
      return note;
    }),
    /** Removes a note; returns it, or undefined if there was none. */
    remove: (id) => change((notes) => {
      const i = notes.findIndex((n) => n.id === id);
      return i < 0 ? undefined : notes.splice(i, 1)[0];
    }),
  };
}
