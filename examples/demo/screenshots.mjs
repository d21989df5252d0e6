// Takes the README's screenshots of the demo with Debian's chromium and playwright-core:
// starts serve.mjs on a free port with an empty data folder, signs two people in, writes a
// few notes (one with an image), chats, and saves PNGs into screenshots/.
//   node examples/demo/screenshots.mjs        (after npx tsc -b; CHROMIUM_PATH to change the browser)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'screenshots');
const data = fs.mkdtempSync(path.join(os.tmpdir(), 'skitai-notes-'));
const server = spawn(process.execPath, [path.join(here, 'serve.mjs'), '--port', '0'], {
  env: { ...process.env, DEMO_DATA: data },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const base = await new Promise((resolve, reject) => {
  let log = '';
  const read = (d) => {
    log += d;
    const m = /listening on (http:\/\/\S+)/.exec(log);
    if (m) resolve(m[1]);
  };
  server.stdout.on('data', read);
  server.stderr.on('data', read);
  server.on('exit', (code) => reject(new Error(`the demo exited (${code}) before listening:\n${log}`)));
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const context = () => browser.newContext({ viewport: { width: 960, height: 720 } });
  const [demo, ana] = [await (await context()).newPage(), await (await context()).newPage()];
  const shot = (page, name) => page.screenshot({ path: path.join(out, `${name}.png`), fullPage: name === 'notes' });

  async function signIn(page, name) {
    await page.goto(`${base}/login`);
    await page.fill('input[name=username]', name);
    await page.fill('input[name=password]', name);
    if (name === 'demo') await shot(page, 'login');
    await page.click('form.card button');
    await page.waitForSelector('#add');
  }
  async function addNote(page, text, file) {
    if (file) await page.setInputFiles('#add input[type=file]', file);
    await page.fill('#add textarea', text);
    await page.click('#add button');
    await page.locator('#notes li', { hasText: text }).waitFor();
  }

  // An image to attach: a small whiteboard drawn by the browser itself.
  const board = await browser.newPage({ viewport: { width: 480, height: 200 } });
  await board.setContent(`<body style="margin:0;font:22px system-ui;background:#fffbe6;display:grid;place-items:center;height:200px">
    <div style="border:3px dashed #e0a800;padding:1rem 2rem;border-radius:12px">Sprint board · 3 done · 2 doing · 4 to do</div></body>`);
  const png = await board.screenshot();
  await board.close();

  await signIn(demo, 'demo');
  await signIn(ana, 'ana');
  await addNote(demo, 'Welcome to Skitai Notes! Everyone here can read the notes; sign in to write one.');
  await addNote(ana, 'The agenda for Monday is attached.', {
    name: 'agenda.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('1. Demo\n2. Release\n'),
  });
  await ana.goto(`${base}/chat`);
  await demo.goto(`${base}/chat`);
  await demo.locator('#log li', { hasText: 'demo' }).waitFor();
  await ana.locator('#log li', { hasText: 'demo' }).waitFor();
  for (const [page, text] of [
    [ana, 'Morning! Did the board photo go up?'],
    [demo, 'Posting it now.'],
  ]) {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
    await demo.locator('#log li', { hasText: text }).waitFor();
  }
  // A note written on the notes page is announced in the chat room.
  const notes = await (await context()).newPage();
  await signIn(notes, 'demo');
  await addNote(notes, "Sprint board after Friday's review.", {
    name: 'board.png',
    mimeType: 'image/png',
    buffer: png,
  });
  await demo.locator('#log li.note').waitFor();
  await ana.fill('#text', 'Thanks, looks good.');
  await ana.press('#text', 'Enter');
  await demo.locator('#log li', { hasText: 'looks good' }).waitFor();
  await shot(demo, 'chat');

  await notes.reload();
  await notes.locator('#notes img').evaluate((img) => img.decode());
  await shot(notes, 'notes');
  await notes.goto(`${base}/about`);
  await shot(notes, 'about');
  console.log(
    `screenshots in ${out}: ${fs
      .readdirSync(out)
      .filter((f) => f.endsWith('.png'))
      .join(', ')}`,
  );
} finally {
  await browser.close();
  server.kill('SIGTERM');
  fs.rmSync(data, { recursive: true, force: true });
}
