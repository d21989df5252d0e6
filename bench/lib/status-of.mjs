// One GET on a fresh connection, reading only the status line: how the cold-start runs
// (cold.mjs) and the single-process count (startup/first-200.mjs) see the first 200.
import net from 'node:net';

/**
 * One GET on a fresh connection: resolves the status code, or null when nothing listens yet.
 * Only the status line is read; the connection is closed at once.
 */
export function statusOf(port, p) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let buf = '';
    const done = (v) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(5000, () => done(0));
    s.once('error', () => done(null));
    s.once('connect', () => s.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      buf += d;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      if (m) done(Number(m[1]));
      else if (buf.length > 64) done(0);
    });
    s.once('end', () => done(0));
  });
}
