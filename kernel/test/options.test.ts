import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, checkOptionKeys, editDistance, nearestName } from '../src/index.js';
import { request } from '../test-support/http.js';

const refused = (name: string, near: string) => ({
  code: 'SKT_INVALID_OPTION',
  message: new RegExp(`option ${name}: .*did you mean ${near}\\?`),
});

test('editDistance and nearestName: a typo finds its option, a stranger finds none', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('same', 'same'), 0);
  assert.equal(nearestName('maxClientBodySze', ['keepAlive', 'maxClientBodySize', 'maxRcache']), 'maxClientBodySize');
  assert.equal(nearestName('KEEPALIVE', ['keepAlive', 'debug']), 'keepAlive');
  assert.equal(nearestName('colour', ['keepAlive', 'debug']), undefined);
});

test('checkOptionKeys: an unknown key is refused, listing the valid ones when none is near; a non-object is refused', () => {
  assert.doesNotThrow(() => checkOptionKeys('@x/y', undefined, ['a']));
  assert.doesNotThrow(() => checkOptionKeys('@x/y', { a: 1 }, ['a']));
  assert.throws(() => checkOptionKeys('@x/y', { zzzzzz: 1 }, ['alpha', 'beta']), {
    code: 'SKT_INVALID_OPTION',
    message: 'invalid @x/y option zzzzzz: 1 (expected one of alpha, beta)',
  });
  assert.throws(() => checkOptionKeys('@x/y', 'fast', ['a']), {
    code: 'SKT_INVALID_OPTION',
    message: /@x\/y options: "fast" \(expected an object\)/,
  });
});

test('new Kernel({ ... }): an unknown key is refused with the nearest valid one', () => {
  assert.throws(() => new Kernel({ maxClientBodySze: 10 } as never), refused('maxClientBodySze', 'maxClientBodySize'));
  assert.throws(() => new Kernel({ keepalive: 5 } as never), refused('keepalive', 'keepAlive'));
  // The values go through the setters' checks.
  assert.throws(() => new Kernel({ requestTimeout: -1 }), { code: 'SKT_INVALID_OPTION', message: /request timeout/ });
  assert.throws(() => new Kernel({ debug: 'yes' as never }), { code: 'SKT_INVALID_OPTION' });
});

test('new Kernel({ maxClientBodySize, debug, requestTimeout }) applies them, as the set* methods do', async () => {
  const kernel = new Kernel({ maxClientBodySize: 10, debug: true, requestTimeout: 7, keepAlive: 3 });
  assert.equal(kernel.debug, true);
  assert.equal(kernel.getSettings().requestTimeout, 7000);
  assert.equal(kernel.getSettings().keepAliveTimeout, 3000);
  kernel.mount('/', (_req, res) => {
    res.end('ok');
  });
  const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
  try {
    const small = await request(`http://127.0.0.1:${port}/`, { method: 'POST', body: '0123456789' });
    assert.equal(small.status, 200);
    const large = await request(`http://127.0.0.1:${port}/`, { method: 'POST', body: '0123456789A' });
    assert.equal(large.status, 413);
  } finally {
    await kernel.stop();
  }
});

test('start({ ... }): an unknown key is refused before anything binds', async () => {
  const kernel = new Kernel();
  await assert.rejects(kernel.start({ adress: '127.0.0.1', port: 0 } as never), refused('adress', 'address'));
  assert.equal(kernel.state, 'idle');
});

test('run({ ... }): an unknown key is refused before the command line is read or anything starts', async () => {
  const kernel = new Kernel();
  await assert.rejects(kernel.run({ worker: 2 } as never), refused('worker', 'workers'));
  await assert.rejects(kernel.run({ logPath: './logs' } as never), refused('logPath', 'logpath'));
  assert.equal(kernel.state, 'idle');
});
