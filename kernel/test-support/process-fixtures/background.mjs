// A background process for the tests: appends its pid to the file it is given, then idles.
import fs from 'node:fs';
import { backgroundProcess } from '@skitai/kernel';

const ctx = backgroundProcess();
fs.appendFileSync(ctx.options.file, `${process.pid}\n`);
const timer = setInterval(() => {}, 1000);
ctx.onStop(() => clearInterval(timer));
