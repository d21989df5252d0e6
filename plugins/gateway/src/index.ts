// @skitai/gateway: reverse proxy mounts of `@alias` (WebSocket too), API gateway auth (bearer
// tokens, JWT), the alias's role and source rules, and a forward proxy with CONNECT.
export { gateway, NAME, VERSION, type GatewayOptions } from './plugin.js';
export {
  Authenticator,
  bearerToken,
  hasRole,
  type Authorizer,
  type AuthOptions,
  type Identity,
  type Verdict,
} from './auth.js';
export type { ProxyCache, CachedResponse, CacheMiss } from './cache.js';
export type { ForwardProxyOptions } from './forward-proxy.js';
export { endToEnd } from './hop.js';
export { codes as gatewayCodes } from './errors.js';
