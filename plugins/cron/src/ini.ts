// Skitai's configuration files: INI sections of `key = value` lines, and list sections
// (`[:crontab]`) whose lines are taken whole. Comments start a line with # or ;.
import fs from 'node:fs';
import { CronError } from './jobs.js';

export interface IniFile {
  /** `[name]` sections: keys lowercased, values trimmed (continuation lines joined by \n). */
  sections: Record<string, Record<string, string>>;
  /** `[:name]` sections: their non-empty, non-comment lines, trimmed. */
  lists: Record<string, string[]>;
}

export function parseIni(text: string, source = 'config'): IniFile {
  const out: IniFile = { sections: {}, lists: {} };
  let section: Record<string, string> | undefined;
  let list: string[] | undefined;
  let lastKey: string | undefined;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const where = `${source} line ${i + 1}`;
    const line = raw.trim();
    if (line === '') {
      lastKey = undefined;
      return;
    }
    if (line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
    if (header) {
      const name = header[1]!;
      lastKey = undefined;
      if (name.startsWith(':')) {
        const key = name.slice(1).toLowerCase();
        list = out.lists[key] ??= [];
        section = undefined;
      } else {
        if (name === '') throw new CronError('SKT_CRON_CONFIG', `${where}: a section needs a name`);
        section = out.sections[name.toLowerCase()] ??= {};
        list = undefined;
      }
      return;
    }
    if (list) {
      list.push(line);
      return;
    }
    if (!section) throw new CronError('SKT_CRON_CONFIG', `${where}: ${JSON.stringify(line)} is outside any [section]`);
    if (/^\s/.test(raw) && lastKey !== undefined) {
      section[lastKey] = section[lastKey] === '' ? line : `${section[lastKey]}\n${line}`;
      return;
    }
    const eq = line.search(/[=:]/);
    if (eq <= 0)
      throw new CronError('SKT_CRON_CONFIG', `${where}: expected "key = value", got ${JSON.stringify(line)}`);
    lastKey = line.slice(0, eq).trim().toLowerCase();
    section[lastKey] = line.slice(eq + 1).trim();
  });
  return out;
}

export function readIni(file: string): IniFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CronError(
      'SKT_CRON_CONFIG',
      `cannot read the config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseIni(text, file);
}

/** Skitai's booleans: true/yes/on/1 and false/no/off/0 (any case); anything else is an error. */
export function iniBoolean(value: string | undefined, what: string): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.toLowerCase();
  if (['true', 'yes', 'on', '1'].includes(v)) return true;
  if (['false', 'no', 'off', '0'].includes(v)) return false;
  throw new CronError('SKT_CRON_CONFIG', `${what}: expected true or false, got ${JSON.stringify(value)}`);
}
