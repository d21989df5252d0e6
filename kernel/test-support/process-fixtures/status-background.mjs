// A background process that gives a status section (the queue it would work on).
import { backgroundProcess } from '@skitai/kernel';

const ctx = backgroundProcess();
const timer = setInterval(() => {}, 1000);
ctx.onStop(() => clearInterval(timer));
ctx.onStatus(() => [
  {
    name: 'agent',
    title: 'Agent',
    data: { queue: ctx.options.queue },
    metrics: [
      { name: 'acme_agent_queue', help: 'Jobs waiting.', type: 'gauge', samples: [{ value: ctx.options.queue }] },
    ],
  },
]);
process.send({ fixture: 'ready' });
