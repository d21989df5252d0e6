#!/usr/bin/env node
// The skitai-cron command. This file is committed (the compiled cli is not), so npm links the
// command at install, before the first build.
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`skitai-cron: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
