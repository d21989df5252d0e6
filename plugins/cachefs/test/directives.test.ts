// The header parsing the cache decides by.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  currentAge,
  decode,
  encode,
  freshnessLifetime,
  parseCacheControl,
  varyNames,
  type Entry,
} from '../src/index.js';

test('Cache-Control: names are case-insensitive, values unquoted, the first of a repeated directive wins', () => {
  const d = parseCacheControl(['Public, MAX-AGE=60', 'no-cache="set-cookie, x-a", max-age=10, s-maxage = 5']);
  assert.equal(d.get('public'), true);
  assert.equal(d.get('max-age'), '60');
  assert.equal(d.get('no-cache'), 'set-cookie, x-a');
  assert.equal(d.get('s-maxage'), '5');
  assert.equal(parseCacheControl(undefined).size, 0);
  assert.equal(parseCacheControl(',,;;').size, 1, 'junk is a directive name, never an exception');
});

test('freshness lifetime: s-maxage, then max-age, then Expires less Date; malformed values are stale', () => {
  const date = Date.parse('Mon, 30 Nov 2026 08:00:00 GMT');
  assert.equal(freshnessLifetime(parseCacheControl('max-age=60, s-maxage=300'), undefined, date), 300);
  assert.equal(freshnessLifetime(parseCacheControl('max-age=60'), 'Mon, 30 Nov 2026 09:00:00 GMT', date), 60);
  assert.equal(freshnessLifetime(parseCacheControl(''), 'Mon, 30 Nov 2026 09:00:00 GMT', date), 3600);
  assert.equal(freshnessLifetime(parseCacheControl(''), '0', date), 0);
  assert.equal(freshnessLifetime(parseCacheControl('max-age=abc'), undefined, date), 0);
  assert.equal(freshnessLifetime(parseCacheControl('max-age=99999999999'), undefined, date), 2 ** 31);
  assert.equal(freshnessLifetime(parseCacheControl('public'), undefined, date), undefined);
});

test('Vary names are lower-case, unique and sorted', () => {
  assert.deepEqual(varyNames('Accept-Language, accept-encoding,Accept-Language'), [
    'accept-encoding',
    'accept-language',
  ]);
  assert.deepEqual(varyNames(['*']), ['*']);
  assert.deepEqual(varyNames(undefined), []);
});

test("age: the backend's Age, the response delay and the time kept add up (RFC 9111 4.2.3)", () => {
  const now = 1_000_000_000;
  const e = { requestTime: now - 2000, responseTime: now - 1000, dateValue: now - 1000, ageValue: 30 } as Entry;
  assert.equal(currentAge(e, now), 30 + 1 + 1);
  assert.equal(currentAge({ ...e, ageValue: 0, dateValue: now - 11_000 }, now), 10 + 1);
});

test('disk records: decoded only whole and under their own key', () => {
  const entry: Entry = {
    kind: 'entry',
    key: 'P /x',
    status: 200,
    reason: 'OK',
    headers: { etag: '"1"' },
    body: Buffer.from('hello'),
    requestTime: 1,
    responseTime: 2,
    dateValue: 2,
    ageValue: 0,
    lifetime: 60,
    noCache: false,
    size: 0,
  };
  const record = encode(entry);
  const back = decode(record, 'P /x');
  assert.equal(back?.kind, 'entry');
  assert.equal((back as Entry).body.toString(), 'hello');
  assert.equal(decode(record, 'P /y'), undefined, 'another key');
  for (let cut = 0; cut < record.length; cut += 7)
    assert.equal(decode(record.subarray(0, cut), 'P /x'), undefined, `cut at ${cut}`);
  const flipped = Buffer.from(record);
  flipped[20] ^= 1;
  assert.equal(decode(flipped, 'P /x'), undefined);
  assert.equal(decode(Buffer.concat([record, Buffer.from('x')]), 'P /x'), undefined, 'trailing bytes');
});
