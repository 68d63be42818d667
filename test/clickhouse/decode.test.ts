import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyNeedsServerTimeZone, decodeTsv, needsServerTimeZone, tsvTail } from '../../src/clickhouse/decode.js';
import { unescapeTsv } from '../../src/clickhouse/text-escape.js';
import { ClickHouseError, ProtocolError } from '../../src/clickhouse/errors.js';
import { TsvStream } from '../../src/clickhouse/stream-decode.js';
import { heldBytes } from '../gc.js';

const test = suite('decode');
const ctx = { int64: 'auto', serverTimeZone: 'UTC' } as const;
const body = (names: string[], types: string[], ...rows: string[][]): string =>
  [names.join('\t'), types.join('\t'), ...rows.map((r) => r.join('\t'))].join('\n') + '\n';

// Copied from ClickHouse 18.16 responses (see test/integration for the live checks).
test('decode :: a real 18.16 response with every scalar kind', () => {
  const real = "s\tarr\tt\td\tn\tinf\tninf\tfs\tnn\tdt\tdtz\tdd\tu\n"
    + "String\tArray(String)\tTuple(UInt8, String)\tDecimal(18, 4)\tFloat64\tFloat64\tFloat64\tFixedString(4)\tNullable(Nothing)\tDateTime\tDateTime(\\'Asia/Tokyo\\')\tDate\tUUID\n"
    + "a\\tb\\nc\\\\d\\'e\\0f\t['x\\'y','z\\\\w\\t']\t(1,'a')\t1.5000\tnan\tinf\t-inf\tab\\0\\0\t\\N\t2026-11-28 06:45:13\t0000-00-00 00:00:00\t0000-00-00\t6f88a342-42d3-425b-b666-1e7d2418e024\n";
  const [row] = decodeTsv(real, ctx);
  assert.equal(row, {
    s: "a\tb\nc\\d'e\0f", arr: ["x'y", 'z\\w\t'], t: [1, 'a'], d: '1.5000', n: NaN, inf: Infinity, ninf: -Infinity,
    fs: 'ab', nn: null, dt: new Date('2026-11-28T06:45:13Z'), dtz: new Date(0), dd: '1970-01-01',
    u: '6f88a342-42d3-425b-b666-1e7d2418e024',
  });
});

test('decode :: arrays of every element kind, as 18.16 prints them', () => {
  const real = 'a\tb\tc\td\te\ti\tnn\ttt\n'
    + 'Array(DateTime)\tArray(Nullable(UInt8))\tArray(Float64)\tArray(Decimal(9, 2))\tArray(Nullable(String))\tArray(Int64)\tArray(Array(UInt8))\tArray(Tuple(UInt8, String))\n'
    + "['2020-01-01 00:00:00']\t[NULL,1]\t[nan,inf]\t[1.50]\t['a',NULL]\t[-5]\t[[1,2],[]]\t[(1,'x')]\n";
  assert.equal(decodeTsv(real, ctx), [{
    a: [new Date('2020-01-01T00:00:00Z')], b: [null, 1], c: [NaN, Infinity], d: ['1.50'], e: ['a', null], i: [-5],
    nn: [[1, 2], []], tt: [[1, 'x']],
  }]);
});

test('decode :: a SimpleAggregateFunction column is read as its value\'s type, a geo type as its tuples and arrays', () => {
  const text = body(['n', 'a', 'm', 'p', 'r', 'ss'],
    ['SimpleAggregateFunction(sum, UInt64)', 'SimpleAggregateFunction(groupArrayArray, Array(UInt8))', 'SimpleAggregateFunction(anyLast, Nullable(UInt32))', 'Point', 'Ring', 'SimpleAggregateFunction(anyLast, String)'],
    ['5', '[1,2]', '\\N', '(1.5,2)', '[(1,2),(3,4)]', 'a\\tb'], ['18446744073709551615', '[]', '7', '(0,-1)', '[]', '']);
  assert.equal(decodeTsv(text, ctx), [
    { n: 5, a: [1, 2], m: null, p: [1.5, 2], r: [[1, 2], [3, 4]], ss: 'a\tb' },
    { n: 18446744073709551615n, a: [], m: 7, p: [0, -1], r: [], ss: '' },
  ]);
});

test('decode :: a Tuple whose last element is a bare value, alone and in an array', () => {
  const real = 't\tat\tn\n' + 'Tuple(String, UInt8)\tArray(Tuple(UInt8, UInt8))\tTuple(Nullable(UInt8), Float64)\n' + "('a',2)\t[(1,2),(3,4)]\t(NULL,-1.5)\n";
  assert.equal(decodeTsv(real, ctx), [{ t: ['a', 2], at: [[1, 2], [3, 4]], n: [null, -1.5] }]);
});

test('decode :: 64-bit integers by mode', () => {
  const text = body(['small', 'big'], ['Int64', 'UInt64'], ['-42', '18446744073709551615']);
  assert.equal(decodeTsv(text, ctx), [{ small: -42, big: 18446744073709551615n }]);
  assert.equal(decodeTsv(text, { ...ctx, int64: 'bigint' }), [{ small: -42n, big: 18446744073709551615n }]);
  assert.equal(decodeTsv(text, { ...ctx, int64: 'string' }), [{ small: '-42', big: '18446744073709551615' }]);
  assert.equal(decodeTsv(body(['x'], ['Int64'], ['9007199254740991']), ctx), [{ x: 9007199254740991 }]);
  assert.equal(decodeTsv(body(['x'], ['Int64'], ['9007199254740992']), ctx), [{ x: 9007199254740992n }]);
  // Past -2^53 too: a Number would round them.
  assert.equal(decodeTsv(body(['x', 'y'], ['Int64', 'Int64'], ['-9007199254740993', '-9223372036854775808']), ctx), [{ x: -9007199254740993n, y: -9223372036854775808n }]);
  assert.equal(decodeTsv(body(['x'], ['Int64'], ['-9007199254740991']), ctx), [{ x: -9007199254740991 }]);
});

test('decode :: an interval is an Int64, as the binary reader gives it (it came as text from 18.16)', () => {
  const text = body(['s', 'd', 'a'], ['IntervalSecond', 'IntervalDay', 'Array(IntervalYear)'], ['-3', '7', '[1]']);
  assert.equal(decodeTsv(text, ctx), [{ s: -3, d: 7, a: [1] }]);
  assert.equal(decodeTsv(text, { ...ctx, int64: 'bigint' }), [{ s: -3n, d: 7n, a: [1n] }]);
});

test('decode :: DateTime in the server zone and in the column zone', () => {
  const text = body(['a', 'b'], ['DateTime', "DateTime(\\'America/New_York\\')"], ['2020-07-01 12:00:00', '2020-07-01 08:00:00']);
  const [row] = decodeTsv(text, { ...ctx, serverTimeZone: 'Asia/Tokyo' });
  assert.equal(row, { a: new Date('2020-07-01T03:00:00Z'), b: new Date('2020-07-01T12:00:00Z') });
  // The same header again (its parse is reused): each call's own server zone still counts.
  assert.equal(decodeTsv(text, { ...ctx, serverTimeZone: 'UTC' })[0], { a: new Date('2020-07-01T12:00:00Z'), b: new Date('2020-07-01T12:00:00Z') });
  assert.equal(decodeTsv(text, { ...ctx, serverTimeZone: 'Asia/Tokyo' })[0], row);
});

test('decode :: LowCardinality, Enum, Nullable and a string that reads NULL', () => {
  const text = body(['l', 'e', 'n', 'q'], ['LowCardinality(String)', "Enum8(\\'a\\' = 1)", 'Nullable(Int32)', 'Array(String)'], ['x', 'a', '\\N', "['NULL']"]);
  assert.equal(decodeTsv(text, ctx), [{ l: 'x', e: 'a', n: null, q: ['NULL'] }]);
});

test('decode :: LowCardinality of a Nullable or of a number, at the top and inside an array, reads as its inner type', () => {
  const text = body(['ln', 'lu', 'al'], ['LowCardinality(Nullable(String))', 'LowCardinality(UInt32)', 'Array(LowCardinality(UInt32))'], ['\\N', '5', '[5,6]'], ['x', '7', '[]']);
  assert.equal(decodeTsv(text, ctx), [{ ln: null, lu: 5, al: [5, 6] }, { ln: 'x', lu: 7, al: [] }]);
});

test('decode :: no rows, and an empty body', () => {
  assert.equal(decodeTsv('x\nUInt8\n', ctx), []);
  assert.equal(decodeTsv('', ctx), []);
});

test('decode :: an exception appended to a streamed 200 body throws ClickHouseError', () => {
  const text = body(['n'], ['UInt64'], ['1'], ['2']) + "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, e.what() = DB::Exception\n";
  try {
    decodeTsv(text, ctx);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ClickHouseError);
    assert.is((err as ClickHouseError).serverCode, 395);
    assert.is((err as ClickHouseError).status, 200);
  }
});

// The exception 18.16 appends mid-stream, as the server writes it (not TSV-escaped).
const RAW_395 = "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero, e.what() = DB::Exception\n";
const PLAIN_158 = 'Code: 158, e.displayText() = DB::Exception: Limit for rows to read exceeded: 1001000 rows read (or to read), maximum: 1000000, e.what() = DB::Exception';

test('tail :: what no row can be is the server\'s exception', () => {
  // A raw quote, which TSV escapes.
  assert.is((tsvTail(body(['s'], ['String'], ['1']) + RAW_395) as { serverCode: number }).serverCode, 395);
  // Not one field per column.
  assert.is((tsvTail(body(['a', 'b'], ['String', 'String'], ['x', 'y']) + `${PLAIN_158}\n`) as { serverCode: number }).serverCode, 158);
  // A first column that cannot hold text.
  assert.is((tsvTail(body(['n'], ['UInt64'], ['1']) + `${PLAIN_158}\n`) as { serverCode: number }).serverCode, 158);
  // No header at all: the exception took its place.
  assert.is((tsvTail(`${PLAIN_158}\n`) as { serverCode: number }).serverCode, 158);
  // A carriage return or a lone backslash in a String cell.
  assert.is((tsvTail(body(['s'], ['String']) + 'Code: 1, e.displayText() = DB::Exception: a\rb, e.what() = DB::Exception\n') as { serverCode: number }).serverCode, 1);
  assert.is((tsvTail(body(['a', 'b'], ['String', 'String']) + 'Code: 1, e.displayText() = DB::Exception: a\\\tb, e.what() = DB::Exception\n') as { serverCode: number }).serverCode, 1);
  // A quote no Enum or Date cell can hold: the exception at once, not a second request to be sure.
  assert.is((tsvTail(body(['e'], ["Enum8(\\'a\\' = 1)"], ['a']) + RAW_395) as { serverCode: number }).serverCode, 395);
  assert.is((tsvTail(body(['d'], ['Date'], ['2020-01-01']) + RAW_395) as { serverCode: number }).serverCode, 395);
  // So for one wrapped in a SimpleAggregateFunction and a Nullable, in either order.
  assert.is((tsvTail(body(['d'], ['SimpleAggregateFunction(anyLast, Nullable(Date))'], ['2020-01-01']) + RAW_395) as { serverCode: number }).serverCode, 395);
  assert.is((tsvTail(body(['d'], ['Nullable(SimpleAggregateFunction(anyLast, Date))'], ['2020-01-01']) + RAW_395) as { serverCode: number }).serverCode, 395);
});

test('tail :: rows that read like an exception are data, or ambiguous when the bytes cannot tell', () => {
  assert.is(tsvTail(body(['s'], ['String'], ['1'])), undefined);
  const escaped = "Code: 60, e.displayText() = DB::Exception: Table x doesn\\'t exist., e.what() = DB::Exception";
  assert.is(tsvTail(body(['s'], ['String'], [escaped])), 'ambiguous');
  assert.is(tsvTail(body(['s'], ['Nullable(String)'], [PLAIN_158])), 'ambiguous');
  assert.is(tsvTail(body(['a', 'b'], ['String', 'LowCardinality(String)'], ['Code: 1, e.displayText() = x', 'y, e.what() = DB::Exception'])), 'ambiguous');
  // decodeTsv alone cannot ask again: it takes what may be data as data.
  assert.equal(decodeTsv(body(['s'], ['String'], [escaped], [PLAIN_158]), ctx), [{ s: escaped.replace('\\', '') }, { s: PLAIN_158 }]);
});

test('decode :: a column named __proto__ is an own property; the prototype stays Object.prototype', () => {
  const rows = decodeTsv(body(['id', '__proto__', 'constructor', 'n'], ['UInt8', 'Nullable(String)', 'String', 'Array(UInt8)'], ['1', 'p', 'c', '[1]'], ['2', '\\N', '', '[]']), ctx);
  assert.is(Object.getPrototypeOf(rows[0]), Object.prototype);
  assert.is(Object.getPrototypeOf(rows[1]), Object.prototype);
  assert.equal(Object.keys(rows[0] as object), ['id', '__proto__', 'constructor', 'n']);
  assert.is(Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value, 'p');
  assert.is(Object.getOwnPropertyDescriptor(rows[1], '__proto__')?.value, null);
  assert.is(rows[0]?.constructor, 'c');
  assert.equal(JSON.parse(JSON.stringify(rows)), JSON.parse('[{"id":1,"__proto__":"p","constructor":"c","n":[1]},{"id":2,"__proto__":null,"constructor":"","n":[]}]'));
});

test('decode :: a cut row throws ProtocolError', () => {
  assert.throws(() => decodeTsv('a\tb\nUInt8\tUInt8\n1\n', ctx), (e: unknown) => e instanceof ProtocolError);
});

test('unescape :: every escape ClickHouse writes', () => {
  assert.is(unescapeTsv('\\b\\f\\n\\r\\t\\0\\\\\\\'\\x41z'), "\b\f\n\r\t\0\\'Az");
  assert.is(unescapeTsv('plain'), 'plain');
});

test('needsServerTimeZone :: only for DateTime without a zone', () => {
  assert.ok(needsServerTimeZone(['Array(Nullable(DateTime))']));
  assert.ok(needsServerTimeZone(['Tuple(UInt8, DateTime)']));
  assert.ok(needsServerTimeZone(['Map(String, DateTime)']));
  assert.not.ok(needsServerTimeZone(["DateTime('UTC')", 'Date', 'String']));
  assert.ok(bodyNeedsServerTimeZone(body(['a', 'b'], ['UInt8', 'Nullable(DateTime)'], [])));
  assert.not.ok(bodyNeedsServerTimeZone(body(['a'], ["DateTime(\\'UTC\\')"], [])));
  assert.not.ok(bodyNeedsServerTimeZone(''));
});

// A response of about 24 MB whose every text value is long enough (13+ characters) for V8
// to cut it as a view of the response rather than copy it.
function bigTextResponse(): Buffer {
  const lines = ['s\tarr\tu\tfs\td\tns\tesc\tbig', "String\tArray(String)\tUUID\tFixedString(20)\tDecimal(38, 10)\tNullable(String)\tString\tUInt64"];
  for (let i = 0; i < 120_000; i++) {
    lines.push(`a-long-enough-string-${i}\t['another-long-value-${i}','x']\t6f88a342-42d3-425b-b666-${String(i).padStart(12, '0')}\tfixed-string-${String(i).padStart(7, '0')}\t${i}.0000000001\tnullable-long-value-${i}\tescaped\\tlong-value-${i}\t${1e15 + i}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

test('decode :: rows kept from a big text result keep none of the response: each text value is a string of its own', () => {
  const base = heldBytes();
  const kept = ((): unknown[] => {
    // 64-bit integers as text too: the one number kept as a string.
    const rows = decodeTsv(bigTextResponse().toString('utf8'), { ...ctx, int64: 'string' });
    return [rows[7], rows[119_999]];
  })();
  const grown = heldBytes() - base;
  assert.equal(kept[0], {
    s: 'a-long-enough-string-7', arr: ['another-long-value-7', 'x'], u: '6f88a342-42d3-425b-b666-000000000007',
    fs: 'fixed-string-0000007', d: '7.0000000001', ns: 'nullable-long-value-7', esc: 'escaped\tlong-value-7', big: '1000000000000007',
  });
  assert.ok(grown < 4 * 2 ** 20, `two kept rows hold ${(grown / 2 ** 20).toFixed(1)} MiB`);
});

test('decode :: an array kept from a text row is sized to its items (a pushed array keeps room for more)', () => {
  const rows = 300_000;
  const base = heldBytes();
  const kept = decodeTsv(`a\nArray(UInt8)\n${'[1]\n'.repeat(rows)}`, ctx);
  const perRow = (heldBytes() - base) / rows;
  assert.equal(kept[rows - 1], { a: [1] });
  // About 100 bytes a row with arrays of one slot, 230 with a pushed array's 17.
  assert.ok(perRow < 160, `${perRow.toFixed(0)} bytes held per kept row`);
});

test('decode :: rows kept from a text stream keep none of its chunks', () => {
  const base = heldBytes();
  const kept = ((): unknown[] => {
    const out: unknown[] = [];
    const decoder = new TsvStream(ctx);
    const whole = bigTextResponse();
    for (let at = 0, n = 0; at < whole.length; at += 65_536) {
      for (const row of decoder.push(whole.subarray(at, at + 65_536))) if (n++ % 1_000 === 0) out.push(row);
    }
    out.push(...decoder.end());
    return out;
  })();
  const grown = heldBytes() - base;
  assert.equal(kept.length, 120);
  assert.ok(grown < 4 * 2 ** 20, `${kept.length} kept rows hold ${(grown / 2 ** 20).toFixed(1)} MiB`);
});

test.run();
