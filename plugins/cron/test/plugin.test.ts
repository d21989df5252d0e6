// The plugin's surface in this process: the factory, add(), cronJob(), and a start that a
// bad job refuses (the whole server start fails, nothing listens).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '@skitai/kernel';
import { cron, cronJob, CronError, PLUGIN_NAME } from '../src/index.js';
import { FIXTURES } from '../test-support/helpers.js';

describe('the plugin', () => {
  it('is a kernel plugin; add() and the options give its jobs', () => {
    const plugin = cron({ jobs: ['0 * * * * true'] });
    assert.equal(plugin.name, PLUGIN_NAME);
    assert.equal(plugin.kernel, '^0.1.0');
    assert.equal(
      plugin.add('*/2 * * * *', 'echo two').add('0 3 * * *', { module: './jobs.mjs', export: 'tick' }),
      plugin,
    );
    assert.deepEqual(plugin.jobs, [
      '0 * * * * true',
      { spec: '*/2 * * * *', command: 'echo two' },
      { spec: '0 3 * * *', module: './jobs.mjs', export: 'tick' },
    ]);
    assert.ok(Object.isFrozen(plugin));
  });

  it('cronJob() adds a job and uses the plugin once', () => {
    const kernel = new Kernel();
    assert.equal(kernel.plugins.has(PLUGIN_NAME), false);
    cronJob(cronJob(kernel, '*/5 * * * *', 'true'), '0 * * * *', 'true', { name: 'hourly' });
    assert.equal(kernel.plugins.list().filter((p) => p.name === PLUGIN_NAME).length, 1);
  });

  it('a bad job fails kernel.start() with the job named, and nothing listens', async () => {
    const kernel = new Kernel();
    kernel.setswd(FIXTURES);
    kernel.mount('/', (_req, res) => {
      res.end('x');
    });
    kernel.use(
      cron({
        jobs: [
          { spec: '*/5 * * * *', command: 'true', name: 'ok' },
          { spec: '0 25 * * *', command: 'true', name: 'late' },
        ],
      }),
    );
    await assert.rejects(kernel.start({ address: '127.0.0.1', port: 0 }), (err: unknown) => {
      assert.ok(err instanceof CronError);
      assert.equal(err.code, 'SKT_CRON_SPEC');
      assert.match(err.message, /cron job late \(0 25 \* \* \* true\): bad spec "0 25 \* \* \*": .*hour/);
      return true;
    });
    assert.equal(kernel.server?.listening ?? false, false);
    assert.equal(kernel.state, 'stopped');
  });

  it('refuses bad options and late jobs', async () => {
    const kernel = new Kernel();
    kernel.use(cron({ jobs: ['0 * * * * true'], stopGrace: -1 }));
    await assert.rejects(kernel.start({ address: '127.0.0.1', port: 0 }), /stopGrace must be seconds/);
    assert.throws(() => cronJob(kernel, '0 * * * *', 'true'), /before the server starts/);
    assert.throws(() => cron().add('0 * * * *', 42 as unknown as string), /must be a command or \{ module, export \}/);
  });
});
