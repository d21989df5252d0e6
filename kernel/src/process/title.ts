import path from 'node:path';
import process from 'node:process';

/** The startup script's name as Skitai shows it in titles: `skitai(<script>)`. */
export function scriptName(): string {
  const script = process.argv[1];
  return script ? path.basename(script) : 'skitai';
}

/** Sets the process title, e.g. `skitai(serve.mjs): worker #0`. */
export function setTitle(role: string): void {
  try {
    process.title = `skitai(${scriptName()}): ${role}`;
  } catch {
    /* some platforms refuse: the title is cosmetic */
  }
}
