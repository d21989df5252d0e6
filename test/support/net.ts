// Small helpers shared by the cross-package tests.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from test/dist/{src,support}. */
export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export { freePort, sleep } from '@skitai/test-support';
