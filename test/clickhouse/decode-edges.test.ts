// Edges of the decoders that a mutation run (breaking the code on purpose, one change at a
// time) showed no other test noticed: each test here fails on one such change.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { decodeRowBinary } from '../../src/clickhouse/decode-binary.js';
import { decodeTsvRows } from '../../src/clickhouse/decode.js';
import { UnsupportedBinaryType } from '../../src/clickhouse/binary-input.js';
import { ProtocolError } from '../../src/clickhouse/errors.js';
import { send } from '../../src/clickhouse/http.js';
import { unescapeTsv } from '../../src/clickhouse/text-escape.js';
import { RowBinaryCollector, RowBinaryStream, TsvStream } from '../../src/clickhouse/stream-decode.js';
import type { Row } from '../../src/clickhouse/types.js';
import { gc, heldBytes } from '../gc.js';
import { withFakeServer } from './fake-http.js';
import { le, str, varint } from './row-binary-bytes.js';

const test = suite('decode-edges');
const ctx = { int64: 'auto', serverTimeZone: 'UTC' } as const;

/** A RowBinaryWithNamesAndTypes header for `columns` (name, type). */
const header = (...columns: [string, string][]): number[] => [...varint(columns.length), ...columns.flatMap(([n]) => str(n)), ...columns.flatMap(([, t]) => str(t))];

test('binary :: two results with the same types and other column names keep their own names', () => {
  assert.equal(decodeRowBinary(Buffer.from([...header(['a', 'UInt32']), ...le(1n, 4)]), ctx), [{ a: 1 }]);
  assert.equal(decodeRowBinary(Buffer.from([...header(['b', 'UInt32']), ...le(2n, 4)]), ctx), [{ b: 2 }]);
});

test('binary :: a Nullable whose null flag has not come yet waits for it; a body that ends there is cut', () => {
  const head = header(['a', 'UInt8'], ['n', 'Nullable(UInt8)']);
  const decoder = new RowBinaryStream(ctx);
  const rows = decoder.push(Buffer.from([...head, 5]));
  decoder.push(Buffer.from([0, 7]), rows);
  rows.push(...decoder.end());
  assert.equal(rows, [{ a: 5, n: 7 }]);
  assert.throws(() => decodeRowBinary(Buffer.from([...head, 5]), ctx), (e: unknown) => e instanceof ProtocolError);
});

test('binary :: arrays of signed and wider integers', () => {
  const body = Buffer.from([
    ...header(['i8', 'Array(Int8)'], ['u16', 'Array(UInt16)'], ['i16', 'Array(Int16)'], ['u32', 'Array(UInt32)'], ['i32', 'Array(Int32)']),
    2, 0xff, 0x80, 2, ...le(65_535n, 2), ...le(1n, 2), 2, ...le(-1n, 2), ...le(-32_768n, 2), 1, ...le(4_294_967_295n, 4), 2, ...le(-1n, 4), ...le(-(2n ** 31n), 4),
  ]);
  assert.equal(decodeRowBinary(body, ctx), [{ i8: [-1, -128], u16: [65_535, 1], i16: [-1, -32_768], u32: [4_294_967_295], i32: [-1, -(2 ** 31)] }]);
});

test('binary stream :: a row comes with the chunk that completes it, not one later', () => {
  const long = 'x'.repeat(100);
  // The String's length and first 10 bytes, then exactly the other 90.
  const first = Buffer.from([...header(['s', 'String']), ...str(long).slice(0, 11)]);
  const decoder = new RowBinaryStream(ctx);
  assert.is(decoder.push(first).length, 0);
  assert.equal(decoder.push(Buffer.from(long.slice(10))), [{ s: long }]);
  // After 500 whole rows in the same chunk: what the row waits for counts from where it starts.
  const after = new RowBinaryStream(ctx);
  const rows = Array.from({ length: 500 }, () => str('ab')).flat();
  assert.is(after.push(Buffer.from([...header(['s', 'String']), ...rows, ...str(long).slice(0, 11)])).length, 500);
  assert.equal(after.push(Buffer.from(long.slice(10))), [{ s: long }]);
});

test('binary stream :: the chunks of a row that spanned many are let go once it is read', async () => {
  const decoder = new RowBinaryStream(ctx);
  const refs = ((): WeakRef<Buffer>[] => {
    const body = Buffer.from([...header(['s', 'String']), ...str('y'.repeat(2 ** 20))]);
    const chunks = Array.from({ length: Math.ceil(body.length / 65_536) }, (_, i) => body.subarray(i * 65_536, (i + 1) * 65_536)).map((c) => Buffer.from(c));
    const rows = chunks.flatMap((chunk) => decoder.push(chunk));
    assert.is(rows.length, 1);
    return chunks.map((chunk) => new WeakRef(chunk));
  })();
  // A WeakRef holds its target until the current job ends.
  await new Promise((r) => setImmediate(r));
  gc();
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  assert.ok(alive <= 1, `${alive} of ${refs.length} chunks still held`);
});

test('binary stream :: a body cut one byte into a row is an error, not a row lost', () => {
  const decoder = new RowBinaryStream(ctx);
  assert.equal(decoder.push(Buffer.from([...header(['x', 'UInt32']), ...le(7n, 4), 1])), [{ x: 7 }]);
  assert.throws(() => decoder.end(), /ends inside a row \(1 bytes left over\)/);
});

test('binary :: a length of more than 8 LEB128 bytes is refused, not waited for', () => {
  const decoder = new RowBinaryStream(ctx);
  assert.throws(() => decoder.push(Buffer.from([...header(['s', 'String']), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), (e: unknown) => e instanceof ProtocolError && /too large/.test(e.message));
});

test('binary :: a UInt128 that fits a number is one in auto mode', () => {
  const body = Buffer.from([...header(['u', 'UInt128']), ...le(2n ** 53n - 1n, 16), ...le(2n ** 53n, 16)]);
  assert.equal(decodeRowBinary(body, ctx), [{ u: 2 ** 53 - 1 }, { u: 2n ** 53n }]);
});

test('collector :: the first failure is the one told, whatever the rest of the body holds', () => {
  // An unknown type in the header: then bytes that would read as a header of their own.
  const collector = new RowBinaryCollector(ctx);
  collector.push(Buffer.from(header(['a', 'UInt8'], ['f', 'AggregateFunction(uniq, UInt64)'])));
  collector.push(Buffer.from(header(['x', '(((('])));
  assert.throws(() => collector.rows(), (e: unknown) => e instanceof UnsupportedBinaryType);
});

// 50,000 rows of one String column: about 4 MiB of rows once decoded.
const manyRows = (): Buffer => Buffer.from([...header(['s', 'String']), ...Array.from({ length: 50_000 }, (_, i) => str(`a row that takes some room ${i}`)).flat()]);

test('collector :: the rows decoded before a failure are let go at once', () => {
  const base = heldBytes();
  const collector = new RowBinaryCollector(ctx);
  collector.push(manyRows());
  const decoded = heldBytes() - base;
  collector.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
  const held = heldBytes() - base;
  assert.ok(decoded > 2 * 2 ** 20, `${(decoded / 2 ** 20).toFixed(1)} MiB of rows decoded`);
  assert.ok(held < 2 ** 20, `${(held / 2 ** 20).toFixed(1)} MiB still held after the failure`);
  assert.throws(() => collector.rows(), (e: unknown) => e instanceof ProtocolError);
});

test('tsv :: a line with too few or too many fields is an error naming its row; so is a header with names and types apart', () => {
  assert.throws(() => decodeTsvRows('a\tb\nUInt8\tUInt8\n1\n2\t3\n', ctx), /^row 1 has 1 fields, expected 2/);
  assert.throws(() => decodeTsvRows('a\tb\nUInt8\tString\n1\tx\ty\n', ctx), /^row 1 has 3 fields, expected 2/);
  assert.throws(() => decodeTsvRows('a\tb\nUInt8\tUInt8\n1\t2\n3\n', ctx), /^row 2 has 1 fields, expected 2/);
  // The tab found next is where the line ends, just after it, or nowhere.
  assert.throws(() => decodeTsvRows('a\tb\nUInt8\tString\n1\n\tx\n', ctx), /^row 1 has 1 fields, expected 2/);
  assert.throws(() => decodeTsvRows('a\tb\nUInt8\tString\n1\tx\t\n', ctx), /^row 1 has 3 fields, expected 2/);
  assert.throws(() => decodeTsvRows('a\tb\nUInt8\tUInt8\n1', ctx), /^row 1 has 1 fields, expected 2/);
  assert.equal(decodeTsvRows('a\tb\nUInt8\tString\n1\t\n2\tx', ctx), [{ a: 1, b: '' }, { a: 2, b: 'x' }]);
  assert.throws(() => decodeTsvRows('a\tb\nUInt8\n1\t2\n', ctx), (e: unknown) => e instanceof ProtocolError);
});

test('tsv stream :: a one-line body with no column names and types (a proxy\'s "Ok.") is an error at its end, not an empty result', () => {
  const decoder = new TsvStream(ctx);
  assert.equal(decoder.push(Buffer.from('Ok.')), []);
  // Before: it ended as a result of no rows.
  assert.throws(() => decoder.end(), (e: unknown) => e instanceof ProtocolError && /no column names and types/.test((e as Error).message));
  assert.equal(new TsvStream(ctx).end(), [], 'an empty body is no rows');
});

test('tsv :: a one-column result is searched for tabs once, not to its end again for every line', () => {
  const body = `n\nUInt32\n${Array.from({ length: 20_000 }, (_, i) => i).join('\n')}\n`;
  const indexOf = String.prototype.indexOf;
  let scanned = 0;
  String.prototype.indexOf = function (this: string, search: string, from = 0) {
    const at = indexOf.call(this, search, from);
    if (search === '\t') scanned += (at < 0 ? this.length : at) - from;
    return at;
  };
  try {
    assert.is(decodeTsvRows(body, ctx).length, 20_000);
  } finally {
    String.prototype.indexOf = indexOf;
  }
  assert.ok(scanned <= body.length, `${scanned} characters searched for a tab in a body of ${body.length}`);
});

test('tsv :: a DateTime with a character that is no digit is refused', () => {
  assert.throws(() => decodeTsvRows('t\nDateTime\n2020-01-0: 00:00:00\n', ctx), (e: unknown) => e instanceof ProtocolError);
});

test('tsv :: a stream that ends inside a UTF-8 character ends as the whole body reads', () => {
  const body = Buffer.concat([Buffer.from('x\nString\nab'), Buffer.from([0xc3])]);
  const decoder = new TsvStream(ctx);
  const rows = [...decoder.push(body), ...decoder.end()];
  assert.equal(rows, decodeTsvRows(body.toString('utf8'), ctx));
  assert.equal(rows, [{ x: 'ab\uFFFD' }]);
});

test('tsv :: a lone backslash at the end of a value stays', () => {
  assert.is(unescapeTsv('ab\\'), 'ab\\');
});

test('tsv :: kept rows whose text values are exactly 13 characters hold nothing of the response', () => {
  const base = heldBytes();
  const kept = ((): Row[] => {
    const lines = Array.from({ length: 400_000 }, (_, i) => `value-${String(i).padStart(7, '0')}`);
    const rows = decodeTsvRows(`s\nString\n${lines.join('\n')}\n`, ctx);
    return [rows[1] as Row, rows[399_999] as Row];
  })();
  const grown = heldBytes() - base;
  assert.equal(kept, [{ s: 'value-0000001' }, { s: 'value-0399999' }]);
  assert.ok(grown < 2 * 2 ** 20, `two kept rows hold ${(grown / 2 ** 20).toFixed(1)} MiB`);
});

test('send :: a gzip body is inflated whole, never handed to onBody; a streamed one keeps only its end', async () => {
  const big = Buffer.alloc(256 * 1024, 0x61);
  await withFakeServer(async (req, res) => {
    if (req.body === 'gzip') return void res.writeHead(200, { 'Content-Encoding': 'gzip' }).end(gzipSync('hello body'));
    res.writeHead(200);
    for (let i = 0; i < 40; i++) {
      res.write(big);
      await new Promise((r) => setTimeout(r, 1));
    }
    res.end();
  }, async (client, server) => {
    const handed: Buffer[] = [];
    const zipped = await send(client, server, { method: 'POST', path: '/', body: 'gzip', timeout: 5_000, binary: true, onBody: (c) => handed.push(c) });
    assert.is(handed.length, 0);
    assert.is(zipped.streamed, undefined);
    assert.is(zipped.bytes?.toString(), 'hello body');
    // 10 MiB through onBody: the chunks before the last 16.5 KiB are let go as the body comes.
    const refs: [WeakRef<Buffer>, number][] = [];
    let received = 0;
    let heldEarly = -1;
    await send(client, server, {
      method: 'POST', path: '/', body: 'big', timeout: 5_000, binary: true, onBody: (chunk) => {
        refs.push([new WeakRef(chunk), chunk.length]);
        received += chunk.length;
        if (heldEarly < 0 && received > 8 * 2 ** 20) {
          gc();
          heldEarly = refs.slice(0, -4).reduce((n, [ref, size]) => n + (ref.deref() === undefined ? 0 : size), 0);
        }
      },
    });
    assert.ok(heldEarly >= 0 && heldEarly < 2 ** 20, `${(heldEarly / 2 ** 20).toFixed(1)} MiB of the body's first chunks still held`);
  }, (port) => `http://127.0.0.1:${port}/default`);
});

test.run();
