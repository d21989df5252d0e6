import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel, definePlugin, codes, type Plugin } from '../../src/index.js';
import { request, startKernel } from '../../test-support/http.js';

const plugin = (name: string, extra: Partial<Plugin<any>> = {}): Plugin<any> =>
  definePlugin({ name, version: '1.2.3', kernel: '^0.1.0', apply() {}, ...extra });

async function startError(kernel: Kernel): Promise<any> {
  return kernel.start({ address: '127.0.0.1', port: 0 }).then(
    () => {
      throw new Error('start should have failed');
    },
    (err) => err,
  );
}

test('a plugin used twice stops the start, naming both uses', async () => {
  const kernel = new Kernel();
  kernel.use(plugin('@x/one'));
  kernel.use(plugin('@x/one'));
  const err = await startError(kernel);
  assert.equal(err.code, codes.SKT_PLUGIN_DUPLICATE.code);
  assert.match(
    err.message,
    /@x\/one is used twice: @x\/one@1\.2\.3 \(used at .*registry\.test\.js.*\) and @x\/one@1\.2\.3 \(used at .*registry\.test\.js/,
  );
  assert.equal(kernel.state, 'stopped');
});

test('a missing dependency stops the start, naming the plugin and the dependency', async () => {
  const kernel = new Kernel();
  kernel.use(plugin('@x/child', { dependencies: ['@x/parent'] }));
  const err = await startError(kernel);
  assert.equal(err.code, 'SKT_PLUGIN_MISSING_DEPENDENCY');
  assert.match(err.message, /plugin @x\/child@1\.2\.3 depends on @x\/parent, which is not used/);
});

test('a kernel outside the supported range stops the start, naming both versions', async () => {
  const kernel = new Kernel();
  kernel.use(plugin('@x/old', { kernel: '^2.0.0' }));
  const err = await startError(kernel);
  assert.equal(err.code, 'SKT_PLUGIN_KERNEL_RANGE');
  assert.equal(err.message, `plugin @x/old@1.2.3 supports @skitai/kernel ^2.0.0, but this kernel is ${Kernel.version}`);
});

test('an invalid plugin is refused at use()', () => {
  const kernel = new Kernel();
  assert.throws(() => kernel.use({} as any), { code: 'SKT_PLUGIN_INVALID' });
  assert.throws(() => kernel.use({ name: 'x', version: '1.0.0', apply() {} } as any), /has no kernel/);
});

test('a dependency cycle is refused', async () => {
  const kernel = new Kernel();
  kernel.use(plugin('@x/a', { dependencies: ['@x/b'] }));
  kernel.use(plugin('@x/b', { dependencies: ['@x/a'] }));
  const err = await startError(kernel);
  assert.equal(err.code, 'SKT_PLUGIN_DEPENDENCY_CYCLE');
});

test('dependencies are applied first, with their options; shutdown taps run in reverse', async () => {
  const order: string[] = [];
  const stops: string[] = [];
  const make = (name: string, deps: string[] = []) =>
    plugin(name, {
      dependencies: deps,
      apply(kernel: Kernel, options: { tag: string }) {
        order.push(`${name}:${options.tag}`);
        kernel.hooks.shutdown.tapPromise(name, async () => {
          stops.push(name);
        });
      },
    });
  const started = await startKernel((kernel) => {
    kernel.use(make('@x/app', ['@x/db']), { tag: 'a' });
    kernel.use(make('@x/db'), { tag: 'd' });
    kernel.use(make('@x/log'), { tag: 'l' });
  });
  assert.deepEqual(order, ['@x/db:d', '@x/app:a', '@x/log:l']);
  await started.stop();
  assert.deepEqual(stops, ['@x/log', '@x/app', '@x/db']);
});

test('the request tap point may answer and stop the chain; otherwise mounts answer', async () => {
  const seen: string[] = [];
  const started = await startKernel((kernel) => {
    kernel.use(
      plugin('@x/guard', {
        apply(k: Kernel) {
          k.hooks.request.tapPromise('guard', async (req, res) => {
            seen.push(req.url!);
            if (req.url === '/blocked') {
              res.writeHead(403, { 'content-type': 'text/plain' });
              res.end('no');
              return true;
            }
            return undefined;
          });
        },
      }),
    );
    kernel.mount('/', (_req, res) => res.end('mounted'));
  });
  try {
    assert.equal((await request(`${started.url}/blocked`)).status, 403);
    const ok = await request(`${started.url}/open`);
    assert.equal(ok.body.toString(), 'mounted');
    assert.deepEqual(seen, ['/blocked', '/open']);
  } finally {
    await started.stop();
  }
});

test('hooks are frozen and untapped ones report no use (no per-request work)', () => {
  const kernel = new Kernel();
  assert.ok(Object.isFrozen(kernel.hooks));
  for (const name of [
    'startup',
    'mounted',
    'request',
    'upgrade',
    'reload',
    'shutdown',
    'listening',
    'wrapHandler',
    'responseLogged',
  ] as const) {
    assert.equal(kernel.hooks[name].taps.length, 0, name);
  }
  // The request path asks isUsed() (taps or interceptors) of these before calling them.
  for (const name of ['request', 'upgrade', 'responseLogged'] as const)
    assert.equal(kernel.hooks[name].isUsed(), false, name);
});

test('startup, mounted and listening run in order at start', async () => {
  const events: string[] = [];
  const started = await startKernel((kernel) => {
    kernel.hooks.startup.tap('t', () => {
      events.push('startup');
    });
    kernel.hooks.mounted.tap('t', () => {
      events.push('mounted');
    });
    kernel.hooks.listening.tap('t', (info) => {
      events.push(`listening ${info.workerId} ${info.port > 0}`);
    });
  });
  await started.stop();
  assert.deepEqual(events, ['startup', 'mounted', 'listening M true']);
});

test('plugins extend was lazily; a second definition names both owners', async () => {
  let built = 0;
  const started = await startKernel((kernel) => {
    kernel.extendWas(
      'greeting',
      (was) => {
        built++;
        return `hello ${was.req.url}`;
      },
      '@x/greet',
    );
    assert.throws(
      () => kernel.extendWas('greeting', () => 1, '@x/other'),
      /was\.greeting is defined twice: by @x\/greet and by @x\/other/,
    );
    kernel.mount('/', (req, res) => {
      const was = kernel.createWas(req, res) as any;
      if (req.url === '/untouched') return res.end('none');
      return res.end(`${was.greeting}|${was.greeting}`);
    });
  });
  try {
    assert.equal((await request(`${started.url}/untouched`)).body.toString(), 'none');
    assert.equal(built, 0);
    assert.equal((await request(`${started.url}/x`)).body.toString(), 'hello /x|hello /x');
    assert.equal(built, 1);
  } finally {
    await started.stop();
  }
});

test('a perKernel was member is built once and shared by every request; per-request ones are not', async () => {
  let shared = 0;
  let perRequest = 0;
  const started = await startKernel((kernel) => {
    kernel.extendWas(
      'callers',
      (was) => {
        shared++;
        return { kernel: was.kernel };
      },
      '@x/db',
      { perKernel: true },
    );
    kernel.extendWas('path', (was) => (perRequest++, was.req.url), '@x/path');
    let first: unknown;
    kernel.mount('/', (req, res) => {
      const was = kernel.createWas(req, res) as any;
      first ??= was.callers;
      const same = was.callers === first && was.callers.kernel === kernel;
      return res.end(`${same}|${was.path}|${was.path}`);
    });
  });
  try {
    assert.equal((await request(`${started.url}/a`)).body.toString(), 'true|/a|/a');
    assert.equal((await request(`${started.url}/b`)).body.toString(), 'true|/b|/b');
    assert.equal((await request(`${started.url}/c`)).body.toString(), 'true|/c|/c');
    assert.deepEqual([shared, perRequest], [1, 3]);
  } finally {
    await started.stop();
  }
});

test('configuration after start is refused with the phase named', async () => {
  const started = await startKernel(() => {});
  try {
    assert.throws(() => started.kernel.mount('/x', () => {}), {
      code: 'SKT_KERNEL_PHASE',
      message: 'cannot mount while the kernel is running',
    });
  } finally {
    await started.stop();
  }
});

test('kernel.reload() runs the reload taps; a failing plugin apply stops the start', async () => {
  const seen: string[] = [];
  const started = await startKernel((kernel) => {
    kernel.hooks.reload.tapPromise('r', async (k) => {
      seen.push(`reload ${k === kernel}`);
    });
  });
  await started.kernel.reload();
  await started.stop();
  assert.deepEqual(seen, ['reload true']);
  const kernel = new Kernel();
  kernel.use(
    plugin('@x/broken', {
      apply() {
        throw new Error('cannot open pool');
      },
    }),
  );
  const err = await startError(kernel);
  assert.equal(err.message, 'cannot open pool');
  assert.equal(kernel.state, 'stopped');
});
