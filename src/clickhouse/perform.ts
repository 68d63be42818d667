import { BoundedCache } from './bounded-cache.js';
import { type ColumnType, parseColumnType } from './column-type.js';
import { bodyNeedsServerTimeZone, decodeTsvRows, tsvTail, unescapeTsv } from './decode.js';
import { type ColumnEncodings, encodeRow, encodeRows } from './encode.js';
import {
  AbortError, ClickHouseError, ProtocolError, QueryParamError, TimeoutError, TransportError, findTrailingError, findUnframedError,
} from './errors.js';
import { type RawResponse, queryPath, send } from './http.js';
import { paramRequest } from './param-layout.js';
import { SELECT_FORMAT, columnList, insertHead, insertRequest } from './prepare.js';
import { UnsupportedBinaryType, decodeRowBinary } from './decode-binary.js';
import { checkResponse, checkStatus } from './response.js';
import { killQuery, newQueryId, watchProgress } from './query-control.js';
import { type StreamContext, performStream } from './stream.js';
import { type ServerFeatures, type ServerInfo, knownServerInfo, serverInfo } from './server-info.js';
import { DEFAULT_MAX_RESULT_BYTES, isPlainObject } from './checks.js';
import type { CallOptions, CommandResults, InsertResult, Int64Mode, PreparedRequest, RequestDefaults, Row, RowSource, ServerConfig, Settings, Transport } from './types.js';

const SCHEMA_TTL_MS = 30_000;
// Per server origin, database and table: bounded like every cache here.
const schemas = new BoundedCache<{ readonly until: number; readonly columns: Promise<TableSchema> }>(
  { maxEntries: 1_024, maxKeyLength: 4_096, maxChars: 1024 * 1024 },
);

/**
 * Sends one prepared request as an HTTP POST through `transport` (an undici `Client` or
 * `Pool` to `server.origin`) and returns what the command resolves with: decoded rows for
 * `select`, the response text for `query`, nothing for inserts. Rejects with
 * `ClickHouseError` (the server refused, also when the refusal arrives inside a streamed
 * 200 body), `TransportError`, `TimeoutError`, `ResultTooLargeError` (a response past
 * `maxResultBytes`) or an `ABORTED` error.
 *
 * @example
 * const client = new Client(server.origin);
 * const rows = await perform(client, server, prepare({ type: 'select', sql: 'SELECT 1 AS x' }), { timeout: 5_000, int64: 'auto' });
 * // [{ x: 1 }]
 */
export async function perform<K extends PreparedRequest['type']>(
  transport: Transport,
  server: ServerConfig,
  request: PreparedRequest<K>,
  defaults: RequestDefaults,
): Promise<CommandResults[K]> {
  const { onProgress } = request.options;
  if (onProgress === undefined) return performOnce(transport, server, request, defaults);
  // Watched by its query id: one is given to the request if the caller gave none.
  const queryId = request.options.queryId ?? newQueryId();
  const watch = watchProgress(server, queryId, onProgress);
  try {
    return await performOnce(transport, server, { ...request, options: { ...request.options, queryId } }, defaults, watch.sent);
  } finally {
    watch.stop();
  }
}

async function performOnce<K extends PreparedRequest['type']>(
  transport: Transport,
  server: ServerConfig,
  request: PreparedRequest<K>,
  defaults: RequestDefaults,
  sentRows: (rows: number) => void = () => undefined,
): Promise<CommandResults[K]> {
  if (request.type === 'stream') {
    const context: StreamContext = {
      info: (timeout, signal) => knownServerInfo(server) ? Promise.resolve(knownServerInfo(server) as ServerInfo) : infoOf(transport, server, timeout, signal),
      binarySettings: BINARY_SETTINGS,
    };
    return performStream(transport, server, request as PreparedRequest<'stream'>, defaults, context) as Promise<CommandResults[K]>;
  }
  const { options } = request;
  const timeout = options.timeout ?? defaults.timeout;
  const started = Date.now();
  const remaining = (): number => Math.max(1, timeout - (Date.now() - started));
  // Every request has a query id, so that one the caller gave up on can be stopped.
  const queryId = options.queryId ?? newQueryId();
  const maxBytes = options.maxResultBytes ?? defaults.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  // Settings that depend on what the server can do (its version, read once per server).
  let versioned: Settings | undefined;
  if ((options.asyncInsert !== undefined || options.deduplicationToken !== undefined) && (request.type === 'insert' || request.type === 'insert_to_table')) {
    // Within half of the call's own time, so that the insert keeps the other half: a server
    // whose version cannot be read by then gets the insert without these settings rather than
    // an insert sent as its time runs out (the pool reads the version in the background).
    const wait = Math.max(1, Math.floor(remaining() / 2));
    const info = knownServerInfo(server) ?? await infoOf(transport, server, wait, options.signal).catch(() => undefined);
    if (info !== undefined) versioned = insertSettings(info.features, options);
  }
  const { typedParams } = request;
  if (typedParams !== undefined) {
    const info = knownServerInfo(server) ?? await infoOf(transport, server, remaining(), options.signal);
    if (!info.features.typedParams) {
      const name = Object.keys(typedParams)[0] as string;
      throw new QueryParamError(name, `${server.redacted} runs ClickHouse ${info.version}, which has no server-side parameters `
        + `({name:Type} placeholders need 19.11 or later); nothing was sent. Use {${name}} there (substituted by the client)`);
    }
  }
  let asked = 0;
  const compressed = defaults.compression?.response ? COMPRESSED_RESPONSE : undefined;
  const post = (body: string | AsyncIterable<Buffer>, confirm = false, group = 0, binary = false, extra?: Settings): Promise<RawResponse> => {
    // A confirming run is a query of its own, with an id of its own (the first one's, suffixed),
    // and so is a select asked as text after its binary answer could not be read.
    // Each statement of a multi-group insert too: 26.x may still list the previous one as
    // running just after it answered (QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING).
    const id = confirm ? `${queryId}-confirm` : request.type === 'select' && asked++ > 0 ? `${queryId}-text` : group > 0 ? `${queryId}-${group}` : queryId;
    // The statements of a multi-group insert are blocks of their own: one token each, or the second would be dropped as a repeat of the first.
    const token = group > 0 ? versioned?.['insert_deduplication_token'] : undefined;
    const layer = token === undefined ? versioned : { ...versioned, insert_deduplication_token: `${String(token)}.${group}` };
    const base = queryPath(server, binary ? [defaults.settings, layer, options.settings, BINARY_SETTINGS, compressed] : [defaults.settings, extra, layer, options.settings, compressed], id);
    // The server then holds the whole answer back until the query ends, so that a failure
    // comes as a status: asked again when a body's end could be data or an exception.
    const path = confirm ? `${base}&wait_end_of_query=1` : base;
    const typed = typedParams === undefined || typeof body !== 'string' ? undefined : paramRequest(path, body, typedParams);
    return send(transport, server, {
      method: 'POST',
      path: typed?.path ?? path,
      body: typed?.body ?? body,
      contentType: typed?.contentType,
      timeout: remaining(),
      maxBytes,
      ...(defaults.compression ? { compression: defaults.compression } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      // ClickHouse runs on a query whose client went away: ask it to stop (best effort).
      onAbandon: () => void killQuery(server, id),
      ...(binary ? { binary } : {}),
    });
  };

  const { insert } = request;
  if (request.type === 'insert_to_table' && insert?.source !== undefined) {
    const schema = await tableSchemaOf(transport, server, insert.table, remaining, options.signal);
    const info = knownServerInfo(server) ?? await infoOf(transport, server, Math.max(1, Math.floor(remaining() / 2)), options.signal).catch(() => undefined);
    const result = info?.features.omittedFieldDefaults
      ? await insertStreamed(insert.table, insert.source, schema, post, sentRows)
      : await insertChunked(insert.table, insert.source, schema, post, sentRows);
    return result as CommandResults[K];
  }
  if (request.type === 'insert_to_table' && insert) {
    let { groups } = insert;
    let encodings: ColumnEncodings = NO_ENCODINGS;
    let regrouped = false;
    if (groups.some((g) => mayNeedSchema(g.rows))) {
      const schema = await tableSchemaOf(transport, server, insert.table, remaining, options.signal);
      encodings = schema.encodings;
      // `{ n: { a: [...], b: [...] } }` for a flattened Nested column n: its columns `n.a`, `n.b`.
      if (schema.nested.size > 0 && groups.some((g) => g.rows.some((row) => nestedKey(row, schema.nested)))) {
        groups = insertRequest(insert.table, groups.flatMap((g) => g.rows.map((row) => flattenNested(row, schema.nested)))).insert?.groups ?? groups;
        regrouped = true;
      }
    }
    // Groups go one after another: a failure stops the rest, and what was sent stays sent.
    let written = 0;
    for (const [i, group] of groups.entries()) {
      const body = encodings.size > 0 || regrouped ? `${insertHead(insert.table, group.columns)}${encodeRows(group.rows, encodings)}` : group.body;
      try {
        const res = await post(body, false, i);
        checkResponse(res);
        written += writtenRows(res) ?? group.rows.length;
      } catch (err) {
        throw i === 0 ? err : partlySent(err);
      }
    }
    return { rows: written } as CommandResults[K];
  }
  if (request.type === 'select') {
    const rows = await selectBinary(transport, server, request.body, options.int64 ?? defaults.int64, remaining, post, options.signal);
    if (rows !== undefined) return rows as CommandResults[K];
  }
  const res = await post(request.body);
  // A server that tags its exception blocks never appends an exception as plain text.
  const plainTail = res.headers['x-clickhouse-exception-tag'] === undefined;
  if (request.type === 'query' && request.readOnly) {
    const text = checkStatus(res);
    if (!plainTail || findTrailingError(text) === undefined) return text as CommandResults[K];
    return checkStatus(await post(request.body, true)) as CommandResults[K];
  }
  if (request.type !== 'select') {
    const text = checkResponse(res);
    return (request.type === 'query' ? text : undefined) as CommandResults[K];
  }
  const int64 = options.int64 ?? defaults.int64;
  let text = checkStatus(res);
  const tail = plainTail ? tsvTail(text) : undefined;
  if (tail === 'ambiguous') text = checkStatus(await post(request.body, true));
  else if (tail !== undefined) throw new ClickHouseError(tail, res.status);
  const knownZone = knownServerInfo(server)?.timeZone;
  let serverTimeZone = knownZone ?? 'UTC';
  if (knownZone === undefined && bodyNeedsServerTimeZone(text)) {
    serverTimeZone = (await infoOf(transport, server, remaining(), options.signal)).timeZone;
  }
  return decodeTsvRows(text, { int64, serverTimeZone }) as CommandResults[K];
}

// What the binary select path needs of the server whatever the caller's settings: JSON
// values as their text, and the header's types as names.
const COMPRESSED_RESPONSE: Settings = { enable_http_compression: 1 };
const BINARY_SETTINGS: Settings = { output_format_binary_write_json_as_string: 1, output_format_binary_encode_types_in_binary_format: 0 };
const TSV_FORMAT = `FORMAT ${SELECT_FORMAT}`;

/**
 * On a server with `RowBinaryWithNamesAndTypes` (by its version), a select asked in that
 * format and decoded from its bytes; `undefined` when the server is older (or did not say
 * its version) or a column has a type the binary decoder cannot read: the caller then
 * asks for text.
 */
async function selectBinary(
  transport: Transport,
  server: ServerConfig,
  body: string,
  int64: Int64Mode,
  remaining: () => number,
  post: (body: string, confirm: boolean, group: number, binary: boolean) => Promise<RawResponse>,
  signal: AbortSignal | undefined,
): Promise<Row[] | undefined> {
  let info = knownServerInfo(server);
  if (info === undefined) {
    try {
      info = await infoOf(transport, server, remaining(), signal);
    } catch (err) {
      // A server that answers but does not say its version (a proxy page, a refusal): text, as before.
      if (err instanceof ProtocolError || err instanceof ClickHouseError) return undefined;
      throw err;
    }
  }
  if (!info.features.rowBinaryWithNamesAndTypes || !body.endsWith(TSV_FORMAT)) return undefined;
  const binaryBody = `${body.slice(0, -TSV_FORMAT.length)}FORMAT RowBinaryWithNamesAndTypes`;
  let res = await post(binaryBody, false, 0, true);
  checkStatus(res);
  // A server that does not tag its exception blocks appends a failure after the rows as
  // plain text: when the end reads like one, the server is asked again to hold its answer
  // until the query ends, so a failure comes as a status.
  if (res.headers['x-clickhouse-exception-tag'] === undefined && findTrailingError(res.body) !== undefined) {
    res = await post(binaryBody, true, 0, true);
    checkStatus(res);
  }
  // Compressed, a modern server appends its exception bare after the rows.
  const unframed = res.headers['content-encoding'] === 'gzip' ? findUnframedError(res.body) : undefined;
  if (unframed !== undefined) throw new ClickHouseError(unframed, res.status);
  try {
    return decodeRowBinary(res.bytes ?? Buffer.alloc(0), { int64 });
  } catch (err) {
    if (err instanceof UnsupportedBinaryType) return undefined;
    throw err;
  }
}

/**
 * The server's `ServerInfo` (asked once per server, see `serverInfo`), given up on when the
 * call's signal fires or its time is up: the question may be shared with other calls and
 * goes on, but this call ends at once (a hedged read's losing attempt must not wait out a
 * hung server), and as a call whose own request was never sent.
 */
function infoOf(transport: Transport, server: ServerConfig, timeout: number, signal: AbortSignal | undefined): Promise<ServerInfo> {
  if (signal?.aborted) return Promise.reject(new AbortError(signal.reason, false));
  return new Promise<ServerInfo>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => finish(new AbortError(signal?.reason, false));
    // Bounded by this call's time even when the question was asked earlier with a longer one.
    const timer = setTimeout(() => finish(new TimeoutError(timeout, false)), timeout);
    function finish(error: unknown, info?: ServerInfo): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (info !== undefined) resolve(info);
      else reject(error);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    serverInfo(transport, server, { timeout }).then((info) => finish(undefined, info), (error: unknown) => finish(unsent(error)));
  });
}

/** A failure of the version question is the call's, before its own request was sent. */
function unsent(err: unknown): unknown {
  if (err instanceof TransportError && err.requestSent) return new TransportError(err.message, false, { cause: err.cause });
  if (err instanceof TimeoutError && err.requestSent) return new TimeoutError(err.timeout, false);
  if (err instanceof AbortError && err.requestSent) return new AbortError(err.cause, false);
  return err;
}

/** The insert settings `options.asyncInsert` and `options.deduplicationToken` ask for, as far as the server has them. */
function insertSettings(features: ServerFeatures, options: CallOptions): Settings | undefined {
  const out: Record<string, string | number> = {};
  if (options.asyncInsert !== undefined && features.asyncInsert) {
    if (options.asyncInsert) {
      out['async_insert'] = 1;
      out['wait_for_async_insert'] = 1;
      // Server-side async inserts skip deduplication unless asked (the default is 0).
      if (options.deduplicationToken !== undefined) out['async_insert_deduplicate'] = 1;
    } else out['async_insert'] = 0;
  }
  if (options.deduplicationToken !== undefined && features.insertDeduplicationToken) {
    out['insert_deduplication_token'] = options.deduplicationToken;
  }
  return out;
}

/**
 * Once a group of an insert reached the server, the request as a whole was sent: a later
 * group's "never sent" must not invite a retry that would write the first group again.
 */
function partlySent(err: unknown): unknown {
  if (err instanceof TransportError && !err.requestSent) return new TransportError(err.message, true, { cause: err.cause });
  if (err instanceof TimeoutError && !err.requestSent) return new TimeoutError(err.timeout, true);
  if (err instanceof AbortError && !err.requestSent) return new AbortError(err.cause, true);
  return err;
}

const NO_ENCODINGS: ColumnEncodings = new Map();

type Post = (body: string | AsyncIterable<Buffer>, confirm: boolean, group: number, binary: boolean, extra?: Settings) => Promise<RawResponse>;

// A streamed insert's body goes in chunks of about this many bytes.
const BODY_CHUNK = 1024 * 1024;
// Rows an older server's insert takes per round (one statement per column set each).
const ROUNDS_OF = 50_000;
// How long a slow source's rows wait client-side before they are sent anyway: a chunk of
// the streamed body; a round (a statement of its own) on an older server.
const SLOW_SOURCE_MS = 200;
const SLOW_ROUND_MS = 1_000;
// Omitted fields get their column's DEFAULT, in one statement whatever the rows' columns.
const OMITTED_DEFAULTS: Settings = { input_format_defaults_for_omitted_fields: 1 };

/** The server's count of rows written, from `X-ClickHouse-Summary`, when it sends one. */
function writtenRows(res: RawResponse): number | undefined {
  const summary = res.headers['x-clickhouse-summary'];
  if (summary === undefined) return undefined;
  try {
    const rows = Number((JSON.parse(summary) as { written_rows?: unknown }).written_rows);
    return Number.isFinite(rows) ? rows : undefined;
  } catch {
    return undefined;
  }
}

/** A row of a source that cannot be written: named by its place, and the insert is cancelled. */
function badRow(err: unknown, index: number): unknown {
  if (!(err instanceof QueryParamError)) return err;
  return new QueryParamError(`rows[${index}].${err.param}`, `${err.message.replace(/^parameter [^:]*: /, '')} (the insert was cancelled at this row)`);
}

function encodeSourceRow(row: Row, index: number, schema: TableSchema): string {
  try {
    return encodeRow(row, schema.encodings);
  } catch (err) {
    throw badRow(err, index);
  }
}

/**
 * A source's rows as one request whose body is written as they are read (servers where
 * omitted fields take their DEFAULT): nothing is held but the chunk being filled. A bad row
 * cancels the request, so the server stores none of it (unless more rows than its
 * `max_insert_block_size` went before, which it may have written already).
 */
async function insertStreamed(table: string, source: RowSource, schema: TableSchema, post: Post, sentRows: (rows: number) => void): Promise<InsertResult> {
  let sent = 0;
  async function* body(): AsyncGenerator<Buffer> {
    let chunk = `INSERT INTO ${table} FORMAT JSONEachRow\n`;
    let at = Date.now();
    let read = 0;
    for await (const raw of source) {
      const row = schema.nested.size > 0 && raw !== null && typeof raw === 'object' ? flattenNested(raw, schema.nested) : raw;
      chunk += `${encodeSourceRow(row, read, schema)}\n`;
      read++;
      // Full, or a slow source's rows waiting long enough: sent now.
      if (chunk.length >= BODY_CHUNK || Date.now() - at >= SLOW_SOURCE_MS) {
        yield Buffer.from(chunk, 'utf8');
        chunk = '';
        at = Date.now();
        sent = read;
        sentRows(sent);
      }
    }
    if (chunk !== '') yield Buffer.from(chunk, 'utf8');
    sent = read;
    sentRows(sent);
  }
  try {
    const res = await post(body(), false, 0, false, OMITTED_DEFAULTS);
    checkResponse(res);
    return { rows: writtenRows(res) ?? sent };
  } catch (err) {
    // Rows were read from the source: it cannot be read again, so the request counts as sent.
    throw sent > 0 ? partlySent(err) : err;
  }
}

/**
 * A source's rows on a server without DEFAULTs for omitted fields (18.16): rounds of
 * `ROUNDS_OF` rows, each sent as one statement per column set, one after another. A bad
 * row stops it there; the rounds before it are stored.
 */
async function insertChunked(table: string, source: RowSource, schema: TableSchema, post: Post, sentRows: (rows: number) => void): Promise<InsertResult> {
  let read = 0;
  let written = 0;
  let statements = 0;
  // Encoded lines by column list, in the order the lists were first met: a row object the
  // source reuses and changes is read (encoded, its columns listed) as it is when it comes.
  let round = new Map<string, string[]>();
  let held = 0;
  let roundStart = 0;
  const flushRound = async (): Promise<void> => {
    const groups = round;
    round = new Map();
    held = 0;
    for (const [columns, lines] of groups) {
      const res = await post(`${insertHead(table, columns)}${lines.join('\n')}\n`, false, statements, false).catch((err: unknown) => {
        throw statements === 0 ? err : partlySent(err);
      });
      statements++;
      checkResponse(res);
      written += writtenRows(res) ?? lines.length;
      sentRows(written);
    }
  };
  for await (const raw of source) {
    const row = schema.nested.size > 0 && raw !== null && typeof raw === 'object' ? flattenNested(raw, schema.nested) : raw;
    const line = encodeSourceRow(row, read, schema);
    const columns = columnList(row);
    const lines = round.get(columns);
    if (lines === undefined) round.set(columns, [line]);
    else lines.push(line);
    read++;
    if (held === 0) roundStart = Date.now();
    // Full, or a slow source's rows waiting long enough: sent now.
    if (++held >= ROUNDS_OF || Date.now() - roundStart >= SLOW_ROUND_MS) await flushRound();
  }
  if (held > 0) await flushRound();
  return { rows: written };
}

/**
 * What `insert_to_table` learns of a table with `DESCRIBE TABLE`: the columns whose
 * values need a form of their own, and the names `n` of flattened `Nested` columns (the
 * table has `n.a`, `n.b` ... and no `n`).
 */
interface TableSchema {
  readonly encodings: ColumnEncodings;
  readonly nested: ReadonlySet<string>;
}

/** Numbers, bigints and nulls are written the same whatever the column: only other values may need the table's types. */
function mayNeedSchema(rows: readonly Row[]): boolean {
  for (const row of rows) {
    for (const key in row) {
      const v = row[key];
      if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'object' && v !== null)) return true;
    }
  }
  return false;
}

function nestedKey(row: Row, nested: ReadonlySet<string>): boolean {
  for (const key in row) if (nested.has(key) && isPlainObject(row[key])) return true;
  return false;
}

function flattenNested(row: Row, nested: ReadonlySet<string>): Row {
  if (!nestedKey(row, nested)) return row;
  const out: Row = {};
  for (const key in row) {
    if (!Object.prototype.hasOwnProperty.call(row, key)) continue;
    const value = row[key];
    if (nested.has(key) && isPlainObject(value)) {
      for (const sub in value) if (Object.prototype.hasOwnProperty.call(value, sub)) out[`${key}.${sub}`] = value[sub];
    } else out[key] = value;
  }
  return out;
}

// Column types whose values the default JSON form writes right.
const PLAIN_TYPE = /^(?:U?Int(?:8|16|32|64|128|256)|Float(?:32|64)|BFloat16|String|FixedString|UUID|IPv4|IPv6|Enum8|Enum16|DateTime|Time|Time64|Nothing|IntervalSecond)$/;

function needsCare(type: ColumnType): boolean {
  if (PLAIN_TYPE.test(type.name)) return false;
  if (type.name === 'Array' || type.name === 'Nullable' || type.name === 'LowCardinality' || (type.name === 'Tuple' && type.args.every((a) => typeof a === 'object' && a.field === undefined))) {
    return type.args.some((a) => typeof a === 'object' && needsCare(a));
  }
  return true;
}

function tableSchemaOf(
  transport: Transport,
  server: ServerConfig,
  quotedTable: string,
  timeout: () => number,
  signal?: AbortSignal,
): Promise<TableSchema> {
  const key = `${server.origin}/${server.database}/${quotedTable}`;
  const now = Date.now();
  const cached = schemas.get(key);
  if (cached && cached.until > now) return cached.columns;
  const columns = send(transport, server, {
    method: 'POST', path: queryPath(server, []), body: `DESCRIBE TABLE ${quotedTable} FORMAT TabSeparated`, timeout: timeout(),
    ...(signal ? { signal } : {}),
  }).then((res) => {
    const encodings = new Map<string, ColumnType>();
    const names = new Set<string>();
    for (const line of checkResponse(res).split('\n')) {
      const [rawName, rawType] = line.split('\t');
      if (!rawName || !rawType) continue;
      const name = unescapeTsv(rawName);
      const type = parseColumnType(unescapeTsv(rawType));
      names.add(name);
      if (needsCare(type)) encodings.set(name, type);
    }
    const nested = new Set<string>();
    for (const name of names) {
      const dot = name.indexOf('.');
      if (dot > 0 && !names.has(name.slice(0, dot))) nested.add(name.slice(0, dot));
    }
    return { encodings, nested };
  });
  schemas.set(key, { until: now + SCHEMA_TTL_MS, columns });
  columns.catch(() => {
    if (schemas.get(key)?.columns === columns) schemas.delete(key);
  });
  return columns;
}
