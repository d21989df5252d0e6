// A real browser: the chat page opened twice joins one room, and each page sees the other's messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createChatApp } from '../src/chat.js';
import { launchBrowser } from '@skitai/test-support/browser';
import { serve } from '../test-support/helpers.js';

const lines = (page: Page) => page.locator('#log li').allTextContents();

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#msg', text);
  await page.click('#send');
}

test('in Chromium: two chat pages in one room see each other (enter, say, leave)', { timeout: 90_000 }, async () => {
  const s = await serve([['/chat', createChatApp()]]);
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const errors: string[] = [];
    const alice = await browser.newPage();
    const bob = await browser.newPage();
    for (const p of [alice, bob]) p.on('pageerror', (e) => errors.push(e.message));
    const base = `http://127.0.0.1:${s.port}/chat/`;
    await alice.goto(`${base}?roomid=tea&name=alice`);
    await alice.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
    await bob.goto(`${base}?roomid=tea&name=bob`);
    await bob.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
    await alice.locator('#log li', { hasText: 'bob has entered' }).waitFor({ timeout: 5000 });

    await say(alice, 'hello bob');
    await bob.locator('#log li', { hasText: 'alice: hello bob' }).waitFor({ timeout: 5000 });
    await say(bob, 'hi alice');
    await alice.locator('#log li', { hasText: 'bob: hi alice' }).waitFor({ timeout: 5000 });

    // A page in another room hears nothing of this one.
    const carol = await browser.newPage();
    await carol.goto(`${base}?roomid=coffee&name=carol`);
    await carol.locator('#status', { hasText: 'connected' }).waitFor({ timeout: 10_000 });
    await say(alice, 'tea only');
    await bob.locator('#log li', { hasText: 'alice: tea only' }).waitFor({ timeout: 5000 });
    assert.deepEqual(await lines(carol), ['carol has entered']);

    await bob.close();
    await alice.locator('#log li', { hasText: 'bob has left' }).waitFor({ timeout: 5000 });
    assert.deepEqual(await lines(alice), [
      'alice has entered',
      'bob has entered',
      'alice: hello bob',
      'bob: hi alice',
      'alice: tea only',
      'bob has left',
    ]);
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await s.close();
  }
});
