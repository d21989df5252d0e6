// Unknown option keys are refused with the nearest valid one, at the factory and at kernel.use().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '@skitai/kernel';
import { websocket } from '../src/index.js';

test('websocket({ ... }): an unknown key is refused with the nearest valid one', () => {
  assert.throws(() => websocket({ maxMesageSize: 1024 } as never), {
    code: 'SKT_INVALID_OPTION',
    message: /@skitai\/websocket option maxMesageSize: 1024 .*did you mean maxMessageSize\?/,
  });
  assert.doesNotThrow(() => websocket({ maxMessageSize: 1024, keepAlive: 0 }));
});

test('kernel.use(websocket(), { ... }): an unknown key stops the start', async () => {
  const kernel = new Kernel();
  kernel.use(websocket(), { pingTimeot: 5 } as never);
  await assert.rejects(kernel.start({ address: '127.0.0.1', port: 0 }), {
    code: 'SKT_INVALID_OPTION',
    message: /option pingTimeot: 5 .*did you mean pingTimeout\?/,
  });
});
