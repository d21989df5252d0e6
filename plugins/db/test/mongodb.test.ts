// Against a real MongoDB only where MONGODB_URL is set (mongodb://host:port): none can be
// installed on the CI machines, so elsewhere this file says it was skipped. What needs no
// server (members, a refused connection, bad arguments) is in members.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { App } from '@skitai/app';
import { Kernel } from '@skitai/kernel';
import { services } from '@skitai/services';
import { db } from '../src/index.js';
import { getJson, start } from '../test-support/db-env.js';

const url = process.env.MONGODB_URL;
const skip = url ? false : 'MongoDB tests run only with MONGODB_URL=mongodb://host:port (no server on this machine)';
if (skip) console.log(`# skipped: ${skip}`);

test(
  'find, findOne, insert, update, delete, aggregate, count through was.mongodb and was.backend',
  { skip },
  async () => {
    const u = new URL(url!);
    const k = new Kernel()
      .use(services())
      .use(db())
      .alias('@docs', 'mongodb', `${u.username ? `${u.username}:${u.password}@` : ''}${u.host}/skitai_test`);
    const C = `notes_${process.pid}`;
    const app = new App();
    app.route('/run', async (was) => {
      const m = was.mongodb('@docs');
      await m.delete(C, {}, { multi: true });
      const ins = await m.insert(C, [
        { tag: 'a', n: 1 },
        { tag: 'a', n: 2 },
        { tag: 'b', n: 3 },
      ]);
      const found = await was.backend('@docs').find(C, { tag: 'a' }, { projection: { _id: 0 }, sort: { n: 1 } });
      const one = await m.findone(C, { n: 3 }, { projection: { _id: 0 } });
      const upd = await m.update(C, { tag: 'a' }, { $inc: { n: 10 } }, { multi: true });
      const agg = await m.aggregate(C, [{ $group: { _id: '$tag', total: { $sum: '$n' } } }, { $sort: { _id: 1 } }]);
      const del = await m.delete(C, { tag: 'b' });
      const count = await m.count(C, {});
      const bad = await m.update(C, { tag: 'a' }, { $nosuch: 1 });
      return {
        ins: ins.rowCount,
        found: found.rows,
        one: one.one(),
        upd: upd.rowCount,
        agg: agg.rows,
        del: del.rowCount,
        count: count.scalar(),
        bad: [bad.status, bad.error?.message],
      };
    });
    k.mount('/', app);
    const base = await start(k);
    const { body } = await getJson(`${base}/run`);
    assert.equal(body.ins, 3);
    assert.deepEqual(body.found, [
      { tag: 'a', n: 1 },
      { tag: 'a', n: 2 },
    ]);
    assert.deepEqual(body.one, { tag: 'b', n: 3 });
    assert.equal(body.upd, 2);
    assert.deepEqual(body.agg, [
      { _id: 'a', total: 23 },
      { _id: 'b', total: 3 },
    ]);
    assert.equal(body.del, 1);
    assert.equal(body.count, 2);
    assert.equal(body.bad[0], 'error');
    assert.match(body.bad[1], /\$nosuch/);
  },
);
