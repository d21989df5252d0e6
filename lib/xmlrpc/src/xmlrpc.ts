// XML-RPC codec (http://xmlrpc.com/spec.md), interoperable with Python's xmlrpc.client/server:
// int/i4 (and i8, i1, i2 when reading), boolean, string, double, dateTime.iso8601, base64,
// struct, array and the <nil/> extension (Python's allow_none). No dependency: a small
// non-validating XML reader that refuses DOCTYPE (no entity expansion, no external entities).
import { SkitaiError } from '@skitai/kernel';
import { codes } from './errors.js';
import { Buffer } from 'node:buffer';

/** A fault answered by an XML-RPC (or JSON-RPC) peer: `err.code` is 'SKT_RPC_FAULT'. */
export class RpcFault extends SkitaiError {
  readonly faultCode: number | string;
  readonly faultString: string;
  /** JSON-RPC error `data`, when the peer sent one. */
  readonly data: unknown;
  constructor(faultCode: number | string, faultString: string, data?: unknown) {
    super(codes.SKT_RPC_FAULT.code, codes.SKT_RPC_FAULT(faultCode, faultString).message, 502);
    this.name = 'RpcFault';
    this.faultCode = faultCode;
    this.faultString = faultString;
    this.data = data;
  }
}

export interface MethodCall {
  method: string;
  params: unknown[];
}

// ---------------------------------------------------------------- writing

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

export function escapeXml(text: string): string {
  // Characters XML 1.0 cannot carry at all are refused, as Python does not send them either.
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text)) {
    throw codes.SKT_XMLRPC_VALUE('a string holds a control character XML cannot carry (send it as a Buffer: base64)');
  }
  return text.replace(/[&<>"]/g, (c) => escapes[c]!);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** ISO 8601 basic form as Python writes it: 20260127T10:30:00 (UTC, no zone). */
function formatDate(d: Date): string {
  if (Number.isNaN(d.getTime())) throw codes.SKT_XMLRPC_VALUE('an invalid Date');
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
  );
}

function writeValue(value: unknown, out: string[], seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push('<value><string>', escapeXml(value), '</string></value>');
      return;
    case 'number':
      if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
        out.push('<value><int>', String(value), '</int></value>');
      } else if (Number.isFinite(value)) {
        out.push('<value><double>', String(value), '</double></value>');
      } else {
        throw codes.SKT_XMLRPC_VALUE(`${value} has no XML-RPC form`);
      }
      return;
    case 'boolean':
      out.push('<value><boolean>', value ? '1' : '0', '</boolean></value>');
      return;
    case 'bigint':
      out.push('<value><i8>', value.toString(), '</i8></value>');
      return;
    case 'undefined':
      out.push('<value><nil/></value>');
      return;
    case 'object': {
      if (value === null) {
        out.push('<value><nil/></value>');
        return;
      }
      if (value instanceof Date) {
        out.push('<value><dateTime.iso8601>', formatDate(value), '</dateTime.iso8601></value>');
        return;
      }
      if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
        const buf =
          value instanceof ArrayBuffer
            ? Buffer.from(value)
            : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        out.push('<value><base64>', buf.toString('base64'), '</base64></value>');
        return;
      }
      if (seen.has(value)) throw codes.SKT_XMLRPC_VALUE('a circular structure');
      seen.add(value);
      if (Array.isArray(value) || value instanceof Set) {
        out.push('<value><array><data>');
        for (const item of value) writeValue(item, out, seen);
        out.push('</data></array></value>');
      } else {
        const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
        out.push('<value><struct>');
        for (const [k, v] of entries) {
          if (v === undefined) continue; // as JSON.stringify does
          out.push('<member><name>', escapeXml(String(k)), '</name>');
          writeValue(v, out, seen);
          out.push('</member>');
        }
        out.push('</struct></value>');
      }
      seen.delete(value);
      return;
    }
    default:
      throw codes.SKT_XMLRPC_VALUE(`a ${typeof value} has no XML-RPC form`);
  }
}

/** One <value> element. */
export function serializeValue(value: unknown): string {
  const out: string[] = [];
  writeValue(value, out, new Set());
  return out.join('');
}

/** `<params>...</params>` (what Python's xmlrpc.client.dumps(params) writes, less whitespace). */
export function serializeParams(params: readonly unknown[]): string {
  const out: string[] = ['<params>'];
  const seen = new Set<object>();
  for (const p of params) {
    out.push('<param>');
    writeValue(p, out, seen);
    out.push('</param>');
  }
  out.push('</params>');
  return out.join('');
}

const methodName = /^[A-Za-z0-9_.:/]+$/;

export function serializeMethodCall(method: string, params: readonly unknown[] = []): string {
  if (typeof method !== 'string' || !methodName.test(method)) {
    throw codes.SKT_XMLRPC_VALUE(`method name ${JSON.stringify(method)} (letters, digits, "_", ".", ":", "/")`);
  }
  return `<?xml version="1.0"?>\n<methodCall><methodName>${method}</methodName>${serializeParams(params)}</methodCall>\n`;
}

export function serializeMethodResponse(value: unknown): string {
  return `<?xml version="1.0"?>\n<methodResponse>${serializeParams([value])}</methodResponse>\n`;
}

export function serializeFault(faultCode: number, faultString: string): string {
  const code = Number.isInteger(faultCode) ? faultCode : 1;
  return `<?xml version="1.0"?>\n<methodResponse><fault>${serializeValue({ faultCode: code, faultString: String(faultString) })}</fault></methodResponse>\n`;
}

// ---------------------------------------------------------------- reading

interface XmlElement {
  name: string;
  children: XmlElement[];
  /** Text directly inside the element (concatenated). */
  text: string;
}

const entityMap: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  if (/&(?!(?:#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);)/.test(text)) throw codes.SKT_XMLRPC_PARSE('a bare "&"');
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (all, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp > 0x10ffff) throw codes.SKT_XMLRPC_PARSE(`character reference ${all}`);
      return String.fromCodePoint(cp);
    }
    const ch = entityMap[ref];
    if (ch === undefined) throw codes.SKT_XMLRPC_PARSE(`unknown entity ${all}`);
    return ch;
  });
}

const nameChars = /[A-Za-z0-9_.:-]/;

/** Parses an XML document into elements; refuses DOCTYPE and anything not well-formed. */
function parseXml(input: string | Buffer): XmlElement {
  const xml = typeof input === 'string' ? input : input.toString('utf8');
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  const n = xml.length;
  const fail = (why: string): never => {
    throw codes.SKT_XMLRPC_PARSE(`${why} at offset ${i}`);
  };
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      const raw = xml.slice(i, textEnd);
      if (stack.length > 0) stack[stack.length - 1]!.text += decodeEntities(raw);
      else if (raw.trim() !== '') fail('text outside the root element');
      i = textEnd;
      if (lt === -1) break;
    }
    // at '<'
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i + 2);
      if (end === -1) fail('unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end === -1) fail('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9);
      if (end === -1) fail('unterminated CDATA');
      if (stack.length === 0) fail('CDATA outside the root element');
      stack[stack.length - 1]!.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('<!', i)) {
      fail('DOCTYPE and declarations are not accepted');
    } else if (xml[i + 1] === '/') {
      let j = i + 2;
      while (j < n && nameChars.test(xml[j]!)) j++;
      const name = xml.slice(i + 2, j);
      while (j < n && /\s/.test(xml[j]!)) j++;
      if (xml[j] !== '>') fail('malformed end tag');
      const open = stack.pop();
      if (!open || open.name !== name) fail(`</${name}> does not close <${open?.name ?? ''}>`);
      i = j + 1;
    } else {
      let j = i + 1;
      while (j < n && nameChars.test(xml[j]!)) j++;
      const name = xml.slice(i + 1, j);
      if (name === '') fail('malformed start tag');
      // attributes: skipped, but quotes are honoured so a '>' inside one does not end the tag
      let selfClosing = false;
      for (;;) {
        if (j >= n) fail('unterminated start tag');
        const c = xml[j]!;
        if (c === '"' || c === "'") {
          const close = xml.indexOf(c, j + 1);
          if (close === -1) fail('unterminated attribute');
          j = close + 1;
        } else if (c === '>') {
          j++;
          break;
        } else if (c === '/' && xml[j + 1] === '>') {
          selfClosing = true;
          j += 2;
          break;
        } else {
          j++;
        }
      }
      const element: XmlElement = { name, children: [], text: '' };
      if (stack.length > 0) stack[stack.length - 1]!.children.push(element);
      else if (root) fail('a second root element');
      else root = element;
      if (!selfClosing) stack.push(element);
      i = j;
    }
  }
  if (stack.length > 0) throw codes.SKT_XMLRPC_PARSE(`<${stack[stack.length - 1]!.name}> is not closed`);
  if (!root) throw codes.SKT_XMLRPC_PARSE('no root element');
  return root;
}

function only(el: XmlElement, name: string): XmlElement {
  const found = el.children.find((c) => c.name === name);
  if (!found) throw codes.SKT_XMLRPC_PARSE(`<${el.name}> has no <${name}>`);
  return found;
}

function parseDate(text: string): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) throw codes.SKT_XMLRPC_PARSE(`dateTime.iso8601 ${JSON.stringify(text)}`);
  const [, y, mo, d, h, mi, s, zone] = m;
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${zone ? (zone === 'Z' ? 'Z' : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone) : 'Z'}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw codes.SKT_XMLRPC_PARSE(`dateTime.iso8601 ${JSON.stringify(text)}`);
  return date;
}

function parseInteger(text: string, type: string): number | bigint {
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) throw codes.SKT_XMLRPC_PARSE(`<${type}> ${JSON.stringify(text)}`);
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : BigInt(t);
}

/** Decodes one <value> element. */
function readValue(el: XmlElement, depth = 0): unknown {
  if (depth > 256) throw codes.SKT_XMLRPC_PARSE('values nested too deeply');
  if (el.name !== 'value') throw codes.SKT_XMLRPC_PARSE(`<${el.name}> where a <value> was expected`);
  const typed = el.children[0];
  if (!typed) return el.text; // <value>text</value> is a string
  if (el.children.length > 1) throw codes.SKT_XMLRPC_PARSE('a <value> with more than one type');
  const text = typed.text;
  switch (typed.name) {
    case 'string':
      return text;
    case 'int':
    case 'i4':
    case 'i8':
    case 'i1':
    case 'i2':
    case 'biginteger':
      return parseInteger(text, typed.name);
    case 'boolean': {
      const t = text.trim();
      if (t !== '0' && t !== '1') throw codes.SKT_XMLRPC_PARSE(`<boolean> ${JSON.stringify(text)}`);
      return t === '1';
    }
    case 'double':
    case 'float':
    case 'bigdecimal': {
      const t = text.trim();
      const n = Number(t);
      if (t === '' || Number.isNaN(n)) throw codes.SKT_XMLRPC_PARSE(`<double> ${JSON.stringify(text)}`);
      return n;
    }
    case 'dateTime.iso8601':
      return parseDate(text);
    case 'base64':
      return Buffer.from(text.replace(/\s+/g, ''), 'base64');
    case 'nil':
      return null;
    case 'array': {
      const data = only(typed, 'data');
      return data.children.map((v) => readValue(v, depth + 1));
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      for (const member of typed.children) {
        if (member.name !== 'member') throw codes.SKT_XMLRPC_PARSE(`<${member.name}> inside <struct>`);
        const name = only(member, 'name').text;
        // Own data properties only: a "__proto__" member must not change the prototype.
        Object.defineProperty(out, name, {
          value: readValue(only(member, 'value'), depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    default:
      throw codes.SKT_XMLRPC_PARSE(`unknown type <${typed.name}>`);
  }
}

function readParams(el: XmlElement | undefined): unknown[] {
  if (!el) return [];
  return el.children.map((param) => {
    if (param.name !== 'param') throw codes.SKT_XMLRPC_PARSE(`<${param.name}> inside <params>`);
    return readValue(only(param, 'value'));
  });
}

export function parseMethodCall(xml: string | Buffer): MethodCall {
  const root = parseXml(xml);
  if (root.name !== 'methodCall') throw codes.SKT_XMLRPC_PARSE(`<${root.name}> where <methodCall> was expected`);
  const method = only(root, 'methodName').text.trim();
  if (!methodName.test(method)) throw codes.SKT_XMLRPC_PARSE(`method name ${JSON.stringify(method)}`);
  return { method, params: readParams(root.children.find((c) => c.name === 'params')) };
}

/** The returned value; a <fault> is thrown as an RpcFault. */
export function parseMethodResponse(xml: string | Buffer): unknown {
  const root = parseXml(xml);
  if (root.name !== 'methodResponse')
    throw codes.SKT_XMLRPC_PARSE(`<${root.name}> where <methodResponse> was expected`);
  return readResponse(root);
}

/**
 * `was.fromxml`: the values of a <params> list, a <methodCall> (its params) or a
 * <methodResponse> (its one value, in an array; a fault is thrown).
 */
export function parseParams(xml: string | Buffer): unknown[] {
  const root = parseXml(xml);
  switch (root.name) {
    case 'params':
      return readParams(root);
    case 'methodCall':
      return readParams(root.children.find((c) => c.name === 'params'));
    case 'methodResponse':
      return [readResponse(root)];
    default:
      throw codes.SKT_XMLRPC_PARSE(`<${root.name}> holds no XML-RPC params`);
  }
}

function readResponse(root: XmlElement): unknown {
  const fault = root.children.find((c) => c.name === 'fault');
  if (fault) {
    const value = readValue(only(fault, 'value')) as { faultCode?: unknown; faultString?: unknown } | null;
    if (!value || typeof value !== 'object') throw codes.SKT_XMLRPC_PARSE('a <fault> without a struct');
    const faultCode = typeof value.faultCode === 'number' || typeof value.faultCode === 'string' ? value.faultCode : 0;
    throw new RpcFault(faultCode, String(value.faultString ?? ''));
  }
  const params = readParams(only(root, 'params'));
  if (params.length !== 1) throw codes.SKT_XMLRPC_PARSE(`a response must hold one param, not ${params.length}`);
  return params[0];
}
