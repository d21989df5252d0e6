// The instance bridge: what a plugin (such as @skitai/shared) gets to carry the messenger and
// last-updated keys to other instances, and how it hands back what they sent.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, type InstanceBridge } from '../../src/index.js';

function recording() {
  const calls: Array<[string, ...unknown[]]> = [];
  const bridge: InstanceBridge = {
    broadcast: (event, args, from) => {
      calls.push(['broadcast', event, args, from]);
    },
    setlu: (key, time, args, from) => {
      calls.push(['setlu', key, time, args, from]);
    },
  };
  return { bridge, calls };
}

it("carries this process's broadcasts, and each setlu as one call with its events' arguments", () => {
  const kernel = new Kernel();
  const { bridge, calls } = recording();
  kernel.setInstanceBridge(bridge, '@acme/bridge');
  assert.equal(kernel.instanceBridge, bridge);
  kernel.addlu('k');
  const heard: unknown[] = [];
  kernel.onBroadcast((event, args) => heard.push([event, args]));
  kernel.broadcast('hello', 1, 'two');
  const t = kernel.setlu('k', 'why');
  // The model-changed events are not broadcast to the bridge: its setlu carries them.
  assert.deepEqual(calls, [
    ['broadcast', 'hello', [1, 'two'], 'M'],
    ['setlu', 'k', t, ['why'], 'M'],
  ]);
  assert.deepEqual(heard, [
    ['hello', [1, 'two']],
    ['model-changed:k', ['why']],
    ['model-changed', ['k', 'why']],
  ]);
});

it("receivelu: another instance's setlu takes the time (when later) and announces both events here", () => {
  const kernel = new Kernel();
  kernel.setInstanceBridge(recording().bridge);
  kernel.addlu('k');
  const heard: unknown[] = [];
  kernel.onBroadcast((event, args, from) => heard.push([event, args, from, kernel.getlu('k')]));
  const t = Date.now() + 60_000;
  assert.equal(kernel.receivelu('k', t, ['why'], 'abc/W1'), true);
  assert.deepEqual(heard, [
    ['model-changed:k', ['why'], 'abc/W1', t],
    ['model-changed', ['k', 'why'], 'abc/W1', t],
  ]);
  // An earlier time is not taken; the events still say the other instance changed the model.
  assert.equal(kernel.receivelu('k', t - 10, [], 'abc/W1'), false);
  assert.equal(kernel.getlu('k'), t);
  assert.equal(heard.length, 4);
});

it("delivers what other instances send to this process's listeners, and keeps later times only", () => {
  const kernel = new Kernel();
  kernel.setInstanceBridge(recording().bridge);
  kernel.addlu('k', 'j');
  const heard: unknown[] = [];
  kernel.onBroadcast((event, args, from) => heard.push([event, args, from]));
  kernel.receiveBroadcast('remote', [1], 'abc/W0');
  assert.deepEqual(heard, [['remote', [1], 'abc/W0']]);
  const t = kernel.setlu('k');
  assert.equal(kernel.mergelu('k', t - 10), false, 'an earlier time is not taken');
  assert.equal(kernel.getlu('k'), t);
  assert.equal(kernel.mergelu('k', t + 10), true);
  assert.equal(kernel.getlu('k'), t + 10);
  assert.equal(kernel.mergelu('undeclared', t), false, 'a key not declared here is left alone');
  assert.equal(kernel.mergelu('j', Number.NaN), false);
  assert.deepEqual(kernel.lus(), [
    ['k', t + 10],
    ['j', 0],
  ]);
  // A later setlu here is later than the merged time.
  assert.ok(kernel.setlu('k') > t + 10);
});

it('refuses a second bridge, a malformed one, and one set once the kernel runs', async () => {
  const kernel = new Kernel();
  assert.throws(() => kernel.setInstanceBridge({} as never), { code: 'SKT_INVALID_OPTION' });
  kernel.setInstanceBridge(recording().bridge, '@acme/one');
  assert.throws(() => kernel.setInstanceBridge(recording().bridge, '@acme/two'), { code: 'SKT_BRIDGE_DUPLICATE' });
  const other = new Kernel();
  await other.start({ address: '127.0.0.1', port: 0 });
  try {
    assert.throws(() => other.setInstanceBridge(recording().bridge), { code: 'SKT_KERNEL_PHASE' });
  } finally {
    await other.stop();
  }
  assert.match(kernel.instanceId, /^[\w-]{8}$/);
  assert.notEqual(kernel.instanceId, other.instanceId);
});
