import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UnsupportedBinaryType, decodeRowBinary } from '../../src/clickhouse/decode-binary.js';
import { decimalText, ipv6Text, parseJson, preciseInstant, timeText } from '../../src/clickhouse/binary-values.js';
import { ProtocolError } from '../../src/clickhouse/errors.js';
import { le, str, varint } from './row-binary-bytes.js';

const test = suite('decode-binary');

// A RowBinaryWithNamesAndTypes body built by hand: header, then each row's bytes.
function body(columns: [string, string][], ...rows: number[][]): Buffer {
  return Buffer.from([...varint(columns.length), ...columns.flatMap(([n]) => str(n)), ...columns.flatMap(([, t]) => str(t)), ...rows.flat()]);
}
const ctx = { int64: 'auto' } as const;

test('scalars :: ints of each width, floats, Bool, strings, UUID, IPs, dates', () => {
  const b = body(
    [['u8', 'UInt8'], ['i16', 'Int16'], ['u64', 'UInt64'], ['i128', 'Int128'], ['f32', 'Float32'], ['bf', 'BFloat16'], ['b', 'Bool'], ['s', 'String'], ['fs', 'FixedString(3)'],
      ['u', 'UUID'], ['ip4', 'IPv4'], ['ip6', 'IPv6'], ['d', 'Date'], ['d32', 'Date32'], ['dt', "DateTime('Asia/Tokyo')"]],
    [255, ...le(-2n, 2), ...le(18446744073709551615n, 8), ...le(-(2n ** 127n), 16), ...[...Buffer.from(new Float32Array([1.1]).buffer)], ...le(0x3f80n, 2), 1, ...str('a\tb'), 0x61, 0, 0,
      ...le(0x61f0c4045cb311e7n, 8), ...le(0x907ba6006ad3dba0n, 8), ...le(0x01020304n, 4), ...[...Buffer.from('20010db8000000000000000000000001', 'hex')],
      ...le(18321n, 2), ...le(-25567n, 4), ...le(1577836800n, 4)],
  );
  assert.equal(decodeRowBinary(b, ctx), [{
    u8: 255, i16: -2, u64: 18446744073709551615n, i128: -(2n ** 127n), f32: 1.1, bf: 1, b: true, s: 'a\tb', fs: 'a',
    u: '61f0c404-5cb3-11e7-907b-a6006ad3dba0', ip4: '1.2.3.4', ip6: '2001:db8::1', d: '2020-02-29', d32: '1900-01-01', dt: new Date('2020-01-01T00:00:00Z'),
  }]);
});

test('Float32 :: the shortest decimal that is the float, past 2^24 too (123456790, as the server prints it, not 123456792)', () => {
  const f32 = (v: number): number[] => [...Buffer.from(new Float32Array([v]).buffer)];
  const rows = decodeRowBinary(body([['f', 'Float32']], f32(123456790), f32(1e20), f32(16777216), f32(-3.4028235e38)), ctx);
  assert.equal(rows.map((r) => r['f']), [123456790, 1e20, 16777216, -3.4028235e38]);
});

test('int64 modes :: auto, bigint, string', () => {
  const b = body([['a', 'Int64'], ['b', 'UInt256']], [...le(-42n, 8), ...le(7n, 32)]);
  assert.equal(decodeRowBinary(b, { int64: 'auto' }), [{ a: -42, b: 7 }]);
  assert.equal(decodeRowBinary(b, { int64: 'bigint' }), [{ a: -42n, b: 7n }]);
  assert.equal(decodeRowBinary(b, { int64: 'string' }), [{ a: '-42', b: '7' }]);
});

test('decimals and DateTime64 :: every digit', () => {
  const b = body([['d', 'Decimal(9, 2)'], ['e', 'Decimal(38, 5)'], ['t3', "DateTime64(3, 'UTC')"], ['t9', 'DateTime64(9)']],
    [...le(-5n, 4), ...le(150000n, 16), ...le(1577836800123n, 8), ...le(1577836800123456789n, 8)]);
  assert.equal(decodeRowBinary(b, ctx), [{ d: '-0.05', e: '1.50000', t3: new Date('2020-01-01T00:00:00.123Z'), t9: '2020-01-01T00:00:00.123456789Z' }]);
});

test('DateTime64 :: precision 0, 1 and 2 count seconds, tenths and hundredths (each a Date of the same instant)', () => {
  const b = body([['t0', 'DateTime64(0)'], ['t1', "DateTime64(1, 'UTC')"], ['t2', 'DateTime64(2)']],
    [...le(1577836801n, 8), ...le(15778368015n, 8), ...le(157783680125n, 8)]);
  assert.equal(decodeRowBinary(b, ctx), [{ t0: new Date('2020-01-01T00:00:01Z'), t1: new Date('2020-01-01T00:00:01.500Z'), t2: new Date('2020-01-01T00:00:01.250Z') }]);
});

test('edges :: a Decimal of precision 18 in 8 bytes, an empty Tuple, a negative Time, the last Date, a negative Enum16, IPv4 255.x, MultiPolygon', () => {
  const f64 = (...v: number[]): number[] => [...Buffer.from(new Float64Array(v).buffer)];
  const b = body(
    [['d', 'Decimal(18, 4)'], ['e', 'Tuple()'], ['t', 'Time'], ['day', 'Date'], ['en', "Enum16('y' = -1000, 'z' = 1000)"], ['ip', 'IPv4'], ['mp', 'MultiPolygon'], ['after', 'UInt8']],
    [...le(-12345n, 8), ...le(-3723n, 4), ...le(65535n, 2), ...le(-1000n, 2), ...le(0xfffffffen, 4), ...varint(1), ...varint(1), ...varint(2), ...f64(1.5, -2, 3, 4), 9],
  );
  assert.equal(decodeRowBinary(b, ctx), [{ d: '-1.2345', e: [], t: '-01:02:03', day: '2149-06-06', en: 'y', ip: '255.255.255.254', mp: [[[[1.5, -2], [3, 4]]]], after: 9 }]);
});

test('FixedString :: UTF-8 text in its bytes, trailing NULs dropped', () => {
  const b = body([['fs', 'FixedString(6)']], [...Buffer.from('é中\0')]);
  assert.equal(decodeRowBinary(b, ctx), [{ fs: 'é中' }]);
});

test('SimpleAggregateFunction :: read as the type it stores', () => {
  const b = body([['s', 'SimpleAggregateFunction(sum, UInt64)'], ['q', 'SimpleAggregateFunction(anyLast, Nullable(String))']], [...le(5n, 8), 0, ...str('x')]);
  assert.equal(decodeRowBinary(b, ctx), [{ s: 5, q: 'x' }]);
});

test('composites :: Nullable, Array, named and unnamed Tuple, Map with typed keys, Enum, geo', () => {
  const b = body(
    [['n', 'Array(Nullable(UInt8))'], ['t', 'Tuple(a UInt8, `b c` String)'], ['u', 'Tuple(UInt8, String)'], ['m', 'Map(UInt16, Array(String))'], ['e', "Enum8('a' = -1, 'b' = 2)"], ['p', 'Point']],
    [...varint(2), 1, 0, 7, 1, ...str('x'), 2, ...str('y'), ...varint(1), ...le(500n, 2), ...varint(1), ...str('v'), 0xff, ...[...Buffer.from(new Float64Array([1.5, -2]).buffer)]],
  );
  assert.equal(decodeRowBinary(b, ctx), [{ n: [null, 7], t: { a: 1, 'b c': 'x' }, u: [2, 'y'], m: new Map([[500, ['v']]]), e: 'a', p: [1.5, -2] }]);
});

test('Variant and Dynamic :: NULL is null, the text N stays N, Dynamic carries its type', () => {
  const b = body([['v', 'Variant(String, UInt64)'], ['d', 'Dynamic']],
    [255, 0x00],
    [0, ...str('N'), 0x15, ...str('N')],
    [1, ...le(42n, 8), 0x1e, 0x23, 0x01, ...varint(2), 0, 3, 1]);
  assert.equal(decodeRowBinary(b, ctx), [{ v: null, d: null }, { v: 'N', d: 'N' }, { v: 42, d: [3, null] }]);
});

test('Dynamic :: the type each value carries: Decimal keeps its scale, FixedString its length, Enum8 its negative values, an interval its unit', () => {
  const b = body([['d', 'Dynamic']],
    [0x1a, 10, 2, ...le(150n, 8)],
    [0x16, ...varint(3), ...Buffer.from('ab\0')],
    [0x17, ...varint(2), ...str('a'), 0xff, ...str('b'), 0x02, 0xff],
    [0x22, 10, ...le(2n, 8)],
    [0x15, ...str('end')]);
  assert.equal(decodeRowBinary(b, ctx).map((r) => r['d']), ['1.50', 'ab', 'a', 2, 'end']);
});

test('JSON :: parsed from its text, integers past 2^53 kept', () => {
  const b = body([['j', 'JSON']], str('{"a":{"b":1},"big":12345678901234567890,"s":"x"}'));
  assert.equal(decodeRowBinary(b, ctx), [{ j: { a: { b: 1 }, big: 12345678901234567890n, s: 'x' } }]);
  assert.equal(parseJson('[-9007199254740993, 1.5e3, "\\u0041"]', 'string'), ['-9007199254740993', 1500, 'A']);
  // A run of 16+ digits takes the careful reader: escapes in its strings, and a __proto__ key as data.
  assert.equal(parseJson('{"s":"a\\"b\\\\","n":12345678901234567890}', 'auto'), { s: 'a"b\\', n: 12345678901234567890n });
  const hostile = parseJson('{"__proto__":{"x":1},"n":12345678901234567890}', 'auto') as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(hostile), Object.prototype);
  assert.equal(Object.keys(hostile), ['__proto__', 'n']);
  assert.equal(Object.getOwnPropertyDescriptor(hostile, '__proto__')?.value, { x: 1 });
  assert.is(hostile['x'], undefined);
});

test('refusals :: a body cut inside a row, an unreadable type', () => {
  assert.throws(() => decodeRowBinary(body([['x', 'UInt32']], [1, 2]), ctx), (e: unknown) => e instanceof ProtocolError && /ends inside a value/.test((e as Error).message));
  // Where, exactly: the header is 10 bytes; the second UInt32 starts at 14 with 2 of its 4
  // bytes there; a String of 5 bytes whose length is at 14 starts at 15 with 1 byte there.
  const cut = (columns: [string, string][], ...rows: number[][]): string => {
    try {
      return JSON.stringify(decodeRowBinary(body(columns, ...rows), ctx));
    } catch (e) {
      return (e as Error).message;
    }
  };
  assert.is(cut([['x', 'UInt32']], [1, 0, 0, 0], [2, 0]), 'RowBinary body ends inside a value: the value at byte 14 takes 4 bytes, the body has 2 of them');
  assert.is(cut([['s', 'String']], str('abc'), [5, 0x61]), 'RowBinary body ends inside a value: the value at byte 15 takes 5 bytes, the body has 1 of them');
  assert.is(cut([['a', 'Array(UInt16)'], ['b', 'UInt8']], [2, 1, 0, 2, 0, 7], [1, 9]), 'RowBinary body ends inside a value: the value at byte 32 takes 2 bytes, the body has 1 of them');
  assert.throws(() => decodeRowBinary(body([['s', 'AggregateFunction(uniq, UInt8)']], [1]), ctx), (e: unknown) => e instanceof UnsupportedBinaryType);
  assert.equal(decodeRowBinary(Buffer.alloc(0), ctx), []);
  assert.equal(decodeRowBinary(body([['x', 'UInt8']]), ctx), []);
});

test('text forms :: as the server prints them', () => {
  const v6 = (hex: string): string => ipv6Text(Buffer.from(hex, 'hex'));
  assert.is(v6('00000000000000000000000000000000'), '::');
  assert.is(v6('00000000000000000000000000000001'), '::1');
  assert.is(v6('00000000000000000000ffff01020304'), '::ffff:1.2.3.4');
  assert.is(v6('00010000000000010000000000000001'), '1:0:0:1::1');
  assert.is(v6('00010000000100000001000000010000'), '1:0:1:0:1:0:1:0');
  assert.is(v6('fe800000000000000001000000000000'), 'fe80::1:0:0:0');
  assert.is(decimalText(0n, 3), '0.000');
  assert.is(decimalText(-1230n, 3), '-1.230');
  assert.is(decimalText(-5n, 0), '-5');
  assert.is(timeText(-5n, 0), '-00:00:05');
  assert.is(timeText(360000123n, 3), '100:00:00.123');
  assert.is(preciseInstant(-1n, 6), '1969-12-31T23:59:59.999999Z');
  // Fractions whose first digits are zeros.
  assert.is(preciseInstant(1_577_836_801_000_123n, 6), '2020-01-01T00:00:01.000123Z');
  assert.is(preciseInstant(5n, 9), '1970-01-01T00:00:00.000000005Z');
  assert.is(timeText(1005n, 3), '00:00:01.005');
  assert.is(timeText(1_000_005n, 6), '00:00:01.000005');
  // An IPv4-compatible address, as 26.7 prints toIPv6('::1.2.3.4').
  assert.is(v6('00000000000000000000000001020304'), '::1.2.3.4');
});

test.run();
