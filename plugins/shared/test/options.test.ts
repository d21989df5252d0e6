// Bad options are refused at once with a clear error.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '@skitai/kernel';
import { shared } from '@skitai/shared';

it('refuses a missing or malformed redis, a bad prefix and unknown keys', () => {
  assert.throws(() => shared({} as never), { code: 'SKT_SHARED_OPTION', message: /redis/ });
  assert.throws(() => shared({ redis: 'http://x' }), {
    code: 'SKT_SHARED_OPTION',
    message: /redis:, rediss: or unix:/,
  });
  assert.throws(() => shared({ redis: 'redis://h/x' }), { code: 'SKT_SHARED_OPTION', message: /database number/ });
  assert.throws(() => shared({ redis: '/tmp/r.sock', prefix: 'a b' }), {
    code: 'SKT_SHARED_OPTION',
    message: /prefix/,
  });
  assert.throws(() => shared({ redis: '/tmp/r.sock', queue: -1 }), { code: 'SKT_SHARED_OPTION', message: /queue/ });
  assert.throws(() => shared({ redis: '/tmp/r.sock', queue: 1.5 }), { code: 'SKT_SHARED_OPTION', message: /queue/ });
  assert.throws(() => shared({ redis: '/tmp/r.sock', prefx: 'x' } as never), {
    code: 'SKT_INVALID_OPTION',
    message: /did you mean prefix/,
  });
});

it('one bridge per kernel: a second is refused naming both', () => {
  const kernel = new Kernel();
  const bridge = { broadcast() {}, setlu() {} };
  kernel.setInstanceBridge(bridge, '@acme/one');
  assert.throws(() => kernel.setInstanceBridge(bridge, '@acme/two'), {
    code: 'SKT_BRIDGE_DUPLICATE',
    message: /@acme\/one set it, @acme\/two/,
  });
});

it('without the plugin, nothing loads ioredis', async () => {
  const { spawnSync } = await import('node:child_process');
  const code = `
    const { Kernel } = await import('@skitai/kernel');
    await import('@skitai/services'); await import('@skitai/websocket'); await import('@skitai/cron');
    const k = new Kernel(); await k.start({ port: 0, address: '127.0.0.1' }); await k.stop();
    const { createRequire } = await import('node:module');
    const has = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/ioredis/'));
    const loaded = has();
    await import('ioredis'); // the check's own control: it sees ioredis once loaded
    process.stdout.write(JSON.stringify({ loaded, control: has(), bridge: k.instanceBridge === undefined }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: new URL('..', import.meta.url).pathname,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { loaded: false, control: true, bridge: true });
});
