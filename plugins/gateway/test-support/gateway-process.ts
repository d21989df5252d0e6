// A gateway in its own process, so that a test can read the proxy's own peak RSS:
// `fork(this, [JSON.stringify({ members })])`; it sends { port } and answers 'rss' with
// { maxRss } (bytes, process.resourceUsage().maxRSS).
import { startGateway } from './helpers.js';

const { members } = JSON.parse(process.argv[2] ?? '{}') as { members: string[] };
// Uploads of any size pass through: the kernel's 32 MiB default is for bodies it buffers.
const g = await startGateway({ members, setup: (k) => k.setMaxClientBodySize(4 * 1024 ** 3) });
process.send!({ port: g.port });
process.on('message', (message) => {
  if (message === 'rss')
    process.send!({ maxRss: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage().rss });
  // A failed stop ends the process with its error, not with an unhandled rejection.
  if (message === 'stop')
    g.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
});
