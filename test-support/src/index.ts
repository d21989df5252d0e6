// @skitai/test-support: one of each helper the packages' tests share. The browser is a
// separate import ('@skitai/test-support/browser') so that other tests do not load playwright.
export { sleep, waitUntil, once, waitForLine } from './wait.js';
export { freePort } from './net.js';
export { tempDir } from './temp.js';
export { request, type Reply } from './http.js';
export { selfSignedCert, type SelfSigned, type SelfSignedOptions } from './tls.js';
export { spawnNode, nodeAnswer, killSpawned, pidAlive, cmdline, type NodeProcess, type Exit } from './process.js';
