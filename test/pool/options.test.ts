import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, MAX_RESULT_BYTES } from '../../src/clickhouse/errors.js';
import { resolvePoolOptions, type PoolOptions } from '../../src/pool/options.js';

const test = suite('options');
const url = 'http://user:hunter2@127.0.0.1:8123/db';

function problem(options: unknown): ConfigError {
  try {
    resolvePoolOptions(options as PoolOptions);
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.is((err as ConfigError).code, 'CONFIG');
    assert.not.match((err as Error).message, 'hunter2');
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

test('defaults :: Pillar-compatible defaults', () => {
  const o = resolvePoolOptions({ connectionStrings: [url, 'http://127.0.0.1:8124/db'] });
  assert.match(o.name, /^colonnade-\d+$/);
  assert.is(o.registered, false, 'an unnamed pool is not registered');
  assert.is.not(resolvePoolOptions({ connectionStrings: [url] }).name, o.name, 'each unnamed pool has a name of its own');
  assert.is(resolvePoolOptions({ connectionStrings: [url], name: 'Analytics' }).registered, true);
  assert.is(o.poolSize, 10);
  assert.is(o.poolTimeout, 5000);
  assert.is(o.timeout, 5000);
  assert.is(o.maxOverflow, 3);
  assert.is(o.balance, 'round_robin');
  assert.is(o.readRetries, 2);
  assert.equal(o.backoff, { initial: 100, max: 10_000 });
  assert.is(o.asyncMailbox, 100_000);
  assert.is(o.asyncOverflow, 'drop_newest');
  assert.is(o.asyncRetries, 5);
  assert.is(o.serverAsyncInsert, false);
  assert.is(o.servers.length, 2);
  assert.is(o.servers[0]!.password, 'hunter2');
});

test('defaults :: maxOverflow follows poolSize', () => {
  assert.is(resolvePoolOptions({ connectionStrings: [url], poolSize: 15 }).maxOverflow, 5);
  assert.is(resolvePoolOptions({ connectionStrings: [url], poolSize: 2, maxOverflow: 0 }).maxOverflow, 0);
});

test('validation :: connectionStrings is required and each is parsed', () => {
  assert.match(problem({}).message, 'connectionStrings: expected a non-empty array');
  assert.match(problem({ connectionStrings: [] }).message, 'connectionStrings');
  const err = problem({ connectionStrings: [url, 'ftp://user:hunter2@h/db'] });
  assert.match(err.message, 'connectionStrings[1]');
});

test('validation :: every problem is reported at once, naming the key and what was expected', () => {
  const err = problem({ connectionStrings: [url], poolSize: 0, poolTimeout: 'soon', balance: 'fastest', backoff: { initial: 500, max: 10 } });
  assert.match(err.message, 'poolSize: expected an integer from 1');
  assert.match(err.message, 'poolTimeout: expected an integer from 1 to 2147483647, got "soon"');
  assert.match(err.message, "balance: expected one of 'round_robin', 'random', 'in_order', 'least_busy'");
  assert.match(err.message, 'backoff: initial (500) must not exceed max (10)');
});

test('validation :: unknown keys are refused, with a hint for Pillar spellings', () => {
  assert.match(problem({ connectionStrings: [url], pool_size: 3 }).message, 'pool_size: unknown option, did you mean poolSize?');
  assert.match(problem({ connectionStrings: [url], poolsize: 3 }).message, 'poolsize: unknown option, did you mean poolSize?');
  assert.match(problem({ connectionStrings: [url], POOL_TIMEOUT: 3 }).message, 'POOL_TIMEOUT: unknown option, did you mean poolTimeout?');
  assert.match(problem({ connectionStrings: [url], on_errors: () => undefined }).message, 'on_errors: unknown option, did you mean onError?');
  assert.match(problem({ connectionStrings: [url], colour: 'red' }).message, 'colour: unknown option');
  assert.match(problem({ connectionStrings: [url], backoff: { min: 1 } }).message, 'backoff.min: unknown option');
});

test('validation :: a password misplaced in another key is not echoed', () => {
  const err = problem({ connectionStrings: [url], name: 5, poolTimeout: url });
  assert.match(err.message, 'name: expected a non-empty string');
  assert.match(err.message, 'poolTimeout: expected an integer from 1 to 2147483647, got "http://user:***@127.0.0.1');
});

test('validation :: writer options and the onError hook', () => {
  const o = resolvePoolOptions({ connectionStrings: [url], asyncRetries: Infinity, asyncOverflow: 'drop_oldest', onError: () => undefined });
  assert.is(o.asyncRetries, Infinity);
  assert.is(o.asyncOverflow, 'drop_oldest');
  const err = problem({ connectionStrings: [url], asyncBatchSize: 1.5, onError: 'log', asyncOverflow: 'block' });
  assert.match(err.message, 'asyncBatchSize');
  assert.match(err.message, 'onError: expected a function');
  assert.match(err.message, 'asyncOverflow');
});

test('validation :: serverAsyncInsert and the compression flags are true or false, not truthy', () => {
  assert.is(resolvePoolOptions({ connectionStrings: [url], serverAsyncInsert: true }).serverAsyncInsert, true);
  assert.equal(resolvePoolOptions({ connectionStrings: [url], compression: { request: true, response: false } }).compression, { request: true, response: false });
  const err = problem({ connectionStrings: [url], serverAsyncInsert: 'yes', compression: { request: 'yes' } });
  assert.match(err.message, 'serverAsyncInsert: expected true or false, got "yes"');
  assert.match(err.message, 'compression.request: expected true or false, got string');
  assert.match(problem({ connectionStrings: [url], compression: { response: 1 } }).message, 'compression.response: expected true or false');
});

test('validation :: a long string value is shown cut at 60 characters', () => {
  const err = problem({ connectionStrings: [url], poolTimeout: 'x'.repeat(100) });
  assert.match(err.message, `got "${'x'.repeat(60)}…"`);
  assert.not.match(err.message, 'x'.repeat(61));
});

test('validation :: settings and int64 follow the same rules as connect() and per-call options', async () => {
  const { connect } = await import('../../src/clickhouse/connection.js');
  for (const [settings, key] of [[{ max_threads: NaN }, 'max_threads'], [{ 'bad name': 1 }, 'bad name'], [{ x: { y: 1 } }, 'x'],
    // What the HTTP interface reads itself (before: a database switched silently, a query glued before the SQL, every call refused for a password).
    [{ user: 'ann' }, 'user'], [{ Password: 'x' }, 'Password'], [{ query: 'SELECT 2, ' }, 'query'], [{ query_id: 'q' }, 'query_id'],
    // Another database's rows were encoded by the connection's database's table types.
    [{ database: 'system' }, 'database']] as const) {
    const err = problem({ connectionStrings: [url], settings });
    assert.match(err.message, `settings.${key}`);
    let refused: unknown;
    try {
      connect(url, { settings: settings as never });
    } catch (error) {
      refused = error;
    }
    assert.instance(refused, ConfigError, `connect() refuses ${key} too`);
    const { prepare } = await import('../../src/clickhouse/prepare.js');
    assert.throws(() => prepare({ type: 'select', sql: 'SELECT 1', options: { settings: settings as never } }), (e: unknown) => e instanceof ConfigError && e.message.includes(key), `a call refuses ${key} too`);
  }
  assert.match(problem({ connectionStrings: [url], settings: [1] }).message, 'settings: expected an object');
  assert.match(problem({ connectionStrings: [url], int64: 'number' }).message, "int64: expected 'auto', 'bigint' or 'string'");
  assert.equal(resolvePoolOptions({ connectionStrings: [url], settings: { max_threads: 2, readonly: true } }).settings, { max_threads: 2, readonly: true });
  // What a call may well choose: a quota key, query()'s output format.
  assert.equal(resolvePoolOptions({ connectionStrings: [url], settings: { quota_key: 'k', default_format: 'CSV' } }).settings, { quota_key: 'k', default_format: 'CSV' });
});

test('validation :: a wait past what a timer takes (2^31 - 1 ms) is refused (Node ran it after 1 ms: every call timed out at once, every read was hedged)', async () => {
  for (const key of ['timeout', 'poolTimeout', 'hedgeAfter', 'overflowLinger', 'asyncFlushInterval'] as const) {
    assert.is(resolvePoolOptions({ connectionStrings: [url], [key]: 2 ** 31 - 1 })[key], 2 ** 31 - 1);
    assert.match(problem({ connectionStrings: [url], [key]: 2 ** 31 }).message, `${key}: expected an integer from`);
  }
  assert.match(problem({ connectionStrings: [url], backoff: { max: 2 ** 31 } }).message, 'backoff.max: expected an integer from 1 to 2147483647');
  const { connect } = await import('../../src/clickhouse/connection.js');
  const { prepare } = await import('../../src/clickhouse/prepare.js');
  assert.throws(() => connect(url, { timeout: 30 * 86_400_000 }), /connect option timeout: expected a positive number of milliseconds up to 2147483647/);
  assert.throws(() => connect(url, { connectTimeout: '5' as never }), /connect option connectTimeout: .* got "5"/);
  assert.throws(() => prepare({ type: 'select', sql: 'SELECT 1', options: { timeout: 2 ** 31 } }), /options\.timeout: expected a positive number of milliseconds up to 2147483647/);
  assert.throws(() => prepare({ type: 'select', sql: 'SELECT 1', options: { timeout: Object.create(null) } }), (e: unknown) => e instanceof ConfigError && /got an object/.test(e.message));
  assert.throws(() => prepare(null as never), /command: expected an object/);
  const conn = connect('http://127.0.0.1:1/default');
  for (const bad of ['x', { timeout: -1 }, { bogus: 1 }, { timeout: '1' }]) {
    assert.instance(await conn.ping(bad as never).catch((e: unknown) => e), ConfigError, JSON.stringify(bad));
  }
  await conn.close();
});

test('validation :: maxResultBytes is an integer up to the longest string, 256 MiB by default', () => {
  assert.is(resolvePoolOptions({ connectionStrings: [url] }).maxResultBytes, 256 * 1024 * 1024);
  assert.is(resolvePoolOptions({ connectionStrings: [url], maxResultBytes: 1_000 }).maxResultBytes, 1_000);
  for (const bad of [0, 1.5, MAX_RESULT_BYTES + 1, '1mb']) {
    assert.match(problem({ connectionStrings: [url], maxResultBytes: bad as never }).message, `maxResultBytes: expected an integer from 1 to ${MAX_RESULT_BYTES}`);
  }
});


test('validation :: the writer\'s sizes and interval start at 1, asyncRetries at 0; backoff.initial may equal backoff.max', () => {
  const err = problem({ connectionStrings: [url], asyncMailbox: 0, asyncBatchSize: 0, asyncFlushInterval: 0, asyncRetries: -1 });
  for (const key of ['asyncMailbox', 'asyncBatchSize', 'asyncFlushInterval']) assert.match(err.message, `${key}: expected an integer from 1`);
  assert.match(err.message, 'asyncRetries: expected an integer from 0 up, or Infinity, got -1');
  const o = resolvePoolOptions({ connectionStrings: [url], asyncMailbox: 1, asyncBatchSize: 1, asyncFlushInterval: 1, asyncRetries: 0, backoff: { initial: 50, max: 50 } });
  assert.equal([o.asyncMailbox, o.asyncBatchSize, o.asyncFlushInterval, o.asyncRetries], [1, 1, 1, 0]);
  assert.equal(o.backoff, { initial: 50, max: 50 });
  const d = resolvePoolOptions({ connectionStrings: [url] });
  assert.equal([d.asyncMailbox, d.asyncBatchSize, d.asyncFlushInterval], [100_000, 10_000, 1000], 'the README\'s defaults');
});

test.run();
