// The App framework part of the demo (mounted at /site by serve.mjs): routes, nunjucks
// templates, a session login with CSRF, an upload saved to var/uploads, and a JSON API.
// Sign in as demo / demo.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from '@skitai/app';

export function createSiteApp(options = {}) {
  // Templates in site/templates; uploads are files on disk beside the script (var/uploads).
  const root = fileURLToPath(new URL('./site/', import.meta.url));
  const uploadDir = options.uploadDir ?? fileURLToPath(new URL('./var/uploads/', import.meta.url));
  fs.mkdirSync(uploadDir, { recursive: true });
  const app = new App({ root, securekey: options.securekey ?? 'demo: change me', debug: options.debug ?? false, sessionTimeout: 3600, maxUploadFileSize: 1024 * 1024 });
  const users = { demo: 'demo' };
  const notes = [{ id: 1, text: 'Skitai for Node.js' }];

  app.templateGlobal('signedIn', (was) => was.session.get('user') !== undefined);
  app.setLoginHandler((was) => (was.session.get('user') ? undefined : was.redirect(was.ab('login', { next: was.request.uri }))));

  app.route('/', function index(was) {
    return was.render('index.html', { user: was.session.get('user'), notes, files: fs.readdirSync(uploadDir) });
  });

  app.route('/login', { name: 'login', methods: ['GET', 'POST'], params: ['next?', 'username?', 'password?', 'csrf_token?'] }, (was, args) => {
    if (was.request.method === 'POST') {
      if (!was.csrfVerify()) return was.response(400, 'the form expired: reload it and sign in again');
      if (users[args.username] !== undefined && users[args.username] === args.password) {
        was.session.set('user', args.username);
        was.mbox.send(`Signed in as ${args.username}`, 'success');
        return was.redirect(typeof args.next === 'string' && args.next.startsWith('/') ? args.next : was.ab('index'));
      }
      was.mbox.send('Invalid user name or password', 'error');
    }
    return was.render('login.html', { next: args.next ?? '' });
  });

  app.route('/logout', function logout(was) {
    was.session.remove('user');
    was.mbox.send('Signed out', 'info');
    return was.redirect(was.ab('index'));
  });

  app.route('/upload', { name: 'upload', methods: ['GET', 'POST'] }, app.loginRequired(async (was, args) => {
    if (was.request.method === 'POST') {
      if (!was.csrfVerify()) return was.response(400, 'bad form token');
      const file = args.file;
      if (!file || typeof file !== 'object' || !file.name) return was.response(400, 'no file');
      const saved = await file.save(uploadDir);
      was.mbox.send(`Uploaded ${path.basename(saved)} (${file.size} bytes)`, 'success');
      return was.redirect(was.ab('index'));
    }
    return was.render('upload.html');
  }));

  app.route('/api/notes', { name: 'notes', methods: ['GET', 'POST'], params: ['text?'] }, (was, args) => {
    if (was.request.method === 'GET') return was.response.api({ notes });
    if (typeof args.text !== 'string' || args.text === '') return was.response(400, was.response.fault('text is required', 40001));
    const note = { id: notes.length + 1, text: args.text };
    notes.push(note);
    return was.response(201, was.response.api({ note, url: was.ab('note', note.id) }));
  });

  app.route('/api/notes/<int:id>', { name: 'note', methods: ['GET'] }, (was, args) => {
    const note = notes.find((n) => n.id === args.id);
    return note ?? was.response(404, was.response.fault(`no note ${args.id}`, 40401));
  });

  return app;
}
