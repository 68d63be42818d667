import { parseConnectionString } from './connection-string.js';
import { ClosedError, ConfigError } from './errors.js';
import { ping } from './http.js';
import { perform } from './perform.js';
import { checkCompression, checkInt64, checkMaxResultBytes, checkSettings, checkTimeout, shown, DEFAULT_MAX_RESULT_BYTES } from './checks.js';
import { prepare } from './prepare.js';
import { openTransport } from './transport.js';
import { endControls } from './query-control.js';
import { createRowStream } from './stream.js';
import type { CallOptions, Command, CommandResults, InsertResult, Int64Mode, QueryParams, Row, RowSink, RowSource, RowStream, ServerConfig, Settings } from './types.js';

/**
 * Options of `connect`.
 *
 * @example
 * const options: ConnectOptions = { timeout: 10_000, int64: 'bigint', settings: { max_threads: 2 } };
 */
export interface ConnectOptions {
  /** Default per-call timeout in milliseconds (default 5000). */
  readonly timeout?: number;
  /** How 64-bit and wider integers are decoded (default `'auto'`). */
  readonly int64?: Int64Mode;
  /** ClickHouse settings sent with every call (a call's own `settings` win). */
  readonly settings?: Settings;
  /** Most sockets open to the server at once (default 10). */
  readonly connections?: number;
  /** Milliseconds to wait for a TCP connection (default 2000). */
  readonly connectTimeout?: number;
  /** Most bytes of a response; a larger one fails with `RESULT_TOO_LARGE` (default 256 MiB). */
  readonly maxResultBytes?: number;
  /** gzip for responses and/or request bodies (see `RequestDefaults.compression`); default off. */
  readonly compression?: { readonly request?: boolean; readonly response?: boolean };
}

/**
 * A direct connection to one ClickHouse server, Pillar's `Pillar.Connection`.
 *
 * @example
 * const conn: Connection = connect('http://127.0.0.1:8123/default'); await conn.ping(); await conn.close();
 */
export interface Connection {
  /** The server, with its password kept out of `redacted`. */
  readonly server: ServerConfig;
  /** Runs a query and returns its rows, decoded by column type. */
  select(sql: string, params?: QueryParams, options?: CallOptions): Promise<Row[]>;
  /**
   * Runs a query and hands its rows over as they arrive, decoded as `select` decodes them
   * (see `RowStream`); the request starts at the loop's first step. Bad input throws here.
   */
  stream(sql: string, params?: QueryParams, options?: CallOptions): RowStream;
  /** Runs an `INSERT ... VALUES` (or any statement whose answer is not needed). */
  insert(sql: string, params?: QueryParams, options?: CallOptions): Promise<void>;
  /**
   * Inserts one row or many as JSONEachRow; `undefined` values take the column default.
   * An array's rows are all checked in the call (a bad one is refused before anything is
   * sent) and read again as they are sent: leave them unchanged until the call settles.
   * `rows` may also be a generator, an async generator or an object-mode `Readable`: the
   * rows are then encoded and sent as they come, never held whole.
   */
  insertToTable(table: string, rows: Row | readonly Row[] | RowSource, options?: CallOptions): Promise<InsertResult>;
  /** Runs any statement and returns the server's raw response text. */
  query(sql: string, params?: QueryParams, options?: CallOptions): Promise<string>;
  /** Resolves when the server answers `/ping` with `Ok.`. */
  ping(options?: { timeout?: number; signal?: AbortSignal }): Promise<void>;
  /** Runs a command in the message style the pool's `send` also takes. */
  send<C extends Command>(command: C): Promise<CommandResults[C['type']]>;
  /** Closes the sockets (its questions on sockets of their own, `KILL QUERY` or a table's `DESCRIBE`, get a second to finish); idempotent. Later calls reject with a `CLOSED` error. */
  close(): Promise<void>;
}

const CONNECT_KEYS = new Set(['timeout', 'int64', 'settings', 'connections', 'connectTimeout', 'maxResultBytes', 'compression']);

/**
 * Opens a direct connection (no pool, no supervision) to the server a connection string
 * names. Options are validated at once: an unknown key or a bad value throws `ConfigError`
 * naming it.
 *
 * @example
 * const conn = connect('http://colonnade:s3cret%3Ap%40ss@127.0.0.1:8123/default', { timeout: 5_000 });
 * const rows = await conn.select('SELECT {n} + 1 AS x', { n: 41 }); // [{ x: 42 }]
 * await conn.close();
 */
export function connect(url: string, options: ConnectOptions = {}): Connection {
  const server = parseConnectionString(url);
  const opts = checkConnectOptions(options);
  const defaults = {
    timeout: opts.timeout ?? 5_000, int64: opts.int64 ?? 'auto', settings: opts.settings ?? {},
    maxResultBytes: opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES,
    ...(opts.compression ? { compression: { ...opts.compression } } : {}),
  } as const;
  const transport = openTransport(server, { connections: opts.connections ?? 10, connectTimeout: opts.connectTimeout ?? 2_000 });
  let closing: Promise<void> | undefined;
  // Streams being read: closing ends them (a loop that awaits close() would otherwise wait for itself).
  const open = new Set<RowSink>();

  const stream = (command: Command & { type: 'stream' }): RowStream => {
    if (closing) throw new ClosedError();
    const request = prepare(command);
    return createRowStream(async (sink) => {
      if (closing) throw new ClosedError();
      open.add(sink);
      try {
        await perform(transport, server, { ...request, sink }, defaults);
      } finally {
        open.delete(sink);
      }
    });
  };
  const run = async <C extends Command>(command: C): Promise<CommandResults[C['type']]> => {
    if (closing) throw new ClosedError();
    if ((command as Command | null | undefined)?.type === 'stream') return stream(command as Command & { type: 'stream' }) as CommandResults[C['type']];
    return perform(transport, server, prepare(command), defaults);
  };
  return {
    server,
    select: (sql, params, callOptions) => run({ type: 'select', sql, ...opt(params, callOptions) }),
    stream: (sql, params, callOptions) => stream({ type: 'stream', sql, ...opt(params, callOptions) }),
    insert: (sql, params, callOptions) => run({ type: 'insert', sql, ...opt(params, callOptions) }),
    insertToTable: (table, rows, callOptions) =>
      run({ type: 'insert_to_table', table, rows, ...(callOptions ? { options: callOptions } : {}) }),
    query: (sql, params, callOptions) => run({ type: 'query', sql, ...opt(params, callOptions) }),
    ping: async (pingOptions) => {
      if (closing) throw new ClosedError();
      checkPingOptions(pingOptions);
      await ping(transport, server, { timeout: defaults.timeout, ...pingOptions });
    },
    send: run,
    close: () => {
      if (closing === undefined) for (const sink of open) sink.fail(new ClosedError());
      // Then its questions on connections of their own (a table's DESCRIBE, a KILL QUERY):
      // a second to finish, then cut, so that the process is not kept up by them.
      closing ??= transport.close().then(() => endControls([server], 1_000));
      return closing;
    },
  };
}

function opt(params: QueryParams | undefined, options: CallOptions | undefined): { params?: QueryParams; options?: CallOptions } {
  return { ...(params !== undefined && params !== null ? { params } : {}), ...(options !== undefined && options !== null ? { options } : {}) };
}

function checkPingOptions(options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object') throw new ConfigError(`ping options: expected an object, got ${shown(options)}`);
  for (const key of Object.keys(options)) if (key !== 'timeout' && key !== 'signal') throw new ConfigError(`ping option ${key}: unknown (expected timeout, signal)`);
  const { timeout, signal } = options as { timeout?: unknown; signal?: unknown };
  checkTimeout(timeout, 'ping option timeout');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new ConfigError('ping option signal: expected an AbortSignal');
}

function checkConnectOptions(options: ConnectOptions): ConnectOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError('connect options: expected an object');
  for (const key of Object.keys(options)) {
    if (!CONNECT_KEYS.has(key)) throw new ConfigError(`connect option ${key}: unknown (expected one of ${[...CONNECT_KEYS].join(', ')})`);
  }
  const connections = options.connections;
  if (connections !== undefined && !(typeof connections === 'number' && Number.isInteger(connections) && connections > 0)) {
    throw new ConfigError(`connect option connections: expected a positive integer, got ${shown(connections)}`);
  }
  checkTimeout(options.timeout, 'connect option timeout');
  checkTimeout(options.connectTimeout, 'connect option connectTimeout');
  checkInt64(options.int64, 'connect option int64');
  checkMaxResultBytes(options.maxResultBytes, 'connect option maxResultBytes');
  checkCompression(options.compression, 'connect option compression');
  if (options.settings !== undefined) checkSettings(options.settings, 'connect option settings');
  return options;
}
