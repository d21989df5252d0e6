// The background process of the third-party plugin test: it tells the test it runs by calling
// the URL it was given, then idles until stopped.
import { backgroundProcess } from '@skitai/kernel';

const ctx = backgroundProcess();
await fetch(`${ctx.options.url}?pid=${process.pid}`);
const timer = setInterval(() => {}, 1000);
ctx.onStop(() => clearInterval(timer));
