// Unknown option keys are refused with the nearest valid one, at the factory and at kernel.use().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '@skitai/kernel';
import { smtpda, smtpdaPlugin } from '../src/index.js';

test('smtpda({ ... }): an unknown key is refused with the nearest valid one', () => {
  assert.throws(() => smtpda({ sever: 'smtp.example.com:587' } as never), {
    code: 'SKT_INVALID_OPTION',
    message: /@skitai\/smtpda option sever: "smtp\.example\.com:587" .*did you mean server\?/,
  });
  assert.doesNotThrow(() => smtpda({ server: 'smtp.example.com:587' }));
});

test('kernel.use(smtpdaPlugin, { ... }): an unknown key stops the start', async () => {
  const kernel = new Kernel();
  kernel.use(smtpdaPlugin, { maxRetries: 3 } as never);
  await assert.rejects(kernel.start({ address: '127.0.0.1', port: 0 }), {
    code: 'SKT_INVALID_OPTION',
    message: /option maxRetries: 3 .*did you mean maxRetry\?/,
  });
});
