import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseColumnType } from '../../src/clickhouse/column-type.js';
import { type ColumnTypes, binaryParts, binaryPlan } from '../../src/clickhouse/encode-binary.js';
import { decodeRowBinary } from '../../src/clickhouse/decode-binary.js';
import { insertHead } from '../../src/clickhouse/prepare.js';
import type { Row } from '../../src/clickhouse/types.js';
import { ChunkWriter } from '../../src/clickhouse/encode-bytes.js';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { seeded } from '../seeded.js';

const test = suite('encode-binary');

const typesOf = (columns: Record<string, string>): ColumnTypes =>
  new Map(Object.entries(columns).map(([name, text]) => [name, { type: parseColumnType(text), text }]));

const quoted = (keys: readonly string[]): string => `(${keys.map((k) => `\`${k}\``).join(', ')})`;
const head = (columns: string): string => insertHead('`t`', columns, 'RowBinaryWithNamesAndTypes');

/** The body binaryParts writes, without its statement head: what the server reads as RowBinaryWithNamesAndTypes. */
function body(columns: Record<string, string>, rows: readonly Row[]): Buffer {
  const keys = Object.keys(columns);
  const plan = binaryPlan(head(quoted(keys)), keys, typesOf(columns));
  if (!plan) throw new Error('no plan');
  const all = Buffer.concat([...binaryParts(plan, rows)].flatMap((p) => p.chunks));
  const statement = Buffer.from(plan.head);
  assert.ok(all.subarray(0, statement.length).equals(statement), 'the statement comes first');
  return all.subarray(statement.length);
}

const COLUMNS = {
  u8: 'UInt8', u16: 'UInt16', u32: 'UInt32', u64: 'UInt64', i8: 'Int8', i16: 'Int16', i32: 'Int32', i64: 'Int64', f64: 'Float64',
  b: 'Bool', s: 'String', dt: "DateTime('UTC')", e8: "Enum8('a' = 1, 'b' = -2)", e16: "Enum16('x' = 1000, 'y' = -1000)",
  ns: 'Nullable(String)', lc: 'LowCardinality(String)', arr: 'Array(UInt32)', nested: 'Array(Array(Nullable(Int64)))',
};

function randomRow(next: () => number, i: number): Row {
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const text = () => Array.from({ length: int(0, 12) }, () => ['a', 'é', '😀', '"', '\\', '\n', '\0', 'Z'][int(0, 7)]).join('');
  return {
    u8: int(0, 255), u16: int(0, 65535), u32: int(0, 2 ** 32 - 1), u64: i % 2 === 0 ? int(0, 2 ** 53 - 1) : 18446744073709551615n - BigInt(i),
    i8: int(-128, 127), i16: int(-32768, 32767), i32: int(-(2 ** 31), 2 ** 31 - 1), i64: i % 2 === 0 ? int(-(2 ** 53) + 1, 2 ** 53 - 1) : -(2n ** 63n) + BigInt(i),
    f64: [0.1, -1e-300, 1.5e300, -0, NaN, Infinity, -Infinity, next()][int(0, 7)] as number,
    b: next() < 0.5, s: text(), dt: new Date(int(0, 2 ** 32 - 1) * 1000), e8: ['a', 'b'][int(0, 1)], e16: ['x', 'y'][int(0, 1)],
    ns: next() < 0.3 ? null : text(), lc: text(), arr: Array.from({ length: int(0, 3) }, () => int(0, 1000)),
    nested: Array.from({ length: int(0, 2) }, () => Array.from({ length: int(0, 2) }, () => (next() < 0.3 ? null : int(-1000, 1000)))),
  };
}

test('rows written in binary read back as the same values through the RowBinary decoder', () => {
  const next = seeded(20261206);
  const rows = Array.from({ length: 3_000 }, (_, i) => randomRow(next, i));
  const back = decodeRowBinary(body(COLUMNS, rows), { int64: 'auto' });
  assert.is(back.length, rows.length);
  rows.forEach((row, i) => {
    const got = back[i] as Row;
    for (const key of Object.keys(COLUMNS)) {
      if (key === 'f64' && Number.isNaN(row[key])) assert.ok(Number.isNaN(got[key]), `row ${i} f64`);
      else if (key === 'dt') assert.is((got[key] as Date).getTime(), (row[key] as Date).getTime(), `row ${i} dt`);
      else assert.equal(got[key], row[key], `row ${i} ${key}`);
    }
  });
});

test('the bytes of each form, as RowBinary lays them out', () => {
  const hex = (columns: Record<string, string>, row: Row): string => {
    const bytes = body(columns, [row]);
    // The header: count, names, types; the row follows it.
    const header = 1 + Object.keys(columns).reduce((n, k) => n + 1 + Buffer.byteLength(k) + 1 + Buffer.byteLength(columns[k] as string), 0);
    return bytes.subarray(header).toString('hex');
  };
  assert.is(hex({ x: 'Int64' }, { x: -1 }), 'ffffffffffffffff');
  assert.is(hex({ x: 'Int64' }, { x: -(2 ** 32) - 1 }), 'fffffffffeffffff');
  assert.is(hex({ x: 'UInt64' }, { x: 2 ** 53 - 1 }), 'ffffffffffff1f00');
  assert.is(hex({ x: 'UInt64' }, { x: 18446744073709551615n }), 'ffffffffffffffff');
  assert.is(hex({ x: "Enum8('a' = -2)" }, { x: 'a' }), 'fe');
  assert.is(hex({ x: "Enum16('a' = -300)" }, { x: 'a' }), 'd4fe');
  assert.is(hex({ x: 'Nullable(UInt8)' }, { x: null }), '01');
  assert.is(hex({ x: 'Nullable(UInt8)' }, { x: 7 }), '0007');
  assert.is(hex({ x: 'Bool' }, { x: true }), '01');
  assert.is(hex({ x: 'Int16' }, { x: -2 }), 'feff');
  assert.is(hex({ x: 'String' }, { x: 'x'.repeat(200) }), `c801${'78'.repeat(200)}`);
  assert.is(hex({ x: 'Array(UInt8)' }, { x: [1, 2] }), '020102');
  assert.is(hex({ x: 'Float64' }, { x: 1.5 }), '000000000000f83f');
  assert.is(hex({ x: 'Float64' }, { x: -0 }), '0000000000000000', '-0 as 0, as the text path writes it');
  assert.is(hex({ x: "DateTime('UTC')" }, { x: new Date(1_600_000_000_999) }), (1_600_000_000).toString(16).match(/../g)!.reverse().join(''), 'whole seconds, the milliseconds dropped');
});

test('a long or non-ASCII string takes its UTF-8 length', () => {
  const s = `${'x'.repeat(200)}ü😀`;
  const bytes = body({ s: 'String' }, [{ s }]);
  const back = decodeRowBinary(bytes, { int64: 'auto' });
  assert.equal(back, [{ s }]);
});

test('fits: only values with their exact binary form; anything else leaves the statement to JSONEachRow', () => {
  const keys = Object.keys(COLUMNS);
  const plan = binaryPlan(head(quoted(keys)), keys, typesOf(COLUMNS));
  assert.ok(plan);
  const next = seeded(7);
  const good = randomRow(next, 0);
  assert.ok(plan.fits(good));
  const misfits: Row = {
    u8: 256, u16: -1, u32: 1.5, u64: -1, i8: 128, i16: '1', i32: 2 ** 31, i64: 2n ** 63n, f64: '1.5', b: 2, s: 1,
    dt: new Date(-1000), e8: 'c', e16: 5, ns: undefined, lc: null, arr: [1, -1], nested: [[1.5]],
  };
  for (const [key, value] of Object.entries(misfits)) assert.not.ok(plan.fits({ ...good, [key]: value }), `${key}: ${String(value)} does not fit`);
  assert.ok(plan.fits({ ...good, e8: -2, e16: 1000, b: 1, u64: 5n }), 'enum values by number, Bool as 0/1, a bigint');
});

test('no plan for a column of a type without a plain binary form, or one the table does not have', () => {
  for (const type of ['Float32', 'Decimal(10, 2)', 'Date', 'DateTime64(3)', 'UUID', 'UInt128', 'Map(String, UInt8)', 'Tuple(UInt8, String)', 'FixedString(3)', 'IPv4']) {
    assert.is(binaryPlan(head('(`x`)'), ['x'], typesOf({ x: type })), undefined, type);
  }
  assert.is(binaryPlan(head('(`x`)'), ['x'], typesOf({ y: 'UInt8' })), undefined, 'unknown column');
  assert.is(binaryPlan(head('()'), [], typesOf({ y: 'UInt8' })), undefined, 'no column');
});

test('the compiled writer takes the values the codecs take and writes the same bytes, across chunk ends; a plan too wide to compile uses the codecs', () => {
  const keys = Object.keys(COLUMNS);
  const compiled = binaryPlan(head(quoted(keys)), keys, typesOf(COLUMNS));
  const plain = binaryPlan(head(quoted(keys)), keys, typesOf(COLUMNS), false);
  assert.ok(compiled && plain);
  assert.is.not(compiled.write, plain.write);
  const next = seeded(424242);
  // 20,000 rows: the writer's chunks (4 KiB, doubling to 256 KiB) end inside rows and values many times.
  const rows = Array.from({ length: 20_000 }, (_, i) => randomRow(next, i));
  const written = (plan: NonNullable<typeof compiled>, given: readonly Row[]) => Buffer.concat([...binaryParts(plan, given)].flatMap((p) => p.chunks));
  assert.ok(written(compiled, rows).equals(written(plain, rows)), 'the same bytes');
  const values: unknown[] = [0, 1, -1, 2, -2, 127, 128, -128, -129, 255, 256, 32767, -32769, 65535, 65536, 2 ** 31, -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32,
    2 ** 53 - 1, 2 ** 53, -(2 ** 53), 1.5, NaN, Infinity, -0, 1000, -1000, '1', 'a', 'b', 'x', 'y', '', null, undefined, true, false, 5n, -5n,
    2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n), -(2n ** 63n) - 1n, new Date(0), new Date(-1), new Date(2 ** 32 * 1000 - 1), new Date(2 ** 32 * 1000),
    new Date(NaN), [], [1], [-1], [null], [[1]], [[null, 2]], [1.5], ['a'], {}, new Map(),
    // Lengths at the edges of one and two LEB128 bytes.
    ...[127, 128, 16_383, 16_384].map((n) => Array.from({ length: n }, (_, i) => i % 3))];
  const good = randomRow(seeded(5), 0);
  for (const key of keys) {
    for (const value of values) {
      const row = { ...good, [key]: value };
      assert.is(compiled.fits(row), plain.fits(row), `${key}: ${String(value)}`);
      if (compiled.fits(row)) assert.ok(written(compiled, [row]).equals(written(plain, [row])), `${key}: ${String(value)} written the same`);
    }
  }
  const wide = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`c${i}`, i % 2 === 0 ? 'UInt8' : 'Nullable(String)']));
  const wideRows = Array.from({ length: 50 }, (_, r) => Object.fromEntries(Object.keys(wide).map((k, i) => [k, i % 2 === 0 ? (r + i) % 256 : r % 3 === 0 ? null : `v${r}`])));
  assert.equal(decodeRowBinary(body(wide, wideRows), { int64: 'auto' }), wideRows);
});

test('a row changed after its check throws when written, naming the column (compiled, and by the codecs of a plan too wide to compile)', () => {
  for (const compile of [true, false]) {
    const plan = binaryPlan(head('(`n`)'), ['n'], typesOf({ n: 'UInt8' }), compile);
    assert.ok(plan);
    const rows: Row[] = [{ n: 1 }, { n: 2 }];
    assert.ok(rows.every(plan.fits));
    (rows[1] as Row).n = 'two';
    assert.throws(() => [...binaryParts(plan, rows)], (e: unknown) => e instanceof QueryParamError && e.param === 'n' && /changed after the insert was called/.test(e.message), `compile ${compile}`);
  }
});

test('a string changed into one with a lone surrogate is refused as the text encoder refuses it, naming the column or element (compiled or not)', () => {
  for (const compile of [true, false]) {
    const plan = binaryPlan(head('(`s`, `a`)'), ['s', 'a'], typesOf({ s: 'String', a: 'Array(String)' }), compile);
    assert.ok(plan);
    const refused = (param: string) => (e: unknown): boolean => e instanceof QueryParamError && e.param === param && /string holds a lone UTF-16 surrogate/.test(e.message);
    assert.throws(() => [...binaryParts(plan, [{ s: 'a\uD800b', a: [] }])], refused('s'), `compile ${compile}`);
    assert.throws(() => [...binaryParts(plan, [{ s: 'ok', a: ['fine', 'x\uDC00'] }])], refused('a[1]'), `compile ${compile}`);
  }
});

test('a row begun at any place near a chunk\'s end is written whole, compiled or by the codecs', () => {
  const columns = { n: 'Nullable(Int32)', a: 'Array(Nullable(UInt8))', s: 'Nullable(String)', u: 'UInt64', t: "DateTime('UTC')", b: 'Bool' };
  const keys = Object.keys(columns);
  const rows: Row[] = [
    { n: -5, a: [1, null, 3], s: 'é中', u: 18446744073709551615n, t: new Date(1_600_000_000_000), b: true },
    { n: null, a: [null], s: null, u: 7, t: new Date(0), b: false },
  ];
  for (const compile of [true, false]) {
    const plan = binaryPlan(head(quoted(keys)), keys, typesOf(columns), compile);
    assert.ok(plan);
    for (const row of rows) {
      const ref = new ChunkWriter();
      plan.write(ref, row);
      const want = Buffer.concat(ref.take()).toString('hex');
      for (let left = 0; left <= 48; left++) {
        const out = new ChunkWriter();
        const start = out.buf.length - left;
        out.pos = start;
        plan.write(out, row);
        assert.is(Buffer.concat(out.take()).subarray(start).toString('hex'), want, `compile ${compile}, ${left} bytes left`);
      }
    }
  }
});

test.run();
