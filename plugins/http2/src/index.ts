// @skitai/http2: TLS and HTTP/2 for the kernel's port, h2c, server push and early hints,
// the HTTPS redirect.
export { http2, type Http2Plugin } from './plugin.js';
export type { Http2Options } from './options.js';
export { hintPromise, preloadLink, type Hint, type HintResult } from './hints.js';
export { codes } from './errors.js';
export { Http2Request, Http2Response } from './compat.js';
