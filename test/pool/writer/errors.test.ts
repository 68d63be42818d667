import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ClickHouseError, ClosedError, ColonnadeError, ProtocolError, QueryParamError, TimeoutError, TransportError } from '../../../src/clickhouse/errors.js';
import { NoServerAvailableError, PoolNotStartedError, PoolStoppedError, PoolTimeoutError } from '../../../src/pool/errors.js';
import { retryDelay, classifyWriteFailure, isPoolGone, MailboxFullError, WriterStoppedError } from '../../../src/pool/writer/errors.js';

const test = suite('writer-failures');

test('backoff :: doubles from initial, caps at max, and keeps half of it at least', () => {
  const b = { initial: 100, max: 1000 };
  assert.equal([1, 2, 3, 4, 5, 9].map((n) => retryDelay(n, b, () => 0)), [50, 100, 200, 400, 500, 500]);
  assert.equal([1, 2, 5].map((n) => retryDelay(n, b, () => 1)), [100, 200, 1000]);
});

test('classify :: unreachable, refused and other', () => {
  assert.is(classifyWriteFailure(new NoServerAvailableError(2)), 'unavailable');
  assert.is(classifyWriteFailure(new TransportError('reset', true)), 'unavailable');
  assert.is(classifyWriteFailure(new TimeoutError(10, true)), 'unavailable');
  assert.is(classifyWriteFailure(new ClickHouseError({ serverCode: 53, serverMessage: 'Type mismatch' }, 500)), 'refused');
  assert.is(classifyWriteFailure(new QueryParamError('x', 'bad')), 'refused');
  assert.is(classifyWriteFailure(new ClickHouseError({ serverCode: 60, serverMessage: 'no table' }, 500)), 'other');
  assert.is(classifyWriteFailure(new Error('bug')), 'other');
});

test('classify :: pool-side waits do not spend the retry budget', () => {
  assert.is(classifyWriteFailure(new PoolTimeoutError(5000)), 'unavailable');
  assert.is(classifyWriteFailure(new PoolStoppedError('p')), 'unavailable');
  assert.is(classifyWriteFailure(new ClosedError()), 'unavailable');
  assert.is(classifyWriteFailure(new ProtocolError('HTML from a proxy', 502)), 'other');
});

test('pool gone :: only the pool being down counts, not the servers', () => {
  assert.ok(isPoolGone(new PoolNotStartedError('p')));
  assert.ok(isPoolGone(new PoolStoppedError('p')));
  assert.not.ok(isPoolGone(new NoServerAvailableError(3)));
  assert.not.ok(isPoolGone(undefined));
});

test('errors :: stable codes, counts, and ColonnadeError as the base', () => {
  const full = new MailboxFullError(7, 100, 'drop_oldest');
  assert.is(full.code, 'WRITER_MAILBOX_FULL');
  assert.is(full.count, 7);
  assert.is(full.name, 'MailboxFullError');
  assert.is(new WriterStoppedError('x').code, 'WRITER_STOPPED');
  assert.ok(full instanceof ColonnadeError);
  assert.ok(new WriterStoppedError('x') instanceof ColonnadeError);
});

test.run();
