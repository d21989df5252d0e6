// A plugin written as a third-party author would, from the kernel's README alone: a `was`
// member, an alias type and a background process, through the same API our plugins use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { definePlugin, Kernel, SkitaiError, type Mountable } from '@skitai/kernel';

declare module '@skitai/kernel' {
  interface Was {
    hello: string;
  }
}

interface AcmeType {
  greet(member: string): string;
}

// The compiled test runs from dist/test/plugin; the fixture is not compiled.
const agent = new URL('../../../test-support/plugin-fixtures/acme-agent.mjs', import.meta.url);

function acme(options: { word: string; agentUrl?: string }) {
  return definePlugin({
    name: '@acme/hello',
    version: '1.0.0',
    kernel: '^0.1.0',
    was: ['hello'],
    apply(kernel: Kernel) {
      const type: AcmeType = { greet: (member) => `${options.word} ${member}` };
      kernel.aliases.registerType('acme', '@acme/hello', type);
      kernel.extendWas(
        'hello',
        (was) => {
          const alias = kernel.aliases.servedBy('@acme/hello')[0];
          const t = kernel.aliases.getType<AcmeType>(alias!.type)!.definition;
          return alias!.members.map((m) => t.greet(m)).join(', ') + ` (${was.req.url})`;
        },
        '@acme/hello',
      );
      if (options.agentUrl) kernel.registerProcess('acme-agent', agent, { options: { url: options.agentUrl } });
    },
  });
}

test(
  'a third-party plugin adds a was member, serves an alias type and runs a background process',
  { timeout: 20_000 },
  async () => {
    // The agent calls this server once it runs: the test waits for that call, not for time.
    let called!: (pid: number) => void;
    const agentRan = new Promise<number>((resolve) => {
      called = resolve;
    });
    const callback = http.createServer((req, res) => {
      called(Number(new URL(req.url!, 'http://x').searchParams.get('pid')));
      res.end('ok');
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    const agentUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/ran`;

    const kernel = new Kernel();
    kernel.use(acme({ word: 'hi', agentUrl }));
    kernel.alias('@friends', 'acme', ['ann', 'bob']);
    kernel.mount('/', (req, res) => {
      res.end(kernel.createWas(req, res).hello);
    });
    const { port } = await kernel.start({ address: '127.0.0.1', port: 0 });
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/x`)).text(), 'hi ann, hi bob (/x)');
      assert.equal(kernel.wasMembers().get('hello'), '@acme/hello');
      const pid = await agentRan;
      assert.ok(pid > 0 && pid !== process.pid, 'the agent is a process of its own');
    } finally {
      await kernel.stop();
      callback.close();
    }
  },
);

test('an alias of a type no plugin in use serves fails at start, naming the plugin', async () => {
  const kernel = new Kernel().alias('@friends', 'acme', 'ann');
  await assert.rejects(
    kernel.start({ address: '127.0.0.1', port: 0 }),
    (e: SkitaiError) =>
      e.code === 'SKT_ALIAS_TYPE' && /alias @friends: no plugin in use registers the type "acme"/.test(e.message),
  );
  const db = new Kernel().alias('@db', 'postgresql', 'user@127.0.0.1/app');
  await assert.rejects(db.start({ address: '127.0.0.1', port: 0 }), /use the @skitai\/db plugin/);
  assert.throws(() => new Kernel().alias('db', 'http', 'h'), { code: 'SKT_ALIAS_NAME' });
  assert.throws(() => new Kernel().alias('@a', 'http', []), { code: 'SKT_ALIAS_MEMBERS' });
  assert.throws(() => new Kernel().alias('@a', 'http', 'h').alias('@a', 'http', 'h'), { code: 'SKT_ALIAS_DUPLICATE' });
});

test('was names: a clash is refused at use() or mount() with both owners named', () => {
  const kernel = new Kernel().use(acme({ word: 'hi' }));
  const other = definePlugin({ name: '@other/hello', version: '1.0.0', kernel: '^0.1.0', was: ['hello'], apply() {} });
  assert.throws(
    () => kernel.use(other),
    (e: SkitaiError) =>
      e.code === 'SKT_WAS_EXTENSION_DUPLICATE' &&
      e.message === 'was.hello is defined twice: by @acme/hello and by @other/hello',
  );
  const mountable: Mountable = {
    was: { owner: '@other/app', members: ['hello'] },
    mountTo: () => (_req, res) => {
      res.end();
    },
  };
  assert.throws(
    () => kernel.mount('/app', mountable),
    /was.hello is defined twice: by @acme\/hello and by @other\/app/,
  );
  const kernelNames = definePlugin({ name: '@bad/log', version: '1.0.0', kernel: '^0.1.0', was: ['log'], apply() {} });
  assert.throws(() => new Kernel().use(kernelNames), /was.log is defined twice: by @skitai\/kernel and by @bad\/log/);
  // extendWas of a name claimed by another owner is refused too
  assert.throws(() => kernel.extendWas('hello', () => 1, '@third/x'), { code: 'SKT_WAS_EXTENSION_DUPLICATE' });
});
