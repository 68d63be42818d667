import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Input, decodeRowBinary, readersOf } from '../../src/clickhouse/decode-binary.js';
import { compiledRowReader } from '../../src/clickhouse/decode-compiled.js';
import { ProtocolError } from '../../src/clickhouse/errors.js';
import { rowBuilder } from '../../src/clickhouse/row-builder.js';
import { RowBinaryStream } from '../../src/clickhouse/stream-decode.js';
import type { Int64Mode, Row } from '../../src/clickhouse/types.js';
import { seeded } from '../seeded.js';
import { le, str, varint } from './row-binary-bytes.js';

const test = suite('decode-compiled');

const f64 = (x: number): number[] => { const b = Buffer.alloc(8); b.writeDoubleLE(x); return [...b]; };

// Every type the compiled reader writes out, and some it hands to their readers (Enum16,
// Array(String), Nullable(Array(...)), UUID), each with a maker of random values' bytes.
type Maker = (r: () => number) => number[];
const int = (r: () => number, bits: number, signed: boolean): bigint => {
  const raw = BigInt.asUintN(bits, BigInt(Math.floor(r() * 2 ** 32)) * 2n ** 32n + BigInt(Math.floor(r() * 2 ** 32)));
  // Mostly small values, a few at the edges of the width.
  const small = BigInt(Math.floor((r() - (signed ? 0.5 : 0)) * 3_000_000));
  return r() < 0.7 ? BigInt.asUintN(bits, small) : raw;
};
const text = (r: () => number): string => {
  const length = r() < 0.1 ? 0 : r() < 0.1 ? 130 + Math.floor(r() * 200) : Math.floor(r() * 20);
  return Array.from({ length }, () => (r() < 0.2 ? 'ü€😀'[Math.floor(r() * 3)] ?? 'x' : String.fromCharCode(32 + Math.floor(r() * 90)))).join('');
};
const array = (item: Maker): Maker => (r) => {
  const n = r() < 0.05 ? 130 + Math.floor(r() * 50) : Math.floor(r() * 5);
  return [...varint(n), ...Array.from({ length: n }, () => item(r)).flat()];
};
const nullable = (inner: Maker): Maker => (r) => (r() < 0.3 ? [1] : [0, ...inner(r)]);
const COLUMNS: [string, string, Maker][] = [
  ['u8', 'UInt8', (r) => le(int(r, 8, false), 1)],
  ['b', 'Bool', (r) => [r() < 0.5 ? 1 : 0]],
  ['i8', 'Int8', (r) => le(int(r, 8, true), 1)],
  ['u16', 'UInt16', (r) => le(int(r, 16, false), 2)],
  ['i16', 'Int16', (r) => le(int(r, 16, true), 2)],
  ['u32', 'UInt32', (r) => le(int(r, 32, false), 4)],
  ['i32', 'Int32', (r) => le(int(r, 32, true), 4)],
  ['u64', 'UInt64', (r) => le(int(r, 64, false), 8)],
  ['i64', 'Int64', (r) => le(int(r, 64, true), 8)],
  ['f', 'Float64', (r) => f64(r() < 0.1 ? -0 : (r() - 0.5) * 1e6)],
  ['s', 'String', (r) => str(text(r))],
  ['dt', "DateTime('Asia/Tokyo')", (r) => le(BigInt(Math.floor(r() * 2 ** 32)), 4)],
  ['ns', 'Nullable(String)', nullable((r) => str(text(r)))],
  ['ni', 'Nullable(Int64)', nullable((r) => le(int(r, 64, true), 8))],
  ['lc', 'LowCardinality(Nullable(String))', nullable((r) => str(text(r)))],
  ['a8', 'Array(UInt8)', array((r) => le(int(r, 8, false), 1))],
  ['a32', 'Array(Int32)', array((r) => le(int(r, 32, true), 4))],
  ['af', 'Array(Float64)', array((r) => f64(r()))],
  ['e', "Enum8('a' = -1, 'b' = 2)", (r) => [r() < 0.5 ? 0xff : 2]],
  ['ne', "Nullable(Enum8('lo' = -128, 'zero' = 0, 'hi' = 127))", nullable((r) => [[0x80, 0, 0x7f][Math.floor(r() * 3)] as number])],
  ['le', "LowCardinality(Enum8('x' = 1, 'y' = 2))", (r) => [r() < 0.5 ? 1 : 2]],
  ['as', 'Array(String)', array((r) => str(text(r)))],
  ['na', 'Nullable(UInt32)', nullable((r) => le(int(r, 32, false), 4))],
  ['__proto__', 'UInt8', (r) => [Math.floor(r() * 256)]],
];

function randomBody(rows: number, seed: number): Buffer {
  const r = seeded(seed);
  const head = [...varint(COLUMNS.length), ...COLUMNS.flatMap(([n]) => str(n)), ...COLUMNS.flatMap(([, t]) => str(t))];
  const data = Array.from({ length: rows }, () => COLUMNS.flatMap(([, , make]) => make(r)));
  return Buffer.from([...head, ...data.flat()]);
}

// The rows as the plain builder reads them: each column by its reader, in a literal.
function plainRows(body: Buffer, int64: Int64Mode): Row[] {
  const input = new Input(body);
  const count = input.varint();
  const names = Array.from({ length: count }, () => input.string());
  const types = Array.from({ length: count }, () => input.string());
  const readers = readersOf(types, { int64 });
  const build = rowBuilder<Input>(names, 'cursor');
  const rows: Row[] = [];
  while (input.pos < body.length) rows.push(build(readers, input));
  return rows;
}

test('compiled :: 2,000 random rows of every type it writes out (and some it hands on) read as the plain readers read them, in each int64 mode', () => {
  const body = randomBody(2_000, 13);
  for (const int64 of ['auto', 'bigint', 'string'] as const) {
    const rows = decodeRowBinary(body, { int64 });
    assert.equal(rows, plainRows(body, int64), int64);
    assert.is(rows.length, 2_000);
  }
  const names = COLUMNS.map(([n]) => n);
  assert.ok(compiledRowReader(names, COLUMNS.map(([, t]) => t), 'auto') !== undefined, 'the header is compiled');
  assert.is(compiledRowReader(['x'], ['UUID'], 'auto'), undefined, 'a header with no type it writes out is not');
  const [row] = decodeRowBinary(body, { int64: 'auto' });
  assert.ok(Object.prototype.hasOwnProperty.call(row, '__proto__') && Object.getPrototypeOf(row) === Object.prototype, 'a column called __proto__ is a plain property');
});

test('compiled :: the same rows in chunks cut at every length from 1 to 9 bytes and at longer ones, and a body cut inside a row', () => {
  const body = randomBody(200, 7);
  const whole = decodeRowBinary(body, { int64: 'auto' });
  for (const size of [1, 2, 3, 4, 5, 6, 7, 8, 9, 37, 150, 1_000, 4_099]) {
    const decoder = new RowBinaryStream({ int64: 'auto' });
    const rows: Row[] = [];
    for (let at = 0; at < body.length; at += size) decoder.push(body.subarray(at, at + size), rows);
    rows.push(...decoder.end());
    assert.equal(rows, whole, `chunks of ${size}`);
  }
  for (const cut of [1, 2, 5, 9]) {
    assert.throws(() => decodeRowBinary(body.subarray(0, body.length - cut), { int64: 'auto' }), (e: unknown) => e instanceof ProtocolError);
  }
});

test('compiled :: an Enum8 byte with no name in the type fails as its reader fails, naming the value', () => {
  const head = [1, ...str('e'), ...str("Enum8('a' = -1, 'b' = 2)")];
  for (const [byte, value] of [[0x01, 1], [0xfe, -2], [0x80, -128]] as const) {
    const body = Buffer.from([...head, 0xff, byte]);
    assert.throws(() => decodeRowBinary(body, { int64: 'auto' }), (e: unknown) => e instanceof ProtocolError && e.message === `Enum8 value ${value} has no name in its type`);
    assert.throws(() => plainRows(body, 'auto'), (e: unknown) => e instanceof ProtocolError && e.message === `Enum8 value ${value} has no name in its type`);
  }
  assert.equal(decodeRowBinary(Buffer.from([...head, 0xff, 2]), { int64: 'auto' }), [{ e: 'a' }, { e: 'b' }]);
});

test('cache :: column names holding the separators do not share a reader with other names (a\\0b against a and b)', () => {
  // Two UInt8 columns a and b, then one UInt8 column named "a\0b": one key when the names were joined with \0.
  const two = Buffer.from([2, ...str('a'), ...str('b'), ...str('UInt8'), ...str('UInt8'), 1, 2]);
  const joined = Buffer.from([1, ...str('a\u0000b'), ...str('UInt8'), 7]);
  assert.equal(decodeRowBinary(two, { int64: 'auto' }), [{ a: 1, b: 2 }]);
  assert.equal(decodeRowBinary(joined, { int64: 'auto' }), [{ 'a\u0000b': 7 }]);
  const cells = rowBuilder<unknown[]>(['a', 'b'], 'cells');
  const one = rowBuilder<unknown[]>(['a\u0000b'], 'cells');
  assert.ok(cells !== one, 'a builder of its own');
});

test('compiled :: 64-bit values at the edges of a number, arrays of 127 and 128 items', () => {
  const edges = [2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 64n - 1n, 0n, 2n ** 32n];
  const signed = [-(2n ** 53n) + 1n, -(2n ** 53n), 2n ** 53n - 1n, 2n ** 53n, -(2n ** 63n), -1n, -(2n ** 32n)];
  const head = [3, ...str('u'), ...str('i'), ...str('a'), ...str('UInt64'), ...str('Int64'), ...str('Array(UInt32)')];
  const rows = edges.map((u, k) => {
    const n = [0, 1, 127, 128, 129, 255, 256][k] as number;
    return [...le(u, 8), ...le(signed[k] as bigint, 8), ...varint(n), ...Array.from({ length: n }, (_, j) => le(BigInt(j), 4)).flat()];
  });
  const body = Buffer.from([...head, ...rows.flat()]);
  for (const int64 of ['auto', 'bigint', 'string'] as const) assert.equal(decodeRowBinary(body, { int64 }), plainRows(body, int64), int64);
  const auto = decodeRowBinary(body, { int64: 'auto' });
  assert.equal(auto.map((r) => r.u), [2 ** 53 - 1, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 64n - 1n, 0, 2 ** 32]);
  assert.equal(auto.map((r) => r.i), [-(2 ** 53) + 1, -(2n ** 53n), 2 ** 53 - 1, 2n ** 53n, -(2n ** 63n), -1, -(2 ** 32)]);
  assert.equal(auto.map((r) => (r.a as number[]).length), [0, 1, 127, 128, 129, 255, 256]);
  assert.equal((auto[3]?.a as number[])[127], 127);
});

test('stream :: a row spanning many chunks is joined once, not again with every chunk (a 4 MiB String, a long Array(String))', () => {
  const big = 'x'.repeat(4 * 2 ** 20);
  const many = Array.from({ length: 40_000 }, (_, i) => `item ${i}`);
  const bodies = [
    Buffer.from([1, ...str('s'), ...str('String'), ...str(big), ...str('next')]),
    Buffer.from([1, ...str('a'), ...str('Array(String)'), ...varint(many.length), ...many.flatMap(str), ...varint(0)]),
  ];
  const concat = Buffer.concat;
  for (const body of bodies) {
    let copied = 0;
    Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
      const out = concat(list, total);
      copied += out.length;
      return out;
    }) as typeof Buffer.concat;
    try {
      const decoder = new RowBinaryStream({ int64: 'auto' });
      const rows: Row[] = [];
      for (let at = 0; at < body.length; at += 65_536) decoder.push(body.subarray(at, at + 65_536), rows);
      rows.push(...decoder.end());
      assert.is(rows.length, 2);
      assert.ok(copied < 4 * body.length, `${(copied / 2 ** 20).toFixed(1)} MiB copied for a ${(body.length / 2 ** 20).toFixed(1)} MiB body`);
    } finally {
      Buffer.concat = concat;
    }
  }
});

test.run();
