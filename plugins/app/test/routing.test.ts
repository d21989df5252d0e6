import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '../src/index.js';
import { Router, Rule } from '../src/router.js';
import { serve, type Served } from '../test-support/app-server.js';

let s: Served;
const app = new App();
const other = new App();

app.route('/', () => 'index');
app.route('/ep/<int:id>', (_was, args) => ({ id: args.id, type: typeof args.id }));
app.route('/f/<float:x>', (_was, args) => ({ x: args.x }));
app.route('/s/<name>', (_was, args) => ({ name: args.name }));
app.route('/dl/<int:v>/<path:rest>', (_was, args) => ({ v: args.v, rest: args.rest }));
app.route('/only-post', { methods: ['POST'] }, () => 'posted');
app.route('/get-put', { methods: ['GET'] }, () => 'got');
app.route('/get-put', { methods: ['PUT'] }, () => 'put');
app.route('/xml', { methods: ['POST'], contentTypes: ['text/plain'] }, (was) => `len ${was.request.body.length}`);
app.route('/folder/', () => 'folder');
app.route('/a', { params: ['a'] }, (_was, args) => `a=${args.a}`);
app.route('/a-rest', { params: ['a', '...'] }, (_was, args) => Object.keys(args).join(','));
app.route('/hello', { params: ['id', 'topic'] }, (_was, args) => `${args.id}/${args.topic}`);
app.route('/num', { defaults: { num: 8 } }, (_was, args) => ({ num: args.num }));
app.route('/opt', { params: ['q?'] }, (_was, args) => ({ q: args.q ?? null }));
app.route('/any', (_was, args) => Object.keys(args));
app.route('/build', (was) => ({
  self: was.ab('/build'),
  named: was.ab('namedFn'),
  add: was.ab('add', 10, 40),
  addNamed: was.ab('add', 10, { num2: 60 }),
  hello: was.ab('hello2', 'Your Name'),
  ep: was.ab('ep', 7),
  other: was.ab('search.query', 'Your Name'),
}));
app.route('/named-fn', function namedFn() {
  return '';
});
app.route('/add', { name: 'add', params: ['num1', 'num2'] }, (_was, args) => Number(args.num1) + Number(args.num2));
app.route('/hello2/<name>', { name: 'hello2' }, (_was, args) => `Hello, ${args.name}`);
app.route('/ep2/<int:id>', { name: 'ep' }, () => '');
other.route('/query', { name: 'query', params: ['q'] }, (_was, args) => `q=${args.q}`);

before(async () => {
  s = await serve([
    ['/math', app],
    ['/search', other, { name: 'search' }],
  ]);
});
after(() => s.close());

async function get(path: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(s.base + path, { redirect: 'manual', ...init });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

test('typed rule parameters', async () => {
  assert.deepEqual(JSON.parse((await get('/math/ep/42')).text), { id: 42, type: 'number' });
  assert.deepEqual(JSON.parse((await get('/math/f/1.5')).text), { x: 1.5 });
  assert.deepEqual(JSON.parse((await get('/math/s/hello%20world')).text), { name: 'hello world' });
  assert.deepEqual(JSON.parse((await get('/math/dl/2/win32/x/setup.exe')).text), { v: 2, rest: 'win32/x/setup.exe' });
  assert.equal((await get('/math/ep/abc')).status, 404);
});

test('index and 404', async () => {
  assert.equal((await get('/math/')).text, 'index');
  const r = await get('/math/nothing-here', { headers: { accept: 'application/json' } });
  assert.equal(r.status, 404);
  assert.equal(JSON.parse(r.text).code, 404);
});

test('methods: 405 with Allow; HEAD where GET is allowed; dispatch by method', async () => {
  const r = await get('/math/only-post');
  assert.equal(r.status, 405);
  assert.equal(r.headers.get('allow'), 'POST');
  assert.equal((await get('/math/only-post', { method: 'POST' })).text, 'posted');
  assert.equal((await get('/math/get-put')).text, 'got');
  assert.equal((await get('/math/get-put', { method: 'PUT' })).text, 'put');
  const d = await get('/math/get-put', { method: 'DELETE' });
  assert.equal(d.status, 405);
  assert.deepEqual(d.headers.get('allow')!.split(', ').sort(), ['GET', 'HEAD', 'PUT']);
  const h = await get('/math/get-put', { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.text, '');
  assert.equal(h.headers.get('content-length'), '3');
});

test('content types: 415 otherwise', async () => {
  const ok = await get('/math/xml', {
    method: 'POST',
    body: 'hello',
    headers: { 'content-type': 'text/plain; charset=utf-8' },
  });
  assert.equal(ok.text, 'len 5');
  const bad = await get('/math/xml', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 415);
});

test('a route /x/ asked as /x redirects, keeping the query', async () => {
  const r = await get('/math/folder?x=1');
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), '/math/folder/?x=1');
  assert.equal((await get('/math/folder/')).text, 'folder');
});

test("declared parameters: Skitai's cases", async () => {
  assert.equal((await get('/math/a?a=1')).text, 'a=1');
  const refused = await get('/math/a?a=1&b=1', { headers: { accept: 'application/json' } });
  assert.equal(refused.status, 400);
  assert.match(JSON.parse(refused.text).message, /unexpected parameter: b/);
  assert.equal((await get('/math/a-rest?a=1&b=1')).text, 'a,b');
  const missing = await get('/math/hello?id=1', { headers: { accept: 'application/json' } });
  assert.equal(missing.status, 400);
  assert.match(JSON.parse(missing.text).message, /missing parameter: topic/);
  assert.equal((await get('/math/hello?id=1&topic=t')).text, '1/t');
  // Form bodies count as parameters too.
  const form = await get('/math/hello?id=1', {
    method: 'POST',
    body: 'topic=t&extra=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(form.status, 400);
  assert.match(form.text, /unexpected parameter: extra/);
  assert.deepEqual(JSON.parse((await get('/math/num')).text), { num: 8 });
  assert.deepEqual(JSON.parse((await get('/math/num?num=3')).text), { num: '3' });
  assert.deepEqual(JSON.parse((await get('/math/opt')).text), { q: null });
  // Undeclared routes take anything.
  assert.deepEqual(JSON.parse((await get('/math/any?x=1&y=2')).text), ['x', 'y']);
});

test('URL building honours the mount point, within and across apps', async () => {
  const b = JSON.parse((await get('/math/build')).text);
  assert.equal(b.self, '/math/build');
  assert.equal(b.named, '/math/named-fn');
  assert.equal(b.add, '/math/add?num1=10&num2=40');
  assert.equal(b.addNamed, '/math/add?num1=10&num2=60');
  assert.equal(b.hello, '/math/hello2/Your%20Name');
  assert.equal(b.ep, '/math/ep2/7');
  assert.equal(b.other, '/search/query?q=Your%20Name');
  assert.equal((await get(b.add)).text, '50');
  assert.equal((await get(b.other)).text, 'q=Your Name');
  assert.equal(app.urlFor('add', 1, 2), '/math/add?num1=1&num2=2');
});

/** Asserts that the rule's match gives, for each path, what its RegExp gives (params converted, or no match). */
function agreesWithRegExp(rule: Rule, source: string, paths: string[]): void {
  const decode = (raw: string) => {
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  };
  for (const p of paths) {
    const m = rule.regexp!.exec(p);
    const expected =
      m === null
        ? undefined
        : Object.fromEntries(
            rule.params.map((param, i) => {
              const raw = m[i + 1]!;
              const value =
                param.type === 'int'
                  ? Number.parseInt(raw, 10)
                  : param.type === 'float'
                    ? Number.parseFloat(raw)
                    : decode(raw);
              return [param.name, value];
            }),
          );
    const got = rule.match(p);
    assert.deepEqual(got === undefined ? undefined : { ...got }, expected, `${source} against ${p}`);
  }
}

test('rules matched segment by segment agree with their RegExp, case by case', () => {
  // The segment walker (whole-segment parameters) must say what the rule's RegExp says.
  const cases: [string, string[]][] = [
    [
      '/users/<int:id>',
      [
        '/users/42',
        '/users/-7',
        '/users/007',
        '/users/-0',
        '/users/4a',
        '/users/',
        '/users/42/',
        '/users/-',
        '/users/+1',
        '/users/12345678901234567890',
        '/users/1234567890123456789a',
        '/users/42x',
        '/usersx/42',
        '/users//42',
      ],
    ],
    [
      '/a/<x>/b/<float:f>',
      ['/a/h%20i/b/1.5', '/a/hi/b/1.', '/a/hi/b/1', '/a/hi/b/.5', '/a/hi/b/-2.25', '/a/%E0%A4%A/b/1', '/a/hi/c/1'],
    ],
    ['/<a>/<b>', ['/x/y', '/x//y', '/x/y/', '/x', '/']],
    ['/u/<int:id>/posts', ['/u/3/posts', '/u/3/postsX', '/u/3/post', '/u//posts']],
  ];
  for (const [source, paths] of cases) {
    const rule = new Rule(source);
    assert.equal((rule as unknown as { bySegment: boolean }).bySegment, true, source);
    agreesWithRegExp(rule, source, paths);
  }
  // Shapes the walker does not take keep the RegExp.
  for (const source of ['/f-<id>.txt', '/p/<path:rest>', '/x<a>/y']) {
    assert.equal((new Rule(source) as unknown as { bySegment: boolean }).bySegment, false, source);
  }
  assert.deepEqual({ ...new Rule('/p/<path:rest>').match('/p/a/b')! }, { rest: 'a/b' });
});

test('route names: the rule, the handler function name or { name }; an unknown name lists the names there are', () => {
  const app = new App();
  app.route('/notes/<int:id>', { name: 'note' }, async () => 'a note');
  app.route('/about', async () => 'arrow functions have no name: the rule names the route');
  async function index() {
    return 'index';
  }
  app.route('/', index);
  assert.equal(app.urlFor('note', 7), '/notes/7');
  assert.equal(app.urlFor('/about'), '/about');
  assert.equal(app.urlFor('index'), '/');
  assert.throws(
    () => app.urlFor('notes', 7),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SKT_APP_NO_ROUTE');
      assert.equal(
        e.message,
        'was.ab("notes"): no route of this app has that name. ' +
          'Its routes are named "note", "/notes/<int:id>", "/about", "index", "/". ' +
          "A route is named by its rule, by its handler function's name, or by app.route(rule, { name: '...' }, handler).",
      );
      return true;
    },
  );
});

test("an App and a folder at the same point (Skitai's habit): routes first, then files, then the App's 404", async () => {
  const { Kernel } = await import('@skitai/kernel');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const swd = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-app-static-'));
  fs.mkdirSync(path.join(swd, 'static'));
  fs.writeFileSync(path.join(swd, 'static', 'style.css'), 'body { color: red }');
  const app = new App();
  app.route('/', async () => 'home');
  app.route('/style.css', { name: 'generated' }, async () => 'a route wins over a file of the same path');
  const kernel = new Kernel().setswd(swd);
  kernel.mount('/', app);
  kernel.mount('/', './static');
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    const base = `http://127.0.0.1:${port}`;
    assert.equal(await (await fetch(`${base}/`)).text(), 'home');
    assert.equal(await (await fetch(`${base}/style.css`)).text(), 'a route wins over a file of the same path');
    app.router.remove(app.router.find('/style.css')!.routes[0]!);
    const file = await fetch(`${base}/style.css`);
    assert.equal(file.status, 200);
    assert.equal(await file.text(), 'body { color: red }');
    assert.equal((await fetch(`${base}/nothing-here`)).status, 404);
  } finally {
    await kernel.stop();
    fs.rmSync(swd, { recursive: true, force: true });
  }
});

test('a rule whose parameters fill whole segments matches by walking the path exactly as its RegExp does', () => {
  const rules = ['/users/<int:id>', '/a/<x>/b/<int:y>', '/f/<float:v>', '/s/<name>/', '/<a>/<b>', '/t/<int:n>/x'];
  const paths = [
    '/users/42',
    '/users/-7',
    '/users/',
    '/users/4a',
    '/users/42/',
    '/a/p%20q/b/3',
    '/a/p/b/',
    '/a//b/3',
    '/f/1.5',
    '/f/-2',
    '/f/1.',
    '/s/n/',
    '/s/n',
    '/x/y',
    '/x/y/z',
    '/t/1/x',
    '/t/1/xy',
    '/t/1/',
    '/',
  ];
  for (const source of rules) {
    const rule = new Rule(source);
    agreesWithRegExp(rule, source, paths);
  }
});

test('the router finds literal rules of every length, before and after others are removed, and dynamic rules at any length', () => {
  const router = new Router<{ rule: Rule; id: string }>();
  const add = (source: string, id = source) => {
    const route = { rule: new Rule(source), id };
    router.add(route);
    return route;
  };
  const ids = (path: string) => router.find(path)?.routes.map((r) => r.id);
  add('/<name>', 'dynamic');
  // No literal rule yet: every path goes to the rules with parameters.
  assert.deepEqual(ids('/x'), ['dynamic']);
  assert.equal(ids('/'), undefined);
  const ab = add('/ab');
  add('/abcdef');
  add('/');
  assert.deepEqual(ids('/'), ['/']);
  assert.deepEqual(ids('/ab'), ['/ab']);
  assert.deepEqual(ids('/abcdef'), ['/abcdef']);
  // Lengths of a literal rule, other text; a length longer than any literal rule.
  assert.deepEqual(ids('/xy'), ['dynamic']);
  assert.deepEqual(ids('/abcdeg'), ['dynamic']);
  assert.deepEqual(ids('/a-much-longer-segment'), ['dynamic']);
  assert.equal(router.find('/a-much-longer-segment')?.params.name, 'a-much-longer-segment');
  router.remove(ab);
  assert.deepEqual(ids('/ab'), ['dynamic']);
  assert.deepEqual(ids('/abcdef'), ['/abcdef']);
  add('/ab', 'again');
  assert.deepEqual(ids('/ab'), ['again']);
});
