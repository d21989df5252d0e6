// SQL written once for PostgreSQL and SQLite: `$1, $2` placeholders (PostgreSQL's) become
// `@p1, @p2` for better-sqlite3, bound by name, so a number may repeat or come out of order.
// Quoted strings, quoted identifiers and comments are left alone.

/** The statement with `$n` rewritten, or the same string when it has none. */
export function toSqliteParams(sql: string): string {
  if (!/\$[0-9]/.test(sql)) return sql;
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      const end = closing(sql, i + 1, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      const end = nl === -1 ? n : nl;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      const end = close === -1 ? n : close + 2;
      out += sql.slice(i, end);
      i = end;
    } else if (c === '$' && /[0-9]/.test(sql[i + 1] ?? '') && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? '')) {
      let j = i + 1;
      while (j < n && /[0-9]/.test(sql[j]!)) j++;
      out += `@p${sql.slice(i + 1, j)}`;
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Where a quoted run ends (a doubled quote is an escaped one). */
function closing(sql: string, from: number, quote: string): number {
  let i = from;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

/** A list of values for `$1, $2 ...` as better-sqlite3's named parameters `{ p1, p2 }`. */
export function namedParams(values: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < values.length; i++) out[`p${i + 1}`] = values[i];
  return out;
}
