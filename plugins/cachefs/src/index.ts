// @skitai/cachefs: an HTTP response cache (RFC 9111, as a shared cache) for `was` HTTP calls
// and the gateway's proxies, with a memory tier and a disk tier sized in bytes.
export { cachefs, NAME, VERSION, type CachefsOptions, type CachefsPlugin } from './plugin.js';
export { HttpCache, Fill, variantKey, type CacheRequest, type CacheStats, type Lookup } from './http-cache.js';
export { MemoryTier } from './memory-tier.js';
export { DiskTier } from './disk-tier.js';
export { encode, decode, currentAge, type Entry, type VaryMarker, type Item } from './entry.js';
export { parseCacheControl, freshnessLifetime, varyNames } from './directives.js';
export { proxyCache, servedHeaders, X_CACHE, type ProxyCacheLike } from './proxy-cache.js';
export { wasCache } from './was-cache.js';
export { codes as cachefsCodes } from './errors.js';
