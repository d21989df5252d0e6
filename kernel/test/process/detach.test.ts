// startDetached (the daemon start of the kernel's `start` verb, skitai-cron and skitai-smtpda):
// started once the daemon's pid file says so, and detached (it outlives the wait); a daemon
// that exits first, or never says it runs, is a failure with the end of its output.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startDetached } from '@skitai/kernel/cli';
import { pidAlive, tempDir, waitUntil } from '@skitai/test-support';

const dir = tempDir('skitai-detach-');
const started: number[] = [];
after(() => {
  for (const pid of started) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function script(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

const pidFile = path.join(dir, 'd.pid');
const running = (pid: number) => {
  try {
    return Number(fs.readFileSync(pidFile, 'utf8')) === pid;
  } catch {
    return false;
  }
};

test('a daemon that writes its pid file: started, in a group of its own, its output in the file', async () => {
  const outFile = path.join(dir, 'ok.out');
  const daemon = script(
    'ok.mjs',
    `import fs from 'node:fs';
console.log('hello from ' + process.env.WHO);
fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
setInterval(() => {}, 60_000);
`,
  );
  const r = await startDetached({
    args: [daemon],
    outFile,
    env: { ...process.env, WHO: 'the daemon' },
    running,
    waitMs: 15_000,
  });
  assert.equal(r.ok, true);
  const pid = (r as { pid: number }).pid;
  started.push(pid);
  assert.ok(pidAlive(pid));
  // Its own process group (detached): the group id is its pid.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]), pid);
  await waitUntil(() => fs.readFileSync(outFile, 'utf8').includes('hello from the daemon'), 5000, 'its output');
});

test('a daemon that exits first: its exit and the end of its output', async () => {
  const outFile = path.join(dir, 'exit.out');
  fs.writeFileSync(outFile, 'an earlier run\n');
  const daemon = script('exit.mjs', `console.error('bad config: no port'); process.exit(3);\n`);
  const r = await startDetached({ args: [daemon], outFile, running, waitMs: 15_000 });
  assert.equal(r.ok, false);
  const { why, tail } = r as { why: string; tail: string };
  assert.equal(why, 'exit code 3');
  assert.equal(tail, 'an earlier run\nbad config: no port');
});

test('a daemon that never says it runs: killed after waitMs', async () => {
  const outFile = path.join(dir, 'mute.out');
  const daemon = script('mute.mjs', `setInterval(() => {}, 60_000);\n`);
  let pid = 0;
  const r = await startDetached({
    args: [daemon],
    outFile,
    running: (p) => {
      pid = p;
      return false;
    },
    waitMs: 1000,
  });
  assert.deepEqual(r, { ok: false, why: 'no answer within 1 s', tail: '' });
  assert.ok(pid > 0);
  await waitUntil(() => !pidAlive(pid), 5000, 'the daemon killed');
});
