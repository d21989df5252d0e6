/** "host", "host:port", "[v6]" or "[v6]:port" into nodemailer's host, port and secure. */
export function parseServer(server: string, ssl = false): { host: string; port: number; secure: boolean } {
  if (typeof server !== 'string' || server.trim() === '') throw new Error('an SMTP server is "host" or "host:port"');
  const text = server.trim();
  let host = text;
  let port: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1]!;
    port = v6[2];
  } else if (text.includes(':')) {
    const i = text.lastIndexOf(':');
    if (text.indexOf(':') !== i) throw new Error('write an IPv6 address in brackets: [::1]:25');
    host = text.slice(0, i);
    port = text.slice(i + 1);
  }
  if (host === '' || /[\s/@]/.test(host)) throw new Error(`bad host ${JSON.stringify(host)}`);
  const n = port === undefined ? (ssl ? 465 : 25) : Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`bad port ${JSON.stringify(port)}`);
  return { host, port: n, secure: !!ssl };
}
