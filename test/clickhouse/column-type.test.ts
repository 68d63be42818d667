import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { columnEncoding, containsDecimal, parseColumnType, structuralType } from '../../src/clickhouse/column-type.js';
import { ProtocolError } from '../../src/clickhouse/errors.js';

const test = suite('column-type');

test('parse :: plain and parameterised types', () => {
  assert.equal(parseColumnType('UInt64'), { name: 'UInt64', args: [] });
  assert.equal(parseColumnType('Decimal(18, 4)'), { name: 'Decimal', args: [18, 4] });
  assert.equal(parseColumnType('FixedString(3)'), { name: 'FixedString', args: [3] });
  assert.equal(parseColumnType("DateTime('Asia/Tokyo')"), { name: 'DateTime', args: ['Asia/Tokyo'] });
  // An empty tuple (`SELECT tuple()`) has no argument at all.
  assert.equal(parseColumnType('Array(Tuple( ))'), { name: 'Array', args: [{ name: 'Tuple', args: [] }] });
});

test('parse :: nested types as the server prints them', () => {
  assert.equal(parseColumnType('Array(Nullable(String))'), {
    name: 'Array', args: [{ name: 'Nullable', args: [{ name: 'String', args: [] }] }],
  });
  assert.equal(parseColumnType('Tuple(UInt8, Array(String))'), {
    name: 'Tuple', args: [{ name: 'UInt8', args: [] }, { name: 'Array', args: [{ name: 'String', args: [] }] }],
  });
});

test('parse :: enum entries keep their names, escaped quotes included, and their values', () => {
  assert.equal(parseColumnType("Enum8('a' = 1, 'it\\'s' = -2)"), { name: 'Enum8', args: ['a', "it's"], values: [1, -2] });
  // Names with escapes, as the server writes them: each escape undone, not its letter kept.
  assert.equal(parseColumnType("Enum8('a\\nb' = 1, 'tab\\there' = 2, 'back\\\\slash' = 3, '\\x41' = 4)").args, ['a\nb', 'tab\there', 'back\\slash', 'A']);
});

test('parse :: the forms of modern servers: quoted element names, DESCRIBE line breaks, JSON and Dynamic parameters', () => {
  assert.equal(parseColumnType('Tuple(`a b` UInt8, c String)'), {
    name: 'Tuple', args: [{ name: 'UInt8', args: [], field: 'a b' }, { name: 'String', args: [], field: 'c' }],
  });
  assert.equal(parseColumnType('Tuple(\n    a UInt8,\n    b Map(String, Nullable(Int64)))'), {
    name: 'Tuple', args: [
      { name: 'UInt8', args: [], field: 'a' },
      { name: 'Map', args: [{ name: 'String', args: [] }, { name: 'Nullable', args: [{ name: 'Int64', args: [] }] }], field: 'b' },
    ],
  });
  assert.equal(parseColumnType("JSON(max_dynamic_paths=10, a UInt32, SKIP REGEXP 'x(')"), { name: 'JSON', args: ["max_dynamic_paths=10, a UInt32, SKIP REGEXP 'x('"] });
  assert.equal(parseColumnType('Dynamic(max_types=5)'), { name: 'Dynamic', args: ['max_types=5'] });
  assert.equal(parseColumnType('SimpleAggregateFunction(quantile(0.5), Float64)').args[1], { name: 'Float64', args: [] });
  // 26.7 escapes a backtick or a backslash in an element name with a backslash.
  assert.equal(parseColumnType('Tuple(`a\\`b` UInt8, `c\\\\d` UInt8)').args.map((t) => (t as { field?: string }).field), ['a`b', 'c\\d']);
});

test('helpers :: structuralType', () => {
  const point = { name: 'Tuple', args: [{ name: 'Float64', args: [] }, { name: 'Float64', args: [] }] };
  assert.equal(structuralType(parseColumnType('Point')), point);
  assert.equal(structuralType(parseColumnType('Polygon')), { name: 'Array', args: [{ name: 'Array', args: [point] }] });
  assert.equal(structuralType(parseColumnType('Nested(a UInt8)')), { name: 'Array', args: [{ name: 'Tuple', args: [{ name: 'UInt8', args: [], field: 'a' }] }] });
  assert.equal(structuralType(parseColumnType('String')), { name: 'String', args: [] });
});

test('parse :: Nested elements carry their field names', () => {
  assert.equal(parseColumnType('Nested(id UInt8, name String)'), {
    name: 'Nested', args: [{ name: 'UInt8', args: [], field: 'id' }, { name: 'String', args: [], field: 'name' }],
  });
});

test('parse :: garbage throws ProtocolError', () => {
  for (const bad of ['', 'Array(', 'Array(String', 'UInt8 junk(', "DateTime('x"]) {
    assert.throws(() => parseColumnType(bad), (e: unknown) => e instanceof ProtocolError && e.code === 'PROTOCOL', bad);
  }
});

test('helpers :: containsDecimal', () => {
  assert.ok(containsDecimal(parseColumnType('Array(Nullable(Decimal(9, 2)))')));
  assert.not.ok(containsDecimal(parseColumnType('Array(String)')));
});

test('helpers :: columnEncoding', () => {
  const of = (t: string) => columnEncoding(parseColumnType(t));
  assert.is(of('Date'), 'date');
  assert.is(of('Array(Nullable(Date))'), 'date');
  assert.is(of('LowCardinality(Nullable(Date32))'), 'date32');
  assert.is(of("DateTime64(3, 'Asia/Tokyo')"), 'datetime64');
  assert.is(of('Array(DateTime64(6))'), 'datetime64');
  assert.is(of('Nullable(Decimal(9, 2))'), 'decimal');
  assert.is(of('Tuple(Date, Decimal(9, 2))'), 'decimal');
  assert.is(of('DateTime'), undefined);
  assert.is(of("DateTime('UTC')"), undefined);
  assert.is(of('String'), undefined);
  assert.is(of('Tuple(Date, String)'), undefined);
});

test.run();
