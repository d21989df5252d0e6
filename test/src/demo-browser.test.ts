// The demo as a person uses it: a real Chromium loads the page, adds a note and deletes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchBrowser } from '@skitai/test-support/browser';
import { freePort, repo, sleep } from '../support/net.js';

const demo = path.join(repo, 'examples/demo/serve.mjs');


test('in a real browser: the notes page loads its assets, adds a note through the API and deletes it', { timeout: 90_000 }, async () => {
  const port = await freePort();
  const store = path.join(repo, 'examples/demo/var/notes.json');
  const saved = fs.existsSync(store) ? fs.readFileSync(store) : undefined;
  const child = spawn(process.execPath, [demo, '--port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  let close = async () => {};
  try {
    const browser = await launchBrowser();
    close = () => browser.close();
    for (let i = 0; i < 100 && !out.includes('listening on'); i++) await sleep(50);
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
    await page.goto(`http://127.0.0.1:${port}/`);
    assert.equal(await page.title(), 'Skitai demo: notes');
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Served by Skitai/'));
    // The stylesheet was applied: the form is a flex row.
    assert.equal(await page.$eval('form', (f) => getComputedStyle(f).display), 'flex');
    const text = `a note typed at ${Date.now()}`;
    await page.fill('#text', text);
    await page.click('button[type=submit]');
    const item = page.locator('#notes li', { hasText: text });
    await item.waitFor();
    const shot = path.join(os.tmpdir(), 'skitai-demo.png');
    await page.screenshot({ path: shot });
    assert.ok(fs.statSync(shot).size > 1000);
    await item.locator('button').click();
    await item.waitFor({ state: 'detached' });
    await page.goto(`http://127.0.0.1:${port}/about`);
    assert.equal(new URL(page.url()).pathname, '/about/');
    assert.match(await page.textContent('h1') ?? '', /About/);
    assert.deepEqual(failed, []);
  } finally {
    child.kill('SIGTERM');
    await close();
    if (saved) fs.writeFileSync(store, saved);
  }
});
