// The TabSeparated insert writer (issue 13, fast codecs for servers before 22.1): the text of
// each form, escapes, the same values taken as the binary writer takes, rows read back through
// the client's own TabSeparated decoder, a line no row reads, and rows changed after their check.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseColumnType } from '../../src/clickhouse/column-type.js';
import { type ColumnTypes, binaryPlan } from '../../src/clickhouse/encode-binary.js';
import { tsvPlan } from '../../src/clickhouse/encode-tsv.js';
import { decodeTsvRows } from '../../src/clickhouse/decode.js';
import { insertHead } from '../../src/clickhouse/prepare.js';
import type { Row } from '../../src/clickhouse/types.js';
import { ChunkWriter } from '../../src/clickhouse/encode-bytes.js';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { seeded } from '../seeded.js';

const test = suite('encode-tsv');

const typesOf = (columns: Record<string, string>): ColumnTypes =>
  new Map(Object.entries(columns).map(([name, text]) => [name, { type: parseColumnType(text), text }]));
const quoted = (keys: readonly string[]): string => `(${keys.map((k) => `\`${k}\``).join(', ')})`;

function planOf(columns: Record<string, string>) {
  const keys = Object.keys(columns);
  const plan = tsvPlan(insertHead('`t`', quoted(keys), 'TabSeparated'), keys, typesOf(columns));
  if (!plan) throw new Error('no plan');
  return plan;
}

/** The text the plan writes for `rows`, without its statement head. */
function text(columns: Record<string, string>, rows: readonly Row[], out = new ChunkWriter()): string {
  const plan = planOf(columns);
  const all = Buffer.concat([...plan.parts(rows, out)].flatMap((p) => p.chunks)).toString('utf8');
  assert.ok(all.startsWith(`INSERT INTO \`t\` ${quoted(Object.keys(columns))} FORMAT TabSeparated\n`), 'the statement comes first');
  return all.slice(all.indexOf('\n') + 1);
}

// 18.16's types (no Bool there); DateTime is written as epoch seconds, which the select decoder does not read: tested by its text.
const COLUMNS = {
  u8: 'UInt8', u16: 'UInt16', u32: 'UInt32', u64: 'UInt64', i8: 'Int8', i16: 'Int16', i32: 'Int32', i64: 'Int64', f64: 'Float64',
  s: 'String', e8: "Enum8('a' = 1, 'b' = -2, 'x\\ty' = 3)", e16: "Enum16('x' = 1000, 'y\\'s' = -1000)",
  ns: 'Nullable(String)', lc: 'LowCardinality(String)', arr: 'Array(UInt32)', nested: 'Array(Array(Nullable(Int64)))', as: 'Array(Nullable(String))',
};
const PIECES = ['a', 'é', '😀', '"', "'", '\\', '\\N', '\n', '\t', '\r', '\0', '\b', '\f', '\x01', '\x1f', '\x7f', '[', ']', ',', 'NULL', 'Z'];

function randomRow(next: () => number, i: number): Row {
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const str = () => Array.from({ length: int(0, 12) }, () => PIECES[int(0, PIECES.length - 1)]).join('');
  return {
    u8: int(0, 255), u16: int(0, 65535), u32: int(0, 2 ** 32 - 1), u64: i % 2 === 0 ? int(0, 2 ** 53 - 1) : 18446744073709551615n - BigInt(i),
    i8: int(-128, 127), i16: int(-32768, 32767), i32: int(-(2 ** 31), 2 ** 31 - 1), i64: i % 2 === 0 ? int(-(2 ** 53) + 1, 2 ** 53 - 1) : -(2n ** 63n) + BigInt(i),
    f64: [0.1, -1e-300, 1.5e300, 1e21, 5e-324, NaN, Infinity, -Infinity, next() * 1e6 - 5e5, 2 ** 60][int(0, 9)] as number,
    s: str(), e8: ['a', 'b', 'x\ty'][int(0, 2)], e16: ['x', "y's"][int(0, 1)], ns: next() < 0.3 ? null : str(), lc: str(),
    arr: Array.from({ length: int(0, 3) }, () => int(0, 1000)),
    nested: Array.from({ length: int(0, 2) }, () => Array.from({ length: int(0, 2) }, () => (next() < 0.3 ? null : int(-1000, 1000)))),
    as: Array.from({ length: int(0, 3) }, () => (next() < 0.3 ? null : str())),
  };
}

test('rows written as TabSeparated read back as the same values through the client\'s TabSeparated decoder, across chunk ends', () => {
  const next = seeded(20261208);
  // 20,000 rows: the writer's chunks (16 KiB, doubling to 256 KiB) end inside rows and values many times.
  const rows = Array.from({ length: 20_000 }, (_, i) => randomRow(next, i));
  // The types line as the server writes it: escaped as TabSeparated text.
  const header = `${Object.keys(COLUMNS).join('\t')}\n${Object.values(COLUMNS).map((t) => t.replace(/\\/g, '\\\\')).join('\t')}\n`;
  const back = decodeTsvRows(header + text(COLUMNS, rows), { int64: 'bigint', serverTimeZone: 'UTC' });
  assert.is(back.length, rows.length);
  rows.forEach((row, i) => {
    const got = back[i] as Row;
    for (const key of Object.keys(COLUMNS)) {
      const want = row[key];
      if (key === 'f64' && Number.isNaN(want)) assert.ok(Number.isNaN(got[key]), `row ${i} f64`);
      else if (key === 'u64' || key === 'i64') assert.is(got[key], BigInt(want as number | bigint), `row ${i} ${key}`);
      else if (key === 'nested') assert.equal(got[key], (want as (number | null)[][]).map((a) => a.map((v) => (v === null ? null : BigInt(v)))), `row ${i} nested`);
      else assert.equal(got[key], want, `row ${i} ${key}`);
    }
  });
});

test('the text of each form, as ClickHouse reads TabSeparated', () => {
  const one = (type: string, value: unknown): string => text({ x: type }, [{ x: value }]);
  assert.is(one('Int64', -1), '-1\n');
  assert.is(one('UInt64', 18446744073709551615n), '18446744073709551615\n');
  assert.is(one('Int64', -(2n ** 63n)), '-9223372036854775808\n');
  assert.is(one('Float64', 1 / 3), '0.3333333333333333\n');
  assert.is(one('Float64', 1e21), '1e+21\n');
  assert.is(one('Float64', -0), '0\n', '-0 as 0, as the other paths write it');
  // Integral floats past 2**53 (not safe integers) as JavaScript prints them: digit by digit arithmetic is wrong there.
  for (const v of [2 ** 53 + 2, 2 ** 62 + 2048, -(2 ** 60) - 4096, 9.2e18, 2 ** 63, 1e20]) assert.is(one('Float64', v), `${String(v)}\n`, String(v));
  assert.is(one('Array(Float64)', [2 ** 62 + 2048]), `[${String(2 ** 62 + 2048)}]\n`);
  assert.is(one('Float64', NaN) + one('Float64', Infinity) + one('Float64', -Infinity), 'nan\ninf\n-inf\n');
  assert.is(one('String', 'a\\b\tc\nd\re\0f\bg\fh\'i"j\x01\x7fé😀'), 'a\\\\b\\tc\\nd\\re\\0f\\bg\\fh\\\'i"j\\x01\\x7fé😀\n');
  assert.is(one('String', '\\N'), '\\\\N\n', 'a string "\\N" is not a null');
  assert.is(one('Nullable(String)', null), '\\N\n');
  assert.is(one('DateTime', new Date(1_600_000_000_999)), '1600000000\n', 'epoch seconds, the milliseconds dropped');
  assert.is(one('DateTime', new Date(1000)), '0000000001\n', 'ten digits');
  assert.is(one('Array(DateTime)', [new Date(0), new Date(2 ** 32 * 1000 - 1000)]), "['0000000000','4294967295']\n");
  assert.is(one("Enum8('a' = 1, 'b\\'c' = 2)", 2), "b\\'c\n", 'an enum given by its number is written by its name');
  assert.is(one("Array(Enum8('a' = 1, 'b' = 2))", ['b', 1]), "['b','a']\n");
  assert.is(one('Array(Nullable(String))', ["it's", null, '\t']), "['it\\'s',NULL,'\\t']\n");
  assert.is(one('Array(Array(Int32))', [[1, -2], []]), '[[1,-2],[]]\n');
  assert.is(one('Bool', true) + one('Bool', 0), 'true\nfalse\n');
  assert.is(text({ a: 'UInt8', b: 'String', c: 'Nullable(UInt8)' }, [{ a: 1, b: '', c: null }, { a: 2, b: 'x', c: 3 }]), '1\t\t\\N\n2\tx\t3\n', 'a tab between columns, a newline after each row');
});

test('a row written wherever its chunk ends: every literal, quote, escape and multi-byte character is whole', () => {
  const columns = {
    s: 'String', as: 'Array(String)', ns: 'Nullable(String)', n2: 'Nullable(String)', dt: 'DateTime', adt: 'Array(DateTime)', b: 'Bool', f: 'Float64', af: 'Array(Float64)',
    e: "Enum8('a\\'b' = 1)", ae: "Array(Enum8('a\\'b' = 1))", u: 'UInt64',
  };
  const row: Row = {
    s: "it's é\t", as: ["q'", 'é😀\n', '', 'plain'], ns: null, n2: 'x', dt: new Date(1_600_000_000_000), adt: [new Date(0), new Date(1000)], b: true, f: NaN, af: [-Infinity, 0.5],
    e: "a'b", ae: [1, "a'b"], u: 18446744073709551615n,
  };
  const want = text(columns, [row]);
  const plan = planOf(columns);
  const bytes = Buffer.byteLength(want);
  // The row starts `gap` bytes before the end of the writer's chunk, for every gap up to past the row's length.
  for (let gap = 0; gap <= bytes + 4; gap++) {
    const out = new ChunkWriter();
    const filler = out.buf.length - gap;
    out.buf.fill(120, 0, filler);
    out.pos = filler;
    plan.write(out, row);
    plan.write(out, row);
    const all = Buffer.concat(out.take());
    assert.is(all.subarray(filler).toString('utf8'), want + want, `gap ${gap}`);
  }
});

test('fits: the values the binary writer takes, no more and no fewer', () => {
  const columns = { ...COLUMNS, b: 'Bool', dt: 'DateTime' };
  const keys = Object.keys(columns);
  const tsv = planOf(columns);
  const binary = binaryPlan(insertHead('`t`', quoted(keys), 'RowBinaryWithNamesAndTypes'), keys, typesOf(columns));
  assert.ok(binary);
  const good: Row = { ...randomRow(seeded(5), 0), b: true, dt: new Date(0) };
  assert.ok(tsv.fits(good));
  const values: unknown[] = [0, 1, -1, 255, 256, -129, 2 ** 32, 2 ** 53, 1.5, NaN, Infinity, '1', 'a', 'x\ty', '', null, undefined, true, false, 5n, -5n,
    2n ** 64n, -(2n ** 63n) - 1n, new Date(0), new Date(-1), new Date(2 ** 32 * 1000), new Date(NaN), [], [1], [-1], [null], [[1]], [[null, 2]], [1.5], ['a'], [null, 'a'], {}, new Map()];
  for (const key of keys) for (const value of values) assert.is(tsv.fits({ ...good, [key]: value }), binary.fits({ ...good, [key]: value }), `${key}: ${String(value)}`);
});

test('no plan for a column of a type without a plain form, or one the table does not have', () => {
  for (const type of ['Float32', 'Decimal(10, 2)', 'Date', 'DateTime64(3)', 'UUID', 'Map(String, UInt8)', 'Tuple(UInt8, String)', 'FixedString(3)']) {
    assert.is(tsvPlan('', ['x'], typesOf({ x: type })), undefined, type);
  }
  assert.is(tsvPlan('', ['x'], typesOf({ y: 'UInt8' })), undefined, 'unknown column');
  assert.is(tsvPlan('', [], typesOf({ y: 'UInt8' })), undefined, 'no column');
});

test('the line that stops a statement has a tab where a row of these columns must end, whatever their types', () => {
  for (const columns of [{ s: 'String' }, { s: 'String', t: 'String' }, { n: 'UInt8', a: 'Array(String)', z: 'Nullable(String)' }] as Record<string, string>[]) {
    const line = planOf(columns).unreadable;
    // Written after the last whole row (a row that throws is taken back): no empty line first, which a String column reads as a row.
    assert.ok(line.startsWith('\u0000') && line.endsWith('\n'), JSON.stringify(line));
    assert.is(line.slice(0, -1).split('\t').length, Object.keys(columns).length + 2, 'a field more than the columns, and a tab after it');
  }
});

test('a row changed after its check throws when written, naming the column; a string changed into a lone surrogate is refused naming the element', () => {
  const plan = planOf({ n: 'UInt8', a: 'Array(String)' });
  const rows: Row[] = [{ n: 1, a: [] }, { n: 2, a: [] }];
  assert.ok(rows.every(plan.fits));
  (rows[1] as Row).n = 'two';
  assert.throws(() => [...plan.parts(rows, new ChunkWriter())], (e: unknown) => e instanceof QueryParamError && e.param === 'n' && /changed after the insert was called/.test(e.message));
  const refused = (param: string) => (e: unknown): boolean => e instanceof QueryParamError && e.param === param && /lone UTF-16 surrogate/.test(e.message);
  assert.throws(() => [...plan.parts([{ n: 1, a: ['fine', 'x\uDC00'] }], new ChunkWriter())], refused('a[1]'));
  assert.throws(() => [...planOf({ s: 'String' }).parts([{ s: 'é\uD800' }], new ChunkWriter())], refused('s'));
});

test.run();
