import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Row } from '../../../src/clickhouse/types.js';
import { Mailbox, captureRow, unitRows, unitSize, type MailboxOptions } from '../../../src/pool/writer/mailbox.js';
import { gc } from '../../gc.js';

const test = suite('writer-mailbox');

function box(opts: Partial<MailboxOptions> = {}) {
  let now = 0;
  const dropped: Row[][] = [];
  let ready = 0;
  const b = new Mailbox({
    capacity: 10, batchSize: 3, overflow: 'drop_newest',
    now: () => now, onDrop: (rows) => dropped.push([...rows]), onReady: () => { ready++; },
    ...opts,
  });
  const push = (table: string, ...ids: number[]) => b.pushRows(table, ids.map((id) => ({ id })));
  return { b, dropped, push, ready: () => ready, at: (ms: number) => { now = ms; } };
}

test('batches :: rows gather per table until batchSize, then seal in order', () => {
  const { b, push } = box();
  push('a', 1, 2);
  push('b', 3);
  assert.is(b.head(), undefined);
  push('a', 4, 5);
  const head = b.head();
  assert.equal(head && unitRows(head), [{ id: 1 }, { id: 2 }, { id: 4 }]);
  assert.is(b.size, 5);
});

test('batches :: onReady fires for the first open batch and for each sealed unit, not per row', () => {
  const { push, ready } = box({ batchSize: 100 });
  push('a', 1);
  push('a', 2);
  push('b', 3);
  assert.is(ready(), 1);
});

test('interval :: dueIn counts from the oldest open batch; sealDue seals only due ones', () => {
  const { b, push, at } = box();
  at(100);
  push('a', 1);
  at(600);
  push('b', 2);
  assert.is(b.dueIn(1000), 500);
  at(1100);
  b.sealDue(1000);
  assert.equal(b.head() && unitRows(b.head()!), [{ id: 1 }]);
  assert.is(b.dueIn(1000), 500);
});

test('flush :: doneUpTo tracks units completed up to a sequence number', () => {
  const { b, push } = box();
  push('a', 1, 2, 3);
  push('a', 4);
  b.sealAll();
  const last = b.lastSeq();
  assert.is(b.doneUpTo(last), false);
  assert.is(b.complete(b.head()!), 3);
  assert.is(b.doneUpTo(last), false);
  b.complete(b.head()!);
  assert.is(b.doneUpTo(last), true);
  assert.is(b.size, 0);
});

test('complete :: out of order, once each; the head moves past finished units', () => {
  const { b, push } = box();
  push('a', 1, 2, 3, 4, 5, 6, 7, 8, 9);
  const [first, second, third] = b.wave(3);
  assert.is(b.complete(second!), 3);
  assert.is(b.complete(second!), 0, 'a second completion counts nothing');
  assert.is(b.head(), first);
  assert.is(b.complete(first!), 3);
  assert.is(b.head(), third, 'the finished second unit is skipped');
  assert.is(b.size, 3);
});

test('wave :: batches up to the limit, stopping at a request, which goes alone once at the head', () => {
  const { b, push } = box({ batchSize: 1 });
  push('a', 1);
  push('b', 2);
  b.pushRequest({ type: 'query', body: 'OPTIMIZE TABLE a', options: {}, readOnly: false });
  push('a', 3);
  assert.equal(b.wave(5).map((u) => unitRows(u)), [[{ id: 1 }], [{ id: 2 }]]);
  assert.equal(b.wave(1).map((u) => unitRows(u)), [[{ id: 1 }]]);
  for (const u of b.wave(5)) b.complete(u);
  assert.equal(b.wave(5).map((u) => u.request?.body), ['OPTIMIZE TABLE a']);
  b.complete(b.head()!);
  assert.equal(b.wave(5).map((u) => unitRows(u)), [[{ id: 3 }]]);
});

test('overflow :: drop_newest keeps what fits and drops the tail of the call', () => {
  const { b, push, dropped } = box({ capacity: 4 });
  push('a', 1, 2, 3);
  push('a', 4, 5, 6);
  assert.equal(dropped, [[{ id: 5 }, { id: 6 }]]);
  assert.is(b.size, 4);
});

test('overflow :: drop_oldest evicts from the oldest unattempted unit, then open batches', () => {
  const { b, push, dropped } = box({ capacity: 6, overflow: 'drop_oldest' });
  push('a', 1, 2, 3);
  b.head()!.attempts = 1; // frozen
  push('a', 4, 5, 6);
  push('b', 7, 8);
  assert.equal(dropped, [[{ id: 4 }, { id: 5 }]]);
  assert.is(b.size, 6);
  b.complete(b.head()!);
  assert.equal(unitRows(b.head()!), [{ id: 6 }]);
});

test('overflow :: drop_oldest evicts whole requests and fully evicted units are skipped', () => {
  const { b, push, dropped } = box({ capacity: 2, overflow: 'drop_oldest' });
  b.pushRequest({ type: 'query', body: 'SELECT 1', options: {}, readOnly: false });
  push('a', 1);
  push('a', 2);
  assert.equal(dropped, [[{ type: 'query', body: 'SELECT 1' }]]);
  b.sealAll();
  assert.equal(unitRows(b.head()!), [{ id: 1 }, { id: 2 }]);
  assert.is(unitSize(b.head()!), 2);
});

test('overflow :: a frozen mailbox drops the newest under drop_oldest too', () => {
  const { b, push, dropped } = box({ capacity: 3, overflow: 'drop_oldest' });
  push('a', 1, 2, 3);
  b.head()!.attempts = 1;
  push('a', 4);
  assert.equal(dropped, [[{ id: 4 }]]);
  assert.is(b.size, 3);
});

test('overflow :: drop_oldest that evicts a whole open batch: the next rows of its table open a new batch', () => {
  const { b, push, dropped } = box({ capacity: 3, batchSize: 10, overflow: 'drop_oldest' });
  push('t', 1, 2, 3);
  push('t', 4, 5, 6);
  assert.equal(dropped, [[{ id: 1 }, { id: 2 }, { id: 3 }]]);
  assert.is(b.size, 3);
  // Before: rows 4 to 6 joined the evicted batch and were neither sent nor reported.
  assert.equal(b.takeAll(), [[{ id: 4 }, { id: 5 }, { id: 6 }]]);
  assert.is(b.size, 0);
});

test('overflow :: drop_oldest still evicts the oldest after compaction', () => {
  const { b, push, dropped } = box({ capacity: 4, batchSize: 1, overflow: 'drop_oldest' });
  // Full at every push: each evicts the oldest unit, and head() lets the evicted ones go (past 1024 the array is compacted).
  for (let i = 0; i < 3_000; i++) {
    push('t', i);
    b.head();
  }
  dropped.length = 0;
  b.pushRows('t', [{ id: 'new' }]);
  assert.equal(dropped, [[{ id: 2996 }]]);
  assert.equal(b.takeAll(), [[{ id: 2997 }], [{ id: 2998 }], [{ id: 2999 }], [{ id: 'new' }]]);
});

test('overflow :: both halves of a refused batch stay frozen: drop_oldest evicts neither', () => {
  const { b, push, dropped } = box({ capacity: 4, batchSize: 4, overflow: 'drop_oldest' });
  push('a', 1, 2, 3, 4);
  const unit = b.head()!;
  unit.attempts = 1; // sent, and refused for a row's data
  assert.ok(b.halve(unit));
  push('a', 5);
  assert.equal(dropped, [[{ id: 5 }]], 'the newest row is dropped, not one of the second half');
  assert.equal(b.takeAll(), [[{ id: 1 }, { id: 2 }], [{ id: 3 }, { id: 4 }]]);
});

test('requests :: a request seals open batches first (rows before it go before it)', () => {
  const { b, push } = box({ batchSize: 100 });
  push('a', 1);
  b.pushRequest({ type: 'insert', body: 'INSERT INTO x VALUES (1)', options: {}, readOnly: false });
  push('a', 2);
  assert.equal(unitRows(b.head()!), [{ id: 1 }]);
  b.complete(b.head()!);
  assert.is(b.head()!.request?.body, 'INSERT INTO x VALUES (1)');
});

test('drain :: takeAll returns every unit left, open batches included, oldest first', () => {
  const { b, push } = box();
  push('a', 1, 2, 3, 4);
  push('b', 5);
  assert.equal(b.takeAll(), [[{ id: 1 }, { id: 2 }, { id: 3 }], [{ id: 4 }], [{ id: 5 }]]);
  assert.is(b.size, 0);
  assert.is(b.head(), undefined);
});

test('queue :: stays correct across internal compaction', () => {
  const { b, push } = box({ capacity: 100_000, batchSize: 1 });
  for (let i = 0; i < 5000; i++) push('a', i);
  for (let i = 0; i < 4000; i++) assert.is(b.complete(b.head()!), 1);
  assert.equal(unitRows(b.head()!), [{ id: 4000 }]);
  assert.is(b.size, 1000);
});

test('capture :: nested values a caller can change in place are copied: objects, arrays of arrays, Maps, typed arrays', () => {
  const row: Row = { meta: { a: { b: 1 } }, xs: [[1]], m: new Map([['k', { v: 1 }]]), bytes: new Uint8Array([1, 2]) };
  const kept = captureRow(row);
  (row.meta as { a: { b: number } }).a.b = 2;
  (row.xs as number[][])[0]![0] = 7;
  (row.m as Map<string, { v: number }>).get('k')!.v = 3;
  (row.bytes as Uint8Array)[0] = 9;
  assert.equal(kept, { meta: { a: { b: 1 } }, xs: [[1]], m: new Map([['k', { v: 1 }]]), bytes: new Uint8Array([1, 2]) });
});

test('inspection :: a unit serializes as a summary, without rows or bodies', () => {
  const { b, push } = box();
  push('logs', 1, 2, 3);
  assert.is(JSON.stringify({ unit: b.head() }), '{"unit":{"seq":1,"table":"logs","rows":3,"attempts":0}}');
});

test('memory :: a written batch is let go: its rows are not kept by the mailbox', async () => {
  const b = new Mailbox({ capacity: 1_000, batchSize: 10, overflow: 'drop_newest', now: () => 0, onDrop() {}, onReady() {} });
  const refs: WeakRef<Row>[] = [];
  (() => {
    for (let i = 0; i < 50; i++) {
      const row: Row = { id: i, payload: 'x'.repeat(100) };
      refs.push(new WeakRef(row));
      b.pushRows('t', [row]);
    }
    for (let unit = b.head(); unit !== undefined; unit = b.head()) b.complete(unit);
  })();
  assert.is(b.size, 0);
  // WeakRefs hold their target until the current job ends.
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  assert.is(alive, 0, `${alive} of 50 written rows still reachable`);
});

test('memory :: rows evicted by drop_oldest are let go while an older batch is still being sent', async () => {
  const b = new Mailbox({ capacity: 100, batchSize: 1, overflow: 'drop_oldest', now: () => 0, onDrop() {}, onReady() {} });
  const refs: WeakRef<Row>[] = [];
  (() => {
    b.pushRows('t', [{ id: -1 }]);
    (b.head() as NonNullable<ReturnType<Mailbox['head']>>).attempts = 1; // in flight: frozen, and the units after it stay in their slots
    for (let i = 0; i < 1_000; i++) {
      const row: Row = { id: i, payload: 'x'.repeat(100) };
      refs.push(new WeakRef(row));
      b.pushRows('t', [row]);
    }
  })();
  assert.is(b.size, 100);
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  assert.is(alive, 99, `${alive} of 1,000 rows reachable, 99 queued behind the one in flight`);
});

test.run();
