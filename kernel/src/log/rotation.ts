// The master's midnight: one process renames the shared log files, then tells the workers to
// reopen theirs. Workers never rename (two renamers would move each other's fresh files).
import { nextMidnight } from './log-file.js';
import type { Logs } from './logger.js';

/**
 * Rotates `logs` at every local midnight, then calls `rotated` (the master tells its workers to
 * reopen). Node's timers, so tests drive it with mock.timers. Returns the function that stops it.
 */
export function scheduleDailyRotation(logs: Pick<Logs, 'rotate'>, rotated: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let target = 0;
  const arm = (now: number) => {
    target = nextMidnight(now);
    timer = setTimeout(fire, Math.max(1, target - now));
    timer.unref?.();
  };
  const fire = () => {
    const now = Date.now();
    // A timer may fire a little early (clock adjustments): wait for the midnight itself.
    if (now < target) {
      timer = setTimeout(fire, target - now);
      timer.unref?.();
      return;
    }
    logs.rotate(now);
    rotated();
    arm(now);
  };
  arm(Date.now());
  return () => clearTimeout(timer);
}
