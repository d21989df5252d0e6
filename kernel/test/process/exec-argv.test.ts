import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { RELAY_EXEC_ARGV } from '../../src/index.js';
import { startServer, spawnServer, get, killAll } from '../../test-support/process-helpers.js';

after(killAll);

test(
  'workers get the master own node options only by default; run({ execArgv: RELAY_EXEC_ARGV }) adds the relay options',
  { timeout: 40_000 },
  async () => {
    assert.deepEqual(RELAY_EXEC_ARGV, ['--expose-gc', '--no-wasm-dynamic-tiering', '--no-wasm-tier-up']);
    const byDefault = await startServer({ args: ['--workers', '2'] });
    const plain = (await get(byDefault.port, '/exec-argv')).json;
    assert.deepEqual(plain.execArgv, []);
    assert.equal(plain.gc, 'undefined');
    byDefault.kill();

    const relay = await startServer({
      args: ['--workers', '2'],
      env: { FX_EXEC_ARGV: JSON.stringify(RELAY_EXEC_ARGV) },
    });
    // Both workers answer (round robin), each with the options.
    const ids = new Set<string>();
    for (let i = 0; i < 40 && ids.size < 2; i++) {
      const r = (await get(relay.port, '/exec-argv')).json;
      ids.add(r.id);
      assert.deepEqual(r.execArgv, [...RELAY_EXEC_ARGV]);
      assert.equal(r.gc, 'function', '--expose-gc took effect');
    }
    assert.equal(ids.size, 2);
    relay.kill();
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
