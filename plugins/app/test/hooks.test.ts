import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App, AppEvents } from '../src/index.js';
import { serve } from '../test-support/app-server.js';

test('request hooks run in Skitai order; beforeRequest may answer; failedRequest may answer', async () => {
  const calls: string[] = [];
  const app = new App();
  app.beforeRequest((was) => {
    calls.push(`before ${was.request.path}`);
    was.g.user = 'jerry';
    if (was.request.args.deny) return was.response(403, 'denied by hook');
    return undefined;
  });
  app.finishRequest(() => {
    calls.push('finish');
  });
  app.failedRequest((was, err) => {
    calls.push(`failed ${(err as Error).message}`);
    if ((err as Error).message === 'handled') return was.response(501, 'sorry');
    return undefined;
  });
  app.teardownRequest(() => {
    calls.push('teardown');
  });
  app.route('/ok', (was) => {
    calls.push('handler');
    return `hi ${was.g.user}`;
  });
  app.route('/fail', (_was, args) => {
    calls.push('handler');
    throw new Error(args.how === 'h' ? 'handled' : 'unhandled');
  });
  const s = await serve(app);
  try {
    let r = await fetch(`${s.base}/ok`);
    assert.equal(await r.text(), 'hi jerry');
    assert.deepEqual(calls.splice(0), ['before /ok', 'handler', 'finish', 'teardown']);
    r = await fetch(`${s.base}/ok?deny=1`);
    assert.equal(r.status, 403);
    assert.equal(await r.text(), 'denied by hook');
    assert.deepEqual(calls.splice(0), ['before /ok', 'teardown']);
    r = await fetch(`${s.base}/fail?how=h`);
    assert.equal(r.status, 501);
    assert.equal(await r.text(), 'sorry');
    assert.deepEqual(calls.splice(0), ['before /fail', 'handler', 'failed handled', 'teardown']);
    r = await fetch(`${s.base}/fail?how=u`);
    assert.equal(r.status, 500);
    assert.deepEqual(calls.splice(0), ['before /fail', 'handler', 'failed unhandled', 'teardown']);
  } finally {
    await s.close();
  }
});

test('errorHandler(code) and a default error handler render error pages', async () => {
  const app = new App();
  app.errorHandler(404, (was, e) => was.response(404, `<h1>${e.code} custom</h1><div>URL: ${e.url}</div>`));
  app.defaultErrorHandler((_was, e) => ({ custom: true, code: e.code, message: e.message }));
  app.route('/boom', () => {
    throw new Error('x');
  });
  app.route('/post', { methods: ['POST'] }, () => '');
  const s = await serve([['/sub', app]]);
  try {
    let r = await fetch(`${s.base}/sub/nothing`);
    assert.equal(r.status, 404);
    assert.equal(await r.text(), '<h1>404 custom</h1><div>URL: /sub/nothing</div>');
    r = await fetch(`${s.base}/sub/boom`);
    assert.equal(r.status, 500);
    assert.deepEqual(await r.json(), { custom: true, code: 500, message: 'the server failed to answer this request' });
    r = await fetch(`${s.base}/sub/post`);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    assert.equal(((await r.json()) as any).code, 405);
  } finally {
    await s.close();
  }
});

test('lifecycle: startup, mounted, reload, umount, shutdown tied to the kernel', async () => {
  const calls: string[] = [];
  const app = new App();
  app.onStartup(() => {
    calls.push('startup');
  });
  app.onMounted(() => {
    calls.push('mounted');
  });
  app.onReload(() => {
    calls.push('reload');
  });
  app.onUmount(() => {
    calls.push('umount');
  });
  app.onShutdown(() => {
    calls.push('shutdown');
  });
  app.on(AppEvents.appStarted, () => {
    calls.push('event:appStarted');
  });
  app.route('/', () => 'x');
  const s = await serve(app);
  assert.deepEqual(calls.splice(0), ['startup', 'event:appStarted', 'mounted']);
  await s.kernel.reload();
  assert.deepEqual(calls.splice(0), ['reload', 'mounted']);
  await s.close();
  assert.deepEqual(calls.splice(0), ['umount', 'shutdown']);
});

test('events: app.on / was.emit / emitAfter, and broadcasts across mounted apps', async () => {
  const seen: string[] = [];
  const users = new App();
  const photos = new App();
  users.on('user-updated', (was, id) => {
    seen.push(`users got ${id} from ${was.request.path}`);
  });
  users.on('after', () => {
    seen.push('after');
  });
  users.route('/u/<id>', async (was, args) => {
    await was.emit('user-updated', args.id);
    await was.broadcast('user:data-added', args.id);
    return 'ok';
  });
  users.route(
    '/e',
    users.emitAfter('after', () => 'emitted'),
  );
  photos.onBroadcast('user:data-added', (_was, id) => {
    seen.push(`photos got ${id}`);
  });
  users.onBroadcast('user:data-added', (_was, id) => {
    seen.push(`users broadcast ${id}`);
  });
  photos.route(
    '/b',
    photos.broadcastAfter('user:data-added', () => 'b'),
  );
  users.on(AppEvents.requestFinished, () => {
    seen.push('finished');
  });
  users.on(AppEvents.requestFailed, (_was, err) => {
    seen.push(`failed ${(err as Error).message}`);
  });
  users.route('/fail', () => {
    throw new Error('oops');
  });
  const s = await serve([
    ['/users', users],
    ['/photos', photos],
  ]);
  try {
    assert.equal(await (await fetch(`${s.base}/users/u/7`)).text(), 'ok');
    assert.deepEqual(seen.splice(0), ['users got 7 from /u/7', 'users broadcast 7', 'photos got 7', 'finished']);
    assert.equal(await (await fetch(`${s.base}/users/e`)).text(), 'emitted');
    assert.deepEqual(seen.splice(0), ['after', 'finished']);
    assert.equal(await (await fetch(`${s.base}/photos/b`)).text(), 'b');
    assert.equal(seen.splice(0).length, 2);
    assert.equal((await fetch(`${s.base}/users/fail`)).status, 500);
    assert.deepEqual(seen.splice(0), ['failed oops', 'finished']);
  } finally {
    await s.close();
  }
});

test("kernel broadcasts (kernel.setlu's model-changed) reach onBroadcast listeners once", async () => {
  const seen: unknown[] = [];
  const app = new App();
  let delivered!: () => void;
  const arrived = new Promise<void>((r) => {
    delivered = r;
  });
  app.onBroadcast('model-changed:states', (source, ...args) => {
    seen.push([(source as { from: string }).from, ...args]);
    delivered();
  });
  app.onBroadcast('local', (was) => {
    seen.push(['local', typeof (was as { request?: unknown }).request]);
  });
  app.route('/b', async (was) => {
    await was.broadcast('local');
    return 'ok';
  });
  const s = await serve(app, (k) => {
    k.addlu('states');
  });
  try {
    s.kernel.setlu('states', 'CA');
    await arrived;
    assert.deepEqual(seen.splice(0), [['M', 'CA']]);
    assert.equal(await (await fetch(`${s.base}/b`)).text(), 'ok');
    assert.deepEqual(seen.splice(0), [['local', 'object']]);
  } finally {
    await s.close();
  }
});
