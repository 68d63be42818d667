import { bodyNeedsServerTimeZone, decodeTsvRows, tsvTail } from './decode.js';
import type { ColumnEncodings } from './encode.js';
import { type Post, UNREADABLE_LINE, encodedAsSent, encodedWhole, insertChunked, insertMerged, insertStreamed, partlySent, writtenRows } from './insert-source.js';
import { encodedFirst, placedRefusal, stoppedAt, textStop } from './insert-stop.js';
import { type TableSchema, flattenedRows, lacksColumn, mayNeedSchema, nestedKey, refuseRows, tableSchemaOf } from './table-schema.js';
import type { ColumnTypes } from './encode-binary.js';
import type { InsertPlan } from './encode-compiled.js';
import { fastPlan } from './insert-plan.js';
import { ChunkWriter, columnsOf, statementParts } from './encode-bytes.js';
import {
  ClickHouseError, ProtocolError, QueryParamError, findTrailingError, findUnframedError,
} from './errors.js';
import { type RawResponse, send } from './http.js';
import { queryPath } from './query-path.js';
import { paramRequest } from './param-layout.js';
import { insertHead, insertRequest, withOptions } from './prepare.js';
import { BINARY_SETTINGS, UnsupportedBinaryType, binarySelectBody, decodeRowBinary } from './decode-binary.js';
import { checkResponse, checkStatus } from './response.js';
import { type Progress, checkedWithin, describeAfresh, killQuery, newQueryId, watchProgress } from './query-control.js';
import { performStream } from './stream.js';
import { RowBinaryCollector, type RowCollector, TsvCollector } from './stream-decode.js';
import { type ServerFeatures, type ServerInfo, knownServerInfo, serverInfoWithin } from './server-info.js';
import { DEFAULT_MAX_RESULT_BYTES } from './checks.js';
import type { CallOptions, CommandResults, InsertGroup, Int64Mode, PreparedRequest, RequestDefaults, Row, ServerConfig, Settings, Transport } from './types.js';

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
export function perform<K extends PreparedRequest['type']>(
  transport: Transport,
  server: ServerConfig,
  request: PreparedRequest<K>,
  defaults: RequestDefaults,
): Promise<CommandResults[K]> {
  const { onProgress } = request.options;
  // Not async itself: the common call adds no promise of its own.
  return onProgress === undefined ? performOnce(transport, server, request, defaults) : performWatched(transport, server, request, defaults, onProgress);
}

async function performWatched<K extends PreparedRequest['type']>(transport: Transport, server: ServerConfig, request: PreparedRequest<K>, defaults: RequestDefaults,
  onProgress: (progress: Progress) => void): Promise<CommandResults[K]> {
  // Watched by its query id: one is given to the request if the caller gave none.
  const queryId = request.options.queryId ?? newQueryId();
  const watch = watchProgress(server, queryId, onProgress);
  try {
    return await performOnce(transport, server, withOptions(request, { ...request.options, queryId }), defaults, watch.sent);
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
  if (request.type === 'stream') return performStream(transport, server, request as PreparedRequest<'stream'>, defaults) as Promise<CommandResults[K]>;
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
    const info = await insertServerInfo(transport, server, remaining(), options.signal);
    if (info !== undefined) versioned = insertSettings(info.features, options);
  }
  const { typedParams } = request;
  if (typedParams !== undefined) {
    const info = knownServerInfo(server) ?? await serverInfoWithin(transport, server, remaining(), options.signal);
    if (!info.features.typedParams) {
      const name = Object.keys(typedParams)[0] as string;
      throw new QueryParamError(name, `${server.redacted} runs ClickHouse ${info.version}, which has no server-side parameters `
        + `({name:Type} placeholders need 19.11 or later); nothing was sent. Use {${name}} there (substituted by the client)`);
    }
  }
  let asked = 0;
  // The query id of the statement sent last: where an insert stopped.
  let lastId = queryId;
  // An insert from a source may take as long as its source: each of its requests gets the whole timeout.
  const eachRequest = request.insert?.source !== undefined;
  // `extra` goes under the caller's settings, `insert.after` over them; `insert.again` marks a statement sent a second time.
  const post = (body: string | readonly Buffer[] | AsyncIterable<Buffer>, confirm = false, group = 0, rows?: RowCollector, extra?: Settings,
    insert?: { readonly after?: Settings; readonly again?: boolean }): Promise<RawResponse> => {
    // A confirming run is a query of its own, with an id of its own (the first one's, suffixed),
    // and so is a select asked as text after its binary answer could not be read.
    // Each statement of a multi-group insert too: 26.x may still list the previous one as
    // running just after it answered (QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING).
    const first = confirm ? `${queryId}-confirm` : request.type === 'select' && asked++ > 0 ? `${queryId}-text` : group > 0 ? `${queryId}-${group}` : queryId;
    // A statement sent again as text after its binary header was refused: the server may still list the first.
    const id = insert?.again === true ? `${first}-text` : first;
    lastId = id;
    // The statements of a multi-group insert are blocks of their own: one token each, or the second would be dropped as a repeat of the first.
    const token = group > 0 ? versioned?.['insert_deduplication_token'] : undefined;
    const layer = token === undefined ? versioned : { ...versioned, insert_deduplication_token: `${String(token)}.${group}` };
    const base = queryPath(server, rows?.binary === true ? [defaults.settings, layer, options.settings, BINARY_SETTINGS] : [defaults.settings, extra, layer, options.settings, insert?.after], id);
    // The server then holds the whole answer back until the query ends, so that a failure
    // comes as a status: asked again when a body's end could be data or an exception.
    const path = confirm ? `${base}&wait_end_of_query=1` : base;
    const typed = typedParams === undefined || typeof body !== 'string' ? undefined : paramRequest(path, body, typedParams);
    return send(transport, server, {
      method: 'POST', path: typed?.path ?? path, body: typed?.body ?? body, contentType: typed?.contentType,
      timeout: eachRequest ? timeout : remaining(),
      maxBytes,
      ...(defaults.compression ? { compression: defaults.compression } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      // ClickHouse runs on a query whose client went away: ask it to stop (best effort).
      onAbandon: () => void killQuery(server, id),
      // A select's rows are decoded as its body arrives (an uncompressed one): never held whole.
      ...(rows !== undefined ? { binary: rows.binary, onBody: rows.push } : {}),
    });
  };

  const { insert } = request;
  const statement: Post = (body, group, extra) => post(body, false, group, undefined, extra);
  if (request.type === 'insert_to_table' && insert?.source !== undefined) {
    const schema = await tableSchemaOf(transport, server, insert.table, remaining, options.signal);
    // A key that is no column is refused before it is sent, unless the caller chose what the server does with one.
    const checks = {
      refuseUnknown: !callerSets('input_format_skip_unknown_fields', server.settings, defaults.settings, options.settings),
      redescribe: () => describeAfresh(server, insert.table, remaining, options.signal),
      expiry: { timeout, signal: options.signal },
    };
    const result = (await insertServerInfo(transport, server, remaining(), options.signal))?.features.omittedFieldDefaults
      ? await insertStreamed(insert.table, insert.source, schema, statement, sentRows, checks)
      : await insertChunked(insert.table, insert.source, schema, statement, sentRows, checks);
    return result as CommandResults[K];
  }
  // An array's table, described afresh when a row gives a key the cached description lacks (a column added since: its values need its
  // type); no range checks when `fast` says every row fits a fast plan (whose checks hold each column's range).
  const described = async (table: string, groups: readonly InsertGroup[], fast?: (schema: TableSchema) => boolean): Promise<TableSchema> => {
    const cached = await tableSchemaOf(transport, server, table, remaining, options.signal);
    const schema = lacksColumn(cached, keysOf(groups)) ? await describeAfresh(server, table, remaining, options.signal) : cached;
    refuseRows(insert?.rows ?? [], groups, schema, fast?.(schema) !== true);
    return schema;
  };
  // Numbers alone are written without the table's types; its description still refuses, when it comes soon, what the server would alter (4294967296 into a UInt32 is 0).
  const checkedSoon = (table: string, groups: readonly InsertGroup[]): Promise<void> => checkedWithin(server, table, remaining, (schema) => refuseRows(insert?.rows ?? [], groups, schema));
  // Rows of several column sets, to a server where an omitted field takes its DEFAULT: one
  // statement naming every column they give, in the caller's order (one request, one part on
  // the server, and one query id for the writer to look up), not a statement per set. Not
  // when the caller sets input_format_defaults_for_omitted_fields.
  if (request.type === 'insert_to_table' && insert?.rows !== undefined && insert.groups.length > 1
    && !callerSets(OMITTED_SETTING, server.settings, defaults.settings, options.settings)
    && (await insertServerInfo(transport, server, remaining(), options.signal))?.features.omittedFieldDefaults === true) {
    // The table's types only where a value may need them, as for the statements below.
    const needsTypes = mayNeedSchema(insert.rows);
    if (!needsTypes) await checkedSoon(insert.table, insert.groups);
    const schema = needsTypes ? await described(insert.table, insert.groups) : NO_SCHEMA;
    // Undefined when a row gives part of a Nested column's fields: it goes with its own set, below.
    const merged = await insertMerged(insert.table, insert.rows, schema, statement, sentRows).catch((err: unknown) => {
      throw stoppedAt(err, { queryId: lastId, index: 0, of: 1, inFlight: insert.rows ?? [], after: [] });
    });
    if (merged !== undefined) return merged as CommandResults[K];
  }
  if (request.type === 'insert_to_table' && insert) {
    let { groups } = insert;
    let encodings: ColumnEncodings = NO_ENCODINGS;
    const big = groups.some((g) => g.rows.length >= STREAMED_FROM);
    // A big group goes in binary to a server that reads RowBinaryWithNamesAndTypes, as TabSeparated to one before.
    const features = big ? (await insertServerInfo(transport, server, remaining(), options.signal))?.features : undefined;
    const binary = features?.rowBinaryWithNamesAndTypes === true;
    let types: ColumnTypes | undefined;
    // The caller's row of each flattened one, for where the insert stopped.
    const given = new Map<Row, Row>();
    const asGiven = (rows: readonly Row[]): readonly Row[] => (given.size === 0 ? rows : rows.map((row) => given.get(row) ?? row));
    const placeOf = (row: Row): number => insert.rows?.indexOf(given.get(row) ?? row) ?? -1;
    const stop = textStop(server.settings, defaults.settings, options.settings);
    const needed = groups.some((g) => mayNeedSchema(g.rows));
    // Each big group's fast plan (undefined: none, or a row does not fit it), made once. (A group whose rows give a
    // Nested column as an object, flattened below, has none: its key is no column.)
    const plans = new Map<InsertGroup, InsertPlan | undefined>();
    const allFast = (schema: TableSchema): boolean => groups.every((g) => g.rows.length >= STREAMED_FROM
      && plans.set(g, fastPlan(insert.table, g, schema.types, binary)).get(g) !== undefined);
    // Wanted only for the fast forms, a schema that cannot be read leaves the insert to JSONEachRow, as before.
    const schema = needed || features ? await described(insert.table, groups, features && allFast).catch((err: unknown) => {
      if (needed || err instanceof QueryParamError) throw err;
      return undefined;
    }) : undefined;
    if (!needed && !features) await checkedSoon(insert.table, groups);
    if (schema !== undefined) {
      encodings = schema.encodings;
      if (features) types = schema.types;
      // `{ n: { a: [...], b: [...] } }` for a flattened Nested column n: its columns `n.a`, `n.b`.
      if (schema.nested.size > 0 && groups.some((g) => g.rows.some((row) => nestedKey(row, schema.nested)))) {
        groups = insertRequest(insert.table, flattenedRows(insert.rows ?? [], schema, given), true).insert?.groups ?? groups;
      }
    }
    // Groups go one after another: a failure stops the rest, and what was sent stays sent.
    let written = 0;
    const sendGroup = async (group: InsertGroup, i: number, plan: InsertPlan | undefined, again = false): Promise<number> => {
      // Once a chunk of the body is handed over, bytes may have reached the server: a
      // failure is then never "not sent" (18.16 stores the rows of a body cut short).
      let writing = false;
      // A row that stopped encoding after it was checked (the caller changed it): the server was made to refuse the statement, and this is why.
      let refusal: unknown;
      // `unreadable`: the line that makes the server refuse a text body (encoded whole first when the caller lets it skip bad lines); a binary one is aborted.
      const asSent = (unreadable: string | undefined, parts: (out: ChunkWriter) => Generator<{ chunks: Buffer[]; rows: number }>) => {
        const out = new ChunkWriter();
        const whole = unreadable !== undefined && stop.lenient;
        const refused = (e: unknown): unknown => (refusal = placedRefusal(e, group.rows, group.rows === insert.rows ? (_row, at) => at : placeOf, whole ? Infinity : stop.block));
        return whole ? encodedFirst(parts(out), refused) : encodedAsSent(parts(out), out, unreadable, (n) => sentRows(written + n), () => { writing = true; }, refused);
      };
      // With the table's types the rows may still be refused (a Decimal's text, say): encoded
      // whole before the group is sent. Otherwise checked already: encoded as they are sent.
      const body = plan ? asSent(plan.unreadable, (out) => plan.parts(group.rows, out))
        : encodings.size > 0 ? encodedWhole(insertHead(insert.table, group.columns), group.rows, encodings, placeOf)
          : group.rows.length >= STREAMED_FROM ? asSent(UNREADABLE_LINE, (out) => statementParts(insertHead(insert.table, group.columns), group.rows, out)) : group.chunks;
      try {
        const res = await post(body, false, i, undefined, undefined, plan !== undefined && plan.unreadable === undefined ? { after: HEADER_CHECKED } : again ? { again } : undefined);
        if (refusal !== undefined) throw refusal;
        checkResponse(res);
        return writtenRows(res) ?? group.rows.length;
      } catch (err) {
        const error = refusal ?? err;
        throw i === 0 && !writing ? error : partlySent(error);
      }
    };
    const sendInTurn = async (group: InsertGroup, i: number): Promise<number> => {
      // In binary or TabSeparated when every value has its column's plain form (checked before any byte goes).
      const plan = plans.has(group) ? plans.get(group) : types && group.rows.length >= STREAMED_FROM ? fastPlan(insert.table, group, types, binary) : undefined;
      const inBinary = plan !== undefined && binary;
      try {
        return await sendGroup(group, i, plan);
      } catch (err) {
        // A table changed since it was described refuses the binary header before it reads a
        // row: described afresh, this group goes again as text (under a query id of its own).
        if (!inBinary || !staleHeader(err)) throw err;
        encodings = (await describeAfresh(server, insert.table, remaining, options.signal).catch(() => undefined))?.encodings ?? encodings;
        return await sendGroup(group, i, undefined, true);
      }
    };
    for (const [i, group] of groups.entries()) {
      try {
        written += await sendInTurn(group, i);
      } catch (err) {
        // Where it stopped: the statements before this one are stored, the rest never sent.
        throw stoppedAt(err, {
          queryId: lastId, index: i, of: groups.length, inFlight: asGiven(group.rows), after: asGiven(groups.slice(i + 1).flatMap((g) => g.rows)),
        });
      }
    }
    return { rows: written } as CommandResults[K];
  }
  if (request.type === 'select') {
    const int64 = options.int64 ?? defaults.int64;
    const rows = await selectBinary(transport, server, request.body, int64, remaining, post, options.signal)
      ?? await selectText(transport, server, request.body, int64, remaining, post, options.signal);
    return rows as CommandResults[K];
  }
  const res = await post(request.body);
  // A server that tags its exception blocks never appends an exception as plain text.
  const plainTail = res.headers['x-clickhouse-exception-tag'] === undefined;
  if (request.type === 'query' && request.readOnly) {
    const text = checkStatus(res);
    if (!plainTail || findTrailingError(text) === undefined) return text as CommandResults[K];
    return checkStatus(await post(request.body, true)) as CommandResults[K];
  }
  const text = checkResponse(res);
  return (request.type === 'query' ? text : undefined) as CommandResults[K];
}

/**
 * A select asked as `TabSeparatedWithNamesAndTypes` (a server before 22.1, or a column the
 * binary decoder cannot read). With the server's time zone known (asked already with its
 * version), the rows are decoded as the body arrives, and only its end is kept, to tell an
 * exception the server appended from rows; otherwise the body is read whole, and the zone
 * asked only when a DateTime column needs it.
 */
async function selectText(
  transport: Transport, server: ServerConfig, body: string, int64: Int64Mode, remaining: () => number,
  post: (body: string, confirm: boolean, group: number, rows?: TsvCollector) => Promise<RawResponse>, signal: AbortSignal | undefined,
): Promise<Row[]> {
  const knownZone = knownServerInfo(server)?.timeZone;
  const collector = (): TsvCollector | undefined => (knownZone === undefined ? undefined : new TsvCollector({ int64, serverTimeZone: knownZone }));
  let rows = collector();
  let res = await post(body, false, 0, rows);
  let text = checkStatus(res);
  // A server that tags its exception blocks never appends an exception as plain text.
  const tail = res.headers['x-clickhouse-exception-tag'] === undefined ? tsvTail(text, res.streamed === true ? rows?.header : undefined) : undefined;
  if (tail === 'ambiguous') {
    rows = collector();
    res = await post(body, true, 0, rows);
    text = checkStatus(res);
  } else if (tail !== undefined) throw new ClickHouseError(tail, res.status);
  if (res.streamed === true && rows !== undefined) return rows.rows();
  let serverTimeZone = knownZone ?? 'UTC';
  if (knownZone === undefined && bodyNeedsServerTimeZone(text)) serverTimeZone = (await serverInfoWithin(transport, server, remaining(), signal)).timeZone;
  return decodeTsvRows(text, { int64, serverTimeZone });
}

/**
 * On a server with `RowBinaryWithNamesAndTypes` (by its version), a select asked in that
 * format and decoded from its bytes; `undefined` when the server is older (or did not say
 * its version) or a column has a type the binary decoder cannot read: the caller then
 * asks for text.
 */
async function selectBinary(
  transport: Transport, server: ServerConfig, body: string, int64: Int64Mode, remaining: () => number,
  post: (body: string, confirm: boolean, group: number, binary: RowBinaryCollector) => Promise<RawResponse>, signal: AbortSignal | undefined,
): Promise<Row[] | undefined> {
  let info = knownServerInfo(server);
  if (info === undefined) {
    try {
      info = await serverInfoWithin(transport, server, remaining(), signal);
    } catch (err) {
      // A server that answers but does not say its version (a proxy page, a refusal): text, as before.
      if (err instanceof ProtocolError || err instanceof ClickHouseError) return undefined;
      throw err;
    }
  }
  const binaryBody = info.features.rowBinaryWithNamesAndTypes ? binarySelectBody(body) : undefined;
  if (binaryBody === undefined) return undefined;
  let rows = new RowBinaryCollector({ int64 });
  let res = await post(binaryBody, false, 0, rows);
  checkStatus(res);
  // A server that does not tag its exception blocks appends a failure after the rows as
  // plain text (compressed: bare, anywhere in the last line): when the end reads like one, the
  // server is asked again to hold its answer until the query ends, so a failure comes as a status.
  const untagged = res.headers['x-clickhouse-exception-tag'] === undefined;
  if (untagged && (findTrailingError(res.body) !== undefined || (res.headers['content-encoding'] === 'gzip' && findUnframedError(res.body) !== undefined))) {
    rows = new RowBinaryCollector({ int64 });
    res = await post(binaryBody, true, 0, rows);
    checkStatus(res);
  }
  try {
    return res.streamed === true ? rows.rows() : decodeRowBinary(res.bytes ?? Buffer.alloc(0), { int64 });
  } catch (err) {
    if (err instanceof UnsupportedBinaryType) return undefined;
    throw err;
  }
}

/**
 * An insert's view of its server's version: asked within half of the call's `remaining`
 * time, so that the insert keeps the other half. A server whose version cannot be read by
 * then gets the insert without what depends on it (`undefined`) rather than an insert sent
 * as its time runs out; the pool reads the version in the background.
 */
function insertServerInfo(transport: Transport, server: ServerConfig, remaining: number, signal: AbortSignal | undefined): Promise<ServerInfo | undefined> | ServerInfo {
  return knownServerInfo(server) ?? serverInfoWithin(transport, server, Math.max(1, Math.floor(remaining / 2)), signal).catch(() => undefined);
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

const NO_ENCODINGS: ColumnEncodings = new Map();
const OMITTED_SETTING = 'input_format_defaults_for_omitted_fields';
// The keys a row of each group gives (the rows of a group give the same ones).
const keysOf = (groups: readonly InsertGroup[]): string[] => groups.flatMap((g) => columnsOf(g.rows[0] as Row));
// Whether the connection string's, the connection's or the call's settings give `name`: then the caller decides it.
const callerSets = (name: string, ...settings: (Settings | undefined)[]): boolean => settings.some((s) => s !== undefined && s[name] !== undefined);
// No table described: for rows whose values need no column's type.
const NO_SCHEMA: TableSchema = { encodings: NO_ENCODINGS, nested: new Set(), types: new Map() };
// An array of at least this many rows is encoded as it is sent; a smaller one goes whole, with its length.
const STREAMED_FROM = 10_000;

// A binary insert's header is read by name and checked by type, whatever the caller's settings say.
const HEADER_CHECKED: Settings = Object.freeze({ input_format_with_names_use_header: 1, input_format_with_types_use_header: 1 });

// The server refused a binary insert's header: a column's type, name or count is not the table's.
// 22.x says only "Type of 'x' must be ..."; later versions add "(while reading header)".
function staleHeader(err: unknown): boolean {
  return err instanceof ClickHouseError && err.serverCode === 117
    && /while reading header|^Type of '.*' must be|Unknown field found|number of (?:data types|columns) differs/i.test(err.serverMessage);
}
