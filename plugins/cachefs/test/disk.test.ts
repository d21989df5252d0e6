// The disk tier: found again after a restart, damaged records dropped and fetched again, the
// byte bound, and a full disk (a real one: a small tmpfs) turning it off with one warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir, waitUntil } from '@skitai/test-support';
import { answer, get, startBackend, startFront, type Backend } from '../test-support/helpers.js';

/** The record files of a disk tier's process folder. */
function records(dir: string): string[] {
  const base = path.join(dir, 'M');
  if (!fs.existsSync(base)) return [];
  return fs
    .readdirSync(base)
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .flatMap((d) => fs.readdirSync(path.join(base, d)).map((f) => path.join(base, d, f)));
}

async function once(backend: Backend, dir: string, paths: string[], extra: { memmax?: number; diskmax?: number } = {}) {
  const front = await startFront({ backend, cache: { memmax: 0, diskmax: 1 << 20, path: dir, ...extra } });
  try {
    const states: string[] = [];
    // One Host for every run: it is part of the key, and each run listens on another port.
    for (const p of paths)
      states.push(String((await get(`${front.url}/b${p}`, { headers: { host: 'cache.test' } })).headers['x-cache']));
    await front.cache.cache.disk!.flush();
    return { states, disk: front.cache.cache.disk! };
  } finally {
    await front.stop();
  }
}

test('the disk tier survives a restart', async () => {
  const dir = tempDir('cachefs-disk-');
  const backend = await startBackend(answer({ 'cache-control': 'max-age=600', etag: '"d"' }));
  try {
    assert.deepEqual((await once(backend, dir, ['/d', '/d'])).states, ['MISS', 'HIT']);
    assert.equal(records(dir).length, 1);
    // Something that is not a record, in the folder: ignored.
    fs.writeFileSync(path.join(dir, 'M', 'README'), 'not a record');
    const second = await once(backend, dir, ['/d']);
    assert.deepEqual(second.states, ['HIT'], 'the next process found it on disk');
    assert.equal(backend.count('/d'), 1);
    assert.equal(second.disk.hits, 1);
  } finally {
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

for (const damage of ['truncated', 'byte-flipped', 'emptied']) {
  test(`a record ${damage} on disk is dropped and fetched again, never served`, async () => {
    const dir = tempDir('cachefs-corrupt-');
    const backend = await startBackend(answer({ 'cache-control': 'max-age=600' }, 'k'.repeat(2048)));
    try {
      await once(backend, dir, ['/k']);
      const [file] = records(dir);
      const bytes = fs.readFileSync(file!);
      if (damage === 'truncated') fs.writeFileSync(file!, bytes.subarray(0, bytes.length - 100));
      else if (damage === 'emptied') fs.writeFileSync(file!, '');
      else {
        bytes[bytes.length - 500] ^= 0x20;
        fs.writeFileSync(file!, bytes);
      }
      const after = await once(backend, dir, ['/k', '/k']);
      assert.deepEqual(after.states, ['MISS', 'HIT']);
      assert.equal(after.disk.corrupt, 1);
      assert.equal(backend.count('/k'), 2, 'fetched again');
      const third = await once(backend, dir, ['/k']);
      assert.deepEqual(third.states, ['HIT'], 'the record written again is whole');
    } finally {
      await backend.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('eviction: the disk tier stays within diskmax, least recently used first', async () => {
  const dir = tempDir('cachefs-evict-');
  const backend = await startBackend(answer({ 'cache-control': 'max-age=600' }, 'v'.repeat(4096)));
  // Room for three records of about 4.4 KB, not four.
  const front = await startFront({ backend, cache: { memmax: 0, diskmax: 14_000, path: dir } });
  try {
    const disk = () => front.cache.cache.disk!;
    for (const p of ['/1', '/2', '/3']) await get(`${front.url}/b${p}`);
    await disk().flush();
    assert.equal(disk().entries, 3);
    assert.equal((await get(`${front.url}/b/1`)).headers['x-cache'], 'HIT');
    await get(`${front.url}/b/4`);
    await disk().flush();
    assert.ok(disk().bytes <= 14_000, `disk ${disk().bytes} <= 14000`);
    assert.equal(disk().entries, 3);
    await waitUntil(() => records(dir).length === 3, 5000, 'the evicted file removed');
    assert.equal((await get(`${front.url}/b/2`)).headers['x-cache'], 'MISS');
    assert.equal((await get(`${front.url}/b/1`)).headers['x-cache'], 'HIT');
  } finally {
    await front.stop();
    await backend.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const root = process.getuid?.() === 0;

test(
  'a full disk turns the disk tier off with one warning; the memory tier goes on',
  { skip: root ? false : 'mounting a small tmpfs needs root' },
  async (t) => {
    const dir = tempDir('cachefs-full-');
    const logs = tempDir('cachefs-full-logs-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', dir]);
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      t.skip(`cannot mount a tmpfs here: ${(err as Error).message}`);
      return;
    }
    const backend = await startBackend(answer({ 'cache-control': 'max-age=600' }, 'f'.repeat(16 * 1024)));
    const front = await startFront({
      backend,
      cache: { memmax: 1 << 20, diskmax: 10 << 20, path: dir },
      logpath: logs,
    });
    try {
      const paths = Array.from({ length: 8 }, (_, i) => `/full${i}`);
      for (const p of paths) {
        await get(`${front.url}/b${p}`);
        await front.cache.cache.disk!.flush();
      }
      const disk = front.cache.cache.disk!;
      assert.match(String(disk.off), /ENOSPC/);
      for (const p of paths)
        assert.equal((await get(`${front.url}/b${p}`)).headers['x-cache'], 'HIT', `${p} from memory`);
      for (const p of paths) assert.equal(backend.count(p), 1);
    } finally {
      await front.stop();
      await backend.close();
      execFileSync('umount', [dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const warnings = fs
      .readFileSync(path.join(logs, 'server.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('disk tier'));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, /\[warn\].*ENOSPC.*memory only/);
    fs.rmSync(logs, { recursive: true, force: true });
  },
);
