// The delivery agent as a background process in the master's care (kernel.registerProcess):
// the plugin registers this module; the master forks it once, restarts it when it dies and
// stops it with the server.
import { backgroundProcess } from '@skitai/kernel';
import { DeliveryAgent, type AgentOptions } from './agent.js';
import process from 'node:process';

const context = backgroundProcess();
const options = (context.options ?? {}) as AgentOptions;
// The password may come through the environment rather than the options.
if (!options.password && process.env.SKITAI_SMTPDA_PASSWORD) options.password = process.env.SKITAI_SMTPDA_PASSWORD;
const agent = new DeliveryAgent(options);
context.onStop(() => agent.stop());
process.on('SIGUSR1', () => agent.log.reopen());
agent.start().catch((err) => {
  process.stderr.write(`smtpda: the delivery agent cannot start: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
