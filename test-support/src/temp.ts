import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A new empty folder under the system's temporary folder. */
export function tempDir(prefix = 'skitai-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}
