import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { WORKER_EXEC_ARGV } from '../../src/index.js';
import { startServer, spawnServer, get, killAll } from '../../test-support/process-helpers.js';

after(killAll);

test(
  'workers get WORKER_EXEC_ARGV after the master own node options by default; run({ execArgv }) replaces it',
  { timeout: 40_000 },
  async () => {
    assert.deepEqual(WORKER_EXEC_ARGV, ['--expose-gc', '--no-wasm-dynamic-tiering', '--no-wasm-tier-up']);
    const byDefault = await startServer({ args: ['--workers', '2'] });
    // Both workers answer (round robin), each with the flags.
    const ids = new Set<string>();
    for (let i = 0; i < 40 && ids.size < 2; i++) {
      const r = (await get(byDefault.port, '/exec-argv')).json;
      ids.add(r.id);
      assert.deepEqual(r.execArgv, [...WORKER_EXEC_ARGV]);
      assert.equal(r.gc, 'function', '--expose-gc took effect');
    }
    assert.equal(ids.size, 2);
    byDefault.kill();

    const given = await startServer({ args: ['--workers', '2'], env: { FX_EXEC_ARGV: '["--max-semi-space-size=4"]' } });
    const r = (await get(given.port, '/exec-argv')).json;
    assert.deepEqual(r.execArgv, ['--max-semi-space-size=4']);
    assert.equal(r.gc, 'undefined');
    given.kill();
  },
);

test(
  'run({ execArgv }) that is not a list of options stops the start with SKT_INVALID_OPTION',
  { timeout: 20_000 },
  async () => {
    const bad = spawnServer({ args: ['--workers', '2'], env: { FX_EXEC_ARGV: '["expose-gc"]' }, listening: false });
    const exit = await bad.exited;
    assert.equal(exit.code, 2);
    assert.match(
      bad.output(),
      /invalid execArgv: \["expose-gc"\] \(expected a list of node options, each starting with '-'\)/,
    );
  },
);
