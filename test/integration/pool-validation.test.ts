// definePool checks every option when it is called: one ConfigError (code CONFIG) whose
// message names each bad key, never a password. And the defaults a user gets, seen on the
// real cluster through stats() and the servers' answers.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, definePool, startSupervisor, type PoolOptions } from '../../src/index.js';
import { PASSWORD, serverUrls, whoQuery } from './cluster.js';
import { assertNoPassword, until } from './helpers.js';

const test = suite('pool-validation');
const OK = ['http://127.0.0.1:8123/default'];

function refusal(options: unknown): ConfigError {
  try {
    definePool(options as PoolOptions);
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.is((error as ConfigError).code, 'CONFIG');
    assertNoPassword(error, 'a ConfigError');
    return error as ConfigError;
  }
  return assert.unreachable(`definePool accepted ${JSON.stringify(options)}`) as never;
}

// [key, a bad value, what the message must say about it]
const BAD: ReadonlyArray<readonly [string, unknown, RegExp]> = [
  ['connectionStrings', [], /connectionStrings: expected a non-empty array/],
  ['connectionStrings', 'http://127.0.0.1:8123/default', /connectionStrings: expected a non-empty array/],
  ['connectionStrings', ['ftp://127.0.0.1/default'], /connectionStrings\[0\]/],
  ['name', '', /name: expected a non-empty string/],
  ['name', 42, /name: expected a non-empty string, got 42/],
  ['poolSize', 0, /poolSize: expected an integer from 1/],
  ['poolSize', 2.5, /poolSize: expected an integer/],
  ['poolTimeout', 0, /poolTimeout: expected an integer from 1/],
  ['poolTimeout', '5000', /poolTimeout: expected an integer/],
  ['timeout', -1, /timeout: expected an integer from 1/],
  ['maxOverflow', -1, /maxOverflow: expected an integer from 0/],
  ['overflowLinger', -5, /overflowLinger: expected an integer from 0/],
  ['balance', 'fastest', /balance: expected one of 'round_robin', 'random', 'in_order', 'least_busy', got "fastest"/],
  ['readRetries', -1, /readRetries: expected an integer from 0 to 100/],
  ['readRetries', 101, /readRetries: expected an integer from 0 to 100/],
  ['backoff', 100, /backoff: expected \{ initial, max \}/],
  ['backoff', { initial: 0 }, /backoff\.initial: expected an integer from 1/],
  ['backoff', { initial: 500, max: 100 }, /backoff: initial \(500\) must not exceed max \(100\)/],
  ['backoff', { jitter: true }, /backoff\.jitter: unknown option/],
  ['int64', 'number', /int64: expected 'auto', 'bigint' or 'string'/],
  ['settings', [], /settings: expected an object of ClickHouse settings/],
  ['settings', { 'max threads': 1 }, /settings\.max threads: not a setting name/],
  ['settings', { max_threads: {} }, /settings\.max_threads: expected a string, finite number or boolean/],
  ['asyncMailbox', 0, /asyncMailbox: expected an integer from 1/],
  ['asyncBatchSize', 0, /asyncBatchSize: expected an integer from 1/],
  ['asyncFlushInterval', 0, /asyncFlushInterval: expected an integer from 1/],
  ['asyncOverflow', 'drop_all', /asyncOverflow: expected one of 'drop_newest', 'drop_oldest'/],
  ['asyncRetries', -1, /asyncRetries: expected an integer from 0 up, or Infinity/],
  ['onError', 'log', /onError: expected a function/],
];

test('validation :: every option refuses a bad value with CONFIG and names the key', () => {
  const keys = new Set<string>();
  for (const [key, value, says] of BAD) {
    keys.add(key);
    const options = key === 'connectionStrings' ? { [key]: value } : { connectionStrings: OK, [key]: value };
    assert.match(refusal(options).message, says, `${key} = ${JSON.stringify(value)}`);
  }
  const every: Array<keyof PoolOptions> = [
    'connectionStrings', 'name', 'poolSize', 'poolTimeout', 'timeout', 'maxOverflow', 'overflowLinger', 'balance', 'readRetries',
    'backoff', 'int64', 'settings', 'asyncMailbox', 'asyncBatchSize', 'asyncFlushInterval', 'asyncOverflow', 'asyncRetries', 'onError',
  ];
  assert.equal(every.filter((k) => !keys.has(k)), [], 'a case for every option');
});

test('validation :: good values of every option are accepted, Infinity retries included', () => {
  const pool = definePool({
    connectionStrings: OK, name: 'it-validation-ok', poolSize: 1, poolTimeout: 1, timeout: 1, maxOverflow: 0, overflowLinger: 0,
    balance: 'least_busy', readRetries: 0, backoff: { initial: 1, max: 1 }, int64: 'bigint', settings: { max_threads: 1, readonly: '1', log_queries: true },
    asyncMailbox: 1, asyncBatchSize: 1, asyncFlushInterval: 1, asyncOverflow: 'drop_oldest', asyncRetries: Infinity, onError: () => undefined,
  });
  assert.is(pool.name, 'it-validation-ok');
});

test('validation :: unknown keys are refused, snake_case ones with their camelCase twin; all problems in one error', () => {
  const err = refusal({ connectionStrings: OK, pool_size: 3, max_overflow: 1, colour: 'red', poolSize: 0, name: 'Refused' });
  assert.match(err.message, /pool_size: unknown option, did you mean poolSize\?/);
  assert.match(err.message, /max_overflow: unknown option, did you mean maxOverflow\?/);
  assert.match(err.message, /colour: unknown option(?!, did)/);
  assert.match(err.message, /poolSize: expected an integer/);
  assert.match(err.message, /definePool\("Refused"\)/, 'the message names the pool');
  assert.match(refusal(undefined).message, /connectionStrings/);
});

test('validation :: a password never shows in the message, whatever is wrong with the connection string', () => {
  const secret = encodeURIComponent(PASSWORD);
  const cases = [
    [`http://colonnade:${secret}@127.0.0.1:99999/default`],                   // bad port
    [`gopher://colonnade:${secret}@127.0.0.1/default`],                       // bad scheme
    [`colonnade:${PASSWORD}@ not a url`],                                     // not a URL at all
    [`http://colonnade:${secret}@127.0.0.1:8123/default`, 42],                // a good one next to a bad one
  ];
  for (const connectionStrings of cases) {
    const err = refusal({ connectionStrings, poolSize: `http://colonnade:${secret}@x/` }); // a value echoed back is redacted too
    assert.match(err.message, /connectionStrings\[\d\]/);
    assert.match(err.message, /poolSize: expected an integer/);
  }
});

test('defaults :: an unnamed pool is colonnade-<n>, 10 connections spread over the servers, 3 overflow, round_robin, int64 auto', async () => {
  const pool = definePool({ connectionStrings: serverUrls({ user: 'colonnade' }) });
  assert.match(pool.name, /^colonnade-\d+$/);
  const app = await startSupervisor([pool]);
  try {
    const s = pool.stats();
    assert.is(s.name, pool.name);
    assert.equal(s.servers.map((x) => x.connections.idle), [4, 3, 3], 'poolSize 10, connection i on server i mod 3');
    const who = whoQuery();
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(String((await pool.select(who))[0]!.replica));
    assert.equal(seen, ['r0', 'r1', 'r2', 'r0', 'r1', 'r2'], 'round_robin');
    assert.equal(await pool.select('SELECT toUInt64(42) AS x, toUInt64(18446744073709551615) AS y'), [{ x: 42, y: 18446744073709551615n }], "int64 'auto'");
    // maxOverflow: Math.ceil(10 * 0.3) = 3 extra connections, then callers wait.
    const slow = Array.from({ length: 14 }, () => pool.select('SELECT sleep(1) AS s'));
    await until('13 lent and one waiting', () => { const t = pool.stats(); return t.inUse === 13 && t.waiters === 1; });
    assert.is(pool.stats().overflow, 3);
    await Promise.all(slow);
  } finally {
    await app.stop();
  }
});

test.run();
