import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseMethodCall,
  parseMethodResponse,
  parseParams,
  RpcFault,
  serializeFault,
  serializeMethodCall,
  serializeMethodResponse,
  serializeParams,
} from '../src/index.js';
import { SkitaiError } from '@skitai/kernel';

test('XML-RPC values round-trip: scalars, structs, arrays, dates, bytes, nil, big integers', () => {
  const params = [
    0,
    -2147483648,
    2147483647,
    2147483648,
    1.5,
    -0.25,
    true,
    false,
    '',
    'a & b <c> "d"',
    'naïve ünïcødé ✓',
    { a: 1, nested: { list: [1, 'two', [3]] }, 'with space': null },
    [],
    {},
    new Date(Date.UTC(2026, 0, 27, 10, 30, 0)),
    Buffer.from([0, 1, 2, 255]),
    null,
    12345678901234567890n,
  ];
  const call = parseMethodCall(serializeMethodCall('math.add_all', params));
  assert.equal(call.method, 'math.add_all');
  assert.deepEqual(call.params.slice(0, 11), params.slice(0, 11));
  assert.deepEqual(call.params[11], params[11]);
  assert.deepEqual(call.params[14], params[14]);
  assert.deepEqual(call.params[15], Buffer.from([0, 1, 2, 255]));
  assert.equal(call.params[16], null);
  assert.equal(call.params[17], 12345678901234567890n);
  assert.deepEqual(parseMethodResponse(serializeMethodResponse({ ok: [1, 2] })), { ok: [1, 2] });
  assert.deepEqual(parseParams(serializeParams([1, 'x'])), [1, 'x']);
});

test('faults parse as RpcFault with code and string', () => {
  const err = assert.throws(
    () => parseMethodResponse(serializeFault(42, 'no <such> method')),
    (e: unknown) => {
      assert.ok(e instanceof RpcFault);
      assert.equal(e.code, 'SKT_RPC_FAULT');
      assert.equal(e.faultCode, 42);
      assert.equal(e.faultString, 'no <such> method');
      return true;
    },
  );
  void err;
});

test('reads what other peers write: untyped strings, i4/i8, whitespace, comments, CDATA, entities', () => {
  const xml = `<?xml version="1.0" encoding="utf-8"?>
<!-- a comment -->
<methodCall>
  <methodName>x.y</methodName>
  <params>
    <param><value>bare &amp; plain</value></param>
    <param><value><i4> 7 </i4></value></param>
    <param><value><i8>9007199254740993</i8></value></param>
    <param><value><string><![CDATA[<raw>]]></string></value></param>
    <param><value><string>&#65;&#x42;&lt;</string></value></param>
    <param><value><dateTime.iso8601>2026-01-27T10:30:00Z</dateTime.iso8601></value></param>
    <param><value><base64>
      aGVs
      bG8=
    </base64></value></param>
    <param><value><struct><member><name>__proto__</name><value><int>1</int></value></member></struct></value></param>
  </params>
</methodCall>`;
  const { method, params } = parseMethodCall(xml);
  assert.equal(method, 'x.y');
  assert.equal(params[0], 'bare & plain');
  assert.equal(params[1], 7);
  assert.equal(params[2], 9007199254740993n);
  assert.equal(params[3], '<raw>');
  assert.equal(params[4], 'AB<');
  assert.equal((params[5] as Date).toISOString(), '2026-01-27T10:30:00.000Z');
  assert.equal((params[6] as Buffer).toString(), 'hello');
  const struct = params[7] as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(struct), Object.prototype, 'a __proto__ member does not change the prototype');
  assert.equal(Object.getOwnPropertyDescriptor(struct, '__proto__')?.value, 1);
});

test('malformed and hostile documents are refused with SKT_XMLRPC_PARSE', () => {
  const bad = [
    '',
    'not xml',
    '<methodCall>',
    '<methodCall><methodName>a</methodName></methodCall><extra/>',
    '<methodCall><methodName>a</methodName><params><param><value><int>x</int></value></param></params></methodCall>',
    '<methodCall><methodName>a</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>',
    '<methodCall><methodName>a</methodName><params><param><value><blob/></value></param></params></methodCall>',
    '<!DOCTYPE lolz [<!ENTITY lol "lol">]><methodCall><methodName>&lol;</methodName></methodCall>',
    '<methodCall><methodName>a b</methodName></methodCall>',
    '<methodCall><methodName>a</methodName><params><param><value>&bogus;</value></param></params></methodCall>',
    '<methodCall><methodName>a</methodName><params><param><value>a & b</value></param></params></methodCall>',
    '<methodCall><methodName>a</methodName></methodResponse>',
    '<methodResponse><params></params></methodResponse>',
  ];
  for (const xml of bad) {
    assert.throws(
      () =>
        xml.includes('methodResponse>') && xml.startsWith('<methodResponse')
          ? parseMethodResponse(xml)
          : parseMethodCall(xml),
      (e: unknown) => e instanceof SkitaiError && e.code === 'SKT_XMLRPC_PARSE',
      xml,
    );
  }
  let deep = '';
  for (let i = 0; i < 300; i++) deep += '<value><array><data>';
  deep += '<value>x</value>';
  for (let i = 0; i < 300; i++) deep += '</data></array></value>';
  assert.throws(() => parseParams(`<params><param>${deep}</param></params>`), { code: 'SKT_XMLRPC_PARSE' });
});

test('values XML-RPC cannot carry are refused with SKT_XMLRPC_VALUE', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  for (const v of [NaN, Infinity, () => 1, Symbol('s'), circular, 'bell\u0007', new Date(NaN)]) {
    assert.throws(() => serializeMethodCall('m', [v]), { code: 'SKT_XMLRPC_VALUE' });
  }
  assert.throws(() => serializeMethodCall('bad name', []), { code: 'SKT_XMLRPC_VALUE' });
});
