// Client source rules for the forward proxy: IPv4 networks (a.b.c.d/bits) and IPv6 addresses.
import net from 'node:net';
import { codes } from './errors.js';

export interface SourceList {
  allows(ip: string | undefined): boolean;
  readonly text: readonly string[];
}

export function parseSources(option: string, items: readonly string[]): SourceList {
  if (!Array.isArray(items))
    throw codes.SKT_GATEWAY_OPTION(option, items, 'a list of networks such as "127.0.0.1/32" or "::1"');
  const block = new net.BlockList();
  for (const item of items) {
    const text = String(item).trim();
    const slash = text.indexOf('/');
    const addr = slash === -1 ? text : text.slice(0, slash);
    const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : undefined;
    if (family === undefined) throw codes.SKT_GATEWAY_OPTION(option, item, 'not an IP address or network');
    if (slash === -1) {
      block.addAddress(addr, family);
    } else {
      const bits = Number(text.slice(slash + 1));
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 'ipv4' ? 32 : 128))
        throw codes.SKT_GATEWAY_OPTION(option, item, 'bad prefix length');
      block.addSubnet(addr, bits, family);
    }
  }
  return {
    text: items.map(String),
    allows(ip) {
      if (ip === undefined) return false;
      const v4 = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
      return block.check(v4, net.isIPv4(v4) ? 'ipv4' : 'ipv6');
    },
  };
}
