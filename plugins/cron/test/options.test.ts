// Unknown option keys are refused with the nearest valid one, at the factory and at kernel.use().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '@skitai/kernel';
import { cron } from '../src/index.js';

test('cron({ ... }): an unknown key is refused with the nearest valid one', () => {
  assert.throws(() => cron({ timeZone: 'UTC' } as never), {
    code: 'SKT_INVALID_OPTION',
    message: /@skitai\/cron option timeZone: "UTC" .*did you mean timezone\?/,
  });
  assert.doesNotThrow(() => cron({ timezone: 'UTC' }));
});

test('kernel.use(cron(), { ... }): an unknown key stops the start', async () => {
  const kernel = new Kernel();
  kernel.use(cron(), { stopgrace: 1 } as never);
  await assert.rejects(kernel.start({ address: '127.0.0.1', port: 0 }), {
    code: 'SKT_INVALID_OPTION',
    message: /option stopgrace: 1 .*did you mean stopGrace\?/,
  });
});
