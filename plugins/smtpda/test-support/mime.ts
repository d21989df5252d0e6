// Just enough MIME reading to check what the peer received: headers (unfolded, encoded words
// decoded), multipart bodies split on their boundary, base64 and quoted-printable decoded.

export interface MimePart {
  headers: Array<[string, string]>;
  header(name: string): string | undefined;
  /** The content type without parameters, lower case. */
  type: string;
  params: Record<string, string>;
  /** The decoded body (empty for a multipart). */
  body: Buffer;
  parts: MimePart[];
  /** Every part of the tree, depth first (this one first). */
  walk(): MimePart[];
}

function decodeWords(value: string): string {
  return value.replace(
    /=\?([^?]+)\?([bBqQ])\?([^?]*)\?=\s*(?==\?)|=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g,
    (_m, c1, e1, t1, c2, e2, t2) => {
      const enc = (e1 ?? e2) as string;
      const text = (t1 ?? t2) as string;
      const buf =
        enc.toUpperCase() === 'B'
          ? Buffer.from(text, 'base64')
          : Buffer.from(
              text
                .replace(/_/g, ' ')
                .replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))),
              'latin1',
            );
      void c1;
      void c2;
      return buf.toString('utf8');
    },
  );
}

function parseParams(value: string): { main: string; params: Record<string, string> } {
  const [main, ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const i = p.indexOf('=');
    if (i < 0) continue;
    params[p.slice(0, i).trim().toLowerCase()] = p
      .slice(i + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { main: (main ?? '').trim().toLowerCase(), params };
}

function decodeQp(text: string): Buffer<ArrayBufferLike> {
  const s = text.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes);
}

export function parseMime(raw: Buffer): MimePart {
  const text = raw.toString('latin1');
  const split = text.search(/\r?\n\r?\n/);
  const headText = split < 0 ? text : text.slice(0, split);
  const bodyText = split < 0 ? '' : text.slice(split).replace(/^\r?\n\r?\n/, '');
  const headers: Array<[string, string]> = [];
  for (const line of headText.split(/\r?\n/)) {
    if (/^\s/.test(line) && headers.length) headers[headers.length - 1]![1] += ' ' + line.trim();
    else {
      const i = line.indexOf(':');
      if (i > 0) headers.push([line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim()]);
    }
  }
  for (const h of headers) h[1] = decodeWords(Buffer.from(h[1], 'latin1').toString('utf8'));
  const header = (name: string) => headers.find(([k]) => k === name.toLowerCase())?.[1];
  const { main: type, params } = parseParams(header('content-type') ?? 'text/plain');
  let parts: MimePart[] = [];
  let body: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  if (type.startsWith('multipart/') && params.boundary) {
    const open = `--${params.boundary}`;
    const close = `${open}--`;
    let current: string[] | undefined;
    const chunks: string[][] = [];
    for (const line of bodyText.split(/\r?\n/)) {
      if (line === open || line === close) {
        if (current) chunks.push(current);
        current = line === open ? [] : undefined;
        if (line === close) break;
      } else if (current) current.push(line);
    }
    parts = chunks.map((c) => parseMime(Buffer.from(c.join('\r\n'), 'latin1')));
  } else {
    const cte = (header('content-transfer-encoding') ?? '7bit').toLowerCase();
    if (cte === 'base64') body = Buffer.from(bodyText.replace(/\s+/g, ''), 'base64');
    else if (cte === 'quoted-printable') body = decodeQp(bodyText);
    else body = Buffer.from(bodyText, 'latin1');
  }
  const part: MimePart = {
    headers,
    header,
    type,
    params,
    body,
    parts,
    walk: () => [part, ...parts.flatMap((p) => p.walk())],
  };
  return part;
}
