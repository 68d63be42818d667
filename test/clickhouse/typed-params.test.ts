import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { escapeText, formatTypedParam, typedParamValues } from '../../src/clickhouse/typed-params.js';

const test = suite('typed-params');
const f = formatTypedParam;

test('strings :: escaped as TabSeparated at the top, quoted inside composites', () => {
  assert.is(f("it's", 'String', 's'), "it's");
  assert.is(f('a\tb\nc\rd\0e\\f', 'String', 's'), 'a\\tb\\nc\\rd\\0e\\\\f');
  assert.is(f('\\N', 'String', 's'), '\\\\N', 'the text \\N stays text, never NULL');
  assert.is(f('héllo 😀 {x:String}', 'String', 's'), 'héllo 😀 {x:String}');
  assert.is(f(['a\tb', "it's", '\\'], 'Array(String)', 'xs'), "['a\\tb','it\\'s','\\\\']");
  assert.is(escapeText('\x01\x7f\b'), '\x01\x7f\b', 'other control characters travel as they are');
  assert.is(f({ k: "it's" }, 'String', 's'), '{"k":"it\'s"}', 'a plain object is its JSON text, as for {name}');
  assert.is(f('ab', 'FixedString(4)', 's'), 'ab');
  assert.is(f('db.t', 'Identifier', 'id'), 'db.t');
});

test('null :: \\N at the top, NULL inside; refused for a type that is not Nullable', () => {
  assert.is(f(null, 'Nullable(String)', 's'), '\\N');
  assert.is(f(null, 'LowCardinality(Nullable(String))', 's'), '\\N');
  assert.is(f(['x', null], 'Array(Nullable(String))', 'xs'), "['x',NULL]");
  assert.is(f({ a: null }, 'Map(String, Nullable(UInt8))', 'm'), "{'a':NULL}");
  assert.throws(() => f(null, 'String', 's'), (e: unknown) => e instanceof QueryParamError && e.param === 's' && /not Nullable/.test(e.message));
  assert.throws(() => f([1, null], 'Array(UInt8)', 'xs'), (e: unknown) => e instanceof QueryParamError && e.param === 'xs[1]');
});

test('integers :: exact digits from number, bigint or text; range checked per width', () => {
  assert.is(f(41, 'UInt32', 'n'), '41');
  assert.is(f(2 ** 60, 'UInt64', 'n'), '1152921504606846976');
  assert.is(f(-(2n ** 127n), 'Int128', 'n'), '-170141183460469231731687303715884105728');
  assert.is(f(2n ** 256n - 1n, 'UInt256', 'n'), (2n ** 256n - 1n).toString());
  assert.is(f('18446744073709551615', 'UInt64', 'n'), '18446744073709551615');
  assert.is(f([1, 2n, '3'], 'Array(Int8)', 'xs'), '[1,2,3]');
  for (const [value, type, why] of [[256, 'UInt8', /outside UInt8 \(0 to 255\)/], [-1, 'UInt64', /outside/], [128, 'Int8', /-128 to 127/],
    [1.5, 'Int32', /expected an integer/], ['12a', 'Int32', /expected an integer/], [true, 'UInt8', /expected an integer/]] as const) {
    assert.throws(() => f(value, type, 'n'), (e: unknown) => e instanceof QueryParamError && e.param === 'n' && why.test(e.message), `${String(value)} as ${type}`);
  }
});

test('floats and decimals :: shortest text, nan and ±inf; decimals from text keep every digit', () => {
  assert.is(f(-1.5, 'Float64', 'x'), '-1.5');
  assert.is(f([NaN, Infinity, -Infinity], 'Array(Float32)', 'x'), '[nan,inf,-inf]');
  assert.is(f(1.5, 'BFloat16', 'x'), '1.5');
  assert.is(f('123456789012345678901234567890.123456789', 'Decimal(38, 9)', 'd'), '123456789012345678901234567890.123456789');
  assert.is(f(1e-7, 'Decimal64(10)', 'd'), '1e-7');
  assert.is(f(['1.5', 2], 'Array(Decimal(9, 2))', 'd'), '[1.5,2]', 'bare inside an array: the server refuses a quoted Decimal there');
  assert.throws(() => f(NaN, 'Decimal(9, 2)', 'd'), /NaN is not a Decimal/);
  assert.throws(() => f('1,5', 'Decimal(9, 2)', 'd'), /decimal text/);
  assert.throws(() => f('x', 'Float64', 'x'), /expected a number/);
});

test('bool :: true/false', () => {
  assert.is(f(true, 'Bool', 'b'), 'true');
  assert.is(f([false, true], 'Array(Bool)', 'b'), '[false,true]');
  assert.is(f(1, 'Nullable(Bool)', 'b'), 'true');
  assert.throws(() => f('yes', 'Bool', 'b'), /expected a boolean/);
});

test('dates :: Date as its UTC day, DateTime as 10-digit epoch seconds, DateTime64 as epoch seconds with milliseconds', () => {
  const at = new Date('2020-02-29T23:30:00.045Z');
  assert.is(f(at, 'Date', 'd'), '2020-02-29');
  assert.is(f(new Date('1900-01-01T00:00:00Z'), 'Date32', 'd'), '1900-01-01');
  assert.is(f(at, 'DateTime', 'd'), '1583019000');
  assert.is(f(new Date(0), "DateTime('Asia/Tokyo')", 'd'), '0000000000', 'zero-padded: the server reads a short number as a broken-down date');
  assert.is(f(at, "DateTime64(3, 'Asia/Tokyo')", 'd'), '1583019000.045');
  assert.is(f(new Date(-1500), 'DateTime64(3)', 'd'), '-0000000001.500');
  assert.is(f([new Date(0), null], 'Array(Nullable(DateTime64(3)))', 'd'), "['0000000000.000',NULL]");
  assert.is(f([new Date(0)], 'Array(DateTime)', 'd'), "['0000000000']");
  assert.is(f('2020-01-01 10:00:00', 'DateTime', 'd'), '2020-01-01 10:00:00', 'text goes as given');
  assert.throws(() => f(new Date('1960-01-01'), 'DateTime', 'd'), /outside DateTime/);
  assert.throws(() => f(new Date('1960-01-01'), 'Date', 'd'), /outside Date's range/);
  assert.throws(() => f(new Date('2300-01-01'), 'DateTime64(3)', 'd'), /outside DateTime64/);
  // 1899 is no DateTime64's (26.7 read -2240611200.000 as 1898-12-31): refused, 1900 itself is written.
  for (const early of [new Date('1899-12-31T23:59:59.999Z'), new Date('1899-01-01T00:00:00Z')]) {
    assert.throws(() => f(early, 'DateTime64(3)', 'at'), (e: unknown) => e instanceof QueryParamError && e.param === 'at' && /outside DateTime64's range \(1900 to 2299\)/.test(e.message), early.toISOString());
    assert.throws(() => f([early], 'Array(DateTime64(3))', 'at'), (e: unknown) => e instanceof QueryParamError && e.param === 'at[0]', `${early.toISOString()} in an array`);
  }
  assert.is(f(new Date('1900-01-01T00:00:00Z'), 'DateTime64(3)', 'at'), '-2208988800.000');
  assert.is(f(new Date('2299-12-31T23:59:59.999Z'), 'DateTime64(3)', 'at'), '10413791999.999');
  assert.throws(() => f(new Date('nope'), 'DateTime64(3)', 'd'), /invalid/);
  assert.throws(() => f(1577836800, 'DateTime', 'd'), /expected a Date or date-time text/);
});

test('dates :: text that reads as a date no calendar has is refused (26.7 read 2020-13-45 as 1970-01-01, 2020-02-30 as 2020-03-01); other forms are the server\'s', () => {
  // 26.7 read {t:DateTime} = 2020-01-01 24:00:00 as 2020-01-02 00:00:00: each time field is bounded on its own too.
  const refused = [['2020-13-45', 'Date'], ['2021-02-29', 'Date32'], ['2020-02-30 25:61:00', 'DateTime'], ['2020-04-31 10:00:00.5', 'DateTime64(3)'],
    ['2020-01-01 24:00:00', 'DateTime'], ['2020-01-01 23:60:00', 'DateTime'], ['2020-01-01 23:59:60', 'DateTime'], ['2020-01-01T24:00:00.000', 'DateTime64(3)']];
  for (const [v, t] of refused) {
    assert.throws(() => f(v, t as string, 'd'), /parameter d: ".*" is no date/, `${v} ${t}`);
  }
  for (const [v, t] of [['2020-02-29', 'Date'], ['2020-02-28 23:59:59', 'DateTime'], ['1700000000', 'DateTime'], ['2020-02-28T23:59:59.123', 'DateTime64(3)'], ['0000-00-00', 'Date'], ['0000-00-00 00:00:00', 'DateTime'], ['2020-01-01 23:59:59', 'DateTime'], ['2020-12-31 00:00:00', 'DateTime']]) {
    assert.is(f(v, t as string, 'd'), v);
  }
});

test('map :: from a Map or a plain object; keys typed by the key type', () => {
  assert.is(f({ a: 1, "b'": 2 }, 'Map(String, UInt8)', 'm'), "{'a':1,'b\\'':2}");
  assert.is(f(new Map<unknown, unknown>([[1, 'x'], [2n, 'y']]), 'Map(UInt64, String)', 'm'), "{1:'x',2:'y'}");
  assert.is(f({ 7: [1, 2] }, 'Map(UInt32, Array(UInt8))', 'm'), '{7:[1,2]}', 'an object key is text; read as the key type');
  assert.is(f([{ k: ['x'] }], 'Array(Map(LowCardinality(String), Array(String)))', 'm'), "[{'k':['x']}]");
  assert.throws(() => f({ x: 1 }, 'Map(UInt32, UInt8)', 'm'), (e: unknown) => e instanceof QueryParamError && e.param === 'm["x"]');
  assert.throws(() => f([1], 'Map(String, UInt8)', 'm'), /expected a Map or a plain object/);
});

test('tuple :: unnamed from an array, named from an array or an object', () => {
  assert.is(f(['a', 1], 'Tuple(String, UInt8)', 't'), "('a',1)");
  assert.is(f({ b: 2, a: 'x' }, 'Tuple(a String, b UInt8)', 't'), "('x',2)", 'in the type\'s order');
  assert.is(f([[1.5, 2], [3, 4]], 'Ring', 'r'), '[(1.5,2),(3,4)]');
  assert.is(f([1, 2], 'Point', 'p'), '(1,2)');
  assert.throws(() => f(['a'], 'Tuple(String, UInt8)', 't'), /expected 2 elements/);
  assert.throws(() => f({ a: 'x' }, 'Tuple(a String, b UInt8)', 't'), (e: unknown) => e instanceof QueryParamError && e.param === 't.b');
  assert.throws(() => f({ a: 'x', b: 1, c: 2 }, 'Tuple(a String, b UInt8)', 't'), (e: unknown) => e instanceof QueryParamError && e.param === 't.c');
  assert.throws(() => f({ a: 1 }, 'Tuple(String, UInt8)', 't'), /expected an array for/);
});

test('json, uuid, ip, enum, variant :: their text forms', () => {
  assert.is(f({ a: 'b\\c', t: 'x\ty' }, 'JSON', 'j'), '{"a":"b\\\\\\\\c","t":"x\\\\ty"}', 'JSON text, then escaped for the top level');
  assert.is(f('61f0c404-5cb3-11e7-907b-a6006ad3dba0', 'UUID', 'u'), '61f0c404-5cb3-11e7-907b-a6006ad3dba0');
  assert.is(f(['1.2.3.4'], 'Array(IPv4)', 'ip'), "['1.2.3.4']");
  assert.is(f('b', "Enum8('a' = 1, 'b' = 2)", 'e'), 'b');
  assert.is(f(42, 'Variant(String, UInt64)', 'v'), '42');
  assert.is(f('a\tb\\', 'Variant(String, UInt64)', 'v'), 'a\\\\tb\\\\\\\\', 'escaped twice at the top: the server unescapes Variant text twice');
  assert.is(f('a\tb', 'Dynamic', 'v'), 'a\\\\tb');
  assert.is(f(['x', 1], 'Array(Variant(String, UInt64))', 'v'), "['x',1]");
  assert.is(f('12:34:56', 'Time', 't'), '12:34:56');
  assert.throws(() => f(1, 'UUID', 'u'), /expected a string for UUID/);
});

test('refusals :: undefined, circular, lone surrogates, class instances, naming the element', () => {
  assert.throws(() => f(undefined, 'String', 's'), /undefined/);
  const loop: unknown[] = [];
  loop.push(loop);
  assert.throws(() => f(loop, 'Array(Array(String))', 'xs'), (e: unknown) => e instanceof QueryParamError && /circular/.test(e.message));
  assert.throws(() => f('a\ud800', 'String', 's'), /surrogate/);
  assert.throws(() => f(['a\udc00'], 'Array(String)', 'xs'), (e: unknown) => e instanceof QueryParamError && e.param === 'xs[0]');
  assert.throws(() => f(new Set([1]), 'Array(UInt8)', 'xs'), /expected an array for Array\(UInt8\), got an instance of Set/);
  assert.throws(() => f(Symbol('x'), 'Dynamic', 'd'), /cannot write a symbol for Dynamic/);
});

test('unreadable types :: values go as their text, strings as given', () => {
  assert.is(f('x\ty', 'SomeFutureType(a => b)', 'p'), 'x\\ty');
  assert.is(f(5n, 'SomeFutureType(a => b)', 'p'), '5');
  assert.is(f(null, 'SomeFutureType(a => b)', 'p'), '\\N');
});

test('values :: one text per name; a missing value or a conflicting second type is refused', () => {
  assert.equal({ ...typedParamValues([{ name: 'n', type: 'UInt8' }, { name: 'n', type: 'UInt8' }, { name: 's', type: 'String' }], { n: 1, s: 'x' }) }, { n: '1', s: 'x' });
  assert.equal({ ...typedParamValues([{ name: 'n', type: 'UInt8' }, { name: 'n', type: 'UInt32' }], { n: 1 }) }, { n: '1' }, 'same text: fine');
  assert.throws(() => typedParamValues([{ name: 'n', type: 'UInt8' }], {}), (e: unknown) => e instanceof QueryParamError && e.param === 'n' && /\{n:UInt8\} placeholder but no value/.test(e.message));
  assert.throws(() => typedParamValues([{ name: 'n', type: 'UInt8' }], undefined), /no value/);
  assert.throws(() => typedParamValues([{ name: 'd', type: 'Date' }, { name: 'd', type: 'DateTime' }], { d: new Date(0) }), /different texts/);
});

test.run();
