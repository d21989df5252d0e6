// Log rotation: one writer renames. The master's midnight timer (driven by mock.timers), and
// a real server of 2 workers under load across a forced rotation (SIGUSR2 to the master):
// every request line is in exactly one file.
import { test, mock, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Logs, parseRequestLine } from '../../src/index.js';
import { DailyLogFile } from '../../src/log/log-file.js';
import { scheduleDailyRotation } from '../../src/log/rotation.js';
import { tempDir } from '../../test-support/http.js';
import { get, killAll, startServer } from '../../test-support/process-helpers.js';

after(killAll);

test("the master's midnight: every log file is renamed to the day it holds, once a day, and the workers are told", async () => {
  const logpath = tempDir('skitai-rotate-');
  const evening = new Date(2026, 10, 29, 23, 59, 0).getTime();
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: evening });
  try {
    const logs = new Logs({ logpath, rotation: 'scheduled' });
    let told = 0;
    const stop = scheduleDailyRotation(logs, () => {
      told++;
    });
    logs.request!.write('day one\n');
    mock.timers.tick(59_999);
    assert.equal(told, 0, 'not before midnight');
    // A scheduled file does not rotate at a write past midnight: only the timer does.
    (logs.request as DailyLogFile).write('still day one\n', evening + 60_000);
    mock.timers.tick(1);
    assert.equal(told, 1, 'at midnight');
    logs.request!.write('day two\n');
    mock.timers.tick(24 * 3600_000);
    assert.equal(told, 2, 'the next midnight');
    logs.request!.write('day three\n');
    stop();
    mock.timers.tick(24 * 3600_000);
    assert.equal(told, 2, 'stopped');
    await logs.close();
    const read = (name: string) => fs.readFileSync(path.join(logpath, name), 'utf8');
    assert.equal(read('request.log.20261129'), 'day one\nstill day one\n');
    assert.equal(read('request.log.20261130'), 'day two\n');
    assert.equal(read('request.log'), 'day three\n');
    for (const name of ['server.log.20261129', 'app.log.20261129', 'server.log.20261130'])
      assert.ok(fs.existsSync(path.join(logpath, name)), name);
  } finally {
    mock.timers.reset();
  }
});

test("a worker's log file never renames: not a file of an earlier day at open, not at a write past midnight", async () => {
  const dir = tempDir('skitai-rotate-');
  const file = path.join(dir, 'request.log');
  fs.writeFileSync(file, 'old\n');
  const yesterday = new Date(Date.now() - 2 * 24 * 3600_000);
  fs.utimesSync(file, yesterday, yesterday);
  const log = new DailyLogFile(file, Date.now(), 'never');
  log.write('new\n', Date.now() + 3 * 24 * 3600_000);
  await log.close();
  assert.deepEqual(fs.readdirSync(dir), ['request.log']);
  assert.equal(fs.readFileSync(file, 'utf8'), 'old\nnew\n');
});

test(
  '2 workers under load across a forced rotation (SIGUSR2): every request line exactly once, both files from both workers',
  { timeout: 60_000 },
  async () => {
    const logpath = tempDir('skitai-rotate-');
    const server = await startServer({ args: ['--workers', '2', '-v'], env: { FX_LOGPATH: logpath } });
    const before = 300;
    const afterRotation = 300;
    let sent = 0;
    let rotated = false;
    let afterCount = 0;
    const worker = async () => {
      while (rotated ? afterCount < afterRotation : true) {
        const n = sent++;
        if (rotated) afterCount++;
        const r = await get(server.port, `/id?n=${n}`);
        assert.equal(r.status, 200);
        if (n === before) {
          // Midway: the master renames the files and tells the workers to reopen; the load goes on.
          process.kill(server.pid, 'SIGUSR2');
          void server.waitFor(/master: SIGUSR2: log files rotated/).then(() => {
            rotated = true;
          });
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    process.kill(server.pid, 'SIGTERM');
    assert.equal((await server.exited).code, 0);

    const files = fs.readdirSync(logpath).filter((f) => f.startsWith('request.log'));
    assert.equal(files.length, 2, `one rotated file and the current one: ${files}`);
    const seen = new Map<number, number>();
    const workersIn = new Map<string, Set<string>>();
    for (const file of files) {
      const ids = new Set<string>();
      for (const line of fs.readFileSync(path.join(logpath, file), 'utf8').split('\n').filter(Boolean)) {
        const fields = parseRequestLine(line);
        const n = Number(new URL(fields[5]!, 'http://x').searchParams.get('n'));
        seen.set(n, (seen.get(n) ?? 0) + 1);
        ids.add(fields[17]!);
      }
      workersIn.set(file, ids);
    }
    assert.equal(seen.size, sent, `every one of the ${sent} requests is logged`);
    const twice = [...seen].filter(([, c]) => c !== 1);
    assert.deepEqual(twice, [], 'no request is logged twice');
    for (const [file, ids] of workersIn)
      assert.deepEqual([...ids].sort(), ['W0', 'W1'], `${file} has lines of both workers`);
  },
);
