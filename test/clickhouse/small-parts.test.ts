// The small parts of the protocol layer under the insert and stream paths: joined abort
// signals, where an insert stopped, rows refused together, a query's path.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { getEventListeners } from 'node:events';
import { joinSignals, withEitherSignal } from '../../src/clickhouse/signals.js';
import { encodedFirst, failedAt, insertStopOf, placedRefusal, stoppedAt, textStop, type InsertStop } from '../../src/clickhouse/insert-stop.js';
import { allRefused, withAllRefused } from '../../src/clickhouse/refusals.js';
import { QueryParamError } from '../../src/clickhouse/errors.js';
import { queryPath } from '../../src/clickhouse/query-path.js';
import { parseConnectionString } from '../../src/clickhouse/connection-string.js';
import { ChunkQueue } from '../../src/clickhouse/chunk-queue.js';
import { ChunkWriter, rowParts } from '../../src/clickhouse/encode-bytes.js';
import { BoundedCache } from '../../src/clickhouse/bounded-cache.js';
import { Incomplete, Input, SHORT, numberIfSafe } from '../../src/clickhouse/binary-input.js';
import { ProtocolError } from '../../src/clickhouse/errors.js';

const test = suite('small-parts');

test('signals :: the joined signal aborts with the reason of whichever fires, already fired or later', () => {
  const gone = new AbortController();
  gone.abort(new Error('first gone'));
  const live = new AbortController();
  assert.is(joinSignals(gone.signal, live.signal).signal.reason, gone.signal.reason);
  assert.is(joinSignals(live.signal, gone.signal).signal.reason, gone.signal.reason);
  assert.ok(joinSignals(live.signal, gone.signal).signal.aborted);
  for (const which of ['first', 'second'] as const) {
    const a = new AbortController();
    const b = new AbortController();
    const { signal } = joinSignals(a.signal, b.signal);
    assert.not.ok(signal.aborted);
    const reason = new Error(`${which} fired`);
    (which === 'first' ? a : b).abort(reason);
    assert.ok(signal.aborted, which);
    assert.is(signal.reason, reason, which);
    assert.equal([getEventListeners(a.signal, 'abort').length, getEventListeners(b.signal, 'abort').length], [0, 0], `${which}: both parted`);
  }
});

test('signals :: release parts the joined signal from both: a long-lived caller signal keeps no listener per call', async () => {
  const caller = new AbortController();
  for (let i = 0; i < 50; i++) {
    const own = new AbortController();
    assert.is(await withEitherSignal(caller.signal, own.signal, async (signal) => { assert.not.ok(signal.aborted); return i; }), i);
    await withEitherSignal(caller.signal, own.signal, () => Promise.reject(new Error('failed'))).catch(() => undefined);
  }
  assert.is(getEventListeners(caller.signal, 'abort').length, 0);
  const a = new AbortController();
  const b = new AbortController();
  const { signal, release } = joinSignals(a.signal, b.signal);
  release();
  assert.equal([getEventListeners(a.signal, 'abort').length, getEventListeners(b.signal, 'abort').length], [0, 0]);
  a.abort();
  assert.not.ok(signal.aborted, 'released: no longer joined');
  const only = new AbortController();
  let given: AbortSignal | undefined;
  await withEitherSignal(undefined, only.signal, async (s) => { given = s; });
  assert.is(given, only.signal, 'no caller signal: the other as it is');
});

test('insert-stop :: where an insert stopped is found on its error or an error wrapping it a few levels down, not deeper', () => {
  const stop: InsertStop = { queryId: 'q-1', index: 1, of: 3, inFlight: [{ id: 2 }], after: [{ id: 3 }] };
  const inner = new Error('lost');
  assert.is(stoppedAt(inner, stop), inner);
  assert.is(insertStopOf(inner), stop);
  const wrap = (cause: unknown): Error => new Error('wrapped', { cause });
  assert.is(insertStopOf(wrap(inner)), stop, 'its cause');
  assert.is(insertStopOf(wrap(wrap(wrap(inner)))), stop, 'three levels down');
  assert.is(insertStopOf(wrap(wrap(wrap(wrap(inner))))), undefined, 'bounded');
  assert.is(insertStopOf(new Error('other')), undefined);
  assert.is(stoppedAt('text', stop), 'text', 'no object: returned as it is');
  assert.is(insertStopOf('text'), undefined);
  assert.is(insertStopOf(undefined), undefined);
});

test('insert-stop :: a row that stopped being written is refused by its place among the caller\'s rows; past a block of the server\'s, the refusal says the rows before may be stored', () => {
  const rows = Array.from({ length: 10 }, (_, id) => ({ id }));
  const fail = (index: number) => failedAt(new QueryParamError('u', 'changed'), index);
  const placed = placedRefusal(fail(2), rows, (row) => (row.id as number) + 100) as QueryParamError;
  assert.is(placed.param, 'rows[102].u');
  assert.is(placed.row, 102);
  assert.is(placed.message, 'parameter rows[102].u: changed', 'no note before a whole block went');
  const late = placedRefusal(fail(9), rows, (row) => row.id as number, 4) as QueryParamError;
  assert.is(late.message, "parameter rows[9].u: changed (the server may have stored the statement's first 8 rows already: it writes 4 rows at a time, its max_insert_block_size)");
  assert.is((placedRefusal(fail(3), rows, (row) => row.id as number, 4) as Error).message, 'parameter rows[3].u: changed', 'rows 0-2 are less than a block');
  const other = new Error('not a row\'s');
  assert.is(placedRefusal(other, rows, () => 0), other, 'an error no row threw is itself');
});

test('insert-stop :: a row that throws while it is written is taken back whole, also across a chunk\'s end; a thrown value that is no object is refused as the row\'s', () => {
  const rows = [{ id: 0 }, { id: 1 }, { id: 2 }];
  for (const thrown of [new QueryParamError('id', 'changed'), 'a string', undefined]) {
    const out = new ChunkWriter();
    const write = (o: ChunkWriter, row: Record<string, unknown>): void => {
      o.text(`${'x'.repeat(100_000)}${String(row.id)}\n`);
      if (row.id === 2) {
        // More than the chunk in hand: the row's first bytes are in a chunk already filled, not yet handed over.
        o.text('half'.repeat(100_000));
        throw thrown;
      }
    };
    const sent: Buffer[] = [];
    const parts = rowParts(rows, write, out);
    let err: unknown;
    try {
      for (const part of parts) sent.push(...part.chunks);
    } catch (e) {
      err = e;
    }
    sent.push(...out.take());
    assert.is(Buffer.concat(sent).toString(), `${'x'.repeat(100_000)}0\n${'x'.repeat(100_000)}1\n`, `${String(thrown)}: the rows before it, nothing of it`);
    const refusal = placedRefusal(err, rows, (_row, at) => at) as QueryParamError;
    assert.instance(refusal, QueryParamError);
    assert.is(refusal.row, 2);
    assert.is(refusal.message, thrown instanceof QueryParamError ? 'parameter rows[2].id: changed' : `parameter rows[2]: reading the row threw: ${String(thrown)}`);
  }
});

test('insert-stop :: textStop reads the caller\'s allow-errors and block settings, the call\'s over the connection\'s; encodedFirst encodes whole or throws the refusal', () => {
  assert.equal(textStop(undefined, {}, undefined), { lenient: false, block: 1_048_576 });
  assert.equal(textStop({ input_format_allow_errors_num: 0 }), { lenient: true, block: 1_048_576 }, 'set at all: the server may skip lines');
  assert.equal(textStop({ input_format_allow_errors_ratio: 0.1 }, undefined, {}), { lenient: true, block: 1_048_576 });
  assert.equal(textStop({ max_insert_block_size: 100 }, { max_insert_block_size: 200 }, { max_insert_block_size: '300' }).block, 300, 'the call\'s setting wins');
  assert.equal(textStop({ max_insert_block_size: 100 }, undefined, undefined).block, 100);
  assert.equal(textStop({ max_insert_block_size: 0 }).block, 1_048_576, 'a nonsense value: the default');
  function* parts(): Generator<{ chunks: Buffer[]; rows: number }> {
    yield { chunks: [Buffer.from('a'), Buffer.from('b')], rows: 1 };
    yield { chunks: [Buffer.from('c')], rows: 2 };
  }
  assert.equal(Buffer.concat(encodedFirst(parts(), (e) => e)).toString(), 'abc');
  function* broken(): Generator<{ chunks: Buffer[]; rows: number }> {
    yield { chunks: [Buffer.from('a')], rows: 1 };
    throw new Error('row 2 changed');
  }
  assert.throws(() => encodedFirst(broken(), (e) => new Error(`refused: ${(e as Error).message}`)), /^refused: row 2 changed$/);
});

test('refusals :: every row refused together rides on the first, which is thrown; a lone refusal is just itself', () => {
  const refusal = (row: number): QueryParamError => new QueryParamError(`rows[${row}].x`, 'bad', { row });
  const lone = refusal(4);
  assert.is(withAllRefused([lone]), lone);
  assert.equal(allRefused(lone), [lone]);
  const several = [refusal(1), refusal(3), refusal(8)];
  const thrown = withAllRefused(several);
  assert.is(thrown, several[0]);
  assert.equal(allRefused(thrown).map((e) => e.row), [1, 3, 8]);
  assert.equal(allRefused(refusal(9)).map((e) => e.row), [9], 'one never joined: itself');
});

test('queryPath :: an empty layer beside a set one: the set one counts; booleans and the query id on either path', () => {
  const server = parseConnectionString('http://127.0.0.1:8123/db?max_threads=3');
  assert.is(queryPath(server, [{}, { max_threads: 5 }]), '/?database=db&max_threads=5');
  assert.is(queryPath(server, [undefined, { log_queries: false }], 'q-2'), '/?database=db&max_threads=3&log_queries=0&query_id=q-2');
  assert.is(queryPath(server, [], 'a&b=c'), '/?database=db&max_threads=3&query_id=a%26b%3Dc', 'an id that is no plain word is encoded');
  assert.is(queryPath(server, [], 'q.1-x_y'), '/?database=db&max_threads=3&query_id=q.1-x_y');
  assert.is(queryPath(server, [], 'a&b'), '/?database=db&max_threads=3&query_id=a%26b', 'an & would start another parameter');
});

test('chunk-queue :: taking a whole chunk exactly, compacting while chunks wait, clearing after use', () => {
  const queue = new ChunkQueue();
  queue.push(Buffer.from('abc'));
  queue.push(Buffer.from('de'));
  assert.is(queue.take(3)?.toString(), 'abc');
  assert.equal([queue.length, queue.bytes, queue.first()?.toString()], [1, 2, 'de'], 'no empty chunk left in front');
  assert.is(queue.take(1)?.toString(), 'd');
  assert.equal([queue.length, queue.bytes, queue.concat().toString()], [1, 1, 'e']);
  assert.is(queue.shift()?.toString(), 'e');
  assert.equal([queue.length, queue.bytes, queue.shift(), queue.first()], [0, 0, undefined, undefined], 'emptied by shifts');
  queue.push(Buffer.from('f'));
  assert.equal([queue.length, queue.shift()?.toString(), queue.length], [1, 'f', 0]);
  queue.clear();
  for (let i = 0; i < 3_000; i++) queue.push(Buffer.from([i % 256]));
  for (let i = 0; i < 2_000; i++) assert.is(queue.shift()?.[0], i % 256);
  assert.equal([queue.length, queue.bytes], [1_000, 1_000]);
  assert.equal(queue.toArray().map((b) => b[0]), Array.from({ length: 1_000 }, (_, i) => (2_000 + i) % 256), 'every waiting chunk, in order, after the front was cut off');
  queue.clear();
  assert.equal([queue.length, queue.bytes, queue.shift()], [0, 0, undefined]);
  queue.push(Buffer.from('z'));
  assert.equal([queue.length, queue.first()?.toString(), queue.concat().toString()], [1, 'z', 'z']);
});

test('binary-input :: reads up to the last byte and no further; a partial input says where the value it ran short in ends', () => {
  const input = new Input(Buffer.from([1, 2, 3]));
  assert.equal([...input.bytes(3)], [1, 2, 3], 'every byte');
  assert.throws(() => input.u8(), (e: unknown) => e instanceof Incomplete && e !== SHORT);
  assert.throws(() => new Input(Buffer.from([1, 2])).bytes(3), (e: unknown) => e instanceof Incomplete);
  assert.is(new Input(Buffer.from([3, 0x61, 0x62, 0x63])).string(), 'abc', 'a string to the last byte');
  assert.throws(() => new Input(Buffer.from([4, 0x61, 0x62, 0x63])).string(), (e: unknown) => e instanceof Incomplete);
  const partial = new Input(Buffer.from([5, 0x61, 0x62]), true);
  assert.throws(() => partial.string(), (e: unknown) => e === SHORT);
  assert.is(partial.needed, 6, 'the string ends at byte 6');
  const short = new Input(Buffer.from([7, 8]), true);
  short.pos = 1;
  assert.throws(() => short.bytes(4), (e: unknown) => e === SHORT);
  assert.is(short.needed, 5);
});

test('binary-input :: LEB128 lengths: one byte under 0x80, several from 0x80, too long refused; numbers while safe', () => {
  assert.is(new Input(Buffer.from([0x7f])).varint(), 127);
  const two = new Input(Buffer.from([0x80, 0x01, 0x05]));
  assert.is(two.varint(), 128);
  assert.is(two.u8(), 5, 'two bytes read');
  assert.is(new Input(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])).varint(), 2 ** 32 - 1);
  assert.is(new Input(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).varint(), 2 ** 35, 'past 32 bits');
  assert.throws(() => new Input(Buffer.from([0x80, 0x80])).varint(), (e: unknown) => e instanceof Incomplete);
  assert.throws(() => new Input(Buffer.alloc(9, 0xff)).varint(), (e: unknown) => e instanceof ProtocolError && !(e instanceof Incomplete) && /too large/.test(e.message));
  assert.is(numberIfSafe(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  assert.is(numberIfSafe(-BigInt(Number.MAX_SAFE_INTEGER)), -Number.MAX_SAFE_INTEGER);
  assert.is(numberIfSafe(BigInt(Number.MAX_SAFE_INTEGER) + 1n), BigInt(Number.MAX_SAFE_INTEGER) + 1n);
  assert.is(numberIfSafe(-BigInt(Number.MAX_SAFE_INTEGER) - 1n), -BigInt(Number.MAX_SAFE_INTEGER) - 1n);
});

test('bounded-cache :: a key longer than all of maxChars is not kept, even under maxKeyLength: what is kept stays within maxChars', () => {
  const cache = new BoundedCache<number>({ maxEntries: 10, maxKeyLength: 100, maxChars: 10 });
  cache.set('abcde', 1);
  assert.is(cache.accepts('x'.repeat(11)), false);
  cache.set('x'.repeat(11), 2);
  assert.is(cache.get('x'.repeat(11)), undefined);
  assert.equal([cache.get('abcde'), cache.size, cache.chars], [1, 1, 5], 'nothing evicted for it');
  cache.set('y'.repeat(10), 3);
  assert.equal([cache.get('abcde'), cache.get('y'.repeat(10)), cache.chars], [undefined, 3, 10], 'exactly maxChars: kept, the oldest gone');
});

test.run();
