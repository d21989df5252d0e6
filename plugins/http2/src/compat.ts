import http2 from 'node:http2';
import { getServerHeader, initRequestFields } from '@skitai/kernel';

/**
 * node:http2's compatibility request with the fields of the kernel's request path, and a Host
 * header taken from :authority when the client sent none (HTTP/2 clients send :authority
 * only): virtual hosts, the request log and frameworks read Host.
 */
export class Http2Request extends http2.Http2ServerRequest {
  constructor(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, options: any, rawHeaders: string[]) {
    super(stream, headers, options, rawHeaders);
    initRequestFields(this);
    if (headers.host === undefined) {
      const authority = headers[':authority'];
      if (authority !== undefined) headers.host = authority;
    }
  }
}

/** node:http2's compatibility response with the kernel's `Server` header. */
export class Http2Response extends http2.Http2ServerResponse {
  override writeHead(statusCode: number, reason?: any, headers?: any): this {
    const obj = typeof reason === 'string' ? headers : reason;
    // HTTP/2 has no reason phrase: dropped here, so node does not warn for every handler that gives one.
    if (obj === undefined || obj === null || Array.isArray(obj)) {
      if (!this.hasHeader('server')) this.setHeader('Server', getServerHeader());
      return Array.isArray(obj) ? (super.writeHead as any)(statusCode, obj) : super.writeHead(statusCode);
    }
    if (obj.Server === undefined && obj.server === undefined && !this.hasHeader('server')) {
      return super.writeHead(statusCode, { Server: getServerHeader(), ...obj });
    }
    return super.writeHead(statusCode, obj);
  }
}
