import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { MAX_FIELDS, MAX_FIELD_BYTES, MAX_URI_BYTES, checkParamSizes, paramRequest } from '../../src/clickhouse/param-layout.js';

const test = suite('param-layout');
const PATH = '/?database=default&query_id=q1';

/** The fields of a multipart body, by name. */
function fields(body: string, contentType: string | undefined): Record<string, string> {
  const boundary = /boundary=(.+)$/.exec(contentType ?? '')?.[1];
  assert.ok(boundary, 'a multipart content type with a boundary');
  const out: Record<string, string> = {};
  const parts = body.split(`--${boundary}`);
  assert.is(parts.at(-1), '--\r\n', 'the closing delimiter ends the body');
  for (const part of parts.slice(1, -1)) {
    const m = /^\r\nContent-Disposition: form-data; name="([^"]+)"\r\n\r\n([\s\S]*)\r\n$/.exec(part);
    assert.ok(m, `a well-formed part: ${JSON.stringify(part.slice(0, 80))}`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

test('url :: values that fit go percent-encoded in the URL; the query stays the body', () => {
  const r = paramRequest(PATH, 'SELECT {s:String}, {n:UInt8}', { s: "a b&c=d+é\\t", n: '1' });
  assert.is(r.path, `${PATH}&param_s=a%20b%26c%3Dd%2B%C3%A9%5Ct&param_n=1`);
  assert.is(r.body, 'SELECT {s:String}, {n:UInt8}');
  assert.is(r.contentType, undefined);
});

test('multipart :: a value too long for the URL once encoded goes in a form, with the query', () => {
  const big = 'é'.repeat(50_000); // 100,000 bytes, 300,000 percent-encoded
  const r = paramRequest(PATH, 'SELECT {s:String}, {n:UInt8}', { s: big, n: '7' });
  assert.is(r.path, PATH, 'settings and query id stay in the URL');
  assert.equal(fields(r.body, r.contentType), { query: 'SELECT {s:String}, {n:UInt8}', param_s: big, param_n: '7' });
});

test('multipart :: values that together pass the URL limit go in a form', () => {
  const values = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`v${i}`, 'x'.repeat(MAX_FIELD_BYTES)]));
  const r = paramRequest(PATH, 'SELECT 1', values);
  assert.ok(r.contentType?.startsWith('multipart/form-data; boundary='));
  assert.is(Object.keys(fields(r.body, r.contentType)).length, 10);
  const eight = paramRequest(PATH, 'SELECT 1', Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`v${i}`, 'x'.repeat(MAX_FIELD_BYTES)])));
  assert.is(eight.contentType, undefined, '7 × 128 KiB still fit the 1 MiB URL');
  assert.ok(eight.path.length <= MAX_URI_BYTES);
});

// 26.7 takes a URL value of exactly http_max_field_value_size bytes, a path of exactly http_max_uri_size and exactly
// http_max_fields keys, and refuses one more of each ("Field value too long", "URI invalid or too long", "Too many form fields").
test('limits :: the URL is used up to each of the server\'s limits inclusive, and a form past them', () => {
  const inUrl = (r: { contentType?: string }): boolean => r.contentType === undefined;
  // One value: its percent-encoded length ('é' is 6 characters encoded) against the field limit.
  const exact = 'é'.repeat(MAX_FIELD_BYTES / 8) + 'x'.repeat(MAX_FIELD_BYTES / 4);
  assert.is(encodeURIComponent(exact).length, MAX_FIELD_BYTES);
  const fits = paramRequest(PATH, 'SELECT {s:String}', { s: exact });
  assert.ok(inUrl(fits), 'a value of exactly the field limit');
  assert.is(fits.path, `${PATH}&param_s=${encodeURIComponent(exact)}`);
  const over = paramRequest(PATH, 'SELECT {s:String}', { s: `${exact}x` });
  assert.not.ok(inUrl(over), 'a value one byte over the field limit');
  assert.is(fields(over.body, over.contentType).param_s, `${exact}x`);
  // The whole path against the URI limit: full values, then one that brings it to exactly the limit.
  const values: Record<string, string> = {};
  let length = PATH.length;
  for (let i = 0; length < MAX_URI_BYTES; i++) {
    const key = `&param_v${i}=`.length;
    const n = Math.min(MAX_FIELD_BYTES, MAX_URI_BYTES - length - key);
    values[`v${i}`] = 'x'.repeat(n);
    length += key + n;
  }
  const whole = paramRequest(PATH, 'SELECT 1', values);
  assert.ok(inUrl(whole), 'a path of exactly the URI limit');
  assert.is(whole.path.length, MAX_URI_BYTES);
  const last = Object.keys(values).at(-1) as string;
  assert.not.ok(inUrl(paramRequest(PATH, 'SELECT 1', { ...values, [last]: `${values[last]}x` })), 'a path one byte over the URI limit');
  // The keys the path has already (database, query_id, settings) count toward the field limit.
  const path = '/?database=default&query_id=q&max_threads=1';
  const ones = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, '1']));
  const most = paramRequest(path, 'SELECT 1', ones(MAX_FIELDS - 3));
  assert.ok(inUrl(most), `${MAX_FIELDS - 3} values and 3 keys of the path`);
  assert.is(most.path.split('&').length, MAX_FIELDS);
  const more = paramRequest(path, 'SELECT 1', ones(MAX_FIELDS - 2));
  assert.not.ok(inUrl(more), 'one key more');
  assert.is(more.path, path);
  assert.is(Object.keys(fields(more.body, more.contentType)).length, MAX_FIELDS - 1);
});

test('multipart :: the boundary never occurs in a value, and the same values give the same bytes', () => {
  const sneaky = 'x\r\n--colonnade-param-boundary-7f3a\r\nContent-Disposition: form-data; name="param_n"\r\n\r\n666\r\n' + 'é'.repeat(50_000);
  const a = paramRequest(PATH, 'SELECT {s:String}, {n:UInt8}', { s: sneaky, n: '1' });
  const b = paramRequest(PATH, 'SELECT {s:String}, {n:UInt8}', { s: sneaky, n: '1' });
  assert.equal(fields(a.body, a.contentType), { query: 'SELECT {s:String}, {n:UInt8}', param_s: sneaky, param_n: '1' });
  assert.is(a.body, b.body);
  assert.is(a.contentType, b.contentType);
});

test('limits :: a query too long to be a form field with values that need a form is refused, naming both', () => {
  const query = `SELECT {s:String} /* ${'q'.repeat(MAX_FIELD_BYTES)} */`;
  const err = (() => { try { paramRequest(PATH, query, { s: 'é'.repeat(50_000) }); } catch (e) { return e; } return undefined; })();
  assert.instance(err, QueryParamError);
  assert.is((err as QueryParamError).param, 's');
  assert.match((err as Error).message, /http_max_field_value_size \(131072\)/);
  assert.match((err as Error).message, /this query is \d+ bytes/);
  assert.is(paramRequest(PATH, query, { s: 'short' }).contentType, undefined, 'a long query with small values is fine: it is the body');
});

test('limits :: a value longer than a field even as raw UTF-8 is refused before any layout', () => {
  checkParamSizes({ s: 'x'.repeat(MAX_FIELD_BYTES) });
  checkParamSizes({ s: 'é'.repeat(MAX_FIELD_BYTES / 2) });
  assert.throws(() => checkParamSizes({ ok: '1', s: 'x'.repeat(MAX_FIELD_BYTES + 1) }),
    (e: unknown) => e instanceof QueryParamError && e.param === 's' && /131073 bytes.*at most 131072 bytes per parameter \(http_max_field_value_size\)/.test(e.message));
  assert.throws(() => checkParamSizes({ s: 'é'.repeat(MAX_FIELD_BYTES / 2 + 1) }), /131074 bytes/);
  assert.throws(() => checkParamSizes(Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`p${i}`, '1']))), /http_max_fields/);
});

test.run();
