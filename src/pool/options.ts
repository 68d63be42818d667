/**
 * `definePool` options: every key checked at definition time, all problems reported in one
 * `ConfigError` that names each key and what was expected. Connection strings are parsed
 * here, so a bad one fails before anything starts; messages show them redacted.
 */
import {
  checkInt64, checkMaxResultBytes, MAX_TIMER_MS, shown, checkCompression, checkSettings, ConfigError, DEFAULT_MAX_RESULT_BYTES, parseConnectionString, redactUrl,
  type Int64Mode, type ServerConfig, type Settings,
} from '../clickhouse/index.js';
import type { BackoffOptions } from './backoff.js';
import { BALANCE_STRATEGIES, type BalanceStrategy } from './broker/balancer.js';
import type { AsyncOverflowPolicy } from './writer/mailbox.js';
import type { OnErrorHook } from './writer/writer.js';

export type { AsyncOverflowPolicy, OnErrorHook };

/**
 * Options of `definePool`; camelCase twins of Pillar's snake_case names.
 *
 * @example
 * const options: PoolOptions = { connectionStrings: ['http://user:password@clickhouse-1:8123/db'], poolSize: 15, balance: 'least_busy' };
 * export const MyClickHouse = definePool(options);
 */
export interface PoolOptions {
  /** One or more `http(s)://user:password@host:port/database`. Required. */
  readonly connectionStrings: readonly string[];
  /** Registered name (`whereis(name)` finds the pool); two running pools need two names. Default: none, the pool is not registered and is called `colonnade-<n>`. */
  readonly name?: string;
  /** Connections, spread evenly over the servers. Default 10. */
  readonly poolSize?: number;
  /** Milliseconds a caller waits for a connection. Default 5000. */
  readonly poolTimeout?: number;
  /** Milliseconds per query; a call's `options.timeout` overrides. Default 5000. */
  readonly timeout?: number;
  /** Extra connections when nothing suitable is idle. Default `Math.ceil(poolSize * 0.3)`. */
  readonly maxOverflow?: number;
  /** Milliseconds an idle overflow connection lingers before dismissal. Default 1000. */
  readonly overflowLinger?: number;
  /** How queries are spread over healthy servers. Default `'round_robin'`. */
  readonly balance?: BalanceStrategy;
  /** Retries of a read that failed on the network, each on another server. Default 2. */
  readonly readRetries?: number;
  /**
   * Milliseconds after which a read still unanswered is also sent to another healthy server;
   * the first answer wins, the other attempt is cancelled and killed. Default 0: off.
   */
  readonly hedgeAfter?: number;
  /** Backoff in milliseconds of reconnects (exponential, full jitter) and of async-write retries (exponential, equal jitter). Default `{ initial: 100, max: 10_000 }`. */
  readonly backoff?: { readonly initial?: number; readonly max?: number };
  /** How 64-bit integers come back from `select`. Default `'auto'`. */
  readonly int64?: Int64Mode;
  /** ClickHouse settings sent with every query. Default `{}`. */
  readonly settings?: Settings;
  /** Most bytes of a response; a larger one fails with `RESULT_TOO_LARGE`, on no server's account. Default 256 MiB. */
  readonly maxResultBytes?: number;
  /** gzip over HTTP: `response` (the server compresses what it sends), `request` (bodies of 1 KiB and more). Default off. */
  readonly compression?: { readonly request?: boolean; readonly response?: boolean };
  /** Most rows the async writer holds. Default 100 000. */
  readonly asyncMailbox?: number;
  /** Rows per batch for `asyncInsertToTable`, per table. Default 10 000. */
  readonly asyncBatchSize?: number;
  /** Milliseconds; a non-empty batch is sent at least this often. Default 1000. */
  readonly asyncFlushInterval?: number;
  /** Mailbox-full policy. Default `'drop_newest'`. */
  readonly asyncOverflow?: AsyncOverflowPolicy;
  /** Retries of a batch on errors other than "no server reachable". Default 5. */
  readonly asyncRetries?: number;
  /** The dead letter. Default: one warning line on stderr. */
  readonly onError?: OnErrorHook;
  /**
   * The writer's batches ask servers that have them (21.11+) for server-side async inserts
   * (`async_insert=1, wait_for_async_insert=1`). Default `false`: `async_insert=0`, the
   * writer's own batch is written as sent (26.2+ servers buffer every insert otherwise).
   */
  readonly serverAsyncInsert?: boolean;
}

/** Options after validation and defaults. */
export interface ResolvedPoolOptions {
  readonly servers: readonly ServerConfig[];
  readonly name: string;
  /** Whether `name` was given, and so is registered while the pool runs. */
  readonly registered: boolean;
  readonly poolSize: number;
  readonly poolTimeout: number;
  readonly timeout: number;
  readonly maxOverflow: number;
  readonly overflowLinger: number;
  readonly balance: BalanceStrategy;
  readonly readRetries: number;
  readonly hedgeAfter: number;
  readonly backoff: BackoffOptions;
  readonly int64: Int64Mode;
  readonly settings: Settings;
  readonly maxResultBytes: number;
  readonly compression: { readonly request?: boolean; readonly response?: boolean } | undefined;
  readonly asyncMailbox: number;
  readonly asyncBatchSize: number;
  readonly asyncFlushInterval: number;
  readonly asyncOverflow: AsyncOverflowPolicy;
  readonly asyncRetries: number;
  readonly onError: OnErrorHook;
  readonly serverAsyncInsert: boolean;
}

const KEYS: ReadonlySet<string> = new Set<keyof PoolOptions>([
  'connectionStrings', 'name', 'poolSize', 'poolTimeout', 'timeout', 'maxOverflow', 'overflowLinger', 'balance',
  'readRetries', 'hedgeAfter', 'backoff', 'int64', 'settings', 'maxResultBytes', 'asyncMailbox', 'asyncBatchSize', 'asyncFlushInterval',
  'asyncOverflow', 'asyncRetries', 'onError', 'serverAsyncInsert', 'compression',
]);

// Unnamed pools get a name of their own, so two of them run side by side (and under one supervisor).
let unnamed = 0;

/**
 * Validates `definePool` options and fills in defaults. Throws one `ConfigError` listing
 * every problem.
 *
 * @example
 * const opts = resolvePoolOptions({ connectionStrings: ['http://127.0.0.1:8123/default'], poolSize: 3 });
 * opts.maxOverflow; // 1
 */
export function resolvePoolOptions(input: PoolOptions): ResolvedPoolOptions {
  const problems: string[] = [];
  if (input === null || typeof input !== 'object') {
    throw new ConfigError('definePool: expected an options object with connectionStrings');
  }
  const raw = input as unknown as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (KEYS.has(key)) continue;
    // `pool_size`, or `poolsize` in another case: the option it is.
    const twin = key === 'on_errors' ? 'onError' : [...KEYS].find((k) => k.toLowerCase() === key.replace(/_/g, '').toLowerCase());
    problems.push(twin !== undefined ? `${key}: unknown option, did you mean ${twin}?` : `${key}: unknown option`);
  }

  const servers: ServerConfig[] = [];
  const strings = raw.connectionStrings;
  if (!Array.isArray(strings) || strings.length === 0) {
    problems.push('connectionStrings: expected a non-empty array of connection strings');
  } else {
    strings.forEach((url: unknown, i) => {
      try {
        servers.push(parseConnectionString(url as string));
      } catch (err) {
        problems.push(`connectionStrings[${i}]: ${(err as Error).message}`);
      }
    });
  }

  const int = (key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${key}: expected an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, got ${show(v)}`);
      return fallback;
    }
    return v;
  };
  // A value checked by the protocol layer's own check (one rule, one home); its message is the problem.
  const checked = <T>(key: string, fallback: T, check: (v: unknown) => void): T => {
    const v = raw[key];
    if (v === undefined) return fallback;
    try {
      check(v);
    } catch (error) {
      problems.push((error as Error).message);
      return fallback;
    }
    return (typeof v === 'object' ? { ...v } : v) as T;
  };
  const oneOf = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (!values.includes(v as T)) {
      problems.push(`${key}: expected one of ${values.map((x) => `'${x}'`).join(', ')}, got ${show(v)}`);
      return fallback;
    }
    return v as T;
  };

  let name = `colonnade-${++unnamed}`;
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || raw.name.trim() === '') problems.push(`name: expected a non-empty string, got ${show(raw.name)}`);
    else name = raw.name;
  }
  const poolSize = int('poolSize', 10, 1, 10_000);
  const poolTimeout = int('poolTimeout', 5000, 1, MAX_TIMER_MS);
  const timeout = int('timeout', 5000, 1, MAX_TIMER_MS);
  const maxOverflow = int('maxOverflow', Math.ceil(poolSize * 0.3), 0, 10_000);
  const overflowLinger = int('overflowLinger', 1000, 0, MAX_TIMER_MS);
  const balance = oneOf('balance', BALANCE_STRATEGIES, 'round_robin');
  const readRetries = int('readRetries', 2, 0, 100);
  const hedgeAfter = int('hedgeAfter', 0, 0, MAX_TIMER_MS);
  const int64 = checked<Int64Mode>('int64', 'auto', (v) => checkInt64(v, 'int64'));
  const maxResultBytes = checked<number>('maxResultBytes', DEFAULT_MAX_RESULT_BYTES, (v) => checkMaxResultBytes(v, 'maxResultBytes'));
  const compression = checked<ResolvedPoolOptions['compression']>('compression', undefined, (v) => checkCompression(v, 'compression'));
  const asyncMailbox = int('asyncMailbox', 100_000, 1);
  const asyncBatchSize = int('asyncBatchSize', 10_000, 1);
  const asyncFlushInterval = int('asyncFlushInterval', 1000, 1, MAX_TIMER_MS);
  const asyncOverflow = oneOf<AsyncOverflowPolicy>('asyncOverflow', ['drop_newest', 'drop_oldest'], 'drop_newest');

  let asyncRetries = 5;
  if (raw.asyncRetries !== undefined) {
    const v = raw.asyncRetries;
    if (typeof v !== 'number' || !(v === Infinity || (Number.isInteger(v) && v >= 0))) {
      problems.push(`asyncRetries: expected an integer from 0 up, or Infinity, got ${show(v)}`);
    } else asyncRetries = v;
  }

  const backoff = { initial: 100, max: 10_000 };
  if (raw.backoff !== undefined) {
    const b = raw.backoff as Record<string, unknown>;
    if (b === null || typeof b !== 'object' || Array.isArray(b)) {
      problems.push(`backoff: expected { initial, max } in milliseconds, got ${show(b)}`);
    } else {
      for (const key of Object.keys(b)) if (key !== 'initial' && key !== 'max') problems.push(`backoff.${key}: unknown option`);
      for (const key of ['initial', 'max'] as const) {
        const v = b[key];
        if (v === undefined) continue;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TIMER_MS) problems.push(`backoff.${key}: expected an integer from 1 to ${MAX_TIMER_MS}, got ${show(v)}`);
        else backoff[key] = v;
      }
      if (backoff.initial > backoff.max) problems.push(`backoff: initial (${backoff.initial}) must not exceed max (${backoff.max})`);
    }
  }

  const settings = checked<Settings>('settings', {}, (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`settings: expected an object of ClickHouse settings, got ${show(v)}`);
    checkSettings(v as Settings, 'settings');
  });

  let onError: OnErrorHook = (error, rows) => {
    const code = (error as { code?: string }).code ?? error.name;
    console.warn(`[colonnade ${name}] ${rows.length} row(s) not written: ${code}: ${error.message}`);
  };
  if (raw.onError !== undefined) {
    if (typeof raw.onError !== 'function') problems.push(`onError: expected a function (error, rows) => void, got ${show(raw.onError)}`);
    else onError = raw.onError as OnErrorHook;
  }

  let serverAsyncInsert = false;
  if (raw.serverAsyncInsert !== undefined) {
    if (typeof raw.serverAsyncInsert !== 'boolean') problems.push(`serverAsyncInsert: expected true or false, got ${show(raw.serverAsyncInsert)}`);
    else serverAsyncInsert = raw.serverAsyncInsert;
  }

  if (problems.length > 0) {
    throw new ConfigError(`definePool(${typeof raw.name === 'string' ? show(raw.name) : ''}): ${problems.join('; ')}`);
  }
  return {
    servers, name, registered: raw.name !== undefined, poolSize, poolTimeout, timeout, maxOverflow, overflowLinger, balance, readRetries, hedgeAfter, backoff,
    int64, settings, maxResultBytes, compression, asyncMailbox, asyncBatchSize, asyncFlushInterval, asyncOverflow, asyncRetries, onError, serverAsyncInsert,
  };
}

function show(value: unknown): string {
  return shown(typeof value === 'string' ? redactUrl(value) : value);
}
