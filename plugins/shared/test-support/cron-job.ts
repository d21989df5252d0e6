// A function job for the tests: appends "<due time ms> <instance>" to a file, one line a run.
import fs from 'node:fs';

export function tick(ctx: { scheduledAt: Date; args: unknown }): void {
  const { file, instance } = ctx.args as { file: string; instance: string };
  fs.appendFileSync(file, `${ctx.scheduledAt.getTime()} ${instance}\n`);
}
