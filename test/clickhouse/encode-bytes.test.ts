import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ChunkWriter, rowWriter, statementParts } from '../../src/clickhouse/encode-bytes.js';
import { encodeRow } from '../../src/clickhouse/encode.js';
import type { Row } from '../../src/clickhouse/types.js';
import { seeded } from '../seeded.js';

const test = suite('encode-bytes');

// What rowWriter writes for `rows` (all giving the keys of the first), as text; or its error.
function written(rows: readonly Row[]): string {
  const out = new ChunkWriter();
  const write = rowWriter(rows.length > 0 ? Object.keys(rows[0] as Row).filter((k) => (rows[0] as Row)[k] !== undefined) : []);
  for (const row of rows) write(out, row);
  return Buffer.concat(out.take()).toString('utf8');
}

function expected(rows: readonly Row[]): string {
  return rows.map((row) => `${encodeRow(row)}\n`).join('');
}

function outcome(f: () => string): string {
  try {
    return f();
  } catch (e) {
    return `throws ${(e as Error).name}: ${(e as Error).message}`;
  }
}

const VALUES: unknown[] = [
  0, -0, 1, -1, 9, 10, 99, 100, -100, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 53, 1.5, -0.25, 1e21, 1e-7,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 12345678901234567890n, -5n, true, false, null,
  '', 'plain', 'with "quote"', 'back\\slash', 'tab\there', 'line\nbreak', '\u0000', '\u001f', '\u007f', 'é', 'Ωmega', '😀', '中文€', '中'.repeat(3000), 'a\uD800b',
  new Date(0), new Date(999), new Date(-1), new Date(99_999_999), new Date(100_000_000), new Date(1_600_000_000_123), new Date(4_294_900_000_000), new Date(2 ** 32 * 1000 - 1), new Date(2 ** 32 * 1000), new Date(Date.UTC(2020, 1, 29, 12)), new Date(Date.UTC(2200, 0, 1)), new Date(Number.NaN), new Date(Date.UTC(2300, 0, 1)),
  [], [1, 2, 3], [-1, 0, 2 ** 40], [1.5, 2], [1, 'a'], ['x', 'y'], [[1], [2, 3]], [1, undefined], [null], [true],
  new Map([['k', 1]]), { a: 1, b: [1, 'x'] }, Symbol('s'), () => 1,
];

test('rowWriter :: the bytes of encodeRow for every kind of value, and the same refusal', () => {
  for (const value of VALUES) {
    const rows: Row[] = [{ id: 1, v: value }, { id: 2, v: value }];
    assert.is(outcome(() => written(rows)), outcome(() => expected(rows)), `value ${String(typeof value === 'symbol' ? 'symbol' : value)}`);
  }
});

test('rowWriter :: odd column names, no columns, and rows bigger than a chunk', () => {
  const names = ['__proto__', 'with "quote"', 'é', 'nest.a', 'back\\slash'];
  const row: Row = {};
  for (const [i, name] of names.entries()) Object.defineProperty(row, name, { value: i, enumerable: true, writable: true, configurable: true });
  assert.is(written([row]), expected([row]));
  assert.is(written([{}, {}]), '{}\n{}\n');
  const big: Row = { s: 'x'.repeat(600_000), t: 'é'.repeat(200_000), u: '中'.repeat(200_000) };
  assert.is(written([big, { s: 'y', t: 'z', u: 'w' }]), expected([big, { s: 'y', t: 'z', u: 'w' }]));
});

test('rowWriter :: random rows (seeded) come out as encodeRow writes them', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const next = seeded(seed);
    const pick = (): unknown => VALUES[Math.floor(next() * VALUES.length)];
    const rows: Row[] = Array.from({ length: 2_000 }, () => ({ a: pick(), b: pick(), c: `s${Math.floor(next() * 1e6)}`, d: Math.floor((next() - 0.5) * 2 ** 50) }));
    // Row by row: a refused value refuses that row in both.
    for (const r of rows) assert.is(outcome(() => written([r])), outcome(() => expected([r])), `seed ${seed}`);
  }
});

test('rowWriter :: a wide row (written by calls, not written out) gives the same bytes', () => {
  const row: Row = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`column_${i}`, [i, `s${i}`, i / 7, null, new Date(i * 1000), [i], 'é"'][i % 7]]));
  assert.is(written([row, row]), expected([row, row]));
});

// The bytes rowWriter writes for `row` when the chunk it starts in has only `left` bytes free.
function writtenAtEnd(row: Row, left: number): string {
  const out = new ChunkWriter();
  const start = out.buf.length - left;
  out.pos = start;
  rowWriter(Object.keys(row))(out, row);
  return Buffer.concat(out.take()).subarray(start).toString('utf8');
}

test('rowWriter :: a row begun at any place near a chunk\'s end is written whole (keys, integers, dates, null, booleans)', () => {
  const row: Row = { a: 123456789012345, bb: 'x', c: [1, -22, 333], d: new Date(1_600_000_000_000), e: null, f: true, g: -9007199254740991 };
  const want = expected([row]);
  for (let left = 0; left <= 100; left++) assert.is(writtenAtEnd(row, left), want, `${left} bytes left`);
});

test('rowWriter :: a string of 3-byte UTF-8 characters begun at any place in a chunk keeps all its bytes', () => {
  for (const s of ['中'.repeat(3000), '€'.repeat(50), 'a中b€c'.repeat(700)]) {
    const row: Row = { id: 1, s };
    const want = expected([row]);
    for (let left = 0; left < 16_384; left += 97) assert.is(writtenAtEnd(row, left), want, `${left} bytes left`);
  }
});

test('statementParts :: each part says how many rows it and the parts before hold (what progress reports as sent)', () => {
  const rows: Row[] = Array.from({ length: 30_000 }, (_, i) => ({ id: i, s: `row-${i}-${'x'.repeat(30)}` }));
  let lines = 0;
  const counted: [number, number][] = [];
  for (const part of statementParts('INSERT INTO t FORMAT JSONEachRow\n', rows)) {
    for (const chunk of part.chunks) for (const byte of chunk) if (byte === 10) lines++;
    counted.push([part.rows, lines - 1]);
  }
  assert.ok(counted.length > 3, 'several parts');
  for (const [i, [said, sent]] of counted.entries()) assert.is(said, sent, `part ${i}`);
  assert.is(counted.at(-1)?.[0], rows.length);
});

test('ChunkWriter :: chunks are handed over as they fill, and none is reused', () => {
  const out = new ChunkWriter();
  const write = rowWriter(['s']);
  const taken: Buffer[] = [];
  for (let i = 0; i < 20_000; i++) {
    write(out, { s: `row-${i}-${'x'.repeat(40)}` });
    if (out.full) taken.push(...out.take());
  }
  taken.push(...out.take());
  assert.ok(taken.length > 2, 'more than one chunk');
  const text = Buffer.concat(taken).toString('utf8');
  assert.is(text.split('\n').length - 1, 20_000);
  assert.is(new Set(taken.map((c) => c.buffer)).size, taken.length, 'each chunk its own memory');
});

test.run();
