import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseColumnType } from '../../src/clickhouse/column-type.js';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { allRefused } from '../../src/clickhouse/refusals.js';
import { type RangeCheck, checkRanges, rangeCheck, refuseOutOfRange } from '../../src/clickhouse/value-ranges.js';

const test = suite('value-ranges');

function checkOf(type: string, dates = true): RangeCheck {
  const check = rangeCheck(parseColumnType(type), dates);
  if (check === undefined) throw new Error(`no check for ${type}`);
  return check;
}

// What the check of `type` says of `value` given as column `c`: 'ok', or the refusal's param and message.
function verdict(type: string, value: unknown): string {
  try {
    checkOf(type)(value, 'c');
    return 'ok';
  } catch (e) {
    if (!(e instanceof QueryParamError)) throw e;
    return `${e.param}: ${e.message.slice(`parameter ${e.param}: `.length)}`;
  }
}

test('integers :: a value outside its type is refused, as number, bigint or text; the bounds themselves pass', () => {
  const cases: [string, unknown, string][] = [
    ['UInt8', 255, 'ok'], ['UInt8', '255', 'ok'], ['UInt8', 0, 'ok'], ['UInt8', '+7', 'ok'],
    ['UInt8', 256, 'c: 256 is outside UInt8 (0 to 255)'], ['UInt8', '256', 'c: 256 is outside UInt8 (0 to 255)'],
    ['UInt8', -1, 'c: -1 is outside UInt8 (0 to 255)'], ['UInt8', '-1', 'c: -1 is outside UInt8 (0 to 255)'],
    ['UInt8', '1000', 'c: 1000 is outside UInt8 (0 to 255)'], ['UInt8', 1e20, 'c: 100000000000000000000 is outside UInt8 (0 to 255)'],
    ['Int8', -128, 'ok'], ['Int8', 127, 'ok'], ['Int8', -129, 'c: -129 is outside Int8 (-128 to 127)'], ['Int8', '128', 'c: 128 is outside Int8 (-128 to 127)'],
    ['UInt32', 2 ** 32 - 1, 'ok'], ['UInt32', 2 ** 32, 'c: 4294967296 is outside UInt32 (0 to 4294967295)'],
    ['UInt64', -5, 'c: -5 is outside UInt64 (0 to 18446744073709551615)'], ['UInt64', -5n, 'c: -5 is outside UInt64 (0 to 18446744073709551615)'],
    ['UInt64', '-5', 'c: -5 is outside UInt64 (0 to 18446744073709551615)'], ['UInt64', Number.MAX_SAFE_INTEGER, 'ok'],
    ['UInt64', 18446744073709551615n, 'ok'], ['UInt64', 18446744073709551616n, 'c: 18446744073709551616 is outside UInt64 (0 to 18446744073709551615)'],
    ['UInt128', -1, 'c: -1 is outside UInt128 (0 to 340282366920938463463374607431768211455)'],
    ['Int64', -5, 'ok'], ['Int64', -(2n ** 63n), 'ok'], ['Int64', 2n ** 63n, 'c: 9223372036854775808 is outside Int64 (-9223372036854775808 to 9223372036854775807)'],
    ['Int32', NaN, 'c: NaN cannot be stored in Int32'], ['Int32', Infinity, 'c: Infinity cannot be stored in Int32'],
    ['UInt64', -Infinity, 'c: -Infinity cannot be stored in UInt64'],
    // A fraction, or text that is no integer, is the server's to read or refuse.
    ['Int32', 1.5, 'ok'], ['Int32', '1.5', 'ok'], ['Int32', 'abc', 'ok'],
    ['Int32', '', 'c: an empty string is no Int32 (the server would store 0)'], ['UInt8', '', 'c: an empty string is no UInt8 (the server would store 0)'],
  ];
  for (const [type, value, want] of cases) assert.is(verdict(type, value), want, `${type} ${typeof value} ${String(value)}`);
});

test('DateTime :: a Date from 1970 up to 2^32 s passes, one outside is refused (without dates, none is checked)', () => {
  const outside = (d: Date) => `c: Date ${d.toISOString()} is outside DateTime's range (1970 to 2106)`;
  const last = new Date(2 ** 32 * 1000 - 1000);
  const cases: [Date, string][] = [
    [new Date(0), 'ok'], [last, 'ok'], [new Date(2 ** 32 * 1000 - 1), 'ok'],
    [new Date(2 ** 32 * 1000), outside(new Date(2 ** 32 * 1000))], [new Date(-1000), outside(new Date(-1000))],
    [new Date('2250-01-01T00:00:00Z'), outside(new Date('2250-01-01T00:00:00Z'))],
  ];
  for (const [date, want] of cases) {
    assert.is(verdict('DateTime', date), want, date.toISOString());
    assert.is(verdict("Nullable(DateTime('UTC'))", date), want, `Nullable ${date.toISOString()}`);
  }
  assert.is(rangeCheck(parseColumnType('DateTime'), false), undefined);
  assert.is(rangeCheck(parseColumnType('Map(String, DateTime)'), false), undefined);
  assert.is(rangeCheck(parseColumnType('String')), undefined);
  assert.is(rangeCheck(parseColumnType('Array(Float64)')), undefined);
});

test('composites :: an element refused inside Array, Map, Tuple, LowCardinality or SimpleAggregateFunction is named by its path', () => {
  const cases: [string, unknown, string][] = [
    ['Array(Int8)', [1, 127], 'ok'], ['Array(Int8)', [1, 128], 'c[1]: 128 is outside Int8 (-128 to 127)'],
    ['Array(Array(UInt8))', [[1], [2, 256]], 'c[1][1]: 256 is outside UInt8 (0 to 255)'],
    ['Map(String, UInt8)', { k: 255 }, 'ok'], ['Map(String, UInt8)', { k: 300 }, 'c[k]: 300 is outside UInt8 (0 to 255)'],
    ['Map(String, UInt8)', new Map([['j', 1], ['k', 300]]), 'c[k]: 300 is outside UInt8 (0 to 255)'],
    ['Map(String, Nullable(UInt8))', { k: null }, 'ok'],
    ['Map(UInt8, String)', new Map([[300, 'x']]), 'c key 300: 300 is outside UInt8 (0 to 255)'],
    ['Map(String, DateTime)', { k: new Date(2 ** 32 * 1000) }, "c[k]: Date 2106-02-07T06:28:16.000Z is outside DateTime's range (1970 to 2106)"],
    ['Tuple(a UInt8, b String)', { a: 255, b: 'x' }, 'ok'], ['Tuple(a UInt8, b String)', { a: 256, b: 'x' }, 'c.a: 256 is outside UInt8 (0 to 255)'],
    ['Tuple(a UInt8, b String)', [256, 'x'], 'c.a: 256 is outside UInt8 (0 to 255)'],
    ['Tuple(String, Int8)', ['x', -200], 'c.2: -200 is outside Int8 (-128 to 127)'],
    ['LowCardinality(Nullable(UInt16))', 65536, 'c: 65536 is outside UInt16 (0 to 65535)'],
    ['SimpleAggregateFunction(max, UInt8)', 255, 'ok'], ['SimpleAggregateFunction(max, UInt8)', 300, 'c: 300 is outside UInt8 (0 to 255)'],
    ['SimpleAggregateFunction(sum, Array(Int8))', [1, -300], 'c[1]: -300 is outside Int8 (-128 to 127)'],
  ];
  for (const [type, value, want] of cases) assert.is(verdict(type, value), want, `${type} ${JSON.stringify(value instanceof Map ? [...value] : value)}`);
});

test('refuseOutOfRange :: one row throws its own refusal; several name each refused row, all of them reported', () => {
  const columns = [['c', checkOf('UInt8')], ['at', checkOf('DateTime')]] as const;
  assert.not.throws(() => refuseOutOfRange([{ c: 1, at: new Date(0) }, { c: null }, {}], columns));
  assert.not.throws(() => refuseOutOfRange([{ c: 300 }], []));
  try {
    refuseOutOfRange([{ c: 300 }], columns);
    assert.unreachable('one row refused');
  } catch (e) {
    assert.instance(e, QueryParamError);
    assert.is((e as QueryParamError).param, 'c');
    assert.is((e as QueryParamError).row, undefined);
    assert.is((e as Error).message, 'parameter c: 300 is outside UInt8 (0 to 255)');
  }
  try {
    refuseOutOfRange([{ c: 1 }, { c: 300 }, { c: 2 }, { c: 3, at: new Date(-1000) }], columns);
    assert.unreachable('two rows refused');
  } catch (e) {
    assert.instance(e, QueryParamError);
    const all = allRefused(e as QueryParamError);
    assert.equal(all.map((r) => [r.param, r.row]), [['rows[1].c', 1], ['rows[3].at', 3]]);
    assert.is(all[0], e);
  }
  assert.throws(() => checkRanges({ c: 1, at: new Date(2 ** 32 * 1000) }, columns), (e: unknown) => e instanceof QueryParamError && e.param === 'at');
});

test.run();
