// The demo as people use it, in a real Chromium: sign in, write a note with an attachment,
// talk in the chat with a second person, hear about a new note there, delete the note.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { launchBrowser } from '@skitai/test-support/browser';
import { startDemo } from '../support/demo.js';

test(
  "in a real browser: sign-in, a note with an attachment through the page's script, the chat between two people",
  { timeout: 90_000 },
  async () => {
    const demo = await startDemo();
    const browser = await launchBrowser();
    const failed: string[] = [];
    const person = async (): Promise<Page> => {
      const page = await (await browser.newContext()).newPage();
      // A request cut short by the page moving on (net::ERR_ABORTED) is the browser's doing.
      page.on('requestfailed', (r) => {
        if (r.failure()?.errorText !== 'net::ERR_ABORTED') failed.push(`${r.failure()?.errorText} ${r.url()}`);
      });
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      page.on('pageerror', (e) => failed.push(`script error ${e.message}`));
      return page;
    };
    const signIn = async (page: Page, name: string, next: string) => {
      await page.goto(`${demo.base}${next}`);
      if (next !== '/login') assert.equal(new URL(page.url()).pathname, '/login', 'sent to the sign-in form');
      await page.fill('input[name=username]', name);
      await page.fill('input[name=password]', name);
      await page.click('form.card button');
      await page.waitForURL(`${demo.base}${next === '/login' ? '/' : next}`);
      assert.match((await page.textContent('.flash.success')) ?? '', new RegExp(`Signed in as ${name}`));
    };
    try {
      const demoUser = await person();
      await demoUser.goto(`${demo.base}/`);
      assert.equal(await demoUser.title(), 'Notes · Skitai Notes');
      await demoUser.locator('#notes li.empty', { hasText: 'No notes yet.' }).waitFor();
      await demoUser.locator('#status', { hasText: /^Served by Skitai\// }).waitFor(); // from the Express service
      // The stylesheet from /assets was applied.
      assert.equal(await demoUser.$eval('header.top', (h) => getComputedStyle(h).display), 'flex');
      await demoUser.click('nav a.button');
      await signIn(demoUser, 'demo', '/login');

      // A note with an attachment, sent by the page's script (multipart, with the CSRF token).
      const text = `Agenda for ${Date.now()}`;
      await demoUser.fill('#add textarea', text);
      await demoUser.setInputFiles('#add input[type=file]', {
        name: 'agenda.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('1. Demo\n'),
      });
      await demoUser.click('#add button');
      const item = demoUser.locator('#notes li', { hasText: text });
      await item.waitFor();
      assert.match((await item.locator('a.file').textContent()) ?? '', /agenda\.txt/);
      const href = await item.locator('a.file').getAttribute('href');
      assert.equal(await (await fetch(demo.base + href)).text(), '1. Demo\n');
      assert.equal(await demoUser.inputValue('#add textarea'), '', 'the form is reset');
      await demoUser.reload();
      await item.waitFor(); // stored, not only drawn

      // Two people in the chat; the second one is asked to sign in first.
      const ana = await person();
      await signIn(ana, 'ana', '/chat');
      await ana.locator('#state', { hasText: 'connected' }).waitFor();
      await demoUser.click('nav a[href="/chat"]');
      await demoUser.locator('#state', { hasText: 'connected' }).waitFor();
      await ana.locator('#log li', { hasText: 'demojoined' }).waitFor();
      await ana.fill('#text', 'Hello from ana');
      await ana.press('#text', 'Enter');
      await demoUser.locator('#log li', { hasText: 'anaHello from ana' }).waitFor();
      assert.equal(
        await demoUser.$eval('#log', (l) => getComputedStyle(l).overflowY),
        'auto',
        "the chat has the site's stylesheet",
      );

      // A note written on the notes page is announced in the room.
      const writer = await person();
      await signIn(writer, 'ana', '/login');
      await writer.fill('#add textarea', 'Ana was here');
      await writer.click('#add button');
      await writer.locator('#notes li', { hasText: 'Ana was here' }).waitFor();
      await demoUser.locator('#log li.note', { hasText: 'anaadded a note: Ana was here' }).waitFor();
      // Ana cannot delete demo's note: the page offers no button for it.
      assert.equal(await writer.locator('#notes li', { hasText: text }).locator('button.delete').count(), 0);

      // Back on the notes page, demo deletes the note.
      await demoUser.click('nav a[href="/"]');
      await item.locator('button.delete').click();
      await item.waitFor({ state: 'detached' });
      await demoUser.reload();
      await demoUser.locator('#notes li', { hasText: 'Ana was here' }).waitFor();
      assert.equal(await item.count(), 0);

      await demoUser.click('button:has-text("Sign out")');
      await demoUser.locator('.flash', { hasText: 'Signed out.' }).waitFor();
      assert.deepEqual(failed, []);
    } finally {
      await browser.close();
      await demo.stop();
    }
  },
);
