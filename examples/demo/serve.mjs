// The demo: a static site and an Express API on one port, as a Skitai startup script.
//   node serve.mjs          foreground, server log on the console
//   node serve.mjs -v       and the request log too
//   node serve.mjs --port 8080
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { Kernel } from '@skitai/kernel';

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

kernel.mount('/', './public');
kernel.mount('/api', api);
kernel.setMaxAge('/assets/', 3600);
kernel.logOff('/assets/', '*.ico');

kernel.run({ address: process.env.SKITAI_ADDRESS ?? '127.0.0.1', port: 5000 });
