import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkRow, encodeRow, encodeRows } from '../../src/clickhouse/encode.js';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { parseColumnType } from '../../src/clickhouse/column-type.js';

const test = suite('encode');

test('encodeRow :: each value kind', () => {
  const line = encodeRow({
    s: 'a"b\\c\n', n: 1.5, big: 18446744073709551615n, t: true, f: false, z: null, nan: NaN, inf: Infinity, ninf: -Infinity,
    at: new Date('2020-01-01T00:00:00Z'), early: new Date(5_000), arr: [[1], ['x', null]], obj: { k: [1, 'v'] },
  });
  assert.is(line, '{"s":"a\\"b\\\\c\\n","n":1.5,"big":18446744073709551615,"t":1,"f":0,"z":null,"nan":"nan","inf":"inf","ninf":"-inf",'
    + '"at":"1577836800","early":"0000000005","arr":[[1],["x",null]],"obj":"{\\"k\\":[1,\\"v\\"]}"}');
  assert.equal(JSON.parse(line).s, 'a"b\\c\n');
  // Inside an array too: the strings the server reads, not bare NaN/Infinity (which is no JSON).
  assert.is(encodeRow({ xs: [NaN, Infinity, -Infinity, 1.5] }), '{"xs":["nan","inf","-inf",1.5]}');
});

test('encodeRow :: undefined keys are left out', () => {
  assert.is(encodeRow({ a: 1, b: undefined, c: 'x' }), '{"a":1,"c":"x"}');
});

test('encodeRow :: decimal columns are written as bare numbers after a check', () => {
  const cols = new Map([['d', 'decimal'], ['ds', 'decimal']] as const);
  assert.is(encodeRow({ d: '12345678901234567890.0123456789', ds: ['1.5', '-2'], s: '1.5' }, cols),
    '{"d":12345678901234567890.0123456789,"ds":[1.5,-2],"s":"1.5"}');
  assert.throws(() => encodeRow({ d: '1; DROP' }, cols), (e: unknown) => e instanceof QueryParamError && e.param === 'd');
});

test('encodeRow :: a Date for a Date or Date32 column is its UTC day, for a DateTime64 epoch seconds with milliseconds', () => {
  const at = new Date('2020-02-29T23:30:00.045Z');
  const kinds = new Map([['d', 'date'], ['d32', 'date32'], ['ds', 'date'], ['t64', 'datetime64'], ['dec', 'decimal']] as const);
  assert.is(encodeRow({ d: at, d32: new Date('1900-01-01T00:00:00Z'), ds: [at, new Date(0)], t64: at, t: at, dec: '1.5' }, kinds),
    '{"d":"2020-02-29","d32":"1900-01-01","ds":["2020-02-29","1970-01-01"],"t64":"1583019000.045","t":"1583019000","dec":1.5}');
  // Still a day in UTC where the local clock already reads 1 March.
  assert.is(encodeRow({ d: new Date('2020-03-01T00:30:00+02:00') }, kinds), '{"d":"2020-02-29"}');
  assert.is(encodeRow({ t64: new Date(5) }, kinds), '{"t64":"0000000000.005"}');
  assert.is(encodeRow({ d: '2020-02-29' }, kinds), '{"d":"2020-02-29"}');
  assert.is(encodeRow({ d: new Date('2149-06-06T23:59:59Z'), d32: new Date('2299-12-31T23:59:59Z') }, kinds), '{"d":"2149-06-06","d32":"2299-12-31"}');
  const refused: [Record<string, unknown>, string][] = [
    [{ d: new Date('1969-12-31T23:59:59Z') }, 'd'],
    [{ d: new Date('2149-06-07T00:00:00Z') }, 'd'],
    [{ d32: new Date('1899-12-31T23:59:59Z') }, 'd32'],
    [{ ds: [new Date(NaN)] }, 'ds[0]'],
    [{ t64: new Date(-1) }, 't64'],
  ];
  for (const [row, param] of refused) {
    assert.throws(() => encodeRow(row, kinds), (e: unknown) => e instanceof QueryParamError && e.param === param, param);
  }
});

test('encodeRow :: refusals name the column', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ col: 'x\udc00' }, 'col'],
    [{ col: () => 1 }, 'col'],
    [{ col: Symbol('s') }, 'col'],
    [{ col: [1, undefined] }, 'col[1]'],
    [{ col: new Date(NaN) }, 'col'],
    [{ col: new Set([1]) }, 'col'],
  ];
  for (const [row, param] of cases) {
    assert.throws(() => encodeRow(row), (e: unknown) => e instanceof QueryParamError && e.param === param, param);
  }
  const loop: unknown[] = [];
  loop.push(loop);
  assert.throws(() => encodeRow({ loop }), (e: unknown) => e instanceof QueryParamError && /circular/.test(e.message));
  assert.throws(() => encodeRow([] as unknown as Record<string, unknown>), (e: unknown) => e instanceof QueryParamError);
  // Before 1900 no date or time type holds it: said so, not only that DateTime does not.
  assert.throws(() => encodeRow({ d: new Date(Date.UTC(1850, 0, 1)) }), (e: unknown) => e instanceof QueryParamError && e.param === 'd' && /outside 1900 to 2299, which no ClickHouse date or time type holds/.test(e.message));
});

test('encodeRow :: by column type (modern tables): Map, named Tuple, JSON, Bool, Variant, DateTime64 text, Nested objects', () => {
  const t = (text: string) => parseColumnType(text);
  const types = new Map([
    ['m', t('Map(UInt8, Array(Decimal(9, 2)))')], ['md', t('Map(Date, String)')], ['nt', t('Tuple(a UInt8, b Nullable(String))')],
    ['j', t('JSON')], ['b', t('Nullable(Bool)')], ['v', t('Variant(Bool, String)')], ['t9', t('DateTime64(9)')], ['n', t('Nested(x UInt8, y Date)')],
  ]);
  assert.is(encodeRow({ m: new Map([[1, ['1.50']]]), md: new Map([[new Date('2020-02-29T12:00:00Z'), 'x']]) }, types),
    '{"m":{"1":[1.50]},"md":{"2020-02-29":"x"}}');
  assert.is(encodeRow({ m: { 2: [] }, nt: [1, null] }, types), '{"m":{"2":[]},"nt":{"a":1,"b":null}}');
  assert.is(encodeRow({ nt: { b: 'x', a: 2 } }, types), '{"nt":{"a":2,"b":"x"}}');
  assert.is(encodeRow({ j: { a: { big: 12345678901234567890n }, at: new Date(0), skip: undefined } }, types),
    '{"j":{"a":{"big":12345678901234567890},"at":"1970-01-01T00:00:00.000Z"}}');
  assert.is(encodeRow({ b: true, v: false }, types), '{"b":true,"v":false}');
  assert.is(encodeRow({ t9: '2020-01-01T00:00:00.123456789Z' }, types), '{"t9":"1577836800.123456789"}');
  assert.is(encodeRow({ t9: '2299-12-31T23:59:59.5Z' }, types), '{"t9":"2299-12-31T23:59:59.5Z"}');
  assert.is(encodeRow({ n: [{ x: 1, y: new Date('2020-01-02T00:00:00Z') }] }, types), '{"n":[{"x":1,"y":"2020-01-02"}]}');
  assert.throws(() => encodeRow({ nt: [1] }, types), (e: unknown) => e instanceof QueryParamError && e.param === 'nt');
  assert.throws(() => encodeRow({ m: new Map([[{}, 1]]) }, types), (e: unknown) => e instanceof QueryParamError && e.param === 'm');
  // Without types: a JS Map is an object keyed by its keys' text, a plain object JSON text (bigint digits kept).
  assert.is(encodeRow({ m: new Map([[1n, true]]), o: { n: 1n } }), '{"m":{"1":true},"o":"{\\"n\\":1}"}');
});

test('nesting :: values nested deeper than 512 levels are refused with QueryParamError naming the column, not a stack overflow', () => {
  const nest = (depth: number, wrap: (v: unknown) => unknown): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = wrap(v);
    return v;
  };
  const wraps: [string, (v: unknown) => unknown][] = [['array', (v) => [v]], ['object', (v) => ({ a: v })], ['Map', (v) => new Map([['k', v]])]];
  const types = new Map([['j', parseColumnType('JSON')], ['m', parseColumnType('Map(String, String)')]]);
  for (const [kind, wrap] of wraps) {
    // 500 levels go through as before; 5,000 overflowed the stack (a RangeError) before.
    assert.not.throws(() => checkRow({ x: nest(500, wrap) }), `${kind} 500`);
    assert.ok(encodeRow({ x: nest(500, wrap) }).length > 500, `${kind} 500`);
    for (const row of [{ x: nest(5_000, wrap) }, { j: nest(5_000, wrap) }]) {
      const refused = (e: unknown): boolean => e instanceof QueryParamError && /nested deeper than 512 levels/.test(e.message) && /^[xj]/.test(e.param) && e.message.length < 300;
      assert.throws(() => checkRow(row), refused, `${kind}: checkRow`);
      assert.throws(() => encodeRow(row, types), refused, `${kind}: encodeRow with types`);
    }
  }
});

test('nesting :: wide arrays and one array given twice are neither too deep nor circular', () => {
  const types = new Map([['xs', parseColumnType('Array(Array(UInt16))')], ['j', parseColumnType('JSON')]]);
  const wide = Array.from({ length: 600 }, (_, i) => [i]);
  const shared = [1, 2];
  // 600 inner arrays are 600 siblings, not 600 levels: each is left before the next.
  assert.equal(JSON.parse(encodeRow({ xs: wide })), { xs: wide });
  assert.equal(JSON.parse(encodeRow({ xs: wide }, types)), { xs: wide });
  assert.equal(JSON.parse(encodeRow({ j: { xs: wide } }, types)), { j: { xs: wide } });
  assert.not.throws(() => checkRow({ xs: wide }));
  assert.is(encodeRow({ xs: [shared, shared] }), '{"xs":[[1,2],[1,2]]}');
  assert.is(encodeRow({ xs: [shared, shared] }, types), '{"xs":[[1,2],[1,2]]}');
  assert.is(encodeRow({ j: { a: shared, b: [shared, shared] } }, types), '{"j":{"a":[1,2],"b":[[1,2],[1,2]]}}');
  assert.not.throws(() => checkRow({ xs: [shared, shared] }));
});

test('encodeRow :: a Date a typed DateTime inside a Map or named Tuple cannot hold is refused, naming the element', () => {
  const types = new Map([['m', parseColumnType("Map(String, DateTime('UTC'))")], ['t', parseColumnType('Tuple(a DateTime, b UInt8)')]]);
  const late = new Date('2250-01-01T00:00:00Z');
  const cases: [Record<string, unknown>, string][] = [
    [{ m: new Map([['k', late]]) }, 'm[k]'], [{ m: { k: new Date(-1000) } }, 'm[k]'],
    [{ t: { a: late, b: 1 } }, 't.a'], [{ t: [new Date(-1000), 1] }, 't.a'], [{ t: { a: new Date(2 ** 32 * 1000), b: 1 } }, 't.a'],
  ];
  for (const [row, param] of cases) {
    assert.throws(() => encodeRow(row, types), (e: unknown) => e instanceof QueryParamError && e.param === param && /outside DateTime's range/.test(e.message), param);
  }
  assert.is(encodeRow({ m: { k: new Date(0) }, t: { a: new Date(2 ** 32 * 1000 - 1000), b: 1 } }, types), '{"m":{"k":"0000000000"},"t":{"a":"4294967295","b":1}}');
});

test('encodeRows :: one line per row, each ending in a newline', () => {
  assert.is(encodeRows([{ a: 1 }, { a: 2 }]), '{"a":1}\n{"a":2}\n');
  assert.is(encodeRows([]), '');
});

test('checkRow :: refuses exactly the rows encodeRow refuses, with the same error', () => {
  const circular: unknown[] = [];
  circular.push(circular);
  const cases: unknown[] = [
    { a: 1, b: 'x', c: null, d: [1, 2n, true, null, 'y'], e: new Date(0), f: undefined, g: 2n, h: false },
    { s: 'a\uD800b' }, { arr: ['ok', 'a\uDC00'] }, { arr: [1, undefined] }, { arr: [1, , 3] }, { arr: [[1, 'a\uD800']] },
    { d: new Date(Number.NaN) }, { d: new Date(Date.UTC(1899, 11, 31)) }, { d: new Date(2 ** 32 * 1000 - 1) }, { d: new Date(Date.UTC(2300, 0, 1)) }, { d: new Date(Date.UTC(2200, 0, 1)) }, { d: [new Date(Date.UTC(1850, 0, 1))] },
    { f: () => 1 }, { y: Symbol('s') }, { arr: [Symbol('s')] }, { o: { k: 1, n: { m: [1] } } }, { o: { bad: 'a\uD800' } },
    { m: new Map([['k', 1]]) }, { c: circular }, { u: new Uint8Array(2) }, { '': 1 }, { 'bad\nname': 1 },
    [1], null, 'row', 5,
  ];
  // The one difference: a Date from 1900 to 1970 passes the check (a Date32 column holds it;
  // the table's description decides), where encodeRow, for a column it knows nothing of, refuses it.
  const early = { d: new Date(Date.UTC(1950, 5, 15)) };
  assert.not.throws(() => checkRow(early));
  assert.throws(() => encodeRow(early), /outside DateTime's range/);
  assert.is(encodeRow(early, new Map([['d', 'date32']])), '{"d":"1950-06-15"}');
  for (const row of cases) {
    let encoded: unknown;
    let checked: unknown;
    try { encodeRow(row as never); } catch (e) { encoded = e; }
    try { checkRow(row as never); } catch (e) { checked = e; }
    assert.is(checked === undefined, encoded === undefined, `same verdict for ${String((encoded as Error | undefined)?.message ?? 'a good row')}`);
    if (encoded !== undefined) {
      assert.instance(checked, QueryParamError);
      assert.is((checked as Error).message, (encoded as Error).message);
    }
  }
});

test.run();
