// was backend services (issue 5). Exports are re-exported from the package index.
import { Kernel } from '../kernel.js';
import { BackendServices } from './manager.js';
import { installWasMembers } from './was-members.js';

// The kernel builds its services on first use through this factory (see the marked block in kernel.ts).
Kernel.backendServicesFactory = (kernel: Kernel) => new BackendServices(kernel);
installWasMembers();

/**
 * Binds the imported `was` to every request of this kernel's mounts, for plain Node handlers
 * (Express ...). Call before start. Defining an alias (or setBackendKeepAlive, setMaxRcache,
 * addlu) before start does the same.
 */
export function enableWasContext(kernel: Kernel): void {
  kernel.services.wasContext = true;
}

export {
  RpcFault, escapeXml, serializeValue, serializeParams, serializeMethodCall, parseMethodCall,
  serializeMethodResponse, serializeFault, parseMethodResponse, parseParams,
} from './xmlrpc.js';
export type { MethodCall } from './xmlrpc.js';
export { BackendServices, type ServiceDefaults, type BackendServicesOptions } from './manager.js';
export {
  Alias, Member, registerAliasType, getAliasType, aliasTypes, checkAliasName,
  type AliasOptions, type AliasTypeDefinition, type HttpPool, type LbOptions, type SourceRule,
} from './alias.js';
export { parseMember, parsePathMember, splitWeight, hostPort, MemberSyntaxError, type MemberAddress } from './member.js';
export {
  CallContext, parseContent,
  type CallOptions, type HttpCaller, type HttpBodyCaller, type RpcCaller, type RpcProxy, type RpcMethod, type TxnCarrier, type Variant,
} from './caller.js';
export { Result, Results, STATUS, type ResultStatus, type ResultInit } from './result.js';
export { ResultCache } from './rcache.js';
export { LastUpdated } from './lu.js';
export { CallError, createAgent, type FailureKind } from './http-client.js';
export { was, currentWas, bindWas, runWithWas, wrapWithWasContext } from './context.js';
export { callContextOf, servicesOf, installWasMembers } from './was-members.js';
