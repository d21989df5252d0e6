// Skitai Notes, on the App framework (@skitai/app): a shared notebook with sign-in, file
// attachments and a chat room. Pages are nunjucks templates (templates/); the notes page's
// script (assets/notes.js) lists, adds and deletes notes through the JSON API below.
import fs from 'node:fs/promises';
import path from 'node:path';
import { App } from '@skitai/app';
import { wsRoute } from '@skitai/websocket';

// A demo's users. A real app keeps hashed passwords somewhere else.
const USERS = { demo: 'demo', ana: 'ana' };
// Attachments of these types are shown inline; anything else is sent as a download.
const IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export function createNotesApp({ store, uploadDir, securekey }) {
  const app = new App({ securekey, sessionTimeout: 8 * 3600, maxUploadFileSize: 2 * 1024 * 1024 });
  const user = (was) => was.session.get('user');
  const fault = (was, status, message) => was.response(status, was.response.fault(message, status));
  // What the API shows of a note: the attachment as a link, not as a file on disk.
  const view = (was, { file, ...note }) =>
    file ? { ...note, file: { name: file.name, size: file.size, url: was.ab('attachment', note.id) } } : note;

  app.templateGlobal('user', user);
  app.setLoginHandler((was) => (user(was) ? undefined : was.redirect(was.ab('login', { next: was.request.uri }))));
  app.errorHandler(404, (was, error) => was.render('error.html', { error }));

  app.route('/', function index(was) {
    // The stylesheet and script this page needs, announced before it (a Link preload header;
    // over HTTP/2 a push or a 103 Early Hints response).
    was.response.hintPromise('/assets/style.css', '/assets/notes.js');
    return was.render('index.html');
  });
  app.route('/about', function about(was) {
    return was.render('about.html');
  });

  app.route(
    '/login',
    { name: 'login', methods: ['GET', 'POST'], params: ['next?', 'username?', 'password?', 'csrf_token?'] },
    (was, args) => {
      // Only a path on this site: "//host" or "https://..." would make this an open redirect.
      const next = typeof args.next === 'string' && /^\/(?!\/)/.test(args.next) ? args.next : was.ab('index');
      if (was.request.method === 'POST') {
        if (!was.csrfVerify()) return was.response(400, 'The form expired: reload it and sign in again.');
        if (Object.hasOwn(USERS, args.username) && USERS[args.username] === args.password) {
          was.session.set('user', args.username);
          was.mbox.send(`Signed in as ${args.username}.`, 'success');
          return was.redirect(next);
        }
        was.mbox.send('Wrong user name or password.', 'error');
        return was.redirect(was.ab('login', { next }));
      }
      return was.render('login.html', { next });
    },
  );

  app.route('/logout', { name: 'logout', methods: ['POST'], params: ['csrf_token?'] }, (was) => {
    if (!was.csrfVerify()) return was.response(400, 'The form expired: reload the page.');
    was.session.remove('user');
    was.mbox.send('Signed out.', 'info');
    return was.redirect(was.ab('index'));
  });

  // The JSON API. Reading is open; writing needs a signed-in user and the CSRF token (the
  // csrf_token field or an X-CSRF-Token header).
  app.route(
    '/api/notes',
    { name: 'notes', methods: ['GET', 'POST'], params: ['text?', 'file?', 'csrf_token?'] },
    async (was, args) => {
      if (was.request.method === 'GET') return { notes: (await store.list()).map((n) => view(was, n)) };
      const author = user(was);
      if (!author) return fault(was, 401, 'Sign in to write notes.');
      if (!was.csrfVerify()) return fault(was, 403, 'The page expired: reload it.');
      const text = typeof args.text === 'string' ? args.text.trim() : '';
      if (text === '' || text.length > 500) return fault(was, 400, 'A note is 1 to 500 characters.');
      const upload = args.file;
      if (upload !== undefined && typeof upload?.save !== 'function')
        return fault(was, 400, 'file must be an uploaded file.');
      let file;
      if (upload?.name) {
        // a form's empty file input sends a part without a name: no attachment
        const saved = await upload.save(uploadDir, { mkdir: true, dup: 'unique' });
        file = { name: upload.name, size: upload.size, type: upload.mimetype, stored: path.basename(saved) };
      }
      const note = await store.add({ text, author, ...(file && { file }) });
      // The chat room hears about it: an HTTP route talking to WebSocket clients.
      was.websocket.sendRoom(was.ab('chatSocket'), 'lobby', { type: 'note', name: author, text }, 'json');
      return was.response(201, { note: view(was, note) });
    },
  );

  app.route('/api/notes/<int:id>', { name: 'note', methods: ['GET', 'DELETE'] }, async (was, args) => {
    const note = await store.get(args.id);
    if (note === undefined) return fault(was, 404, `There is no note ${args.id}.`);
    if (was.request.method === 'GET') return view(was, note);
    if (user(was) === undefined || user(was) !== note.author)
      return fault(was, 403, 'Only its author can delete a note.');
    if (!was.csrfVerify()) return fault(was, 403, 'The page expired: reload it.');
    await store.remove(note.id);
    if (note.file) await fs.rm(path.join(uploadDir, note.file.stored), { force: true });
    return was.response(204, '');
  });

  app.route('/notes/<int:id>/file', { name: 'attachment' }, async (was, args) => {
    const file = (await store.get(args.id))?.file;
    if (file === undefined) return was.response(404);
    was.response.setHeader('X-Content-Type-Options', 'nosniff'); // the browser trusts our type, not its guess
    const stored = path.join(uploadDir, file.stored);
    return IMAGES.has(file.type)
      ? was.response.file(stored, { mimetype: file.type })
      : was.response.file(stored, { mimetype: 'application/octet-stream', filename: file.name });
  });

  // The chat: a page and one room on a WebSocket, for signed-in users (the others are
  // refused before the 101). Names come from the session, not from the client.
  app.route(
    '/chat',
    { name: 'chat' },
    app.loginRequired((was) => was.render('chat.html')),
  );
  app.route(
    '/chat/ws',
    { name: 'chatSocket' },
    wsRoute(
      { mode: 'groupchat', room: 'lobby', encoding: 'json', keepAlive: 60 },
      {
        init: (was) => user(was) !== undefined,
        open: (was) => ({ type: 'enter', name: user(was) }),
        message: (was, message) => {
          const text = typeof message?.text === 'string' ? message.text.trim().slice(0, 500) : '';
          return text ? { type: 'say', name: user(was), text } : undefined;
        },
        close: (was) => ({ type: 'leave', name: user(was) }),
      },
    ),
  );

  return app;
}
