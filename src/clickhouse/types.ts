/**
 * The shapes shared by the protocol layer and its users (the pool). This file is the
 * contract between `src/clickhouse/` and `src/pool/`: change it only together with both.
 */
import type { Dispatcher } from 'undici';
import type { Progress } from './query-control.js';

/**
 * ClickHouse settings sent with a request (`max_threads`, `insert_quorum`, ...).
 *
 * @example
 * const settings: Settings = { max_threads: 2, insert_quorum: 2, log_queries: true };
 */
export type Settings = Readonly<Record<string, string | number | boolean>>;

/**
 * How 64-bit and wider integers come back from `select`:
 * `'auto'` (default) a `number` when it is a safe integer, a `bigint` otherwise;
 * `'bigint'` always a `bigint`; `'string'` always the decimal text.
 *
 * @example
 * await conn.select('SELECT toUInt64(1) AS n', {}, { int64: 'bigint' satisfies Int64Mode }); // [{ n: 1n }]
 */
export type Int64Mode = 'auto' | 'bigint' | 'string';

/**
 * Options every call accepts; they override the connection's defaults.
 *
 * @example
 * const options: CallOptions = { timeout: 30_000, settings: { max_threads: 2 }, queryId: 'report-1', signal: AbortSignal.timeout(60_000) };
 */
export interface CallOptions {
  /** Milliseconds before the request is abandoned with `TimeoutError`. */
  readonly timeout?: number;
  /** ClickHouse settings for this request only. */
  readonly settings?: Settings;
  /** Abort the request; it rejects with the signal's reason wrapped in an `AbortError`-coded error. */
  readonly signal?: AbortSignal;
  /** Sent as `query_id`; the server refuses a second running query with the same id. */
  readonly queryId?: string;
  /** Overrides the connection's `int64` decoding for this `select`. */
  readonly int64?: Int64Mode;
  /** Overrides the connection's `maxResultBytes` for this call. */
  readonly maxResultBytes?: number;
  /**
   * For inserts: `false` sends `async_insert=0` (the server writes the block before it
   * answers), `true` sends `async_insert=1, wait_for_async_insert=1` (the server buffers
   * it with others and answers once flushed). Sent only to servers that have async inserts
   * (21.11+); others write synchronously anyway. Unset: the server's default (1 on 26.2+).
   */
  readonly asyncInsert?: boolean;
  /**
   * For inserts: sent as `insert_deduplication_token` to servers that accept it (22.2+), so
   * that a block sent again with the same token is stored once on replicated tables and on
   * MergeTree tables with a `non_replicated_deduplication_window`.
   */
  readonly deduplicationToken?: string;
  /**
   * Called while the query runs (every 200 ms) with how far it got, read
   * from the server's `system.processes` on a connection of its own. A throw in it is
   * ignored. Not for the async writer's calls.
   */
  readonly onProgress?: (progress: Progress) => void;
}

/**
 * Values of `{name}` placeholders, validated at run time (see `renderQuery`).
 *
 * @example
 * const params: QueryParams = { lastname: 'Smith', min_age: 21, since: new Date() };
 */
export type QueryParams = Readonly<Record<string, unknown>>;

/**
 * One row as an object keyed by column name.
 *
 * @example
 * const row: Row = { id: 1, name: 'Ann', tags: ['a'], at: new Date() };
 */
export type Row = Record<string, unknown>;

/**
 * A parsed connection string. `password` is held here and nowhere else; `redacted` is safe to print.
 *
 * @example
 * const server: ServerConfig = parseConnectionString('http://user:pw@127.0.0.1:8123/db'); server.redacted; // 'http://user:***@127.0.0.1:8123/db'
 */
export interface ServerConfig {
  readonly protocol: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly database: string;
  /** Extra query-string keys of the connection string, sent as ClickHouse settings. */
  readonly settings: Settings;
  /** `protocol://host:port`, what an undici `Client` is created with. */
  readonly origin: string;
  /** The connection string with the password replaced by `***`: safe for logs and errors. */
  readonly redacted: string;
}

/**
 * One call, as the pool's message style and the direct connection both express it.
 *
 * @example
 * const command: Command = { type: 'select', sql: 'SELECT {n} AS n', params: { n: 1 }, options: { timeout: 1_000 } };
 */
export type Command =
  | { readonly type: 'select'; readonly sql: string; readonly params?: QueryParams; readonly options?: CallOptions }
  | { readonly type: 'stream'; readonly sql: string; readonly params?: QueryParams; readonly options?: CallOptions }
  | { readonly type: 'query'; readonly sql: string; readonly params?: QueryParams; readonly options?: CallOptions }
  | { readonly type: 'insert'; readonly sql: string; readonly params?: QueryParams; readonly options?: CallOptions }
  | {
      readonly type: 'insert_to_table';
      readonly table: string;
      readonly rows: Row | readonly Row[] | RowSource;
      readonly options?: CallOptions;
    };

/**
 * What each command resolves with.
 *
 * @example
 * const rows: CommandResults['select'] = await perform(client, server, prepare({ type: 'select', sql: 'SELECT 1' }), defaults);
 */
export interface CommandResults {
  select: Row[];
  stream: RowStream;
  query: string;
  insert: void;
  insert_to_table: InsertResult;
}

/**
 * Rows produced as an insert is sent: an array's lazy cousin (a generator), an async
 * generator, or an object-mode `Readable`. Read once, as the request body is written.
 *
 * @example
 * async function* rows(): AsyncGenerator<Row> { for (let id = 0; id < 1e6; id++) yield { id }; }
 * await conn.insertToTable('events', rows() satisfies RowSource);
 */
export type RowSource = Iterable<Row> | AsyncIterable<Row>;

/**
 * What an `insertToTable` wrote.
 *
 * @example
 * const { rows }: InsertResult = await conn.insertToTable('events', [{ id: 1 }]); // rows === 1
 */
export interface InsertResult {
  /** Rows written: the server's own count (`X-ClickHouse-Summary`) where it gives one, else the rows sent. */
  readonly rows: number;
}

/**
 * A command checked and rendered before anything is sent: bad input throws while
 * preparing, so nothing reaches a server. The same prepared request sends the same bytes
 * every time (what lets a replicated table deduplicate a retried insert).
 *
 * @example
 * const request: PreparedRequest<'select'> = prepare({ type: 'select', sql: 'SELECT 1' }); request.readOnly; // true
 */
export interface PreparedRequest<K extends Command['type'] = Command['type']> {
  readonly type: K;
  /** The request body: SQL text, for inserts followed by the encoded rows. */
  readonly body: string;
  readonly options: CallOptions;
  /** True when sending it twice cannot change data (select, and query text that reads). */
  readonly readOnly: boolean;
  /**
   * The values of the SQL's server-side placeholders `{name:Type}`, by name, as the text
   * ClickHouse reads a `param_<name>` in; absent when the SQL has none.
   */
  readonly typedParams?: Readonly<Record<string, string>>;
  /**
   * For `insert_to_table`: the quoted table and the rows split by the set of columns they
   * give. Each group is one `INSERT INTO t (columns) FORMAT JSONEachRow` statement, sent in
   * order, since naming the columns is what makes 18.16 apply `DEFAULT` expressions to the
   * others; `body` is the groups' statements one after another. The rows are kept so they
   * can be encoded again once the table's Decimal columns are known (18.16 reads a Decimal
   * only unquoted).
   */
  readonly insert?: {
    readonly table: string;
    readonly groups: readonly InsertGroup[];
    /**
     * The rows of `groups` in the caller's order: a server where omitted fields take their
     * DEFAULT gets rows of several column sets as one statement of these.
     */
    readonly rows?: readonly Row[];
    /** Rows read as the body is sent (then `groups` is empty): never sent twice. */
    readonly source?: RowSource;
  };
  /** For `stream`: where the rows go as they are decoded (attached by the caller, not by `prepare`). */
  readonly sink?: RowSink;
}

/**
 * The rows of a `stream` call, read with `for await`. Rows are decoded exactly as `select`
 * decodes them and arrive as the server sends them; at most about a megabyte of response
 * and a few thousand decoded rows wait unread, past that the server is paused. Leaving the
 * loop early (`break`, `return`, a throw) or `cancel()` ends the request and asks the
 * server to kill the query. A failure rejects the iteration after the rows before it.
 *
 * @example
 * for await (const row of conn.stream('SELECT number FROM system.numbers LIMIT 1000000')) total += row.number as number;
 */
export interface RowStream extends AsyncIterable<Row> {
  /** Ends the request now (the server is asked to kill the query); the loop ends without error. Idempotent. */
  cancel(): Promise<void>;
  /** Rows handed to the reader so far. */
  readonly rows: number;
}

/**
 * The producer's side of a `RowStream` (used by `perform` for `stream` requests).
 *
 * @example
 * if (!(await sink.push(rows))) return; // the reader has gone
 */
export interface RowSink {
  /** Hands rows over; resolves `true` when more are wanted, `false` once the reader has gone. */
  push(rows: Row[]): Promise<boolean>;
  /** Aborts when the reader has gone (a `break`, `cancel()`). */
  readonly gone: AbortSignal;
  /** Rows handed over so far: after the first, a failed stream is never tried again elsewhere. */
  readonly delivered: number;
  /** Ends the stream for the reader with `error` at its next step (the call's signal aborted, the connection closed): rows not read are dropped, `gone` aborts, a push waiting for room resolves `false`. */
  fail(error: Error): void;
}

/**
 * Rows of one `insert_to_table` that give the same columns, and their statement.
 *
 * @example
 * prepare({ type: 'insert_to_table', table: 't', rows: [{ a: 1 }] }).insert?.groups?.[0]?.columns; // '(`a`)'
 */
export interface InsertGroup {
  /** The column list, quoted: `(\`id\`, \`name\`)`. */
  readonly columns: string;
  readonly rows: readonly Row[];
  /** The whole statement: `INSERT INTO ... FORMAT JSONEachRow\n` and one line per row (made from `chunks` when read). */
  readonly body: string;
  /** The statement as UTF-8, in the chunks it was written to (encoded when first read; `perform` encodes a big group as it sends it instead). */
  readonly chunks: readonly Buffer[];
}

/**
 * Defaults a connection or pool applies to each call.
 *
 * @example
 * const defaults: RequestDefaults = { timeout: 5_000, int64: 'auto', settings: { max_threads: 4 }, maxResultBytes: 64 * 1024 * 1024 };
 */
export interface RequestDefaults {
  /** Milliseconds, used when a call gives no `timeout`. */
  readonly timeout: number;
  readonly int64: Int64Mode;
  /** Settings sent with every call, under the call's own `settings`. */
  readonly settings?: Settings;
  /**
   * Most bytes of a response read before the call fails with `RESULT_TOO_LARGE` (default
   * `DEFAULT_MAX_RESULT_BYTES`, at most `MAX_RESULT_BYTES`).
   */
  readonly maxResultBytes?: number;
  /**
   * gzip over HTTP (node:zlib, level 1): `response` asks the server to compress what it
   * sends (`enable_http_compression=1`), `request` compresses request bodies of 1 KiB and
   * more. Off by default: on loopback it costs CPU and saves nothing.
   */
  readonly compression?: { readonly request?: boolean; readonly response?: boolean };
}

/**
 * The undici dispatcher a request goes through (a `Client` or `Pool` to one origin).
 *
 * @example
 * const transport: Transport = new Client('http://127.0.0.1:8123');
 */
export type Transport = Dispatcher;
