// Unknown option keys are refused with the nearest valid one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '@skitai/kernel';
import { services } from '../src/index.js';

test('services({ ... }): an unknown key stops the start, naming the nearest valid one', async () => {
  const kernel = new Kernel();
  kernel.use(services({ connectTimout: 2 } as never));
  await assert.rejects(kernel.start({ address: '127.0.0.1', port: 0 }), {
    code: 'SKT_INVALID_OPTION',
    message: /@skitai\/services option connectTimout: 2 .*did you mean connectTimeout\?/,
  });
});
