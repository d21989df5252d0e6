// @skitai/services: `was` calls to backends (HTTP, XML-RPC, JSON-RPC), aliases with
// load-balancing and fail-over, the result cache, `import { was }` for plain Node handlers.
export { services, registerAliasType, type ServicesOptions } from './plugin.js';
export { BackendServices, type ServiceDefaults } from './manager.js';
export {
  Alias,
  Member,
  BUILTIN_TYPES,
  isAliasTypeDefinition,
  type AliasTypeDefinition,
  type HttpPool,
  type LbOptions,
  type SourceRule,
} from './alias.js';
export {
  parseMember,
  parsePathMember,
  splitWeight,
  hostPort,
  MemberSyntaxError,
  type MemberAddress,
} from './member.js';
export {
  CallContext,
  parseContent,
  type CallOptions,
  type HttpCaller,
  type HttpBodyCaller,
  type RpcCaller,
  type RpcProxy,
  type RpcMethod,
  type TxnCarrier,
  type Variant,
} from './caller.js';
export { Result, Results, STATUS, type ResultStatus, type ResultInit } from './result.js';
export { ResultCache } from './rcache.js';
export {
  isHttpResponseCache,
  type HttpResponseCache,
  type HttpCacheCall,
  type HttpCacheAnswer,
  type HttpCacheTicket,
} from './response-cache.js';
export { cachedResult, KeySlot } from './result-source.js';
export type { CacheSlot } from './result.js';
export { LastUpdated } from './lu.js';
export { CallError, type FailureKind } from './http-client.js';
export {
  watchDeadline,
  clearDeadline,
  renewDeadline,
  deadlinesWatched,
  Timed,
  DEADLINE_SWEEP_MS,
  SWEPT_FROM_MS,
  type Deadline,
} from './deadlines.js';
export { createAgent, createPool, TrackedClient, trackedClientClass, type DispatcherOptions } from './dispatcher.js';
export { was, currentWas, bindWas, runWithWas, wrapWithWasContext } from './context.js';
export { callContextOf, servicesOf, WAS_MEMBERS } from './was-members.js';
export { codes as servicesCodes } from './errors.js';
export { RpcFault } from '@skitai/xmlrpc';
