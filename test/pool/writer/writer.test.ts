import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AnyActorRef } from 'xstate';
import { AbortError, ClickHouseError, NOT_A_ROW, QueryParamError, TransportError, TimeoutError, rowRefused } from '../../../src/clickhouse/errors.js';
import { withAllRefused } from '../../../src/clickhouse/refusals.js';
import { insertRequest, prepare } from '../../../src/clickhouse/prepare.js';
import { stoppedAt } from '../../../src/clickhouse/insert-stop.js';
import type { PreparedRequest, Row } from '../../../src/clickhouse/types.js';
import { createTestClock, type TestClock } from '../../../src/otp/clock.js';
import { startSupervisor } from '../../../src/otp/index.js';
import type { Clock } from '../../../src/otp/types.js';
import { NoServerAvailableError, PoolError, PoolNotStartedError } from '../../../src/pool/errors.js';
import { MailboxFullError } from '../../../src/pool/writer/errors.js';
import { createWriter, type Writer, type WriterOptions } from '../../../src/pool/writer/writer.js';
import type { WriteOutcomes } from '../../../src/pool/writer/outcome.js';
import { seeded } from '../../seeded.js';

const test = suite('writer');

const settle = async (): Promise<void> => {
  for (let i = 0; i < 6; i++) await new Promise((r) => setImmediate(r));
};

type Outcome = Error | undefined | Promise<void>;

interface Harness {
  writer: Writer;
  clock: TestClock;
  actor: AnyActorRef;
  sent: PreparedRequest[];
  dead: { error: Error; rows: readonly Row[] }[];
  /** Decides each attempt's outcome; default: success. */
  respond: (request: PreparedRequest, n: number) => Outcome;
  /** What the writer is told when it asks what became of a send whose answer was lost; default: nothing to ask. */
  outcomes: WriteOutcomes | undefined;
}

function harness(options: Partial<WriterOptions> = {}, shutdown = 5000, concurrency: number | 'default' = 3): Harness {
  const clock = createTestClock(1_000_000);
  const sent: PreparedRequest[] = [];
  const dead: Harness['dead'] = [];
  const h = { clock, sent, dead, respond: () => undefined, outcomes: undefined } as unknown as Harness;
  h.writer = createWriter({
    id: 'writer',
    clock,
    shutdown,
    ...(concurrency === 'default' ? {} : { concurrency }),
    random: () => 0.5,
    options: {
      mailbox: 100,
      batchSize: 3,
      flushInterval: 1000,
      overflow: 'drop_newest',
      retries: 2,
      backoff: { initial: 100, max: 1000 },
      onError: (error, rows) => dead.push({ error, rows }),
      serverAsyncInsert: false,
      ...options,
    },
    get outcomes() {
      return h.outcomes;
    },
    run: (request, trace) => {
      trace.server = 0;
      sent.push(request);
      const out = h.respond(request, sent.length);
      return out instanceof Error ? Promise.reject(out) : Promise.resolve(out);
    },
  });
  h.actor = h.writer.spec.start() as AnyActorRef;
  h.actor.start();
  return h;
}

const row = (i: number): Row => ({ id: i });
function push(w: Writer, table: string, from: number, to: number): void {
  for (let i = from; i < to; i++) w.enqueueRows(table, [row(i)]);
}
const ids = (req: PreparedRequest): number[] =>
  req.body.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { id: number }).id);

test('batching :: a full batch is sent as one JSONEachRow insert', async () => {
  const h = harness();
  push(h.writer, 'logs', 0, 7);
  await settle();
  assert.is(h.sent.length, 2);
  assert.is(h.sent[0]?.body, 'INSERT INTO `logs` (`id`) FORMAT JSONEachRow\n{"id":0}\n{"id":1}\n{"id":2}\n');
  assert.equal(ids(h.sent[1] as PreparedRequest), [3, 4, 5]);
  assert.is(h.writer.stats().queued, 1);
  assert.is(h.writer.stats().written, 6);
});

test('batching :: a partial batch goes out after flushInterval', async () => {
  const h = harness();
  push(h.writer, 'logs', 0, 2);
  h.clock.advance(999);
  await settle();
  assert.is(h.sent.length, 0);
  h.clock.advance(1);
  await settle();
  assert.is(h.sent.length, 1);
  assert.equal(ids(h.sent[0] as PreparedRequest), [0, 1]);
});

test('batching :: rows are batched per table', async () => {
  const h = harness({ batchSize: 2 });
  h.writer.enqueueRows('a', [row(1)]);
  h.writer.enqueueRows('b', [row(2)]);
  h.writer.enqueueRows('a', [row(3)]);
  h.writer.enqueueRows('b', [row(4)]);
  await settle();
  assert.equal(h.sent.map((r) => [r.body.split('\n')[0], ids(r)]), [
    ['INSERT INTO `a` (`id`) FORMAT JSONEachRow', [1, 3]],
    ['INSERT INTO `b` (`id`) FORMAT JSONEachRow', [2, 4]],
  ]);
});

test('batching :: a multi-row call larger than batchSize is split', async () => {
  const h = harness();
  const rows = [0, 1, 2, 3, 4].map(row);
  h.writer.enqueueRows('t', rows);
  await h.writer.flush();
  assert.equal(h.sent.map(ids), [[0, 1, 2], [3, 4]]);
});

test('batching :: a row with no column is queued as a row of defaults', async () => {
  const h = harness();
  h.writer.enqueueRows('t', [{ a: undefined }]);
  assert.is(h.writer.stats().queued, 1);
  await h.writer.flush();
  assert.equal(h.sent.map((r) => r.body), ['INSERT INTO `t` FORMAT JSONEachRow\n{}\n']);
});

test('capture :: a row object changed after the call is sent as it was at the call', async () => {
  const h = harness();
  const row: Record<string, unknown> = {};
  for (let i = 0; i < 3; i++) {
    row.id = i;
    if (i === 1) row.note = 'x';
    else delete row.note;
    h.writer.enqueueRows('t', [row]);
  }
  row.id = 99;
  await h.writer.flush();
  assert.equal(h.sent.map((r) => r.body), [
    'INSERT INTO `t` (`id`) FORMAT JSONEachRow\n{"id":0}\n{"id":2}\nINSERT INTO `t` (`id`, `note`) FORMAT JSONEachRow\n{"id":1,"note":"x"}\n',
  ]);
});

test('batching :: a bad table name throws in the caller and queues nothing', () => {
  const h = harness();
  assert.throws(() => h.writer.enqueueRows('bad`name', [row(1)]), (e: Error & { code?: string }) => e.code === 'QUERY_PARAM');
  assert.is(h.writer.stats().queued, 0);
});

test('order :: SQL requests go alone, in order, after rows enqueued before them', async () => {
  const h = harness({ batchSize: 100 });
  const q = (sql: string): PreparedRequest => ({ type: 'query', body: sql, options: {}, readOnly: false });
  push(h.writer, 't', 0, 2);
  h.writer.enqueueRequest(q('OPTIMIZE TABLE t'));
  h.writer.enqueueRequest(q('INSERT INTO u VALUES (1)'));
  push(h.writer, 't', 2, 3);
  await h.writer.flush();
  assert.equal(h.sent.map((r) => r.body.split('\n')[0]), [
    'INSERT INTO `t` (`id`) FORMAT JSONEachRow', 'OPTIMIZE TABLE t', 'INSERT INTO u VALUES (1)', 'INSERT INTO `t` (`id`) FORMAT JSONEachRow',
  ]);
  assert.is(h.writer.stats().written, 5);
});

test('retry :: while no server is reachable a batch waits and is re-sent as the very same request', async () => {
  const h = harness({ retries: 1 });
  const down = [new NoServerAvailableError(3), new TransportError('connect ECONNREFUSED', false), new TimeoutError(5000, false)];
  let up = false;
  h.respond = (_req, n) => (up ? undefined : down[n % 3]);
  push(h.writer, 't', 0, 3);
  await settle();
  const first = h.sent[0] as PreparedRequest;
  for (let i = 0; i < 12; i++) {
    h.clock.advance(1000);
    await settle();
    push(h.writer, 't', 100 + i, 101 + i); // newer rows never join the retried batch
  }
  up = true;
  const flushed = h.writer.flush();
  h.clock.advance(1000);
  await flushed;
  assert.is(h.dead.length, 0);
  const withFirstRows = h.sent.filter((r) => ids(r).includes(0));
  assert.ok(withFirstRows.length >= 12, `retried while down (${withFirstRows.length} attempts)`);
  assert.ok(withFirstRows.every((r) => r.body === first.body), 'every attempt sends the same bytes');
  assert.is(new Set(withFirstRows.map((r) => r.options.queryId)).size, withFirstRows.length, 'each attempt has a query id of its own');
  assert.equal(ids(first), [0, 1, 2]);
  assert.is(h.writer.stats().written, 15);
  assert.ok(h.writer.stats().retried >= 12);
});

test('retry :: every attempt of a batch carries the same deduplication token and async_insert off; each batch its own token', async () => {
  const h = harness({ retries: 2 });
  h.respond = (req, n) => (ids(req).includes(0) && n === 1 ? new TransportError('socket hang up', true) : undefined);
  h.outcomes = { label: () => 's0', outcome: () => Promise.reject(new Error('cannot tell')), deduplicates: async () => true };
  push(h.writer, 't', 0, 6);
  const flushed = h.writer.flush();
  for (let i = 0; i < 5; i++) {
    h.clock.advance(1000);
    await settle();
  }
  await flushed;
  const first = h.sent.filter((r) => ids(r).includes(0));
  assert.is(first.length, 2, 'the batch whose answer was lost went again (its table deduplicates)');
  const tokens = first.map((r) => r.options.deduplicationToken);
  assert.type(tokens[0], 'string');
  assert.is(tokens[1], tokens[0]);
  assert.ok(first.every((r) => r.options.asyncInsert === false));
  const second = h.sent.find((r) => ids(r).includes(3));
  assert.type(second?.options.deduplicationToken, 'string');
  assert.is.not(second?.options.deduplicationToken, tokens[0]);
});

test('serverAsyncInsert :: batches ask for the server\'s own async inserts when the pool says so; a SQL insert keeps what its caller set', async () => {
  const h = harness({ serverAsyncInsert: true });
  push(h.writer, 't', 0, 3);
  h.writer.enqueueRequest({ type: 'insert', body: 'INSERT INTO t VALUES (9)', options: { asyncInsert: false, deduplicationToken: 'mine' }, readOnly: false });
  h.writer.enqueueRequest({ type: 'query', body: 'ALTER TABLE t DELETE WHERE 1', options: {}, readOnly: false });
  const flushed = h.writer.flush();
  h.clock.advance(1000);
  await flushed;
  assert.is(h.sent[0]?.options.asyncInsert, true);
  assert.is(h.sent[1]?.options.asyncInsert, false);
  assert.is(h.sent[1]?.options.deduplicationToken, 'mine');
  assert.is(h.sent[2]?.options.asyncInsert, undefined, 'not an insert: nothing added');
  assert.is(h.sent[2]?.options.deduplicationToken, undefined);
});

test('retry :: the delay between attempts follows the backoff', async () => {
  const h = harness();
  h.respond = (_r, n) => (n <= 2 ? new NoServerAvailableError(1) : undefined);
  push(h.writer, 't', 0, 3);
  await settle();
  assert.is(h.sent.length, 1);
  h.clock.advance(74); // attempt 1 failed: 100 * [0.5, 1] → 75 with random 0.5
  await settle();
  assert.is(h.sent.length, 1);
  h.clock.advance(1);
  await settle();
  assert.is(h.sent.length, 2);
  h.clock.advance(150); // attempt 2: 200 → 150
  await settle();
  assert.is(h.sent.length, 3);
  assert.is(h.writer.stats().written, 3);
});

test('retry :: a wave of failed batches waits for the longest of their delays', async () => {
  const h = harness();
  h.respond = (_r, n) => (n <= 3 ? new NoServerAvailableError(1) : undefined);
  push(h.writer, 'a', 0, 3);
  await settle(); // a's first attempt failed: 75 ms
  push(h.writer, 'b', 3, 6);
  h.clock.advance(75);
  await settle();
  assert.equal(h.sent.map(ids), [[0, 1, 2], [0, 1, 2], [3, 4, 5]], 'a (its second attempt) and b went in one wave, and failed');
  h.clock.advance(149); // a's delay after its second attempt: 150; b's after its first: 75
  await settle();
  assert.is(h.sent.length, 3, 'the wave waits for the longer delay');
  h.clock.advance(1);
  await settle();
  assert.is(h.sent.length, 5);
  assert.is(h.writer.stats().written, 6);
});

test('dead letter :: a batch refused for the data of a row: sent again in halves until that row is found; it alone goes to onError, the others are stored', async () => {
  const h = harness();
  const parse = () => new ClickHouseError({ serverCode: 27, serverMessage: 'Cannot parse input: expected \'"\' (at row 2)' }, 500);
  h.respond = (r) => (ids(r).includes(1) ? parse() : undefined);
  push(h.writer, 't', 0, 6);
  await h.writer.flush();
  // Before: the whole batch [0, 1, 2] went to onError, row 1's fault.
  assert.equal(h.sent.map(ids).sort(), [[0, 1, 2], [0, 1], [0], [1], [2], [3, 4, 5]].sort());
  assert.is(h.dead.length, 1);
  assert.is((h.dead[0]?.error as ClickHouseError).serverCode, 27);
  assert.equal(h.dead[0]?.rows, [row(1)]);
  assert.equal(h.writer.stats(), { queued: 0, inFlight: 0, written: 5, dropped: 0, failed: 1, retried: 0 });
});

test('dead letter :: a refusal that is no row\'s (a materialized view\'s query, which ran after the table stored the block; a setting\'s value) is not halved: the batch goes to onError once', async () => {
  for (const serverMessage of [
    "Cannot parse string '7x' as UInt8: while executing 'FUNCTION toUInt8(...)': while pushing to view default.mv (at row 1)",
    "Cannot parse input: expected eof before: 'abc': while parsing value 'abc' for setting max_threads",
    // A shard's refusal of its part of a Distributed insert: the other shards may have stored theirs.
    'Received from shard2:9000. DB::Exception: Constraint `c` for table default.t_local is violated at row 1.',
  ]) {
    const h = harness({ retries: 3 });
    h.respond = () => new ClickHouseError({ serverCode: 6, serverMessage }, 500);
    push(h.writer, 't', 0, 3);
    await h.writer.flush();
    // Before: sent again in halves, storing the view's table rows again each time.
    assert.equal([h.sent.length, h.dead.length, h.dead[0]?.rows.length], [1, 1, 3], serverMessage);
  }
  // A row's data refused with a code that is otherwise retried (18.16 reads an unknown Enum element as 49): not retried, halved.
  const h = harness({ retries: 3 });
  h.respond = (r) => (ids(r).includes(2) ? new ClickHouseError({ serverCode: 49, serverMessage: "Unknown element 'zz' for type Enum8('a' = 1): (while read the value of key e)" }, 500) : undefined);
  push(h.writer, 't', 0, 3);
  await h.writer.flush();
  assert.equal(h.sent.map(ids), [[0, 1, 2], [0, 1], [2]]);
  assert.equal([h.dead.length, h.writer.stats().written, h.writer.stats().retried], [1, 2, 0]);
});

test('dead letter :: a batch every row of which the server refuses: the halvings are bounded, each row reported once, flush() settles', async () => {
  const h = harness({ batchSize: 1_000, mailbox: 10_000 });
  h.respond = () => new ClickHouseError({ serverCode: 72, serverMessage: 'Cannot parse number: (at row 1)' }, 500);
  push(h.writer, 't', 0, 1_000);
  await h.writer.flush();
  assert.ok(h.sent.length <= 1 + 2 * 64, `${h.sent.length} sends`);
  assert.equal(h.dead.flatMap((d) => d.rows).map((r) => r.id).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 1_000 }, (_, i) => i));
  assert.equal(h.writer.stats(), { queued: 0, inFlight: 0, written: 0, dropped: 0, failed: 1_000, retried: 0 });
  // Nor a batch past 100,000 rows, of which the server may have written blocks before the one it refused.
  const big = harness({ batchSize: 100_001, mailbox: 200_000 });
  big.respond = () => new ClickHouseError({ serverCode: 72, serverMessage: 'Cannot parse number: (at row 100001)' }, 500);
  big.writer.enqueueRows('t', Array.from({ length: 100_001 }, (_, i) => row(i)));
  await big.writer.flush();
  assert.equal([big.sent.length, big.dead.length, big.dead[0]?.rows.length], [1, 1, 100_001]);
  // A statement is never halved.
  const q = harness();
  q.respond = () => new ClickHouseError({ serverCode: 27, serverMessage: 'Cannot parse input: (at row 1)' }, 500);
  q.writer.enqueueRequest(prepare({ type: 'insert', sql: 'INSERT INTO t VALUES (1), (2)' }));
  await q.writer.flush();
  assert.equal([q.sent.length, q.dead.length], [1, 1]);
});

test('dead letter :: other errors are retried `retries` times, then dead-lettered', async () => {
  const h = harness({ retries: 2 });
  h.respond = (r) => (ids(r)[0] === 0 ? new ClickHouseError({ serverCode: 252, serverMessage: 'Too many parts' }, 500) : undefined);
  push(h.writer, 't', 0, 6);
  const flushed = h.writer.flush();
  for (let i = 0; i < 5; i++) {
    await settle();
    h.clock.advance(1000);
  }
  await flushed;
  assert.is(h.sent.filter((r) => ids(r)[0] === 0).length, 3);
  assert.is(h.dead.length, 1);
  assert.is((h.dead[0]?.error as ClickHouseError).serverCode, 252);
  assert.is(h.writer.stats().written, 3);
});

// Twenty steps of a second, then flush() must have settled: a writer that never settles fails the test by name, not the run by a hang.
const drive = async (h: Harness, flushed: Promise<void>): Promise<void> => {
  let settled = false;
  const watched = flushed.finally(() => { settled = true; });
  watched.catch(() => undefined);
  for (let i = 0; i < 20; i++) {
    await settle();
    h.clock.advance(1000);
  }
  await settle();
  assert.ok(settled, 'flush() has not settled after 20 s of the test clock');
  await watched;
};
const codeOf = (e: Error | undefined): string | undefined => (e as { code?: string } | undefined)?.code;

test('unknown :: a batch that times out every time is sent at most 1 + retries times, then reported; flush settles', async () => {
  const h = harness({ retries: 2 });
  const asked: string[] = [];
  h.outcomes = { label: () => 's0', outcome: async (_s, id) => (asked.push(id), 'failed'), deduplicates: async () => false };
  h.respond = () => new TimeoutError(500, true);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 3, 'three sends in all');
  assert.equal(asked, h.sent.map((r) => r.options.queryId), 'each send was looked up by its own query id before the next');
  assert.is(h.dead.length, 1);
  assert.is(codeOf(h.dead[0]?.error), 'TIMEOUT');
  assert.equal(h.dead[0]?.rows, [row(0), row(1), row(2)]);
});

test('unknown :: a batch whose answer was lost but which its server finished is written, not sent again', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => 'finished', deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? new TransportError('socket hang up', true) : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 1);
  assert.equal(h.dead, []);
  assert.is(h.writer.stats().written, 3);
});

test('unknown :: when the server cannot tell and the table does not deduplicate, the rows go to onError as WRITE_OUTCOME_UNKNOWN', async () => {
  const h = harness();
  h.outcomes = { label: () => 'http://u:***@h:8123/db', outcome: async () => { throw new TimeoutError(2000, true); }, deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? new TimeoutError(500, true) : undefined);
  push(h.writer, 't', 0, 3);
  h.writer.enqueueRequest({ type: 'query', body: 'ALTER TABLE t DELETE WHERE 1', options: {}, readOnly: false });
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 2, 'the batch was not sent again; the statement after it was sent');
  assert.is(codeOf(h.dead[0]?.error), 'WRITE_OUTCOME_UNKNOWN');
  assert.match(h.dead[0]?.error.message ?? '', /could not say whether it was stored/);
  assert.is(codeOf((h.dead[0]?.error as Error & { cause?: Error }).cause), 'TIMEOUT');
  assert.is((h.dead[0]?.error as Error & { queryId?: string }).queryId, h.sent[0]?.options.queryId);
  assert.equal(h.dead[0]?.rows, [row(0), row(1), row(2)]);
});

test('unknown :: a table that deduplicates blocks gets the batch again when its server cannot tell', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => { throw new TimeoutError(2000, true); }, deduplicates: async (t) => t === 't' };
  h.respond = (_r, n) => (n === 1 ? new TimeoutError(500, true) : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map(ids), [[0, 1, 2], [0, 1, 2]]);
  assert.equal(h.dead, []);
});

test('unknown :: a batch sent again as it was (its table deduplicates) is never split, even when the server then refuses a row\'s data', async () => {
  const h = harness({ retries: 3 });
  h.outcomes = { label: () => 's0', outcome: async () => { throw new TimeoutError(2000, true); }, deduplicates: async () => true };
  h.respond = (_r, n) => (n === 1 ? new TimeoutError(500, true)
    : new ClickHouseError({ serverCode: 27, serverMessage: 'Cannot parse input: expected \'"\' (while reading the value of key id): (at row 1)' }, 500));
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  // Halves are requests of other bytes and tokens: the first send, if it was stored, would be stored again.
  assert.equal(h.sent.map(ids), [[0, 1, 2], [0, 1, 2]]);
  assert.is(h.sent[1]?.body, h.sent[0]?.body);
  assert.is(h.sent[1]?.options.deduplicationToken, h.sent[0]?.options.deduplicationToken);
  assert.equal(h.dead.map((d) => [(d.error as ClickHouseError).serverCode, d.rows]), [[27, [row(0), row(1), row(2)]]]);
});

test('unknown :: a statement whose answer was lost is never repeated blindly, and not at all without a way to ask', async () => {
  const h = harness();
  h.respond = () => new TransportError('socket hang up', true);
  h.writer.enqueueRequest({ type: 'query', body: 'INSERT INTO t SELECT 1', options: {}, readOnly: false });
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 1);
  assert.is(codeOf(h.dead[0]?.error), 'WRITE_OUTCOME_UNKNOWN');
});

// Rows of several column sets can be a statement per set (18.16): the perform notes where it
// stopped. Here row 0 is the first statement (stored), row 1 the second, row 2 the third.
const stoppedAtSecond = (error: Error): Error => stoppedAt(error, { queryId: 'q-2of3', index: 1, of: 3, inFlight: [row(1)], after: [row(2)] }) as Error;

test('partly stored :: the second of three statements lost its answer and finished: only the third\'s rows go again', async () => {
  const h = harness();
  const asked: string[] = [];
  h.outcomes = { label: () => 's0', outcome: async (_s, id) => (asked.push(id), 'finished'), deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? stoppedAtSecond(new TimeoutError(500, true)) : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.equal(asked, ['q-2of3'], 'the statement sent last was looked up, not the first');
  assert.equal(h.sent.map(ids), [[0, 1, 2], [2]]);
  assert.equal(h.dead, []);
  assert.is(h.writer.stats().written, 3, 'each row counted once');
  assert.ok(h.sent[1]?.options.deduplicationToken !== h.sent[0]?.options.deduplicationToken, 'the rest is a block of its own');
});

test('partly stored :: the second statement lost its answer and failed: its rows and the third\'s go again, not the first\'s', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => 'failed', deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? stoppedAtSecond(new TransportError('socket hang up', true)) : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map(ids), [[0, 1, 2], [1, 2]]);
  assert.equal(h.dead, []);
  assert.is(h.writer.stats().written, 3);
});

test('partly stored :: the second statement refused for a row\'s data: the stored first is not sent again, the rest go in halves until that row is found', async () => {
  const h = harness();
  // Row 1's data is refused, in whatever statement it goes.
  const refused = () => new ClickHouseError({ serverCode: 27, serverMessage: 'Cannot parse input: expected \'"\' before: \'abc\': (while reading the value of key id): (at row 1)' }, 500);
  h.respond = (r, n) => (n === 1 ? stoppedAtSecond(refused()) : ids(r).includes(1) ? refused() : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  // The stored first is not sent again; the rest in halves (before: the third's rows went to onError with the second's).
  assert.equal(h.sent.map(ids), [[0, 1, 2], [1], [2]]);
  assert.equal(h.dead.map((d) => d.rows), [[row(1)]]);
  assert.equal([h.writer.stats().written, h.writer.stats().failed], [2, 1]);
});

test('partly stored :: the second statement\'s outcome unknown: WRITE_OUTCOME_UNKNOWN names its rows; the never-sent third\'s go again', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => { throw new TimeoutError(2000, true); }, deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? stoppedAtSecond(new TimeoutError(500, true)) : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map(ids), [[0, 1, 2], [2]]);
  assert.is(codeOf(h.dead[0]?.error), 'WRITE_OUTCOME_UNKNOWN');
  assert.is((h.dead[0]?.error as Error & { queryId?: string }).queryId, 'q-2of3');
  assert.equal(h.dead.map((d) => d.rows), [[row(1)]]);
  assert.equal([h.writer.stats().written, h.writer.stats().failed], [2, 1]);
});

test('partly stored :: rows never sent go again without using up a retry (asyncRetries 0)', async () => {
  const h = harness({ retries: 0 });
  h.outcomes = { label: () => 's0', outcome: async () => 'finished', deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? stoppedAtSecond(new TimeoutError(500, true)) : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map(ids), [[0, 1, 2], [2]]);
  assert.equal(h.dead, []);
  assert.is(h.writer.stats().written, 3);
});

test('partly stored :: a connection that crashed under a batch of two column sets: found through the crash\'s cause; without it, unknown', async () => {
  const crashed = (cause: unknown): Error => Object.assign(new Error('connection conn-0 crashed while serving the call', { cause }), { code: 'POOL_CONNECTION_CRASHED' });
  // Two column sets: two statements on 18.16.
  const mixed = (w: Writer): void => w.enqueueRows('t', [{ id: 0 }, { id: 1, note: 'x' }, { id: 2 }]);
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => 'finished', deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? crashed(stoppedAt(new TransportError('socket closed', true), { queryId: 'q-1', index: 0, of: 2, inFlight: [{ id: 0 }, { id: 2 }], after: [{ id: 1, note: 'x' }] })) : undefined);
  mixed(h.writer);
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map(ids), [[0, 2, 1], [1]], 'the second set goes again, alone');
  assert.equal(h.dead, []);
  const blind = harness();
  blind.outcomes = { label: () => 's0', outcome: async () => 'finished', deduplicates: async () => false };
  blind.respond = () => crashed(undefined);
  mixed(blind.writer);
  await drive(blind, blind.writer.flush());
  assert.is(blind.sent.length, 1, 'not sent again');
  assert.is(codeOf(blind.dead[0]?.error), 'WRITE_OUTCOME_UNKNOWN');
  assert.match(blind.dead[0]?.error.message ?? '', /sent as 2 statements/);
  assert.is(blind.dead[0]?.rows.length, 3);
});

test('partly stored :: the last statement lost its answer and finished: all written, nothing sent again', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => 'finished', deduplicates: async () => false };
  h.respond = () => stoppedAt(new TimeoutError(500, true), { queryId: 'q-3of3', index: 2, of: 3, inFlight: [row(2)], after: [] }) as Error;
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 1);
  assert.equal(h.dead, []);
  assert.is(h.writer.stats().written, 3);
});

test('dead letter :: a request is reported with its type and body', async () => {
  const h = harness();
  h.respond = () => new ClickHouseError({ serverCode: 62, serverMessage: 'Syntax error' }, 500);
  h.writer.enqueueRequest({ type: 'query', body: 'CREATE TABLE (', options: {}, readOnly: false });
  await h.writer.flush();
  assert.equal(h.dead[0]?.rows, [{ type: 'query', body: 'CREATE TABLE (' }]);
});

test('dead letter :: a throwing onError hook does not stop the writer', async () => {
  const h = harness({ onError: () => { throw new Error('hook bug'); } });
  const warned: string[] = [];
  const onWarn = (w: Error): void => { warned.push(w.message); };
  process.on('warning', onWarn);
  // Refused whole (a syntax error is no row's fault).
  h.respond = (_r, n) => (n === 1 ? new ClickHouseError({ serverCode: 62, serverMessage: 'Syntax error' }, 500) : undefined);
  push(h.writer, 't', 0, 6);
  await h.writer.flush();
  await settle();
  process.off('warning', onWarn);
  assert.is(h.writer.stats().written, 3);
  assert.ok(warned.some((m) => m.includes('hook bug')));
});

test('overflow :: drop_newest refuses rows beyond the mailbox and reports them once', async () => {
  const h = harness({ mailbox: 5, batchSize: 10 });
  h.respond = () => new NoServerAvailableError(3);
  push(h.writer, 't', 0, 8);
  await settle();
  assert.is(h.dead.length, 1);
  const [report] = h.dead;
  assert.ok(report?.error instanceof MailboxFullError);
  assert.is((report?.error as MailboxFullError).code, 'WRITER_MAILBOX_FULL');
  assert.is((report?.error as MailboxFullError).count, 3);
  assert.equal(report?.rows, [row(5), row(6), row(7)]);
  assert.equal(h.writer.stats(), { queued: 5, inFlight: 0, written: 0, dropped: 3, failed: 0, retried: 0 });
  h.respond = () => undefined;
  await h.writer.flush();
  assert.equal(ids(h.sent[0] as PreparedRequest), [0, 1, 2, 3, 4]);
});

test('overflow :: drop_oldest evicts the oldest unsent rows, never the batch in flight', async () => {
  const h = harness({ mailbox: 6, batchSize: 3, overflow: 'drop_oldest' });
  h.respond = () => new NoServerAvailableError(3);
  push(h.writer, 't', 0, 3); // sealed and attempted: frozen
  await settle();
  push(h.writer, 't', 3, 8);
  await settle();
  assert.equal(h.dead.map((d) => d.rows.map((r) => r.id)), [[3, 4]]);
  assert.is(h.writer.stats().inFlight, 3);
  h.respond = () => undefined;
  const flushed = h.writer.flush();
  h.clock.advance(1000);
  await flushed;
  const written = h.sent.filter((r, i) => i > 0 && r.body !== h.sent[0]!.body).map(ids);
  assert.equal(ids(h.sent[0] as PreparedRequest), [0, 1, 2]);
  assert.equal(written, [[5], [6, 7]]); // the evicted batch keeps its place; newer rows open their own
  assert.is(h.writer.stats().dropped, 2);
});

test('overflow :: drop_oldest that evicts a whole open batch: the rows after it are sent', async () => {
  const h = harness({ mailbox: 3, batchSize: 10, overflow: 'drop_oldest' });
  h.writer.enqueueRows('t', [row(1), row(2), row(3)]);
  h.writer.enqueueRows('t', [row(4), row(5), row(6)]);
  await h.writer.flush();
  // Before: rows 4 to 6 joined the evicted batch: never sent, never reported, counted as queued for ever.
  assert.equal(h.sent.map(ids), [[4, 5, 6]]);
  assert.equal(h.dead.map((d) => [codeOf(d.error), d.rows]), [['WRITER_MAILBOX_FULL', [row(1), row(2), row(3)]]]);
  assert.equal(h.writer.stats(), { queued: 0, inFlight: 0, written: 3, dropped: 3, failed: 0, retried: 0 });
});

test('overflow :: SQL requests count against the mailbox like rows', async () => {
  const h = harness({ mailbox: 2 });
  h.respond = () => new Promise<void>(() => {}); // the first statement's send hangs
  for (let i = 0; i < 4; i++) h.writer.enqueueRequest({ type: 'query', body: `OPTIMIZE TABLE t${i}`, options: {}, readOnly: false });
  await settle();
  assert.equal(h.dead.map((d) => [codeOf(d.error), d.rows]), [
    ['WRITER_MAILBOX_FULL', [{ type: 'query', body: 'OPTIMIZE TABLE t2' }, { type: 'query', body: 'OPTIMIZE TABLE t3' }]],
  ]);
  assert.equal(h.writer.stats(), { queued: 1, inFlight: 1, written: 0, dropped: 2, failed: 0, retried: 0 });
});

test('flush :: resolves only when everything before it is written', async () => {
  const h = harness({ batchSize: 100 });
  let release: () => void = () => {};
  h.respond = () => new Promise<void>((r) => { release = r; });
  push(h.writer, 't', 0, 2);
  let done = false;
  const flushed = h.writer.flush().then(() => { done = true; });
  await settle();
  assert.is(h.sent.length, 1);
  assert.is(done, false);
  assert.is(h.writer.stats().inFlight, 2);
  release();
  await flushed;
  assert.is(h.writer.stats().written, 2);
  assert.ok(await h.writer.flush().then(() => true), 'an empty flush resolves at once');
});

test('stop :: drains the mailbox before the actor stops', async () => {
  const h = harness({ batchSize: 100 });
  push(h.writer, 't', 0, 5);
  await h.writer.spec.stop?.(h.actor);
  assert.equal(h.sent.map(ids), [[0, 1, 2, 3, 4]]);
  assert.is(h.dead.length, 0);
  h.actor.stop();
  await settle();
  // On the real clock such a timer keeps the process alive for up to the shutdown time after stop().
  assert.is(h.clock.pending(), 0, 'a drain that wrote everything leaves no timer behind');
});

test('stop :: a writer stopped for good and started again accepts and writes rows', async () => {
  const h = harness();
  await h.writer.spec.stop?.(h.actor);
  h.actor.stop();
  const next = h.writer.spec.start() as AnyActorRef; // app.stop(), then startSupervisor() again (tests, hot reload)
  next.start();
  h.writer.enqueueRows('t', [row(1)]);
  await h.writer.flush();
  next.stop();
  assert.equal(h.sent.map(ids), [[1]]);
  assert.equal(h.dead, []);
  assert.equal([h.writer.stats().written, h.writer.stats().dropped], [1, 0]);
});

test('stop :: rows enqueued while a kept queue waits for the restart are written after it', async () => {
  const h = harness();
  h.writer.poolDown();
  await h.writer.spec.stop?.(h.actor); // a sibling restart: the queue is kept
  h.actor.stop();
  h.writer.enqueueRows('t', [row(7)]);
  const next = h.writer.spec.start() as AnyActorRef;
  next.start();
  await h.writer.flush();
  next.stop();
  assert.equal(h.dead, []);
  assert.equal(h.sent.map(ids), [[7]]);
});

test('stop :: a send failing with PoolNotStartedError during the drain ends it at once and keeps the queue', async () => {
  const h = harness({ batchSize: 100 });
  let gone = false;
  h.respond = () => (gone ? new PoolNotStartedError('p') : new TimeoutError(100, false));
  push(h.writer, 't', 0, 2);
  void h.writer.flush();
  await settle(); // the first attempt failed before anything was sent: waiting out its backoff
  gone = true;
  let done = false;
  const stopped = h.writer.spec.stop?.(h.actor)?.then(() => { done = true; });
  for (let i = 0; i < 5 && !done; i++) {
    await settle();
    h.clock.advance(10);
  }
  assert.ok(done, 'the drain ended well before its shutdown time');
  await stopped;
  h.actor.stop();
  assert.equal(h.dead, [], 'the queue is kept for the restarted writer, not reported');
  assert.is(h.writer.stats().queued + h.writer.stats().inFlight, 2);
});

test('stop :: poolDown() during a drain (send hanging) ends it at once, queue kept', async () => {
  const h = harness({ batchSize: 100 });
  h.respond = () => new Promise<void>(() => {});
  push(h.writer, 't', 0, 2);
  void h.writer.flush();
  await settle();
  let done = false;
  const stopped = h.writer.spec.stop?.(h.actor)?.then(() => { done = true; });
  await settle();
  assert.is(done, false, 'the drain waits for the send');
  h.writer.poolDown();
  await settle();
  assert.ok(done, 'poolDown() ended the drain at once');
  await stopped;
  h.actor.stop();
  assert.equal(h.dead, []);
  assert.is(h.writer.stats().queued + h.writer.stats().inFlight, 2);
});

test('stop :: what cannot be written within the shutdown time goes to onError', async () => {
  const h = harness({ batchSize: 2 }, 1000);
  h.respond = () => new NoServerAvailableError(3);
  push(h.writer, 't', 0, 5);
  let flushed = false;
  void h.writer.flush().then(() => { flushed = true; });
  const stopped = h.writer.spec.stop?.(h.actor);
  for (let i = 0; i < 10; i++) {
    await settle();
    h.clock.advance(100);
  }
  await stopped;
  assert.equal(h.dead.map((d) => [d.error.constructor.name, (d.error as { code?: string }).code, d.rows.length]), [
    ['WriterStoppedError', 'WRITER_STOPPED', 2], ['WriterStoppedError', 'WRITER_STOPPED', 2], ['WriterStoppedError', 'WRITER_STOPPED', 1],
  ]);
  assert.equal(h.writer.stats(), { queued: 0, inFlight: 0, written: 0, dropped: 0, failed: 5, retried: h.writer.stats().retried });
  assert.ok(h.writer.stats().retried >= 2, 'the drain kept retrying until the time ran out');
  await settle();
  assert.ok(flushed, 'a flush() waiting for the rows given up settles');
  h.writer.enqueueRows('t', [row(9)]);
  assert.is((h.dead[3]?.error as { code?: string }).code, 'WRITER_STOPPED');
  assert.is(h.writer.stats().dropped, 1);
  // A statement too: reported, not queued where nothing would ever send it.
  h.writer.enqueueRequest({ type: 'query', body: 'OPTIMIZE TABLE t', options: {}, readOnly: false });
  assert.equal(h.dead.slice(4).map((d) => [(d.error as { code?: string }).code, d.rows]), [['WRITER_STOPPED', [{ type: 'query', body: 'OPTIMIZE TABLE t' }]]]);
  assert.equal([h.writer.stats().dropped, h.writer.stats().queued], [2, 0]);
});

test('stop :: a batch waiting out a long backoff is retried at once when the drain starts', async () => {
  const h = harness({ backoff: { initial: 2000, max: 10_000 } });
  h.respond = (_r, n) => (n <= 2 ? new NoServerAvailableError(3) : undefined);
  push(h.writer, 't', 0, 3);
  await settle();
  const stopped = h.writer.spec.stop?.(h.actor);
  await settle();
  assert.is(h.sent.length, 2, 'retried without waiting for the backoff');
  h.clock.advance(2000);
  await stopped;
  assert.is(h.sent.length, 3);
  assert.is(h.writer.stats().written, 3);
  assert.is(h.dead.length, 0);
});

test('stop :: when the pool itself is gone (a sibling restart) the queue is kept for the next actor', async () => {
  const h = harness();
  h.respond = () => new PoolNotStartedError('p');
  push(h.writer, 't', 0, 5);
  await settle();
  await h.writer.spec.stop?.(h.actor);
  h.actor.stop();
  assert.is(h.dead.length, 0);
  assert.is(h.writer.stats().queued + h.writer.stats().inFlight, 5);
  h.respond = () => undefined;
  const next = h.writer.spec.start() as AnyActorRef;
  next.start();
  const flushed = h.writer.flush();
  for (let i = 0; i < 5; i++) {
    await settle();
    h.clock.advance(1000);
  }
  await flushed;
  assert.equal(h.sent.filter((r, i) => h.sent.findIndex((o) => o.body === r.body) === i).map(ids), [[0, 1, 2], [3, 4]]);
  assert.is(h.writer.stats().written, 5);
  next.stop();
});

test('stop :: after poolDown() (a sibling crashed) the drain keeps the queue, whatever the last attempt failed with', async () => {
  const h = harness();
  h.respond = () => new TransportError('connect ECONNREFUSED', false);
  push(h.writer, 't', 0, 3);
  await settle();
  h.writer.poolDown();
  h.clock.advance(1000); // a retry fails after poolDown() with an error that says nothing about the pool
  await settle();
  const stopped = h.writer.spec.stop?.(h.actor);
  await settle();
  await stopped; // at once: a drain that waited out the shutdown time would dead-letter
  h.actor.stop();
  h.clock.advance(1_900);
  await settle();
  assert.is(h.dead.length, 0);
  assert.is(h.writer.stats().queued + h.writer.stats().inFlight, 3);
  // No restart within 2 s: the pool's supervisor gave up; the rows are reported, not held forever.
  h.clock.advance(100);
  await settle();
  assert.equal(h.dead.map((d) => [(d.error as { code?: string }).code, d.rows.length]), [['WRITER_STOPPED', 3]]);
});

test('stop :: a restarted writer stopped for good still reports what it could not write', async () => {
  const h = harness({}, 1000);
  h.respond = () => new PoolNotStartedError('p');
  push(h.writer, 't', 0, 3);
  await settle();
  await h.writer.spec.stop?.(h.actor); // the sibling restart: queue kept
  h.actor.stop();
  h.respond = () => new NoServerAvailableError(3);
  const next = h.writer.spec.start() as AnyActorRef;
  next.start();
  const stopped = h.writer.spec.stop?.(next); // then the final stop, before anything was written
  for (let i = 0; i < 10; i++) {
    await settle();
    h.clock.advance(200);
  }
  await stopped;
  next.stop();
  assert.equal(h.dead.map((d) => [(d.error as { code?: string }).code, d.rows]), [['WRITER_STOPPED', [row(0), row(1), row(2)]]]);
});

test('crash :: a restarted actor resumes the queue and does not re-send attempts still running', async () => {
  const h = harness({ batchSize: 2 });
  const releases: (() => void)[] = [];
  h.respond = () => new Promise<void>((r) => releases.push(r));
  push(h.writer, 't', 0, 5);
  await settle();
  assert.equal(h.sent.map(ids), [[0, 1]], 'the first batch went out as soon as it was full');
  h.actor.stop(); // as a crash: no drain
  const next = h.writer.spec.start() as AnyActorRef;
  next.start();
  await settle();
  assert.equal(h.sent.map(ids), [[0, 1], [2, 3]], 'the in-flight attempt is awaited, not sent again; the next batch joins it');
  releases[0]?.();
  releases[1]?.();
  const flushed = h.writer.flush();
  await settle();
  releases[2]?.();
  await flushed;
  assert.equal(h.sent.map(ids), [[0, 1], [2, 3], [4]]);
  assert.is(h.writer.stats().written, 5);
  next.stop();
});

test('concurrency :: waves of up to `concurrency` batches; a SQL request alone, after all before it', async () => {
  const h = harness({ batchSize: 1 }, 5000, 2);
  const releases: (() => void)[] = [];
  h.respond = () => new Promise<void>((r) => releases.push(r));
  const q: PreparedRequest = { type: 'query', body: 'OPTIMIZE TABLE t', options: {}, readOnly: false };
  push(h.writer, 't', 0, 3);
  h.writer.enqueueRequest(q);
  push(h.writer, 't', 3, 4);
  await settle();
  const lines = () => h.sent.map((r) => r.body.split('\n')[r.type === 'query' ? 0 : 1]);
  assert.equal(lines(), ['{"id":0}'], 'the first batch left as soon as it was sealed');
  releases.shift()?.();
  await settle();
  assert.equal(lines(), ['{"id":0}', '{"id":1}', '{"id":2}'], 'then two at once');
  assert.is(h.writer.stats().inFlight, 2);
  releases.shift()?.();
  await settle();
  assert.is(h.sent.length, 3, 'the request waits for both');
  releases.shift()?.();
  await settle();
  assert.equal(lines().slice(3), ['OPTIMIZE TABLE t'], 'then the request, alone');
  releases.shift()?.();
  await settle();
  assert.equal(lines().slice(4), ['{"id":3}']);
  releases.shift()?.();
  await h.writer.flush();
  assert.is(h.writer.stats().written, 5);
});

test('concurrency :: without the option, three table batches go at once (as definePool creates its writer)', async () => {
  const h = harness({ batchSize: 10 }, 5000, 'default');
  h.respond = () => new Promise<void>(() => {});
  for (const table of ['a', 'b', 'c', 'd']) h.writer.enqueueRows(table, [row(1)]);
  void h.writer.flush(); // seals the four batches at once
  await settle();
  assert.equal(h.sent.map((r) => r.body.split('\n')[0]), ['a', 'b', 'c'].map((t) => `INSERT INTO \`${t}\` (\`id\`) FORMAT JSONEachRow`));
  assert.is(h.writer.stats().inFlight, 3);
});

test('crash :: the supervisor restarts a crashed writer actor and the queue survives', async () => {
  const clock = createTestClock(0);
  let bug = false;
  const buggy: Clock = {
    now: () => {
      if (bug) { bug = false; throw new Error('a bug in the writer'); }
      return clock.now();
    },
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
  };
  const sent: PreparedRequest[] = [];
  const writer = createWriter({
    id: 'writer', clock: buggy, run: async (r) => { sent.push(r); },
    options: { mailbox: 100, batchSize: 100, flushInterval: 1000, overflow: 'drop_newest', retries: 2, backoff: { initial: 100, max: 1000 }, onError: () => {}, serverAsyncInsert: false },
  });
  const app = await startSupervisor([writer.spec], { clock: buggy });
  const before = app.whichChildren()[0]?.actor;
  push(writer, 't', 0, 5);
  bug = true; // the actor's next look at the clock throws: it crashes mid-work
  await writer.flush();
  assert.ok(app.whichChildren()[0]?.actor !== before, 'the actor was restarted');
  assert.equal(sent.map(ids), [[0, 1, 2, 3, 4]]);
  await app.stop();
});

test('request :: insertRequest of rows checked already equals prepare() for uniform rows, mixed column sets and undefined values', () => {
  const cases: Row[][] = [
    [{ id: 1, s: 'a' }, { id: 2, s: 'b' }],
    [{ id: 1, s: undefined }, { id: 2 }],
    [{ id: 1 }, { id: 2, s: 'x' }, { s: 'y', id: 3 }],
    [{ 'odd`name': 1 }, { 'odd`name': 2 }],
  ];
  for (const rows of cases) {
    assert.equal(insertRequest('`t`', rows, true), prepare({ type: 'insert_to_table', table: 't', rows }));
  }
});

test('request :: a batch is the request prepare() builds for its rows, column sets and all', async () => {
  const h = harness({ batchSize: 4 });
  const rows: Row[] = [{ id: 1 }, { id: 2, b: 'x' }, { b: undefined, id: 3 }, { id: 4, b: 'y' }];
  for (const r of rows) h.writer.enqueueRows('db.t', [r]);
  await h.writer.flush();
  const expected = prepare({ type: 'insert_to_table', table: 'db.t', rows });
  assert.equal(h.sent.map((r) => ({ ...r, options: {} })), [expected], 'the request prepare() builds');
  assert.equal(h.sent[0]?.options.settings, { log_queries: 1 }, 'logged, so that a lost answer can be looked up');
  assert.match(h.sent[0]?.options.queryId ?? '', /^colonnade-[0-9a-f]{8}-\d+$/);
  assert.is(h.sent[0]?.body, 'INSERT INTO `db`.`t` (`id`) FORMAT JSONEachRow\n{"id":1}\n{"id":3}\n' +
    'INSERT INTO `db`.`t` (`id`, `b`) FORMAT JSONEachRow\n{"id":2,"b":"x"}\n{"id":4,"b":"y"}\n');
});


test('model :: random loads and faults; no row stored twice; every row stored, reported or dropped, never lost', async () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const rand = seeded(seed);
    const overflow = seed % 2 === 0 ? 'drop_oldest' : 'drop_newest';
    const concurrency = seed % 3 === 0 ? 1 : 3;
    const h = harness({ mailbox: 40, batchSize: 1 + Math.floor(rand() * 8), overflow, retries: 3 }, 5000, concurrency);
    // Tables a and b are plain MergeTree (every landing stores); c is replicated (drops a block it has).
    const stored = new Map<string, number[]>(); // per table, ids in the order the server stored them
    const finished = new Set<string>(); // query ids the server ran to their end
    const blocks = new Set<string>();
    h.outcomes = {
      label: () => 'server 0',
      outcome: async (_server, queryId) => {
        if (rand() < 0.2) throw new TimeoutError(2000, true); // the server cannot tell now
        return finished.has(queryId) ? 'finished' : 'absent';
      },
      deduplicates: async (table) => table === 'c',
    };
    h.respond = (req) => {
      const poison = ids(req).some((id) => id % 97 === 0);
      if (poison) return new ClickHouseError({ serverCode: 27, serverMessage: 'Cannot parse input' }, 500);
      const r = rand();
      if (r < 0.25) return new NoServerAvailableError(3);
      if (r < 0.3) return new TimeoutError(5000, false); // never left
      if (r < 0.35) return new TransportError('answer lost before the server ran it', true);
      const table = /^INSERT INTO `(\w+)`/.exec(req.body)?.[1] as string;
      if (table !== 'c' || !blocks.has(req.body)) {
        blocks.add(req.body);
        stored.set(table, [...(stored.get(table) ?? []), ...ids(req)]);
      }
      finished.add(req.options.queryId as string);
      if (r < 0.45) return new TransportError('answer lost', true);
      return r < 0.5 ? new TimeoutError(5000, true) : undefined;
    };
    let next = 1;
    const sentIds: number[] = [];
    const tableOf = new Map<number, string>();
    for (let step = 0; step < 300; step++) {
      const op = rand();
      if (op < 0.7) {
        const table = ['a', 'b', 'c'][Math.floor(rand() * 3)] as string;
        const n = 1 + Math.floor(rand() * 4);
        const rows = Array.from({ length: n }, () => row(next++));
        for (const r of rows) tableOf.set(r.id as number, table);
        sentIds.push(...rows.map((r) => r.id as number));
        h.writer.enqueueRows(table, rows);
      } else {
        h.clock.advance(Math.floor(rand() * 400));
      }
      if (step % 10 === 0) await settle();
      const st = h.writer.stats();
      assert.ok(st.queued + st.inFlight <= 40, `seed ${seed}: the mailbox stays bounded`);
    }
    const flushed = h.writer.flush();
    for (let i = 0; i < 400 && h.writer.stats().queued + h.writer.stats().inFlight > 0; i++) {
      await settle();
      h.clock.advance(1000);
    }
    await flushed;
    await settle();
    const rowsOf = (keep: (e: Error) => boolean): number[] => h.dead.filter((d) => keep(d.error)).flatMap((d) => d.rows.map((r) => r.id as number));
    const code = (e: Error): string | undefined => (e as { code?: string }).code;
    const unknown = rowsOf((e) => code(e) === 'WRITE_OUTCOME_UNKNOWN');
    const dead = rowsOf((e) => code(e) !== 'WRITE_OUTCOME_UNKNOWN' && !(e instanceof MailboxFullError));
    const dropped = rowsOf((e) => e instanceof MailboxFullError);
    const all = [...stored.values()].flat();
    assert.is(new Set(all).size, all.length, `seed ${seed}: no row stored twice`);
    assert.ok(dead.every((id) => !all.includes(id)), `seed ${seed}: rows reported as not written were not stored`);
    // One batch at a time keeps each table's rows in order; concurrent batches may overtake a retried one.
    for (const [table, list] of concurrency === 1 ? stored : []) {
      assert.equal(list, [...list].sort((x, y) => x - y), `seed ${seed}: table ${table} got its rows in order`);
    }
    const unknownStored = unknown.filter((id) => all.includes(id));
    assert.equal([...all, ...dead, ...dropped, ...unknown.filter((id) => !all.includes(id))].sort((x, y) => x - y), sentIds,
      `seed ${seed}: every row stored, reported or dropped, exactly once`);
    const st = h.writer.stats();
    assert.equal([st.written, st.failed, st.dropped], [all.length - unknownStored.length, dead.length + unknown.length, dropped.length], `seed ${seed}: counters`);
    assert.ok(unknown.every((id) => tableOf.get(id) !== 'c'), `seed ${seed}: a replicated table's batch is never left unknown`);
    assert.ok(unknown.length > 0 || seed !== 1, 'the model does reach unknown outcomes');
    h.actor.stop();
  }
});


// Mutation-run gaps (mut-wo): what the writer stamps on a request, and how it judges a send
// whose answer was lost in the cases the tests above leave open.

test('request :: a SQL insert the caller gave only asyncInsert, or only a token: the writer adds the other, keeps the caller\'s, and keeps both across a retry', async () => {
  const h = harness({ serverAsyncInsert: true });
  h.outcomes = { label: () => 's0', outcome: async () => 'failed', deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? new TransportError('socket hang up', true) : undefined);
  h.writer.enqueueRequest({ type: 'insert', body: 'INSERT INTO t VALUES (1)', options: { asyncInsert: false }, readOnly: false });
  h.writer.enqueueRequest({ type: 'insert', body: 'INSERT INTO t VALUES (2)', options: { deduplicationToken: 'mine' }, readOnly: false });
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map((r) => r.body), ['INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (2)']);
  const [first, again, second] = h.sent;
  assert.is(first?.options.asyncInsert, false, 'the caller\'s asyncInsert is kept over the pool\'s');
  assert.type(first?.options.deduplicationToken, 'string', 'a token is added');
  assert.is(again?.options.deduplicationToken, first?.options.deduplicationToken, 'the retry carries the same token');
  assert.is(second?.options.deduplicationToken, 'mine', 'the caller\'s token is kept');
  assert.is(second?.options.asyncInsert, true, 'the pool\'s serverAsyncInsert is added');
  assert.equal(h.dead, []);
});

test('request :: each attempt carries a query id of its own, after the caller\'s, and asks for query logging whatever the caller set', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => 'failed', deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? new TransportError('socket hang up', true) : undefined);
  h.writer.enqueueRequest({ type: 'insert', body: 'INSERT INTO t VALUES (1)', options: { queryId: 'mine', settings: { log_queries: 0 } }, readOnly: false });
  await drive(h, h.writer.flush());
  const ids = h.sent.map((r) => r.options.queryId ?? '');
  assert.is(ids.length, 2);
  assert.ok(ids.every((id) => id.startsWith('mine-')), `${ids.join(', ')}: the caller's query id leads`);
  assert.is.not(ids[1], ids[0], 'a lookup by query id finds one attempt, never two');
  assert.ok(h.sent.every((r) => r.options.settings?.log_queries === 1), 'logged: its outcome can be looked up');
});

test('unknown :: a send aborted after its request was sent, or one its connection dropped as the pool stopped (POOL_STOPPED), is looked up, not sent again blindly', async () => {
  for (const failure of [new AbortError(new Error('shutting down'), true), new PoolError('POOL_STOPPED', 'connection conn-0 stopped')]) {
    const h = harness();
    const asked: string[] = [];
    h.outcomes = { label: () => 's0', outcome: async (_s, id) => (asked.push(id), 'finished'), deduplicates: async () => false };
    h.respond = (_r, n) => (n === 1 ? failure : undefined);
    push(h.writer, 't', 0, 3);
    await drive(h, h.writer.flush());
    assert.is(h.sent.length, 1, `${failure.code}: stored, not sent again`);
    assert.equal(asked, [h.sent[0]?.options.queryId]);
    assert.equal(h.dead, []);
    assert.is(h.writer.stats().written, 3);
  }
});

test('unknown :: when the table\'s engine cannot be looked up either, the batch is not sent again: WRITE_OUTCOME_UNKNOWN names the server and the send\'s own error', async () => {
  const h = harness();
  h.outcomes = {
    label: () => 'http://u:***@h:8123/db',
    outcome: async () => { throw new ClickHouseError({ serverCode: 60, serverMessage: 'Table system.query_log doesn\'t exist' }, 500); },
    deduplicates: async () => { throw new Error('engine lookup failed'); },
  };
  h.respond = () => new TimeoutError(500, true);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 1, 'not sent again');
  const error = h.dead[0]?.error as (Error & { cause?: Error; server?: string }) | undefined;
  assert.is(codeOf(error), 'WRITE_OUTCOME_UNKNOWN');
  assert.is(codeOf(error?.cause), 'TIMEOUT', 'the cause is the send\'s error, not the lookup\'s');
  assert.is(error?.server, 'http://u:***@h:8123/db');
  assert.match(error?.message ?? '', /to http:\/\/u:\*\*\*@h:8123\/db:/);
  assert.match(error?.message ?? '', /query_log doesn't exist/);
  assert.equal(h.dead.map((d) => d.rows), [[row(0), row(1), row(2)]]);
});

test('unknown :: a SQL statement whose answer was lost is not repeated even when every table deduplicates (a statement is not a block)', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => { throw new TimeoutError(2000, true); }, deduplicates: async () => true };
  h.respond = () => new TransportError('socket hang up', true);
  h.writer.enqueueRequest({ type: 'query', body: 'INSERT INTO t SELECT 1', options: {}, readOnly: false });
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 1);
  assert.is(codeOf(h.dead[0]?.error), 'WRITE_OUTCOME_UNKNOWN');
});

test('partly stored :: the last of three statements lost its answer and cannot be known: only its rows are reported; the first two were stored', async () => {
  const h = harness();
  h.outcomes = { label: () => 's0', outcome: async () => { throw new TimeoutError(2000, true); }, deduplicates: async () => false };
  h.respond = () => stoppedAt(new TimeoutError(500, true), { queryId: 'q-3of3', index: 2, of: 3, inFlight: [row(2)], after: [] }) as Error;
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.is(h.sent.length, 1, 'nothing sent again');
  assert.equal(h.dead.map((d) => [codeOf(d.error), d.rows]), [['WRITE_OUTCOME_UNKNOWN', [row(2)]]]);
  assert.equal([h.writer.stats().written, h.writer.stats().failed], [2, 1]);
});

test('partly stored :: the second statement\'s outcome unknown: the never-sent third\'s rows go again without using up a retry (asyncRetries 0)', async () => {
  const h = harness({ retries: 0 });
  h.outcomes = { label: () => 's0', outcome: async () => { throw new TimeoutError(2000, true); }, deduplicates: async () => false };
  h.respond = (_r, n) => (n === 1 ? stoppedAtSecond(new TimeoutError(500, true)) : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map(ids), [[0, 1, 2], [2]]);
  assert.equal(h.dead.map((d) => [codeOf(d.error), d.rows]), [['WRITE_OUTCOME_UNKNOWN', [row(1)]]]);
  assert.equal([h.writer.stats().written, h.writer.stats().failed], [2, 1]);
});

test('partly stored :: a connection that crashed under two column sets, the first stored: sent again as it was when the table deduplicates, reported when its engine cannot be looked up', async () => {
  const crashed = (): Error => Object.assign(new Error('connection conn-0 crashed while serving the call'), { code: 'POOL_CONNECTION_CRASHED' });
  const mixed = (w: Writer): void => w.enqueueRows('t', [{ id: 0 }, { id: 1, note: 'x' }, { id: 2 }]);
  const dedup = harness();
  dedup.outcomes = { label: () => 's0', outcome: async () => 'finished', deduplicates: async () => true };
  dedup.respond = (_r, n) => (n === 1 ? crashed() : undefined);
  mixed(dedup.writer);
  await drive(dedup, dedup.writer.flush());
  assert.is(dedup.sent.length, 2, 'the table drops the stored statement\'s repeat: all of it again');
  assert.is(dedup.sent[1]?.body, dedup.sent[0]?.body);
  assert.is(dedup.sent[1]?.options.deduplicationToken, dedup.sent[0]?.options.deduplicationToken);
  assert.equal(dedup.dead, []);
  const blind = harness();
  blind.outcomes = { label: () => 's0', outcome: async () => 'finished', deduplicates: async () => { throw new Error('engine lookup failed'); } };
  blind.respond = () => crashed();
  mixed(blind.writer);
  await drive(blind, blind.writer.flush());
  assert.is(blind.sent.length, 1, 'not sent again');
  assert.is(codeOf(blind.dead[0]?.error), 'WRITE_OUTCOME_UNKNOWN');
  assert.is(blind.dead[0]?.rows.length, 3);
});

test('dead letter :: rows the table\'s description refuses as the batch is encoded: each reported alone, named by its column (or as the row), the others sent again at once as a batch of their own', async () => {
  const h = harness();
  const range = 'Date 2200-01-01T00:00:00.000Z is outside DateTime\'s range (1970 to 2106)';
  // Row 0 refused as a row, row 2 for its column `at`; row 1 is fine.
  const refusal = (): Error => withAllRefused([
    rowRefused(new QueryParamError('row', `${NOT_A_ROW} (it reads as null)`), 0) as QueryParamError,
    rowRefused(new QueryParamError('at', range), 2) as QueryParamError,
  ]);
  h.respond = (r) => (ids(r).includes(0) ? refusal() : undefined);
  push(h.writer, 't', 0, 3);
  await drive(h, h.writer.flush());
  assert.equal(h.sent.map(ids), [[0, 1, 2], [1]], 'the rest goes again, without the refused rows');
  assert.is.not(h.sent[1]?.options.deduplicationToken, h.sent[0]?.options.deduplicationToken, 'a block of its own');
  assert.equal(h.dead.map((d) => [(d.error as QueryParamError).param, d.rows]), [['row', [row(0)]], ['at', [row(2)]]]);
  assert.is(h.dead[1]?.error.message, `parameter at: ${range}`);
  assert.equal([h.writer.stats().written, h.writer.stats().failed, h.writer.stats().retried], [1, 2, 0]);
});

test.run();
