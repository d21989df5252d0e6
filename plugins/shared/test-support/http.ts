// A JSON GET (or another method) to an instance, asserting a 200.
import assert from 'node:assert/strict';

export async function json(url: string, method = 'GET'): Promise<any> {
  const res = await fetch(url, { method });
  assert.equal(res.status, 200, `${method} ${url}: ${res.status}`);
  return res.json();
}
