// @skitai/status: a status page (HTML, JSON, Prometheus text) for a Skitai server.
export { statusPage, NAME, type StatusPageOptions, type StatusFunction } from './page.js';
export { toPrometheus, PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
export { toHtml, dataHtml } from './html.js';
export { parseAllow, allowedSource, DEFAULT_ALLOW } from './access.js';
export { codes } from './errors.js';
