// Host names as the mount table compares them: lower case, port off, IPv6 brackets kept.
export function normalizeHostName(host: string | undefined): string {
  if (!host) return '';
  const h = host.toLowerCase();
  const close = h.lastIndexOf(']');
  const colon = h.lastIndexOf(':');
  return colon > close ? h.slice(0, colon) : h;
}
