import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AbortError, ClickHouseError, ClosedError, ConfigError, ProtocolError, QueryParamError, ResultTooLargeError, TimeoutError, TransportError,
} from '../../src/clickhouse/errors.js';
import { ConnectionCrashedError, NoServerAvailableError, PoolNotStartedError, PoolStoppedError, PoolTimeoutError } from '../../src/pool/errors.js';
import { classifyFailure, failureKind, isPoolGone, HedgeLost } from '../../src/pool/failures.js';
import { MailboxFullError } from '../../src/pool/writer/errors.js';

const test = suite('failures');

test('classify :: network failures and timeouts are the only ones that say the server may be unwell', () => {
  assert.is(classifyFailure(new TransportError('reset', true)), 'network');
  assert.is(classifyFailure(new TimeoutError(1, true)), 'timeout');
  assert.is(classifyFailure(new AbortError('x', true)), 'aborted');
  // A hedged read's slower attempt, given up by the pool: its server is pinged, as after a timeout.
  assert.is(classifyFailure(new AbortError(new HedgeLost(), true)), 'timeout');
  assert.is(classifyFailure(new ClickHouseError({ serverCode: 60, serverMessage: 'no table' }, 500)), 'server');
  assert.is(classifyFailure(new ProtocolError('HTML from a proxy', 502)), 'server');
  assert.is(classifyFailure(new ConnectionCrashedError('conn-0', new Error('x'))), 'server');
  assert.is(classifyFailure(new TypeError('x is undefined')), 'bug');
});

test('classify :: a request that is wrong in itself is refused (the same bytes cannot succeed)', () => {
  assert.is(classifyFailure(new ClickHouseError({ serverCode: 53, serverMessage: 'Type mismatch' }, 500)), 'refused');
  assert.is(classifyFailure(new ClickHouseError({ serverCode: 62, serverMessage: 'syntax' }, 500)), 'refused');
  assert.is(classifyFailure(new QueryParamError('x', 'bad')), 'refused');
  assert.is(classifyFailure(new ConfigError('bad')), 'refused');
  assert.is(classifyFailure(new ResultTooLargeError(100, 101)), 'refused', 'every server would send the same result');
});

test('classify :: the pool could not reach a server for it', () => {
  assert.is(classifyFailure(new NoServerAvailableError(2)), 'unavailable');
  assert.is(classifyFailure(new PoolTimeoutError(5000)), 'unavailable');
  assert.is(classifyFailure(new PoolStoppedError('p')), 'unavailable');
  assert.is(classifyFailure(new ClosedError()), 'unavailable');
  assert.is(classifyFailure(new MailboxFullError(1, 1, 'drop_newest')), 'server');
});

test('kind :: only a connection the server refused outright is a hard failure', () => {
  assert.is(failureKind(new TransportError('connect ECONNREFUSED', false)), 'hard');
  assert.is(failureKind(new TransportError('socket hang up', true)), 'soft');
  assert.is(failureKind(new TimeoutError(10, false)), 'soft');
});

test('pool gone :: only the pool being down counts, not the servers', () => {
  assert.ok(isPoolGone(new PoolNotStartedError('p')));
  assert.ok(isPoolGone(new PoolStoppedError('p')));
  assert.not.ok(isPoolGone(new NoServerAvailableError(3)));
  assert.not.ok(isPoolGone(undefined));
});

test.run();
