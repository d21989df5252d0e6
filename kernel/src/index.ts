// @skitai/kernel: the public surface. Everything a startup script or a plugin needs.
export {
  Kernel,
  type Phase,
  type KernelOptions,
  type StartOptions,
  type RunOptions,
  type Listening,
  type KernelSettings,
} from './kernel.js';
export { checkOptionKeys, editDistance, nearestName } from './options.js';
export { definePlugin, type Plugin } from './plugin/contract.js';
export type { KernelHooks, ListeningInfo } from './hooks.js';
export { Was, WAS_RESERVED, type WasFactory, type WasMemberOptions } from './was.js';
export {
  AliasRegistry,
  checkAliasName,
  type AliasDeclaration,
  type AliasOptions,
  type AliasType,
} from './alias/registry.js';
export { codes, defineError, SkitaiError, type ErrorCode, type ErrorFactory } from './errors.js';
export type { MountEntry, MountInfo, MountOptions, MountTarget, Mountable, RequestHandler } from './mount/table.js';
export { SkitaiRequest } from './http/request.js';
export { SkitaiResponse, getServerHeader } from './http/response.js';
export { writeReadyHead, type ReadyHead } from './http/ready-head.js';
export {
  initRequestFields,
  type Transport,
  type TransportContext,
  type TransportFactory,
  type TransportSettings,
} from './http/transport.js';
export { sendError, prefersJson, escapeHtml } from './http/error-page.js';
export { sendBody, sendTyped, acceptsGzip, isCompressible, COMPRESS_THRESHOLD } from './http/compress.js';
export { createStaticHandler, type StaticOptions } from './static/handler.js';
export { mimeType } from './static/mime.js';
export { ensureTxn, nextGlobalId, traceHeaders, traceIdOf } from './log/txn.js';
export { RequestMetrics, LATENCY_BUCKETS, type RequestMetricsSnapshot } from './http/metrics.js';
export type { ProcessReport, StatusSection, StatusMetric, StatusSample } from './process/status.js';
export type { ServerStatus } from './kernel.js';
export { REQUEST_LOG_FIELDS, parseRequestLine, type LogRecord } from './log/request-log.js';
export { Logs, type LogLevel } from './log/logger.js';
export { parseCommandLine, type CommandLine } from './run/argv.js';
export * from './process/index.js';
